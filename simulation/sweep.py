"""Parameter sweeps: a comparison repeated over a grid or a Latin hypercube of values.

A sweep file (TOML) is a comparison whose arms are run at every point of a design over
*swept keys*; each point is a baseline and the arms with the point's values, paired on
common random numbers (every scenario of every point has the run's seed and replicates),
summarised exactly as ``run.py compare`` summarises a comparison::

    [sweep]
    name = "Smoking-cessation support: budget from 0.5 to 5 M euros a year"
    question = "How does the gap closed grow with the budget, for each allocation mode?"
    description = "..."                 # optional
    baseline = "baseline.toml"          # a scenario file, relative to this file
    x = "allocation.budget_eur"         # the key on the figure's x axis (default: the first)

    [run]                               # as in a comparison; overridable on the CLI
    agents = 100000
    years = 20
    replicates = 5
    seed = 1

    [[sweep.arms]]                      # as a comparison's [[scenarios]]
    name = "Universal"
    [[sweep.arms.interventions]]
    type = "smoking_cessation"
    allocation = { mode = "universal" }

    [sweep.grid]                        # every combination of the listed values ...
    "allocation.budget_eur" = [500000, 1000000, 2000000, 3500000, 5000000]

    # ... or a Latin hypercube (seeded: the same file gives the same points)
    # [sweep.lhs]
    # samples = 20
    # seed = 1                          # default: the run's seed
    # "allocation.budget_eur" = { min = 500000, max = 5000000 }
    # "parameters.care.non_take_up_free" = { min = 0.2, max = 0.4 }

Swept keys (dotted; quoted or as TOML dotted keys):

- ``allocation.KEY``: a key of the allocation of every intervention of every arm
  (``budget_eur`` in euros a year, ``intensity``, ``max_rank``, ``min_need``);
- ``intervention.KEY``: a key of every intervention of every arm (``effect``,
  ``unit_cost_eur`` in euros per person reached a year, ``start_year``,
  ``duration_years``);
- ``parameters.NAME``: a model parameter (``simulation/data/parameters.toml``) set in the
  baseline *and* the arms of the point: the interventions' effects under that assumption.

Arms that take ``allocation.`` or ``intervention.`` keys declare their interventions inline.
A point's scenarios are named ``ARM (key=value, ...)``. Every point is validated like a
comparison (one line naming the file, the key and what is expected; a bad swept value is
named by its ``sweep.grid.KEY`` or ``sweep.lhs.KEY``).

:func:`run_sweep` runs all the points' runs at once through :func:`simulation.runner.run_many`
(so on any executor, reusing stored runs: the baseline runs once when no parameter is
swept) and summarises each point with :func:`simulation.comparison.summarise`.
:func:`sweep_figure` draws the change of the e0 gap between the richest and poorest 5% against
the plotted key, one line per arm, with the 95% confidence intervals of the mean over
replicates.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from .comparison import (
    CHANCE_INTERVAL,
    ArmTable,
    ComparisonSpec,
    RunTable,
    collect_outcomes,
    comparison_runs,
    parse_comparison,
    summarise,
)
from .config import ConfigError, Scenario, has_table, read_toml
from .configmodels import RAW, NonBlank, Table, Text, field, invalid, validate

#: Namespaces of the swept keys.
NAMESPACES = ("allocation", "intervention", "parameters")
#: Most points a sweep may have (grid combinations or LHS samples).
MAX_POINTS = 10_000
#: Headline metrics of :func:`sweep_rows` (from the comparison's derived summary).
HEADLINE = ("cost_eur_per_year", "deaths_averted", "life_years_gained", "qalys_gained",
            "cost_per_life_year_eur", "gap_reduction_per_meur_per_year_M",
            "gap_reduction_per_meur_per_year_F")


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its swept values and the comparison they make."""

    index: int
    values: dict[str, Any]
    spec: ComparisonSpec


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: its design and its points."""

    name: str
    description: str
    question: str
    source: str
    design: str  # "grid" or "lhs"
    keys: tuple[str, ...]
    x: str
    arms: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    samples: int | None = None
    lhs_seed: int | None = None

    @property
    def baseline(self) -> Scenario:
        return self.points[0].spec.baseline

    def with_options(self, **options: Any) -> SweepSpec:
        """A copy with command-line run options (agents, seed, years, replicates)."""
        return replace(self, points=tuple(replace(p, spec=p.spec.with_options(**options))
                                          for p in self.points))

    def runs(self) -> list[tuple[Scenario, int]]:
        """Every (scenario, replicate) of every point, duplicates removed (a baseline
        shared by the points runs once)."""
        seen: set[tuple[str, int, int]] = set()
        out = []
        for p in self.points:
            for sc, r in comparison_runs(p.spec):
                key = (sc.hash, sc.seed, r)
                if key not in seen:
                    seen.add(key)
                    out.append((sc, r))
        return out


# ----------------------------------------------------------------------------- loading


def is_sweep_file(path: str | Path) -> bool:
    """True if the file holds a [sweep] table."""
    return has_table(path, "sweep")


def _flat_keys(node: dict[str, Any], prefix: str, leaf: Callable[[Any], bool]
               ) -> dict[str, Any]:
    """Dotted keys of nested tables down to the values where ``leaf(value)``."""
    out: dict[str, Any] = {}
    for k, v in node.items():
        name = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and not leaf(v):
            out.update(_flat_keys(v, name, leaf))
        else:
            out[name] = v
    return out


def _check_key(where: str, table: str, key: str) -> None:
    head, _, rest = key.partition(".")
    if head not in NAMESPACES or not rest or (head != "parameters" and "." in rest):
        raise ConfigError(where, f"sweep.{table}.{key}", "a swept key allocation.KEY, "
                          "intervention.KEY or parameters.NAME")


def _is_range(v: Any) -> bool:
    return isinstance(v, dict) and ("min" in v or "max" in v)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _grid(where: str, table: dict[str, Any]) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    values = _flat_keys(table, "", lambda v: False)
    if not values:
        raise ConfigError(where, "sweep.grid", "a table of swept keys, each with a list of "
                          "values")
    for key, v in values.items():
        _check_key(where, "grid", key)
        if (not isinstance(v, list) or not v
                or not all(isinstance(x, (int, float, str, bool)) for x in v)):
            raise ConfigError(where, f"sweep.grid.{key}", "a non-empty list of values", v)
    keys = tuple(values)
    n = math.prod(len(values[k]) for k in keys)
    if n > MAX_POINTS:
        raise ConfigError(where, "sweep.grid", f"at most {MAX_POINTS:,} points", n)
    points = [dict(zip(keys, combo, strict=True))
              for combo in itertools.product(*(values[k] for k in keys))]
    return keys, points


class _LhsSettings(Table):
    """``samples`` and ``seed`` of ``[sweep.lhs]`` (its other keys are swept ranges)."""

    samples: int = field(f"an integer from 1 to {MAX_POINTS:,}", ge=1, le=MAX_POINTS)
    seed: int | None = field("a non-negative integer", None, ge=0)


def _lhs(where: str, table: dict[str, Any], default_seed: int
         ) -> tuple[tuple[str, ...], list[dict[str, Any]], int, int]:
    settings = validate(_LhsSettings, {k: v for k, v in table.items() if k in ("samples", "seed")},
                        where, "sweep.lhs")
    samples = settings.samples
    seed = default_seed if settings.seed is None else settings.seed
    ranges = _flat_keys({k: v for k, v in table.items() if k not in ("samples", "seed")}, "",
                        _is_range)
    if not ranges:
        raise ConfigError(where, "sweep.lhs", "at least one swept key with { min, max }")
    for key, v in ranges.items():
        _check_key(where, "lhs", key)
        unknown = [k for k in v if k not in ("min", "max")] if isinstance(v, dict) else []
        if unknown:
            raise ConfigError(where, f"sweep.lhs.{key}.{unknown[0]}", "one of the keys min, max")
        if not (isinstance(v, dict) and set(v) == {"min", "max"} and _number(v["min"])
                and _number(v["max"]) and v["min"] <= v["max"]):
            raise ConfigError(where, f"sweep.lhs.{key}", "a range { min = A, max = B } of "
                              "finite numbers with A <= B", v)
    from scipy.stats import qmc

    keys = tuple(ranges)
    u = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(seed)).random(samples)
    points = []
    for row in u:
        point = {}
        for key, q in zip(keys, row, strict=True):
            lo, hi = float(ranges[key]["min"]), float(ranges[key]["max"])
            point[key] = float(f"{lo + q * (hi - lo):.6g}")  # 6 significant digits
        points.append(point)
    return keys, points, samples, seed


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k.split('.', 1)[1]}={_fmt(v)}" for k, v in values.items())


def _arm_at(where: str, i: int, arm: dict[str, Any], values: dict[str, Any],
            design: str) -> dict[str, Any]:
    item = copy.deepcopy(arm)
    item["name"] = f"{arm['name']} ({_label(values)})"
    for key, v in values.items():
        head, _, rest = key.partition(".")
        if head == "parameters":
            item.setdefault("parameters", {})
            if not isinstance(item["parameters"], dict):
                raise ConfigError(where, f"sweep.arms[{i}].parameters", "a table")
            item["parameters"] = {**_flat_keys(item["parameters"], "", lambda _: False),
                                  rest: v}
            continue
        ivs = item.get("interventions")
        if not isinstance(ivs, list) or not ivs or not all(isinstance(t, dict) for t in ivs):
            raise ConfigError(where, f"sweep.arms[{i}].interventions", "inline interventions "
                              f"([[sweep.arms.interventions]]) to take sweep.{design}.{key}")
        for t in ivs:
            if head == "intervention":
                t[rest] = v
            else:
                alloc = t.setdefault("allocation", {})
                if not isinstance(alloc, dict):
                    raise ConfigError(where, f"sweep.arms[{i}].interventions.allocation",
                                      "a table")
                alloc[rest] = v
    return item


def _swept_error(e: ConfigError, keys: tuple[str, ...]) -> str | None:
    """The swept key a point's error is about, if any."""
    for key in keys:
        head, _, rest = key.partition(".")
        pattern = {"allocation": rf"interventions\[\d+\]\.allocation\.{re.escape(rest)}",
                   "intervention": rf"interventions\[\d+\]\.{re.escape(rest)}",
                   "parameters": rf"parameters\.{re.escape(rest)}"}[head]
        if re.search(rf"(^|\.){pattern}$", e.key):
            return key
    return None


class _SweepHead(Table):
    """``[sweep]``; the arms are checked as a comparison's scenarios, at every point."""

    table_expected = "a table with name, baseline, arms and a grid or lhs"
    name: NonBlank
    description: Text = ""
    question: Text = ""
    baseline: NonBlank
    x: Any = None  # one of the swept keys, checked with them
    arms: list[ArmTable] = field("a non-empty array of tables ([[sweep.arms]])", got=False,
                                 min_length=1)
    grid: dict[str, Any] | None = field("a table of swept keys, each with a list of values",
                                        None, got=False, min_length=1)
    lhs: dict[str, Any] | None = field("a table with samples and swept ranges", None,
                                       got=False)

    @model_validator(mode="after")
    def _arms_and_design(self) -> _SweepHead:
        names = [arm.name.strip() for arm in self.arms]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise invalid("a name not used by another arm", "arms", i, "name", got=RAW)
        if (self.grid is None) == (self.lhs is None):
            raise invalid("exactly one of the tables sweep.grid and sweep.lhs")
        return self


class SweepFile(Table):
    """A sweep file; every point is then checked as a comparison."""

    unknown = "one of the tables {keys}"
    sweep: _SweepHead
    run: RunTable = Field(default_factory=RunTable)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (every point); raises :class:`ConfigError`."""
    p = Path(path)
    where = str(path)
    raw = read_toml(p, "sweep")
    f = validate(SweepFile, raw, where)
    head = f.sweep
    samples = lhs_seed = None
    if head.grid is not None:
        design = "grid"
        keys, values = _grid(where, head.grid)
    else:
        design = "lhs"
        keys, values, samples, lhs_seed = _lhs(where, head.lhs,
                                               1 if f.run.seed is None else f.run.seed)
    x = head.x if "x" in head.model_fields_set else keys[0]
    if x not in keys:
        raise ConfigError(where, "sweep.x", f"one of the swept keys {', '.join(keys)}", x)
    if not all(_number(v[x]) for v in values):
        raise ConfigError(where, "sweep.x", "a swept key with numeric values (the figure's "
                          "x axis)", x)
    arms = raw["sweep"]["arms"]
    points = []
    for n, vals in enumerate(values):
        items = [_arm_at(where, i, arm, vals, design) for i, arm in enumerate(arms)]
        comp = {"comparison": {"name": f"{head.name.strip()} [{_label(vals)}]",
                               "description": head.description, "question": head.question,
                               "baseline": head.baseline},
                "scenarios": items}
        if "run" in raw:
            comp["run"] = raw["run"]
        params = {k.partition(".")[2]: v for k, v in vals.items()
                  if k.startswith("parameters.")}
        try:
            spec = parse_comparison(comp, where, p.parent, baseline_parameters=params or None)
        except ConfigError as e:
            swept = _swept_error(e, keys)
            if swept is not None:
                raise ConfigError(where, f"sweep.{design}.{swept}", e.expected, e.got) from None
            key = re.sub(r"^scenarios", "sweep.arms", e.key)
            key = {"comparison.baseline": "sweep.baseline"}.get(key, key)
            raise ConfigError(e.source, key, e.expected, e.got) from None
        points.append(SweepPoint(index=n, values=vals, spec=spec))
    return SweepSpec(name=head.name.strip(), description=head.description,
                     question=head.question, source=where, design=design,
                     keys=keys, x=x, arms=tuple(arm.name.strip() for arm in head.arms),
                     points=tuple(points), samples=samples, lhs_seed=lhs_seed)


# ----------------------------------------------------------------------------- running


def run_sweep(spec: SweepSpec, store: Any, executor: Any = None,
              progress: Callable[[Scenario, int, bool], None] | None = None
              ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, list[int]]]]:
    """Run every point of ``spec`` through ``store`` (finished runs reused, the others
    computed by ``executor``, serially by default) and summarise each point as a
    comparison. Returns (summary, tidy records for ``sweep_results``, run ids by point).
    Nothing depends on the executor: every run carries its seed."""
    from .runner import run_many

    stored = run_many(store, spec.runs(), executor, progress)
    cache: dict[int, dict[str, Any]] = {}
    rows, records, run_ids = [], [], []
    for point in spec.points:
        outcomes, ids = collect_outcomes(point.spec, store, stored, cache)
        run_ids.append(ids)
        summary = summarise(point.spec, outcomes)
        arm_of = {sc.name: arm for sc, arm in zip(point.spec.scenarios, spec.arms, strict=True)}
        arm_of[point.spec.baseline.name] = point.spec.baseline.name
        hashes = {sc.name: sc.hash for sc in point.spec.all}
        values_json = json.dumps(point.values, sort_keys=True)
        for rec in summary["records"]:
            records.append({"point": point.index, "arm": arm_of[rec["scenario"]],
                            "scenario_hash": hashes[rec["scenario"]],
                            "point_values": values_json, "x": float(point.values[spec.x]),
                            **rec})
        gap = {(r["scenario"], r["sex"]): r for r in summary["records"]
               if r["metric"] == "gap_e" and r.get("by") == "V20-V1" and r.get("age") == 0}
        for derived in summary["summary"]:
            row = {"point": point.index, "arm": arm_of[derived["scenario"]],
                   "values": point.values, "x": point.values[spec.x]}
            for sex in ("M", "F"):
                g = gap.get((derived["scenario"], sex), {})
                row[f"gap_e0_{sex}"] = g.get("value")
                row[f"gap_e0_change_{sex}"] = g.get("diff")
                row[f"gap_e0_change_{sex}_lo"] = g.get("diff_lo")
                row[f"gap_e0_change_{sex}_hi"] = g.get("diff_hi")
            row.update({k: derived.get(k) for k in HEADLINE})
            rows.append(row)
    base = spec.baseline
    summary = {"sweep": spec.name, "question": spec.question, "description": spec.description,
               "source": spec.source, "design": spec.design, "keys": list(spec.keys),
               "x": spec.x, "samples": spec.samples, "lhs_seed": spec.lhs_seed,
               "baseline": base.name, "arms": list(spec.arms),
               "points": [p.values for p in spec.points], "replicates": base.replicates,
               "agents": base.agents, "years": base.years, "start_year": base.start_year,
               "seed": base.seed,
               "interval": CHANCE_INTERVAL,
               "rows": rows}
    return summary, records, run_ids


# ------------------------------------------------------------------------------ output


def _is_budget(key: str) -> bool:
    return key.endswith("budget_eur")


def _x_scale(key: str) -> tuple[float, str]:
    """Divisor and axis label of a swept key."""
    if _is_budget(key):
        return 1e6, "Budget (million euros a year)"
    return 1.0, key.split(".", 1)[1]


def format_sweep(summary: dict[str, Any]) -> str:
    """The readable table printed by ``run.py sweep``."""

    def num(v: float | None, digits: int = 2) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    def cell(row: dict, sex: str) -> str:
        c = row[f"gap_e0_change_{sex}"]
        if c is None:
            return "n/a"
        return (f"{num(c)} [{num(row[f'gap_e0_change_{sex}_lo'])}, "
                f"{num(row[f'gap_e0_change_{sex}_hi'])}]")

    keys = summary["keys"]
    heads = [("budget M€/yr" if _is_budget(k) else k.split(".", 1)[1])[:14] for k in keys]
    y0 = summary["start_year"]
    lines = [f"Sweep: {summary['sweep']}"]
    if summary.get("question"):
        lines.append(summary["question"])
    design = ("grid" if summary["design"] == "grid" else
              f"Latin hypercube, {summary['samples']} samples, seed {summary['lhs_seed']}")
    lines += [f"{len(summary['points'])} points ({design}) x {len(summary['arms'])} arms; "
              f"{summary['agents']:,} agents, {y0}-{y0 + summary['years'] - 1}, "
              f"{summary['replicates']} replicate(s), seed {summary['seed']}; "
              f"[low, high] = {summary['interval']}", "",
              "Change in the gap in life expectancy at birth between the richest and poorest "
              "5% (years; negative: the gap closes)"]
    lines.append("".join(f"{h:>15}" for h in heads) + f"  {'arm':<34}{'men':>24}{'women':>24}"
                 f"{'cost/yr':>10}{'deaths':>9}{'life-years':>12}")
    lines.append(" " * (15 * len(heads)) + f"  {'':<34}{'':>24}{'':>24}{'(M€)':>10}"
                 f"{'averted':>9}{'gained':>12}")
    for row in summary["rows"]:
        vals = "".join(f"{(_fmt(round(row['values'][k] / 1e6, 4)) if _is_budget(k) else _fmt(row['values'][k]))[:14]:>15}"
                       for k in keys)
        cost = row["cost_eur_per_year"]
        lines.append(f"{vals}  {row['arm'][:33]:<34}{cell(row, 'M'):>24}{cell(row, 'F'):>24}"
                     f"{num(None if cost is None else cost / 1e6, 2):>10}"
                     f"{num(row['deaths_averted'], 0):>9}{num(row['life_years_gained'], 0):>12}")
    lines += ["", "Totals over the horizon for the whole region; life-years discounted at 2.5% "
              "a year (HAS 2020)."]
    return "\n".join(lines)


def sweep_figure(summary: dict[str, Any]) -> Any:
    """The sweep's figure: the fall of the e0 gap V20-V1 (years) against the plotted key,
    men and women side by side, one line per arm (one per arm and combination of the other
    keys of a grid; points for a Latin hypercube), bars from the 2.5 to the 97.5
    percentile over replicates. Returns a :class:`matplotlib.figure.Figure`."""
    import textwrap

    from matplotlib.figure import Figure

    from .report.figures import LINESTYLES, MARKERS, OKABE_ITO, style

    x_key = summary["x"]
    div, xlabel = _x_scale(x_key)
    others = [k for k in summary["keys"] if k != x_key]
    with style():
        fig = Figure(figsize=(7.2, 3.9), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        handles = {}
        for ax, sex, title in zip(axes, ("M", "F"), ("Men", "Women"), strict=True):
            ax.axhline(0, color="#555555", linewidth=0.8)
            for a, arm in enumerate(summary["arms"]):
                rows = [r for r in summary["rows"] if r["arm"] == arm]
                groups: dict[tuple, list[dict]] = {}
                for r in rows:
                    groups.setdefault(tuple(r["values"][k] for k in others), []).append(r)
                for g, (combo, grp) in enumerate(sorted(groups.items(), key=lambda t: str(t[0]))):
                    grp = sorted(grp, key=lambda r: r["x"])
                    xs = np.array([r["x"] / div for r in grp], float)
                    ch = np.array([np.nan if r[f"gap_e0_change_{sex}"] is None
                                   else -r[f"gap_e0_change_{sex}"] for r in grp], float)
                    lo = np.array([np.nan if r[f"gap_e0_change_{sex}_hi"] is None
                                   else -r[f"gap_e0_change_{sex}_hi"] for r in grp], float)
                    hi = np.array([np.nan if r[f"gap_e0_change_{sex}_lo"] is None
                                   else -r[f"gap_e0_change_{sex}_lo"] for r in grp], float)
                    label = arm if not others or summary["design"] == "lhs" else (
                        f"{arm} ({_label(dict(zip(others, combo, strict=True)))})")
                    # arms side by side around each x so that their bars do not overlap
                    span = (np.nanmax(xs) - np.nanmin(xs)) if len(xs) > 1 else 1.0
                    shift = (a - (len(summary["arms"]) - 1) / 2) * 0.012 * span
                    line = "none" if summary["design"] == "lhs" else LINESTYLES[g % len(LINESTYLES)]
                    h = ax.errorbar(xs + shift, ch, yerr=[ch - lo, hi - ch],
                                    color=OKABE_ITO[a % len(OKABE_ITO)],
                                    marker=MARKERS[a % len(MARKERS)], linestyle=line,
                                    elinewidth=0.9, label=label)
                    handles.setdefault(label, h)
            ax.set_title(title)
            ax.set_xlabel(xlabel)
            if _is_budget(x_key):
                ax.set_xlim(left=0)
        axes[0].set_ylabel("Fall of the e0 gap V20-V1 (years)")
        y0 = summary["start_year"]
        legend = fig.legend(
            handles.values(), handles.keys(), loc="outside lower center",
            ncol=min(3, len(handles)),
            title=f"{summary['agents']:,} agents, {y0}-{y0 + summary['years'] - 1}, "
                  f"{summary['replicates']} replicates, paired with the baseline on common "
                  "random numbers; bars: 95% confidence intervals of the mean "
                  "over replicates")
        legend.get_title().set_fontsize(7)
        legend.get_title().set_color("#555555")
        fig.suptitle("\n".join(textwrap.wrap(summary["sweep"], 90)), fontsize=9.5,
                     fontweight="bold")
    return fig


def write_figure(summary: dict[str, Any], stem: Path) -> list[Path]:
    """Write :func:`sweep_figure` as ``stem.png`` and ``stem.svg`` (each atomically);
    returns the paths."""
    import os
    import tempfile

    from .report.figures import render

    png, svg = render(sweep_figure(summary))
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext, data in (("png", png), ("svg", svg)):
        path = stem.with_suffix(f".{ext}")
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=f".{ext}", dir=stem.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        out.append(path)
    return out
