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
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

EXIT_USAGE = 2
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


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


def format_life_expectancy(summary: dict) -> str:
    """The readable table printed by ``run``: e(0), e(35), e(60), e(65) by sex, for the
    whole population and each income vingtile, then the richest-poorest gap."""
    import pandas as pd

    le = pd.DataFrame(summary["life_expectancy"])
    le = le[le["by"].isin(["all", "income_vingtile"])]
    lines = [f"Scenario {summary['scenario']!r}: {summary['agents']:,} agents, seed "
             f"{summary['seed']}, {summary['start_year']}-{summary['start_year'] + summary['years'] - 1}"
             f"; period life tables {summary['window'][0]}-{summary['window'][1]}",
             "Life expectancy (years) at birth, 35, 60 and 65, by sex and income vingtile "
             "(1 = poorest 5%, 20 = richest 5%)", ""]
    for sex, name in (("M", "Men"), ("F", "Women")):
        d = le[le["sex"] == sex]
        wide = d.pivot_table(index=["by", "group"], columns="age", values="e", sort=False)
        lines.append(f"{name:<10}" + "".join(f"{'e' + str(a):>8}" for a in wide.columns))
        for (by, group), row in wide.iterrows():
            label = "all" if by == "all" else f"V{group}"
            lines.append(f"{label:<10}" + "".join(f"{v:8.1f}" for v in row.to_numpy()))
        gaps = {g["age"]: g["gap"] for g in summary["gap_richest_poorest_vingtile"]
                if g["sex"] == sex}
        lines.append(f"{'gap V20-V1':<10}" + "".join(
            f"{gaps.get(a, float('nan')):8.1f}" for a in wide.columns))
        lines.append("")
    return "\n".join(lines)


def _write_outputs(result, out_dir: Path) -> None:
    """Write the run's tables as CSV, atomically (a temporary folder renamed at the end)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir.parent))
    result.life_expectancy.to_csv(tmp / "life_expectancy.csv", index=False)
    result.yearly.to_csv(tmp / "yearly.csv", index=False)
    result.life_table_input.to_csv(tmp / "deaths_person_years.csv", index=False)
    (tmp / "summary.json").write_text(json.dumps(result.summary(), indent=1))
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    tmp.rename(out_dir)


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_scenario
    from .runner import run_scenario

    if args.agents is not None:
        check_memory(args.agents)
    scenario = load_scenario(args.scenario).with_options(
        agents=args.agents, seed=args.seed, years=args.years)
    check_memory(scenario.agents)
    _set_threads(args.threads)
    bar, update = _progress(scenario.years, scenario.name,
                            not args.no_progress and sys.stderr.isatty())
    try:
        result = run_scenario(scenario, progress=update)
    finally:
        if bar is not None:
            bar.close()
    summary = result.summary()
    if args.out:
        _write_outputs(result, Path(args.out))
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_life_expectancy(summary))
        if args.out:
            print(f"Tables written to {args.out}/")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .config import load_scenario

    for path in args.files:
        sc = load_scenario(path)
        print(f"{path}: ok (scenario {sc.name!r}, hash {sc.hash[:12]})")
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    """No command: run the baseline on the embedded default and write its tables."""
    ns = argparse.Namespace(scenario=str(DEFAULT_SCENARIO), agents=None, seed=None, years=None,
                            threads=None, json=False, no_progress=False,
                            out=str(Path("outputs") / "baseline"))
    return cmd_run(ns)


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
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_validate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from .config import ConfigError

    args = build_parser().parse_args(argv)
    func = getattr(args, "func", cmd_default)
    try:
        return func(args)
    except (ConfigError, UserError) as e:
        print(f"run.py: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("run.py: error: out of memory; use fewer --agents", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("run.py: interrupted", file=sys.stderr)
        return 130
