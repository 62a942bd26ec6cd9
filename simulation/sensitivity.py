"""Global sensitivity analysis: which parameters move the life-expectancy gap, and the
effect of an intervention on it (``python run.py sensitivity FILE``).

Morris elementary-effects screening by default, Sobol indices with ``method = "sobol"``,
both from SALib (standard, tested implementations with bootstrap confidence intervals).
Two outcomes are analysed for each sampled parameter set:

- ``gap``: the baseline's gap in life expectancy (at ``outcome.age``, 0 by default)
  between the richest and the poorest income quintile (``Q5-Q1``) or vingtile
  (``V20-V1``), for men, women or both sexes pooled in one life table;
- ``effect``: the intervention's change of that gap (intervention minus baseline), both run
  with the same parameter set and the same seed and replicate (common random numbers), so
  the change is the intervention's effect, not noise. Without an intervention scenario
  only ``gap`` is analysed.

A sensitivity file (TOML)::

    [sensitivity]
    name = "default"                       # names the output files
    description = "What drives the gap and the effect of proportionate cessation support"
    comparison = "default.toml"            # baseline and intervention from this comparison,
    scenario = "Universalisme proportionné"  # ... this scenario of it (default: its first)
    # baseline = "baseline.toml"           # or a baseline scenario file alone (gap only)

    [method]
    name = "morris"        # or "sobol"
    trajectories = 10      # Morris: r trajectories, (k + 1) r parameter sets for k parameters
    levels = 4             # Morris: levels of the grid
    samples = 64           # Sobol: N, a power of 2; N (k + 2) parameter sets
    seed = 1               # sampling and bootstrap seed

    [run]                  # as in comparison files; override the baseline's
    agents = 20000
    years = 20
    seed = 1
    replicates = 1         # paired runs per parameter set, averaged (default 1, whatever
                           # the comparison's replicates)

    [outcome]
    gap = "Q5-Q1"          # or "V20-V1"
    sex = "pooled"         # "M", "F", "pooled", or a list of them
    age = 0

    [parameters]           # dotted names of simulation/data/parameters.toml
    "mortality.rr_income_residual" = { scale = [0.7, 1.3] }  # times the baseline's value
    "vulnerability.differential" = { range = [0.0, 0.6] }    # absolute bounds
    "smoking.p_initiation[0]" = { range = [0.03, 0.05] }     # one element of a list

``scale`` multiplies the baseline's value (every element of a list parameter); ``range``
gives absolute bounds (a list parameter needs ``name[i]``). Whole-number parameters are
rounded. Both ends of every range are checked against the model's parameter rules before
anything runs. A parameter that the intervention scenario itself changes keeps the
scenario's value.

Every run goes through the results store and the executor (:func:`runner.run_many`): an
interrupted analysis resumes with the runs already stored. Outputs (:func:`write_outputs`):
``sensitivity_<name>.csv`` (one row per outcome and parameter: mu*, its confidence half-
width, sigma and mu for Morris; S1, ST and their confidence half-widths for Sobol),
``sensitivity_<name>_samples.csv`` (each parameter set and its outcomes),
``sensitivity_<name>.json`` and the figure ``sensitivity_<name>.png`` and ``.svg``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from .comparison import RunTable
from .config import ConfigError, Scenario, has_table, read_toml, split_parameter_name
from .configmodels import RAW, Number, Table, Text, check, field, invalid, one_of, validate

METHODS = ("morris", "sobol")
GAPS = {"Q5-Q1": ("income_quintile", "1", "5"), "V20-V1": ("income_vingtile", "1", "20")}
SEXES = ("M", "F", "pooled")
SEX_WORDS = {"M": "men", "F": "women", "pooled": "both sexes"}


@dataclass(frozen=True)
class ParameterRange:
    """One parameter of the analysis: ``name`` (dotted, or ``name[i]``) sampled uniformly
    between ``low`` and ``high``, as an absolute value or as a multiple of the baseline's
    value (``kind`` "range" or "scale")."""

    name: str
    kind: str
    low: float
    high: float

    def value(self, baseline: Scenario, x: float) -> Any:
        """The parameter's value at sample point ``x`` (within [low, high])."""
        if self.kind == "effect":  # an intervention's effect size (intervention.TYPE.effect)
            return float(x)
        base, index = split_parameter_name(self.name, baseline.parameters)
        current = baseline.parameters[base] if index is None else baseline.parameters[base][index]
        if self.kind == "range":
            return _like(current, x)
        if isinstance(current, list):
            return [_like(c, c * x) for c in current]
        return _like(current, current * x)


def _like(default: Any, x: float) -> Any:
    return int(round(x)) if isinstance(default, int) and not isinstance(default, bool) else (
        float(x))


@dataclass(frozen=True)
class SensitivitySpec:
    name: str
    description: str
    baseline: Scenario
    intervention: Scenario | None
    parameters: tuple[ParameterRange, ...]
    method: str
    trajectories: int
    levels: int
    samples: int
    sample_seed: int
    gap: str
    sexes: tuple[str, ...]
    age: int
    source: str

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's problem definition."""
        return {"num_vars": len(self.parameters),
                "names": [p.name for p in self.parameters],
                "bounds": [[p.low, p.high] for p in self.parameters]}

    @property
    def outcomes(self) -> list[str]:
        """Outcome keys: ``gap_<sex>`` and, with an intervention, ``effect_<sex>``."""
        kinds = ("gap", "effect") if self.intervention is not None else ("gap",)
        return [f"{k}_{s}" for k in kinds for s in self.sexes]

    def outcome_label(self, key: str) -> str:
        kind, sex = key.split("_", 1)
        gap = f"gap in e{self.age} {self.gap} ({SEX_WORDS[sex]})"
        if kind == "gap":
            return f"Baseline {gap}, years"
        return f"Effect of \u201c{self.intervention.name}\u201d on the {gap}, years"

    def with_options(self, **options: Any) -> SensitivitySpec:
        """A copy with run options (agents, years, seed, replicates) or method options
        (method, trajectories, samples) from the command line (None: keep)."""
        opts = {k: v for k, v in options.items() if v is not None}
        run = {k: opts.pop(k) for k in ("agents", "years", "seed", "replicates") if k in opts}
        data = dict(self.__dict__)
        if run:
            data["baseline"] = self.baseline.with_options(**run)
            if self.intervention is not None:
                data["intervention"] = self.intervention.with_options(**run)
        if "method" in opts and opts["method"] not in METHODS:
            raise ConfigError("command line", "--method", " or ".join(METHODS), opts["method"])
        data.update(opts)
        if data["trajectories"] < 2:
            raise ConfigError("command line", "--trajectories", "at least 2 (Morris)",
                              data["trajectories"])
        if data["method"] == "sobol":
            _check_sobol_samples(data["samples"], "command line", "--samples")
        return SensitivitySpec(**data)

    def sample(self) -> np.ndarray:
        """The parameter sets (one row each, columns in :attr:`parameters` order)."""
        if self.method == "morris":
            from SALib.sample import morris

            return morris.sample(self.problem, N=self.trajectories, num_levels=self.levels,
                                 seed=self.sample_seed)
        from SALib.sample import sobol

        return sobol.sample(self.problem, self.samples, calc_second_order=False,
                            seed=self.sample_seed)

    def scenarios(self, row: np.ndarray) -> tuple[Scenario, Scenario | None]:
        """The baseline and the intervention with parameter set ``row`` applied."""
        from .comparison import with_effects

        values = {p.name: p.value(self.baseline, float(x))
                  for p, x in zip(self.parameters, row, strict=True) if p.kind != "effect"}
        effects = {p.name.split(".")[1]: float(x)
                   for p, x in zip(self.parameters, row, strict=True) if p.kind == "effect"}
        where = f"{self.source} (parameter set)"
        base = self.baseline.with_parameters(values, where) if values else self.baseline
        if self.intervention is None:
            return base, None
        own = {k for k, v in self.intervention.parameters.items()
               if self.baseline.parameters.get(k) != v}
        keep = {k: v for k, v in values.items() if k.partition("[")[0] not in own}
        arm = self.intervention.with_parameters(keep, where) if keep else self.intervention
        return base, with_effects(arm, effects) if effects else arm


def effect_ranges(intervention: Scenario) -> tuple[ParameterRange, ...]:
    """A factor ``intervention.TYPE.effect`` for each intervention of ``intervention`` whose
    effect size is the registry's, ranging over its 95% range
    (simulation/data/interventions.toml): the analysis then weighs the uncertainty of the
    intervention's effect against that of the model's parameters."""
    from .interventions import TYPE_INDEX, TYPES

    out = []
    for iv in intervention.interventions:
        kind = TYPES[TYPE_INDEX[iv.type]]
        if iv.effect_source == kind.effect_source and kind.effect_high > kind.effect_low:
            out.append(ParameterRange(f"intervention.{iv.type}.effect", "effect",
                                      kind.effect_low, kind.effect_high))
    return tuple(out)


def _power_of_2(n: int) -> bool:
    return n >= 2 and not n & (n - 1)


def _check_sobol_samples(n: Any, where: str, key: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not _power_of_2(n):
        raise ConfigError(where, key, "a power of 2, at least 2 (Sobol sequences)", n)


# ------------------------------------------------------------------------------ parsing


def _sexes(value: str | list[str]) -> bool:
    sexes = [value] if isinstance(value, str) else value
    return bool(sexes) and all(s in SEXES for s in sexes) and len(set(sexes)) == len(sexes)


FileName = Annotated[str, check(str.strip), field("a file name (relative to this file)")]
_EVEN = check(lambda n: n % 2 == 0, "an even number of levels (Morris)")
_AGES = check(lambda age: age in (0, 35, 60, 65), "one of 0, 35, 60, 65")
Bounds = Annotated[list[int | Number], Field(min_length=2, max_length=2),
                   check(lambda b: b[0] < b[1]), field("[low, high] with low < high")]


class _Head(Table):
    """``[sensitivity]``: the name, and the comparison's scenario or the baseline file."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = field(
        "a name of letters, digits, _ and - (it names the output files)")
    description: Text = ""
    comparison: FileName | None = None
    scenario: Any = None  # the name of a scenario of the comparison, checked with it
    baseline: FileName | None = None
    effects: bool = field("true or false", True)

    @model_validator(mode="after")
    def _comparison_or_baseline(self) -> _Head:
        if (self.comparison is None) == (self.baseline is None):
            raise invalid("either comparison (a comparison file) or baseline (a scenario file)")
        if "scenario" in self.model_fields_set and self.comparison is None:
            raise invalid("nothing here without comparison", "scenario")
        return self


class _Method(Table):
    """``[method]``: Morris or Sobol, and their sample sizes."""

    name: Annotated[str, one_of(METHODS)] = field(" or ".join(METHODS), "morris")
    trajectories: int = field("an integer from 2 to 10,000", 10, ge=2, le=10_000)
    levels: Annotated[int, Field(ge=2, le=100), _EVEN] = field("an integer from 2 to 100", 4)
    samples: Annotated[int, check(_power_of_2)] = field(
        "a power of 2, at least 2 (Sobol sequences)", 64)
    seed: int = field("an integer from 0 to 4,294,967,295", 1, ge=0, le=2**32 - 1)


class _Outcome(Table):
    """``[outcome]``: which gap, for whom, at what age."""

    gap: Annotated[str, one_of(GAPS)] = field(" or ".join(GAPS), "Q5-Q1")
    sex: Annotated[str | list[str], check(_sexes)] = field("M, F or pooled, or a list of them",
                                                           "pooled")
    age: Annotated[int, Field(ge=0, le=65), _AGES] = field("an integer from 0 to 65", 0)


class _Range(Table):
    """One parameter of ``[parameters]``: ``{ range = [low, high] }`` (absolute bounds) or
    ``{ scale = [low, high] }`` (factors of the baseline's value)."""

    table_expected = "a table with one key, range = [low, high] or scale = [low, high]"
    table_got = True
    range: Bounds | None = None
    scale: Bounds | None = None

    @model_validator(mode="after")
    def _one_key(self) -> _Range:
        if (self.range is None) == (self.scale is None):
            raise invalid(self.table_expected, got=RAW)
        if self.scale is not None and self.scale[0] < 0:
            raise invalid("non-negative factors", "scale", got=RAW)
        return self


class SensitivityFile(Table):
    """A sensitivity file; the parameters are then checked against the baseline's."""

    unknown = "one of the tables {keys}"
    sensitivity: _Head = field("a table", got=False)
    method: _Method = Field(default_factory=_Method)
    run: RunTable = Field(default_factory=RunTable)
    outcome: _Outcome = Field(default_factory=_Outcome)
    parameters: dict[str, _Range] = field(
        "a table of at least one parameter with its range or scale", got=False, min_length=1)

    @field_validator("parameters", mode="before")
    @classmethod
    def _quoted_names(cls, table: Any) -> Any:
        for key, spec in table.items() if isinstance(table, dict) else ():
            if isinstance(spec, dict) and "value" not in spec and all(
                    isinstance(v, dict) for v in spec.values()):  # a dotted key not quoted
                raise invalid('a quoted dotted name, e.g. "a.b" = { range = [lo, hi] }', key)
        return table


def is_sensitivity_file(path: str | Path) -> bool:
    """True if the file holds a [sensitivity] table (for ``validate``)."""
    return has_table(path, "sensitivity")


def load_sensitivity(path: str | Path) -> SensitivitySpec:
    """Read and validate a sensitivity file; raises :class:`ConfigError` on any problem."""
    from .comparison import load_comparison
    from .config import load_scenario

    p = Path(path)
    where = str(path)
    f = validate(SensitivityFile, read_toml(p, "sensitivity"), where)
    head, method, outcome = f.sensitivity, f.method, f.outcome
    ref_key = "comparison" if head.comparison is not None else "baseline"
    ref = head.comparison if head.comparison is not None else head.baseline
    ref_path = (p.parent / ref).resolve()
    if not ref_path.exists():
        raise ConfigError(where, f"sensitivity.{ref_key}",
                          f"an existing file (looked for {ref_path})", ref)
    intervention = None
    if head.comparison is not None:
        comp = load_comparison(ref_path)
        baseline = comp.baseline
        wanted = head.scenario if "scenario" in head.model_fields_set else \
            comp.scenarios[0].name
        found = [s for s in comp.scenarios if s.name == wanted]
        if not found:
            raise ConfigError(where, "sensitivity.scenario", "the name of a scenario of "
                              f"{ref} ({', '.join(repr(s.name) for s in comp.scenarios)})",
                              wanted)
        intervention = found[0]
    else:
        baseline = load_scenario(ref_path)
    # one paired run per parameter set by default; [run] is valid (checked as the file's)
    run_opts = {"replicates": 1, **f.run.model_dump(exclude_none=True)}
    baseline = baseline.with_options(**run_opts)
    if intervention is not None:
        intervention = intervention.with_options(**run_opts)
    params = _parse_parameters(f.parameters, baseline, where)
    if intervention is not None and head.effects:
        params += effect_ranges(intervention)
    sexes = [outcome.sex] if isinstance(outcome.sex, str) else outcome.sex
    return SensitivitySpec(name=head.name, description=head.description, baseline=baseline,
                           intervention=intervention, parameters=params, method=method.name,
                           trajectories=method.trajectories, levels=method.levels,
                           samples=method.samples, sample_seed=method.seed, gap=outcome.gap,
                           sexes=tuple(sexes), age=outcome.age, source=where)


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _parse_parameters(table: dict[str, _Range], baseline: Scenario, where: str
                      ) -> tuple[ParameterRange, ...]:
    """The ranges of ``table`` (validated by :class:`_Range`), checked against the
    baseline's parameters: known, numeric, one range each, both ends valid values."""
    out: list[ParameterRange] = []
    for key, spec in table.items():
        path = f"parameters.{key}"
        try:
            base, index = split_parameter_name(key, baseline.parameters, where)
        except ConfigError:
            raise ConfigError(where, path, "a known parameter name (see "
                              "simulation/data/parameters.toml), or name[i]") from None
        kind, bounds = ("range", spec.range) if spec.range is not None else ("scale", spec.scale)
        current = baseline.parameters[base] if index is None else baseline.parameters[base][index]
        if not (_numeric(current) or (isinstance(current, list) and current
                                      and all(_numeric(c) for c in current))):
            raise ConfigError(where, path, "a numeric parameter")
        if kind == "range" and isinstance(current, list):
            raise ConfigError(where, f"{path}.range", f"scale for a list parameter, or "
                              f"{base}[i] with range for one element")
        pr = ParameterRange(key, kind, float(bounds[0]), float(bounds[1]))
        for q in out:  # "x" and "x[0]" would both set element 0
            if q.name.partition("[")[0] == base and (index is None or "[" not in q.name):
                raise ConfigError(where, path, f"one range per parameter (also {q.name!r})")
        for end in (pr.low, pr.high):  # both ends must be valid parameter values
            try:
                baseline.with_parameters({key: pr.value(baseline, end)}, where)
            except ConfigError as e:
                raise ConfigError(where, f"{path}.{kind}", f"bounds giving valid values "
                                  f"({e.expected})", bounds) from None
        out.append(pr)
    return tuple(out)


# ------------------------------------------------------------------------------ outcomes


def gap_of_run(result: Any, gap: str, sex: str, age: int = 0) -> float:
    """The gap (high minus low income group) in life expectancy at ``age`` of one run, for
    ``sex`` "M" or "F" (the run's stored life expectancy) or "pooled" (men and women in
    one period life table over the run's window); NaN where undefined."""
    from . import metrics

    by, low, high = GAPS[gap]
    if sex == "pooled":
        lti = result.life_table_input
        first, last = result.window
        agg = lti[(lti["by"] == "income_vingtile") & (lti["year"] >= first)
                  & (lti["year"] <= last)]
        agg = agg[["sex", "by", "group", "age", "deaths", "person_years"]].assign(sex="P")
        le = metrics.life_expectancy_by_stratum(agg, ages=(age,))
        sex_key = "P"
    else:
        le, sex_key = result.life_expectancy, sex
    sub = le[(le["by"] == by) & (le["sex"] == sex_key) & (le["age"] == age)]
    values = dict(zip(sub["group"].astype(str), sub["e"].astype(float), strict=True))
    if low not in values or high not in values:
        return math.nan
    return float(values[high] - values[low])


# ------------------------------------------------------------------------------ running


@dataclass
class SensitivityResult:
    spec: SensitivitySpec
    samples: pd.DataFrame  # one row per parameter set: parameter columns, then outcomes
    table: pd.DataFrame  # one row per outcome and parameter
    runs: int
    reused: int


def analyse(spec: SensitivitySpec, X: np.ndarray, Y: dict[str, np.ndarray]) -> pd.DataFrame:
    """Morris or Sobol indices of each outcome ``Y[key]`` (one value per row of ``X``),
    one row per outcome and parameter, ranked by mu* (Morris) or ST (Sobol)."""
    rows = []
    names = [p.name for p in spec.parameters]
    for key, y in Y.items():
        y = np.asarray(y, dtype=float)
        if spec.method == "morris":
            from SALib.analyze import morris

            si = morris.analyze(spec.problem, X, y, num_levels=spec.levels,
                                num_resamples=1000, conf_level=0.95, seed=spec.sample_seed)
            stats = {"mu_star": si["mu_star"], "mu_star_conf": si["mu_star_conf"],
                     "sigma": si["sigma"], "mu": si["mu"]}
            order = "mu_star"
        else:
            from SALib.analyze import sobol

            si = sobol.analyze(spec.problem, y, calc_second_order=False, num_resamples=1000,
                               conf_level=0.95, seed=spec.sample_seed)
            stats = {"S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"],
                     "ST_conf": si["ST_conf"]}
            order = "ST"
        frame = pd.DataFrame({"outcome": key, "parameter": names,
                              **{k: np.asarray(v, dtype=float) for k, v in stats.items()}})
        frame = frame.sort_values(order, ascending=False, kind="stable")
        frame.insert(2, "rank", np.arange(1, len(frame) + 1))
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def run_sensitivity(spec: SensitivitySpec, store: Any, executor: Any = None,
                    progress: Callable[[Scenario, int, bool], None] | None = None
                    ) -> SensitivityResult:
    """Sample the parameter sets, run the baseline (and the intervention) for each through
    ``store`` and ``executor`` (finished runs are reused), compute the outcomes and the
    indices. Raises :class:`ConfigError` when an outcome is undefined (too few deaths for
    the life tables: use more agents or years)."""
    from .runner import run_many

    X = spec.sample()
    reps = spec.baseline.replicates
    arms = [spec.scenarios(row) for row in X]
    pairs = []
    for base, inter in arms:
        for r in range(reps):
            pairs.append((base, r))
            if inter is not None:
                pairs.append((inter, r))
    stored = run_many(store, pairs, executor, progress)
    gaps = {s: np.full((len(X), reps), np.nan) for s in spec.sexes}
    effects = {s: np.full((len(X), reps), np.nan) for s in spec.sexes}
    for i, (base, inter) in enumerate(arms):
        for r in range(reps):
            b = store.load_run_result(stored[(base.hash, base.seed, r)].run_id, base)
            it = (None if inter is None else
                  store.load_run_result(stored[(inter.hash, inter.seed, r)].run_id, inter))
            for s in spec.sexes:
                gb = gap_of_run(b, spec.gap, s, spec.age)
                gaps[s][i, r] = gb
                if it is not None:
                    effects[s][i, r] = gap_of_run(it, spec.gap, s, spec.age) - gb
    Y: dict[str, np.ndarray] = {}
    for key in spec.outcomes:
        kind, sex = key.split("_", 1)
        Y[key] = (gaps if kind == "gap" else effects)[sex].mean(axis=1)
        bad = int(np.isnan(Y[key]).sum())
        if bad:
            raise ConfigError(spec.source, "run.agents", "enough people for the life tables "
                              f"of the {spec.gap} gap ({bad} of {len(X)} parameter sets leave "
                              f"it undefined for {SEX_WORDS[sex]}; use more agents or years)",
                              spec.baseline.agents)
    samples = pd.DataFrame(X, columns=[p.name for p in spec.parameters])
    samples.insert(0, "set", np.arange(len(X)))
    for key, y in Y.items():
        samples[key] = y
    table = analyse(spec, X, Y)
    reused = sum(1 for v in stored.values() if v.reused)
    return SensitivityResult(spec, samples, table, runs=len(stored), reused=reused)


# ------------------------------------------------------------------------------ outputs


def summary(result: SensitivityResult) -> dict[str, Any]:
    """A JSON-ready summary (``--json``)."""
    spec = result.spec
    table = result.table.astype(object).where(result.table.notna(), None)
    return {
        "name": spec.name, "description": spec.description, "method": spec.method,
        "trajectories": spec.trajectories if spec.method == "morris" else None,
        "levels": spec.levels if spec.method == "morris" else None,
        "samples": spec.samples if spec.method == "sobol" else None,
        "parameter_sets": len(result.samples), "runs": result.runs, "reused": result.reused,
        "baseline": spec.baseline.name,
        "intervention": None if spec.intervention is None else spec.intervention.name,
        "agents": spec.baseline.agents, "years": spec.baseline.years,
        "seed": spec.baseline.seed, "replicates": spec.baseline.replicates,
        "gap": spec.gap, "age": spec.age, "sexes": list(spec.sexes),
        "parameters": [{"name": p.name, "kind": p.kind, "low": p.low, "high": p.high}
                       for p in spec.parameters],
        "outcomes": {k: spec.outcome_label(k) for k in spec.outcomes},
        "table": table.to_dict(orient="records"),
    }


def format_table(result: SensitivityResult) -> str:
    """The readable table printed by ``sensitivity``."""
    spec = result.spec
    lines = [f"Sensitivity analysis {spec.name!r} ({spec.method}): "
             f"{len(result.samples)} parameter sets, {result.runs} runs "
             f"({result.reused} reused), {spec.baseline.agents:,} agents, "
             f"{spec.baseline.years} years, seed {spec.baseline.seed}"]
    if spec.method == "morris":
        cols = [("mu_star", "mu*"), ("mu_star_conf", "+/-95%"), ("sigma", "sigma"),
                ("mu", "mu")]
    else:
        cols = [("S1", "S1"), ("S1_conf", "+/-95%"), ("ST", "ST"), ("ST_conf", "+/-95%")]
    width = max([len(p.name) for p in spec.parameters] + [9]) + 2
    for key in spec.outcomes:
        lines += ["", spec.outcome_label(key),
                  f"{'parameter':<{width}}" + "".join(f"{h:>10}" for _, h in cols)]
        sub = result.table[result.table["outcome"] == key]
        for _, row in sub.iterrows():
            lines.append(f"{row['parameter']:<{width}}" + "".join(
                f"{row[c]:>10.3f}" if row[c] == row[c] else f"{'n/a':>10}" for c, _ in cols))
    if spec.method == "morris":
        lines += ["", "mu*: mean absolute elementary effect (years of gap over the parameter's "
                  "range); sigma: their spread (interactions, non-linearity)."]
    return "\n".join(lines)


def figure(result: SensitivityResult) -> Any:
    """Ranked bars of mu* (Morris) or ST (Sobol) with their 95% confidence bars, and sigma
    (Morris) or S1 (Sobol) as diamonds; one panel per outcome."""
    import textwrap

    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .report.figures import OKABE_ITO, WIDTH_IN, style

    spec = result.spec
    keys = spec.outcomes
    k = len(spec.parameters)
    morris = spec.method == "morris"
    bar, conf, dot = ("mu_star", "mu_star_conf", "sigma") if morris else ("ST", "ST_conf", "S1")
    with style():
        fig = Figure(figsize=(WIDTH_IN, len(keys) * (0.75 + 0.3 * k) + 0.8),
                     layout="constrained")
        axes = fig.subplots(len(keys), 1, squeeze=False)[:, 0]
        for ax, key in zip(axes, keys, strict=True):
            sub = result.table[result.table["outcome"] == key].iloc[::-1]
            y = np.arange(len(sub))
            colour = OKABE_ITO[1] if key.startswith("gap") else OKABE_ITO[3]
            ax.barh(y, sub[bar].to_numpy(float), xerr=sub[conf].to_numpy(float),
                    color=colour, alpha=0.85, height=0.6, error_kw={"ecolor": "#333333"})
            ax.plot(sub[dot].to_numpy(float), y, "D", color="#000000", markersize=4.5,
                    markerfacecolor="white", linestyle="none")
            ax.set_yticks(y, [textwrap.shorten(n, 44) for n in sub["parameter"]])
            ax.set_title("\n".join(textwrap.wrap(spec.outcome_label(key), 62)), loc="left")
            ax.set_xlabel("years of gap" if morris else "share of the variance")
            ax.set_xlim(left=0)
            if not np.nanmax(np.r_[sub[bar].to_numpy(float) + sub[conf].to_numpy(float),
                                   sub[dot].to_numpy(float), 0]) > 0:
                ax.set_xlim(0, 1)  # nothing moves this outcome: say so rather than zoom
                ax.text(0.5, 0.5, "no effect of any parameter", transform=ax.transAxes,
                        ha="center", va="center", color="#555555")
            ax.grid(axis="y", visible=False)
        labels = (["mu*: mean absolute elementary effect, with its 95% confidence interval",
                   "sigma: spread of the effects (interactions, non-linearity)"] if morris
                  else ["ST: total-order index, with its 95% confidence interval",
                        "S1: first-order index"])
        handles = [Patch(color="#777777"), Line2D([], [], marker="D", color="#000000",
                                                  markerfacecolor="white", linestyle="none")]
        fig.legend(handles, labels, loc="outside lower center", ncol=1)
        fig.suptitle(f"Sensitivity analysis \u201c{spec.name}\u201d ({spec.method}, "
                     f"{len(result.samples)} parameter sets, {spec.baseline.agents:,} agents, "
                     f"{spec.baseline.years} years)", fontsize=9.5, fontweight="bold")
    return fig


def write_outputs(result: SensitivityResult, out_dir: Path) -> dict[str, Path]:
    """Write the table, the samples, the summary and the figure into ``out_dir``; returns
    the paths by kind. Each file is written to a temporary name and renamed."""
    from .report import _atomic_write
    from .report.figures import render

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"sensitivity_{result.spec.name}"
    png, svg = render(figure(result))
    files = {"table": (out_dir / f"{stem}.csv",
                       result.table.to_csv(index=False, lineterminator="\n").encode()),
             "samples": (out_dir / f"{stem}_samples.csv",
                         result.samples.to_csv(index=False, lineterminator="\n").encode()),
             "json": (out_dir / f"{stem}.json",
                      json.dumps(summary(result), indent=1).encode()),
             "png": (out_dir / f"{stem}.png", png), "svg": (out_dir / f"{stem}.svg", svg)}
    for path, content in files.values():
        _atomic_write(path, content)
    return {k: v[0] for k, v in files.items()}


__all__ = ["ParameterRange", "SensitivityResult", "SensitivitySpec", "analyse", "figure",
           "format_table", "gap_of_run", "is_sensitivity_file", "load_sensitivity", "run_sensitivity", "summary",
           "write_outputs"]
