"""Throughput and memory of the yearly kernels.

    python benchmarks/throughput.py --agents 1000000 --years 10 --threads 1

``--processes demography`` times the core engine alone (mortality, ageing, births).
Prints one JSON object: ``agent_years_per_s`` (median over ``--repeats`` runs of stepping
``--years`` years, JIT compilation excluded and reported as ``compile_s``), ``peak_rss_mb``
(the process's peak resident memory, population synthesis included) and
``bytes_per_person`` (state arrays, including capacity kept for births, per living person).
``--per-kernel`` adds ``ms_per_year``: the time of each kernel (its Python wrapper included)
per simulated year, the median over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=1_000_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--processes", choices=("all", "demography"), default="all",
                    help="all: every pathway; demography: mortality, ageing and births only "
                    "(the core engine)")
    ap.add_argument("--scenario", default=str(Path(__file__).resolve().parents[1]
                                            / "scenarios" / "baseline.toml"))
    ap.add_argument("--per-kernel", action="store_true",
                    help="also report the time of each kernel per simulated year")
    args = ap.parse_args(argv)

    import numba

    from simulation import pathways
    from simulation.config import load_scenario
    from simulation.kernels import demography as kd
    from simulation.model import HealthInequalityModel
    from simulation.population import STATE_SCHEMA

    numba.set_num_threads(args.threads)
    sc = load_scenario(args.scenario).with_options(agents=args.agents)

    t0 = time.perf_counter()
    enabled = args.processes == "all"
    warm = HealthInequalityModel(sc.with_options(agents=2000), pathways_enabled=enabled)
    warm.run_years(2)  # compiles (or loads from cache) every kernel
    compile_s = time.perf_counter() - t0

    timings: dict[str, float] = {}
    if args.per_kernel:
        for mod, name in ((pathways, "run_sep"), (pathways, "run_exposures"),
                          (pathways, "run_care"), (pathways, "run_disease"),
                          (kd, "year_step"), (kd, "place_births")):
            setattr(mod, name, _timed(getattr(mod, name), name, timings))

    rates = []
    per_kernel: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        model = HealthInequalityModel(sc, pathways_enabled=enabled)
        py_before = sum(c[0].sum() for c in model._counts)
        timings.clear()
        t = time.perf_counter()
        model.run_years(args.years)
        dt = time.perf_counter() - t
        for name, v in timings.items():
            per_kernel.setdefault(name, []).append(1000.0 * v / args.years)
        per_kernel.setdefault("other", []).append(
            1000.0 * (dt - sum(timings.values())) / args.years)
        agent_years = sum(int(c[0, :20].sum()) for c in model._counts) - py_before
        rates.append(agent_years / dt)
    pop = model.population
    state_bytes = sum(getattr(pop, name).nbytes for name in STATE_SCHEMA)
    out = {
        "agents": args.agents, "years": args.years, "threads": args.threads,
        "processes": args.processes,
        "numba_threads": numba.get_num_threads(), "repeats": args.repeats,
        "agent_years_per_s": statistics.median(rates),
        "agent_years_per_s_all": rates,
        "compile_s": round(compile_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bytes_per_person": round(state_bytes / max(pop.n_alive, 1), 2),
        "schema_bytes_per_person": sum(__import__("numpy").dtype(d).itemsize
                                       for d, _ in STATE_SCHEMA.values()),
        "cpu_count": os.cpu_count(),
    }
    if args.per_kernel:
        out["ms_per_year"] = {k: round(statistics.median(v), 2) for k, v in per_kernel.items()}
    print(json.dumps(out))
    return 0


def _timed(fn, name: str, timings: dict[str, float]):
    """``fn`` adding its wall time to ``timings[name]``."""
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
    return wrapper


if __name__ == "__main__":
    raise SystemExit(main())
