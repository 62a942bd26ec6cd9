"""Run a scenario and collect tidy results (the Python API behind the CLI).

>>> from simulation import load_scenario, run_scenario
>>> result = run_scenario(load_scenario("scenarios/baseline.toml"), agents=20_000, years=5)
>>> result.life_expectancy.query("by == 'all' and age == 0")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import metrics
from .config import Scenario
from .model import HealthInequalityModel

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
    le = model.life_expectancy(REPORT_AGES, life_table_input=lti)
    t3 = time.perf_counter()
    return RunResult(
        scenario=scenario, replicate=replicate, seed=model.seed_value,
        window=model.window_bounds(),
        yearly=model.yearly_aggregates(), life_table_input=lti, life_expectancy=le,
        timings={"synthesis": t1 - t0, "simulation": t2 - t1, "metrics": t3 - t2},
    )
