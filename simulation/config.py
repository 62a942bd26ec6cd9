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
(with its path) and what is expected, as one line (:class:`ConfigError`). The tables are
declared as pydantic models (:class:`ScenarioFile`; :mod:`simulation.configmodels` turns
their errors into that line); ``[parameters]`` is checked against the parameter file, so a
parameter added there needs no code.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, model_validator

from .configmodels import (
    RAW,
    NonBlank,
    Number,
    Table,
    Text,
    check,
    field,
    invalid,
    one_of,
    validate,
)
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
    parameters: dict[str, Any] = dc_field(repr=False)
    overrides: dict[str, Any] = dc_field(default_factory=dict)
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


# ------------------------------------------------------------------------ file schema

def _count(expected: str, lo: int, hi: int) -> Any:
    """A run option: an integer from ``lo`` to ``hi``."""
    return Annotated[int, field(expected, type_error="an integer", ge=lo, le=hi)]


#: The run options, also keys of comparison, sweep and sensitivity files' ``[run]``.
Agents = _count("an integer from 1 to 2,000,000,000", 1, MAX_AGENTS)
StartYear = _count("a calendar year from 1900 to 2200", 1900, 2200)
Years = _count("an integer from 1 to 200", 1, 200)
Seed = _count("a non-negative integer", 0, 2**63 - 1)
Replicates = _count("an integer from 1 to 10,000", 1, 10_000)
WindowYears = _count("an integer from 1 to 200", 1, 200)


class _Head(Table):
    """``[scenario]``."""

    name: Annotated[str, check(str.strip)] = field("a non-empty string", type_error="a string",
                                                   missing="a str (required)")
    description: Text = ""
    name_en: Text = ""
    description_en: Text = ""


class _Population(Table):
    """``[population]``."""

    region: Annotated[str, one_of(REGIONS)] = field(f"one of {', '.join(REGIONS)}", "occitanie",
                                                    type_error="a string")
    agents: Agents = 100_000
    start_year: StartYear = 2022


class _Simulation(Table):
    """``[simulation]``."""

    years: Years = 30
    seed: Seed = 1
    replicates: Replicates = 1


class _Metrics(Table):
    """``[metrics]``."""

    window_years: WindowYears = 10


class RunOptions(Table):
    """The run options of a scenario: what the command line may change."""

    population: _Population = Field(default_factory=_Population)
    simulation: _Simulation = Field(default_factory=_Simulation)
    metrics: _Metrics = Field(default_factory=_Metrics)


def _departments(info: ValidationInfo) -> list[str]:
    from .population import load_region

    return load_region((info.context or {}).get("region", REGIONS[0])).codes


_TARGET_GROUPS = {"pcs": PCS, "education": EDUCATION, "department": None}
_STEPS = "5 needs in [0, 1], poorest income quintile first"


class _Allocation(Table):
    """``allocation`` of an intervention: who gets how much (:class:`Allocation`)."""

    sort_keys = True
    mode: Annotated[str, one_of(MODES)] = field(f"one of {', '.join(MODES)}", "universal")
    intensity: Number = field("an intensity in [0, 1]", 1.0, ge=0, le=1)
    budget_eur: Annotated[Number, Field(ge=0, le=1e12)] | None = field(
        "a yearly budget in euros (non-negative)", None)
    by: Annotated[str, one_of(TARGET_BY)] | None = field(f"one of {', '.join(TARGET_BY)}", None)
    max_rank: Annotated[Number, Field(ge=0, le=1)] | None = field(
        "an income rank in [0, 1] (e.g. 0.2 for the poorest fifth)", None)
    groups: Any = field("a non-empty list of groups", None)  # checked against ``by``
    gradient: Annotated[str, one_of(("linear", "stepped"))] = field("linear or stepped", "linear")
    min_need: Number = field("a need in [0, 1]", 0.2, ge=0, le=1)
    steps: list[Annotated[Number, Field(ge=0, le=1)]] | None = field(
        _STEPS, None, min_length=5, max_length=5)

    @model_validator(mode="after")
    def _by_mode(self, info: ValidationInfo) -> _Allocation:
        mode, by, given = self.mode, self.by, self.model_fields_set
        if mode == "targeted" and by is None:
            raise invalid(f"one of {', '.join(TARGET_BY)}", "by")
        if mode == "targeted" and by == "income_rank" and self.max_rank is None:
            raise invalid("an income rank in [0, 1] (required when by = income_rank)", "max_rank")
        if mode == "targeted" and by in _TARGET_GROUPS:
            valid = _TARGET_GROUPS[by] or _departments(info)
            groups = self.groups if "groups" in given else []
            if (not isinstance(groups, list) or not groups
                    or not all(isinstance(g, str) and g in valid for g in groups)):
                raise invalid(f"a non-empty list among {', '.join(valid)}", "groups", got=groups)
        stepped = mode == "proportionate" and self.gradient == "stepped"
        if stepped and self.steps is None:
            raise invalid(_STEPS, "steps", got=[])
        for key, ok in (("by", mode == "targeted"), ("max_rank", by == "income_rank"),
                        ("groups", by in _TARGET_GROUPS), ("gradient", mode == "proportionate"),
                        ("min_need", mode == "proportionate"), ("steps", stepped)):
            if key in given and not ok:
                raise invalid(f"nothing here with mode = {mode!r}", key)
        return self

    def build(self) -> Allocation:
        """The validated allocation."""
        return Allocation(**{**self.model_dump(), "groups": tuple(self.groups or ()),
                             "steps": tuple(self.steps or ())})


class _Intervention(Table):
    """``[[interventions]]``: its type's registry entry gives what the file leaves out."""

    sort_keys = True
    type: Annotated[str, one_of(TYPE_INDEX)] = field(f"one of {', '.join(x.name for x in TYPES)}")
    name: NonBlank | None = None
    start_year: Annotated[Number, Field(ge=1900, le=2300), check(float.is_integer)] | None = \
        field("a calendar year", None)
    duration_years: Annotated[Number, Field(ge=1, le=200), check(
        float.is_integer, "a whole number of years")] | None = field(
        "a whole number of years from 1 to 200", None)
    effect: Annotated[Number, Field(ge=0, le=10)] | None = field(
        "a non-negative effect size at most 10", None)
    effect_source: Text | None = None
    unit_cost_eur: Annotated[Number, Field(ge=0, le=1e7)] | None = field(
        "a non-negative cost in euros per person reached per year", None)
    allocation: _Allocation = Field(default_factory=_Allocation)

    @classmethod
    def field_expected(cls, name: str, raw: Any) -> str | None:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if name == "effect" and isinstance(kind, str) and kind in TYPE_INDEX:
            return f"a non-negative effect size ({TYPES[TYPE_INDEX[kind]].effect_unit}) at most 10"
        return None

    @model_validator(mode="after")
    def _effect_at_most_1(self) -> _Intervention:
        spec = TYPES[TYPE_INDEX[self.type]]
        effect = spec.effect if self.effect is None else self.effect
        if self.type != "smoking_cessation" and effect > 1:
            raise invalid(f"at most 1 ({spec.effect_unit})", "effect", got=RAW)
        return self

    def build(self, start_year: int) -> Intervention:
        """The validated intervention (``start_year``: the scenario's, by default)."""
        spec = TYPES[TYPE_INDEX[self.type]]
        given = self.effect is not None
        return Intervention(
            type=self.type, name=(spec.name if self.name is None else self.name).strip(),
            start_year=int(start_year if self.start_year is None else self.start_year),
            duration_years=None if self.duration_years is None else int(self.duration_years),
            allocation=self.allocation.build(),
            effect=float(self.effect if given else spec.effect),
            effect_source=(self.effect_source if self.effect_source is not None
                           else "scenario file" if given else spec.effect_source),
            unit_cost_eur=float(spec.unit_cost_eur if self.unit_cost_eur is None
                                else self.unit_cost_eur))


class _Counterfactual(Table):
    """``[counterfactual]``: pathways equalised to the reference group."""

    unknown = "only the key equalise"
    equalise: list[Annotated[str, one_of(PATHWAYS)]] = field(
        f"a list of pathways among {', '.join(PATHWAYS)}", [])


class ScenarioFile(RunOptions):
    """A scenario file (``[parameters]`` is checked against the parameter file)."""

    unknown = "one of the tables {keys}"
    sort_keys = True
    implicit = ("scenario",)
    scenario: _Head
    parameters: dict[str, Any] = field("a table", {}, got=False)
    interventions: list[_Intervention] = field("an array of tables ([[interventions]])", [],
                                               got=False)
    counterfactual: _Counterfactual = Field(default_factory=_Counterfactual)

    @model_validator(mode="after")
    def _one_of_each_type(self) -> ScenarioFile:
        types = [iv.type for iv in self.interventions]
        for i, kind in enumerate(types):
            if kind in types[:i]:
                raise invalid("at most one intervention of each type per scenario",
                              "interventions", i, "type", got=kind)
        return self


def _check_run_options(d: dict[str, Any], where: str) -> None:
    """Validate the run options of ``d`` (a scenario's fields) like a file's."""
    validate(RunOptions, {"population": {k: d[k] for k in ("region", "agents", "start_year")},
                          "simulation": {k: d[k] for k in ("years", "seed", "replicates")},
                          "metrics": {"window_years": d["window_years"]}}, where)


def parse_scenario(raw: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario already parsed from TOML."""
    population = raw.get("population") if isinstance(raw, dict) else None
    region = population.get("region") if isinstance(population, dict) else None
    f = validate(ScenarioFile, raw, source,
                 context={"region": region if region in REGIONS else REGIONS[0]})
    data = {**f.scenario.model_dump(), **f.population.model_dump(),
            **f.simulation.model_dump(), **f.metrics.model_dump()}
    overrides = _flatten(f.parameters, source=source)
    params = resolve_parameters(overrides, source)
    _check_parameters(params, source)
    interventions = tuple(iv.build(data["start_year"]) for iv in f.interventions)
    _check_intervention_years(interventions, data["start_year"], data["years"], source)
    return Scenario(parameters=params, overrides=overrides, source=source,
                    interventions=interventions, equalise=tuple(sorted(set(
                        f.counterfactual.equalise))), **data)


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


def _within(interval: str) -> Callable[[Any, dict[str, Any]], bool]:
    """A rule: the value (or each element of a list) lies in ``interval``, such as
    ``"[0, 1]"`` or ``"(0, 100]"``."""
    lo, hi = (float(x) for x in interval[1:-1].split(","))
    above = (lambda x: lo < x) if interval[0] == "(" else (lambda x: lo <= x)
    below = (lambda x: x < hi) if interval[-1] == ")" else (lambda x: x <= hi)
    return lambda v, _p: all(above(x) and below(x) for x in (v if isinstance(v, list) else [v]))


def _among(*choices: str) -> Callable[[Any, dict[str, Any]], bool]:
    return lambda v, _p: v in choices


_P = "a probability from 0 to 1"
#: Rules of the parameters that their kind does not express, checked in this order: the
#: parameter named (``prefix*``: every parameter whose name starts with prefix) must pass
#: ``test(value, all values)``, or it is reported with what is expected.
_RULES: tuple[tuple[str, Callable[[Any, dict[str, Any]], bool], str], ...] = (
    ("smoking.p_quit_attempt", _within("[0, 1]"), _P),
    ("smoking.p_attempt_success", _within("[0, 1]"), _P),
    ("smoking.p_relapse", _within("[0, 1]"), _P),
    ("early_childhood.p_diploma_gain", _within("[0, 1]"), _P),
    ("smoking.quit_min_age", _within("[12, 100]"), "an age from 12 to 100"),
    ("smoking.relapse_years", _within("[0, 50]"), "a whole number of years from 0 to 50"),
    ("smoking.former_excess_floor", _within("[0, 1]"), "four shares from 0 to 1"),
    ("smoking.former_excess_decay_years", _within("(0, 100]"), "a number of years in (0, 100]"),
    ("demography.projection", _among("central", "high", "low"),
     'one of "central", "high", "low"'),
    ("demography.tfr_projected", lambda v, p: _within("[0, 10]")(
        p["demography.tfr_observed"] + v, p), "fertility rates from 0 to 10 children per woman"),
    ("demography.tfr_observed", lambda v, p: len(v) == len(p["demography.tfr_observed_years"]),
     "one rate per year of demography.tfr_observed_years"),
    ("migration.out_rate", _within("[0, 0.5]"), "a probability from 0 to 0.5"),
    ("migration.in_age_shares", lambda v, p: all(
        x >= 0 for x in p["migration.out_age_profile"] + v) and sum(v) > 0,
     "non-negative shares, not all zero"),
    ("mortality.trend_pace", _within("[0, 3]"), "paces from 0 to 3"),
    ("outcomes.mortality_estimator", _among("expected", "realised"),
     'one of "expected", "realised"'),
    ("outcomes.horizon", _among("lifetime", "simulation"), 'one of "lifetime", "simulation"'),
    ("outcomes.atkinson_epsilon", lambda v, p: 0 <= v <= 100 and v != 1,
     "a number from 0 to 100, other than 1"),
    ("outcomes.kolm_alpha", _within("(0, 10]"), "a number in (0, 10]"),
    ("demography.burn_in_years", _within("[0, 100]"), "a whole number of years from 0 to 100"),
    ("demography.fertility_tfr", _within("(0, 10]"), "a number in (0, 10]"),
    ("demography.fertility_mean_age", _within("[15, 49]"), "an age from 15 to 49"),
    ("demography.fertility_sd_age", _within("(0, 20]"), "a number in (0, 20]"),
    ("demography.p_male_at_birth", _within("(0, 1)"), "a probability in (0, 1)"),
    ("mortality.qx_last_year", lambda v, p: 2010 <= p["mortality.qx_first_year"] <= v <= 2022,
     "qx_first_year <= qx_last_year, both within 2010-2022"),
    ("mortality.max_age", _within("[100, 120]"), "an integer age from 100 to 120"),
    ("mortality.max_hazard", _within("(0, 5]"), "a hazard in (0, 5]"),
    ("education.shares_*", lambda v, p: all(s >= 0 for s in v) and abs(sum(v) - 1) <= 1e-6,
     "5 non-negative shares summing to 1"),
    ("education.latent_corr_income", _within("(-1, 1)"), "a correlation in (-1, 1)"),
    ("pcs.latent_corr_education", _within("(-1, 1)"), "a correlation in (-1, 1)"),
    ("pcs.latent_corr_income", lambda v, p: _within("[0, 1)")(v, p) and not (
        status_explained_variance(p) > 1).any(), "two weights in [0, 1) (men, women) that keep "
     "the status score's explained variance at most 1 with pcs.latent_corr_education"),
    ("employment.school_leaving_age", _within("[10, 40]"), "ages from 10 to 40"),
    ("employment.retirement_age", _within("[40, 80]"), "an age from 40 to 80"),
    ("employment.unemployment_rate", _within("[0, 0.5)"), "a rate in [0, 0.5)"),
    ("employment.unemployment_income_slope", _within("[0, 2]"), "a number in [0, 2]"),
)


def _check_parameters(p: dict[str, Any], source: str) -> None:
    """The rules of :data:`_RULES`, then the ranges implied by the names: probabilities and
    shares in [0, 1], relative risks and multipliers positive."""

    def bad(name: str, expected: str) -> None:
        raise ConfigError(source, f"parameters.{name}", expected, p[name])

    for pattern, ok, expected in _RULES:
        names = [k for k in p if k.startswith(pattern[:-1])] if pattern.endswith("*") \
            else [pattern]
        for name in names:
            if not ok(p[name], p):
                bad(name, expected)
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


def has_table(path: str | Path, table: str) -> bool:
    """True if the TOML file at ``path`` has a top-level ``table`` (False if unreadable)."""
    try:
        return table in read_toml(path)
    except ConfigError:
        return False


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`ConfigError` on any problem."""
    return parse_scenario(read_toml(path, "scenario"), str(path))
