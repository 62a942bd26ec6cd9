"""Local web dashboard for commission members (``python run.py dashboard``).

A Solara application served by uvicorn on a local address (127.0.0.1 by default) with two
tabs, labelled in French:

- *Comparaisons enregistrées*: pick a comparison stored in the results database, a
  socio-economic dimension (income vingtile, decile or quintile, PCS, diploma, department)
  and an outcome (life expectancy or healthy life expectancy, at birth or at 35, men or
  women); a figure shows the outcome by group with one series per scenario and, below, the
  paired change from the baseline; tables give the paired changes with their intervals and
  the headline results (gap V20-V1, costs, deaths averted, life-years and QALYs gained).
- *Modèle en direct*: an intervention type, an allocation mode and a yearly budget; a small
  model (5,000 people, 10 years) runs the baseline and the intervention with the same seed
  (common random numbers) and shows the gap in life expectancy at birth between the richest
  and the poorest income quintiles, and its change.

Every string that comes from a user (comparison and scenario names, questions) is shown as
text: through Vue text bindings, or escaped with :func:`html.escape` where HTML is built
here, and with ``$`` escaped in figure labels (matplotlib's mathtext).
"""

from __future__ import annotations

import base64
import html
import io
import ipaddress
import math
import os
import secrets
import socket
import sys
import textwrap
import threading
import tomllib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .errors import UserError  # noqa: E402
from .labels import (  # noqa: E402
    CHANGE_DIGITS,
    fmt_count,
    fmt_estimate,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_years,
    group_label,
    group_order,
    join_interval,
    label,
    label_in_text,
    labels,
    not_available,
)
from .report.figures import (  # noqa: E402
    BASELINE_COLOUR,
    MARKERS,
    OKABE_ITO,
    SEX_COLOUR,
    axes_format,
)
from .report.strings import interval_kind, t  # noqa: E402

try:
    import solara
    import solara.lab
except ImportError:  # the "dashboard" extra is not installed: serve() says so in one line
    solara = None

#: ``solara.component``, or a no-op without Solara (the helpers stay importable).
component = solara.component if solara is not None else (lambda f: f)

BASELINE_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
LIVE_AGENTS = 5000
LIVE_YEARS = 10

#: The database the server reads (a URL, resolved by :func:`serve`).
_db_url: str | None = None

# ------------------------------------------------------------------ labels

#: The dashboard's language: its own texts are French; the labels of categories and the
#: numbers come from :mod:`simulation.labels`, as in the report.
LANG = "fr"
#: What one can choose, key -> label: socio-economic dimension, outcome, age, sex.
DIMENSIONS: dict[str, str] = labels("stratum", LANG)
OUTCOMES: dict[str, str] = labels("outcome", LANG)
AGES: dict[int, str] = {age: label("age", age, LANG) for age in (0, 35)}
SEXES: dict[str, str] = labels("sex", LANG)
MODES: dict[str, str] = {
    "universal": "Universel : tous les éligibles, même intensité",
    "targeted": "Ciblé : les 20 % les plus modestes",
    "proportionate": "Proportionné : intensité décroissante avec le niveau de vie",
}
#: How to read an interval (what it includes is said by :func:`interval_kind_text`).
INTERVAL_NOTE = (f"{join_interval('bas', 'haut', LANG)} : {t(LANG, 'interval_95')} (variations : "
                 "différences appariées, mêmes nombres aléatoires)")


def esc(text: Any) -> str:
    """``text`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


def mpl_text(text: Any) -> str:
    """``text`` for a matplotlib label: ``$`` would start mathtext."""
    return str(text).replace("$", r"\$")


def change_text(row: Any) -> str:
    """``+0,120 [−0,050 ; +0,300]``: a paired change (years) and its interval."""
    if row is None:
        return not_available(LANG)
    return fmt_estimate(row.get("diff"), row.get("diff_lo"), row.get("diff_hi"), LANG,
                        CHANGE_DIGITS, signed=True)


# ------------------------------------------------------------------ data


def _open_store():
    from .store import Store

    return Store(_db_url, create=False)


def list_comparisons() -> list[dict[str, Any]]:
    """The stored comparisons that have a summary, newest first: id, name, created."""
    with _open_store() as store:
        frame = store.comparisons()
    if frame.empty:
        return []
    frame = frame[frame["summary"].notna()].sort_values("id", ascending=False)
    return [{"id": int(r["id"]), "name": str(r["name"]), "created": r["created"]}
            for _, r in frame.iterrows()]


def comparison_label(c: dict[str, Any]) -> str:
    created = c.get("created")
    when = ""
    if created is not None and not (isinstance(created, float) and math.isnan(created)):
        try:
            when = f" ({pd.Timestamp(created).strftime('%d/%m/%Y %H:%M')})"
        except (ValueError, TypeError):
            when = ""
    return f"n° {c['id']} — {c['name']}{when}"


def interval_kind_text(summary: dict[str, Any]) -> str:
    """The report's sentence on the kind of interval shown (chance only, or chance and the
    interventions' effects or a calibration's posterior), in the dashboard's language."""
    return interval_kind(summary.get("uncertainty"), summary.get("replicates"), LANG)


def load_summary(comparison_id: int) -> dict[str, Any]:
    with _open_store() as store:
        return store.comparison_summary(comparison_id)


def records_frame(summary: dict[str, Any]) -> pd.DataFrame:
    rec = pd.DataFrame(summary.get("records") or [])
    for col in ("scenario", "metric", "sex", "by", "group", "age", "value", "lo", "hi", "diff",
                "diff_lo", "diff_hi"):
        if col not in rec.columns:
            rec[col] = None
    for col in ("value", "lo", "hi", "diff", "diff_lo", "diff_hi", "age"):
        rec[col] = pd.to_numeric(rec[col], errors="coerce")
    return rec


def scenario_names(summary: dict[str, Any]) -> list[str]:
    return [str(summary.get("baseline", "")), *[str(s) for s in summary.get("scenarios", [])]]


def outcome_table(rec: pd.DataFrame, metric: str, by: str, age: int, sex: str) -> pd.DataFrame:
    """The selected outcome: one row per (scenario, group) with value, lo, hi and the
    paired change from the baseline with its interval."""
    sub = rec[(rec["metric"] == metric) & (rec["by"] == by) & (rec["age"] == age)
              & (rec["sex"] == sex)].copy()
    sub["group"] = sub["group"].astype(str)
    return sub


def available_dimensions(rec: pd.DataFrame) -> list[str]:
    present = set(rec["by"].dropna().astype(str))
    return [d for d in DIMENSIONS if d in present]


# ------------------------------------------------------------------ figures


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def img_html(png: bytes, alt: str, test_id: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<img data-testid="{esc(test_id)}" alt="{esc(alt)}" '
            f'src="data:image/png;base64,{data}" style="max-width:100%;height:auto">')


def outcome_figure(table: pd.DataFrame, scenarios: Sequence[str], by: str, metric: str,
                   age: int, sex: str) -> bytes:
    """Levels by group (one series per scenario, with intervals) and, below, the paired
    changes from the baseline."""
    groups = group_order(by, table["group"])
    nominal = by in ("pcs", "education", "department")
    ticks = [textwrap.fill(group_label(by, g, LANG), 16) for g in groups]
    x = np.arange(len(groups), dtype=float)
    fig = Figure(figsize=(11, 7.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    n = max(len(scenarios), 1)
    offsets = (np.arange(n) - (n - 1) / 2) * ((0.6 if nominal else 0.45) / n)
    for i, name in enumerate(scenarios):
        d = table[table["scenario"] == name].set_index("group").reindex(groups)
        v = d["value"].to_numpy(float)
        err = np.nan_to_num(np.vstack([np.clip(v - d["lo"].to_numpy(float), 0, None),
                                       np.clip(d["hi"].to_numpy(float) - v, 0, None)]))
        # the report's colour-blind-safe palette: the baseline (first) in black
        colour = BASELINE_COLOUR if i == 0 else OKABE_ITO[(i - 1) % len(OKABE_ITO)]
        kw = {"color": colour, "capsize": 2, "marker": MARKERS[i % len(MARKERS)],
              "markersize": 5, "label": mpl_text(textwrap.fill(name, 30))}
        top.errorbar(x + offsets[i], v, yerr=err, linestyle="none" if nominal else "-",
                     linewidth=1.2, **kw)
        if i > 0:
            dv = d["diff"].to_numpy(float)
            derr = np.nan_to_num(np.vstack([
                np.clip(dv - d["diff_lo"].to_numpy(float), 0, None),
                np.clip(d["diff_hi"].to_numpy(float) - dv, 0, None)]))
            kw.pop("label")
            bottom.errorbar(x + offsets[i], dv, yerr=derr, linestyle="none", **kw)
    top.set_title(f"{label('outcome', metric, LANG)} {label('age', age, LANG)} — "
                  f"{label_in_text('sex', sex, LANG)}, par {label_in_text('stratum', by, LANG)}",
                  fontsize=12)
    top.set_ylabel(f"{label('outcome', metric, LANG)} (années)")
    top.grid(axis="y", alpha=0.3)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Scénario",
               title_fontsize=9, frameon=False)
    bottom.axhline(0, color="black", linewidth=0.8)
    bottom.set_ylabel("Variation par rapport\nà la référence (années)")
    bottom.set_title("Variation par rapport au scénario de référence (différence appariée ; "
                     "barres : intervalle de confiance à 95 %)", fontsize=10)
    bottom.grid(axis="y", alpha=0.3)
    bottom.set_xticks(x, ticks, fontsize=8 if nominal else 9)
    for ax in (top, bottom):
        axes_format(ax, LANG, x=False)
    bottom.set_xlabel(label("stratum_axis", by, LANG))
    if len(scenarios) < 2:
        bottom.text(0.5, 0.5, "Aucun scénario à comparer", ha="center", va="center",
                    transform=bottom.transAxes)
    return _png(fig)


def live_figure(base_le: pd.DataFrame, int_le: pd.DataFrame, what: str) -> bytes:
    """Life expectancy at birth by income quintile without and with the intervention (men,
    women), and its change by quintile; ``what``: the intervention, in the right panel's
    title."""
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    groups = [str(q) for q in range(1, 6)]
    x = np.arange(5)

    def e0(le: pd.DataFrame, sex: str) -> np.ndarray:
        d = le[(le["by"] == "income_quintile") & (le["sex"] == sex) & (le["age"] == 0)]
        return d.assign(group=d["group"].astype(str)).set_index("group").reindex(
            groups)["e"].to_numpy(float)

    colours = SEX_COLOUR
    for sex in ("M", "F"):
        b, i = e0(base_le, sex), e0(int_le, sex)
        left.plot(x, b, color=colours[sex], linestyle="--", marker="o", markerfacecolor="white",
                  label=f"{SEXES[sex]}, sans intervention")
        left.plot(x, i, color=colours[sex], marker="o", label=f"{SEXES[sex]}, avec")
        right.bar(x + (-0.2 if sex == "M" else 0.2), i - b, width=0.4, color=colours[sex],
                  label=SEXES[sex])
    left.set_title("Espérance de vie à la naissance par quintile de niveau de vie", fontsize=10)
    left.set_ylabel("Années")
    left.legend(fontsize=8, loc="best", ncols=2)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_title(mpl_text(textwrap.fill(f"Variation due à l'intervention ({what})", 48)),
                    fontsize=10)
    right.set_ylabel("Années")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xticks(x, [group_label("income_quintile", g, LANG) for g in groups])
        ax.set_xlabel(label("stratum_axis" if ax is left else "stratum", "income_quintile",
                            LANG), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        axes_format(ax, LANG, x=False)
    return _png(fig)


# ------------------------------------------------------------------ HTML tables


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], test_id: str,
               caption: str = "", first_left: bool = True) -> str:
    """A table whose cells are escaped here (callers pass plain text)."""
    th = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for j, cell in enumerate(row):
            align = "left" if j == 0 and first_left else "right"
            wrap = "normal" if j == 0 and first_left else "nowrap"
            cells.append(f'<td style="text-align:{align};white-space:{wrap}">{esc(cell)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<table class="hg-table" data-testid="{esc(test_id)}">{cap}<thead><tr>{th}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>")


def changes_table(table: pd.DataFrame, scenarios: Sequence[str], by: str) -> tuple[list, list]:
    """Header and rows: one row per group, baseline level, then each scenario's paired
    change with its interval."""
    groups = group_order(by, table["group"])
    header = [DIMENSIONS[by], f"{scenarios[0]} (référence, années)"] + [
        f"{s} : variation (années)" for s in scenarios[1:]]
    idx = {(r["scenario"], r["group"]): r for r in table.to_dict(orient="records")}
    rows = []
    for g in groups:
        base = idx.get((scenarios[0], g))
        row = [group_label(by, g, LANG), fmt_years(base["value"], LANG) if base
               else not_available(LANG)]
        row += [change_text(idx.get((s, g))) for s in scenarios[1:]]
        rows.append(row)
    return header, rows


def headline_rows(rec: pd.DataFrame, summary: dict[str, Any], age: int) -> tuple[list, list]:
    """Gap V20-V1 (men, women) with its change, then costs and health gains per scenario."""
    when = label("age", age, LANG)
    header = ["Scénario", f"Écart {label('gap', 'V20-V1', LANG)} "
              f"{label_in_text('sex', 'M', LANG)} (années, {when})", "Variation",
              f"Écart {label('gap', 'V20-V1', LANG)} {label_in_text('sex', 'F', LANG)} "
              f"(années, {when})", "Variation",
              "Coût (M€/an)", "Décès évités", "Années de vie gagnées", "QALY gagnés"]
    extra = {str(r.get("scenario")): r for r in summary.get("summary") or []}
    rows = []
    for i, name in enumerate(scenario_names(summary)):
        row = [name]
        for sex in ("M", "F"):
            g = rec[(rec["scenario"] == name) & (rec["metric"] == "gap_e")
                    & (rec["by"] == "V20-V1") & (rec["sex"] == sex) & (rec["age"] == age)]
            r = g.iloc[0].to_dict() if len(g) else None
            row.append(fmt_years(r["value"], LANG) if r else not_available(LANG))
            row.append("—" if i == 0 else change_text(r))
        e = extra.get(name)
        if i == 0 or e is None:
            row += [fmt_num(0.0, LANG, 1) if i == 0 else not_available(LANG), "—", "—", "—"]
        else:
            row += [fmt_num((e.get("cost_eur_per_year") or 0) / 1e6, LANG, 1),
                    fmt_count(e.get("deaths_averted"), LANG),
                    fmt_count(e.get("life_years_gained"), LANG),
                    fmt_count(e.get("qalys_gained"), LANG)]
        rows.append(row)
    return header, rows


STYLE = """
.hg-table { border-collapse: collapse; margin: 8px 0 16px 0; font-size: 14px; }
.hg-table caption { caption-side: top; text-align: left; font-weight: 500; padding: 4px 0; }
.hg-table th, .hg-table td { border: 1px solid #d0d7de; padding: 4px 8px; }
.hg-table th { background: #f3f5f7; font-weight: 600; text-align: center; }
.hg-table tbody tr:nth-child(even) { background: #fafbfc; }
.hg-note { color: #555; font-size: 13px; }
.hg-label { color: rgba(0, 0, 0, 0.6); font-size: 12px; }
"""


# ------------------------------------------------------------------ live model

_run_lock = threading.Lock()
_baseline_cache: dict[tuple, Any] = {}


def live_scenarios(kind: str, mode: str, budget_meur: float):
    """The baseline and the intervention scenario of the live model."""
    from .config import parse_scenario

    raw = tomllib.loads(BASELINE_FILE.read_text("utf-8-sig"))
    raw.pop("interventions", None)
    raw.pop("counterfactual", None)
    base = parse_scenario(raw, str(BASELINE_FILE)).with_options(agents=LIVE_AGENTS,
                                                                years=LIVE_YEARS)
    alloc: dict[str, Any] = {"mode": mode, "budget_eur": float(budget_meur) * 1e6}
    if mode == "targeted":
        alloc.update({"by": "income_rank", "max_rank": 0.2})
    raw_i = dict(raw)
    raw_i["interventions"] = [{"type": kind, "allocation": alloc}]
    raw_i["scenario"] = {**raw.get("scenario", {}), "name": "intervention"}
    inter = parse_scenario(raw_i, "tableau de bord").with_options(agents=LIVE_AGENTS,
                                                                  years=LIVE_YEARS)
    return base, inter


def run_live(kind: str, mode: str, budget_meur: float) -> dict[str, Any]:
    """Run baseline and intervention (same seed) and return e0 by quintile, the Q5-Q1 gaps
    and the yearly cost."""
    from . import metrics
    from .runner import run_scenario

    base, inter = live_scenarios(kind, mode, budget_meur)
    with _run_lock:  # one model at a time (numba's thread pool is not re-entrant)
        key = (base.hash, base.seed)
        if key not in _baseline_cache:
            _baseline_cache.clear()
            _baseline_cache[key] = run_scenario(base)
        rb = _baseline_cache[key]
        ri = run_scenario(inter)
    out: dict[str, Any] = {"base_le": rb.life_expectancy, "int_le": ri.life_expectancy,
                           "first": inter.start_year, "last": inter.start_year + inter.years - 1,
                           "window": ri.window}
    gaps = {}
    for name, res in (("base", rb), ("int", ri)):
        try:
            g = metrics.gap(res.life_expectancy, "income_quintile", "1", "5")
            gaps[name] = {s: float(g[(g["sex"] == s) & (g["age"] == 0)]["gap"].iloc[0])
                          for s in ("M", "F")}
        except (ValueError, IndexError):
            gaps[name] = {"M": math.nan, "F": math.nan}
    out["gaps"] = gaps
    y = ri.yearly
    out["cost_eur_per_year"] = (float(y["intervention_cost_eur"].mean())
                                if "intervention_cost_eur" in y.columns else 0.0)
    return out


# ------------------------------------------------------------------ components


@component
def HtmlBlock(content: str):
    solara.HTML(tag="div", unsafe_innerHTML=content)


@component
def ComparisonsTab():
    refresh, set_refresh = solara.use_state(0)
    listing = solara.use_memo(_safe(list_comparisons), [refresh])
    selected = solara.use_reactive(None)

    if isinstance(listing, Exception):
        solara.Error(f"Base de résultats illisible : {listing}")
        return
    if not listing:
        solara.Info("Aucune comparaison enregistrée dans la base de résultats. Lancez par "
                    "exemple « python run.py compare scenarios/default.toml », puis "
                    "actualisez.")
        with solara.Row():
            solara.Button("Actualiser", on_click=lambda: set_refresh(refresh + 1),
                          outlined=True)
        return
    choices = [comparison_label(c) for c in listing]
    current = selected.value if selected.value in choices else choices[0]
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Select("Comparaison enregistrée", values=choices, value=current,
                      on_value=selected.set, style={"min-width": "520px", "max-width": "900px"})
        solara.Button("Actualiser la liste", on_click=lambda: set_refresh(refresh + 1),
                      outlined=True)
    ComparisonView(listing[choices.index(current)]["id"])


@component
def ComparisonView(cid: int):
    summary = solara.use_memo(_safe(lambda: load_summary(cid)), [cid])
    dimension = solara.use_reactive("income_vingtile")
    metric = solara.use_reactive("life_expectancy")
    age = solara.use_reactive(0)
    sex = solara.use_reactive("M")
    ok = not isinstance(summary, Exception)
    rec = solara.use_memo(lambda: records_frame(summary) if ok else None, [cid])
    dims = (available_dimensions(rec) if ok else []) or ["income_vingtile"]
    by = dimension.value if dimension.value in dims else dims[0]
    scenarios = scenario_names(summary) if ok else []
    table = solara.use_memo(
        lambda: outcome_table(rec, metric.value, by, age.value, sex.value) if ok else None,
        [cid, by, metric.value, age.value, sex.value])
    has_data = ok and not table.empty and table["value"].notna().any()
    png = solara.use_memo(
        lambda: outcome_figure(table, scenarios, by, metric.value, age.value, sex.value)
        if has_data else None, [cid, by, metric.value, age.value, sex.value])

    if not ok:
        solara.Error(f"Comparaison illisible : {summary}")
        return
    if summary.get("question"):
        solara.Text(str(summary["question"]), style={"font-style": "italic"})
    first = summary.get("start_year") or 0
    last = first + (summary.get("years") or 0) - 1
    solara.Text(f"{fmt_num(summary.get('agents'), LANG, 0)} personnes simulées, {first}–{last}, "
                f"{summary.get('replicates')} réplication(s), graine {summary.get('seed')}. "
                f"Scénario de référence : {scenarios[0]}.", classes=["hg-note"])
    solara.Text(interval_kind_text(summary), classes=["hg-note"])

    dim_labels = {DIMENSIONS[d]: d for d in dims}
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "16px"}):
        solara.Select("Dimension socio-économique", values=list(dim_labels),
                      value=DIMENSIONS[by], on_value=lambda v: dimension.set(dim_labels[v]),
                      style={"min-width": "260px", "max-width": "330px"})
        solara.Select("Indicateur", values=list(OUTCOMES.values()), value=OUTCOMES[metric.value],
                      on_value=lambda v: metric.set(_key(OUTCOMES, v)),
                      style={"min-width": "260px", "max-width": "330px"})
        with solara.Column(gap="2px"):
            solara.Text("Âge", classes=["hg-label"])
            solara.ToggleButtonsSingle(value=AGES[age.value], values=list(AGES.values()),
                                       on_value=lambda v: age.set(_key(AGES, v)), dense=True)
        with solara.Column(gap="2px"):
            solara.Text("Sexe", classes=["hg-label"])
            solara.ToggleButtonsSingle(value=SEXES[sex.value], values=list(SEXES.values()),
                                       on_value=lambda v: sex.set(_key(SEXES, v)), dense=True)

    what = (f"{OUTCOMES[metric.value]} {AGES[age.value]}, "
            f"{label_in_text('sex', sex.value, LANG)}")
    if not has_data:
        solara.Warning("Pas de résultat pour ce choix dans cette comparaison.")
    else:
        HtmlBlock(img_html(png, f"{what}, par {label_in_text('stratum', by, LANG)}, une série "
                                "par scénario", "outcome-figure"))
        header, rows = changes_table(table, scenarios, by)
        HtmlBlock(html_table(header, rows, "changes-table",
                             caption=f"{what} : niveau dans le scénario de référence et "
                                     "variation appariée de chaque scénario (années)"))
    header, rows = headline_rows(rec, summary, age.value)
    HtmlBlock(html_table(header, rows, "headline-table",
                         caption="Synthèse : écart d'espérance de vie entre les 5 % les plus "
                                 "aisés et les 5 % les plus modestes, coûts et gains de santé"))
    rate = (summary.get("horizon") or {}).get("discount_rate", 0.025)
    solara.Text(INTERVAL_NOTE + ". Décès, années de vie et QALY : totaux sur l'horizon pour la "
                "région entière ; années de vie, QALY et coûts actualisés à "
                f"{fmt_pct(rate, LANG, 1)} par an (HAS 2020).", classes=["hg-note"])


def _key(mapping: dict, text: Any) -> Any:
    """The key of ``mapping`` whose label is ``text`` (a choice made in the page)."""
    return {v: k for k, v in mapping.items()}[text]


@component
def LiveTab():
    from .interventions import TYPES

    kinds = {t.label_fr: t.name for t in TYPES}
    default_kind = next((t.label_fr for t in TYPES if t.name == "smoking_cessation"),
                        TYPES[0].label_fr)
    kind = solara.use_reactive(default_kind)
    mode = solara.use_reactive(MODES["targeted"])
    budget = solara.use_reactive(20)
    # the default settings run at once, so the tab opens on a result rather than a blank
    request, set_request = solara.use_state((default_kind, MODES["targeted"], 20))

    def work():
        if request is None:
            return None
        k, m, b = request
        out = run_live(kinds[k], _key(MODES, m), b)
        out["label"] = f"{k}, {fmt_money(b * 1e6, LANG)}/an"
        out["settings"] = request
        return out

    result = solara.use_thread(work, dependencies=[request], intrusive_cancel=False)
    running = result.state == solara.ResultState.RUNNING

    solara.Text(f"Petit modèle : {fmt_num(LIVE_AGENTS, LANG, 0)} personnes simulées en "
                f"Occitanie sur {LIVE_YEARS} ans, sans intervention puis avec l'intervention "
                "choisie, avec la même graine (nombres aléatoires communs). Résultats "
                "indicatifs : à cette taille, l'aléa de la simulation est du même ordre que "
                "l'effet des interventions ; les comparaisons enregistrées (plus grandes, "
                "répliquées) font foi.", classes=["hg-note"])
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "16px"}):
        solara.Select("Type d'intervention", values=list(kinds), value=kind,
                      style={"min-width": "340px"})
        solara.Select("Mode d'allocation", values=list(MODES.values()), value=mode,
                      style={"min-width": "420px"})
    with solara.Row(style={"align-items": "center", "gap": "16px"}):
        with solara.Column(style={"min-width": "520px"}):
            solara.SliderInt("Budget annuel", value=budget, min=0, max=100, step=1,
                             tick_labels=False)
        solara.Text(f"{fmt_money(budget.value * 1e6, LANG)} par an",
                    style={"min-width": "110px", "font-weight": "500"})
        solara.Button("Lancer la simulation", color="primary", disabled=running,
                      on_click=lambda: set_request((kind.value, mode.value, budget.value)))
    if running:
        solara.Text("Simulation en cours (quelques secondes)…")
        solara.ProgressLinear(True)
    elif result.state == solara.ResultState.ERROR:
        solara.Error(f"La simulation a échoué : {_one_line(result.error)}")
    elif result.value is not None:
        LiveResult(result.value)


def _one_line(e: BaseException | None) -> str:
    text = str(e) if e is not None else ""
    return text.splitlines()[0] if text.strip() else type(e).__name__


@component
def LiveResult(result: dict):
    png = solara.use_memo(lambda: live_figure(result["base_le"], result["int_le"],
                                              result["label"]), [id(result)])
    g = result["gaps"]
    k, m, b = result["settings"]
    solara.Text(f"Résultat pour : {k} ; {m} ; {fmt_money(b * 1e6, LANG)}/an. Espérance de vie "
                f"du moment sur {result['window'][0]}–{result['window'][1]}.",
                classes=["hg-note"])
    rows = []
    for sex in ("M", "F"):
        base, inter = g["base"][sex], g["int"][sex]
        rows.append([SEXES[sex], fmt_years(base, LANG), fmt_years(inter, LANG),
                     fmt_years(inter - base, LANG, change=True)])
    HtmlBlock(html_table(
        ["", "Sans intervention (années)", "Avec l'intervention (années)",
         "Variation de l'écart (années)"], rows, "live-table",
        caption="Écart d'espérance de vie à la naissance entre le quintile le plus aisé et le "
                "plus modeste (Q5 − Q1)"))
    solara.Text(f"Dépense effective : {fmt_money(result['cost_eur_per_year'], LANG)} par an en "
                "moyenne. Une variation négative de l'écart signifie une réduction des "
                "inégalités.", classes=["hg-note"])
    HtmlBlock(img_html(png, "Espérance de vie à la naissance par quintile de niveau de vie, "
                            "sans et avec l'intervention", "live-figure"))


def _safe(fn):
    """``fn`` for use_memo: returns the exception instead of raising it (shown as text)."""
    def call():
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - shown to the user
            return e
    return call


@component
def Page():
    solara.Title("healthgap — tableau de bord")
    solara.Style(STYLE)
    tab = solara.use_reactive(0)
    with solara.Column(style={"padding": "12px 24px", "max-width": "1200px"}):
        solara.HTML(tag="h2", unsafe_innerHTML=esc(
            "Inégalités sociales de santé en Occitanie — tableau de bord"),
            style="font-weight: 500; margin: 8px 0 0 0")
        solara.Text("Microsimulation healthgap : espérance de vie selon la position sociale "
                    "et effets des interventions.", classes=["hg-note"])
        with solara.lab.Tabs(value=tab):
            with solara.lab.Tab("Comparaisons enregistrées"):
                ComparisonsTab()
            with solara.lab.Tab("Modèle en direct"):
                LiveTab()


# ------------------------------------------------------------------ server


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket (a clear one-line error if the address cannot be used)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UserError(f"--host {host}: unknown address ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        raise UserError(f"--host {host} --port {port}: cannot listen there "
                        f"({e.strerror or e}); choose another --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(db_url: str | None, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the dashboard on ``host:port`` until interrupted (Ctrl+C)."""
    global _db_url
    from .store import Store, resolve_url

    with Store(db_url, create=False) as store:  # a database problem stops us here
        shown = store.display_url
    if solara is None:
        raise UserError("the dashboard needs Solara: pip install -e \".[dashboard]\"")
    _db_url = resolve_url(db_url)
    sock = _bind(host, port)

    # settings of Solara read from the environment when its server modules are imported
    os.environ["SOLARA_APP"] = __name__
    os.environ.setdefault("SOLARA_SESSION_SECRET_KEY", secrets.token_hex(32))
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    import solara.server.settings as ss
    import uvicorn

    ss.telemetry.mixpanel_enable = False
    ss.main.mode = "production"
    ss.theme.show_banner = False
    ss.theme.title = "healthgap — tableau de bord"
    ss.session.secret_key = os.environ["SOLARA_SESSION_SECRET_KEY"]

    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Dashboard at http://{shown_host}:{port}/ (results from {shown}); Ctrl+C to stop",
          file=sys.stderr, flush=True)
    if not _is_loopback(host):
        print(f"warning: --host {host} exposes the dashboard, without authentication, to "
              "other machines", file=sys.stderr, flush=True)
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning",
                            access_log=False, lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
