"""Run a scenario and collect tidy results (the Python API behind the CLI); run scenarios
through a results store, reusing the runs it holds (:func:`get_or_run`, :func:`run_many`).

>>> from simulation import load_scenario, run_scenario
>>> result = run_scenario(load_scenario("scenarios/baseline.toml"), agents=20_000, years=5)
>>> result.life_expectancy.query("by == 'all' and age == 0")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from .config import Scenario
from .model import HealthInequalityModel
from .store import StoredRun, bind_runner, scenario_from_canonical

#: Ages at which life expectancy is reported.
REPORT_AGES = (0, 35, 60, 65)


@dataclass
class RunResult:
    """Results of one replicate: tidy DataFrames, plus what identifies the run."""

    scenario: Scenario
    replicate: int
    seed: int
    window: tuple[int, int]
    yearly: pd.DataFrame
    life_table_input: pd.DataFrame
    life_expectancy: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    def gaps(self) -> pd.DataFrame:
        """Life-expectancy gap between the richest and the poorest 5% (years), by sex and age."""
        return metrics.gap(self.life_expectancy, "income_vingtile", "1", "20")

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (the object printed by ``run.py run --json``)."""
        le = self.life_expectancy.copy()
        le["age"] = le["age"].astype(int)
        le["e"] = le["e"].astype(float).round(3)
        if "hle" in le.columns:
            le["hle"] = le["hle"].astype(float).round(3)
        gaps = self.gaps()
        gaps["age"] = gaps["age"].astype(int)
        gaps["gap"] = gaps["gap"].astype(float).round(3)
        return {
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.hash,
            "seed": self.scenario.seed,
            "replicate": self.replicate,
            "agents": self.scenario.agents,
            "start_year": self.scenario.start_year,
            "years": self.scenario.years,
            "window": list(self.window),
            "life_expectancy": _records(le[["sex", "by", "group", "age", "e"]]),
            "healthy_life_expectancy": (
                _records(le[["sex", "by", "group", "age", "hle"]].rename(columns={"hle": "e"}))
                if "hle" in le.columns else []),
            "gap_richest_poorest_vingtile": _records(gaps[["sex", "age", "gap"]]),
            "yearly": _records(self.yearly.round(6)),
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()})
    return out


def run_scenario(scenario: Scenario, replicate: int = 0,
                 progress: Callable[[int], None] | None = None, **options: Any) -> RunResult:
    """Build the model for ``scenario`` (with ``options`` such as agents, seed, years
    overriding it), run its horizon and return tidy results."""
    scenario = scenario.with_options(**options) if options else scenario
    t0 = time.perf_counter()
    model = HealthInequalityModel(scenario, replicate=replicate)
    t1 = time.perf_counter()
    model.run_years(progress=progress)
    t2 = time.perf_counter()
    lti = model.life_table_input()
    le = model.life_expectancy(REPORT_AGES, life_table_input=lti, healthy=True)
    t3 = time.perf_counter()
    return RunResult(
        scenario=scenario, replicate=replicate, seed=model.seed_value,
        window=model.window_bounds(),
        yearly=model.yearly_aggregates(), life_table_input=lti, life_expectancy=le,
        timings={"synthesis": t1 - t0, "simulation": t2 - t1, "metrics": t3 - t2},
    )


# ----------------------------------------------------------------------- replicates


@dataclass
class Replicates:
    """Replicates 0..N-1 of one scenario, run through a results store
    (:func:`run_replicates`)."""

    scenario: Scenario
    run_ids: list[int]
    reused: list[bool]
    first: RunResult  # replicate 0, computed now or read back from the store

    @property
    def n_reused(self) -> int:
        return sum(self.reused)


def compute_run(scenario: Scenario, replicate: int) -> RunResult:
    """One replicate of one scenario (the task that executors run in their workers)."""
    return run_scenario(scenario, replicate=replicate)


def get_or_run(store: Any, scenario: Scenario, replicate: int,
               compute: Callable[[Scenario, int], RunResult] | None = None) -> StoredRun:
    """Reuse the finished run of (scenario, replicate) stored in ``store``
    (:class:`simulation.store.Store`) by this code version, or compute it with
    ``compute(scenario, replicate)`` (default: :func:`run_scenario`) and save it; also
    ``store.get_or_run(scenario, replicate, compute)``."""
    found = store.find_run(scenario, replicate)
    if found is not None:
        return StoredRun(found, True)
    compute = compute or compute_run
    started = datetime.now(UTC)
    result = compute(scenario, replicate)
    return StoredRun(store.save_run(result, started=started), False)


def load_run_result(store: Any, run_id: int, scenario: Scenario | None = None) -> RunResult:
    """A :class:`RunResult` rebuilt from ``store`` (the scenario from its canonical text
    unless given); also ``store.load_run_result(run_id, scenario)``."""
    frames = store.load_result(run_id)
    run = frames["run"].iloc[0]
    if scenario is None:
        scenario = scenario_from_canonical(store.scenario_canonical(run["scenario_hash"]),
                                           source=f"run {run_id}")
    return RunResult(
        scenario=scenario, replicate=int(run["replicate"]), seed=int(run["run_seed"]),
        window=(int(run["window_first"]), int(run["window_last"])),
        yearly=frames["yearly"], life_table_input=frames["life_table_input"],
        life_expectancy=frames["life_expectancy"], timings=json.loads(run["timings"]))


def run_many(store: Any, runs: Sequence[tuple[Scenario, int]], executor: Any = None,
             progress: Callable[[Scenario, int, bool], None] | None = None
             ) -> dict[tuple[str, int, int], Any]:
    """Run each ``(scenario, replicate)`` of ``runs`` through ``store``: a finished run
    stored by this code version is reused, the others are computed by ``executor``
    (:mod:`simulation.executor`; default: serially here) and each saved in its own
    transaction as soon as it finishes, so an interrupted batch resumes where it stopped.

    Returns :class:`~simulation.store.StoredRun` by ``(scenario hash, seed, replicate)``;
    ``progress(scenario, replicate, reused)`` is called once per run."""
    from .executor import Executor

    out: dict[tuple[str, int, int], Any] = {}
    todo: list[tuple[Scenario, int]] = []
    seen: set[tuple[str, int, int]] = set()
    for sc, r in runs:
        key = (sc.hash, sc.seed, int(r))
        if key in seen:  # the same run asked twice (e.g. a sweep's shared baseline)
            continue
        seen.add(key)
        found = store.find_run(sc, r)
        if found is not None:
            out[key] = StoredRun(found, True)
            if progress is not None:
                progress(sc, r, True)
        else:
            todo.append((sc, int(r)))
    executor = executor or Executor()
    for i, result in executor.map(compute_run, todo):
        sc, r = todo[i]
        out[(sc.hash, sc.seed, r)] = StoredRun(store.save_run(result), False)
        if progress is not None:
            progress(sc, r, False)
    return out


def run_replicates(scenario: Scenario, replicates: int, store: Any,
                   compute: Callable[[Scenario, int], RunResult] | None = None,
                   executor: Any = None) -> Replicates:
    """Run replicates ``0..replicates-1`` of ``scenario`` through ``store``
    (:class:`simulation.store.Store`): a finished run already stored by this code version is
    reused, any other is computed with ``compute(scenario, replicate)`` (default:
    :func:`run_scenario`; or by ``executor``, see :func:`run_many`) and saved in its own
    transaction, so an interrupted loop resumes where it stopped."""
    if executor is not None and compute is None:
        stored = run_many(store, [(scenario, r) for r in range(replicates)], executor)
        runs = [stored[(scenario.hash, scenario.seed, r)] for r in range(replicates)]
        return Replicates(scenario=scenario, run_ids=[x.run_id for x in runs],
                          reused=[x.reused for x in runs],
                          first=load_run_result(store, runs[0].run_id, scenario))
    compute = compute or (lambda sc, r: run_scenario(sc, replicate=r))
    kept: dict[int, RunResult] = {}

    def compute_and_keep(sc: Scenario, r: int) -> RunResult:
        result = compute(sc, r)
        if r == 0:
            kept[0] = result
        return result

    run_ids, reused = [], []
    for r in range(replicates):
        stored = get_or_run(store, scenario, r, compute_and_keep)
        run_ids.append(stored.run_id)
        reused.append(stored.reused)
    first = kept.get(0) or load_run_result(store, run_ids[0], scenario)
    return Replicates(scenario=scenario, run_ids=run_ids, reused=reused, first=first)


def gap_across_replicates(le: pd.DataFrame, age: int = 0, by: str = "income_vingtile",
                          low: str = "1", high: str = "20") -> list[dict[str, Any]]:
    """The gap ``e(age)`` of group ``high`` minus group ``low`` of stratum ``by`` in each run
    of ``le`` (life expectancy with a ``run_id`` column), summarised by sex over the runs:
    ``n`` runs, ``n_defined`` where the gap is defined, ``mean`` and the 2.5 and 97.5
    percentiles (``p2_5``, ``p97_5``; linear interpolation), None where undefined."""
    per_sex: dict[str, list[float]] = {"M": [], "F": []}
    run_ids = list(dict.fromkeys(le["run_id"].tolist()))
    for run_id in run_ids:
        g = metrics.gap(le[le["run_id"] == run_id], by, low, high)
        g = g[g["age"] == age]
        for sex, value in zip(g["sex"].tolist(), g["gap"].astype(float).tolist(), strict=True):
            per_sex.setdefault(sex, []).append(value)
    out = []
    for sex, values in per_sex.items():
        v = np.asarray(values, dtype=float)
        v = v[~np.isnan(v)]
        stats = ({"mean": float(v.mean()), "p2_5": float(np.percentile(v, 2.5)),
                  "p97_5": float(np.percentile(v, 97.5))} if v.size else
                 {"mean": None, "p2_5": None, "p97_5": None})
        out.append({"sex": sex, "age": age, "n": len(run_ids), "n_defined": int(v.size),
                    **stats})
    return out


# Store.get_or_run and Store.load_run_result call the two functions above (the store does
# not import the runner).
bind_runner(get_or_run, load_run_result)
