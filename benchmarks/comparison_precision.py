"""Time to a resolved comparison: the default comparison at its shipped settings.

    python benchmarks/comparison_precision.py                 # expected-value estimator
    python benchmarks/comparison_precision.py --realised      # also the realised one

Runs ``scenarios/default.toml`` as ``run.py compare`` does (a fresh SQLite store in a
temporary folder, every arm and replicate computed), after compiling the kernels on a tiny
comparison (``compile_s``, not counted), and prints one JSON object: ``wall_s``, the
settings, and for every arm the paired change of the e0 gaps (Q5-Q1 and V20-V1, men and
women) with the 95% half-width of its interval; ``goal`` says whether every half-width is
within 0.01 year (Q5-Q1) and 0.03 year (V20-V1), with no zero-width zero effect, in 90 s.

With ``--realised`` the same comparison also runs with ``outcomes.mortality_estimator =
"realised"`` (life tables from the deaths drawn), and ``variance_ratio`` gives, for each
arm and gap, the variance over replicates of the paired change with realised deaths divided
by the variance with expected deaths: the variance reduction of the expected-value
(Rao-Blackwellised) estimator.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
GOAL = {"Q5-Q1": 0.01, "V20-V1": 0.03}
GOAL_S = 90.0


def _with_parameter(spec, name, value):
    return replace(spec, baseline=spec.baseline.with_parameters({name: value}),
                   scenarios=tuple(s.with_parameters({name: value}) for s in spec.scenarios))


def _run(spec, db):
    from simulation.comparison import collect_outcomes, comparison_runs, summarise
    from simulation.runner import run_many
    from simulation.store import Store

    with Store(f"sqlite:///{db}") as store:
        t0 = time.perf_counter()
        stored = run_many(store, comparison_runs(spec))
        outcomes, _ = collect_outcomes(spec, store, stored)
        summary = summarise(spec, outcomes)
        wall = time.perf_counter() - t0
    return summary, outcomes, wall


def _gap_changes(spec, outcomes):
    """Paired change of each e0 gap in each replicate: {(arm, gap, sex): [values]}."""
    base = outcomes[spec.baseline.name]
    out = {}
    for sc in spec.scenarios:
        for r, b in zip(outcomes[sc.name], base, strict=True):
            for gap in GOAL:
                for sex in ("M", "F"):
                    def val(run, gap=gap, sex=sex):
                        g = run["gaps"]
                        v = g[(g["gap"] == gap) & (g["measure"] == "e") & (g["sex"] == sex)
                              & (g["age"] == 0)]["value"]
                        return float(v.iloc[0]) if len(v) else float("nan")
                    out.setdefault((sc.name, gap, sex), []).append(val(r) - val(b))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(ROOT / "scenarios" / "default.toml"))
    ap.add_argument("--realised", action="store_true",
                    help="also run with realised deaths and report the variance ratio")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    import numpy as np

    from simulation.comparison import load_comparison

    spec = load_comparison(args.file)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _run(spec.with_options(agents=2000, replicates=1, years=2), Path(tmp) / "warm.db")
        compile_s = time.perf_counter() - t0
        summary, outcomes, wall = _run(spec, Path(tmp) / "expected.db")
        arms = []
        ok = wall <= GOAL_S
        for row in summary["summary"]:
            arm = {"scenario": row["scenario"]}
            for gap, key in (("Q5-Q1", "gap_q_e0_change"), ("V20-V1", "gap_e0_change")):
                for sex in ("M", "F"):
                    d, lo, hi = (row.get(f"{key}_{sex}"), row.get(f"{key}_{sex}_lo"),
                                 row.get(f"{key}_{sex}_hi"))
                    half = None if lo is None or hi is None else (hi - lo) / 2
                    arm[f"{gap}_{sex}"] = {"change": d, "half_width": half}
                    ok &= half is not None and half <= GOAL[gap] and not (d == 0 and half == 0)
            arms.append(arm)
        result = {"benchmark": "comparison_precision", "file": args.file,
                  "agents": spec.baseline.agents, "replicates": spec.baseline.replicates,
                  "years": spec.baseline.years, "threads": int(
                      __import__("numba").config.NUMBA_NUM_THREADS),
                  "cpus": os.cpu_count(), "compile_s": round(compile_s, 1),
                  "wall_s": round(wall, 1), "arms": arms,
                  "goal": {"half_width_max": GOAL, "wall_s_max": GOAL_S, "met": bool(ok)}}
        if args.realised:
            real = _with_parameter(spec, "outcomes.mortality_estimator", "realised")
            _, real_out, real_wall = _run(real, Path(tmp) / "realised.db")
            exp_changes = _gap_changes(spec, outcomes)
            real_changes = _gap_changes(real, real_out)
            ratios = {}
            for key, values in exp_changes.items():
                v_exp = float(np.nanvar(values, ddof=1))
                v_real = float(np.nanvar(real_changes[key], ddof=1))
                ratios[" / ".join(key)] = round(v_real / v_exp, 2) if v_exp > 0 else None
            result["realised_wall_s"] = round(real_wall, 1)
            result["variance_ratio"] = ratios
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
