"""Command-line interface: ``python run.py COMMAND ...`` (see ``python run.py --help``).

User mistakes (a bad file, an unknown key, an out-of-range option) end with one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import ConfigError, StoreError, UserError
from .labels import (
    CHANGE_DIGITS,
    fmt_count,
    fmt_estimate,
    fmt_num,
    fmt_pct,
    fmt_years,
    group_label,
    label,
    not_available,
)

EXIT_USAGE = 2
MAX_REPLICATES = 10_000
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
DEFAULT_COMPARISON = Path(__file__).resolve().parents[1] / "scenarios" / "default.toml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


def _available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(agents: int) -> None:
    """Refuse a population that cannot fit in the memory available now."""
    from .population import BYTES_PER_PERSON

    # state with 30% room for births, plus synthesis temporaries (~9 float64 per person)
    needed = agents * (BYTES_PER_PERSON * 1.3 + 80)
    avail = _available_memory_bytes()
    if avail is not None and needed > avail:
        raise UserError(
            f"--agents {agents:,} needs about {needed / 2**30:.1f} GiB of memory but only "
            f"{avail / 2**30:.1f} GiB is available; use fewer agents")


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    import numba

    if threads > numba.config.NUMBA_NUM_THREADS:
        raise UserError(f"--threads {threads}: at most {numba.config.NUMBA_NUM_THREADS} "
                        "threads on this machine (NUMBA_NUM_THREADS)")
    numba.set_num_threads(threads)


def _progress(total: int, label: str, enabled: bool):
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="year", file=sys.stderr, leave=False)
    return bar, bar.update


def compile_note() -> None:
    """Say on stderr when the model's kernels are not in numba's cache yet: the first run on
    a machine compiles them (about a minute), which would otherwise look like a hang."""
    import numba

    cache = (Path(numba.config.CACHE_DIR) if numba.config.CACHE_DIR
             else Path(__file__).resolve().parent / "kernels" / "__pycache__")
    if not any(cache.rglob("demography.year_step-*.nbi")):
        print("run.py: compiling the model's kernels (first run on this machine: about a "
              "minute more; later runs reuse them)", file=sys.stderr, flush=True)


def _plain_progress(total: int, what: str) -> Any:
    """Progress as plain lines on stderr, for when stderr is not a terminal (a log file, a
    CI job): one line per finished run, so a long job never looks stalled."""
    done = [0]
    start = time.monotonic()

    def update(name: str, replicate: int) -> None:
        done[0] += 1
        print(f"run.py: {what} {done[0]}/{total} done ({name}, replicate {replicate}; "
              f"{time.monotonic() - start:.0f} s)", file=sys.stderr, flush=True)
    return update


def _fmt(value: float | None) -> str:
    """A table cell of years: one decimal, or ``n/a`` where the value is undefined."""
    return f"{fmt_years(value, 'en', plain=True):>8}"


def format_replicate_gaps(gaps: list[dict]) -> str:
    """Mean and 2.5/97.5 percentiles of the e0 gap V20-V1 across replicates, by sex."""
    n = gaps[0]["n"] if gaps else 0
    lines = [f"Gap V20-V1 in life expectancy at birth across {n} replicates (years)",
             f"{'':<10}{'mean':>8}{'2.5%':>8}{'97.5%':>8}"]
    for g in gaps:
        lines.append(f"{label('sex', g['sex'], 'en'):<10}" + _fmt(g["mean"]) + _fmt(g["p2_5"])
                     + _fmt(g["p97_5"]) + (f"  ({g['n_defined']} of {n} defined)"
                                           if g["n_defined"] < n else ""))
    return "\n".join(lines) + "\n"


def format_life_expectancy(summary: dict) -> str:
    """The readable table printed by ``run``: e(0), e(35), e(60), e(65) by sex, for the
    whole population and each income vingtile, then the richest-poorest gap."""
    import pandas as pd

    le = pd.DataFrame(summary["life_expectancy"])
    le = le[le["by"].isin(["all", "income_vingtile"])]
    last = summary["start_year"] + summary["years"] - 1
    lines = [f"Scenario {summary['scenario']!r}: {fmt_num(summary['agents'], 'en', 0)} agents, "
             f"seed {summary['seed']}, {summary['start_year']}-{last}"
             f"; period life tables {summary['window'][0]}-{summary['window'][1]}",
             "Life expectancy (years) at birth, 35, 60 and 65, by sex and income vingtile "
             "(1 = poorest 5%, 20 = richest 5%)", ""]
    for sex in ("M", "F"):
        d = le[le["sex"] == sex]
        wide = d.pivot_table(index=["by", "group"], columns="age", values="e", sort=False)
        lines.append(f"{label('sex', sex, 'en'):<10}"
                     + "".join(f"{'e' + str(a):>8}" for a in wide.columns))
        for (by, group), row in wide.iterrows():
            name = "all" if by == "all" else group_label(by, group, "en")
            lines.append(f"{name:<10}" + "".join(_fmt(v) for v in row.to_numpy()))
        gaps = {g["age"]: g["gap"] for g in summary["gap_richest_poorest_vingtile"]
                if g["sex"] == sex}
        lines.append(f"{'gap V20-V1':<10}" + "".join(
            _fmt(gaps.get(a)) for a in wide.columns))
        lines.append("")
    return "\n".join(lines)


def _write_outputs(result, out_dir: Path, summary: dict | None = None) -> None:
    """Write the run's tables as CSV, atomically (a temporary folder renamed at the end)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir.parent))
    result.life_expectancy.to_csv(tmp / "life_expectancy.csv", index=False)
    result.yearly.to_csv(tmp / "yearly.csv", index=False)
    result.life_table_input.to_csv(tmp / "deaths_person_years.csv", index=False)
    summary = result.summary() if summary is None else summary
    (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    tmp.rename(out_dir)


def _check_out_dir(out: str | None) -> None:
    if out and Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out {out}: exists and is not a folder; give a folder name")


def _scenario(args: argparse.Namespace):
    """The scenario of ``args.scenario`` with the command-line options, refused if it cannot
    fit in memory (checked before reading the file when --agents is given)."""
    from .comparison import is_comparison_file
    from .config import load_scenario

    if args.agents is not None:
        check_memory(args.agents)
    if is_comparison_file(args.scenario):
        raise UserError(f"{args.scenario}: a comparison file (it has a [comparison] table), "
                        "not a scenario; run it with: python run.py compare "
                        f"{args.scenario}")
    scenario = load_scenario(args.scenario).with_options(
        agents=args.agents, seed=args.seed, years=args.years)
    check_memory(scenario.agents)
    return scenario


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import gap_across_replicates, run_replicates, run_scenario
    from .store import Store

    _check_executor(args)
    scenario = _scenario(args)
    replicates = scenario.replicates if args.replicates is None else args.replicates
    if replicates > MAX_REPLICATES:
        raise UserError(f"--replicates {replicates}: at most {MAX_REPLICATES:,}")
    _check_out_dir(args.out)
    _set_threads(args.threads)
    show_bar = not args.no_progress and sys.stderr.isatty()

    def compute(sc, replicate: int):
        label = sc.name if replicates == 1 else f"{sc.name} r{replicate}"
        bar, update = _progress(sc.years, label, show_bar)
        try:
            return run_scenario(sc, replicate=replicate, progress=update)
        finally:
            if bar is not None:
                bar.close()

    with Store(args.db) as store:  # opened first: a database problem stops us at once
        if replicates > 1 and (args.executor or args.scheduler):
            # replicates on the executor (one run: here, with its progress bar)
            with _executor(args) as executor:
                reps = run_replicates(scenario, replicates, store, executor=executor)
        else:
            reps = run_replicates(scenario, replicates, store, compute)
        gaps = gap_across_replicates(store.life_expectancy(reps.run_ids))
        db = store.display_url
    result = reps.first
    summary = result.summary()
    # only what the command determines: the same command prints the same JSON, whether
    # its runs were computed now or reused (how many were reused goes to stderr)
    summary.update({"replicates": replicates, "run_ids": reps.run_ids, "db": db,
                    "e0_gap_v20_v1_across_replicates": gaps})
    if args.out:
        _write_outputs(result, Path(args.out), summary)
    ids = reps.run_ids
    where = f"run {ids[0]}" if len(ids) == 1 else f"runs {', '.join(map(str, ids[:3]))}" + (
        f", ... {ids[-1]}" if len(ids) > 3 else "")
    note = (f"{replicates} replicate{'s' if replicates > 1 else ''}: {reps.n_reused} reused "
            f"from the database, {replicates - reps.n_reused} computed; {where} in {db}")
    if args.json:
        print(json.dumps(summary))
        print(note, file=sys.stderr)
        return 0
    print(format_life_expectancy(summary))
    if replicates > 1:
        print(format_replicate_gaps(gaps))
    print(note)
    if args.out:
        print(f"Tables written to {args.out}/")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .store import Store

    with Store(args.db, create=False) as store:
        frame = store.table(args.table, run_id=args.run, comparison_id=args.comparison,
                            sweep_id=args.sweep)
    if not args.out:
        try:
            frame.to_csv(sys.stdout, index=False, lineterminator="\n")
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into head
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give a file name such as {args.table}.csv")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=out.parent)
        with os.fdopen(fd, "w", newline="") as f:
            frame.to_csv(f, index=False, lineterminator="\n")
        os.replace(tmp, out)
    except OSError as e:
        raise UserError(f"--out {out}: cannot write ({e.strerror or e})") from None
    print(f"{len(frame):,} rows of {args.table} written to {out}", file=sys.stderr)
    return 0


def _has_table(path: str, table: str) -> bool:
    """True if ``path`` is a TOML file with a top-level ``[table]``."""
    import tomllib

    try:
        return table in tomllib.loads(Path(path).read_text("utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False


def format_interventions(records: list[dict[str, Any]]) -> str:
    """The readable list printed by ``interventions``."""
    lines = []
    for r in records:
        lines += [f"{r['type']}: {r['label']}",
                  f"  who: {r['eligible']}",
                  f"  effect: {r['effect']:g} (95% range {r['effect_low']:g} to "
                  f"{r['effect_high']:g}), {r['effect_unit']}",
                  f"  evidence ({r['grade']}): {r['evidence']}",
                  f"  unit cost: {fmt_num(r['unit_cost_eur'], 'en', 0)} euros ({r['cost_basis']}): "
                  f"{r['cost_source']}",
                  f"  published cost per QALY: {r['published_cost_per_qaly']}", ""]
    return "\n".join(lines).rstrip()


def cmd_interventions(args: argparse.Namespace) -> int:
    """The registry of intervention types (simulation/data/interventions.toml)."""
    from .interventions import TYPES

    records = [k.record(args.lang) for k in TYPES]
    print(json.dumps(records, ensure_ascii=False) if args.json
          else format_interventions(records))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .comparison import ComparisonSpec, load_any
    from .sensitivity import is_sensitivity_file, load_sensitivity
    from .sweep import is_sweep_file, load_sweep

    for path in args.files:
        if is_sensitivity_file(path):
            spec = load_sensitivity(path)
            print(f"{path}: ok (sensitivity {spec.name!r}: {len(spec.parameters)} parameters, "
                  f"{spec.method})")
            continue
        if _has_table(path, "calibration"):
            from .calibration import load_calibration

            cal = load_calibration(path)
            print(f"{path}: ok (calibration {cal.name!r}: {len(cal.priors)} parameters, "
                  f"{len(cal.observed())} targets)")
            continue
        if is_sweep_file(path):
            sw = load_sweep(path)
            print(f"{path}: ok (sweep {sw.name!r}: {len(sw.points)} points x "
                  f"{len(sw.arms)} arms)")
            continue
        obj = load_any(path)
        if isinstance(obj, ComparisonSpec):
            print(f"{path}: ok (comparison {obj.name!r}: baseline and "
                  f"{len(obj.scenarios)} scenarios)")
        else:
            print(f"{path}: ok (scenario {obj.name!r}, hash {obj.hash[:12]})")
    return 0


def format_comparison(summary: dict) -> str:
    """The readable table printed by ``compare``."""
    import pandas as pd

    rec = pd.DataFrame(summary["records"])
    lines = [f"Comparison: {summary['comparison']}"]
    if summary.get("question"):
        lines.append(summary["question"])
    lines += [f"{fmt_num(summary['agents'], 'en', 0)} agents, {summary['start_year']}-"
              f"{summary['start_year'] + summary['years'] - 1}, {summary['replicates']} "
              f"replicate(s), seed {summary['seed']}; [low, high] = {summary['interval']}", ""]
    for gap in ("Q5-Q1", "V20-V1"):
        lines.append("Gap in life expectancy at birth between "
                     f"{label('gap_words', gap, 'en')}, in years")
        lines.append(f"{'scenario':<44}{'men':>8}{'change':>28}{'women':>8}{'change':>28}")
        for name in [summary["baseline"], *summary["scenarios"]]:
            cells = []
            for sex in ("M", "F"):
                g = rec[(rec["scenario"] == name) & (rec["metric"] == "gap_e")
                        & (rec["by"] == gap) & (rec["sex"] == sex) & (rec["age"] == 0)]
                if g.empty:
                    cells += [not_available("en"), ""]
                    continue
                r = g.iloc[0]
                change = ("" if name == summary["baseline"] else
                          fmt_estimate(r["diff"], r["diff_lo"], r["diff_hi"], "en",
                                       CHANGE_DIGITS, signed=True, plain=True))
                cells += [fmt_years(r["value"], "en", plain=True), change]
            lines.append(f"{name[:43]:<44}{cells[0]:>8}{cells[1]:>28}{cells[2]:>8}"
                         f"{cells[3]:>28}")
        lines.append("")
    lines += [f"{'scenario':<44}{'cost/yr':>10}{'deaths':>10}{'life-years':>12}"
              f"{'QALYs':>10}{'euros per':>12}{'EDE QALE':>10}",
              f"{'':<44}{'(M euros)':>10}{'averted':>10}{'gained':>12}{'gained':>10}"
              f"{'QALY':>12}{'change':>10}"]
    for row in summary["summary"]:
        cost = fmt_num((row["cost_eur_per_year"] or 0) / 1e6, "en", 1, plain=True)
        lines.append(
            f"{row['scenario'][:43]:<44}{cost:>10}"
            f"{fmt_count(row['deaths_averted'], 'en', plain=True):>10}"
            f"{fmt_count(row['life_years_gained'], 'en', plain=True):>12}"
            f"{fmt_count(row['qalys_gained'], 'en', plain=True):>10}"
            f"{fmt_num(row.get('cost_per_qaly_eur'), 'en', 0, plain=True):>12}"
            f"{fmt_years(row.get('ede_atkinson_change'), 'en', change=True, plain=True):>10}")
    h = summary.get("horizon") or {}
    effects = ("lifetime: the simulated years, then the expected remaining life of everyone "
               "alive at their end" if h.get("effects") == "lifetime" else
               "the simulated years only")
    rate = h.get("discount_rate", 0.025)
    lines += ["", f"Deaths averted over the simulated years; life-years and QALYs over the "
              f"horizon ({effects}); life-years, QALYs and costs discounted at "
              f"{fmt_pct(rate, 'en', 1)} a "
              "year from the start year (HAS 2020). EDE QALE: change in the equally "
              "distributed equivalent quality-adjusted life expectancy over income fifths "
              "(Atkinson aversion, years): above the mean change when the gains go to the "
              "worse off."]
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    from .comparison import comparison_hashes, load_comparison, run_comparison
    from .store import Store

    _check_executor(args)
    if args.agents is not None:
        check_memory(args.agents)
    spec = load_comparison(args.file).with_posterior(getattr(args, "posterior", None))
    spec = spec.with_options(
        agents=args.agents, seed=args.seed, years=args.years, replicates=args.replicates)
    check_memory(spec.baseline.agents)
    _set_threads(args.threads)
    total = spec.baseline.replicates * len(spec.all)
    show_bar = not args.no_progress and sys.stderr.isatty()
    bar = None
    progress = None
    if show_bar:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="runs", unit="run", file=sys.stderr, leave=False)
        progress = lambda name, r: bar.update(1)  # noqa: E731
    elif not args.no_progress:
        progress = _plain_progress(total, "run")
    if not args.no_progress:
        compile_note()
    try:
        with Store(args.db) as store, _executor(args) as executor:
            summary, run_ids = run_comparison(spec, store, progress=progress,
                                              executor=executor)
            base_hash, hashes = comparison_hashes(spec, summary)
            cid = store.find_comparison(spec.name, base_hash, hashes, run_ids, summary)
            reused = cid is not None
            if cid is None:
                cid = store.save_comparison(spec.name, base_hash, hashes, run_ids, summary)
            db = store.display_url
    finally:
        if bar is not None:
            bar.close()
    summary = {"id": cid, **summary, "run_ids": run_ids, "db": db}
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_comparison(summary))
        print(f"\nComparison {cid} {'already ' if reused else ''}stored in {db}"
              + (" (the same runs and results: not stored again)" if reused else ""))
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .sensitivity import (
        format_table,
        load_sensitivity,
        run_sensitivity,
        summary,
        write_outputs,
    )
    from .store import Store

    if args.agents is not None:
        check_memory(args.agents)
    _check_executor(args)
    spec = load_sensitivity(args.file).with_options(
        agents=args.agents, years=args.years, seed=args.seed, replicates=args.replicates,
        method=args.method, trajectories=args.trajectories, samples=args.samples)
    check_memory(spec.baseline.agents)
    _set_threads(args.threads)
    _check_out_dir(args.out)
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc="runs", unit="run", file=sys.stderr, leave=False)
    try:
        with Store(args.db) as store, _executor(args) as executor:
            result = run_sensitivity(spec, store, executor,
                                     (lambda sc, r, reused: bar.update(1)) if bar else None)
            db = store.display_url
    finally:
        if bar is not None:
            bar.close()
    try:
        paths = write_outputs(result, Path(args.out))
    except OSError as e:
        raise UserError(f"--out {args.out}: cannot write ({e.strerror or e})") from None
    if args.json:
        print(json.dumps({**summary(result), "files": {k: str(v) for k, v in paths.items()},
                          "db": db}))
    else:
        print(format_table(result))
        print(f"\nTable {paths['table']}, figure {paths['png']} (and .svg); runs in {db}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .store import Store
    from .sweep import format_sweep, load_sweep, run_sweep, write_figure

    _check_executor(args)
    if args.agents is not None:
        check_memory(args.agents)
    spec = load_sweep(args.file).with_options(
        agents=args.agents, seed=args.seed, years=args.years, replicates=args.replicates)
    check_memory(spec.baseline.agents)
    _check_out_dir(args.out)
    out = Path(args.out)
    try:  # a folder we cannot write to stops us now, not after the runs
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    _set_threads(args.threads)
    runs = spec.runs()
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(runs), desc="runs", unit="run", file=sys.stderr, leave=False)
    try:
        with Store(args.db) as store, _executor(args) as executor:
            summary, records, run_ids = run_sweep(
                spec, store, executor, (lambda sc, r, reused: bar.update(1)) if bar else None)
            # the figure first: the sweep is stored only once everything is written
            stem = out / f".sweep-{os.getpid()}"
            tmp_paths = write_figure(summary, stem)
            try:
                sid = store.save_sweep(spec.name, spec.source, spec.design, spec.keys,
                                       summary["points"], run_ids, summary, records)
            except BaseException:
                for path in tmp_paths:
                    path.unlink(missing_ok=True)
                raise
            db = store.display_url
    finally:
        if bar is not None:
            bar.close()
    figures = []
    for path in tmp_paths:
        final = out / f"sweep_{sid}{path.suffix}"
        os.replace(path, final)
        figures.append(str(final))
    summary = {"id": sid, **summary, "run_ids": run_ids, "db": db, "figures": figures}
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_sweep(summary))
        print(f"\nSweep {sid} stored in {db} (tidy results: run.py export sweep_results "
              f"--sweep {sid}); figure {figures[0]}")
    return 0


def cmd_validate_baseline(args: argparse.Namespace) -> int:
    from .validation import validate

    _check_executor(args)
    scenario = _scenario(args).with_options(start_year=args.start_year)
    _set_threads(args.threads)
    if args.replicates > 1 and (args.executor or args.scheduler):
        with _executor(args) as executor:
            table, _ = validate(scenario, replicates=args.replicates, executor=executor)
    else:
        table, _ = validate(scenario, replicates=args.replicates)
    if args.json:
        rows = json.loads(table.to_json(orient="records"))
        met = table["ok"].dropna()
        print(json.dumps({"agents": scenario.agents, "years": scenario.years,
                          "replicates": args.replicates, "seed": scenario.seed,
                          "targets_met": int(met.sum()), "targets_scored": int(len(met)),
                          "targets": rows}))
        return 0
    print(format_validation(table, scenario, args.replicates))
    return 0


def format_validation(table, scenario, replicates: int) -> str:
    """The validation table as plain text (also pasted into the README)."""
    met = table["ok"].dropna()
    lines = [f"Baseline against observed French figures: {fmt_num(scenario.agents, 'en', 0)} "
             "agents, "
             f"{scenario.years} years pooled, {replicates} replicate(s), seed {scenario.seed}",
             f"{int(met.sum())} of {len(met)} scored targets within tolerance", "",
             f"{'target':<44}{'group':<30}{'observed':>9}{'model':>9}{'diff':>8}  "
             f"{'tolerance':<9} ok"]
    for _, r in table.iterrows():
        ok = "" if r["ok"] is None or r["ok"] != r["ok"] else ("yes" if r["ok"] else "NO")
        observed, model, diff = (fmt_num(r[c], "en", 2, plain=True)
                                 for c in ("observed", "model", "difference"))
        lines.append(f"{r['target'][:43]:<44}{str(r['group'])[:29]:<30}{observed:>9}"
                     f"{model:>9}{diff:>8}  {r['tolerance']:<9} {ok}")
    lines += ["", "Sources: " + "; ".join(sorted(set(table["source"])))]
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report
    from .store import Store

    if args.lang not in ("fr", "en"):
        raise UserError(f"--lang {args.lang}: expected fr or en")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder; give a folder name")
    with Store(args.db, create=False) as store:
        path = write_report(store, args.comparison, args.lang, out)
    print(f"Report written to {path}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .dashboard import serve

    serve(args.db, args.host, args.port)
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    """No command: run the default comparison on the embedded default (SQLite) and write
    its report."""
    ns = argparse.Namespace(file=str(DEFAULT_COMPARISON), agents=None, seed=None, years=None,
                            replicates=None, threads=None, json=False, no_progress=False,
                            db=None, posterior=None, executor=None, workers=None,
                            scheduler=None, threads_per_worker=None)
    code = cmd_compare(ns)
    if code == 0:
        code = cmd_report(argparse.Namespace(comparison=None, lang="fr", out="outputs",
                                             db=None))
    return code


def cmd_calibrate(args: argparse.Namespace) -> int:
    """ABC-SMC calibration (resumable), its posterior stored, then the diagnostics."""
    from .calibration import (
        calibrate,
        diagnostics,
        format_fit,
        load_calibration,
        sigterm_as_interrupt,
    )
    from .store import Store

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder; give a folder name")
    if args.draws is not None and args.draws > 1000:
        raise UserError(f"--draws {args.draws}: at most 1,000")
    spec = None if args.diagnostics_only and args.calibration else load_calibration(args.file)
    if spec is not None:
        check_memory(spec.scenario.agents)
    with Store(args.db) as store, _executor(args) as executor, sigterm_as_interrupt():
        if args.diagnostics_only:
            ref = args.calibration
            if ref is None:
                found = store.calibrations()
                found = found[(found["config_hash"] == spec.hash)
                              & (found["status"] == "finished")]
                if found.empty:
                    raise UserError(f"{args.file}: no finished calibration of this file in "
                                    f"{store.display_url}; run 'python run.py calibrate "
                                    f"{args.file}' first")
                ref = int(found["id"].iloc[-1])
            cid = int(store.calibration(ref)["id"])
        else:
            show_bar = not args.no_progress and sys.stderr.isatty()
            print(f"Calibration {spec.name!r}: {len(spec.priors)} parameters, "
                  f"{len(spec.observed())} targets, {spec.scenario.agents:,} agents x "
                  f"{spec.scenario.years} years, {spec.population_size} particles x "
                  f"{spec.generations} generations, on {executor.describe()}",
                  file=sys.stderr, flush=True)
            res = calibrate(spec, store, executor, args.db, log=True, bar=show_bar,
                            fresh=args.fresh)
            cid = res["id"]
        diag = None
        if not args.no_diagnostics:
            diag = diagnostics(store, cid, out, draws=args.draws, executor=executor)
        cal = store.calibration(cid)
        db = store.display_url
    summary = {"id": cid, "name": cal["name"], "db": db, "info": cal["info"],
               "figures": {} if diag is None else {k: str(v) for k, v in
                                                   diag["figures"].items()},
               "fit_table": None if diag is None else str(diag["fit_csv"])}
    if args.json:
        if diag is not None:
            summary["fit"] = json.loads(diag["fit"].to_json(orient="records"))
        print(json.dumps(summary))
        return 0
    info = cal["info"]
    print(f"Calibration {cid} ({cal['name']}) stored in {db}: {info.get('generations')} "
          f"generations, {info.get('evaluations')} evaluations, final epsilon "
          f"{info.get('epsilons', [float('nan')])[-1]:.3g}, effective sample size "
          f"{info.get('effective_sample_size', float('nan')):.1f} of "
          f"{info.get('population_size')}, {info.get('wall_time_s') or 0:.0f} s")
    if diag is not None:
        print(format_fit(diag["fit"]))
        print(f"Figures and fit table written to {out}/")
    return 0


def _add_run_options(parser: argparse.ArgumentParser, replicates_help: str,
                     json: bool = True) -> None:
    """The run options shared by the commands that run a batch of scenarios."""
    parser.add_argument("--replicates", type=_positive_int, help=replicates_help)
    parser.add_argument("--agents", type=_positive_int, help="number of simulated people")
    parser.add_argument("--seed", type=_non_negative_int, help="random seed (non-negative)")
    parser.add_argument("--years", type=_positive_int, help="horizon in years")
    parser.add_argument("--threads", type=_positive_int, help="numba threads")
    if json:
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object on stdout")


def _add_executor(parser: argparse.ArgumentParser) -> None:
    """The options of :func:`simulation.executor.make_executor`."""
    g = parser.add_argument_group("executor (results are identical whatever the executor)")
    g.add_argument("--executor", choices=("serial", "processes", "dask"), default=None,
                   help="where runs are computed: serial (default), local processes, or "
                   "Dask (a LocalCluster, or the cluster given by --scheduler)")
    g.add_argument("--workers", type=_positive_int, help="local worker processes (default: "
                   "the cores available)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="address of an existing "
                   "Dask scheduler (implies --executor dask)")
    g.add_argument("--threads-per-worker", type=_positive_int, help="numba threads per "
                   "worker (default 1)")


def _check_executor(args: argparse.Namespace) -> None:
    """Refuse bad executor options, and an unreachable --scheduler, before any work."""
    from .executor import ExecutorError, check_options

    try:
        check_options(args.executor, args.workers, args.scheduler, args.threads_per_worker)
    except ExecutorError as e:
        raise UserError(str(e)) from None


def _executor(args: argparse.Namespace):
    """The executor named by the command line (serial when no option is given)."""
    from .executor import ExecutorError, make_executor

    try:
        return make_executor(args.executor, workers=args.workers, scheduler=args.scheduler,
                             threads_per_worker=args.threads_per_worker)
    except ExecutorError as e:
        raise UserError(str(e)) from None


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="results database: a SQLAlchemy URL such "
                        "as sqlite:///outputs/healthgap.db (the default) or "
                        "postgresql+psycopg://USER@HOST/DATABASE; default from $HEALTHGAP_DB "
                        "if set")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run.py", description="healthgap: microsimulation of social health "
                "inequalities and of the interventions that reduce them.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="simulate one scenario and print life expectancy by "
                       "income vingtile")
    r.add_argument("scenario", help="scenario file (TOML)")
    r.add_argument("--agents", type=_positive_int, help="number of simulated people")
    r.add_argument("--seed", type=_non_negative_int, help="random seed (non-negative)")
    r.add_argument("--years", type=_positive_int, help="horizon in years")
    r.add_argument("--threads", type=_positive_int, help="numba threads (results do not "
                   "depend on it)")
    r.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    r.add_argument("--out", help="also write the tables as CSV into this folder")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.add_argument("--replicates", type=_positive_int, help="run replicates 0..N-1 (default: "
                   "the scenario's simulation.replicates); finished ones are reused from the "
                   "database")
    _add_executor(r)
    _add_db(r)
    r.set_defaults(func=cmd_run)

    from .store import TABLES

    x = sub.add_parser("export", help="write a stored table as CSV")
    x.add_argument("table", choices=TABLES, help="the table to export")
    x.add_argument("--run", type=_positive_int, help="only this run (id)")
    x.add_argument("--comparison", type=_positive_int, help="only the runs of this comparison")
    x.add_argument("--sweep", type=_positive_int, help="only this sweep (tables sweeps and "
                   "sweep_results)")
    x.add_argument("--out", help="CSV file to write (default: standard output)")
    _add_db(x)
    x.set_defaults(func=cmd_export)

    v = sub.add_parser("validate", help="check scenario, comparison, sweep, sensitivity or "
                       "calibration files without running them")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_validate)

    iv = sub.add_parser("interventions", help="list the intervention types: effect sizes "
                        "with their 95%% range, strength of evidence, sources and costs")
    iv.add_argument("--json", action="store_true", help="print one JSON list")
    iv.add_argument("--lang", choices=("fr", "en"), default="en", help="language of the texts")
    iv.set_defaults(func=cmd_interventions)

    c = sub.add_parser("compare", help="run a baseline and scenarios paired on common random "
                       "numbers and compare them")
    c.add_argument("file", help="comparison file (TOML)")
    _add_run_options(c, "replicates (default: the file's)")
    c.add_argument("--posterior", metavar="CALIBRATION", help="draw each replicate's "
                   "parameters from the posterior of this calibration (name or id), so the "
                   "intervals include parameter uncertainty (overrides the file's "
                   "[uncertainty])")
    c.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_executor(c)
    _add_db(c)
    c.set_defaults(func=cmd_compare)

    se = sub.add_parser("sensitivity", help="which parameters move the life-expectancy gap "
                        "and an intervention's effect on it (Morris screening or Sobol)")
    se.add_argument("file", help="sensitivity file (TOML; see simulation/sensitivity.py)")
    se.add_argument("--method", choices=("morris", "sobol"), help="default: the file's "
                    "(morris)")
    se.add_argument("--trajectories", type=_positive_int, help="Morris trajectories")
    se.add_argument("--samples", type=_positive_int, help="Sobol base samples (a power of 2)")
    _add_run_options(se, "paired runs per parameter set", json=False)
    se.add_argument("--out", default="outputs", help="folder for the table (CSV), the "
                    "summary (JSON) and the figure (PNG, SVG); default outputs")
    se.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    se.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_executor(se)
    _add_db(se)
    se.set_defaults(func=cmd_sensitivity)

    w = sub.add_parser("sweep", help="run a comparison over a grid or a Latin hypercube of "
                       "parameter values (e.g. budgets) and plot the gap closed")
    w.add_argument("file", help="sweep file (TOML; see simulation/sweep.py)")
    _add_run_options(w, "replicates (default: the file's)")
    w.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    w.add_argument("--out", default="outputs", help="folder for the figure sweep_ID.png and "
                   ".svg (default: outputs)")
    _add_executor(w)
    _add_db(w)
    w.set_defaults(func=cmd_sweep)

    b = sub.add_parser("validate-baseline", help="compare the baseline with the observed "
                       "French gradients (INSEE, DREES, Sante publique France)")
    b.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO))
    b.add_argument("--agents", type=_positive_int, default=200_000)
    b.add_argument("--years", type=_positive_int, default=5,
                   help="simulated years from --start-year (default 5: 2012-2016, the period "
                        "of INSEE's life expectancies by income)")
    b.add_argument("--start-year", type=int, default=2012,
                   help="first simulated year (default 2012: the targets' period, so that "
                        "the years simulated are the years observed)")
    b.add_argument("--replicates", type=_positive_int, default=3,
                   help="replicates pooled (default 3: less chance noise per vingtile)")
    b.add_argument("--seed", type=_non_negative_int)
    b.add_argument("--threads", type=_positive_int)
    b.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _add_executor(b)
    b.set_defaults(func=cmd_validate_baseline)

    rp = sub.add_parser("report", help="write the HTML report of a stored comparison "
                        "(French by default)")
    rp.add_argument("--comparison", type=_positive_int, help="comparison id (default: the "
                    "latest)")
    rp.add_argument("--lang", default="fr", help="fr (default) or en")
    rp.add_argument("--out", default="outputs", help="folder for the report and its figures "
                    "(default: outputs)")
    _add_db(rp)
    rp.set_defaults(func=cmd_report)

    d = sub.add_parser("dashboard", help="start the local dashboard (browse comparisons, run a "
                       "small live model)")
    d.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    d.add_argument("--port", type=_positive_int, default=8765)
    _add_db(d)
    d.set_defaults(func=cmd_dashboard)

    cb = sub.add_parser("calibrate", help="calibrate parameters against the observed gradients "
                        "(ABC-SMC with pyabc; resumable) and write diagnostics")
    cb.add_argument("file", nargs="?", default="calibration/default.toml",
                    help="calibration file (TOML; default calibration/default.toml)")
    cb.add_argument("--diagnostics-only", action="store_true", help="only the diagnostics of "
                    "a stored calibration (of FILE, or --calibration ID)")
    cb.add_argument("--calibration", type=_positive_int, help="with --diagnostics-only: the "
                    "stored calibration's id")
    cb.add_argument("--no-diagnostics", action="store_true", help="skip the diagnostics")
    cb.add_argument("--draws", type=_positive_int, help="posterior draws simulated for the "
                    "diagnostics (default 8)")
    cb.add_argument("--out", default="outputs/calibration", help="folder for the figures and "
                    "the fit table (default outputs/calibration)")
    cb.add_argument("--fresh", action="store_true", help="start again instead of resuming "
                    "pyabc's history")
    cb.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    cb.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_executor(cb)
    _add_db(cb)
    cb.set_defaults(func=cmd_calibrate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", cmd_default)
    try:
        return func(args)
    except (ConfigError, UserError, StoreError) as e:
        print(f"run.py: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("run.py: error: out of memory; use fewer --agents", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("run.py: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. head, which closed early
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def main_entry() -> NoReturn:
    """The ``healthgap`` console command (``[project.scripts]`` in pyproject.toml), the same
    as ``python run.py``: :func:`main` on the command line's arguments, exiting with its
    code."""
    sys.exit(main(sys.argv[1:]))
