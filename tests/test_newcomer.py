"""What a newcomer and a commission member stumble on (issue 17): late interventions,
silent long jobs, duplicate comparisons, English in the French report, console and report
agreeing, the allocation in the JSON, the headline gap, and `run` on a comparison file."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.cli import compile_note, format_comparison, main
from simulation.store import Store

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--agents", "20000", "--replicates", "2", "--years", "3", "--no-progress"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True,
                          text=True)


# ------------------------------------------------------------------ 1. late interventions


def test_validate_refuses_an_intervention_starting_after_the_horizon(tmp_path):
    f = tmp_path / "late.toml"
    f.write_text('[scenario]\nname = "late"\n[simulation]\nyears = 10\n'
                 '[[interventions]]\ntype = "smoking_cessation"\nstart_year = 2040\n')
    r = _run("validate", str(f))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "interventions[0].start_year" in r.stderr and "2031" in r.stderr
    assert "never act" in r.stderr


def test_a_shorter_horizon_on_the_command_line_is_checked_too(tmp_path):
    f = tmp_path / "later.toml"
    f.write_text('[scenario]\nname = "later"\n[simulation]\nyears = 30\n'
                 '[[interventions]]\ntype = "smoking_cessation"\nstart_year = 2030\n')
    r = _run("run", str(f), "--years", "5", "--agents", "1000", "--no-progress")
    assert r.returncode == 2 and "interventions[0].start_year" in r.stderr
    assert "--years" in r.stderr


def test_a_comparison_with_an_arm_starting_after_its_years_is_refused(tmp_path):
    text = (ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8")
    text = text.replace('baseline = "baseline.toml"',
                        f'baseline = "{ROOT / "scenarios" / "baseline.toml"}"')
    text = text.replace('type = "smoking_cessation"\n',
                        'type = "smoking_cessation"\nstart_year = 2050\n', 1)
    f = tmp_path / "cmp.toml"
    f.write_text(text, encoding="utf-8")
    r = _run("validate", str(f))
    assert r.returncode == 2
    assert "scenarios[0].interventions[0].start_year" in r.stderr


def test_an_intervention_ending_before_the_start_is_refused(tmp_path):
    f = tmp_path / "early.toml"
    f.write_text('[scenario]\nname = "early"\n[[interventions]]\ntype = "smoking_cessation"\n'
                 'start_year = 2010\nduration_years = 5\n')
    r = _run("validate", str(f))
    assert r.returncode == 2 and "interventions[0].duration_years" in r.stderr


# ------------------------------------------------------------------ 2. long jobs speak


def test_compare_reports_progress_when_stderr_is_not_a_terminal(tmp_path):
    r = _run("compare", "scenarios/default.toml", "--agents", "2000", "--replicates", "1",
             "--years", "2", "--db", f"sqlite:///{tmp_path / 'p.db'}")
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if " done (" in x]
    assert len(lines) == 4 and lines[-1].startswith("run.py: run 4/4 done")


def test_compile_note_when_the_kernels_are_not_cached(tmp_path, monkeypatch, capsys):
    import numba

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    compile_note()
    assert "compiling the model's kernels" in capsys.readouterr().err
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "demography.year_step-150.py311.nbi").write_bytes(b"")
    compile_note()
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ 3. no duplicates


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("newcomer")
    db = f"sqlite:///{tmp / 'c.db'}"
    assert main(["compare", "scenarios/default.toml", *SMALL, "--db", db, "--json"]) == 0
    for lang in ("fr", "en"):
        assert main(["report", "--lang", lang, "--out", str(tmp), "--db", db]) == 0
    return tmp, db


def test_the_same_comparison_is_not_stored_twice(compared, capsys):
    tmp, db = compared
    capsys.readouterr()
    assert main(["compare", "scenarios/default.toml", *SMALL, "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Comparison 1 already stored" in out
    with Store(db) as store:
        assert len(store.comparisons()) == 1
    assert main(["compare", "scenarios/default.toml", *SMALL[:-1], "--seed", "2", "--db",
                 db, "--no-progress"]) == 0
    with Store(db) as store:
        assert len(store.comparisons()) == 2


# ------------------------------------------------------------------ 4. French and English


def _text(path: Path) -> str:
    s = path.read_text(encoding="utf-8")
    s = re.sub(r"<style.*?</style>|<svg.*?</svg>|<script.*?</script>", "", s, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", s)))


def test_the_french_report_is_in_french(compared):
    tmp, _ = compared
    fr = _text(tmp / "report_1_fr.html")
    assert "Tentatives d'arrêt accompagnées" in fr  # the comparison's description
    assert "Situation actuelle" in fr and "Aide proposée à tous les fumeurs" in fr
    for english in ("Supported quit attempts", "Support offered to every", "baseline",
                    "Current situation", "assumption:", "calibrated (", "shared/",
                    "stored copy", "stored corpora", "not found in"):
        assert english not in fr, english


def test_the_english_report_uses_the_english_texts(compared):
    tmp, _ = compared
    en = _text(tmp / "report_1_en.html")
    assert "Supported quit attempts" in en and "Current situation" in en
    assert "Targeted (poorest 20%)" in en and "Smoking-cessation support: universal" in en
    for internal in ("shared/", "stored copy", "stored corpora"):
        assert internal not in en


# ------------------------------------------------------------------ 5-7. agreement


def test_console_and_report_lead_with_the_same_figures(compared):
    tmp, db = compared
    with Store(db) as store:
        summary = store.comparison_summary(1)
    console = format_comparison(summary)
    assert "euros per" in console and "QALY" in console and "life-year" not in \
        console.split("euros per")[1].splitlines()[0]
    fr = _text(tmp / "report_1_fr.html")
    # both give the Q5-Q1 change of the targeted arm for men with three decimals
    rec = next(r for r in summary["records"] if r["scenario"] == "Ciblé (20 % les plus modestes)"
               and r["metric"] == "gap_e" and r["by"] == "Q5-Q1" and r["sex"] == "M"
               and r["age"] == 0)
    assert f"{rec['diff']:.3f}" in console
    assert f"{rec['diff']:+.3f}".replace("-", "−").replace(".", ",") in fr


def test_the_json_summary_gives_each_arm_its_allocation(compared):
    _, db = compared
    with Store(db) as store:
        summary = store.comparison_summary(1)
    modes = {r["scenario"]: r["allocation"][0]["mode"] for r in summary["summary"]}
    assert modes == {"Universel": "universal", "Ciblé (20 % les plus modestes)": "targeted",
                     "Universalisme proportionné": "proportionate"}
    targeted = summary["summary"][1]["allocation"][0]
    assert targeted["by"] == "income_rank" and targeted["max_rank"] == 0.2


def test_the_headline_leads_with_the_gap_between_fifths(compared):
    tmp, _ = compared
    fr = _text(tmp / "report_1_fr.html")
    bref = fr.split("En bref", 2)[2].split("La question posée")[0]
    assert "l'écart Q5 − Q1 à la naissance varie" in bref
    assert "Entre les 5 % les plus aisés et les 5 % les plus modestes (V20 − V1)" in bref


# ------------------------------------------------------------------ 9. run on a comparison


def test_run_on_a_comparison_file_points_to_compare():
    r = _run("run", "scenarios/default.toml", "--agents", "1000")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "python run.py compare scenarios/default.toml" in r.stderr


def test_the_stored_comparison_exports(compared):
    _, db = compared
    r = _run("export", "comparison_results", "--comparison", "1", "--db", db)
    assert r.returncode == 0 and "scenario" in r.stdout.splitlines()[0]


def test_every_parameter_and_data_file_has_its_french_text():
    from importlib import resources

    from simulation.config import load_parameter_specs
    from simulation.report.strings import _parameters_fr, data_file_texts

    specs = load_parameter_specs()
    fr = _parameters_fr()
    assert set(fr) == set(specs), set(fr) ^ set(specs)
    for name, spec in specs.items():
        assert fr[name]["unit"] and fr[name]["source"], name
        if spec.source.lower().startswith("assumption"):
            assert fr[name]["source"].lower().startswith("hypothèse"), name
    files = {e.name for e in resources.files("simulation.data").iterdir()
             if e.name.endswith(".csv")}
    texts = data_file_texts()
    assert set(texts) == files
    for name, t in texts.items():
        assert t["fr"] and t["en"], name
