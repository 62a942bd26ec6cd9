"""The HTML report (simulation.report): built from a tiny stored comparison."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

from simulation.comparison import load_comparison, run_comparison
from simulation.labels import NNBSP, fmt_interval, fmt_money, fmt_num
from simulation.report import ReportError, write_report
from simulation.store import Store, StoreError

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Small but with enough deaths per income quintile for life tables (the stored life
#: expectancies leave groups with too few deaths undefined).
TINY = {"agents": 20000, "years": 6}
STEMS = ("e0_by_vingtile", "gap_over_time", "e35_by_pcs", "equity_efficiency", "calibration")
SCRIPT = "<script>alert(1)</script>"


def _store_comparison(store: Store, path: Path | str, replicates: int) -> int:
    spec = load_comparison(path).with_options(replicates=replicates, **TINY)
    summary, run_ids = run_comparison(spec, store)
    return store.save_comparison(spec.name, spec.baseline.hash,
                                 [s.hash for s in spec.scenarios], run_ids, summary)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store holding the default comparison (2 replicates) and its French report."""
    tmp = tmp_path_factory.mktemp("report")
    db = f"sqlite:///{tmp}/t.db"
    store = Store(db)
    cid = _store_comparison(store, REPO_ROOT / "scenarios" / "default.toml", replicates=2)
    out = tmp / "out"
    path = write_report(store, cid, "fr", out)
    yield {"store": store, "db": db, "id": cid, "out": out, "path": path, "tmp": tmp,
           "html": path.read_text("utf-8"), "summary": store.comparison_summary(cid)}
    store.close()


def _external_resources(text: str) -> list[str]:
    patterns = (r"<script\b", r"<link\b", r"<iframe\b", r"\bsrc\s*=\s*[\"']?\s*(https?:)?//",
                r"\bhref\s*=\s*[\"']?\s*(https?:)?//", r"url\(\s*[\"']?\s*(https?:)?//",
                r"@import")
    return [p for p in patterns if re.search(p, text, re.IGNORECASE)]


def _record(summary: dict, **keys) -> dict:
    for r in summary["records"]:
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    raise KeyError(keys)


# ---------------------------------------------------------------------- French report


def test_one_self_contained_file(built):
    text = built["html"]
    assert built["path"] == built["out"] / f"report_{built['id']}_fr.html"
    assert text.startswith("<!DOCTYPE html>") and '<html lang="fr">' in text
    assert _external_resources(text) == []
    assert text.count("data:image/svg+xml;base64,") >= len(STEMS)
    assert not list(built["out"].rglob("*.tmp"))  # atomic writes leave no temporary file


def test_contains_question_scenarios_and_headline_numbers(built):
    from simulation.report.data import gather

    text, s = built["html"], built["summary"]
    assert html.escape(s["question"]) in text
    assert html.escape(s["comparison"]) in text
    for name in [s["baseline"], *s["scenarios"]]:
        assert html.escape(name) in text
    # the baseline's gaps of the headline table (men, women; at birth and at 35), as shown
    shown = 0
    for sex in ("M", "F"):
        for by in ("V20-V1", "cadres-ouvriers"):
            for age in (0, 35):
                try:
                    rec = _record(s, scenario=s["baseline"], metric="gap_e", sex=sex, by=by,
                                  age=age)
                except KeyError:
                    assert ">n.d.<" in text  # undefined (too few deaths): said, not hidden
                    continue
                assert f">{fmt_num(rec['value'], 'fr', 1)}<" in text
                assert fmt_interval(rec["lo"], rec["hi"], "fr", 1) in text
                shown += 1
    assert shown >= 4
    # a scenario's paired change of the gap the report leads with, and its interval
    main = gather(built["store"], built["id"]).main_gap
    rec = _record(s, scenario=s["scenarios"][1], metric="gap_e", sex="F", by=main, age=0)
    assert (f"{fmt_num(rec['diff'], 'fr', 3, signed=True)} "
            f"{fmt_interval(rec['diff_lo'], rec['diff_hi'], 'fr', 3, signed=True)}") in text
    # cost per year, from the interventions' budget
    assert f">{fmt_money(15_000_000, 'fr')}<" in text


def test_every_intervention_text_has_a_french_rendering():
    from simulation.interventions import TYPES
    from simulation.report.strings import translate

    missing = [(k.name, field) for k in TYPES
               for field in ("eligible", "effect_unit", "effect_source", "cost_source")
               if not translate(getattr(k, field), "fr")[1]]
    assert not missing, ("add the French rendering of these texts of interventions.TYPES "
                         f"to simulation/report/strings.py TYPE_TEXT_FR: {missing}")


def test_describes_interventions_in_plain_french(built):
    from simulation.interventions import TYPE_INDEX, TYPES
    from simulation.report.strings import translate

    text = built["html"]
    assert "Aide au sevrage tabagique" in text
    who = translate(TYPES[TYPE_INDEX["smoking_cessation"]].eligible, "fr")[0]
    assert html.escape(who) in text and who.startswith("les fumeurs quotidiens")
    assert f"réservée aux 20{NNBSP}% les plus modestes" in text
    assert "intensité qui décroît" in text
    assert f"15{NNBSP}M€ par an" in text
    assert "revues Cochrane" in text  # the effect's source


def test_sources_uncertainty_versions_and_run_ids(built):
    text, s = built["html"], built["summary"]
    import simulation

    assert "Hypothèses et sources" in text
    for producer in ("INSEE", "INED", "DREES", "Santé publique France"):
        assert producer in text
    assert "insee_life_expectancy_by_income_vingtile_2012_2016.csv" in text
    assert "nombres aléatoires communs" in text
    assert "ne reflètent que le hasard" in text
    # the burn-in, from the baseline's parameters (default: drawn in 2012, 10 years earlier)
    assert "tirée au sort 10 ans avant le début" in text
    assert "en 2012" in text
    assert simulation.__version__ in text
    runs = built["store"].runs()
    assert runs["code_version"].iloc[0] in text
    for ids in s["run_ids"].values():
        assert ", ".join(str(i) for i in ids) in text
    assert "decompose_gap.toml" in text  # no counterfactual in this comparison
    assert "@media print" in text and "position: fixed" not in text


def test_figures_written_as_png_and_svg(built):
    figs = built["out"] / "figures"
    for stem in STEMS:
        png = figs / f"report_{built['id']}_fr_{stem}.png"
        svg = figs / f"report_{built['id']}_fr_{stem}.svg"
        assert png.stat().st_size > 1000 and svg.stat().st_size > 1000
        image = matplotlib.image.imread(png)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert svg.read_text("utf-8").lstrip().startswith("<?xml")
    assert not (figs / f"report_{built['id']}_fr_decomposition.png").exists()


# ------------------------------------------------------------- English, through run.py


def test_english_report_through_the_command_line(built):
    out = built["tmp"] / "out_en"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "report", "--comparison",
                           str(built["id"]), "--lang", "en", "--out", str(out), "--db",
                           built["db"]], capture_output=True, text=True, timeout=300,
                          cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    path = out / f"report_{built['id']}_en.html"
    text = path.read_text("utf-8")
    assert '<html lang="en">' in text and "Assumptions and sources" in text
    assert "daily smokers aged" in text and "common random numbers" in text
    assert "drawn 10 years before the projection starts, in 2012" in text
    assert _external_resources(text) == []
    s = built["summary"]
    rec = _record(s, scenario=s["baseline"], metric="gap_e", sex="M", by="cadres-ouvriers",
                  age=0)
    assert f">{fmt_num(rec['value'], 'en', 1)}<" in text
    for stem in STEMS:
        for ext in ("png", "svg"):
            assert (out / "figures" / f"report_{built['id']}_en_{stem}.{ext}").exists()


# ------------------------------------------------------------------------- errors


def test_unknown_comparison_raises_store_error(built, tmp_path):
    with pytest.raises(StoreError, match="no comparison 999"):
        write_report(built["store"], 999, "fr", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_comparison_on_the_command_line(built, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "report", "--comparison",
                           "999", "--db", built["db"], "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "999" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_output_is_a_one_line_error(built, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportError, match="cannot write the report"):
        write_report(built["store"], built["id"], "fr", blocker)


# ------------------------------------------------------ hostile names, one replicate


def test_user_strings_are_escaped_and_single_replicate_has_no_intervals(built, tmp_path):
    toml = tmp_path / "evil.toml"
    baseline = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()
    toml.write_text(f"""
[comparison]
name = "Test <b>gras</b> & co"
question = "Pourquoi <img src=x onerror=alert(2)> ?"
description = "<style>body{{display:none}}</style>"
baseline = "{baseline}"

[[scenarios]]
name = "{SCRIPT}"
description = "<a href='https://example.org'>lien</a>"
[[scenarios.interventions]]
type = "smoking_cessation"
effect_source = "<script>alert(3)</script>"
[scenarios.interventions.allocation]
mode = "targeted"
by = "pcs"
groups = ["ouvriers", "employes"]
budget_eur = 1000000
""", encoding="utf-8")
    cid = _store_comparison(built["store"], toml, replicates=1)
    text = write_report(built["store"], cid, "fr", tmp_path / "out").read_text("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert SCRIPT not in text and "<script" not in text.lower()
    assert "<img src=x" not in text and "<b>gras</b>" not in text
    assert "<style>body" not in text and "&lt;style&gt;body" in text
    assert "<a href='https" not in text and "&lt;a href=&#x27;https" in text
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in text
    assert _external_resources(text) == []
    assert "ouvriers et employés" in text
    # one replicate: say so, and show no interval in the headline table
    assert html.escape("les intervalles d'incertitude ne sont pas disponibles") in text
    first_table = text[text.index("<table"):text.index("</table>")]
    assert "[" not in first_table


def test_decomposition_comparison_has_the_pathway_figure(built, tmp_path):
    toml = tmp_path / "decompose.toml"
    baseline = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()
    toml.write_text(f"""
[comparison]
name = "Décomposition (test)"
question = "Quelle part de l'écart passe par le tabac et par l'accès aux soins ?"
baseline = "{baseline}"

[[scenarios]]
name = "Tabac"
counterfactual = {{ equalise = ["smoking"] }}

[[scenarios]]
name = "Accès aux soins"
counterfactual = {{ equalise = ["care"] }}
""", encoding="utf-8")
    cid = _store_comparison(built["store"], toml, replicates=2)
    out = tmp_path / "out"
    text = write_report(built["store"], cid, "fr", out).read_text("utf-8")
    png = out / "figures" / f"report_{cid}_fr_decomposition.png"
    assert matplotlib.image.imread(png).ndim == 3
    assert (out / "figures" / f"report_{cid}_fr_decomposition.svg").exists()
    assert "Décomposition de l&#x27;écart par voie" in text
    assert "à la naissance, par voie égalisée</caption>" in text
    assert "decompose_gap.toml" not in text
    assert "le tabagisme" in text and "l&#x27;accès aux soins" in text


def test_falls_back_to_quintiles_when_the_extreme_vingtiles_are_undefined(built):
    """Too few deaths in the extreme fifths and 5% (a small population) leave Q5-Q1 and
    V20-V1 undefined: the report then leads with cadres-ouvriers and says why."""
    from simulation.report.data import gather
    from simulation.report.template import cost_table, key_points

    data = gather(built["store"], built["id"])
    r = data.records
    data.records = r[~((r["metric"] == "gap_e") & r["by"].isin(["Q5-Q1", "V20-V1"]))]
    assert data.main_gap == "cadres-ouvriers"
    text = key_points(data, "fr") + cost_table(data, "fr")
    assert "n&#x27;est pas défini" in text and "cadres − ouvriers" in text
    rec = data.record(data.baseline.name, "gap_e", sex="M", by="cadres-ouvriers", age=0)
    assert fmt_num(rec["value"], "fr", 1) in text
