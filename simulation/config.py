"""Scenario files: schema, loading, validation and canonical form.

Only this module reads scenario files. A scenario is TOML (read with :mod:`tomllib`)::

    [scenario]
    name = "baseline"
    description = "Occitanie today, no intervention"

    [population]
    region = "occitanie"
    agents = 100000        # number of simulated people representing the region
    start_year = 2022

    [simulation]
    years = 30             # horizon
    seed = 1
    replicates = 1

    [metrics]
    window_years = 10      # period life tables over the last N simulated years

    [parameters]           # overrides of simulation/data/parameters.toml, by name
    "mortality.max_age" = 105

Every key is checked: unknown keys are errors, and each error names the file, the key
(with its path) and what is expected, as one line (:class:`ConfigError`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError  # defined there, importable from here as before
from .interventions import (
    MODES,
    PATHWAYS,
    TARGET_BY,
    TYPE_INDEX,
    TYPES,
    Allocation,
    Intervention,
)
from .population import EDUCATION, PCS, status_explained_variance

REGIONS = ("occitanie",)
MAX_AGENTS = 2_000_000_000


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class ParameterSpec:
    """One default parameter: value, unit and source (see parameters.toml)."""

    name: str
    value: Any
    unit: str
    source: str


def load_parameter_specs(path: Path | None = None) -> dict[str, ParameterSpec]:
    """Read the parameter file (default: the one shipped in ``simulation/data``)."""
    if path is None:
        text = resources.files("simulation.data").joinpath("parameters.toml").read_text("utf-8")
        where = "simulation/data/parameters.toml"
    else:
        text, where = Path(path).read_text("utf-8"), str(path)
    raw = tomllib.loads(text)
    specs: dict[str, ParameterSpec] = {}

    def walk(node: dict, prefix: str) -> None:
        for k, v in node.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict) and "value" in v:
                missing = {"unit", "source"} - set(v)
                if missing:
                    raise ConfigError(where, name, f"keys value, unit and source (missing {sorted(missing)})")
                specs[name] = ParameterSpec(name, v["value"], v["unit"], v["source"])
            elif isinstance(v, dict):
                walk(v, name)
            else:
                raise ConfigError(where, name, "a table with value, unit and source")

    walk(raw, "")
    return specs


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and float(value).is_integer())
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(default, list):
        return (isinstance(value, list) and len(value) == len(default)
                and all(_same_kind(d, v) for d, v in zip(default, value, strict=False)))
    return isinstance(value, type(default))


def _normalise(default: Any, value: Any) -> Any:
    """A value in the default's numeric kind, so that 110 and 110.0 hash alike; an integer
    default only takes whole numbers (checked by :func:`_same_kind`)."""
    if isinstance(default, list):
        return [_normalise(d, v) for d, v in zip(default, value, strict=True)]
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return value
    return int(value) if isinstance(default, int) else float(value)


def _describe(default: Any) -> str:
    if isinstance(default, list):
        return f"a list of {len(default)} numbers" + (
            " (whole numbers)" if all(isinstance(d, int) for d in default) else "")
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, (int, float)):
        return "a finite number"
    return f"a {type(default).__name__}"


def _flatten(node: dict, prefix: str = "", source: str = "<parameters>") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in node.items():
        name = f"{prefix}.{k}" if prefix else k
        items = _flatten(v, name, source) if isinstance(v, dict) else {name: v}
        for key, value in items.items():
            if key in out:
                raise ConfigError(source, f"parameters.{key}", "one value (it is given twice)")
            out[key] = value
    return out


def resolve_parameters(overrides: dict[str, Any], source: str = "<parameters>") -> dict[str, Any]:
    """Defaults updated by ``overrides`` (dotted names); unknown names and wrong kinds raise."""
    specs = load_parameter_specs()
    values = {name: copy.deepcopy(s.value) for name, s in specs.items()}
    for name, value in _flatten(overrides, source=source).items():
        if name not in specs:
            raise ConfigError(source, f"parameters.{name}", "a known parameter name "
                              "(see simulation/data/parameters.toml)")
        if not _same_kind(specs[name].value, value):
            raise ConfigError(source, f"parameters.{name}", _describe(specs[name].value), value)
        values[name] = _normalise(specs[name].value, value)
    return values


# ----------------------------------------------------------------------------- scenario


@dataclass(frozen=True)
class Scenario:
    """A validated, immutable scenario. ``canonical`` is its normalised JSON text and
    ``hash`` the SHA-256 of it: two files that mean the same thing share a hash."""

    name: str
    description: str
    region: str
    agents: int
    start_year: int
    years: int
    seed: int
    replicates: int
    window_years: int
    parameters: dict[str, Any] = field(repr=False)
    overrides: dict[str, Any] = field(default_factory=dict)
    source: str = "<scenario>"
    interventions: tuple[Intervention, ...] = ()
    equalise: tuple[str, ...] = ()  # counterfactual: pathways equalised to the reference
    #: English name and description, for reports in English ("" = as ``name``/``description``,
    #: which the shipped files write in French, for the commissions)
    name_en: str = ""
    description_en: str = ""

    def label(self, lang: str) -> str:
        """The name to show in a report in ``lang`` ("fr" or "en")."""
        return self.name_en if lang == "en" and self.name_en else self.name

    def text(self, lang: str) -> str:
        """The description to show in a report in ``lang``."""
        return self.description_en if lang == "en" and self.description_en else self.description

    @property
    def canonical(self) -> str:
        body = {
            "name": self.name, "description": self.description, "region": self.region,
            "agents": self.agents, "start_year": self.start_year, "years": self.years,
            "seed": self.seed, "replicates": self.replicates,
            "window_years": self.window_years, "parameters": self.parameters,
            "interventions": [asdict(iv) for iv in self.interventions],
            "equalise": sorted(self.equalise),
        }
        for key in ("name_en", "description_en"):  # only when given: older hashes hold
            if getattr(self, key):
                body[key] = getattr(self, key)
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, text: str, source: str = "<database>") -> Scenario:
        """Rebuild a scenario from its :attr:`canonical` text (same hash)."""
        body = json.loads(text)
        ivs = []
        for d in body.pop("interventions", []):
            d = dict(d)
            alloc = dict(d.pop("allocation"))
            alloc["groups"] = tuple(alloc.get("groups", ()))
            alloc["steps"] = tuple(alloc.get("steps", ()))
            ivs.append(Intervention(allocation=Allocation(**alloc), **d))
        equalise = tuple(body.pop("equalise", ()))
        return cls(source=source, overrides={}, interventions=tuple(ivs), equalise=equalise,
                   **body)

    def with_options(self, **changes: Any) -> Scenario:
        """A copy with command-line overrides (agents, seed, years, replicates), validated."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in changes.items():
            if v is not None:
                data[k] = v
        _check_run_options(data, "command line")
        _check_intervention_years(data["interventions"], data["start_year"], data["years"],
                                  self.source, "with the command line's --years/--start-year, ")
        return Scenario(**data)

    def with_parameters(self, values: dict[str, Any], source: str | None = None) -> Scenario:
        """A copy with parameter values changed (a posterior draw, a sensitivity sample),
        validated like a file's ``[parameters]``: ``values`` maps dotted names, or
        ``name[i]`` for element ``i`` of a list parameter, to values. The canonical form,
        hence the hash, changes with the values, so stored runs are reused correctly."""
        where = source or self.source
        params = copy.deepcopy(self.parameters)
        overrides = dict(self.overrides)
        for key, value in values.items():
            name, index = split_parameter_name(key, params, where)
            if index is None:
                default = params[name]
                if not _same_kind(default, value):
                    raise ConfigError(where, f"parameters.{key}", _describe(default), value)
                params[name] = _normalise(default, value)
            else:
                default = params[name][index]
                if not _same_kind(default, value):
                    raise ConfigError(where, f"parameters.{key}", _describe(default), value)
                params[name][index] = _normalise(default, value)
            overrides[name] = copy.deepcopy(params[name])
        _check_parameters(params, where)
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data.update(parameters=params, overrides=overrides)
        return Scenario(**data)


def split_parameter_name(key: str, params: dict[str, Any],
                         source: str = "<parameters>") -> tuple[str, int | None]:
    """``("name", None)`` for a dotted parameter name of ``params``, ``("name", i)`` for
    ``name[i]``, element ``i`` of a list parameter; :class:`ConfigError` otherwise."""
    name, index = key, None
    if isinstance(key, str) and key.endswith("]") and "[" in key:
        name, _, rest = key[:-1].partition("[")
        if not rest.isdigit():
            raise ConfigError(source, f"parameters.{key}", "a parameter name, or name[i] "
                              "for element i of a list parameter")
        index = int(rest)
    if not isinstance(name, str) or name not in params:
        raise ConfigError(source, f"parameters.{key}", "a known parameter name "
                          "(see simulation/data/parameters.toml)")
    if index is not None and not (isinstance(params[name], list)
                                  and index < len(params[name])):
        n = len(params[name]) if isinstance(params[name], list) else 0
        raise ConfigError(source, f"parameters.{key}",
                          f"an element index below {n}" if n else
                          f"no index ({name} is not a list)")
    return name, index


_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "scenario": {"name": (str, None), "description": (str, ""), "name_en": (str, ""),
                 "description_en": (str, "")},
    "population": {"region": (str, "occitanie"), "agents": (int, 100_000),
                   "start_year": (int, 2022)},
    "simulation": {"years": (int, 30), "seed": (int, 1), "replicates": (int, 1)},
    "metrics": {"window_years": (int, 10)},
}


def _check_run_options(d: dict[str, Any], where: str) -> None:
    checks = [
        ("population.agents", d["agents"], 1, MAX_AGENTS, "an integer from 1 to 2,000,000,000"),
        ("population.start_year", d["start_year"], 1900, 2200, "a calendar year from 1900 to 2200"),
        ("simulation.years", d["years"], 1, 200, "an integer from 1 to 200"),
        ("simulation.seed", d["seed"], 0, 2**63 - 1, "a non-negative integer"),
        ("simulation.replicates", d["replicates"], 1, 10_000, "an integer from 1 to 10,000"),
        ("metrics.window_years", d["window_years"], 1, 200, "an integer from 1 to 200"),
    ]
    for key, value, lo, hi, expected in checks:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(where, key, expected, value)
    if d["region"] not in REGIONS:
        raise ConfigError(where, "population.region", f"one of {', '.join(REGIONS)}", d["region"])


def parse_scenario(raw: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario already parsed from TOML."""
    allowed = set(_SCHEMA) | {"parameters", "interventions", "counterfactual"}
    for top, value in raw.items():
        if top not in allowed:
            raise ConfigError(source, top, f"one of the tables {', '.join(sorted(allowed))}")
        if top == "interventions":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(source, top, "an array of tables ([[interventions]])")
        elif not isinstance(value, dict):
            raise ConfigError(source, top, "a table")
    data: dict[str, Any] = {}
    for table, keys in _SCHEMA.items():
        section = raw.get(table, {})
        for key in section:
            if key not in keys:
                raise ConfigError(source, f"{table}.{key}", f"one of the keys {', '.join(keys)}")
        for key, (typ, default) in keys.items():
            if key not in section:
                if default is None:
                    raise ConfigError(source, f"{table}.{key}", f"a {typ.__name__} (required)")
                data[key] = default
                continue
            value = section[key]
            if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(source, f"{table}.{key}", "an integer", value)
            if typ is str and not isinstance(value, str):
                raise ConfigError(source, f"{table}.{key}", "a string", value)
            data[key] = value
    if not data["name"].strip():
        raise ConfigError(source, "scenario.name", "a non-empty string", data["name"])
    _check_run_options(data, source)
    overrides = _flatten(raw.get("parameters", {}), source=source)
    params = resolve_parameters(overrides, source)
    _check_parameters(params, source)
    from .population import load_region

    departments = load_region(data["region"]).codes
    interventions = tuple(
        _parse_intervention(iv, f"interventions[{i}]", source, data["start_year"], departments)
        for i, iv in enumerate(raw.get("interventions", [])))
    _check_intervention_years(interventions, data["start_year"], data["years"], source)
    seen: set[str] = set()
    for i, iv in enumerate(interventions):
        if iv.type in seen:
            raise ConfigError(source, f"interventions[{i}].type",
                              "at most one intervention of each type per scenario", iv.type)
        seen.add(iv.type)
    equalise = _parse_counterfactual(raw.get("counterfactual", {}), source)
    return Scenario(parameters=params, overrides=overrides, source=source,
                    interventions=interventions, equalise=equalise, **data)


def _check_intervention_years(interventions: tuple[Intervention, ...], start_year: int,
                              years: int, source: str, context: str = "") -> None:
    """An intervention must act in at least one simulated year: one starting after the last
    (or ending before the first) would silently do nothing."""
    first, last = start_year, start_year + years - 1
    for i, iv in enumerate(interventions):
        if iv.start_year > last:
            raise ConfigError(source, f"interventions[{i}].start_year",
                              f"a year up to {last}, {context}the last simulated year "
                              f"({first}-{last}); later, the intervention would never act",
                              iv.start_year)
        if iv.duration_years is not None and iv.start_year + iv.duration_years <= first:
            raise ConfigError(source, f"interventions[{i}].duration_years",
                              f"a duration reaching the first simulated year {first} (it "
                              f"starts in {iv.start_year}); shorter, the intervention would "
                              "never act", iv.duration_years)


def _parse_counterfactual(table: dict[str, Any], source: str) -> tuple[str, ...]:
    for key in table:
        if key != "equalise":
            raise ConfigError(source, f"counterfactual.{key}", "only the key equalise")
    value = table.get("equalise", [])
    if not isinstance(value, list) or any(v not in PATHWAYS for v in value):
        raise ConfigError(source, "counterfactual.equalise",
                          f"a list of pathways among {', '.join(PATHWAYS)}", value)
    return tuple(sorted(set(value)))


def _number(table: dict, key: str, path: str, source: str, lo: float, hi: float,
            default: Any, expected: str) -> Any:
    if key not in table:
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not (
            lo <= v <= hi):
        raise ConfigError(source, f"{path}.{key}", expected, v)
    return v


def _parse_intervention(t: dict[str, Any], path: str, source: str, start_year: int,
                        departments: list[str]) -> Intervention:
    keys = {"type", "name", "start_year", "duration_years", "effect", "effect_source",
            "unit_cost_eur", "allocation"}
    for key in t:
        if key not in keys:
            raise ConfigError(source, f"{path}.{key}", f"one of the keys {', '.join(sorted(keys))}")
    kind = t.get("type")
    if kind not in TYPE_INDEX:
        raise ConfigError(source, f"{path}.type",
                          f"one of {', '.join(x.name for x in TYPES)}", kind)
    spec = TYPES[TYPE_INDEX[kind]]
    name = t.get("name", spec.name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(source, f"{path}.name", "a non-empty string", name)
    start = _number(t, "start_year", path, source, 1900, 2300, start_year, "a calendar year")
    if not float(start).is_integer():
        raise ConfigError(source, f"{path}.start_year", "a calendar year", start)
    duration = _number(t, "duration_years", path, source, 1, 200, None,
                       "a whole number of years from 1 to 200")
    if duration is not None and not float(duration).is_integer():
        raise ConfigError(source, f"{path}.duration_years", "a whole number of years", duration)
    effect = _number(t, "effect", path, source, 0, 10, spec.effect,
                     f"a non-negative effect size ({spec.effect_unit}) at most 10")
    if kind not in ("smoking_cessation",) and effect > 1:
        raise ConfigError(source, f"{path}.effect", f"at most 1 ({spec.effect_unit})", effect)
    effect_source = t.get("effect_source", spec.effect_source if "effect" not in t
                          else "scenario file")
    if not isinstance(effect_source, str):
        raise ConfigError(source, f"{path}.effect_source", "a string", effect_source)
    cost = _number(t, "unit_cost_eur", path, source, 0, 1e7, spec.unit_cost_eur,
                   "a non-negative cost in euros per person reached per year")
    alloc = _parse_allocation(t.get("allocation", {}), f"{path}.allocation", source, departments)
    return Intervention(type=kind, name=name.strip(), start_year=int(start),
                        duration_years=None if duration is None else int(duration),
                        allocation=alloc, effect=float(effect), effect_source=effect_source,
                        unit_cost_eur=float(cost))


def _parse_allocation(a: Any, path: str, source: str, departments: list[str]) -> Allocation:
    if not isinstance(a, dict):
        raise ConfigError(source, path, "a table")
    keys = {"mode", "intensity", "budget_eur", "by", "max_rank", "groups", "gradient",
            "min_need", "steps"}
    for key in a:
        if key not in keys:
            raise ConfigError(source, f"{path}.{key}", f"one of the keys {', '.join(sorted(keys))}")
    mode = a.get("mode", "universal")
    if mode not in MODES:
        raise ConfigError(source, f"{path}.mode", f"one of {', '.join(MODES)}", mode)
    intensity = _number(a, "intensity", path, source, 0, 1, 1.0, "an intensity in [0, 1]")
    budget = _number(a, "budget_eur", path, source, 0, 1e12, None,
                     "a yearly budget in euros (non-negative)")
    by, max_rank, groups = a.get("by"), a.get("max_rank"), a.get("groups", [])
    gradient, steps = a.get("gradient", "linear"), a.get("steps", [])
    min_need = _number(a, "min_need", path, source, 0, 1, 0.2, "a need in [0, 1]")
    if mode == "targeted":
        if by not in TARGET_BY:
            raise ConfigError(source, f"{path}.by", f"one of {', '.join(TARGET_BY)}", by)
        if by == "income_rank":
            max_rank = _number(a, "max_rank", path, source, 0, 1, None,
                               "an income rank in [0, 1] (e.g. 0.2 for the poorest fifth)")
            if max_rank is None:
                raise ConfigError(source, f"{path}.max_rank",
                                  "an income rank in [0, 1] (required when by = income_rank)")
        elif by in ("pcs", "education", "department"):
            valid = {"pcs": PCS, "education": EDUCATION, "department": departments}[by]
            if (not isinstance(groups, list) or not groups
                    or not all(isinstance(g, str) for g in groups)
                    or (valid is not None and any(g not in valid for g in groups))):
                expected = f"a non-empty list among {', '.join(valid)}"
                raise ConfigError(source, f"{path}.groups", expected, groups)
    elif mode == "proportionate":
        if gradient not in ("linear", "stepped"):
            raise ConfigError(source, f"{path}.gradient", "linear or stepped", gradient)
        if gradient == "stepped":
            if (not isinstance(steps, list) or len(steps) != 5
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                               and 0 <= x <= 1 for x in steps)):
                raise ConfigError(source, f"{path}.steps",
                                  "5 needs in [0, 1], poorest income quintile first", steps)
    for key, ok in (("by", mode == "targeted"), ("max_rank", by == "income_rank"),
                    ("groups", by in ("pcs", "education", "department")),
                    ("gradient", mode == "proportionate"), ("min_need", mode == "proportionate"),
                    ("steps", mode == "proportionate" and gradient == "stepped")):
        if key in a and not ok:
            raise ConfigError(source, f"{path}.{key}", f"nothing here with mode = {mode!r}")
    return Allocation(mode=mode, intensity=float(intensity),
                      budget_eur=None if budget is None else float(budget), by=by,
                      max_rank=None if max_rank is None else float(max_rank),
                      groups=tuple(groups), gradient=gradient, min_need=float(min_need),
                      steps=tuple(float(x) for x in steps))


def _check_parameters(p: dict[str, Any], source: str) -> None:
    """Range checks that the kind check cannot express."""

    def bad(name: str, expected: str) -> None:
        raise ConfigError(source, f"parameters.{name}", expected, p[name])

    for name in ("smoking.p_quit_attempt", "smoking.p_attempt_success", "smoking.p_relapse",
                 "early_childhood.p_diploma_gain"):
        if not 0 <= p[name] <= 1:
            bad(name, "a probability from 0 to 1")
    if not 12 <= p["smoking.quit_min_age"] <= 100:
        bad("smoking.quit_min_age", "an age from 12 to 100")
    if not 0 <= p["smoking.relapse_years"] <= 50:
        bad("smoking.relapse_years", "a whole number of years from 0 to 50")
    if not all(0 <= x <= 1 for x in p["smoking.former_excess_floor"]):
        bad("smoking.former_excess_floor", "four shares from 0 to 1")
    if not 0 < p["smoking.former_excess_decay_years"] <= 100:
        bad("smoking.former_excess_decay_years", "a number of years in (0, 100]")
    if p["demography.projection"] not in ("central", "high", "low"):
        bad("demography.projection", 'one of "central", "high", "low"')
    if not all(0 <= x <= 10 for x in p["demography.tfr_observed"] + p["demography.tfr_projected"]):
        bad("demography.tfr_projected", "fertility rates from 0 to 10 children per woman")
    if len(p["demography.tfr_observed"]) != len(p["demography.tfr_observed_years"]):
        bad("demography.tfr_observed", "one rate per year of demography.tfr_observed_years")
    if not 0 <= p["migration.out_rate"] <= 0.5:
        bad("migration.out_rate", "a probability from 0 to 0.5")
    if not all(x >= 0 for x in p["migration.out_age_profile"] + p["migration.in_age_shares"]) \
            or sum(p["migration.in_age_shares"]) <= 0:
        bad("migration.in_age_shares", "non-negative shares, not all zero")
    if not all(0 <= x <= 3 for x in p["mortality.trend_pace"]):
        bad("mortality.trend_pace", "paces from 0 to 3")
    if p["outcomes.mortality_estimator"] not in ("expected", "realised"):
        bad("outcomes.mortality_estimator", 'one of "expected", "realised"')
    if p["outcomes.horizon"] not in ("lifetime", "simulation"):
        bad("outcomes.horizon", 'one of "lifetime", "simulation"')
    if not 0 <= p["outcomes.atkinson_epsilon"] <= 100 or p["outcomes.atkinson_epsilon"] == 1:
        bad("outcomes.atkinson_epsilon", "a number from 0 to 100, other than 1")
    if not 0 < p["outcomes.kolm_alpha"] <= 10:
        bad("outcomes.kolm_alpha", "a number in (0, 10]")
    if not 0 <= p["demography.burn_in_years"] <= 100:
        bad("demography.burn_in_years", "a whole number of years from 0 to 100")
    if not 0 < p["demography.fertility_tfr"] <= 10:
        bad("demography.fertility_tfr", "a number in (0, 10]")
    if not 15 <= p["demography.fertility_mean_age"] <= 49:
        bad("demography.fertility_mean_age", "an age from 15 to 49")
    if not 0 < p["demography.fertility_sd_age"] <= 20:
        bad("demography.fertility_sd_age", "a number in (0, 20]")
    if not 0 < p["demography.p_male_at_birth"] < 1:
        bad("demography.p_male_at_birth", "a probability in (0, 1)")
    y0, y1 = p["mortality.qx_first_year"], p["mortality.qx_last_year"]
    if not (2010 <= y0 <= y1 <= 2022):
        bad("mortality.qx_last_year", "qx_first_year <= qx_last_year, both within 2010-2022")
    if not 100 <= p["mortality.max_age"] <= 120:
        bad("mortality.max_age", "an integer age from 100 to 120")
    if not 0 < p["mortality.max_hazard"] <= 5:
        bad("mortality.max_hazard", "a hazard in (0, 5]")
    for name in [k for k in p if k.startswith("education.shares_")]:
        shares = p[name]
        if any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6:
            bad(name, "5 non-negative shares summing to 1")
    for name in ("education.latent_corr_income", "pcs.latent_corr_education"):
        if not -1 < p[name] < 1:
            bad(name, "a correlation in (-1, 1)")
    if (any(not 0 <= g < 1 for g in p["pcs.latent_corr_income"])
            or (status_explained_variance(p) > 1).any()):
        bad("pcs.latent_corr_income", "two weights in [0, 1) (men, women) that keep the "
            "status score's explained variance at most 1 with pcs.latent_corr_education")
    if any(not 10 <= a <= 40 for a in p["employment.school_leaving_age"]):
        bad("employment.school_leaving_age", "ages from 10 to 40")
    if not 40 <= p["employment.retirement_age"] <= 80:
        bad("employment.retirement_age", "an age from 40 to 80")
    if not 0 <= p["employment.unemployment_rate"] < 0.5:
        bad("employment.unemployment_rate", "a rate in [0, 0.5)")
    if not 0 <= p["employment.unemployment_income_slope"] <= 2:
        bad("employment.unemployment_income_slope", "a number in [0, 2]")
    # generic ranges by naming convention: probabilities and shares in [0, 1], relative
    # risks and multipliers positive
    for name, value in p.items():
        leaf = name.split(".")[-1]
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (int, float)) for v in values):
            continue
        if leaf.startswith("p_") or "share" in leaf or leaf.startswith("non_take_up") or (
                leaf.endswith("_rank_max")):
            if any(not 0 <= v <= 1 for v in values):
                bad(name, "probabilities or shares in [0, 1]")
        elif "rr" in leaf.split("_") or leaf.startswith("rr_") or leaf in (
                "level", "level_old_age", "incidence_scale", "weights"):
            if any(not 0 <= v <= 1000 for v in values):
                bad(name, "non-negative relative risks or multipliers (at most 1000)")
    if p["care.css_free_rank_max"] > p["care.css_contributory_rank_max"]:
        bad("care.css_contributory_rank_max", "a rank at least care.css_free_rank_max")


def read_toml(path: str | Path, kind: str = "scenario") -> dict[str, Any]:
    """Parse a TOML file; any problem is a :class:`ConfigError` on the key ``file``
    (``kind`` names what the file should be, for the message)."""
    p = Path(path)
    where = str(path)
    if not p.exists():
        raise ConfigError(where, "file", f"an existing {kind} file (TOML)")
    if p.is_dir():
        raise ConfigError(where, "file", f"a {kind} file, not a directory")
    try:
        return tomllib.loads(p.read_text("utf-8-sig"))  # a byte-order mark is tolerated
    except UnicodeDecodeError:
        raise ConfigError(where, "file", "a UTF-8 text file in TOML format") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(where, "file", f"valid TOML ({e})") from None
    except RecursionError:
        raise ConfigError(where, "file", "TOML without absurdly deep nesting") from None
    except OSError as e:
        raise ConfigError(where, "file", f"a readable file ({e.strerror})") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`ConfigError` on any problem."""
    return parse_scenario(read_toml(path, "scenario"), str(path))
