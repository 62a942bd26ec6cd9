"""Parameter sweeps: the file format and its errors, the design (grid, seeded Latin
hypercube), a tiny sweep end to end (tables, figure, export) and its agreement with the
comparison of one point. Populations are tiny (1,500 agents, 2 years)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.config import ConfigError
from simulation.sweep import is_sweep_file, load_sweep

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()

ARMS = """
[[sweep.arms]]
name = "Universal"
[[sweep.arms.interventions]]
type = "smoking_cessation"
allocation = { mode = "universal" }

[[sweep.arms]]
name = "Proportionate"
[[sweep.arms.interventions]]
type = "smoking_cessation"
allocation = { mode = "proportionate", gradient = "linear", min_need = 0.2 }
"""


def sweep_text(design: str, run: str = "agents = 1500\nyears = 2\nreplicates = 1\nseed = 1",
               arms: str = ARMS, head: str = "") -> str:
    return (f'[sweep]\nname = "Budget sweep (test)"\nbaseline = "{BASELINE}"\n{head}\n'
            f"[run]\n{run}\n{arms}\n{design}\n")


GRID = '[sweep.grid]\n"allocation.budget_eur" = [500000, 5000000]\n'


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ file format


def test_shipped_sweep_is_valid():
    spec = load_sweep(REPO_ROOT / "scenarios" / "sweep_budget.toml")
    assert spec.design == "grid"
    assert spec.keys == ("allocation.budget_eur",)
    assert [p.values["allocation.budget_eur"] for p in spec.points] == [
        500000, 1000000, 2000000, 3500000, 5000000]
    assert len(spec.arms) == 3
    modes = {iv.allocation.mode for p in spec.points for sc in p.spec.scenarios
             for iv in sc.interventions}
    assert modes == {"universal", "targeted", "proportionate"}
    assert is_sweep_file(REPO_ROOT / "scenarios" / "sweep_budget.toml")
    assert not is_sweep_file(REPO_ROOT / "scenarios" / "default.toml")


def test_grid_points_pair_arms_with_one_baseline(tmp_path):
    spec = load_sweep(write(tmp_path, sweep_text(
        GRID + '"intervention.effect" = [0.5, 1.0, 1.5]\n')))
    assert len(spec.points) == 6  # 2 budgets x 3 effects
    assert {p.spec.baseline.hash for p in spec.points} == {spec.baseline.hash}
    p = spec.points[-1]
    assert p.values == {"allocation.budget_eur": 5000000, "intervention.effect": 1.5}
    for sc in p.spec.scenarios:
        assert sc.seed == p.spec.baseline.seed
        assert sc.interventions[0].allocation.budget_eur == 5e6
        assert sc.interventions[0].effect == 1.5
    assert p.spec.scenarios[0].name == "Universal (budget_eur=5000000, effect=1.5)"
    # one baseline, 6 points x 2 arms: 13 distinct runs of 1 replicate
    assert len(spec.runs()) == 13


def test_parameters_apply_to_the_baseline_too(tmp_path):
    spec = load_sweep(write(tmp_path, sweep_text(
        '[sweep.grid]\n"parameters.care.non_take_up_free" = [0.2, 0.4]\n'
        '"allocation.budget_eur" = [1000000]\n')))
    assert len({p.spec.baseline.hash for p in spec.points}) == 2
    for p in spec.points:
        v = p.values["parameters.care.non_take_up_free"]
        assert all(sc.parameters["care.non_take_up_free"] == v for sc in p.spec.all)
    assert spec.x == "parameters.care.non_take_up_free"


def test_lhs_is_seeded_and_within_ranges(tmp_path):
    design = ('[sweep.lhs]\nsamples = 4\nseed = 7\n'
              '"allocation.budget_eur" = { min = 500000, max = 5000000 }\n'
              '"intervention.effect" = { min = 0.5, max = 1.5 }\n')
    a = load_sweep(write(tmp_path, sweep_text(design), "a.toml"))
    b = load_sweep(write(tmp_path, sweep_text(design), "b.toml"))
    c = load_sweep(write(tmp_path, sweep_text(design.replace("seed = 7", "seed = 8")), "c.toml"))
    va = [p.values for p in a.points]
    assert va == [p.values for p in b.points]
    assert va != [p.values for p in c.points]
    assert a.design == "lhs" and a.samples == 4 and a.lhs_seed == 7
    budgets = sorted(v["allocation.budget_eur"] for v in va)
    assert all(5e5 <= x <= 5e6 for x in budgets)
    # Latin: one sample in each quarter of the range
    assert [int((x - 5e5) / (4.5e6 / 4)) for x in budgets] == list(range(4))


@pytest.mark.parametrize("design, head, arms, key, expected", [
    ('[sweep.grid]\n"allocation.budget_eur" = [500000, -1]\n', "", ARMS,
     "sweep.grid.allocation.budget_eur", "a yearly budget in euros"),
    ('[sweep.grid]\n"allocation.budget" = [1]\n', "", ARMS,
     "sweep.grid.allocation.budget", "one of the keys"),
    ('[sweep.grid]\n"budget_eur" = [1]\n', "", ARMS, "sweep.grid.budget_eur",
     "a swept key allocation.KEY"),
    ('[sweep.grid]\n"allocation.budget_eur" = []\n', "", ARMS,
     "sweep.grid.allocation.budget_eur", "a non-empty list"),
    ('[sweep.grid]\n"parameters.care.no_such" = [1]\n', "", ARMS,
     "sweep.grid.parameters.care.no_such", "a known parameter name"),
    ('[sweep.grid]\n"parameters.care.non_take_up_free" = [1.5]\n', "", ARMS,
     "sweep.grid.parameters.care.non_take_up_free", "probabilities"),
    ('[sweep.lhs]\nsamples = 0\n"allocation.budget_eur" = { min = 1, max = 2 }\n', "", ARMS,
     "sweep.lhs.samples", "an integer from 1"),
    ('[sweep.lhs]\nsamples = 3\n"allocation.budget_eur" = { min = 3, max = 2 }\n', "", ARMS,
     "sweep.lhs.allocation.budget_eur", "a range"),
    ("", "", ARMS, "sweep", "exactly one of the tables sweep.grid and sweep.lhs"),
    (GRID, 'x = "allocation.intensity"', ARMS, "sweep.x", "one of the swept keys"),
    (GRID, "colour = 1", ARMS, "sweep.colour", "one of the keys"),
    (GRID, "", "", "sweep.arms", "a non-empty array of tables"),
    (GRID, "", ARMS.replace('type = "smoking_cessation"', 'type = "magic"', 1),
     "sweep.arms[0].interventions[0].type", "one of"),
    (GRID, "", ARMS.replace('"Proportionate"', '"Universal"'), "sweep.arms[1].name",
     "a name not used by another arm"),
    (GRID, "", '[[sweep.arms]]\nname = "Decomposition"\n[sweep.arms.counterfactual]\n'
     'equalise = ["smoking"]\n', "sweep.arms[0].interventions", "inline interventions"),
])
def test_errors_name_file_key_and_expectation(tmp_path, design, head, arms, key, expected):
    path = write(tmp_path, sweep_text(design, arms=arms, head=head))
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert info.value.key == key, str(info.value)
    assert expected in info.value.expected, str(info.value)
    assert str(info.value).startswith(f"{path}: {key}: expected ")
    assert "\n" not in str(info.value)


def test_bad_run_value_is_named(tmp_path):
    path = write(tmp_path, sweep_text(GRID, run="agents = 0"))
    with pytest.raises(ConfigError, match=r"sweep.toml: run.agents: expected"):
        load_sweep(path)


def test_cli_error_is_one_line_and_writes_nothing(tmp_path):
    path = write(tmp_path, sweep_text('[sweep.grid]\n"allocation.budget_eur" = [-1]\n'))
    db = tmp_path / "x.db"
    proc = cli("sweep", str(path), "--db", f"sqlite:///{db}", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "sweep.grid.allocation.budget_eur: expected a yearly budget" in proc.stderr
    assert not db.exists() and not (tmp_path / "o").exists()


# ------------------------------------------------------------------ running


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny sweep run end to end by the CLI: 2 budgets x 2 arms, 1 replicate."""
    tmp = tmp_path_factory.mktemp("sweep")
    path = write(tmp, sweep_text(GRID))
    db = tmp / "sweep.db"
    proc = cli("sweep", str(path), "--json", "--no-progress", "--db", f"sqlite:///{db}",
               "--out", str(tmp / "out"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path, db, tmp, json.loads(proc.stdout)


@pytest.mark.slow
def test_sweep_end_to_end(tiny, capsys):
    from simulation.cli import main

    path, db, tmp, summary = tiny
    assert summary["id"] == 1
    assert summary["design"] == "grid" and summary["arms"] == ["Universal", "Proportionate"]
    assert summary["points"] == [{"allocation.budget_eur": 500000},
                                 {"allocation.budget_eur": 5000000}]
    assert [(r["point"], r["arm"]) for r in summary["rows"]] == [
        (0, "Universal"), (0, "Proportionate"), (1, "Universal"), (1, "Proportionate")]
    for row in summary["rows"]:
        assert row["cost_eur_per_year"] == pytest.approx(row["x"], rel=1e-6)
    for f in summary["figures"]:
        assert Path(f).stat().st_size > 1000
    assert [Path(f).name for f in summary["figures"]] == ["sweep_1.png", "sweep_1.svg"]
    assert not list((tmp / "out").glob(".*"))  # no temporary file left
    # the tidy table, through export
    assert main(["export", "sweep_results", "--sweep", "1", "--db", f"sqlite:///{db}"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["arm"] for r in rows} == {"Situation actuelle", "Universal", "Proportionate"}
    assert {r["point"] for r in rows} == {"0", "1"}
    deaths = [r for r in rows if r["metric"] == "deaths"]
    assert len(deaths) == 6  # 2 points x (baseline + 2 arms)
    assert {json.loads(r["point_values"])["allocation.budget_eur"] for r in deaths} == {
        500000, 5000000}
    assert main(["export", "sweeps", "--db", f"sqlite:///{db}"]) == 0
    assert "Budget sweep (test)" in capsys.readouterr().out


@pytest.mark.slow
def test_sweep_point_equals_the_comparison_of_that_point(tiny):
    """Each point is summarised exactly as compare would: the same records (reusing the
    sweep's runs from the store)."""
    from simulation.comparison import run_comparison
    from simulation.store import Store
    from simulation.sweep import load_sweep

    path, db, _, _ = tiny
    point = load_sweep(path).points[1]
    with Store(f"sqlite:///{db}") as store:
        runs_before = len(store.runs())
        comparison, _ = run_comparison(point.spec, store)
        assert len(store.runs()) == runs_before  # every run reused
        stored = store.sweep_results(1)
    stored = stored[stored["point"] == 1]
    cols = ["scenario", "metric", "sex", "by", "group", "age", "value", "lo", "hi", "diff",
            "diff_lo", "diff_hi"]

    def norm(frame: pd.DataFrame) -> list[tuple]:
        return [tuple(None if v is None or (isinstance(v, float) and v != v) else
                      round(float(v), 6) if isinstance(v, (int, float)) else v for v in row)
                for row in frame[cols].astype(object).itertuples(index=False)]

    assert norm(stored) == norm(pd.DataFrame(comparison["records"]))


def test_sweep_tables_created_in_older_version_3_databases(tmp_path):
    """A schema-3 database written before the sweep tables existed gets them on first
    use; reading them before is an empty table, not an error."""
    from sqlalchemy import create_engine, text

    from simulation.store import Store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(url):
        pass
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE sweep_results"))
        conn.execute(text("DROP TABLE sweeps"))
    engine.dispose()
    with Store(url) as store:
        assert store.table("sweeps").empty and store.table("sweep_results").empty
        sid = store.save_sweep("s", "f.toml", "grid", ["allocation.budget_eur"],
                               [{"allocation.budget_eur": 1}], None, {"sweep": "s"},
                               [{"point": 0, "arm": "A", "scenario": "A (budget_eur=1)",
                                 "scenario_hash": "h", "point_values": "{}", "x": 1.0,
                                 "metric": "deaths", "value": 2.0}])
        assert sid == 1
        assert store.sweep_summary()["sweep"] == "s"
        assert store.table("sweep_results", sweep_id=1)["value"].tolist() == [2.0]
