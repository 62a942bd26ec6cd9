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
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

REGIONS = ("occitanie",)
MAX_AGENTS = 2_000_000_000


class ConfigError(ValueError):
    """A user's mistake in a scenario or parameter file, reported as one line."""

    def __init__(self, source: str, key: str, expected: str, got: Any = None) -> None:
        self.source, self.key, self.expected = source, key, expected
        msg = f"{source}: {key}: expected {expected}"
        if got is not None:
            msg += f", got {got!r}"
        super().__init__(msg)


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

    @property
    def canonical(self) -> str:
        body = {
            "name": self.name, "description": self.description, "region": self.region,
            "agents": self.agents, "start_year": self.start_year, "years": self.years,
            "seed": self.seed, "replicates": self.replicates,
            "window_years": self.window_years, "parameters": self.parameters,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()

    def with_options(self, **changes: Any) -> Scenario:
        """A copy with command-line overrides (agents, seed, years, replicates), validated."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in changes.items():
            if v is not None:
                data[k] = v
        _check_run_options(data, "command line")
        return Scenario(**data)


_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "scenario": {"name": (str, None), "description": (str, "")},
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
    allowed = set(_SCHEMA) | {"parameters"}
    for top, value in raw.items():
        if top not in allowed:
            raise ConfigError(source, top, f"one of the tables {', '.join(sorted(allowed))}")
        if not isinstance(value, dict):
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
    return Scenario(parameters=params, overrides=overrides, source=source, **data)


def _check_parameters(p: dict[str, Any], source: str) -> None:
    """Range checks that the kind check cannot express."""

    def bad(name: str, expected: str) -> None:
        raise ConfigError(source, f"parameters.{name}", expected, p[name])

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


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`ConfigError` on any problem."""
    p = Path(path)
    where = str(path)
    if not p.exists():
        raise ConfigError(where, "file", "an existing scenario file (TOML)")
    if p.is_dir():
        raise ConfigError(where, "file", "a scenario file, not a directory")
    try:
        raw = tomllib.loads(p.read_text("utf-8-sig"))  # a byte-order mark is tolerated
    except UnicodeDecodeError:
        raise ConfigError(where, "file", "a UTF-8 text file in TOML format") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(where, "file", f"valid TOML ({e})") from None
    except RecursionError:
        raise ConfigError(where, "file", "TOML without absurdly deep nesting") from None
    except OSError as e:
        raise ConfigError(where, "file", f"a readable file ({e.strerror})") from None
    return parse_scenario(raw, where)
