"""Full-scale runs in one process: the whole region, or a population the size of France.

    python benchmarks/full_scale.py                      # all of Occitanie, 50 years
    python benchmarks/full_scale.py --agents 68000000 --years 5   # national scale

Runs the baseline scenario as ``run.py run`` does (population synthesis, initial state and
burn-in years, every pathway for ``--years`` years, then life tables and life expectancy by every
stratum) and prints one JSON object: the wall time of each phase and in all (``wall_s``,
JIT compilation excluded: kernels are compiled, or loaded from numba's cache, on a small
population first and reported as ``compile_s``), ``agent_years_per_s`` of the yearly
loop, and ``peak_rss_mb``, the process's peak resident memory.

Only Occitanie's data are shipped: a national-scale run simulates 68 million people with
Occitanie's age, income and department structure (each representing fewer inhabitants);
it measures time and memory at that size, not France's life expectancy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=None,
                    help="simulated people (default: every inhabitant of the region)")
    ap.add_argument("--years", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None,
                    help="numba threads (default: all cores)")
    ap.add_argument("--scenario", default=str(Path(__file__).resolve().parents[1]
                                            / "scenarios" / "baseline.toml"))
    args = ap.parse_args(argv)

    import numba

    from simulation.config import load_scenario
    from simulation.population import STATE_SCHEMA, load_region
    from simulation.runner import run_scenario

    if args.threads:
        numba.set_num_threads(args.threads)
    sc = load_scenario(args.scenario)
    agents = args.agents or load_region(sc.region).total
    sc = sc.with_options(agents=agents, years=args.years)

    t0 = time.perf_counter()
    run_scenario(sc.with_options(agents=2000, years=2))  # compiles or loads every kernel
    compile_s = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t0 = time.perf_counter()
    result = run_scenario(sc)
    wall = time.perf_counter() - t0
    lti = result.life_table_input
    agent_years = float(lti.loc[lti["by"] == "all", "person_years"].sum())
    e0 = result.life_expectancy.query("by == 'all' and age == 0").set_index("sex")["e"]
    out = {
        "agents": agents, "years": args.years, "threads": numba.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "wall_s": round(wall, 2),
        # the population drawn demography.burn_in_years before the start, then simulated
        # up to it (not reported)
        "burn_in_years": sc.parameters["demography.burn_in_years"],
        "synthesis_initial_state_and_burn_in_s": round(result.timings["synthesis"], 2),
        "simulation_s": round(result.timings["simulation"], 2),
        "metrics_s": round(result.timings["metrics"], 2),
        "compile_s": round(compile_s, 2),
        "agent_years": agent_years,
        "agent_years_per_s": round(agent_years / result.timings["simulation"]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_after_compile": round(rss_before, 1),
        "schema_bytes_per_person": sum(__import__("numpy").dtype(d).itemsize
                                       for d, _ in STATE_SCHEMA.values()),
        "e0_all": {k: round(float(v), 2) for k, v in e0.items()},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
