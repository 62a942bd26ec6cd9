"""Comparisons: a baseline and scenarios run in pairs on common random numbers.

A comparison file (TOML) names a baseline scenario file and the scenarios to compare, each
written as the baseline plus changes (interventions, a counterfactual, parameters) or as
another scenario file::

    [comparison]
    name = "Outreach for the CSS at 2 million euros a year"
    question = "Universal, targeted or proportionate outreach: which closes the gap most?"
    baseline = "baseline.toml"          # relative to this file

    [run]                               # shared by every scenario (overridable on the CLI)
    agents = 100000
    years = 20
    replicates = 5
    seed = 1

    [[scenarios]]
    name = "Universal"
    description = "Outreach offered to every eligible person"
    [[scenarios.interventions]]
    type = "outreach_css"
    allocation = { mode = "universal", budget_eur = 2000000 }

Every scenario runs with the same seed and replicates as the baseline, so replicate r of a
scenario and of the baseline share every draw of the people they share; differences are
computed pair by pair and summarised by their mean and 2.5 and 97.5 percentiles over the
replicates.

Parameter uncertainty (probabilistic sensitivity analysis). By default the intervals show
chance only. With an ``[uncertainty]`` table (or ``run.py compare --posterior REF``) they
also show the uncertainty of the calibrated parameters::

    [uncertainty]
    posterior = "default"   # a finished calibration (run.py calibrate), by name or id
    draws = 50              # optional: replicates of a PSA (default: the [run] replicates)

Replicate r of every scenario and of the baseline then uses the same parameter set: draw
d_r of the calibration's weighted posterior sample, picked by weighted resampling with a
uniform number that depends only on (comparison seed, r), so the choice is reproducible and
adding replicates keeps the earlier ones. The draw is applied as parameter overrides
(:meth:`Scenario.with_parameters`), so each (scenario, draw) has its own hash and the
store reuses runs correctly; the pairing on common random numbers is unchanged (same seed,
same replicate). A parameter that a scenario itself changes from the baseline keeps the
scenario's value. The summary's ``interval`` text and ``uncertainty`` record say which
kind of interval is shown.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from . import metrics
from .config import (
    Agents,
    ConfigError,
    Replicates,
    Scenario,
    Seed,
    StartYear,
    WindowYears,
    Years,
    _flatten,
    has_table,
    load_scenario,
    parse_scenario,
    read_toml,
    split_parameter_name,
)
from .configmodels import NonBlank, Table, Text, check, field, invalid, validate

#: Ages of the comparison's life expectancies.
AGES = (0, 35)
#: Gaps reported: (label, stratum, low group, high group).
GAPS = (("V20-V1", "income_vingtile", "1", "20"), ("Q5-Q1", "income_quintile", "1", "5"),
        ("cadres-ouvriers", "pcs", "ouvriers", "cadres"))
#: Interval text of a comparison without parameter uncertainty.
CHANCE_INTERVAL = ("95% confidence interval of the mean over replicates (Student t; chance "
                   "only; paired differences on common random numbers)")


@dataclass(frozen=True)
class Uncertainty:
    """Parameter uncertainty of a comparison: draws from a stored posterior sample and, with
    ``effects``, draws of the interventions' effect sizes within their 95% ranges
    (simulation/data/interventions.toml)."""

    posterior: str | None  # calibration name, or its id as digits; None: effects only
    draws: int | None = None  # replicates of the PSA (None: the comparison's replicates)
    effects: bool = True


@dataclass(frozen=True)
class ComparisonSpec:
    """A validated comparison: the baseline and the scenarios, with shared run options.
    ``texts_en``: the English name, question and description, where the file gives them
    (``name_en``, ``question_en``, ``description_en``), for reports in English."""

    name: str
    description: str
    question: str
    baseline: Scenario
    scenarios: tuple[Scenario, ...]
    source: str
    uncertainty: Uncertainty | None = None
    texts_en: tuple[tuple[str, str], ...] = ()

    @property
    def all(self) -> tuple[Scenario, ...]:
        return (self.baseline, *self.scenarios)

    def with_options(self, **options: Any) -> ComparisonSpec:
        opts = {k: v for k, v in options.items() if v is not None}
        if not opts:
            return self
        return replace(self, baseline=self.baseline.with_options(**opts),
                       scenarios=tuple(s.with_options(**opts) for s in self.scenarios))

    def with_uncertainty(self, u: Uncertainty) -> ComparisonSpec:
        """A copy whose replicates draw what ``u`` says (posterior, intervention effects)."""
        spec = replace(self, uncertainty=u)
        return spec.with_options(replicates=u.draws) if u.draws else spec

    def with_posterior(self, posterior: str | int | None,
                       draws: int | None = None) -> ComparisonSpec:
        """A copy whose replicates draw parameters from the posterior of calibration
        ``posterior`` (name or id; None: keep the file's choice)."""
        if posterior is None:
            return self
        text = str(posterior).strip()
        if not text:
            raise ConfigError("command line", "--posterior", "a calibration name or id",
                              posterior)
        effects = self.uncertainty.effects if self.uncertainty is not None else True
        return self.with_uncertainty(Uncertainty(text, draws, effects))


def _read_toml(path: Path, where: str) -> dict[str, Any]:
    try:
        return read_toml(path, "comparison")
    except ConfigError as e:
        raise ConfigError(where, e.key, e.expected, e.got) from None


def is_comparison_file(path: str | Path) -> bool:
    """True if the file holds a [comparison] table (else it is a scenario file)."""
    return has_table(path, "comparison")


class _Head(Table):
    """``[comparison]``."""

    name: NonBlank
    description: Text = ""
    question: Text = ""
    baseline: NonBlank
    name_en: Text = ""
    description_en: Text = ""
    question_en: Text = ""


#: The scenario file's table of each key of ``[run]``.
_RUN_TABLES = {"agents": "population", "start_year": "population", "years": "simulation",
               "seed": "simulation", "replicates": "simulation", "window_years": "metrics"}


class RunTable(Table):
    """``[run]``: run options of every scenario, checked like the scenario files' own."""

    agents: Agents | None = None
    start_year: StartYear | None = None
    years: Years | None = None
    seed: Seed | None = None
    replicates: Replicates | None = None
    window_years: WindowYears | None = None


class ArmTable(Table):
    """``[[scenarios]]`` (and a sweep's ``[[sweep.arms]]``): the baseline with changes
    (interventions, counterfactual and parameters, checked as a scenario's), or another
    scenario file."""

    sort_keys = True
    name: NonBlank
    description: Text = ""
    name_en: Text = ""
    description_en: Text = ""
    file: Annotated[str, field("a scenario file name (relative to this file)")] | None = None
    interventions: Any = None
    counterfactual: Any = None
    parameters: dict[str, Any] | None = field("a table", None, got=False)


class _Uncertainty(Table):
    """``[uncertainty]``: what the replicates draw (:class:`Uncertainty`)."""

    table_expected = "a table with posterior, draws, effects"
    posterior: Annotated[str | int, check(lambda ref: ref.strip() if isinstance(ref, str)
                                          else ref > 0)] | None = field(
        "a calibration name (string) or id (positive integer)", None)
    draws: Annotated[int, Field(ge=1, le=10_000)] | None = field("an integer from 1 to 10,000",
                                                                 None)
    effects: bool = field("true or false", True)

    @model_validator(mode="after")
    def _something_to_draw(self) -> _Uncertainty:
        if self.posterior is None and not self.effects:
            raise invalid("a calibration name or id (with effects = false there is nothing "
                          "else to draw)", "posterior")
        return self


class ComparisonFile(Table):
    """A comparison file; the baseline and the scenarios are then checked as scenarios."""

    unknown = "one of the tables {keys}"
    comparison: _Head = field("a table with name and baseline", got=False)
    run: RunTable = Field(default_factory=RunTable)
    scenarios: list[ArmTable] = field("a non-empty array of tables ([[scenarios]])",
                                      got=False, min_length=1)
    uncertainty: _Uncertainty | None = None


def load_comparison(path: str | Path) -> ComparisonSpec:
    """Read and validate a comparison file; raises :class:`ConfigError`."""
    p = Path(path)
    where = str(path)
    return parse_comparison(_read_toml(p, where), where, p.parent)


def parse_comparison(raw: dict[str, Any], where: str, base_dir: Path,
                     baseline_parameters: dict[str, Any] | None = None) -> ComparisonSpec:
    """Validate a comparison already parsed from TOML (``where`` names it in errors; files
    it names are relative to ``base_dir``). ``baseline_parameters`` (dotted names) are
    applied to the baseline file's parameters, and so to every scenario built on it (used
    by sweeps over model parameters). Raises :class:`ConfigError`."""
    base_dir = Path(base_dir)
    f = validate(ComparisonFile, raw, where)
    head, run = f.comparison, f.run.model_dump(exclude_none=True)
    base_path = (base_dir / head.baseline).resolve()
    if not base_path.exists():
        raise ConfigError(where, "comparison.baseline",
                          f"an existing scenario file (looked for {base_path})", head.baseline)
    base_raw = _read_toml(base_path, str(base_path))
    if baseline_parameters:
        params = _flatten(base_raw.get("parameters", {}), source=str(base_path))
        params.update(baseline_parameters)
        base_raw["parameters"] = params

    def with_run(r: dict[str, Any]) -> dict[str, Any]:
        r = copy.deepcopy(r)
        for key, value in run.items():
            if isinstance(r.setdefault(_RUN_TABLES[key], {}), dict):
                r[_RUN_TABLES[key]][key] = value
        return r

    baseline = parse_scenario(with_run(base_raw), str(base_path))
    scenarios = []
    names = {baseline.name}
    for i, item in enumerate(f.scenarios):
        path = f"scenarios[{i}]"
        if item.file is not None:
            file = (base_dir / item.file).resolve()
            sc_raw = _read_toml(file, str(file))
        else:
            sc_raw = copy.deepcopy(base_raw)
            sc_raw.pop("interventions", None)
            sc_raw.pop("counterfactual", None)
        for key in ("interventions", "counterfactual"):
            if key in item.model_fields_set:
                sc_raw[key] = getattr(item, key)
        if item.parameters is not None:
            try:  # dotted names and nested tables may be mixed between the two files
                params = _flatten(sc_raw.get("parameters", {}), source=where)
                params.update(_flatten(item.parameters, source=where))
            except ConfigError as e:
                raise ConfigError(where, f"{path}.{e.key}", e.expected, e.got) from None
            sc_raw["parameters"] = params
        if item.name in names:
            raise ConfigError(where, f"{path}.name", "a name not used by another scenario",
                              item.name)
        names.add(item.name)
        own = sc_raw.get("scenario")
        sc_raw["scenario"] = {**(own if isinstance(own, dict) else {}), "name": item.name,
                              "description": item.description, "name_en": item.name_en,
                              "description_en": item.description_en}
        try:
            sc = parse_scenario(with_run(sc_raw), where)
        except ConfigError as e:
            raise ConfigError(where, f"{path}.{e.key}", e.expected, e.got) from None
        scenarios.append(sc)
    texts_en = tuple((k, getattr(head, f"{k}_en").strip())
                     for k in ("name", "question", "description")
                     if getattr(head, f"{k}_en").strip())
    spec = ComparisonSpec(name=head.name.strip(), description=head.description,
                          question=head.question, baseline=baseline,
                          scenarios=tuple(scenarios), source=where, texts_en=texts_en)
    if f.uncertainty is not None:
        u = f.uncertainty
        spec = spec.with_uncertainty(Uncertainty(
            None if u.posterior is None else str(u.posterior).strip(), u.draws, u.effects))
    return spec


def load_any(path: str | Path) -> Scenario | ComparisonSpec:
    """A scenario or a comparison, whichever the file holds (for ``validate``)."""
    return load_comparison(path) if is_comparison_file(path) else load_scenario(path)


# -------------------------------------------------------------- parameter uncertainty

#: Salt of the resampling of posterior draws (kept apart from the model's streams).
_PSA_SALT = 0x5053_4144  # "PSAD"


@dataclass(frozen=True)
class ParameterDraws:
    """What each replicate of a probabilistic sensitivity analysis draws: a posterior
    parameter set (when a calibration is named) and the interventions' effect sizes (when
    ``[uncertainty] effects`` is true, the default)."""

    calibration_id: int | None
    calibration_name: str | None
    indices: tuple[int, ...]  # posterior draw (its ``draw`` number) of replicate r
    values: tuple[dict[str, Any], ...]  # parameter values of replicate r
    effects: tuple[dict[str, float], ...] = ()  # effect size by intervention type, replicate r

    @property
    def n(self) -> int:
        return max(len(self.values), len(self.effects))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "chance+parameters" if self.calibration_id is not None else
            "chance+effects", "draws": self.n, "intervention_effects": bool(self.effects)}
        if self.calibration_id is not None:
            out.update(calibration_id=self.calibration_id, calibration=self.calibration_name,
                       distinct_draws=len(set(self.indices)),
                       draw_of_replicate=list(self.indices))
        if self.effects:
            out["effects_of_replicate"] = [dict(e) for e in self.effects]
        return out

    def interval(self) -> str:
        what = []
        if self.calibration_id is not None:
            what.append(f"posterior of calibration {self.calibration_name!r} "
                        f"(id {self.calibration_id})")
        if self.effects:
            what.append("intervention effects within their 95% ranges")
        return (f"2.5 and 97.5 percentiles over draws (chance + parameter uncertainty: "
                f"{' and '.join(what)}, {self.n} draws; paired differences on common random "
                "numbers)")


def resample(weights: Any, seed: int, replicates: int) -> np.ndarray:
    """Positions in ``weights`` drawn with probability proportional to the weights, one per
    replicate; replicate r's draw depends only on (``seed``, r), so adding replicates keeps
    the earlier ones."""
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("resample: non-negative finite weights, not all zero")
    cdf = np.cumsum(w)
    u = np.array([np.random.default_rng([int(seed), _PSA_SALT, r]).random()
                  for r in range(int(replicates))])
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), w.size - 1)


def posterior_draws(store: Any, spec: ComparisonSpec) -> ParameterDraws | None:
    """The parameter set of each replicate of ``spec`` (None without ``[uncertainty]``):
    draws of the stored posterior (:meth:`Store.posterior`) by :func:`resample` on the
    comparison seed. Raises :class:`~simulation.store.StoreError` when the calibration is
    missing and :class:`ConfigError` when its parameters are not the model's."""
    from .store import StoreError

    if spec.uncertainty is None:
        return None
    effects = effect_draws(spec) if spec.uncertainty.effects else ()
    ref = spec.uncertainty.posterior
    if ref is None:
        n = spec.baseline.replicates
        return ParameterDraws(None, None, (), tuple({} for _ in range(n)), effects)
    try:
        post = store.posterior(ref)
        cal = store.calibration(post.attrs.get("calibration_id", ref))
    except StoreError as e:
        raise StoreError(f"{spec.source}: uncertainty.posterior: {e}") from None
    what = f"posterior of calibration {cal['name']!r} (id {cal['id']})"
    columns = [c for c in post.columns if c not in ("draw", "weight")]
    if post.empty or not columns:
        raise ConfigError(what, "draws", "at least one weighted parameter set")
    for c in columns:
        try:
            split_parameter_name(c, spec.baseline.parameters, what)
        except ConfigError:
            raise ConfigError(what, f"parameter {c!r}", "a parameter of the model (see "
                              "simulation/data/parameters.toml)") from None
    idx = resample(post["weight"].to_numpy(float), spec.baseline.seed,
                   spec.baseline.replicates)
    values = []
    for i in idx:
        row = post.iloc[int(i)]
        draw: dict[str, Any] = {}
        for c in columns:
            v = row[c]
            v = v.item() if isinstance(v, np.generic) else v
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise ConfigError(what, f"draw {int(row['draw'])}: {c}", "a value", None)
            draw[c] = v
        values.append(draw)
    return ParameterDraws(int(cal["id"]), str(cal["name"]),
                          tuple(int(post["draw"].iloc[int(i)]) for i in idx), tuple(values),
                          effects)


def effect_draws(spec: ComparisonSpec) -> tuple[dict[str, float], ...]:
    """Each replicate's effect size of every intervention type used by the comparison,
    drawn within its 95% range (:meth:`InterventionType.draw_effect`) with a uniform that
    depends only on (comparison seed, replicate, type): every arm of a replicate gets the
    same effect, so the pairing on common random numbers holds, and adding replicates
    keeps the earlier draws."""
    from . import rng
    from .interventions import TYPE_INDEX, TYPES

    used = sorted({iv.type for sc in spec.all for iv in sc.interventions},
                  key=lambda k: TYPE_INDEX[k])
    out = []
    for r in range(spec.baseline.replicates):
        key = rng.key(spec.baseline.seed, "effect_draws", r)
        u = rng.uniforms(key, np.array([TYPE_INDEX[k] for k in used], dtype=np.uint64))
        out.append({k: TYPES[TYPE_INDEX[k]].draw_effect(float(x))
                    for k, x in zip(used, u, strict=True)})
    return tuple(out)


def _own_changes(scenario: Scenario, baseline: Scenario) -> set[str]:
    """Parameters that ``scenario`` sets to other values than the baseline."""
    return {k for k, v in scenario.parameters.items() if baseline.parameters.get(k) != v}


def replicate_scenarios(spec: ComparisonSpec, draws: ParameterDraws | None
                        ) -> list[dict[str, Scenario]]:
    """The scenarios of each replicate, by name: the spec's own without parameter
    uncertainty, else each with its replicate's posterior draw applied (a parameter that a
    scenario changes from the baseline keeps the scenario's value)."""
    n = spec.baseline.replicates
    if draws is None:
        return [{sc.name: sc for sc in spec.all} for _ in range(n)]
    own = {sc.name: _own_changes(sc, spec.baseline) for sc in spec.all}
    out = []
    for r in range(n):
        values = draws.values[r] if draws.values else {}
        source = (f"posterior of calibration {draws.calibration_name!r}, draw "
                  f"{draws.indices[r]}" if draws.calibration_id is not None else None)
        arms = {}
        for sc in spec.all:
            keep = {k: v for k, v in values.items()
                    if k.partition("[")[0] not in own[sc.name]}
            arm = sc.with_parameters(keep, source) if keep else sc
            if draws.effects:
                arm = with_effects(arm, draws.effects[r])
            arms[sc.name] = arm
        out.append(arms)
    return out


def with_effects(scenario: Scenario, effects: dict[str, float]) -> Scenario:
    """``scenario`` with its interventions' effect sizes replaced by ``effects`` (by type),
    except an effect the scenario file set itself (its source is then the file)."""
    from .interventions import TYPE_INDEX, TYPES

    ivs = []
    for iv in scenario.interventions:
        kind = TYPES[TYPE_INDEX[iv.type]]
        if iv.type in effects and iv.effect_source == kind.effect_source:
            iv = replace(iv, effect=float(effects[iv.type]))
        ivs.append(iv)
    return replace(scenario, interventions=tuple(ivs))


def comparison_hashes(spec: ComparisonSpec, summary: dict[str, Any]) -> tuple[str, list[str]]:
    """The baseline's and the scenarios' hashes to record with a comparison: those of
    replicate 0 under parameter uncertainty (the scenarios actually run and stored)."""
    hashes = (summary.get("uncertainty") or {}).get("hashes")
    if hashes:
        return hashes[spec.baseline.name], [hashes[sc.name] for sc in spec.scenarios]
    return spec.baseline.hash, [sc.hash for sc in spec.scenarios]


# ------------------------------------------------------------------ per-run outcomes


def run_outcomes(scenario: Scenario, yearly: pd.DataFrame, lti: pd.DataFrame,
                 le: pd.DataFrame, weight: float) -> dict[str, Any]:
    """Outcomes of one run: life expectancy and healthy life expectancy at 0 and 35 by SEP
    group, the gaps, SII and RII of e0 over income vingtiles, quality-adjusted life
    expectancy by income quintile with its equally distributed equivalents (DCEA), and
    totals at full scale (deaths over the simulated years; life-years, QALYs and
    intervention costs discounted at ``outcomes.discount_rate`` from the start year).

    With ``outcomes.horizon = "lifetime"`` (the default) life-years and QALYs also count
    the expected remaining life of everyone alive at the end of the simulation (the
    ``after_horizon_*`` columns of ``yearly``, see
    :meth:`~simulation.model.HealthInequalityModel.remaining_life`); the simulated years
    alone stay in ``life_years_simulated`` and ``qalys_simulated``. Intervention costs
    stop with the interventions, so they are the same on both horizons."""
    p = scenario.parameters
    out: dict[str, Any] = {"le": le[le["age"].isin(AGES)].copy()}
    gaps = []
    for label, by, low, high in GAPS:
        for col in ("e", "hle"):
            if col not in le.columns:
                continue
            sub = le[le["by"] == by].pivot_table(index=["sex", "age"], columns="group", values=col)
            if low in sub.columns and high in sub.columns:
                g = (sub[high] - sub[low]).reset_index()
                for _, row in g[g["age"].isin(AGES)].iterrows():
                    gaps.append({"gap": label, "measure": col, "sex": row["sex"],
                                 "age": int(row["age"]), "value": float(row[0])})
    out["gaps"] = pd.DataFrame(gaps)
    sii = []
    for sex in ("M", "F"):
        v = le[(le["by"] == "income_vingtile") & (le["sex"] == sex) & (le["age"] == 0)]
        v = v.assign(g=v["group"].astype(int)).sort_values("g")
        if len(v) == 20 and v["e"].notna().all():
            s, r = metrics.slope_index_of_inequality(v["e"].to_numpy(), np.full(20, 0.05))
        else:
            s, r = math.nan, math.nan
        sii.append({"sex": sex, "sii": s, "rii": r})
    out["sii"] = pd.DataFrame(sii)
    rate = p["outcomes.discount_rate"]
    util = p["outcomes.utility_disability"]
    out["dcea"] = _dcea(scenario, lti)
    allp = lti[lti["by"] == "all"].groupby("year")[["deaths", "person_years", "disabled"]].sum()
    disc = (1 + rate) ** -(allp.index.to_numpy() - scenario.start_year)
    cost = yearly.set_index("year")["intervention_cost_eur"] if (
        "intervention_cost_eur" in yearly.columns) else pd.Series(0.0, index=allp.index)
    cost = cost.reindex(allp.index, fill_value=0.0).to_numpy(float)
    qaly = allp["person_years"].to_numpy() - (1 - util) * allp["disabled"].to_numpy()
    life_years = float((allp["person_years"].to_numpy() * disc).sum() * weight)
    qalys = float((qaly * disc).sum() * weight)
    tail_ly = tail_q = 0.0
    if p["outcomes.horizon"] == "lifetime":
        tail_ly, tail_q = (_last(yearly, "after_horizon_life_years_discounted"),
                           _last(yearly, "after_horizon_qalys_discounted"))
    out["totals"] = {
        "deaths": float(allp["deaths"].sum() * weight),
        "life_years": life_years + tail_ly,
        "qalys": qalys + tail_q,
        "life_years_simulated": life_years,
        "qalys_simulated": qalys,
        "cost_eur": float((cost * disc).sum()),
        "cost_eur_undiscounted": float(cost.sum()),
        "cost_eur_per_year": float(cost.mean()) if cost.size else 0.0,
    }
    return out


def _last(yearly: pd.DataFrame, column: str) -> float:
    """The last year's value of a yearly column; a :class:`ValueError` if the run lacks it
    (a run stored before the lifetime horizon: run it again)."""
    if column not in yearly.columns or pd.isna(yearly[column].iloc[-1]):
        raise ValueError(f"the run's yearly aggregates lack {column!r}: it was stored by an "
                         "older version; run it again with a new --db")
    return float(yearly[column].iloc[-1])


def _dcea(scenario: Scenario, lti: pd.DataFrame) -> dict[str, float]:
    """Quality-adjusted life expectancy at birth by income quintile (both sexes, the last
    ``metrics.window_years`` years) and its mean and equally distributed equivalents."""
    p = scenario.parameters
    last = int(lti["year"].max())
    agg = metrics.window(lti, max(int(lti["year"].min()), last - scenario.window_years + 1),
                         last)
    qale = metrics.quality_adjusted_life_expectancy(agg, "income_quintile",
                                                    p["outcomes.utility_disability"])
    out = {f"qale_{g}": float(v) for g, v in qale.items()}
    values = qale.to_numpy(float)
    out["qale_mean"] = float(values.mean())
    out["ede_atkinson"] = metrics.equally_distributed_equivalent(
        values, kind="atkinson", aversion=p["outcomes.atkinson_epsilon"])
    out["ede_kolm"] = metrics.equally_distributed_equivalent(
        values, kind="kolm", aversion=p["outcomes.kolm_alpha"])
    return out


def _summary(values: list[float], percentiles: bool = False) -> dict[str, float | None]:
    """Mean and 95% interval: of the mean (Student t over replicates) by default; with
    ``percentiles`` the 2.5 and 97.5 percentiles (the spread of a PSA's draws)."""
    a = np.asarray([v for v in values if v is not None and not math.isnan(v)], float)
    if a.size == 0:
        return {"mean": None, "lo": None, "hi": None}
    if percentiles:
        return {"mean": float(a.mean()), "lo": float(np.percentile(a, 2.5)),
                "hi": float(np.percentile(a, 97.5))}
    mean, lo, hi = metrics.mean_interval(a)
    return {"mean": mean, "lo": None if math.isnan(lo) else lo,
            "hi": None if math.isnan(hi) else hi}


def _gap_values(gaps: pd.DataFrame) -> dict[tuple[str, str, str, int], float]:
    if gaps.empty:
        return {}
    return {(g, m, sex, int(age)): float(v) for g, m, sex, age, v in zip(
        gaps["gap"], gaps["measure"], gaps["sex"], gaps["age"], gaps["value"], strict=True)}


def summarise(spec: ComparisonSpec, outcomes: dict[str, list[dict[str, Any]]],
              draws: ParameterDraws | None = None) -> dict[str, Any]:
    """Paired summaries: ``outcomes[scenario name][replicate]`` from :func:`run_outcomes`.

    Each record gives the scenario's value (mean and 2.5/97.5 percentiles over replicates)
    and its paired difference from the baseline (the same statistics over the replicates'
    differences). ``draws``: the posterior draws of the replicates, if any (the interval
    then includes parameter uncertainty)."""
    base = outcomes[spec.baseline.name]
    n = len(base)
    records: list[dict[str, Any]] = []
    psa = draws is not None

    def add(scenario: str, metric: str, vals: list[float], base_vals: list[float],
            **keys: Any) -> None:
        diffs = [v - b for v, b in zip(vals, base_vals, strict=True)]
        s, d = _summary(vals, psa), _summary(diffs, psa)
        records.append({"scenario": scenario, "metric": metric, **keys, "value": s["mean"],
                        "lo": s["lo"], "hi": s["hi"], "diff": d["mean"], "diff_lo": d["lo"],
                        "diff_hi": d["hi"]})

    for sc in spec.all:
        runs = outcomes[sc.name]
        le0 = runs[0]["le"]
        for col, metric in (("e", "life_expectancy"), ("hle", "healthy_life_expectancy")):
            if col not in le0.columns:
                continue
            keys = le0[["sex", "by", "group", "age"]].to_records(index=False)
            vals = np.stack([r["le"][col].to_numpy(float) for r in runs])
            bvals = np.stack([r["le"][col].to_numpy(float) for r in base])
            for j, (sex, by, group, age) in enumerate(keys):
                add(sc.name, metric, list(vals[:, j]), list(bvals[:, j]), sex=sex, by=by,
                    group=group, age=int(age))
        # gaps by key: a gap undefined in a run (too few deaths in a group, more likely
        # with parameter draws) is missing from that run's frame, and counts as NaN
        keyed = [_gap_values(r["gaps"]) for r in runs]
        bkeyed = [_gap_values(b["gaps"]) for b in base]
        keys = list(dict.fromkeys(k for d in (*bkeyed, *keyed) for k in d))
        for key in keys:
            gap, measure, sex, age = key
            add(sc.name, f"gap_{measure}", [d.get(key, math.nan) for d in keyed],
                [d.get(key, math.nan) for d in bkeyed], sex=sex, by=gap, age=age)
        for j, row in runs[0]["sii"].iterrows():
            for m in ("sii", "rii"):
                add(sc.name, f"{m}_e0", [r["sii"].iloc[j][m] for r in runs],
                    [r["sii"].iloc[j][m] for r in base], sex=row["sex"])
        for key in runs[0]["dcea"]:
            metric, _, group = key.partition("_") if key.startswith("qale_") and \
                key[5:].isdigit() else (key, "", "")
            add(sc.name, metric, [r["dcea"][key] for r in runs],
                [b["dcea"][key] for b in base],
                **({"by": "income_quintile", "group": group} if group else {}))
        for m in ("deaths", "life_years", "qalys", "life_years_simulated", "qalys_simulated",
                  "cost_eur", "cost_eur_per_year"):
            add(sc.name, m, [r["totals"][m] for r in runs], [b["totals"][m] for b in base])
    frame = pd.DataFrame(records)
    derived = []
    for sc in spec.scenarios:
        tot = frame[(frame["scenario"] == sc.name) & frame["sex"].isna()
                    & frame["group"].isna()].set_index("metric")
        dcost = tot.loc["cost_eur", "diff"]
        dly = tot.loc["life_years", "diff"]
        dq = tot.loc["qalys", "diff"]
        row = {"scenario": sc.name, "cost_eur_per_year": tot.loc["cost_eur_per_year", "value"],
               "deaths_averted": -tot.loc["deaths", "diff"] + 0.0, "life_years_gained": dly,
               "qalys_gained": dq,
               "cost_per_life_year_eur": dcost / dly if dly and dly > 0 else None,
               "cost_per_qaly_eur": dcost / dq if dq and dq > 0 else None,
               "allocation": _allocation(sc)}
        for key, m in (("deaths_averted", "deaths"), ("life_years_gained", "life_years"),
                       ("qalys_gained", "qalys")):
            sign = -1.0 if m == "deaths" else 1.0
            lo, hi = tot.loc[m, "diff_lo"], tot.loc[m, "diff_hi"]
            bounds = sorted(sign * x + 0.0 for x in (lo, hi)) if (
                lo is not None and hi is not None and lo == lo and hi == hi) else [None, None]
            row[f"{key}_lo"], row[f"{key}_hi"] = bounds
        for key in ("ede_atkinson", "ede_kolm", "qale_mean"):
            row[f"{key}_change"] = tot.loc[key, "diff"] if key in tot.index else None
            row[f"{key}_change_lo"] = tot.loc[key, "diff_lo"] if key in tot.index else None
            row[f"{key}_change_hi"] = tot.loc[key, "diff_hi"] if key in tot.index else None
        for sex in ("M", "F"):
            g = frame[(frame["scenario"] == sc.name) & (frame["metric"] == "gap_e")
                      & (frame["by"] == "Q5-Q1") & (frame["sex"] == sex) & (frame["age"] == 0)]
            ok = len(g) and g["diff"].iloc[0] is not None and g["diff"].iloc[0] == g["diff"].iloc[0]
            for suffix, col in (("", "diff"), ("_lo", "diff_lo"), ("_hi", "diff_hi")):
                row[f"gap_q_e0_change_{sex}{suffix}"] = g[col].iloc[0] if ok else None
        for sex in ("M", "F"):
            row[f"gap_e0_change_{sex}"] = None  # None: too few deaths for the vingtiles
            row[f"gap_reduction_per_meur_per_year_{sex}"] = None
            if "metric" not in frame.columns:
                continue
            g = frame[(frame["scenario"] == sc.name) & (frame["metric"] == "gap_e")
                      & (frame["by"] == "V20-V1") & (frame["sex"] == sex) & (frame["age"] == 0)]
            if len(g) and g["diff"].iloc[0] is not None and g["diff"].iloc[0] == g["diff"].iloc[0]:
                change = g["diff"].iloc[0]
                row[f"gap_e0_change_{sex}"] = change
                row[f"gap_e0_change_{sex}_lo"] = g["diff_lo"].iloc[0]
                row[f"gap_e0_change_{sex}_hi"] = g["diff_hi"].iloc[0]
                per_year_meur = tot.loc["cost_eur_per_year", "value"] / 1e6
                row[f"gap_reduction_per_meur_per_year_{sex}"] = (
                    -change / per_year_meur + 0.0 if per_year_meur else None)
        derived.append(row)
    return {"comparison": spec.name, "question": spec.question,
            "description": spec.description, "texts_en": dict(spec.texts_en),
            "names_en": {sc.name: sc.name_en for sc in spec.all if sc.name_en},
            "baseline": spec.baseline.name,
            "scenarios": [s.name for s in spec.scenarios], "replicates": n,
            "agents": spec.baseline.agents, "years": spec.baseline.years,
            "start_year": spec.baseline.start_year, "seed": spec.baseline.seed,
            "interval": CHANCE_INTERVAL if draws is None else draws.interval(),
            "horizon": horizon_description(spec.baseline),
            "uncertainty": {"kind": "chance"} if draws is None else draws.describe(),
            "records": _clean(frame.to_dict(orient="records")),
            "summary": _clean(derived)}


def horizon_description(scenario: Scenario) -> dict[str, Any]:
    """What the comparison's outcomes cover: the years simulated (and during which the
    interventions may run), the horizon of life-years and QALYs, the estimator of the
    deaths and the discount rate."""
    p = scenario.parameters
    return {"simulated_years": [scenario.start_year, scenario.start_year + scenario.years - 1],
            "effects": p["outcomes.horizon"], "mortality_estimator":
            p["outcomes.mortality_estimator"], "discount_rate": p["outcomes.discount_rate"],
            "costs": "intervention costs while the interventions run (no health-care costs "
                     "are modelled)"}


def _allocation(scenario: Scenario) -> list[dict[str, Any]]:
    """Each intervention of a scenario: type, allocation mode, budget and years."""
    out = []
    for iv in scenario.interventions:
        a = iv.allocation
        rec = {"type": iv.type, "mode": a.mode, "budget_eur": a.budget_eur,
               "intensity": None if a.budget_eur is not None else a.intensity}
        if a.mode == "targeted":
            rec.update(by=a.by, max_rank=a.max_rank, groups=list(a.groups))
        elif a.mode == "proportionate":
            rec.update(gradient=a.gradient, min_need=a.min_need, steps=list(a.steps))
        rec.update(start_year=iv.start_year, duration_years=iv.duration_years)
        out.append(rec)
    return out


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        clean = {}
        for k, v in row.items():
            if isinstance(v, (np.floating, float)):
                v = None if math.isnan(float(v)) else round(float(v), 6)
            elif isinstance(v, np.integer):
                v = int(v)
            clean[k] = v
        out.append(clean)
    return out


def comparison_runs(spec: ComparisonSpec, per_rep: list[dict[str, Scenario]] | None = None
                    ) -> list[tuple[Scenario, int]]:
    """Every (scenario, replicate) of ``spec``, replicate by replicate (baseline first);
    ``per_rep``: each replicate's scenarios by name (:func:`replicate_scenarios`), if they
    differ from the spec's own (parameter uncertainty)."""
    return [(sc if per_rep is None else per_rep[r][sc.name], r)
            for r in range(spec.baseline.replicates) for sc in spec.all]


def collect_outcomes(spec: ComparisonSpec, store: Any, stored: dict[tuple[str, int, int], Any],
                     cache: dict[int, dict[str, Any]] | None = None,
                     per_rep: list[dict[str, Scenario]] | None = None
                     ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[int]]]:
    """:func:`run_outcomes` of every run of ``spec``, read back from ``store`` (``stored``:
    :func:`simulation.runner.run_many`'s answer), by scenario name in replicate order, and
    the run ids by scenario name. ``cache`` (by run id) spares reading a run shared by
    several comparisons (a sweep's baseline) again."""
    from .demography import population_weight

    b = spec.baseline
    weight = population_weight(b.start_year - int(b.parameters["demography.burn_in_years"]),
                               b.agents)
    cache = {} if cache is None else cache
    outcomes: dict[str, list[dict[str, Any]]] = {s.name: [] for s in spec.all}
    run_ids: dict[str, list[int]] = {s.name: [] for s in spec.all}
    for sc, r in comparison_runs(spec, per_rep):
        run_id = stored[(sc.hash, sc.seed, r)].run_id
        if run_id not in cache:
            res = store.load_run_result(run_id, sc)
            cache[run_id] = run_outcomes(sc, res.yearly, res.life_table_input,
                                         res.life_expectancy, weight)
        outcomes[sc.name].append(cache[run_id])
        run_ids[sc.name].append(run_id)
    return outcomes, run_ids


def run_comparison(spec: ComparisonSpec, store: Any,
                   progress: Callable[[str, int], None] | None = None,
                   executor: Any = None) -> tuple[dict[str, Any], dict]:
    """Run every (scenario, replicate) through ``store`` (reusing finished runs; the others
    computed by ``executor``, :mod:`simulation.executor`, serially by default) and
    summarise; returns (summary, run ids by scenario name). The summary does not depend
    on the executor: every run carries its seed. With ``spec.uncertainty`` each replicate
    runs with its posterior draw (:func:`posterior_draws`)."""
    from .runner import run_many

    draws = posterior_draws(store, spec)
    per_rep = replicate_scenarios(spec, draws)
    stored = run_many(store, comparison_runs(spec, per_rep), executor,
                      None if progress is None else (lambda sc, r, _reused: progress(sc.name, r)))
    outcomes, run_ids = collect_outcomes(spec, store, stored, per_rep=per_rep)
    summary = summarise(spec, outcomes, draws)
    if draws is not None:
        summary["uncertainty"]["hashes"] = {name: sc.hash for name, sc in per_rep[0].items()}
    return summary, run_ids
