"""Labels and number formats (simulation.labels): the one home of what the report, the
dashboard and the console show of categories and numbers. Expected strings are written by
hand: U+202F is the narrow no-break space, U+2212 the minus sign."""

from __future__ import annotations

import ast
import math
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simulation.labels import (
    CHANGE_DIGITS,
    KINDS,
    YEARS_DIGITS,
    fmt_count,
    fmt_date,
    fmt_estimate,
    fmt_interval,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_years,
    group_label,
    group_order,
    join_interval,
    join_words,
    label,
    label_in_text,
    labels,
    localise,
    not_available,
    typography,
)

PACKAGE = Path(__file__).resolve().parents[1] / "simulation"
N = "\u202f"  # narrow no-break space
M = "\u2212"  # minus sign
MISSING = (None, float("nan"), float("inf"), -math.inf, "12", True)

# ------------------------------------------------------------------------------ numbers


def test_numbers_in_french_and_english():
    assert fmt_num(1234.567, "fr", 1) == f"1{N}234,6"
    assert fmt_num(1234.567, "en", 1) == "1,234.6"
    assert fmt_num(1234567.891, "fr", 2) == f"1{N}234{N}567,89"
    assert fmt_num(1234567.891, "en", 0) == "1,234,568"
    assert fmt_num(0.5, "fr") == "0,5" and fmt_num(7, "en", 2) == "7.00"


def test_negative_numbers_take_a_true_minus_sign():
    assert fmt_num(-1234.56, "fr", 1) == f"{M}1{N}234,6"
    assert fmt_num(-1234.56, "en", 1) == f"{M}1,234.6"
    assert fmt_num(-0.5, "fr", 2, signed=True) == f"{M}0,50"


def test_signs_and_zero():
    assert fmt_num(0.12, "fr", 2, signed=True) == "+0,12"
    assert fmt_num(0.12, "en", 2, signed=True) == "+0.12"
    # what rounds to zero has no sign: never "−0,00" nor "+0,00"
    assert fmt_num(-0.001, "fr", 2, signed=True) == "0,00"
    assert fmt_num(-0.001, "en", 2) == "0.00"
    assert fmt_num(0.0, "en", 1, signed=True) == "0.0"


@pytest.mark.parametrize("missing", MISSING)
def test_missing_values_are_said(missing):
    assert fmt_num(missing, "fr") == "n.d." == not_available("fr")
    assert fmt_num(missing, "en") == "n/a" == not_available("en")
    assert fmt_years(missing, "fr", change=True) == "n.d."
    assert fmt_pct(missing, "en") == "n/a"
    assert fmt_money(missing, "fr") == "n.d."
    assert fmt_count(missing, "en", plain=True) == "n/a"


def test_numpy_numbers_are_numbers():
    assert fmt_num(np.float64(2.25), "fr", 2) == "2,25"
    assert fmt_num(np.int64(1234), "en", 0) == "1,234"
    assert fmt_num(np.float32("nan"), "fr") == "n.d."


def test_plain_numbers_for_the_console():
    """ASCII hyphen-minus, no thousands separator: the digits Python prints."""
    assert fmt_num(-1234.56, "en", 1, plain=True) == "-1234.6"
    assert fmt_num(-1234.56, "fr", 1, plain=True) == "-1234,6"
    assert fmt_num(0.1234, "en", 3, signed=True, plain=True) == "+0.123"
    assert fmt_num(-0.0004, "en", 3, plain=True) == "0.000"
    for x in (-12.345, 0.5, 78.25, 1234.5):
        assert fmt_num(x, "en", 2, plain=True) == f"{x:.2f}"


def test_years_levels_and_changes():
    assert (YEARS_DIGITS, CHANGE_DIGITS) == (1, 3)
    assert fmt_years(78.456, "fr") == "78,5"
    assert fmt_years(78.456, "en") == "78.5"
    assert fmt_years(-0.1234, "fr", change=True) == f"{M}0,123"
    assert fmt_years(0.1236, "en", change=True) == "+0.124"
    assert fmt_years(-0.1234, "en", change=True, plain=True) == "-0.123"
    assert fmt_years(-0.0001, "fr", change=True) == "0,000"


def test_intervals():
    assert fmt_interval(-0.5, 0.25, "fr", 2) == f"[{M}0,50{N}; 0,25]"
    assert fmt_interval(-0.5, 0.25, "en", 2) == f"[{M}0.50, 0.25]"
    assert fmt_interval(-0.5, 0.25, "en", 2, signed=True) == f"[{M}0.50, +0.25]"
    assert fmt_interval(-0.5, 0.25, "en", 2, signed=True, plain=True) == "[-0.50, +0.25]"
    assert fmt_interval(-0.5, 0.25, "fr", 2, plain=True) == "[-0,50 ; 0,25]"
    assert fmt_interval(None, 1, "fr") == f"[n.d.{N}; 1,0]"
    assert fmt_interval(float("nan"), 1, "en") == "[n/a, 1.0]"
    assert join_interval("bas", "haut", "fr") == f"[bas{N}; haut]"
    assert join_interval("5%", "9%", "en") == "[5%, 9%]"


def test_a_value_and_its_interval():
    assert fmt_estimate(0.5, -0.25, 1.0, "fr", 3, signed=True) == (
        f"+0,500 [{M}0,250{N}; +1,000]")
    assert fmt_estimate(0.5, -0.25, 1.0, "en", 3, signed=True, plain=True) == (
        "+0.500 [-0.250, +1.000]")
    assert fmt_estimate(12.34, 11.0, None, "fr") == f"12,3 [11,0{N}; n.d.]"


def test_percentages():
    assert fmt_pct(0.2, "fr") == f"20{N}%"
    assert fmt_pct(0.2, "en") == "20%"
    assert fmt_pct(0.124, "en") == "12.4%"  # one decimal where the percentage is not whole
    assert fmt_pct(0.124, "fr") == f"12,4{N}%"
    assert fmt_pct(-0.05, "fr") == f"{M}5{N}%"
    assert fmt_pct(0.025, "en", 1) == "2.5%" and fmt_pct(0.03, "en", 1) == "3.0%"


def test_money():
    assert fmt_money(20_000_000, "fr") == f"20{N}M€"
    assert fmt_money(20_000_000, "en") == "€20M"
    assert fmt_money(2_500_000, "en") == "€2.50M"
    assert fmt_money(12_345_678, "fr") == f"12,3{N}M€"
    assert fmt_money(-3_000_000, "en") == f"{M}€3M"
    assert fmt_money(-3_000_000, "fr") == f"{M}3{N}M€"
    assert fmt_money(12_345, "fr") == f"12{N}345{N}€"
    assert fmt_money(12_345, "en") == "€12,345"
    assert fmt_money(300, "fr") == f"300{N}€"
    assert fmt_money(-300, "en") == f"{M}€300"


def test_counts_keep_three_significant_figures():
    assert fmt_count(123_456, "fr") == f"123{N}000"
    assert fmt_count(123_456, "en") == "123,000"
    assert fmt_count(123_456, "en", plain=True) == "123000"
    assert fmt_count(-98_765, "en") == f"{M}98,800"
    assert fmt_count(-98_765, "en", plain=True) == "-98800"
    assert fmt_count(42.4, "fr") == "42"


def test_dates_and_lists():
    assert fmt_date(date(2024, 3, 12), "fr") == "12 mars 2024"
    assert fmt_date(date(2024, 3, 12), "en") == "12 March 2024"
    assert fmt_date(None, "fr") == "n.d."
    assert join_words(["a", "b", "c"], "fr") == "a, b et c"
    assert join_words(["a", "b", "c"], "en") == "a, b and c"
    assert join_words(["a"], "en") == "a" and join_words([], "fr") == ""


def test_separators_and_typography():
    assert localise("1,234.5", "fr") == f"1{N}234,5"
    assert localise("1,234.5", "fr", plain=True) == "1 234,5"
    assert localise("1,234.5", "en") == "1,234.5"
    assert typography("Note : 20 % ; « oui » ?", "fr") == (
        f"Note\u00a0: 20{N}%{N}; «\u00a0oui\u00a0»{N}?")
    assert typography("Note : 20 %", "en") == "Note : 20 %"


# ------------------------------------------------------------------------------- labels


def test_labels_of_categories():
    assert label("sex", "M", "fr") == "Hommes" and label("sex", "F", "en") == "Women"
    assert label("pcs", "cadres", "fr") == "Cadres"
    assert label("pcs", "ouvriers", "en") == "Manual workers"
    assert label("education", "cap_bep", "fr") == "CAP ou BEP"
    assert label("education", "cap_bep", "en") == "Vocational (CAP, BEP)"
    assert label("department", "31", "fr") == label("department", 31, "en") == "Haute-Garonne"
    assert label("pathway", "care", "fr") == "l'accès aux soins"
    assert label("gap", "V20-V1", "fr") == "V20 − V1"
    assert label("gap", "cadres-ouvriers", "en") == "managers − manual"
    assert label("stratum", "income_quintile", "en") == "Income quintile"
    assert label("outcome", "healthy_life_expectancy", "fr") == (
        "Espérance de vie sans incapacité")


def test_french_labels_follow_french_typography():
    assert label("gap_words", "Q5-Q1", "fr") == (
        f"les 20{N}% les plus aisés et les 20{N}% les plus modestes (Q5 − Q1)")
    assert label("gap_words", "Q5-Q1", "en") == "the richest 20% and the poorest 20% (Q5 − Q1)"


def test_ages():
    assert label("age", 0, "fr") == "à la naissance" and label("age", 0, "en") == "at birth"
    assert label("age", 35, "fr") == "à 35 ans" and label("age", "60", "en") == "at 60"
    assert label("age", np.int64(65), "fr") == "à 65 ans"


def test_unknown_keys_kinds_and_languages():
    assert label("department", "99", "fr") == "99"  # a key without a label: itself
    assert label("pcs", "astronautes", "en") == "astronautes"
    with pytest.raises(ValueError, match="unknown kind"):
        label("colour", "red", "fr")
    with pytest.raises(ValueError, match="lang"):
        label("sex", "M", "de")
    with pytest.raises(ValueError, match="unknown kind"):
        labels("age", "fr")
    assert set(KINDS) >= {"sex", "pcs", "education", "department", "gap", "stratum", "age"}


def test_labels_inside_a_sentence():
    assert label_in_text("pcs", "ouvriers", "fr") == "ouvriers"
    assert label_in_text("sex", "F", "fr") == "femmes"
    assert label_in_text("education", "cap_bep", "fr") == "CAP ou BEP"  # an acronym stays
    assert label_in_text("education", "sans_diplome", "en") == "no diploma"
    assert label_in_text("stratum", "pcs", "fr") == "catégorie socioprofessionnelle (PCS)"
    assert label_in_text("pathway", "smoking", "fr") == "le tabagisme"


def test_groups_as_rows_and_ticks():
    assert group_label("income_vingtile", "3", "fr") == "V3"
    assert group_label("income_decile", 3, "en") == "D3"
    assert group_label("income_quintile", 5, "fr") == "Q5"
    assert group_label("department", "31", "fr") == "31 Haute-Garonne"
    assert group_label("department", "99", "fr") == "99"
    assert group_label("pcs", "cadres", "en") == "Managers and professionals"
    assert group_label("education", "bac", "fr") == "Baccalauréat"
    assert group_label("all", "all", "en") == "all"


def test_groups_in_their_natural_order():
    assert group_order("income_vingtile", ["10", "2", "1", "20", "2"]) == ["1", "2", "10", "20"]
    assert group_order("income_quintile", [5, 1, 3]) == ["1", "3", "5"]
    assert group_order("education", ["superieur", "bac", "sans_diplome"]) == [
        "sans_diplome", "bac", "superieur"]
    assert group_order("pcs", ["inactifs", "nouvelle", "cadres"]) == [
        "cadres", "inactifs", "nouvelle"]
    assert group_order("department", ["82", "09", "31"]) == ["09", "31", "82"]


def test_every_category_of_the_model_has_a_label_in_both_languages():
    from simulation.population import EDUCATION, PCS, SEX, load_region

    for kind, keys in (("sex", SEX), ("pcs", PCS), ("education", EDUCATION)):
        for lang in ("fr", "en"):
            assert tuple(labels(kind, lang)) == keys, (kind, lang)  # the model's order
    for code in load_region().codes:
        assert label("department", code, "fr") != code, code
    for kind in ("gap", "gap_words", "stratum", "stratum_axis", "outcome", "pathway"):
        assert list(labels(kind, "fr")) == list(labels(kind, "en")), kind


# ------------------------------------------------- one home: report, dashboard, console


def test_dashboard_and_report_show_the_same_labels():
    """The report and the dashboard name a category alike, because both ask
    simulation.labels (the report inside a sentence, the dashboard in a table)."""
    from simulation import dashboard
    from simulation.report.strings import interval_kind
    from simulation.report.template import _groups_text

    for by, keys in (("pcs", ["ouvriers", "cadres"]), ("education", ["cap_bep", "bac"]),
                     ("department", ["31", "09"])):
        table = pd.DataFrame([{"scenario": "base", "group": g, "value": 80.0, "lo": 79.0,
                               "hi": 81.0} for g in keys])
        _, rows = dashboard.changes_table(table, ["base"], by)
        in_report = _groups_text(SimpleNamespace(by=by, groups=keys), "fr")
        for g, row in zip(group_order(by, keys), rows, strict=True):
            assert row[0] == group_label(by, g, "fr")
            name = label(by, g, "fr")
            assert name in row[0]
            assert (name in in_report) or (label_in_text(by, g, "fr") in in_report), (
                name, in_report)
    header, _ = dashboard.headline_rows(dashboard.records_frame({}),
                                        {"baseline": "base", "scenarios": []}, 35)
    assert label("gap", "V20-V1", "fr") in header[1] and label("age", 35, "fr") in header[1]
    assert dashboard.SEXES == labels("sex", "fr")
    assert dashboard.DIMENSIONS == labels("stratum", "fr")
    assert dashboard.change_text({"diff": 0.5, "diff_lo": -0.25, "diff_hi": 1.0}) == (
        fmt_estimate(0.5, -0.25, 1.0, "fr", CHANGE_DIGITS, signed=True))
    summary = {"replicates": 4, "uncertainty": {"kind": "chance+effects", "draws": 4}}
    assert dashboard.interval_kind_text(summary) == interval_kind(summary["uncertainty"], 4, "fr")


def test_console_tables_use_the_same_labels_and_formats():
    from simulation.cli import format_life_expectancy, format_replicate_gaps

    le = [{"sex": s, "by": by, "group": g, "age": a, "e": 80.04 - a}
          for s in ("M", "F") for by, g in (("all", "all"), ("income_vingtile", "1"))
          for a in (0, 35)]
    text = format_life_expectancy({
        "scenario": "x", "agents": 20000, "seed": 1, "start_year": 2022, "years": 5,
        "window": [2022, 2026], "life_expectancy": le,
        "gap_richest_poorest_vingtile": [{"sex": "M", "age": 0, "gap": -0.04}]})
    assert "20,000 agents" in text
    assert label("sex", "M", "en") in text and label("sex", "F", "en") in text
    assert group_label("income_vingtile", "1", "en") + " " in text
    assert f"{fmt_years(80.04, 'en', plain=True):>8}" in text
    assert "-0.0" not in text  # a gap that rounds to zero has no sign
    gaps = format_replicate_gaps([{"sex": "F", "n": 3, "n_defined": 2, "mean": -1.25,
                                   "p2_5": None, "p97_5": 2.0}])
    assert gaps.splitlines()[2] == f"{'Women':<10}{'-1.2':>8}{'n/a':>8}{'2.0':>8}  (2 of 3 defined)"


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def test_report_dashboard_and_console_spell_no_label_of_their_own():
    """Labels of categories are written once, in simulation/labels.py."""
    spelled = {text for kind in KINDS if kind != "age" for lang in ("fr", "en")
               for text in labels(kind, lang).values()}
    spelled |= {"n.d.", "n/a"}
    spelled -= {label("stratum", "department", "fr")}  # "Département": also a column heading
    files = [PACKAGE / "dashboard.py", PACKAGE / "cli.py",
             *sorted((PACKAGE / "report").glob("*.py"))]
    for path in files:
        found = _string_constants(path) & spelled
        assert not found, f"{path.name} spells {sorted(found)}: use simulation.labels"
