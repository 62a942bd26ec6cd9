"""Bayesian calibration of the baseline against the observed French gradients (ABC-SMC).

A calibration file (TOML, e.g. ``calibration/default.toml``) names the parameters to
calibrate with their priors, the targets with their weights and tolerances, the population
each model evaluation simulates, and the ABC-SMC settings::

    [calibration]
    name = "default"
    scenario = "../scenarios/baseline.toml"   # relative to this file (default: the baseline)
    targets = "targets.csv"                   # default: calibration/targets.csv

    [population]
    agents = 50000
    years = 30
    seed = 1
    replicates = 1

    [abc]
    population_size = 40
    generations = 6          # generation 0 is the prior sample
    minimum_epsilon = 0.0    # stop earlier once epsilon falls below this
    max_walltime_minutes = 28
    epsilon_quantile = 0.5

    [[parameters]]
    name = "mortality.rr_income_residual[0]"   # dotted name; [i] picks an element of a list
    prior = "lognormal"                        # uniform (lower, upper), normal (mean, sd),
    median = 5.3                               # lognormal (median, sigma of the log); every
    sigma = 0.3                                # prior is truncated to [lower, upper]
    lower = 1.5
    upper = 15

    [[targets]]
    family = "e0_income_quintile"   # a family of calibration/targets.csv
    weight = 2.0                    # default 1
    tolerance = 1.0                 # optional: absolute, in the target's unit, for every row
                                    # (or relative_tolerance = 0.25; default: the CSV's)

Distance. Each target row k contributes its deviation scaled by its tolerance,
``z_k = (simulated_k - observed_k) / tolerance_k``; a family's weight is shared equally by
its rows, and the distance is the weighted root mean square ``sqrt(sum w_k z_k^2 / sum w_k)``.
A distance of 1 means the targets are met on average within their tolerances; a target the
model cannot compute (a life table with too few deaths) counts as ``z = 10``.

Summary statistics are chosen to be robust at 50,000 agents: life expectancy by income
*quintile* and sex (10,000 people a quintile) rather than by vingtile (2,500 people, e0 moving
by about 1.5 years from seed to seed), prevalences by decile standardised on age and sex,
smoking and non-take-up over the whole adult or eligible population.

Evaluations. Each particle's model run takes its seed from a hash of the calibration seed
and the particle's parameter values (:func:`particle_seed`), and pyabc's proposals in
generation ``t``, task ``i`` draw from a generator seeded by ``(seed, t, i)``
(:class:`SeededMappingSampler`), so the results do not depend on the executor (serial,
processes, Dask) nor on the order in which tasks finish. pyabc keeps its history in its own
SQLite database (:func:`history_path`); a calibration interrupted and started again with the
same file loads that history and continues with the next generation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import random
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pyabc.sampler import MappingSampler
from pydantic import Field, ValidationInfo, field_validator, model_validator

from .config import ConfigError, Scenario, _check_parameters, load_parameter_specs, read_toml
from .configmodels import RAW, Number, Table, Text, check, field, invalid, one_of, validate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TARGETS = ROOT / "calibration" / "targets.csv"
DEFAULT_SCENARIO = ROOT / "scenarios" / "baseline.toml"
#: deviation (in tolerances) counted for a target the model could not compute
NAN_PENALTY = 10.0

INSEE = "INSEE, Insee Premiere 1687 (2018) and workbook morta_niv.xlsx, 2012-2016"
DREES = "DREES, Etudes et Resultats 1243 (2022), EDP-Sante 2016-2017, age- and sex-standardised"
BEH = "Sante publique France, Barometre sante 2022 (BEH 2023 n.9-10), 18-75"
CSS = "DREES communique 13/12/2022: non-take-up of the CSS sans participation 2019-2021"

#: target families: what each measures (the rows are in calibration/targets.csv)
FAMILIES: dict[str, str] = {
    "e0_all": "life expectancy at birth, whole population, by sex",
    "e65_all": "life expectancy at 65, whole population, by sex",
    "e0_income_quintile": "life expectancy at birth by income quintile and sex",
    "e65_income_quintile": "life expectancy at 65 by income quintile and sex",
    "e0_income_vingtile": "life expectancy at birth by income vingtile and sex",
    "e60_income_vingtile": "life expectancy at 60 by income vingtile and sex",
    "e65_income_vingtile": "life expectancy at 65 by income vingtile and sex",
    "e0_gap_v20_v1": "gap in life expectancy at birth between the richest and poorest 5%",
    "diabetes_prevalence_income_decile": "standardised prevalence of diabetes by income decile",
    "cardiovascular_prevalence_income_decile":
        "standardised prevalence of cardio-neurovascular disease by income decile",
    "smoking_diploma": "daily smoking at 18-75 below and above the bac",
    "smoking_sex": "daily smoking at 18-75 by sex",
    "non_take_up_free_css": "non-take-up of the free CSS among the eligible",
}

_PRIOR_KEYS = {"uniform": ("lower", "upper"), "normal": ("mean", "sd", "lower", "upper"),
               "lognormal": ("median", "sigma", "lower", "upper")}


# ------------------------------------------------------------------------------ targets


def build_targets() -> pd.DataFrame:
    """The calibration targets from the observed data in ``simulation/data`` (the figures of
    :mod:`simulation.validation`). Columns: family, sex (M, F or all), group, observed,
    unit, tolerance (absolute, in the unit), source."""
    from .population import read_data

    rows: list[dict[str, Any]] = []

    def add(family, sex, group, observed, unit, tol, source):
        rows.append({"family": family, "sex": sex, "group": str(group),
                     "observed": round(float(observed), 6), "unit": unit,
                     "tolerance": round(float(tol), 6), "source": source})

    le = read_data("insee_life_expectancy_by_income_vingtile_2012_2016.csv")
    for sex, code in (("M", "H"), ("F", "F")):
        o = le[le["sex"] == code].set_index("vingtile")
        add("e0_all", sex, "all", o.loc[0, "e0"], "years", 0.5, INSEE)
        add("e65_all", sex, "all", o.loc[0, "e65"], "years", 0.5, INSEE)
        for col in ("e0", "e65"):
            for q in range(1, 6):
                vs = range(4 * q - 3, 4 * q + 1)
                add(f"{col}_income_quintile", sex, q, np.mean([o.loc[v, col] for v in vs]),
                    "years", 1.0 if col == "e0" else 0.75,
                    INSEE + "; quintile = mean of its four vingtiles' life expectancies")
        for col in ("e0", "e60", "e65"):
            for v in range(1, 21):
                add(f"{col}_income_vingtile", sex, v, o.loc[v, col], "years", 1.0, INSEE)
        add("e0_gap_v20_v1", sex, "V20-V1", o.loc[20, "e0"] - o.loc[1, "e0"], "years", 0.5,
            INSEE)
    prev = read_data("drees_chronic_disease_prevalence_by_income_decile_2016_2017.csv")
    for family, group in (("diabetes_prevalence_income_decile", "Diabète"),
                          ("cardiovascular_prevalence_income_decile",
                           "Maladies cardioneurovasculaires")):
        o = prev[prev["disease_group"] == group].set_index("income_decile")["std_rate"]
        for d in range(1, 11):
            add(family, "all", d, 100 * o[d], "%", 0.25 * 100 * o[d],
                DREES + "; tolerance 25% of the observed value")
    grad = read_data("gradients_intermediate_outcomes.csv")

    def figure(indicator: str, group: str) -> float:
        row = grad[(grad.iloc[:, 0] == indicator) & (grad["group"] == group)]
        return float(row["value"].iloc[0])

    add("smoking_diploma", "all", "no diploma or below bac",
        figure("daily_smoking_18_75", "no diploma or < bac"), "%", 5.0, BEH)
    add("smoking_diploma", "all", "above bac",
        figure("daily_smoking_18_75", "diploma > bac"), "%", 5.0, BEH)
    add("smoking_sex", "M", "all", figure("daily_smoking_18_75", "men"), "%", 3.0,
        BEH + "; tolerance 3 points (assumption)")
    add("smoking_sex", "F", "all", figure("daily_smoking_18_75", "women"), "%", 3.0,
        BEH + "; tolerance 3 points (assumption)")
    add("non_take_up_free_css", "all", "eligible",
        figure("non_take_up_CSS_free", "eligibles"), "%", 5.0, CSS)
    return pd.DataFrame(rows)


_TARGETS_HEADER = """\
# Calibration targets of healthgap: one row per observed figure, grouped in families that a
# calibration file (calibration/*.toml) selects. Written by calibration/make_targets.py from
# the observed data in simulation/data (copied from shared/data with their sources); the
# same figures as simulation/validation.py, with its tolerances where it sets one.
# Sources: {insee}; {drees}; {beh}; {css}.
# Columns: family, sex (M, F, all), group, observed value, unit, tolerance (absolute, in the
# unit: the deviation that counts as one unit of distance), source.
# Income quintile life expectancies are the mean of INSEE's four vingtiles (INSEE does not
# publish quintiles); the model computes them from its quintile life tables.
"""


def write_targets(frame: pd.DataFrame, path: Path) -> None:
    text = _TARGETS_HEADER.format(insee=INSEE, drees=DREES, beh=BEH, css=CSS)
    text += frame.to_csv(index=False, lineterminator="\n")
    Path(path).write_text(text, encoding="utf-8")


def load_targets(path: str | Path = DEFAULT_TARGETS, source: str = "<calibration>"
                 ) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(source, "calibration.targets", f"an existing targets CSV ({p})")
    try:
        frame = pd.read_csv(p, comment="#", dtype={"group": str, "sex": str})
    except (ValueError, OSError) as e:
        raise ConfigError(str(p), "file", f"a readable targets CSV ({e})") from None
    need = ["family", "sex", "group", "observed", "unit", "tolerance", "source"]
    if list(frame.columns) != need:
        raise ConfigError(str(p), "columns", ", ".join(need), list(frame.columns))
    return frame


def stat_key(family: str, sex: str, group: str) -> str:
    """The summary statistic's name (a pyabc sum-stat key)."""
    return f"{family}|{sex}|{group}"


# --------------------------------------------------------------------- summary statistics


def summary_statistics(le: pd.DataFrame, people: pd.DataFrame, params: dict[str, Any],
                       families: Sequence[str] | None = None) -> dict[str, float]:
    """Every target's simulated value, keyed by :func:`stat_key`: ``le`` from
    :func:`simulation.validation.run_pooled` (or ``metrics.life_expectancy_by_stratum``),
    ``people`` from :func:`simulation.validation.population_frame`."""
    from .validation import _standardised

    want = set(FAMILIES if families is None else families)
    out: dict[str, float] = {}

    def e(sex: str, by: str, age: int) -> pd.Series:
        m = le[(le["sex"] == sex) & (le["by"] == by) & (le["age"] == age)]
        return pd.Series(m["e"].to_numpy(dtype=float), index=m["group"].astype(str))

    for sex in ("M", "F"):
        for age in (0, 65):
            if f"e{age}_all" in want:
                out[stat_key(f"e{age}_all", sex, "all")] = float(
                    e(sex, "all", age).get("all", np.nan))
            if f"e{age}_income_quintile" in want:
                s = e(sex, "income_quintile", age)
                for q in range(1, 6):
                    out[stat_key(f"e{age}_income_quintile", sex, str(q))] = float(
                        s.get(str(q), np.nan))
        for age in (0, 60, 65):
            fam = f"e{age}_income_vingtile"
            if fam in want or (age == 0 and "e0_gap_v20_v1" in want):
                s = e(sex, "income_vingtile", age)
                if fam in want:
                    for v in range(1, 21):
                        out[stat_key(fam, sex, str(v))] = float(s.get(str(v), np.nan))
                if age == 0 and "e0_gap_v20_v1" in want:
                    out[stat_key("e0_gap_v20_v1", sex, "V20-V1")] = float(
                        s.get("20", np.nan) - s.get("1", np.nan))
    for fam, bit in (("cardiovascular_prevalence_income_decile", 1),
                     ("diabetes_prevalence_income_decile", 2)):
        if fam in want:
            rates = _standardised(people, (people["conditions"] & bit) > 0, "decile")
            for d in range(1, 11):
                out[stat_key(fam, "all", str(d))] = 100 * float(rates.get(d, np.nan))
    adults = people[(people["age"] >= 18) & (people["age"] <= 75)]
    smoker = adults["smoking"] == 1

    def pct(mask: pd.Series) -> float:
        return 100 * float(mask.mean()) if len(mask) else float("nan")

    if "smoking_diploma" in want:
        out[stat_key("smoking_diploma", "all", "no diploma or below bac")] = pct(
            smoker[adults["education"] <= 2])
        out[stat_key("smoking_diploma", "all", "above bac")] = pct(
            smoker[adults["education"] == 4])
    if "smoking_sex" in want:
        out[stat_key("smoking_sex", "M", "all")] = pct(smoker[adults["sex"] == 0])
        out[stat_key("smoking_sex", "F", "all")] = pct(smoker[adults["sex"] == 1])
    if "non_take_up_free_css" in want:
        eligible = people["income_rank"] < params["care.css_free_rank_max"]
        out[stat_key("non_take_up_free_css", "all", "eligible")] = pct(
            people.loc[eligible, "insurance"] != 1)
    return out


# -------------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Prior:
    """The prior of one calibrated value: ``name`` is a dotted parameter name, ``index`` the
    element of a list parameter (None for a scalar)."""

    name: str
    index: int | None
    kind: str  # uniform, normal, lognormal
    lower: float
    upper: float
    loc: float | None = None  # normal: mean; lognormal: median
    scale: float | None = None  # normal: sd; lognormal: sigma of the log

    @property
    def label(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"

    # pyabc works on an internal scale: the value itself, or its log for a lognormal prior
    def to_internal(self, value: float) -> float:
        return math.log(value) if self.kind == "lognormal" else float(value)

    def from_internal(self, x: float) -> float:
        return math.exp(x) if self.kind == "lognormal" else float(x)

    def rv(self):
        import pyabc

        if self.kind == "uniform":
            return pyabc.RV("uniform", self.lower, self.upper - self.lower)
        mu = self.loc if self.kind == "normal" else math.log(self.loc)
        lo, hi = self.to_internal(self.lower), self.to_internal(self.upper)
        return pyabc.RV("truncnorm", (lo - mu) / self.scale, (hi - mu) / self.scale,
                        loc=mu, scale=self.scale)

    def density(self, values: np.ndarray) -> np.ndarray:
        """Prior density on the natural scale (for the marginal plots)."""
        from scipy import stats

        v = np.asarray(values, dtype=float)
        inside = (v >= self.lower) & (v <= self.upper)
        if self.kind == "uniform":
            return np.where(inside, 1.0 / (self.upper - self.lower), 0.0)
        if self.kind == "normal":
            dist = stats.norm(self.loc, self.scale)
            mass = dist.cdf(self.upper) - dist.cdf(self.lower)
            return np.where(inside, dist.pdf(v) / mass, 0.0)
        dist = stats.lognorm(self.scale, scale=self.loc)
        mass = dist.cdf(self.upper) - dist.cdf(self.lower)
        return np.where(inside, dist.pdf(np.clip(v, 1e-300, None)) / mass, 0.0)


@dataclass(frozen=True)
class TargetChoice:
    family: str
    weight: float = 1.0
    tolerance: float | None = None
    relative_tolerance: float | None = None


@dataclass(frozen=True)
class CalibrationSpec:
    """A validated calibration file. ``scenario`` is the base scenario with the calibration's
    population (agents, years, seed); ``targets`` the selected rows with their weights and
    tolerances (``targets``: every row of the targets file, for the diagnostics). ``canonical`` holds everything (scenario and targets included), so a stored
    calibration can be rebuilt from the database alone (:meth:`from_canonical`)."""

    name: str
    description: str
    scenario: Scenario
    priors: tuple[Prior, ...]
    choices: tuple[TargetChoice, ...]
    targets: pd.DataFrame = dataclasses.field(repr=False, compare=False)
    replicates: int = 1
    population_size: int = 40
    generations: int = 6
    minimum_epsilon: float = 0.0
    max_walltime_minutes: float | None = None
    epsilon_quantile: float = 0.5
    source: str = "<calibration>"

    @property
    def families(self) -> list[str]:
        return [c.family for c in self.choices]

    @property
    def canonical(self) -> str:
        body = {
            "name": self.name, "description": self.description,
            "scenario": json.loads(self.scenario.canonical),
            "replicates": self.replicates,
            "abc": {"population_size": self.population_size, "generations": self.generations,
                    "minimum_epsilon": self.minimum_epsilon,
                    "max_walltime_minutes": self.max_walltime_minutes,
                    "epsilon_quantile": self.epsilon_quantile},
            "priors": [dataclasses.asdict(p) for p in self.priors],
            "choices": [dataclasses.asdict(c) for c in self.choices],
            "targets": json.loads(self.targets.to_json(orient="records")),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, body: str | dict, source: str = "<database>") -> CalibrationSpec:
        b = json.loads(body) if isinstance(body, str) else body
        abc = b["abc"]
        targets = pd.DataFrame(b["targets"])
        targets["group"] = targets["group"].astype(str)
        return cls(name=b["name"], description=b["description"],
                   scenario=Scenario.from_canonical(json.dumps(b["scenario"]), source),
                   priors=tuple(Prior(**p) for p in b["priors"]),
                   choices=tuple(TargetChoice(**c) for c in b["choices"]),
                   targets=targets, replicates=b["replicates"],
                   population_size=abc["population_size"], generations=abc["generations"],
                   minimum_epsilon=abc["minimum_epsilon"],
                   max_walltime_minutes=abc["max_walltime_minutes"],
                   epsilon_quantile=abc["epsilon_quantile"], source=source)

    def observed(self) -> pd.DataFrame:
        """The selected target rows with ``key``, ``weight`` (the family's weight shared by
        its rows) and ``tolerance`` (after the file's overrides)."""
        parts = []
        for c in self.choices:
            rows = self.targets[self.targets["family"] == c.family].copy()
            rows["weight"] = c.weight / len(rows)
            if c.tolerance is not None:
                rows["tolerance"] = c.tolerance
            elif c.relative_tolerance is not None:
                rows["tolerance"] = c.relative_tolerance * rows["observed"].abs()
            parts.append(rows)
        out = pd.concat(parts, ignore_index=True)
        out["key"] = [stat_key(f, s, g) for f, s, g in
                      zip(out["family"], out["sex"], out["group"], strict=True)]
        return out


_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\[(\d+)\])?$")


class _Head(Table):
    """``[calibration]``: the name and the files (relative to the calibration file)."""

    name: Annotated[str, check(str.strip)] = field("a non-empty string (required)")
    description: Text = ""
    scenario: Annotated[str, check(str.strip)] | None = field("a file path (string)", None)
    targets: Annotated[str, check(str.strip)] | None = field("a file path (string)", None)

    @model_validator(mode="after")
    def _files_exist(self, info: ValidationInfo) -> _Head:
        for key, path in self.paths((info.context or {}).get("base_dir", Path.cwd())).items():
            if not path.is_file():
                raise invalid("an existing file", key, got=str(getattr(self, key)))
        return self

    def paths(self, base_dir: Path) -> dict[str, Path]:
        """The scenario and targets files, relative to ``base_dir`` (defaults: the
        repository's baseline scenario and targets)."""
        return {key: default if getattr(self, key) is None else base_dir / getattr(self, key)
                for key, default in (("scenario", DEFAULT_SCENARIO),
                                     ("targets", DEFAULT_TARGETS))}


class _Population(Table):
    """``[population]``: what each model evaluation simulates."""

    agents: int = field("an integer from 100 to 10,000,000", 50_000, ge=100, le=10_000_000)
    years: int = field("an integer from 1 to 200", 30, ge=1, le=200)
    seed: int = field("an integer from 0 to 2,147,483,647", 1, ge=0, le=2**31 - 1)
    replicates: int = field("an integer from 1 to 100", 1, ge=1, le=100)


class _Abc(Table):
    """``[abc]``: the ABC-SMC settings."""

    population_size: int = field("an integer from 2 to 100,000", 40, ge=2, le=100_000)
    generations: int = field("an integer from 1 to 1,000", 6, ge=1, le=1000)
    minimum_epsilon: Number = field("a non-negative number", 0.0, ge=0)
    max_walltime_minutes: Annotated[Number, Field(gt=0)] | None = field(
        "a positive number of minutes", None)
    epsilon_quantile: Number = field("a number in (0, 1)", 0.5, gt=0, lt=1)


class _Prior(Table):
    """``[[parameters]]``: a real-valued parameter (or element of one) and its prior."""

    table_expected = "a table ([[parameters]])"
    name: str = field('a dotted parameter name, e.g. "mortality.level[0]" ([i] for an '
                      "element of a list)")
    prior: Annotated[str, one_of(_PRIOR_KEYS)] = field("one of uniform, normal, lognormal")
    lower: Number | None = field("a finite number", None)
    upper: Number | None = field("a finite number", None)
    mean: Number | None = field("a finite number", None)
    sd: Number | None = field("a finite number", None)
    median: Number | None = field("a finite number", None)
    sigma: Number | None = field("a finite number", None)

    @classmethod
    def unknown_key(cls, raw: Any) -> str:
        kind = raw.get("prior") if isinstance(raw, dict) else None
        if not (isinstance(kind, str) and kind in _PRIOR_KEYS):
            return super().unknown_key(raw)
        keys = ", ".join(sorted({"name", "prior", *_PRIOR_KEYS[kind]}))
        return f"one of the keys {keys} for a {kind} prior"

    @field_validator("name")
    @classmethod
    def _known(cls, name: str, info: ValidationInfo) -> str:
        specs = (info.context or {}).get("specs") or load_parameter_specs()
        if not (m := _NAME.match(name)):
            raise ValueError("not a dotted name")
        base, index = m.group(1), None if m.group(2) is None else int(m.group(2))
        if base not in specs:
            raise invalid("a known parameter name (see simulation/data/parameters.toml)",
                          got=RAW)
        default = specs[base].value
        if isinstance(default, list):
            if index is None or index >= len(default):
                raise invalid(f"{base}[i] with i from 0 to {len(default) - 1} ({base} is a "
                              "list)", got=RAW)
            default = default[index]
        elif index is not None:
            raise invalid(f"{base} without [i] (not a list)", got=RAW)
        if isinstance(default, bool) or not isinstance(default, float):
            raise invalid("a real-valued parameter (not a whole number, flag or text)", got=RAW)
        return name

    @model_validator(mode="after")
    def _prior_keys(self) -> _Prior:
        kind, needed = self.prior, _PRIOR_KEYS[self.prior]
        for key in type(self).model_fields:
            if key in self.model_fields_set and key not in ("name", "prior", *needed):
                raise invalid(self.unknown_key({"prior": kind}), key)
        for key in needed:
            if getattr(self, key) is None:
                raise invalid(f"a finite number (required for a {kind} prior)", key)
        lower, upper = self.lower, self.upper
        if not lower < upper:
            raise invalid(f"a number above lower ({lower:g})", "upper", got=upper)
        for key, ok, expected in (
                ("sd", kind != "normal" or self.sd > 0, "a positive number"),
                ("median", kind != "lognormal" or self.median > 0, "a positive number"),
                ("sigma", kind != "lognormal" or self.sigma > 0, "a positive number"),
                ("lower", kind != "lognormal" or lower > 0, "a positive number (lognormal prior)")):
            if not ok:
                raise invalid(expected, key, got=RAW)
        loc = self.mean if kind == "normal" else self.median
        if loc is not None and not lower <= loc <= upper:
            raise invalid(f"a value within [lower, upper] = [{lower:g}, {upper:g}]",
                          "mean" if kind == "normal" else "median", got=loc)
        return self

    def build(self) -> Prior:
        """The validated prior."""
        m = _NAME.match(self.name)
        index = None if m.group(2) is None else int(m.group(2))
        loc, scale = ((self.mean, self.sd) if self.prior == "normal" else
                      (self.median, self.sigma) if self.prior == "lognormal" else (None, None))
        return Prior(m.group(1), index, self.prior, self.lower, self.upper, loc, scale)


class _Target(Table):
    """``[[targets]]``: a family of the targets file, its weight and tolerance."""

    table_expected = "a table ([[targets]])"
    sort_keys = True
    family: Any = field("a family of the targets file", None)  # checked against the file
    weight: Annotated[Number, Field(gt=0)] | None = field("a positive number", None)
    tolerance: Annotated[Number, Field(gt=0)] | None = field("a positive number", None)
    relative_tolerance: Annotated[Number, Field(gt=0)] | None = field("a positive number", None)

    @model_validator(mode="after")
    def _one_tolerance(self) -> _Target:
        if self.tolerance is not None and self.relative_tolerance is not None:
            raise invalid("either tolerance or relative_tolerance, not both",
                          "relative_tolerance")
        return self


class CalibrationFile(Table):
    """A calibration file; the files it names are then read and checked."""

    unknown = "one of the tables {keys}"
    implicit = ("calibration",)
    calibration: _Head
    population: _Population = Field(default_factory=_Population)
    abc: _Abc = Field(default_factory=_Abc)
    parameters: list[_Prior] = field("at least one [[parameters]] table", got=False,
                                     type_error="an array of tables ([[parameters]])",
                                     min_length=1)
    targets: list[_Target] = field("at least one [[targets]] table", got=False,
                                   type_error="an array of tables ([[targets]])", min_length=1)

    @model_validator(mode="after")
    def _each_parameter_once(self) -> CalibrationFile:
        labels = [p.build().label for p in self.parameters]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                raise invalid("each parameter once", "parameters", i, "name", got=label)
        return self


def _parse_prior(t: Any, path: str, source: str, specs: dict) -> Prior:
    """One ``[[parameters]]`` table as a :class:`Prior` (``path`` names it in errors)."""
    return validate(_Prior, t, source, path, {"specs": specs}).build()


def parse_calibration(raw: dict[str, Any], source: str = "<calibration>",
                      base_dir: Path | None = None) -> CalibrationSpec:
    """Validate a calibration file already parsed from TOML; relative paths are read from
    ``base_dir`` (the file's folder)."""
    from .config import load_scenario

    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    f = validate(CalibrationFile, raw, source,
                 context={"specs": load_parameter_specs(), "base_dir": base_dir})
    paths = f.calibration.paths(base_dir)
    pop, abc = f.population, f.abc
    scenario = load_scenario(paths["scenario"]).with_options(agents=pop.agents,
                                                             years=pop.years, seed=pop.seed)
    priors = tuple(p.build() for p in f.parameters)
    for i, p in enumerate(priors):
        for bound in (p.lower, p.upper):  # the model must accept the whole prior's support
            trial = apply_values(scenario.parameters, priors[i:i + 1], [bound])
            try:
                _check_parameters(trial, source)
            except ConfigError as e:
                raise ConfigError(source, f"parameters[{i}].{'lower' if bound == p.lower else 'upper'}",
                                  f"a bound the model accepts ({e.expected})", bound) from None
    targets = load_targets(paths["targets"], source)
    families = set(targets["family"])
    for i, t in enumerate(f.targets):
        if not (isinstance(t.family, str) and t.family in families):
            raise ConfigError(source, f"targets[{i}].family",
                              f"one of {', '.join(sorted(families))}", t.family)
    if len({t.family for t in f.targets}) < len(f.targets):
        raise ConfigError(source, "targets", "each family once")
    return CalibrationSpec(
        name=f.calibration.name.strip(), description=f.calibration.description,
        scenario=scenario, priors=priors,
        choices=tuple(TargetChoice(**t.model_dump(exclude_none=True)) for t in f.targets),
        targets=targets, replicates=pop.replicates, population_size=abc.population_size,
        generations=abc.generations, minimum_epsilon=abc.minimum_epsilon,
        max_walltime_minutes=abc.max_walltime_minutes,
        epsilon_quantile=abc.epsilon_quantile, source=source)


def load_calibration(path: str | Path) -> CalibrationSpec:
    """Read and validate a calibration file; raises :class:`ConfigError` on any problem."""
    p = Path(path)
    return parse_calibration(read_toml(p, "calibration"), str(path), p.resolve().parent)


# ------------------------------------------------------------------------------- model


def apply_values(parameters: dict[str, Any], priors: Sequence[Prior],
                 values: Sequence[float]) -> dict[str, Any]:
    """``parameters`` with each prior's value set (a list parameter keeps its other
    elements)."""
    out = dict(parameters)
    for p, v in zip(priors, values, strict=True):
        if p.index is None:
            out[p.name] = float(v)
        else:
            lst = list(out[p.name])
            lst[p.index] = float(v)
            out[p.name] = lst
    return out


def overrides_of(priors: Sequence[Prior], values: Sequence[float],
                 defaults: dict[str, Any]) -> dict[str, Any]:
    """The parameter overrides of one draw, by dotted name: a scalar, or the whole list with
    the calibrated elements set (ready for a scenario's ``[parameters]``)."""
    full = apply_values(defaults, priors, values)
    return {p.name: full[p.name] for p in priors}


def particle_seed(seed: int, values: Sequence[float]) -> int:
    """The model seed of a particle: a hash of the calibration seed and the parameter values
    (their exact binary form), so a parameter set always gets the same simulation."""
    h = hashlib.sha256(repr((int(seed), [float(v).hex() for v in values])).encode())
    return int.from_bytes(h.digest()[:4], "little") & 0x7FFF_FFFF


def evaluate(scenario: Scenario, priors: Sequence[Prior], values: Sequence[float],
             replicates: int, families: Sequence[str]) -> dict[str, float]:
    """Simulate one parameter set (natural scale) and return its summary statistics."""
    params = apply_values(scenario.parameters, priors, values)
    overrides = dict(scenario.overrides)
    overrides.update(overrides_of(priors, values, scenario.parameters))
    sc = dataclasses.replace(scenario, parameters=params, overrides=overrides,
                             seed=particle_seed(scenario.seed, values))
    le, people = pooled_outputs(sc, replicates)
    return summary_statistics(le, people, params, families)


def pooled_outputs(scenario: Scenario, replicates: int = 1
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Like :func:`simulation.validation.run_pooled` (period tables pooled over the whole
    horizon and the replicates, the living people at the end) but with only the strata the
    targets use (whole population and income) and no healthy life expectancy: half the
    cost of an evaluation at 50,000 agents."""
    from . import metrics
    from .model import HealthInequalityModel
    from .validation import population_frame

    inputs, people = [], []
    for r in range(replicates):
        model = HealthInequalityModel(scenario, replicate=r)
        model.run_years()
        lti = model.life_table_input()
        inputs.append(lti[lti["by"].isin(("all", "income_vingtile"))])
        people.append(population_frame(model))
    le = metrics.life_expectancy_by_stratum(pd.concat(inputs, ignore_index=True),
                                            ages=(0, 60, 65))
    return le, pd.concat(people, ignore_index=True)


class Model:
    """The pyabc model: pyabc parameters ``p0, p1, ...`` (internal scale) to summary
    statistics. Picklable; it calls the module's :func:`evaluate` at call time."""

    def __init__(self, spec: CalibrationSpec) -> None:
        self.scenario = spec.scenario
        self.priors = spec.priors
        self.replicates = spec.replicates
        self.families = spec.families
        self.keys = list(spec.observed()["key"])

    def values(self, par: Any) -> list[float]:
        return [p.from_internal(float(par[f"p{i}"])) for i, p in enumerate(self.priors)]

    def __call__(self, par: Any) -> dict[str, float]:
        stats = evaluate(self.scenario, self.priors, self.values(par), self.replicates,
                         self.families)
        return {k: float(stats.get(k, np.nan)) for k in self.keys}


class Distance:
    """Weighted root mean square of the deviations scaled by the tolerances (module doc)."""

    def __init__(self, observed: pd.DataFrame) -> None:
        self.keys = list(observed["key"])
        self.weights = observed["weight"].to_numpy(dtype=float)
        self.tolerances = observed["tolerance"].to_numpy(dtype=float)

    def z(self, x: dict, x0: dict) -> np.ndarray:
        sim = np.array([float(x[k]) for k in self.keys])
        obs = np.array([float(x0[k]) for k in self.keys])
        z = (sim - obs) / self.tolerances
        return np.where(np.isfinite(z), z, NAN_PENALTY)

    def __call__(self, x: dict, x0: dict) -> float:
        z = self.z(x, x0)
        return float(np.sqrt(np.sum(self.weights * z * z) / np.sum(self.weights)))


# --------------------------------------------------------------------- pyabc sampler


def _task_seed(seed: int, t: int, i: int) -> int:
    h = hashlib.sha256(f"healthgap-abc:{int(seed)}:{int(t)}:{int(i)}".encode())
    return int.from_bytes(h.digest()[:4], "little")


class SeededMappingSampler(MappingSampler):
    """pyabc's MappingSampler whose task ``i`` of generation ``t`` draws its proposals from
    numpy's and Python's generators seeded by ``(seed, t, i)`` (restored after) instead of
    an unseeded generator, and whose map function receives ``t`` (for progress): the
    calibration then depends neither on the executor nor on the order tasks finish in."""

    def __init__(self, map_: Callable, seed: int,
                 on_generation: Callable | None = None) -> None:
        super().__init__(map_=map_)
        self.seed = int(seed)
        self.on_generation = on_generation

    def __getstate__(self):  # the map function and the callback stay here
        return (*super().__getstate__(), self.seed)

    def __setstate__(self, state):
        super().__setstate__(state[:-1])
        self.seed = state[-1]
        self.map_ = None
        self.on_generation = None

    def map_function(self, simulate_one, key):
        t, i = key
        np_state, py_state = np.random.get_state(), random.getstate()
        s = _task_seed(self.seed, t, i)
        np.random.seed(s)
        random.seed(s)
        try:
            simulate_one = self.unpickle(simulate_one)
            n = 0
            sample = self._create_empty_sample()
            while True:
                new = simulate_one()
                n += 1
                sample.append(new)
                if new.accepted:
                    return sample, n
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                all_accepted=False, ana_vars=None):
        t0 = time.perf_counter()
        fn = functools.partial(self.map_function, self.pickle(simulate_one))
        results = list(self.map_(fn, [(t, i) for i in range(n)], t))
        samples, evals = zip(*results, strict=True)
        self.nr_evaluations_ = sum(evals)
        sample = self._create_empty_sample()
        for s in samples:
            sample += s
        if self.on_generation is not None:
            self.on_generation(t, n, self.nr_evaluations_, time.perf_counter() - t0)
        return sample


def _executor_map(executor: Any, show_progress: bool) -> Callable:
    """A map function for the sampler over :meth:`Executor.map`: the results in input
    order, with a progress bar on stderr (particles accepted, evaluations) when wanted."""

    def map_(fn, items, t):
        items = list(items)
        out: list[Any] = [None] * len(items)
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=len(items), desc=f"generation {t}", unit="particle",
                       file=sys.stderr, leave=False)
        evals = 0
        try:
            for i, result in executor.map(fn, [(x,) for x in items]):
                out[i] = result
                evals += result[1]
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(evaluations=evals)
        finally:
            if bar is not None:
                bar.close()
        return out

    return map_


# ---------------------------------------------------------------------------- running


def history_path(spec: CalibrationSpec, db_url: str | None) -> Path:
    """pyabc's history database for ``spec`` by this code version: next to the results
    database (``db_url``, else $HEALTHGAP_DB, else the default) when it is a SQLite file,
    else in ``outputs/``."""
    from .store import _sqlite_path, code_version, parse_url, resolve_url

    url = parse_url(resolve_url(db_url))
    folder = Path("outputs")
    if url.get_backend_name() == "sqlite" and (path := _sqlite_path(url)) is not None:
        folder = path.parent
    digest = hashlib.sha256((spec.hash + code_version()).encode()).hexdigest()[:16]
    return folder / f"calibration_{digest}.db"


@contextlib.contextmanager
def _quiet_pyabc():
    """pyabc logs every generation at INFO; keep its warnings, show our own lines."""
    loggers = [logging.getLogger(n) for n in ("ABC", "ABC.History", "ABC.Sampler",
                                               "ABC.Distance", "ABC.Epsilon",
                                               "ABC.Transition", "ABC.Acceptor")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():  # inf - inf when epsilon starts at infinity
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="pyabc")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM acts like Ctrl-C: the executor's workers are closed and
    pyabc's history keeps the finished generations (a hard kill would orphan the workers)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(message: str, enabled: bool) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def run_abc(spec: CalibrationSpec, executor: Any, history: Path, log: bool = True,
            bar: bool = False, fresh: bool = False) -> dict[str, Any]:
    """Run (or resume) the ABC-SMC of ``spec`` with pyabc, its history in ``history``;
    returns the posterior (natural scale) and the run's information."""
    import pyabc
    from pyabc.epsilon import QuantileEpsilon

    history = Path(history)
    history.parent.mkdir(parents=True, exist_ok=True)
    if fresh and history.exists():
        history.unlink()
    observed = spec.observed()
    x0 = dict(zip(observed["key"], observed["observed"].astype(float), strict=True))
    prior = pyabc.Distribution(**{f"p{i}": p.rv() for i, p in enumerate(spec.priors)})
    abc_ref: dict[str, Any] = {}

    def on_generation(t: int, n: int, evals: int, seconds: float) -> None:
        eps = abc_ref["abc"].eps(t) if "abc" in abc_ref else float("nan")
        _say(f"generation {t + 1}/{spec.generations}: epsilon {eps:.3g}, {n} accepted of "
             f"{evals} evaluations ({n / max(evals, 1):.0%}), {seconds:.0f} s", log)

    sampler = SeededMappingSampler(_executor_map(executor, bar), spec.scenario.seed,
                                   on_generation)
    t_start = time.perf_counter()
    url = f"sqlite:///{history.resolve()}"
    with _quiet_pyabc():
        abc_id, done = None, 0
        if history.exists():
            try:
                runs = pyabc.History(url).all_runs()
                if runs:
                    abc_id = int(runs[-1].id)
                    done = pyabc.History(url, _id=abc_id).max_t + 1
            except Exception:  # noqa: BLE001 - a damaged or foreign file: start again
                abc_id, done = None, 0
            if done == 0:  # nothing finished yet
                history.unlink()
        # a new run accepts the whole prior sample in generation 1 (no separate pyabc
        # calibration sample); a resumed run takes its epsilon from the last generation
        # stored, as an uninterrupted run would
        eps = QuantileEpsilon(initial_epsilon=np.inf if done == 0 else "from_sample",
                              alpha=spec.epsilon_quantile)
        abc = pyabc.ABCSMC(
            Model(spec), prior, Distance(observed), population_size=spec.population_size,
            sampler=sampler, eps=eps)
        abc_ref["abc"] = abc
        if done > 0:
            abc.load(url, abc_id)
            _say(f"resuming from {history}: {done} generation(s) already done", log)
        else:
            abc.new(url, x0)
        eps_done = _last_epsilon(abc.history)
        remaining = spec.generations - done
        finished = remaining <= 0 or (done > 1 and eps_done <= spec.minimum_epsilon)
        if not finished:
            from datetime import timedelta

            walltime = (None if spec.max_walltime_minutes is None
                        else timedelta(minutes=spec.max_walltime_minutes))
            abc.run(minimum_epsilon=spec.minimum_epsilon, max_nr_populations=remaining,
                    max_walltime=walltime)
    h = abc.history
    pops = h.get_all_populations()
    pops = pops[pops["t"] >= 0]
    df, w = h.get_distribution(m=0, t=h.max_t)
    cols = [f"p{i}" for i in range(len(spec.priors))]
    values = np.column_stack([[p.from_internal(x) for x in df[c]]
                              for c, p in zip(cols, spec.priors, strict=True)])
    info = {
        "generations": int(h.max_t + 1),
        "epsilons": [float(e) for e in pops["epsilon"]],
        "evaluations_per_generation": [int(s) for s in pops["samples"]],
        "acceptance_rates": [float(p / s) for p, s in
                             zip(pops["particles"], pops["samples"], strict=True)],
        "evaluations": int(pops["samples"].sum()),
        "effective_sample_size": float(np.sum(w) ** 2 / np.sum(np.square(w))),
        "population_size": spec.population_size,
        "wall_time_s": float(pops["wall_time"].sum()) if "wall_time" in pops else None,
        "wall_time_this_session_s": round(time.perf_counter() - t_start, 1),
        "pyabc_version": pyabc.__version__,
        "history": str(history), "history_id": int(h.id),
        "executor": getattr(executor, "describe", lambda: str(executor))(),
        "agents": spec.scenario.agents, "years": spec.scenario.years,
        "seed": spec.scenario.seed, "replicates": spec.replicates,
        "parameters": [p.label for p in spec.priors], "targets": spec.families,
        "distance": "weighted RMS of (simulated - observed) / tolerance",
    }
    return {"values": values, "weights": np.asarray(w, dtype=float), "info": info}


def _last_epsilon(h: Any) -> float:
    try:
        pops = h.get_all_populations()
        pops = pops[pops["t"] >= 0]
        return float(pops["epsilon"].iloc[-1]) if len(pops) else float("inf")
    except Exception:  # noqa: BLE001 - a new history
        return float("inf")


def posterior_frame(spec: CalibrationSpec, values: np.ndarray) -> pd.DataFrame:
    """One row per draw, one column per calibrated dotted parameter name (a list parameter
    holds the whole list, the uncalibrated elements at their default)."""
    rows = [overrides_of(spec.priors, v, spec.scenario.parameters) for v in values]
    return pd.DataFrame(rows)


def calibrate(spec: CalibrationSpec, store: Any, executor: Any, db_url: str | None = None,
              log: bool = True, bar: bool = False, fresh: bool = False
              ) -> dict[str, Any]:
    """Run (or resume) ``spec`` and store its weighted posterior sample; returns
    ``{"id", "info", "posterior"}``."""
    import pyabc

    cid = store.start_calibration(spec.name, spec.canonical, spec.hash,
                                  f"ABC-SMC (pyabc {pyabc.__version__})")
    path = history_path(spec, db_url)
    res = run_abc(spec, executor, path, log=log, bar=bar, fresh=fresh)
    frame = posterior_frame(spec, res["values"])
    store.save_posterior(cid, frame, res["weights"], res["info"])
    return {"id": cid, "info": res["info"], "posterior": store.posterior(cid)}


def calibrated_values(spec: CalibrationSpec, posterior: pd.DataFrame) -> pd.DataFrame:
    """The calibrated values of a stored posterior (:meth:`Store.posterior`), one column per
    prior label (``name`` or ``name[i]``)."""
    out = {}
    for p in spec.priors:
        col = posterior[p.name]
        out[p.label] = [float(v if p.index is None else v[p.index]) for v in col]
    return pd.DataFrame(out)


def posterior_overrides(posterior: pd.DataFrame) -> list[dict[str, Any]]:
    """Each draw of a stored posterior as scenario parameter overrides (dotted names)."""
    names = [c for c in posterior.columns if c not in ("draw", "weight")]
    return [{n: row[n] for n in names} for row in posterior.to_dict(orient="records")]


# ------------------------------------------------------------------------- diagnostics

#: Okabe-Ito colours
_OBSERVED, _SIMULATED, _PRIOR = "#000000", "#E69F00", "#0072B2"


def _simulate_draws(spec: CalibrationSpec, values: pd.DataFrame, weights: np.ndarray,
                    draws: int, executor: Any = None) -> pd.DataFrame:
    """Summary statistics of ``draws`` posterior draws (resampled by weight with the
    calibration's seed): one row per draw, one column per target key."""
    from .executor import Executor

    rng = np.random.default_rng(spec.scenario.seed)
    # distinct particles drawn by weight (the same particle twice would simulate the same
    # run twice: its seed derives from its values)
    n = min(draws, int(np.count_nonzero(weights > 0)))
    idx = rng.choice(len(values), size=n, replace=False, p=weights / weights.sum())
    tasks = [(spec.scenario, spec.priors, [float(x) for x in values.iloc[i]],
              spec.replicates, tuple(FAMILIES)) for i in idx]
    results: list[Any] = [None] * len(tasks)
    for i, stats in (executor or Executor()).map(evaluate, tasks):
        results[i] = stats
    return pd.DataFrame(results)


def fit_table(spec: CalibrationSpec, sims: pd.DataFrame) -> pd.DataFrame:
    """Every target row against the simulated draws: median and 2.5/97.5 percentiles."""
    t = spec.targets.copy()
    t["key"] = [stat_key(f, s, g) for f, s, g in
                zip(t["family"], t["sex"], t["group"], strict=True)]
    tol = spec.observed().set_index("key")["tolerance"]
    t["tolerance"] = [float(tol.get(k, v)) for k, v in zip(t["key"], t["tolerance"],
                                                            strict=True)]
    cols = {"median": 50, "p2_5": 2.5, "p97_5": 97.5}
    for name, q in cols.items():
        t[name] = [float(np.nanpercentile(sims[k], q)) if k in sims and
                   sims[k].notna().any() else np.nan for k in t["key"]]
    t["difference"] = t["median"] - t["observed"]
    t["within_tolerance"] = (t["difference"].abs() <= t["tolerance"]).where(
        t["median"].notna())
    t["calibrated"] = t["family"].isin(spec.families)
    return t[["family", "sex", "group", "observed", "median", "p2_5", "p97_5", "difference",
              "tolerance", "unit", "within_tolerance", "calibrated", "source"]]


def format_fit(fit: pd.DataFrame) -> str:
    """The fit table as text: each row of the calibrated families and of the small ones, a
    count for the vingtile families."""
    lines = [f"{'target':<41}{'sex':<4}{'group':<24}{'observed':>9}{'model':>9}"
             f"{'[2.5%':>9}{'97.5%]':>9}{'tol':>7}  ok"]
    for fam, rows in fit.groupby("family", sort=False):
        mark = "*" if rows["calibrated"].iloc[0] else " "
        if len(rows) > 12 and not rows["calibrated"].iloc[0]:
            ok = rows["within_tolerance"].dropna()
            lines.append(f"{mark}{fam[:39]:<40}{'':<28}{int(ok.sum())} of {len(rows)} within "
                         f"tolerance (see the figure)")
            continue
        for _, r in rows.iterrows():
            ok = r["within_tolerance"]
            ok = "" if ok is None or ok != ok else ("yes" if ok else "NO")
            lines.append(f"{mark}{fam[:39]:<40}{r['sex']:<4}{str(r['group'])[:23]:<24}"
                         f"{r['observed']:>9.2f}{r['median']:>9.2f}{r['p2_5']:>9.2f}"
                         f"{r['p97_5']:>9.2f}{r['tolerance']:>7.2f}  {ok}")
    cal = fit[fit["calibrated"]]["within_tolerance"].dropna()
    lines += ["", f"* calibrated families: {int(cal.sum())} of {len(cal)} targets within "
              "tolerance (model median over the posterior draws)"]
    return "\n".join(lines)


def _band(ax, x, rows: pd.DataFrame, label: str) -> None:
    ax.fill_between(x, rows["p2_5"], rows["p97_5"], color=_SIMULATED, alpha=0.3, lw=0,
                    label=f"{label}, 2.5-97.5%")
    ax.plot(x, rows["median"], color=_SIMULATED, lw=2, label=f"{label}, median")


def _figures(spec: CalibrationSpec, fit: pd.DataFrame, values: pd.DataFrame,
             weights: np.ndarray, out: Path, n_draws: int) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False})
    sim_label = f"model ({n_draws} posterior draws)"
    paths: dict[str, Path] = {}

    def save(fig, name: str) -> None:
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths[name] = path

    # life expectancy by income vingtile and sex
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    for col, (sex, sname) in enumerate((("M", "Men"), ("F", "Women"))):
        for row, age in enumerate((0, 65)):
            ax = axes[row, col]
            r = fit[(fit["family"] == f"e{age}_income_vingtile") & (fit["sex"] == sex)]
            x = r["group"].astype(int).to_numpy()
            _band(ax, x, r, sim_label)
            ax.plot(x, r["observed"], "o-", color=_OBSERVED, ms=4, lw=1,
                    label="INSEE 2012-2016")
            finite = np.concatenate([r["observed"], r[["p2_5", "p97_5"]].to_numpy().ravel()])
            finite = finite[np.isfinite(finite)]
            lo, hi = r["observed"].min(), r["observed"].max()
            if finite.size:
                lo, hi = max(finite.min(), lo - 10), min(finite.max(), hi + 10)
            ax.set_ylim(lo - 1, hi + 1)
            ax.set_title(f"{sname}: life expectancy at {'birth' if age == 0 else age}")
            ax.set_ylabel("years")
            ax.set_xticks([1, 5, 10, 15, 20])
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel("income vingtile (1 = poorest 5%)")
    axes[0, 0].legend(loc="lower right", fontsize=9)
    fig.suptitle("Life expectancy by income vingtile: observed and calibrated model")
    save(fig, "life_expectancy_vingtile")

    # disease prevalence by decile
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (fam, title) in zip(axes, (("diabetes_prevalence_income_decile", "Diabetes"),
                                       ("cardiovascular_prevalence_income_decile",
                                        "Cardio-neurovascular disease")), strict=True):
        r = fit[fit["family"] == fam]
        x = r["group"].astype(int).to_numpy()
        _band(ax, x, r, sim_label)
        ax.plot(x, r["observed"], "o-", color=_OBSERVED, ms=4, lw=1, label="DREES 2016-2017")
        ax.set_title(f"{title}{' (calibrated)' if r['calibrated'].iloc[0] else ''}")
        ax.set_xlabel("income decile (1 = poorest 10%)")
        ax.set_ylabel("standardised prevalence (%)")
        ax.set_xticks(range(1, 11))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=9)
    save(fig, "prevalence_decile")

    def bars(rows: pd.DataFrame, labels: list[str], title: str, ylabel: str, name: str,
             source: str) -> None:
        fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(rows) + 2), 4.2))
        x = np.arange(len(rows))
        ax.bar(x - 0.2, rows["observed"], 0.4, color=_OBSERVED, label=source)
        err = np.vstack([rows["median"] - rows["p2_5"], rows["p97_5"] - rows["median"]])
        ax.bar(x + 0.2, rows["median"], 0.4, color=_SIMULATED, yerr=np.clip(err, 0, None),
               capsize=4, label=f"{sim_label}: median, 2.5-97.5%")
        for xi, o, m in zip(x, rows["observed"], rows["median"], strict=True):
            ax.text(xi - 0.2, 0.5, f"{o:.1f}", ha="center", va="bottom", fontsize=9,
                    color="white")
            ax.text(xi + 0.2, 0.5, f"{m:.1f}", ha="center", va="bottom", fontsize=9)
        ax.set_xticks(x, labels)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.set_ylim(0, max(rows["observed"].max(), rows["p97_5"].max()) * 1.25)
        ax.legend(fontsize=8, loc="upper right")
        save(fig, name)

    sm = pd.concat([fit[fit["family"] == "smoking_diploma"], fit[fit["family"] == "smoking_sex"]])
    bars(sm, ["no diploma\nor below bac", "above bac", "men", "women"],
         "Daily smoking at 18-75", "%", "smoking_diploma", "Barometre sante 2022")
    bars(fit[fit["family"] == "non_take_up_free_css"], ["eligible for the free CSS"],
         "Non-take-up of the free CSS", "% of the eligible", "non_take_up", "DREES 2022")

    # posterior marginals with the prior
    k = values.shape[1]
    ncol = min(4, k)
    nrow = math.ceil(k / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False)
    w = weights / weights.sum()
    for j, p in enumerate(spec.priors):
        ax = axes[j // ncol, j % ncol]
        v = values[p.label].to_numpy()
        ax.hist(v, bins=12, range=(p.lower, p.upper), weights=w, density=True,
                color=_SIMULATED, alpha=0.7, label="posterior")
        grid = np.linspace(p.lower, p.upper, 200)
        ax.plot(grid, p.density(grid), color=_PRIOR, lw=1.5, label="prior")
        ax.set_title(p.label, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_yticks([])
    for j in range(k, nrow * ncol):
        axes[j // ncol, j % ncol].axis("off")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Posterior (weighted histogram) against the prior")
    fig.tight_layout()
    save(fig, "posterior_marginals")

    # pairwise
    size = max(6.0, 1.5 * k)
    fig, axes = plt.subplots(k, k, figsize=(size, size), squeeze=False)
    short = [p.label.split(".", 1)[-1] for p in spec.priors]
    for a in range(k):
        for b in range(k):
            ax = axes[a, b]
            ax.tick_params(labelsize=6)
            if a < b:
                ax.axis("off")
                continue
            pa, pb = spec.priors[a], spec.priors[b]
            if a == b:
                ax.hist(values[pa.label], bins=12, range=(pa.lower, pa.upper), weights=w,
                        color=_SIMULATED, alpha=0.7)
                ax.set_yticks([])
            else:
                ax.scatter(values[pb.label], values[pa.label], s=8 + 400 * w, alpha=0.6,
                           color=_SIMULATED, edgecolors="none")
                ax.set_xlim(pb.lower, pb.upper)
                ax.set_ylim(pa.lower, pa.upper)
            if b == 0:
                ax.set_ylabel(short[a], fontsize=7)
            if a == k - 1:
                ax.set_xlabel(short[b], fontsize=7)
    fig.suptitle("Posterior: pairs of parameters (point size = weight)")
    fig.tight_layout()
    save(fig, "posterior_pairs")
    return paths


def diagnostics(store: Any, ref: int | str | None, out_dir: str | Path,
                draws: int | None = None, executor: Any = None) -> dict[str, Any]:
    """Diagnostics of a stored calibration: simulate ``draws`` distinct posterior particles
    (default 8, drawn by weight without replacement; the fit is then kept in the
    calibration's info, and later calls with the same ``draws`` redraw the figures from the
    database without simulating)
    and write to ``out_dir`` the figures (observed against simulated, with intervals;
    posterior marginals and pairs) and the fit table ``fit.csv``. Returns ``{"figures":
    {name: path}, "fit": DataFrame, "fit_csv": path, "calibration_id": id}``."""
    cal = store.calibration(ref)
    spec = CalibrationSpec.from_canonical(cal["config"])
    post = store.posterior(cal["id"])
    values = calibrated_values(spec, post)
    weights = post["weight"].to_numpy(dtype=float)
    stored = cal["info"].get("diagnostics")
    if stored and (draws is None or int(draws) == stored["requested"]):
        # simulated before: the fit is in the database (a report reads, never runs)
        fit = pd.DataFrame(stored["fit"])
        fit["within_tolerance"] = fit["within_tolerance"].astype(object)
        n = int(stored["draws"])
    else:
        requested = 8 if draws is None else int(draws)
        sims = _simulate_draws(spec, values, weights, requested, executor)
        n = len(sims)
        fit = fit_table(spec, sims)
        info = {**cal["info"], "diagnostics": {
            "requested": requested, "draws": n,
            "fit": json.loads(fit.to_json(orient="records"))}}
        store.save_posterior(cal["id"], post.drop(columns=["draw", "weight"]),
                             post["weight"].to_numpy(), info)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fit_csv = out / "fit.csv"
    fit.to_csv(fit_csv, index=False)
    figures = _figures(spec, fit, values, weights, out, n)
    return {"figures": figures, "fit": fit, "fit_csv": fit_csv, "calibration_id": cal["id"]}
