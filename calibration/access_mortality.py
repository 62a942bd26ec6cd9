"""Check the access-to-care mortality path against the quasi-experimental evidence.

    python calibration/access_mortality.py --agents 200000 [--case-fatality 2.5]

The model lets poor access to care (forgone care this year, no registered GP or no
complementary insurance) multiply the excess mortality of each chronic condition by
``care.case_fatality_rr_poor_access``. This script runs the baseline to the start year
and measures, among low-income adults aged 55-64 (income rank below the contributory
CSS ceiling, ``care.css_contributory_rank_max``), the relative fall in their yearly
probability of death if access were restored, at once and holding their conditions:

* ``treatment_on_treated``: among those with poor access, the effect of gaining access;
* ``intent_to_treat``: over the whole group (people with good access unchanged).

It prints JSON with both and the evidence they are read against:

* Miller, Johnson & Wherry (QJE 2021): the ACA Medicaid expansions lowered the annual
  mortality of low-income adults aged 55-64 by 0.132 percentage points, 9.4% of the
  mean (intent to treat); per adult gaining coverage, a fall of 39% to 64% (their
  treatment-on-treated range, as summarised by the CBPP, 2019);
* Sommers, Baicker & Epstein (NEJM 2012): -6.1% in adults aged 20-64 after earlier
  state expansions.

These effects are of gaining primary coverage in the United States; in France basic
coverage is universal and poor access means a missing complementary insurance, a missing
GP or forgone care, so the model's effect should lie below them. The immediate effect
measured here leaves out the slower path (``care.progression_rr_poor_access``: faster
progression to activity limitation), as Miller et al.'s first year does (-0.09 points,
growing to -0.2 by the fourth).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(agents: int, seed: int, case_fatality: float | None) -> dict:
    """Effects of restoring access among low-income 55-64-year-olds (see module doc)."""
    import tomllib

    from simulation.config import parse_scenario
    from simulation.kernels import pathways as kp
    from simulation.model import HealthInequalityModel
    from simulation.pathways import death_rr_table

    raw = tomllib.loads((ROOT / "scenarios" / "baseline.toml").read_text("utf-8"))
    if case_fatality is not None:
        raw.setdefault("parameters", {})["care.case_fatality_rr_poor_access"] = case_fatality
    sc = parse_scenario(raw, "access_mortality").with_options(agents=agents, years=1,
                                                               seed=seed)
    m = HealthInequalityModel(sc)
    pop, p = m.population, m.params
    n = pop.n
    alive = pop.alive[:n] == 1
    age, rank = pop.age[:n], pop.income_rank[:n]
    group = alive & (age >= 55) & (age <= 64) & (rank < p["care.css_contributory_rank_max"])
    care, ins = pop.care[:n], pop.insurance[:n]
    poor = (((care & kp.CARE_FORGONE) != 0) | ((care & kp.CARE_GP) == 0)
            | (ins == kp.INS_NONE))
    table = death_rr_table(p).reshape(32, 2, -1)
    # restoring access divides a person's risk by the ratio of the poor to the good cell,
    # which depends on the conditions only (smoking and disability factors cancel)
    ratio = table[:, 0, 0] / table[:, 1, 0]
    h0 = m.hazard(m.year)
    idx = np.flatnonzero(group)
    h = h0[pop.sex[idx], age[idx]] * pop.rr_death[idx]
    q_now = -np.expm1(-h)
    q_access = np.where(poor[idx], -np.expm1(-h * ratio[pop.conditions[idx]]), q_now)
    treated = poor[idx]
    return {
        "agents": agents, "seed": seed,
        "case_fatality_rr_poor_access": float(p["care.case_fatality_rr_poor_access"]),
        "group": f"income rank < {p['care.css_contributory_rank_max']:.3f}, ages 55-64",
        "people_simulated": int(idx.size),
        "share_with_poor_access": float(treated.mean()),
        "annual_mortality_pct": float(100 * q_now.mean()),
        "treatment_on_treated_pct": float(
            100 * (1 - q_access[treated].sum() / q_now[treated].sum())),
        "intent_to_treat_pct": float(100 * (1 - q_access.sum() / q_now.sum())),
        "evidence": {
            "miller_2021_itt_pct": 9.4, "miller_2021_tot_pct": [39, 64],
            "sommers_2012_itt_pct": 6.1,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--case-fatality", type=float, default=None,
                    help="override care.case_fatality_rr_poor_access")
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.agents, args.seed, args.case_fatality), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
