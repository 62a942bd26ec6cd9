"""Cost of storing a run's results, relative to computing the run.

    python benchmarks/store_speed.py --agents 100000 --years 30 --db sqlite:////tmp/bench.db

Runs ``--repeats`` replicates of the scenario, storing each with ``Store.save_run`` into
``--db`` (default: a fresh SQLite file in a temporary folder). Prints one JSON object:
``run_s`` (median wall time of ``run_scenario``: synthesis, simulation and life tables),
``store_s`` (median wall time of ``save_run``: encoding and the one transaction, commit
included), ``ratio`` (store_s / run_s), ``rows`` (rows written per run, by table, and
``life_table_input_cells``, the rows of the long deaths/person-years frame), ``bytes``
(packed life-table bytes per run), ``load_s`` (median time to read a run back) and
``first_store_s`` (the first save, which also hashes the package's source and asks git for
the commit, once per process). A benchmark, never a timed assertion.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--db", help="database URL (default: a new SQLite file)")
    ap.add_argument("--scenario", default=str(Path(__file__).resolve().parents[1]
                                            / "scenarios" / "baseline.toml"))
    args = ap.parse_args(argv)

    from simulation.config import load_scenario
    from simulation.runner import run_scenario
    from simulation.store import Store, encode_life_table_input

    sc = load_scenario(args.scenario).with_options(agents=args.agents, years=args.years)
    run_scenario(sc.with_options(agents=2000, years=2))  # compile / load the kernels

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        with Store(url) as store:
            run_s, store_s, load_s = [], [], []
            for rep in range(args.repeats + 1):
                t = time.perf_counter()
                result = run_scenario(sc, replicate=rep)
                t_run = time.perf_counter() - t
                t = time.perf_counter()
                run_id = store.save_run(result)
                t_store = time.perf_counter() - t
                t = time.perf_counter()
                store.load_result(run_id)
                t_load = time.perf_counter() - t
                if rep == 0:
                    first_store_s = t_store
                    continue
                run_s.append(t_run)
                store_s.append(t_store)
                load_s.append(t_load)
            lti_rows = encode_life_table_input(result.life_table_input)
            out = {
                "agents": args.agents, "years": args.years, "repeats": args.repeats,
                "db": store.display_url.split(":", 1)[0],
                "run_s": round(statistics.median(run_s), 4),
                "store_s": round(statistics.median(store_s), 4),
                "ratio": round(statistics.median(store_s) / statistics.median(run_s), 4),
                "ratio_per_run": [round(s / r, 4) for s, r in zip(store_s, run_s, strict=True)],
                "load_s": round(statistics.median(load_s), 4),
                "first_store_s": round(first_store_s, 4),
                "rows": {
                    "yearly": int(result.yearly.shape[0] * (result.yearly.shape[1] - 1)),
                    "life_expectancy": len(result.life_expectancy),
                    "life_table_input": len(lti_rows),
                    "life_table_input_cells": len(result.life_table_input),
                },
                "bytes": {"life_table_input": sum(
                    len(v) for r in lti_rows for v in r.values() if isinstance(v, bytes))},
            }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
