"""The report's figures (matplotlib, Agg, no pyplot): one style, a colour-blind-safe palette
(Okabe-Ito) with markers and line styles that survive black-and-white printing, axes with
units, labels in the report's language and decimal commas in French.

Each ``fig_*`` function takes the :class:`~simulation.report.data.ReportData` and a
language and returns a :class:`matplotlib.figure.Figure` (or None when there is nothing to
draw); :func:`render` turns it into PNG and SVG bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from ..labels import group_order, label, localise
from .data import ReportData, ScenarioInfo
from .strings import t

#: Okabe & Ito (2008) colour-blind-safe palette; black is kept for the baseline.
OKABE_ITO = ("#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
BASELINE_COLOUR = "#000000"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")
LINESTYLES = ("-", "--", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (3, 1)), (0, (1, 1)))
SEX_COLOUR = {"M": "#0072B2", "F": "#D55E00"}
SEX_MARKER = {"M": "o", "F": "s"}
WIDTH_IN = 7.2  # fits an A4 page with 15 mm margins

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "errorbar.capsize": 2.5,
    "text.parse_math": False,  # scenario names may hold '$'
    "svg.hashsalt": "healthgap-report",
    "svg.fonttype": "path",
    "savefig.dpi": 160,
    "figure.dpi": 100,
}


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for the duration of a block (no global change)."""
    with matplotlib.rc_context(STYLE):
        yield


class _Formatter(ScalarFormatter):
    """Matplotlib's tick labels with a decimal comma (French)."""

    def __init__(self, lang: str) -> None:
        super().__init__(useOffset=False)
        self.lang = lang

    def __call__(self, x: float, pos: int | None = None) -> str:
        return localise(super().__call__(x, pos), self.lang)


def axes_format(ax: Any, lang: str, x: bool = True, y: bool = True) -> None:
    """Tick labels of ``ax``'s numeric axes in ``lang``'s decimal separator (a decimal comma
    in French, as :func:`simulation.labels.localise` writes it); ``x``/``y``: which axes."""
    if x:
        ax.xaxis.set_major_formatter(_Formatter(lang))
    if y:
        ax.yaxis.set_major_formatter(_Formatter(lang))


def arm_styles(data: ReportData) -> dict[str, dict[str, Any]]:
    """Colour, marker and line style of each arm, the same in every figure."""
    out = {}
    for i, arm in enumerate(data.arms):
        if arm.is_baseline:
            out[arm.name] = {"color": BASELINE_COLOUR, "marker": "o", "linestyle": "-"}
            continue
        k = i - 1
        out[arm.name] = {"color": OKABE_ITO[k % len(OKABE_ITO)],
                         "marker": MARKERS[(k + 1) % len(MARKERS)],
                         "linestyle": LINESTYLES[(k + 1) % len(LINESTYLES)]}
    return out


def nested_sizes(n: int, largest: float = 8.0, smallest: float = 3.5) -> list[float]:
    """Marker sizes decreasing with the arm's order, so that arms whose results coincide
    stay visible as nested markers."""
    if n <= 1:
        return [largest] * n
    step = (largest - smallest) / (n - 1)
    return [largest - k * step for k in range(n)]


def _wrap(text: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _legend(fig: Figure, data: ReportData, lang: str,
            arms: list[ScenarioInfo] | None = None,
            extra: list[tuple[Any, str]] | None = None, lines: bool = True) -> None:
    styles = arm_styles(data)
    handles, labels = [], []
    for arm in arms if arms is not None else data.arms:
        s = styles[arm.name]
        handles.append(Line2D([], [], color=s["color"], marker=s["marker"],
                              linestyle=s["linestyle"] if lines else "none"))
        labels.append(_wrap(arm.label(lang)))
    for h, lab in extra or []:
        handles.append(h)
        labels.append(_wrap(lab))
    ncol = min(3, max(1, len(handles)))
    fig.legend(handles, labels, loc="outside upper center", ncol=ncol)


def _figure(height: float, ncols: int = 2, nrows: int = 1, **kw: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _legend_height(n: int) -> float:
    return 0.25 * math.ceil(n / 3) + 0.2


def render(fig: Figure) -> tuple[bytes, bytes]:
    """(PNG bytes, SVG bytes) of a figure, deterministic (no dates in the metadata)."""
    with style():
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", metadata={"Software": None})
        # the layout is solved: keep it for the SVG rather than solving it again
        fig.set_layout_engine("none")
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return png.getvalue(), svg.getvalue()


def _values(data: ReportData, scenario: str, metric: str, by: str, age: int, sex: str,
            groups: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = data.records
    sub = r[(r["scenario"] == scenario) & (r["metric"] == metric) & (r["by"] == by)
            & (r["age"] == age) & (r["sex"] == sex)].set_index("group")
    sub = sub.reindex(groups)
    return tuple(sub[c].to_numpy(dtype=float, na_value=np.nan) for c in ("value", "lo", "hi"))


# ------------------------------------------------------------------------------ figures


def fig_vingtile(data: ReportData, lang: str) -> Figure | None:
    """Life expectancy at birth by income vingtile, one panel per sex, INSEE dotted."""
    groups = [str(g) for g in range(1, 21)]
    if data.records.empty or not (data.records["by"] == "income_vingtile").any():
        return None
    styles = arm_styles(data)
    with style():
        fig, axes = _figure(3.3 + _legend_height(len(data.arms) + 1), sharey=True)
        x = np.arange(1, 21)
        for ax, sex in zip(axes[0], ("M", "F"), strict=True):
            for arm in data.arms:
                v, lo, hi = _values(data, arm.name, "life_expectancy", "income_vingtile", 0,
                                    sex, groups)
                s = styles[arm.name]
                if arm.is_baseline and data.has_intervals:
                    ax.fill_between(x, lo, hi, color="#bbbbbb", alpha=0.5, linewidth=0)
                ax.plot(x, v, color=s["color"], marker=s["marker"], linestyle=s["linestyle"],
                        markersize=3.5, zorder=3 if arm.is_baseline else 2)
            obs = data.observed[data.observed["sex"] == sex].sort_values("vingtile")
            ax.plot(obs["vingtile"], obs["e0"], color="#555555", linestyle=":", linewidth=1.8,
                    zorder=1)
            ax.set_title(label("sex", sex, lang))
            ax.set_xticks([1, 5, 10, 15, 20])
            ax.set_xlim(0.5, 20.5)
            axes_format(ax, lang)
        axes[0][0].set_ylabel(t(lang, "ax_e0"))
        fig.supxlabel(t(lang, "ax_vingtile"), fontsize=8.5)
        insee = Line2D([], [], color="#555555", linestyle=":", linewidth=1.8)
        _legend(fig, data, lang, extra=[(insee, t(lang, "insee"))])
    return fig


def fig_gap_time(data: ReportData, lang: str) -> Figure | None:
    """The Q5 - Q1 gap in e0 by year (rolling window) and its paired change."""
    g = data.gap_time
    if g.empty:
        return None
    g = g[g["measure"] == "Q5-Q1"]
    if g["year"].nunique() < 2:
        return None
    styles = arm_styles(data)
    with style():
        fig, axes = _figure(4.6 + _legend_height(len(data.arms)), nrows=2, sharex=True)
        for col, sex in enumerate(("M", "F")):
            top, bottom = axes[0][col], axes[1][col]
            for arm in data.arms:
                d = g[(g["scenario"] == arm.name) & (g["sex"] == sex)].sort_values("year")
                if d.empty:
                    continue
                s = styles[arm.name]
                kw = {"color": s["color"], "marker": s["marker"], "linestyle": s["linestyle"],
                      "markersize": 3.5}
                top.plot(d["year"], d["gap"], **kw)
                if data.has_intervals and arm.is_baseline:
                    top.fill_between(d["year"], d["gap_lo"], d["gap_hi"], color=s["color"],
                                     alpha=0.15, linewidth=0)
                if not arm.is_baseline:
                    bottom.plot(d["year"], d["change"], **kw)
                    if data.has_intervals:
                        bottom.fill_between(d["year"], d["change_lo"], d["change_hi"],
                                            color=s["color"], alpha=0.18, linewidth=0)
            bottom.axhline(0, color=BASELINE_COLOUR, linewidth=1.0)
            top.set_title(label("sex", sex, lang))
            for ax in (top, bottom):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
                axes_format(ax, lang, x=False)
        axes[0][0].set_ylabel(t(lang, "ax_gap"))
        axes[1][0].set_ylabel(t(lang, "ax_gap_change"))
        fig.supxlabel(t(lang, "ax_year", w=data.rolling_years), fontsize=8.5)
        _legend(fig, data, lang)
    return fig


def fig_pcs(data: ReportData, lang: str) -> Figure | None:
    """Life expectancy at 35 by PCS: a dot per scenario, one panel per sex."""
    r = data.records
    if r.empty or not (r["by"] == "pcs").any():
        return None
    groups = group_order("pcs", r.loc[r["by"] == "pcs", "group"].dropna())
    styles = arm_styles(data)
    n = len(data.arms)
    with style():
        fig, axes = _figure(0.42 * len(groups) + 1.3 + 0.05 * n * len(groups) / 3
                            + _legend_height(n), sharey=True)
        y = np.arange(len(groups))[::-1].astype(float)
        offsets = (np.arange(n) - (n - 1) / 2) * min(0.12, 0.7 / max(n, 1))
        sizes = nested_sizes(n, 6.5, 3.0)
        for ax, sex in zip(axes[0], ("M", "F"), strict=True):
            for k, arm in enumerate(data.arms):
                v, lo, hi = _values(data, arm.name, "life_expectancy", "pcs", 35, sex, groups)
                s = styles[arm.name]
                err = None
                if data.has_intervals:
                    err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
                ax.errorbar(v, y + offsets[k], xerr=err, color=s["color"], marker=s["marker"],
                            linestyle="none", markersize=sizes[k], elinewidth=0.9,
                            markeredgecolor="white", markeredgewidth=0.4)
            ax.set_title(label("sex", sex, lang))
            ax.set_yticks(y)
            ax.set_yticklabels([_wrap(label("pcs", p, lang), 24) for p in groups])
            ax.grid(axis="y", visible=False)
            axes_format(ax, lang, y=False)
        fig.supxlabel(t(lang, "ax_e35"), fontsize=8.5)
        _legend(fig, data, lang, lines=False)
    return fig


def fig_plane(data: ReportData, lang: str) -> Figure | None:
    """Equity-efficiency plane: QALYs gained (x) against the reduction of the V20 - V1 gap
    in e0 (y), one point per scenario with interval bars, one panel per sex."""
    if not data.scenarios:
        return None
    styles = arm_styles(data)
    pts = []
    for arm in data.scenarios:
        q = data.record(arm.name, "qalys")
        if q is None or q.get("diff") is None:
            continue
        for sex in ("M", "F"):
            g = data.record(arm.name, "gap_e", sex=sex, by=data.main_gap, age=0)
            if g is None or g.get("diff") is None:
                continue
            pts.append((arm, sex, q, g))
    if not pts:
        return None
    scale_k = max(abs(p[2]["diff"]) for p in pts) >= 10_000
    div = 1000.0 if scale_k else 1.0
    years = data.summary.get("years")
    with style():
        fig, axes = _figure(3.4 + _legend_height(len(data.scenarios)), sharex=True)
        order = {a.name: k for k, a in enumerate(data.scenarios)}
        sizes = nested_sizes(len(data.scenarios), 10.0, 4.0)
        for ax, sex in zip(axes[0], ("M", "F"), strict=True):
            for arm, s_, q, g in pts:
                if s_ != sex:
                    continue
                s = styles[arm.name]
                x, y = q["diff"] / div, -g["diff"]
                xerr = yerr = None
                if data.has_intervals and None not in (q["diff_lo"], q["diff_hi"],
                                                       g["diff_lo"], g["diff_hi"]):
                    xerr = [[max(0.0, x - q["diff_lo"] / div)], [max(0.0, q["diff_hi"] / div - x)]]
                    ylo, yhi = -g["diff_hi"], -g["diff_lo"]
                    yerr = [[max(0.0, y - ylo)], [max(0.0, yhi - y)]]
                ax.errorbar([x], [y], xerr=xerr, yerr=yerr, color=s["color"],
                            marker=s["marker"], linestyle="none",
                            markersize=sizes[order[arm.name]], elinewidth=1,
                            markeredgecolor="white", markeredgewidth=0.5)
            ax.axhline(0, color="#444444", linewidth=0.9)
            ax.axvline(0, color="#444444", linewidth=0.9)
            ax.set_title(label("sex", sex, lang))
            axes_format(ax, lang)
        axes[0][0].set_ylabel(t(lang, "ax_reduction", gap=label("gap", data.main_gap, lang)))
        xlabel = t(lang, "ax_qaly" if scale_k else "ax_qaly_units", years=years)
        fig.supxlabel(xlabel, fontsize=8.5)
        _legend(fig, data, lang, arms=data.scenarios, lines=False)
    return fig


def counterfactuals(data: ReportData) -> list[ScenarioInfo]:
    return [a for a in data.scenarios if a.equalise]


def fig_decomposition(data: ReportData, lang: str) -> Figure | None:
    """Reduction of the V20 - V1 gap in e0 by counterfactual (pathway equalised), men and
    women side by side (solid and hatched bars)."""
    arms = counterfactuals(data)
    if not arms:
        return None
    with style():
        fig, axes = _figure(0.55 * len(arms) + 1.5, ncols=1)
        ax = axes[0][0]
        y = np.arange(len(arms))[::-1].astype(float)
        h = 0.38
        for sex in ("M", "F"):
            vals, errs = [], [[], []]
            for arm in arms:
                g = data.record(arm.name, "gap_e", sex=sex, by=data.main_gap, age=0)
                d = None if g is None else g.get("diff")
                v = math.nan if d is None else -d
                vals.append(v)
                if data.has_intervals and g is not None and g.get("diff_lo") is not None:
                    errs[0].append(max(0.0, v - (-g["diff_hi"])))
                    errs[1].append(max(0.0, -g["diff_lo"] - v))
                else:
                    errs[0].append(0.0)
                    errs[1].append(0.0)
            offset = h / 2 if sex == "M" else -h / 2
            ax.barh(y + offset, vals, height=h, color=SEX_COLOUR[sex],
                    hatch=None if sex == "M" else "////", edgecolor="black", linewidth=0.6,
                    label=label("sex", sex, lang), alpha=0.9 if sex == "M" else 0.55,
                    xerr=errs if data.has_intervals else None,
                    error_kw={"elinewidth": 0.9, "capsize": 2.5, "ecolor": "black"})
        ax.axvline(0, color="black", linewidth=0.9)
        ax.set_yticks(y)
        ax.set_yticklabels([_wrap(a.label(lang), 34) for a in arms])
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(t(lang, "ax_decomp", gap=label("gap", data.main_gap, lang)))
        axes_format(ax, lang, y=False)
        ax.legend(loc="best")
    return fig


def fig_calibration(data: ReportData, lang: str) -> Figure | None:
    """The baseline's e0, e60 and e65 by vingtile against INSEE 2012-2016."""
    c = data.calibration
    if c.empty:
        return None
    with style():
        fig, axes = _figure(3.7, ncols=3)
        for ax, age, col, key in zip(axes[0], (0, 60, 65), ("e0", "e60", "e65"),
                                     ("ax_e0", "ax_e60", "ax_e65"), strict=True):
            for sex in ("M", "F"):
                sim = c[(c["age"] == age) & (c["sex"] == sex)].sort_values("vingtile")
                obs = data.observed[data.observed["sex"] == sex].sort_values("vingtile")
                if data.has_intervals and not sim.empty:
                    ax.fill_between(sim["vingtile"], sim["lo"], sim["hi"],
                                    color=SEX_COLOUR[sex], alpha=0.18, linewidth=0)
                ax.plot(sim["vingtile"], sim["mean"], color=SEX_COLOUR[sex],
                        marker=SEX_MARKER[sex], markersize=3)
                ax.plot(obs["vingtile"], obs[col], color=SEX_COLOUR[sex], linestyle=":",
                        linewidth=1.8)
            ax.set_title(t(lang, key).split(" (")[0])
            ax.set_xticks([1, 5, 10, 15, 20])
            ax.set_xlim(0.5, 20.5)
            ax.set_ylabel(t(lang, "years_unit"))
            axes_format(ax, lang)
        fig.supxlabel(t(lang, "ax_vingtile"), fontsize=8.5)
        handles, texts = [], []
        for sex in ("M", "F"):
            who = label("sex", sex, lang) + (" : " if lang == "fr" else ": ")
            handles.append(Line2D([], [], color=SEX_COLOUR[sex], marker=SEX_MARKER[sex]))
            texts.append(who + t(lang, "simulated").lower())
            handles.append(Line2D([], [], color=SEX_COLOUR[sex], linestyle=":",
                                  linewidth=1.8))
            texts.append(who + t(lang, "insee"))
        fig.legend(handles, texts, loc="outside upper center", ncol=2)
    return fig


def fig_population(data: ReportData, lang: str) -> Figure | None:
    """The baseline's population over the years (top) and its components: births, deaths
    and net migration (bottom), at full scale."""
    d = data.demography
    if d.empty or len(d) < 2:
        return None
    with style():
        fig = Figure(figsize=(WIDTH_IN, 4.6), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        top.plot(d["year"], d["population"] / 1e6, color=BASELINE_COLOUR, marker="o",
                 markersize=3)
        top.set_ylabel(t(lang, "ax_population"))
        for col, colour, marker in (("births", OKABE_ITO[1], "s"), ("deaths", OKABE_ITO[3], "^"),
                                    ("net_migration", OKABE_ITO[2], "D")):
            bottom.plot(d["year"], d[col] / 1e3, color=colour, marker=marker, markersize=3,
                        label=t(lang, f"lab_{col}"))
        bottom.axhline(0, color="#444444", linewidth=0.8)
        bottom.set_ylabel(t(lang, "ax_flows"))
        bottom.legend(fontsize=7.5, ncol=3, loc="lower left")
        for ax in (top, bottom):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
            axes_format(ax, lang, x=False)
    return fig


#: (file stem, function, title key) in the order of the report.
FIGURES = (
    ("e0_by_vingtile", fig_vingtile, "fig_vingtile_title"),
    ("gap_over_time", fig_gap_time, "fig_time_title"),
    ("population", fig_population, "fig_population_title"),
    ("e35_by_pcs", fig_pcs, "fig_pcs_title"),
    ("equity_efficiency", fig_plane, "fig_plane_title"),
    ("decomposition", fig_decomposition, "fig_decomp_title"),
    ("calibration", fig_calibration, "fig_calib_title"),
)
