"""The HTML page: style sheet (screen and print) and the sections of the report.

Every string that comes from a user (comparison and scenario names, descriptions,
questions, intervention names, effect sources written in scenario files) goes through
:func:`esc` (``html.escape``); numbers and the labels of categories go through
:mod:`simulation.labels`. The page loads nothing: no script, no external style
sheet, no web font; figures are embedded as base64 data URIs.
"""

from __future__ import annotations

import base64
import html
import math
from importlib import resources
from typing import Any

from ..labels import (
    CHANGE_DIGITS,
    NNBSP,
    YEARS_DIGITS,
    fmt_count,
    fmt_date,
    fmt_estimate,
    fmt_interval,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_years,
    join_interval,
    join_words,
    label,
    label_in_text,
    localise,
    not_available,
    typography,
)
from .data import ReportData, ScenarioInfo
from .figures import counterfactuals
from .strings import T, data_file_texts, interval_kind, parameter_text, t, translate

CSS = """
:root { --ink: #1a1a1a; --muted: #4d4d4d; --rule: #b3b3b3; --soft: #f2f2f2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink);
  font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif;
  font-size: 15px; line-height: 1.5; }
main { max-width: 62rem; margin: 0 auto; padding: 1.5rem 1.5rem 3rem; }
header { border-bottom: 3px solid var(--ink); padding-bottom: .8rem; margin-bottom: 1rem; }
.kicker { text-transform: uppercase; letter-spacing: .06em; font-size: .8rem;
  color: var(--muted); margin: 0; }
h1 { font-size: 1.65rem; line-height: 1.25; margin: .2rem 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 1.5px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
h4 { font-size: .95rem; margin: .8rem 0 .3rem; }
p { margin: .45rem 0; }
.meta { color: var(--muted); margin: .2rem 0; }
.box { border: 1.5px solid var(--ink); border-left-width: 6px; padding: .55rem .9rem;
  margin: .8rem 0; }
.box.warn { border-style: solid; border-color: #000; background: #fff; }
.box p { margin: .25rem 0; }
.question { font-size: 1.08rem; font-style: italic; border-left: 4px solid var(--ink);
  padding: .2rem 0 .2rem .9rem; margin: .6rem 0; }
ul.key { padding-left: 1.2rem; }
ul.key li { margin: .3rem 0; }
nav.toc ol { columns: 2; column-gap: 2rem; padding-left: 1.3rem; margin: .3rem 0; }
nav.toc a { color: inherit; }
.scenario { border: 1px solid var(--rule); padding: .5rem .9rem .7rem; margin: .8rem 0; }
.scenario h3 { margin-top: .3rem; }
.tag { display: inline-block; border: 1px solid var(--ink); border-radius: 3px;
  font-size: .75rem; font-weight: normal; padding: 0 .35rem; margin-right: .4rem;
  vertical-align: .1em; }
dl.iv { display: grid; grid-template-columns: 10.5rem 1fr; gap: .15rem .8rem; margin: .3rem 0; }
dl.iv dt { font-weight: bold; }
dl.iv dd { margin: 0; }
.src { color: var(--muted); font-size: .88em; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .4rem; font-size: .86rem; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: .3rem 0; }
th, td { border: 1px solid var(--rule); padding: .28rem .45rem; vertical-align: top; }
thead th { background: var(--soft); text-align: center; }
th.row { text-align: left; font-weight: normal; }
tbody th.group { background: var(--soft); text-align: left; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num .sub { display: block; font-size: .82em; color: var(--muted); }
td.text { font-size: .92em; }
tr.base th.row { font-weight: bold; }
.tnote { font-size: .82rem; color: var(--muted); margin: .2rem 0 1rem; }
figure { margin: 1rem 0 1.6rem; }
figure img { display: block; width: 100%; height: auto; border: 0; }
figcaption { font-size: .86rem; margin-top: .3rem; }
figcaption .read { display: block; color: var(--muted); margin-top: .15rem; }
figcaption .num { font-weight: bold; }
table.params, table.files { table-layout: fixed; font-size: .74rem; }
table.params td, table.params th, table.files td { padding: .15rem .3rem; }
table.params td.num { white-space: normal; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .9em;
  overflow-wrap: anywhere; }
footer { margin-top: 2.5rem; border-top: 1px solid var(--rule); padding-top: .5rem;
  color: var(--muted); font-size: .82rem; }
@media (max-width: 40rem) {
  dl.iv { grid-template-columns: 1fr; }
  nav.toc ol { columns: 1; }
}
@media print {
  @page { size: A4; margin: 14mm 13mm 15mm; }
  body { font-size: 9.5pt; line-height: 1.4; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2, h3, h4, caption { break-after: avoid; page-break-after: avoid; }
  table, figure, .scenario, .box, dl.iv { break-inside: avoid; page-break-inside: avoid; }
  table.long { break-inside: auto; page-break-inside: auto; }
  tr, td, th { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  thead th, tbody th.group { background: #eee; -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
  section.annex { break-before: page; page-break-before: always; }
  nav.toc { break-after: avoid; }
}
"""


def esc(text: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def _tag(name: str, inner: str, cls: str | None = None, **attrs: str) -> str:
    a = f' class="{cls}"' if cls else ""
    for k, v in attrs.items():
        a += f' {k.rstrip("_")}="{esc(v)}"'
    return f"<{name}{a}>{inner}</{name}>"


def _p(inner: str, cls: str | None = None) -> str:
    return _tag("p", inner, cls)


def _first_last(data: ReportData) -> tuple[Any, Any]:
    first, last = data.window
    return first, last


# ------------------------------------------------------------------------ headline bits


def _val(rec: dict[str, Any] | None, key: str) -> float | None:
    if rec is None:
        return None
    v = rec.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _interval_excludes_zero(rec: dict[str, Any] | None, digits: int = CHANGE_DIGITS) -> bool:
    """Whether the change's interval, as displayed (rounded), lies on one side of zero."""
    lo, hi = _val(rec, "diff_lo"), _val(rec, "diff_hi")
    if lo is None or hi is None:
        return False
    return round(lo, digits) > 0 or round(hi, digits) < 0


def _cell_value(data: ReportData, rec: dict[str, Any] | None, baseline: bool, lang: str,
                digits: int = YEARS_DIGITS, change_digits: int = CHANGE_DIGITS) -> str:
    """A headline cell: the value; for the baseline its interval, for a scenario its
    paired change and the change's interval."""
    value = fmt_num(_val(rec, "value"), lang, digits)
    if baseline:
        sub = (fmt_interval(_val(rec, "lo"), _val(rec, "hi"), lang, digits)
               if data.has_intervals and rec is not None else "")
    else:
        change = fmt_num(_val(rec, "diff"), lang, change_digits, signed=True)
        ci = (" " + fmt_interval(_val(rec, "diff_lo"), _val(rec, "diff_hi"), lang,
                                 change_digits, signed=True)
              if data.has_intervals and rec is not None else "")
        sub = f"{t(lang, 'change_vs_baseline')} {change}{ci}"
    inner = value + (f'<span class="sub">{sub}</span>' if sub else "")
    return _tag("td", inner, "num")


def _arm_label(arm: ScenarioInfo, index: int, lang: str) -> str:
    tag = t(lang, "baseline_tag") if arm.is_baseline else f"{t(lang, 'scenario_tag')} {index}"
    return f'<span class="tag">{esc(tag)}</span>{esc(arm.label(lang))}'


def gap_table(data: ReportData, lang: str, metric: str, caption_key: str) -> str:
    gaps = ("Q5-Q1", "V20-V1", "cadres-ouvriers")
    head1 = _tag("th", esc(t(lang, "col_scenario")), rowspan="2")
    head1 += "".join(_tag("th", esc(label("gap", g, lang)), colspan="2") for g in gaps)
    head2 = "".join(_tag("th", esc(t(lang, "col_birth"))) + _tag("th", esc(t(lang, "col_35")))
                    for _ in gaps)
    body = ""
    for sex in ("M", "F"):
        rows = _tag("tr", _tag("th", esc(label("sex", sex, lang)), "group",
                               colspan=str(1 + 2 * len(gaps))))
        for i, arm in enumerate(data.arms):
            cells = _tag("th", _arm_label(arm, i, lang), "row")
            for g in gaps:
                for age in (0, 35):
                    rec = data.record(arm.name, metric, sex=sex, by=g, age=age)
                    cells += _cell_value(data, rec, arm.is_baseline, lang)
            rows += _tag("tr", cells, "base" if arm.is_baseline else None)
        body += _tag("tbody", rows)
    first, last = _first_last(data)
    table = _tag("table", _tag("caption", esc(t(lang, caption_key)))
                 + _tag("thead", _tag("tr", head1) + _tag("tr", head2)) + body)
    text = (t(lang, "tbl_gap_note", first=first, last=last) + " "
            + interval_kind(data.uncertainty, data.replicates, lang))
    if not data.has_intervals:
        text += " " + t(lang, "single_replicate")
    if not_available(lang) in body:
        text += " " + t(lang, "undefined_note")
    note = _p(esc(text), "tnote")
    return table + note


def _signed_record(rec: dict[str, Any] | None, negate: bool) -> tuple[Any, Any, Any]:
    d, lo, hi = _val(rec, "diff"), _val(rec, "diff_lo"), _val(rec, "diff_hi")
    if negate:
        d = None if d is None else -d
        lo, hi = (None if hi is None else -hi), (None if lo is None else -lo)
    return d, lo, hi


def _num_cell(value: Any, lo: Any, hi: Any, data: ReportData, lang: str, fmt: Any) -> str:
    inner = fmt(value)
    if data.has_intervals and lo is not None and hi is not None and value is not None:
        inner += f'<span class="sub">{join_interval(fmt(lo), fmt(hi), lang)}</span>'
    return _tag("td", inner, "num")


def cost_table(data: ReportData, lang: str) -> str:
    if not data.scenarios:
        return ""
    cols = ["col_scenario", "col_cost_year", "col_deaths", "col_ly", "col_qaly",
            "col_cost_qaly"]
    head = "".join(_tag("th", esc(t(lang, c)), rowspan="2") for c in cols)
    main = data.main_gap
    head += _tag("th", esc(t(lang, "col_per_meur", gap=label("gap", main, lang))), colspan="2")
    head2 = _tag("th", esc(label("sex", "M", lang))) + _tag("th", esc(label("sex", "F", lang)))
    rows = ""

    def count(x: Any) -> str:
        return fmt_count(x, lang)

    for i, arm in enumerate(data.scenarios, start=1):
        cells = _tag("th", _arm_label(arm, i, lang), "row")
        cost = data.record(arm.name, "cost_eur_per_year")
        cells += _tag("td", fmt_money(_val(cost, "value"), lang), "num")
        deaths = data.record(arm.name, "deaths")
        cells += _num_cell(*_signed_record(deaths, True), data, lang, count)
        cells += _num_cell(*_signed_record(data.record(arm.name, "life_years"), False), data,
                           lang, count)
        cells += _num_cell(*_signed_record(data.record(arm.name, "qalys"), False), data,
                           lang, count)
        derived = data.derived.get(arm.name, {})
        cpq = derived.get("cost_per_qaly_eur")
        has_cost = bool(_val(cost, "value"))
        cells += _tag("td", fmt_money(cpq, lang) if cpq is not None and has_cost
                      else esc(t(lang, "not_applicable")), "num")
        c_lo, c_hi = _val(cost, "lo"), _val(cost, "hi")
        c_mean = _val(cost, "value")
        for sex in ("M", "F"):
            g = data.record(arm.name, "gap_e", sex=sex, by=main, age=0)
            reduction, glo, ghi = _signed_record(g, True)
            if reduction is None or not c_mean:
                cells += _tag("td", esc(t(lang, "not_applicable")), "num")
                continue
            # as comparison.summarise computes it for V20-V1: fall of the gap per M€ a year
            per = reduction / (c_mean / 1e6)
            lo = hi = None
            same_cost = c_lo is not None and c_hi is not None and (
                abs(c_hi - c_lo) <= 1e-6 * c_mean)
            if same_cost and glo is not None and ghi is not None:
                lo, hi = glo / (c_mean / 1e6), ghi / (c_mean / 1e6)
            cells += _num_cell(per, lo, hi, data, lang,
                               lambda x: fmt_num(x, lang, 3, signed=True))
        rows += _tag("tr", cells)
    p = data.baseline.scenario.parameters if data.baseline.scenario is not None else {}
    util = p.get("outcomes.utility_disability")
    rate = p.get("outcomes.discount_rate")
    years = data.summary.get("years")
    effects = (data.summary.get("horizon") or {}).get("effects", "simulation")
    horizon = t(lang, f"horizon_{effects}", years=years)
    note = t(lang, "tbl_cost_note", util=fmt_num(util, lang, 2), rate=fmt_pct(rate, lang),
             years=years, gap=label("gap", main, lang), horizon=horizon)
    table = _tag("table", _tag("caption", esc(t(lang, "tbl_cost_caption")))
                 + _tag("thead", _tag("tr", head) + _tag("tr", head2)) + _tag("tbody", rows))
    return table + _p(esc(note), "tnote")


def equity_table(data: ReportData, lang: str) -> str:
    """Distributional cost-effectiveness: quality-adjusted life expectancy at birth by
    income fifth and its equally distributed equivalent (Atkinson), for each arm."""
    if data.record(data.baseline.name, "ede_atkinson") is None:
        return ""  # a comparison stored before DCEA
    head = _tag("th", esc(t(lang, "col_scenario")))
    for q in range(1, 6):
        head += _tag("th", esc(t(lang, "col_qale_q", q=q)))
    head += _tag("th", esc(t(lang, "col_ede")))
    rows = ""
    for i, arm in enumerate(data.arms):
        cells = _tag("th", _arm_label(arm, i, lang), "row")
        for q in range(1, 6):
            rec = data.record(arm.name, "qale", by="income_quintile", group=str(q))
            cells += _cell_value(data, rec, arm.is_baseline, lang)
        cells += _cell_value(data, data.record(arm.name, "ede_atkinson"), arm.is_baseline,
                             lang)
        rows += _tag("tr", cells, "base" if arm.is_baseline else None)
    p = data.baseline.scenario.parameters if data.baseline.scenario is not None else {}
    first, last = _first_last(data)
    note = t(lang, "tbl_equity_note", util=fmt_num(p.get("outcomes.utility_disability"), lang,
                                                   2),
             eps=fmt_num(p.get("outcomes.atkinson_epsilon"), lang, 2), first=first, last=last)
    table = _tag("table", _tag("caption", esc(t(lang, "tbl_equity_caption")))
                 + _tag("thead", _tag("tr", head)) + _tag("tbody", rows))
    return table + _p(esc(note), "tnote")


def extra_table(data: ReportData, lang: str) -> str:
    head = _tag("th", esc(t(lang, "col_scenario")), rowspan="2")
    head += _tag("th", esc(t(lang, "col_sii")), colspan="2")
    head2 = _tag("th", esc(label("sex", "M", lang))) + _tag("th", esc(label("sex", "F", lang)))
    rows = ""
    for i, arm in enumerate(data.arms):
        cells = _tag("th", _arm_label(arm, i, lang), "row")
        for sex in ("M", "F"):
            cells += _cell_value(data, data.record(arm.name, "sii_e0", sex=sex),
                                 arm.is_baseline, lang)
        rows += _tag("tr", cells, "base" if arm.is_baseline else None)
    return _tag("table", _tag("caption", esc(t(lang, "tbl_extra_caption")))
                + _tag("thead", _tag("tr", head) + _tag("tr", head2)) + _tag("tbody", rows))


# --------------------------------------------------------------------------- key points


def years_text(x: float | None, lang: str, digits: int = CHANGE_DIGITS) -> str:
    """"−0,12 an (environ 1 mois)" / "−2,55 ans (environ 31 mois)": years, with months
    for changes between a few weeks and two years."""
    num = fmt_num(x, lang, digits, signed=True)
    if x is None:
        return num
    plural = abs(x) >= 2 if lang == "fr" else round(abs(x), digits) != 1
    text = t(lang, "years_n_plural" if plural else "years_n", n=num)
    if 0.05 <= abs(x) < 2:
        text += f" ({t(lang, 'months', n=fmt_num(abs(x) * 12, lang, 0))})"
    return text


def key_points(data: ReportData, lang: str) -> str:
    first, last = _first_last(data)

    def gap(sex: str, by: str) -> str:
        rec = data.record(data.baseline.name, "gap_e", sex=sex, by=by, age=0)
        return fmt_years(_val(rec, "value"), lang)

    main = data.main_gap
    words = label("gap_words", main, lang)
    items = [esc(t(lang, "key_baseline", name=data.baseline.label(lang), gap_words=words,
                   m=gap("M", main), f=gap("F", main), cm=gap("M", "cadres-ouvriers"),
                   cf=gap("F", "cadres-ouvriers"), first=first, last=last))]
    for arm in data.scenarios:
        parts, excludes, extremes = {}, [], {}
        for sex in ("M", "F"):
            rec = data.record(arm.name, "gap_e", sex=sex, by=main, age=0)
            ci = (fmt_interval(_val(rec, "diff_lo"), _val(rec, "diff_hi"), lang,
                               CHANGE_DIGITS, signed=True) if data.has_intervals else "")
            parts[sex] = (years_text(_val(rec, "diff"), lang), ci)
            if _interval_excludes_zero(rec):
                excludes.append(sex)
            ext = data.record(arm.name, "gap_e", sex=sex, by="V20-V1", age=0)
            extremes[sex] = (fmt_estimate(_val(ext, "diff"), _val(ext, "diff_lo"),
                                          _val(ext, "diff_hi"), lang, CHANGE_DIGITS, signed=True)
                             if data.has_intervals else fmt_years(_val(ext, "diff"), lang,
                                                                  change=True))
        if not data.has_intervals:
            verdict = t(lang, "verdict_na")
        elif len(excludes) == 2:
            verdict = t(lang, "verdict_both")
        elif excludes:
            verdict = t(lang, f"verdict_{excludes[0]}")
        else:
            verdict = t(lang, "verdict_none")
        cost = _val(data.record(arm.name, "cost_eur_per_year"), "value")
        cost_text = (t(lang, "key_cost", cost=fmt_money(cost, lang)) if cost
                     else (t(lang, "key_cf") if arm.equalise else ""))
        text = t(lang, "key_scenario", name=arm.label(lang), gap=label("gap", main, lang),
                 m=parts["M"][0], mi=parts["M"][1],
                 f=parts["F"][0], fi=parts["F"][1], cost=cost_text, verdict=verdict)
        if main == "Q5-Q1" and all(_val(data.record(arm.name, "gap_e", sex=x, by="V20-V1",
                                                    age=0), "diff") is not None
                                   for x in ("M", "F")):
            text += " " + t(lang, "key_extremes", m=extremes["M"], f=extremes["F"])
        items.append(esc(text.replace("  ", " ").replace(" ;", NNBSP + ";")
                         .replace(" ,", ",")))
    out = ""
    if main != "Q5-Q1":
        out += _tag("div", _p(esc(t(lang, "gap_fallback", gap=label("gap", main, lang)))), "box")
    out += _tag("ul", "".join(_tag("li", i) for i in items), "key")
    if data.scenarios:
        out += _p(esc(t(lang, "key_reading")))
    return out


def warnings(data: ReportData, lang: str) -> str:
    out = ""
    agents = int(data.summary.get("agents") or 0)
    if agents and agents < 100_000:
        out += _tag("div", _p(esc(t(lang, "small_population", agents=fmt_num(agents, lang, 0),
                                    per_vingtile=fmt_num(agents / 20, lang, 0)))), "box warn")
    if not data.has_intervals:
        out += _tag("div", _p(esc(t(lang, "single_replicate"))), "box warn")
    elif data.replicates < 10:
        out += _tag("div", _p(esc(t(lang, "few_replicates", n=data.replicates))), "box")
    return out


# ------------------------------------------------------------------------- scenarios


def _groups_text(alloc: Any, lang: str) -> str:
    if alloc.by in ("pcs", "education"):
        names = [label_in_text(alloc.by, g, lang) for g in alloc.groups]
    else:
        names = [f"{label('department', g, lang)} ({g})" for g in alloc.groups]
    return join_words(names, lang)


def allocation_text(alloc: Any, lang: str, data: ReportData, params: dict[str, Any]) -> str:
    if alloc.mode == "universal":
        return t(lang, "mode_universal")
    if alloc.mode == "targeted":
        if alloc.by == "income_rank":
            return t(lang, "mode_targeted_income", pct=fmt_pct(alloc.max_rank, lang),
                     rank=fmt_num(alloc.max_rank, lang, 3).rstrip("0").rstrip(",."))
        if alloc.by == "priority_zone":
            return t(lang, "mode_targeted_zone",
                     share=fmt_pct(params.get("care.priority_zone_share"), lang))
        key = {"pcs": "mode_targeted_pcs", "education": "mode_targeted_education",
               "department": "mode_targeted_department"}[alloc.by]
        return t(lang, key, groups=_groups_text(alloc, lang))
    if alloc.gradient == "stepped":
        steps = join_words([fmt_pct(s, lang) for s in alloc.steps], lang)
        return t(lang, "mode_prop_stepped", steps=steps)
    return t(lang, "mode_prop_linear", min=fmt_pct(alloc.min_need, lang))


def _translated(text: str, lang: str) -> str:
    """A text of the code in the reader's language (English when no rendering exists)."""
    return esc(translate(text, lang)[0])


def _source(text: str, lang: str) -> str:
    """"source : …", or "hypothèse : …" when the text says it is an assumption."""
    out, ok = translate(text, lang)
    for prefix in ("hypothèse\u00a0: ", "assumption: "):
        if out.startswith(prefix):
            return f'<span class="src">{esc(out)}</span>'
    label = t(lang, "source") if ok else t(lang, "source_en")
    sep = "\u00a0: " if lang == "fr" else ": "
    return f'<span class="src">{esc(label)}{sep}{esc(out)}</span>'


def intervention_block(iv: Any, lang: str, data: ReportData, scenario: Any) -> str:
    from ..interventions import TYPE_INDEX, TYPES

    kind = TYPES[TYPE_INDEX[iv.type]] if iv.type in TYPE_INDEX else None
    label = (kind.label_fr if lang == "fr" else kind.label_en) if kind else iv.type
    title = esc(label)
    if iv.name and iv.name != iv.type:
        title += f" — {esc(iv.name)}"
    end_year = scenario.start_year + scenario.years - 1
    rows = []
    if kind is not None:
        rows.append(("who", _translated(kind.eligible, lang)))
    rows.append(("rule", esc(allocation_text(iv.allocation, lang, data, scenario.parameters))))
    if iv.allocation.budget_eur is not None:
        rows.append(("budget", esc(t(lang, "budget_text",
                                     money=fmt_money(iv.allocation.budget_eur, lang)))))
    else:
        rows.append(("budget", esc(t(lang, "intensity_text",
                                     pct=fmt_pct(iv.allocation.intensity, lang)))))
    if iv.duration_years is None:
        when = t(lang, "when_open", start=iv.start_year, end=end_year)
    else:
        when = t(lang, "when_duration", start=iv.start_year,
                 end=iv.start_year + iv.duration_years - 1)
    rows.append(("when", esc(when)))
    unit = _translated(kind.effect_unit, lang) if kind else ""
    value = fmt_pct(iv.effect, lang)
    if kind is not None and iv.effect == kind.effect:
        value = t(lang, "effect_range_text", value=value, low=fmt_pct(kind.effect_low, lang),
                  high=fmt_pct(kind.effect_high, lang), grade=t(lang, f"grade_{kind.grade}"))
    effect = t(lang, "effect_text", value=esc(value), unit=unit)
    rows.append(("effect", effect + "<br>" + _source(iv.effect_source, lang)))
    cost = esc(unit_cost_text(kind, iv.unit_cost_eur, lang) if kind is not None else
               t(lang, "unit_cost_text", money=fmt_money(iv.unit_cost_eur, lang)))
    if kind is not None:
        cost += "<br>" + _source(kind.cost_source, lang)
    rows.append(("unit_cost", cost))
    dl = "".join(_tag("dt", esc(t(lang, k))) + _tag("dd", v) for k, v in rows)
    return _tag("h4", title) + _tag("dl", dl, "iv")


def scenario_block(arm: ScenarioInfo, index: int, data: ReportData, lang: str) -> str:
    out = _tag("h3", _arm_label(arm, index, lang))
    sc = arm.scenario
    if sc is None:
        return _tag("div", out + _p(esc(t(lang, "definition_missing"))), "scenario")
    if arm.text(lang):
        out += _p(esc(t(lang, "description")) + "<em>" + esc(arm.text(lang)) + "</em>")
    if sc.equalise:
        paths = [label("pathway", p, lang) for p in sc.equalise]
        out += _p(esc(t(lang, "counterfactual", pathways=join_words(paths, lang))))
    if not sc.interventions and not sc.equalise:
        out += _p(esc(t(lang, "no_intervention")))
    for iv in sc.interventions:
        out += intervention_block(iv, lang, data, sc)
    reach = data.reach.get(arm.name)
    if sc.interventions and reach is not None:
        if reach["reached"] > 0:
            text = t(lang, "reached_text", n=fmt_count(reach["reached"], lang),
                     cost=fmt_money(reach["cost"], lang),
                     per=fmt_money(reach["cost"] / reach["reached"], lang))
        else:
            text = t(lang, "reached_none")
        out += _tag("dl", _tag("dt", esc(t(lang, "reached"))) + _tag("dd", esc(text)), "iv")
    base = data.baseline.scenario
    if base is not None and not arm.is_baseline:
        changed = [f"{k} = {_param_value(v, lang)}" for k, v in sorted(sc.parameters.items())
                   if base.parameters.get(k) != v]
        if changed:
            out += _p(esc(t(lang, "params_changed", list="; ".join(changed))))
    return _tag("div", out, "scenario")


# ---------------------------------------------------------------------------- figures


def figure_block(number: int, title: str, svg: bytes, caption: str, reading: str,
                 lang: str) -> str:
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    label = f"Figure {number}"
    img = f'<img src="{uri}" alt="{esc(t(lang, "fig_alt", title=title))}">'
    cap = (f'<span class="num">{label}. {esc(title)}.</span> {esc(caption)}'
           f'<span class="read">{esc(reading)}</span>')
    return _tag("figure", img + _tag("figcaption", cap))


def decomposition_table(data: ReportData, lang: str) -> str:
    arms = counterfactuals(data)
    head = _tag("th", esc(t(lang, "col_scenario")), rowspan="2")
    head += _tag("th", esc(t(lang, "col_pathways")), rowspan="2")
    head += "".join(_tag("th", esc(label("sex", s, lang)), colspan="2") for s in ("M", "F"))
    head2 = (_tag("th", esc(t(lang, "col_reduction"))) + _tag("th", esc(t(lang, "col_share"))))
    head2 *= 2
    rows = ""
    for arm in arms:
        i = data.arms.index(arm)
        cells = _tag("th", _arm_label(arm, i, lang), "row")
        paths = join_words([label("pathway", p, lang) for p in arm.equalise], lang)
        cells += _tag("td", esc(paths), "text")
        for sex in ("M", "F"):
            rec = data.record(arm.name, "gap_e", sex=sex, by=data.main_gap, age=0)
            d, lo, hi = _signed_record(rec, True)
            cells += _num_cell(d, lo, hi, data, lang, lambda x: fmt_years(x, lang, change=True))
            base = _val(data.record(data.baseline.name, "gap_e", sex=sex, by=data.main_gap,
                                    age=0), "value")
            share = d / base if d is not None and base else None
            cells += _tag("td", fmt_pct(share, lang) if share is not None
                          else not_available(lang), "num")
        rows += _tag("tr", cells)
    caption = t(lang, "decomp_table_caption", gap=label("gap", data.main_gap, lang))
    return _tag("table", _tag("caption", esc(caption))
                + _tag("thead", _tag("tr", head) + _tag("tr", head2)) + _tag("tbody", rows))


# ---------------------------------------------------------------------------- sources


def _param_value(v: Any, lang: str) -> str:
    if isinstance(v, list):
        return "[" + ("; " if lang == "fr" else ", ").join(_param_value(x, lang) for x in v) + "]"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return localise(f"{v:g}", lang)
    return str(v)


def interventions_table(data: ReportData, lang: str) -> str:
    from ..interventions import TYPE_INDEX, TYPES

    seen = []
    for arm in data.arms:
        for iv in arm.interventions:
            key = (iv.type, iv.effect, iv.effect_source, iv.unit_cost_eur)
            if key not in seen:
                seen.append(key)
    if not seen:
        return _p(esc(t(lang, "src_none")))
    head = "".join(_tag("th", esc(t(lang, c))) for c in
                   ("col_intervention", "col_effect", "col_effect_source", "col_cost",
                    "col_cost_source"))
    rows = ""
    for kind_name, effect, source, cost in seen:
        kind = TYPES[TYPE_INDEX[kind_name]] if kind_name in TYPE_INDEX else None
        label = (kind.label_fr if lang == "fr" else kind.label_en) if kind else kind_name
        unit = _translated(kind.effect_unit, lang) if kind else ""
        cells = _tag("th", esc(label), "row")
        cells += _tag("td", f"{fmt_pct(effect, lang)}<br><span class='src'>{unit}</span>",
                      "text")
        cells += _tag("td", _translated(source, lang), "text")
        cells += _tag("td", esc(unit_cost_text(kind, cost, lang) if kind else
                                t(lang, "unit_cost_text", money=fmt_money(cost, lang))),
                      "text")
        cells += _tag("td", _translated(kind.cost_source, lang) if kind else "", "text")
        rows += _tag("tr", cells)
    return _tag("table", _tag("thead", _tag("tr", head)) + _tag("tbody", rows))


def unit_cost_text(kind: Any, unit_cost: float, lang: str) -> str:
    """What the unit cost of an intervention type pays for, in words."""
    money = fmt_money(unit_cost, lang)
    if kind.cost_basis in ("dose", "effect"):
        return t(lang, f"unit_cost_{kind.cost_basis}", money=money)
    return t(lang, "unit_cost_use", money=money, param=kind.cost_basis)


def registry_table(lang: str) -> str:
    """Every intervention type of the registry: central effect and 95% range, strength of
    the evidence, sources with their figures, unit cost and published costs per QALY."""
    from ..interventions import TYPES

    cols = ("col_intervention", "col_range", "col_grade", "col_evidence", "col_cost",
            "col_published")
    head = "".join(_tag("th", esc(t(lang, c))) for c in cols)
    rows = ""
    for kind in TYPES:
        rng = (f"{fmt_pct(kind.effect, lang)} "
               + join_interval(fmt_pct(kind.effect_low, lang), fmt_pct(kind.effect_high, lang),
                               lang))
        cells = _tag("th", esc(kind.label(lang)), "row")
        cells += _tag("td", esc(rng) + "<br><span class='src'>"
                      + esc(kind.text("effect_unit", lang)) + "</span>", "text")
        cells += _tag("td", esc(t(lang, f"grade_{kind.grade}")), "text")
        cells += _tag("td", esc(typography(kind.text("effect_source", lang), lang)), "text")
        cells += _tag("td", esc(unit_cost_text(kind, kind.unit_cost_eur, lang)) + "<br>"
                      "<span class='src'>" + esc(typography(kind.text("cost_source", lang),
                                                            lang)) + "</span>", "text")
        cells += _tag("td", esc(typography(kind.text("published_cost_per_qaly", lang), lang)),
                      "text")
        rows += _tag("tr", cells)
    return _tag("table", _tag("caption", esc(t(lang, "annex_interventions")))
                + _tag("thead", _tag("tr", head)) + _tag("tbody", rows), "files long")


def data_files() -> list[tuple[str, str]]:
    """(file name, its leading comment lines) of the CSV files shipped with the model."""
    out = []
    root = resources.files("simulation.data")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".csv"):
            continue
        lines = []
        with entry.open("r", encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    break
                lines.append(line.lstrip("#").strip())
        text = " ".join(lines)
        if text.lower().startswith("source: "):
            text = text[8:]
        out.append((entry.name, text))
    return out


def _file_text(name: str, header: str, lang: str) -> str:
    """A data file's description for the report (data_files.toml), or its header lines."""
    return data_file_texts().get(name, {}).get(lang, header)


def parameter_counts(specs: dict[str, Any]) -> dict[str, int]:
    assumed = sum(1 for s in specs.values() if s.source.lower().startswith("assumption"))
    calibrated = sum(1 for s in specs.values() if s.source.lower().startswith("calibrated"))
    return {"total": len(specs), "assumed": assumed, "calibrated": calibrated,
            "sourced": len(specs) - assumed - calibrated}


def sources_section(data: ReportData, lang: str) -> str:
    out = _tag("h3", esc(t(lang, "src_interventions"))) + interventions_table(data, lang)
    out += _tag("h3", esc(t(lang, "src_model")))
    out += _p(esc(t(lang, "src_model_intro")))
    out += _tag("ul", "".join(_tag("li", esc(typography(x, lang)))
                              for x in T[lang]["src_producers"]))
    base = data.baseline.scenario
    # runs stored before the burn-in existed have no such parameter: they had none
    years = int(base.parameters.get("demography.burn_in_years", 0)) if base is not None else 0
    if years:
        out += _p(esc(t(lang, "src_burn_in", years=years, first=base.start_year - years,
                        start=base.start_year)))
    out += _p(esc(t(lang, "src_see_annex")))
    return out


def files_table(lang: str) -> str:
    rows = "".join(_tag("tr", _tag("td", f"<code>{esc(name)}</code>")
                        + _tag("td", esc(_file_text(name, src, lang))))
                   for name, src in data_files())
    head = _tag("tr", _tag("th", esc(t(lang, "col_file"))) + _tag("th", esc(t(lang, "col_source"))))
    cols = '<colgroup><col style="width:30%"><col style="width:70%"></colgroup>'
    return _tag("table", _tag("caption", esc(t(lang, "src_files"))) + cols
                + _tag("thead", head) + _tag("tbody", rows), "files long")


def annex_section(data: ReportData, lang: str, specs: dict[str, Any]) -> str:
    base = data.baseline.scenario
    head = "".join(_tag("th", esc(t(lang, c)))
                   for c in ("col_param", "col_value", "col_unit", "col_source"))
    rows = ""
    for name, spec in specs.items():
        value = base.parameters.get(name, spec.value) if base is not None else spec.value
        unit, source = parameter_text(name, spec.unit, spec.source, lang)
        rows += _tag("tr", _tag("td", f"<code>{esc(name)}</code>")
                     + _tag("td", esc(_param_value(value, lang)), "num")
                     + _tag("td", esc(unit)) + _tag("td", esc(source)))
    cols = ('<colgroup><col style="width:22%"><col style="width:13%"><col style="width:25%">'
            '<col style="width:40%"></colgroup>')
    return (_p(esc(t(lang, "annex_intro")))
            + _tag("table", _tag("caption", esc(t(lang, "annex_params"))) + cols
                   + _tag("thead", _tag("tr", head)) + _tag("tbody", rows), "params long")
            + registry_table(lang) + files_table(lang))


def version_section(data: ReportData, lang: str, model_version: str,
                    report_code: str) -> str:
    runs = data.runs
    codes = sorted(set(runs["code_version"].dropna())) if not runs.empty else []
    commits = sorted(set(runs["git_commit"].dropna())) if not runs.empty else []
    first, last = _first_last(data)
    s = data.summary
    rows = [
        ("ver_comparison", str(data.comparison_id)),
        ("ver_model", model_version),
        ("ver_runs", ", ".join(codes) or not_available(lang)),
        ("ver_report", report_code),
        ("ver_commit", ", ".join(commits) or not_available(lang)),
        ("ver_seed", str(s.get("seed"))),
        ("ver_agents", fmt_num(s.get("agents"), lang, 0)),
        ("ver_horizon", f"{s['start_year']}–{int(s['start_year']) + int(s['years']) - 1}"
         if s.get("start_year") is not None and s.get("years") else not_available(lang)),
        ("ver_window", f"{first}–{last}" if first is not None else not_available(lang)),
    ]
    dl = "".join(_tag("dt", esc(t(lang, k))) + _tag("dd", f"<code>{esc(v)}</code>")
                 for k, v in rows)
    out = _tag("dl", dl, "iv")
    if codes and any(c != report_code for c in codes):
        out += _tag("div", _p(esc(t(lang, "ver_mismatch"))), "box")
    head = _tag("tr", _tag("th", esc(t(lang, "col_scenario")))
                + _tag("th", esc(t(lang, "col_runs"))))
    rows_html = ""
    for i, arm in enumerate(data.arms):
        rows_html += _tag("tr", _tag("th", _arm_label(arm, i, lang), "row")
                          + _tag("td", esc(", ".join(str(r) for r in arm.run_ids))))
    out += _tag("table", _tag("caption", esc(t(lang, "ver_run_ids"))) + _tag("thead", head)
                + _tag("tbody", rows_html))
    out += _p(esc(t(lang, "ver_reproduce", id=data.comparison_id)), "tnote")
    return out


def uncertainty_section(data: ReportData, lang: str, specs: dict[str, Any]) -> str:
    counts = parameter_counts(specs)
    agents = int(data.summary.get("agents") or 0)
    u = data.uncertainty
    psa = data.has_parameter_uncertainty
    out = _tag("div", _p(esc(interval_kind(data.uncertainty, data.replicates, lang))), "box")
    if data.has_intervals and psa and u.get("kind") == "chance+effects":
        out += _p(esc(t(lang, "unc_effects_p1", n=data.replicates)))
    elif data.has_intervals and psa:
        out += _p(esc(t(lang, "unc_psa_p1", n=data.replicates, calibration=u.get("calibration"),
                        id=u.get("calibration_id"), distinct=u.get("distinct_draws"))))
    elif data.has_intervals:
        out += _p(esc(t(lang, "unc_p1", n=data.replicates)))
    else:
        out += _tag("div", _p(esc(t(lang, "single_replicate"))), "box warn")
    out += _p(esc(t(lang, "unc_psa_p2" if psa else "unc_p2", **counts)))
    fit = data.posterior_fit
    if psa and fit:
        ess = fit.get("ess")
        out += _p(esc(t(lang, "unc_psa_fit", calibration=fit["calibration"], id=fit["id"],
                        met=fit["met"], scored=fit["scored"],
                        ess=fmt_num(ess, lang, 1) if ess is not None else "?",
                        particles=fit.get("particles") or "?")))
    out += _p(esc(t(lang, "unc_p3", agents=fmt_num(agents, lang, 0),
                    per_vingtile=fmt_num(agents / 20, lang, 0))))
    return out


# ----------------------------------------------------------------------------- page


def page(data: ReportData, lang: str, figures: dict[str, tuple[str, bytes]],
         model_version: str, report_code: str) -> str:
    """The whole HTML document. ``figures`` maps a figure's stem (see
    :data:`simulation.report.figures.FIGURES`) to (title, SVG bytes)."""
    from ..config import load_parameter_specs

    specs = load_parameter_specs()
    s = data.summary
    first, last = _first_last(data)
    created = data.created
    sections: list[tuple[str, str, str]] = []  # (id, title, html)

    sections.append(("bref", t(lang, "sec_key"), warnings(data, lang) + key_points(data, lang)))

    q = data.text("question", lang)
    qhtml = (_tag("p", esc(q), "question") if q.strip()
             else _p(esc(t(lang, "question_none"))))
    if data.text("description", lang).strip():
        qhtml += _p(esc(t(lang, "description")) + "<em>" + esc(data.text("description", lang))
                    + "</em>")
    sections.append(("question", t(lang, "sec_question"), qhtml))

    sc_html = "".join(scenario_block(arm, i, data, lang) for i, arm in enumerate(data.arms))
    sections.append(("scenarios", t(lang, "sec_scenarios"), sc_html))

    res = gap_table(data, lang, "gap_e", "tbl_gap_caption")
    res += gap_table(data, lang, "gap_hle", "tbl_hle_caption")
    res += cost_table(data, lang)
    res += equity_table(data, lang)
    res += extra_table(data, lang)
    sections.append(("resultats", t(lang, "sec_results"), res))

    number = 0
    fig_html = ""
    captions = {
        "e0_by_vingtile": ("fig_vingtile_caption", "fig_vingtile_read", {}),
        "gap_over_time": ("fig_time_caption", "fig_time_read", {"w": data.rolling_years}),
        "population": ("fig_population_caption", "fig_population_read",
                       {"projection": (data.baseline.scenario.parameters.get(
                           "demography.projection", "central")
                           if data.baseline.scenario is not None else "central")}),
        "e35_by_pcs": ("fig_pcs_caption", "fig_pcs_read", {}),
        "equity_efficiency": ("fig_plane_caption", "fig_plane_read",
                              {"years": s.get("years"), "gap": label("gap", data.main_gap, lang)}),
        "decomposition": ("fig_decomp_caption", "fig_decomp_read",
                          {"gap": label("gap", data.main_gap, lang)}),
        "calibration": ("fig_calib_caption", "fig_calib_read", {"first": first, "last": last}),
    }

    def fig(stem: str) -> str:
        nonlocal number
        if stem not in figures:
            return ""
        number += 1
        title, svg = figures[stem]
        cap, read, kw = captions[stem]
        return figure_block(number, title, svg, t(lang, cap, **kw), t(lang, read), lang)

    for stem in ("e0_by_vingtile", "gap_over_time", "population", "e35_by_pcs",
                 "equity_efficiency"):
        if stem == "gap_over_time" and stem not in figures:
            fig_html += _p(esc(t(lang, "fig_time_short")))
        fig_html += fig(stem)
    fig_html += _p(esc(t(lang, "fig_files")), "tnote")
    sections.append(("figures", t(lang, "sec_figures"), fig_html))

    if counterfactuals(data):
        dec = fig("decomposition") + decomposition_table(data, lang)
    else:
        dec = _tag("div", _p(esc(t(lang, "decomp_none"))), "box")
    sections.append(("decomposition", t(lang, "sec_decomposition"), dec))
    sections.append(("calibration", t(lang, "sec_calibration"), fig("calibration")))
    sections.append(("incertitude", t(lang, "sec_uncertainty"),
                     uncertainty_section(data, lang, specs)))
    sections.append(("sources", t(lang, "sec_sources"), sources_section(data, lang)))
    sections.append(("version", t(lang, "sec_version"),
                     version_section(data, lang, model_version, report_code)))
    sections.append(("annexe", t(lang, "sec_annex"), annex_section(data, lang, specs)))

    toc = _tag("nav", _tag("h2", esc(t(lang, "toc"))) + _tag("ol", "".join(
        _tag("li", f'<a href="#{sid}">{esc(title)}</a>') for sid, title, _ in sections)), "toc")
    body = ""
    for sid, title, inner in sections:
        cls = "annex" if sid == "annexe" else None
        body += _tag("section", _tag("h2", esc(title)) + inner, cls, id=sid)

    meta = esc(t(lang, "meta_line", agents=fmt_num(s.get("agents"), lang, 0),
                 replicates=s.get("replicates"), first=s.get("start_year"),
                 last=(int(s["start_year"]) + int(s["years"]) - 1)
                 if s.get("start_year") is not None and s.get("years") else "?"))
    kicker = esc(t(lang, "report_no", id=data.comparison_id))
    if created is not None:
        kicker += " · " + esc(t(lang, "saved_on", date=fmt_date(created, lang)))
    header = _tag("header", _p(kicker, "kicker") + _tag("h1", esc(data.text("comparison", lang)))
                  + _p(meta, "meta"))
    footer = _tag("footer", esc(t(lang, "generated_by", version=model_version)))
    title = f"{t(lang, 'title_prefix')} — {data.text('comparison', lang)}"
    return ("<!DOCTYPE html>\n"
            f'<html lang="{t(lang, "html_lang")}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f"{header}\n{toc}\n{body}\n{footer}\n</main>\n</body>\n</html>\n")
