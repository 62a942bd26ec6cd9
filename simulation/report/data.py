"""What the report needs, read from the results store (never from a live model).

:func:`gather` collects a comparison's stored summary, the definitions of its scenarios,
the runs' identity, yearly aggregates, the gap over time recomputed from the stored
life-table inputs, the baseline's life expectancy at 0, 60 and 65 by income vingtile, and
the observed INSEE figures the calibration figure compares it with.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics

#: Width (years) of the rolling window of the gap-over-time figure.
ROLLING_YEARS = 5
#: Open age of the life tables of the gap over time (as in the stored life expectancy).
OPEN_AGE = 100


@dataclass
class ScenarioInfo:
    """One arm of the comparison: its name, definition (None if the store lacks it) and
    run ids (one per replicate, replicate order)."""

    name: str
    is_baseline: bool
    scenario: Any  # simulation.config.Scenario or None
    run_ids: list[int]

    def label(self, lang: str) -> str:
        """The arm's name as the report in ``lang`` shows it (its English name, if the
        file gives one, in English)."""
        return self.scenario.label(lang) if self.scenario is not None else self.name

    def text(self, lang: str) -> str:
        """The arm's description in ``lang`` ("" if none)."""
        return self.scenario.text(lang) if self.scenario is not None else ""

    @property
    def equalise(self) -> tuple[str, ...]:
        return tuple(self.scenario.equalise) if self.scenario is not None else ()

    @property
    def interventions(self) -> tuple:
        return tuple(self.scenario.interventions) if self.scenario is not None else ()


@dataclass
class ReportData:
    comparison_id: int
    summary: dict[str, Any]
    records: pd.DataFrame
    arms: list[ScenarioInfo]  # baseline first, then the scenarios in the comparison's order
    runs: pd.DataFrame
    created: Any
    reach: dict[str, dict[str, float]]  # scenario -> mean people reached, cost a year
    gap_time: pd.DataFrame  # scenario, sex, year, gap (mean), change (paired mean)
    rolling_years: int
    calibration: pd.DataFrame  # sex, age, vingtile, mean, lo, hi (baseline runs)
    observed: pd.DataFrame  # INSEE: sex (M/F), vingtile, e0, e60, e65
    derived: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: fit of the calibration whose posterior the intervals draw on (``run.py calibrate``
    #: diagnostics): calibration, id, met, scored, ess, particles; None if not available
    posterior_fit: dict[str, Any] | None = None
    #: the baseline's yearly population, births, deaths and net migration (means over runs)
    demography: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def baseline(self) -> ScenarioInfo:
        return self.arms[0]

    @property
    def scenarios(self) -> list[ScenarioInfo]:
        return self.arms[1:]

    def text(self, key: str, lang: str) -> str:
        """The comparison's ``key`` ("comparison", "question" or "description") in
        ``lang``: its English version (``name_en``...) in English where the file gives
        one."""
        if lang == "en":
            en = (self.summary.get("texts_en") or {}).get(
                "name" if key == "comparison" else key)
            if en:
                return str(en)
        return str(self.summary.get(key) or "")

    @property
    def replicates(self) -> int:
        return int(self.summary.get("replicates") or 0)

    @property
    def has_intervals(self) -> bool:
        return self.replicates > 1

    @property
    def uncertainty(self) -> dict[str, Any]:
        """What the intervals include: ``{"kind": "chance"}``, or ``"chance+parameters"``
        with the calibration whose posterior the replicates drew from (see
        :mod:`simulation.comparison`)."""
        return self.summary.get("uncertainty") or {"kind": "chance"}

    @property
    def has_parameter_uncertainty(self) -> bool:
        return self.uncertainty.get("kind") in ("chance+parameters", "chance+effects")

    @property
    def main_gap(self) -> str:
        """The gap the report leads with: Q5-Q1 (between fifths: five times the people of
        the extreme vingtiles, so much less noise) when the baseline defines it at birth for
        both sexes, else V20-V1, else cadres-ouvriers (small populations may leave groups
        with too few deaths for a life table)."""
        for by in ("Q5-Q1", "V20-V1", "cadres-ouvriers"):
            recs = [self.record(self.baseline.name, "gap_e", sex=sex, by=by, age=0)
                    for sex in ("M", "F")]
            if all(r is not None and r.get("value") is not None for r in recs):
                return by
        return "Q5-Q1"

    @property
    def window(self) -> tuple[int | None, int | None]:
        if self.runs.empty:
            return None, None
        return int(self.runs["window_first"].min()), int(self.runs["window_last"].max())

    def record(self, scenario: str, metric: str, sex: str | None = None,
               by: str | None = None, group: str | None = None,
               age: int | None = None) -> dict[str, Any] | None:
        """The summary record matching the keys given (None keys must be missing)."""
        r = self.records
        m = (r["scenario"] == scenario) & (r["metric"] == metric)
        for col, val in (("sex", sex), ("by", by), ("group", group), ("age", age)):
            m &= r[col].isna() if val is None else (r[col] == val)
        hit = r[m]
        if hit.empty:
            return None
        return {k: _none(v) for k, v in hit.iloc[0].to_dict().items()}


def _none(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _scenario(store: Any, scenario_hash: str) -> Any:
    from ..config import Scenario
    from ..store import StoreError

    try:
        return Scenario.from_canonical(store.scenario_canonical(scenario_hash))
    except StoreError:
        raise
    except Exception:  # noqa: BLE001 - a definition stored by another version: skip it
        return None


def gather(store: Any, comparison_id: int | None) -> ReportData:
    """Read everything the report shows; raises :class:`simulation.store.StoreError` for a
    missing comparison."""
    from ..population import read_data

    summary = store.comparison_summary(comparison_id)
    cid = int(summary["id"])
    row = store.comparisons([cid]).iloc[0]
    run_ids: dict[str, list[int]] = {k: [int(i) for i in v]
                                     for k, v in (summary.get("run_ids") or {}).items()}
    hashes = [row["baseline_hash"], *json.loads(row["scenario_hashes"])]
    names = [summary["baseline"], *summary["scenarios"]]
    by_name = {}
    for h in hashes:
        sc = _scenario(store, h)
        if sc is not None:
            by_name.setdefault(sc.name, sc)
    arms = [ScenarioInfo(name, i == 0, by_name.get(name), run_ids.get(name, []))
            for i, name in enumerate(names)]
    records = pd.DataFrame(summary.get("records") or [],
                           columns=["scenario", "metric", "sex", "by", "group", "age", "value",
                                    "lo", "hi", "diff", "diff_lo", "diff_hi"])
    records = records.astype({"scenario": object, "metric": object, "sex": object,
                              "by": object, "group": object})
    all_ids = sorted({i for ids in run_ids.values() for i in ids})
    runs = store.runs(run_ids=all_ids) if all_ids else store.runs(run_ids=[])
    reach = _reach(store, arms)
    demo = _demography(store, arms[0].run_ids)
    gap_time, width = _gap_over_time(store, arms)
    calibration = _calibration(store, arms[0].run_ids)
    obs = read_data("insee_life_expectancy_by_income_vingtile_2012_2016.csv")
    obs = obs[obs["vingtile"] > 0].assign(sex=lambda d: d["sex"].map({"H": "M", "F": "F"}))
    observed = obs[["sex", "vingtile", "e0", "e60", "e65"]].reset_index(drop=True)
    data = ReportData(comparison_id=cid, summary=summary, records=records, arms=arms,
                      runs=runs, created=row.get("created"), reach=reach, gap_time=gap_time,
                      demography=demo,
                      rolling_years=width, calibration=calibration, observed=observed)
    data.derived = {d["scenario"]: d for d in summary.get("summary") or []}
    data.posterior_fit = _posterior_fit(store, summary.get("uncertainty") or {})
    return data


def _posterior_fit(store: Any, uncertainty: dict[str, Any]) -> dict[str, Any] | None:
    """How well the calibration behind a probabilistic sensitivity analysis fits its
    targets, from the diagnostics stored with it (never runs the model)."""
    from ..store import StoreError

    if uncertainty.get("kind") != "chance+parameters" or uncertainty.get("calibration_id") is None:
        return None
    try:
        cal = store.calibration(int(uncertainty["calibration_id"]))
    except StoreError:
        return None
    info = cal.get("info") or {}
    fit = pd.DataFrame((info.get("diagnostics") or {}).get("fit") or [])
    if fit.empty or "within_tolerance" not in fit.columns:
        return None
    if "calibrated" in fit.columns:
        fit = fit[fit["calibrated"].astype(bool)]
    ok = fit["within_tolerance"].dropna().astype(bool)
    return {"calibration": cal["name"], "id": int(cal["id"]), "met": int(ok.sum()),
            "scored": int(len(ok)), "ess": info.get("effective_sample_size"),
            "particles": info.get("population_size")}


def _demography(store: Any, run_ids: list[int]) -> pd.DataFrame:
    """The baseline's population, births, deaths and net migration by year (full scale, mean
    over its runs); empty for runs stored before migration was modelled."""
    cols = ["population", "births", "deaths", "net_migration"]
    if not run_ids:
        return pd.DataFrame(columns=["year", *cols])
    y = store.yearly(run_ids)
    if y.empty or not set(cols) <= set(y["variable"]):
        return pd.DataFrame(columns=["year", *cols])
    wide = y[y["variable"].isin(cols)].pivot_table(index="year", columns="variable",
                                                   values="value", aggfunc="mean")
    return wide.reset_index()[["year", *cols]]


def _reach(store: Any, arms: list[ScenarioInfo]) -> dict[str, dict[str, float]]:
    """Mean yearly people reached and cost over the years when someone was reached."""
    out: dict[str, dict[str, float]] = {}
    for arm in arms:
        if not arm.run_ids:
            continue
        y = store.yearly(arm.run_ids)
        if y.empty:
            continue
        wide = y.pivot_table(index=["run_id", "year"], columns="variable", values="value")
        if "people_reached" not in wide.columns:
            continue
        cost = wide.get("intervention_cost_eur", pd.Series(0.0, index=wide.index))
        active = wide["people_reached"] > 0
        if not active.any():
            out[arm.name] = {"reached": 0.0, "cost": 0.0}
            continue
        out[arm.name] = {"reached": float(wide.loc[active, "people_reached"].mean()),
                         "cost": float(cost[active].mean())}
    return out


def _e0(deaths: np.ndarray, person_years: np.ndarray) -> float:
    """e0 of one group, NaN with fewer deaths than the stored life expectancies accept."""
    if person_years.sum() <= 0 or deaths.sum() < max(1, getattr(metrics, "MIN_DEATHS", 1)):
        return math.nan
    table = metrics.life_table(deaths, person_years, OPEN_AGE)
    return float(table["ex"].iloc[0])


def _run_gaps(lti: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Q5 - Q1 and V20 - V1 gaps in e0 by sex over rolling windows of one run's stored
    deaths and person-years by income vingtile."""
    v = lti[lti["by"] == "income_vingtile"]
    if v.empty:
        return pd.DataFrame(columns=["sex", "year", "gap", "measure"]), 0
    years = np.sort(v["year"].astype(int).unique())
    width = min(ROLLING_YEARS, len(years))
    n_age = int(v["age"].max()) + 1
    y_idx = np.searchsorted(years, v["year"].astype(int).to_numpy())
    g_idx = v["group"].astype(int).to_numpy() - 1
    a_idx = v["age"].astype(int).to_numpy()
    rows = []
    for sex in ("M", "F"):
        m = (v["sex"] == sex).to_numpy()
        if not m.any():
            continue
        d = np.zeros((20, len(years), n_age))
        py = np.zeros_like(d)
        np.add.at(d, (g_idx[m], y_idx[m], a_idx[m]), v["deaths"].to_numpy(float)[m])
        np.add.at(py, (g_idx[m], y_idx[m], a_idx[m]), v["person_years"].to_numpy(float)[m])
        cd = np.concatenate([np.zeros((20, 1, n_age)), np.cumsum(d, axis=1)], axis=1)
        cp = np.concatenate([np.zeros((20, 1, n_age)), np.cumsum(py, axis=1)], axis=1)
        for end in range(width - 1, len(years)):
            wd = cd[:, end + 1] - cd[:, end + 1 - width]
            wp = cp[:, end + 1] - cp[:, end + 1 - width]
            q5 = _e0(wd[16:].sum(0), wp[16:].sum(0)) - _e0(wd[:4].sum(0), wp[:4].sum(0))
            v20 = _e0(wd[19], wp[19]) - _e0(wd[0], wp[0])
            rows.append({"sex": sex, "year": int(years[end]), "gap": q5, "measure": "Q5-Q1"})
            rows.append({"sex": sex, "year": int(years[end]), "gap": v20,
                         "measure": "V20-V1"})
    return pd.DataFrame(rows), width


def _gap_over_time(store: Any, arms: list[ScenarioInfo]) -> tuple[pd.DataFrame, int]:
    cols = ["scenario", "measure", "sex", "year", "gap", "change", "gap_lo", "gap_hi",
            "change_lo", "change_hi"]
    per_arm: dict[str, list[pd.DataFrame]] = {}
    width = 0
    for arm in arms:
        frames = []
        for rep, rid in enumerate(arm.run_ids):
            g, w = _run_gaps(store.life_table_input([rid]))
            width = max(width, w)
            frames.append(g.assign(replicate=rep))
        per_arm[arm.name] = frames
    base = per_arm.get(arms[0].name, [])
    if not base or width < 1:
        return pd.DataFrame(columns=cols), width
    base_all = pd.concat(base, ignore_index=True)
    out = []
    for arm in arms:
        if not per_arm[arm.name]:
            continue
        cur = pd.concat(per_arm[arm.name], ignore_index=True)
        paired = cur.merge(base_all, on=["measure", "sex", "year", "replicate"],
                           suffixes=("", "_base"), how="left")
        paired["change"] = paired["gap"] - paired["gap_base"]
        rows = []
        for (measure, sex, year), grp in paired.groupby(["measure", "sex", "year"]):
            gap, gap_lo, gap_hi = metrics.mean_interval(grp["gap"].to_numpy(float))
            ch, ch_lo, ch_hi = metrics.mean_interval(grp["change"].to_numpy(float))
            rows.append({"measure": measure, "sex": sex, "year": year, "gap": gap,
                         "change": ch, "gap_lo": gap_lo, "gap_hi": gap_hi,
                         "change_lo": ch_lo, "change_hi": ch_hi})
        out.append(pd.DataFrame(rows).assign(scenario=arm.name))
    if not out:
        return pd.DataFrame(columns=cols), width
    return pd.concat(out, ignore_index=True)[cols], width


def _calibration(store: Any, run_ids: list[int]) -> pd.DataFrame:
    """The baseline's life expectancy at 0, 60 and 65 by income vingtile: mean and 95%
    confidence interval of the mean over its runs (Student t)."""
    cols = ["sex", "age", "vingtile", "mean", "lo", "hi"]
    if not run_ids:
        return pd.DataFrame(columns=cols)
    le = store.life_expectancy(run_ids)
    le = le[(le["by"] == "income_vingtile") & le["age"].isin([0, 60, 65])]
    if le.empty:
        return pd.DataFrame(columns=cols)
    le = le.assign(vingtile=le["group"].astype(int))
    rows = []
    for (sex, age, vingtile), grp in le.groupby(["sex", "age", "vingtile"]):
        mean, lo, hi = metrics.mean_interval(grp["e"].to_numpy(float))
        rows.append({"sex": sex, "age": age, "vingtile": vingtile, "mean": mean, "lo": lo,
                     "hi": hi})
    return pd.DataFrame(rows, columns=cols)
