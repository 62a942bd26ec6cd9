"""Global sensitivity analysis (simulation.sensitivity, ``run.py sensitivity``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from simulation.cli import main
from simulation.config import ConfigError
from simulation.sensitivity import analyse, gap_of_run, load_sensitivity

REPO_ROOT = Path(__file__).resolve().parents[1]

TINY = """
[sensitivity]
name = "tiny"
comparison = "{comparison}"
scenario = "Universel"

[method]
name = "{method}"
trajectories = 2
levels = 4
samples = 4
seed = 3

[run]
agents = 10000
years = 6
seed = 2

[outcome]
gap = "Q5-Q1"
sex = "pooled"

[parameters]
"mortality.rr_income_residual" = {{ scale = [0.4, 1.6] }}
"outcomes.discount_rate" = {{ range = [0.0, 0.05] }}
"""


def _write(tmp: Path, text: str | None = None, method: str = "morris",
           name: str = "sens.toml") -> Path:
    path = tmp / name
    path.write_text(text if text is not None else TINY.format(
        comparison=REPO_ROOT / "scenarios" / "default.toml", method=method), "utf-8")
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


# ------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """``run.py sensitivity`` on two parameters, 2 Morris trajectories (6 parameter sets,
    at most 12 runs of 10,000 people over 6 years; Morris trajectories may repeat a point,
    which runs once)."""
    tmp = tmp_path_factory.mktemp("sens")
    path = _write(tmp)
    db = f"sqlite:///{tmp}/s.db"
    proc = _cli("sensitivity", str(path), "--json", "--out", str(tmp / "out"), "--db", db)
    assert proc.returncode == 0, proc.stderr
    return {"tmp": tmp, "path": path, "db": db, "out": json.loads(proc.stdout)}


def test_end_to_end_outputs(tiny_run):
    out = tiny_run["out"]
    # two parameters and the intervention's effect (from the registry): 2 x (3 + 1) sets
    assert out["method"] == "morris" and out["parameter_sets"] == 8
    params = {tuple(r) for r in np.loadtxt(out["files"]["samples"], delimiter=",",
                                           skiprows=1, usecols=(1, 2))}
    full = {tuple(r) for r in np.loadtxt(out["files"]["samples"], delimiter=",",
                                         skiprows=1, usecols=(1, 2, 3))}
    assert out["runs"] == len(params) + len(full)  # a baseline per parameter set
    assert out["intervention"] == "Universel" and out["reused"] == 0
    assert set(out["outcomes"]) == {"gap_pooled", "effect_pooled"}
    assert {r["outcome"] for r in out["table"]} == {"gap_pooled", "effect_pooled"}
    for r in out["table"]:
        assert {"mu_star", "mu_star_conf", "sigma", "mu", "rank"} <= set(r)
    files = {k: Path(v) for k, v in out["files"].items()}
    assert files["png"].name == "sensitivity_tiny.png" and files["svg"].exists()
    assert files["table"].read_text().startswith("outcome,parameter,rank,mu_star")
    image = matplotlib.image.imread(files["png"])
    assert image.shape[0] > 300 and image.shape[1] > 800
    assert len(files["samples"].read_text().splitlines()) == 9  # header and 8 sets


def test_null_parameter_gets_zero_and_the_mortality_gradient_ranks_first(tiny_run):
    """The discount rate does not enter the simulation: with common random numbers its
    elementary effects are exactly zero. The residual income gradient of mortality moves
    the gap by years."""
    table = {(r["outcome"], r["parameter"]): r for r in tiny_run["out"]["table"]}
    null = table[("gap_pooled", "outcomes.discount_rate")]
    strong = table[("gap_pooled", "mortality.rr_income_residual")]
    assert null["mu_star"] == pytest.approx(0, abs=1e-9)
    assert null["sigma"] == pytest.approx(0, abs=1e-9)
    assert table[("effect_pooled", "outcomes.discount_rate")]["mu_star"] == pytest.approx(
        0, abs=1e-9)
    assert strong["rank"] == 1 and strong["mu_star"] > 1.0
    assert strong["mu"] > 0  # a steeper residual gradient widens the gap


def test_rerun_reuses_every_run(tiny_run, capsys):
    """An interrupted or repeated analysis finds its runs in the store (here with another
    executor: nothing is left to compute, so no worker starts)."""
    assert main(["sensitivity", str(tiny_run["path"]), "--json", "--out",
                 str(tiny_run["tmp"] / "out2"), "--db", tiny_run["db"],
                 "--executor", "processes", "--workers", "2"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["reused"] == again["runs"] == tiny_run["out"]["runs"]
    assert again["table"] == tiny_run["out"]["table"]


# ------------------------------------------------------------------------- pure parts


def test_sobol_and_morris_analysis_on_a_known_function(tmp_path):
    """The sampling and analysis plumbing on y = 3 x0 (x1 has no effect)."""
    for method in ("sobol", "morris"):
        spec = load_sensitivity(_write(tmp_path, method=method))
        spec = spec.with_options(samples=256, trajectories=20)
        X = spec.sample()
        lo, hi = spec.parameters[0].low, spec.parameters[0].high
        assert X[:, 0].min() >= lo and X[:, 0].max() <= hi
        table = analyse(spec, X, {"gap_pooled": 3 * X[:, 0]}).set_index("parameter")
        if method == "sobol":
            assert len(X) == 256 * (len(spec.parameters) + 2)
            assert table.loc["mortality.rr_income_residual", "ST"] == pytest.approx(1, abs=0.1)
            assert abs(table.loc["outcomes.discount_rate", "ST"]) < 0.02
        else:
            assert table.loc["mortality.rr_income_residual", "mu_star"] == pytest.approx(
                3 * (hi - lo), rel=1e-6)
            assert table.loc["outcomes.discount_rate", "mu_star"] == 0


def test_parameter_values_and_the_intervention_keep_their_definition(tmp_path):
    spec = load_sensitivity(_write(tmp_path))
    # the file's two parameters, then the intervention's effect (added from the registry)
    assert [p.kind for p in spec.parameters[2:]] == ["effect"]
    base, inter = spec.scenarios(np.array([0.5, 0.01, spec.parameters[2].low]))
    assert inter.interventions[0].effect == spec.parameters[2].low
    default = spec.baseline.parameters["mortality.rr_income_residual"]
    assert base.parameters["mortality.rr_income_residual"] == [v * 0.5 for v in default]
    assert base.parameters["outcomes.discount_rate"] == 0.01
    assert inter.parameters["outcomes.discount_rate"] == 0.01
    assert inter.interventions and not base.interventions
    assert base.seed == inter.seed == 2 and base.replicates == 1


def test_pooled_gap_lies_between_the_sexes():
    from simulation import load_scenario, run_scenario

    # 12,000 people: with 4,000 a quintile of one sex had no life expectancy over 4 years
    # (too few people; the gap is then NaN, as documented)
    res = run_scenario(load_scenario(REPO_ROOT / "scenarios" / "baseline.toml"),
                       agents=12_000, years=4, seed=5)
    m, f, p = (gap_of_run(res, "Q5-Q1", s) for s in ("M", "F", "pooled"))
    assert min(m, f) - 1 <= p <= max(m, f) + 1
    assert np.isnan(gap_of_run(res, "V20-V1", "M", 65)) or True  # defined or NaN, no error


# ------------------------------------------------------------------------- errors


BAD = [
    ('[sensitivity]\nname = "a b"\nbaseline = "{b}"\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "sensitivity.name"),
    ('[sensitivity]\nname = "x"\n[parameters]\n"vulnerability.differential" = '
     '{{ range = [0, 1] }}', "sensitivity"),
    ('[sensitivity]\nname = "x"\nbaseline = "nope.toml"\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "sensitivity.baseline"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[parameters]\n'
     '"no.such" = {{ range = [0, 1] }}', "parameters.no.such"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [1, 0] }}', "parameters.vulnerability"
     ".differential.range"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[parameters]\n'
     '"mortality.level" = {{ range = [0.5, 1] }}', "parameters.mortality.level.range"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[parameters]\n'
     '"care.non_take_up_free" = {{ range = [0.5, 1.5] }}', "parameters.care.non_take_up_free"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[parameters]\n'
     'vulnerability.differential = {{ range = [0, 1] }}', "parameters.vulnerability"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[method]\nname = "fast"\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "method.name"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[method]\nsamples = 6\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "method.samples"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[run]\nagents = 0\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "run.agents"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[outcome]\nsex = "X"\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "outcome.sex"),
    ('[sensitivity]\nname = "x"\ncomparison = "{c}"\nscenario = "Nope"\n[parameters]\n'
     '"vulnerability.differential" = {{ range = [0, 1] }}', "sensitivity.scenario"),
    ('[sensitivity]\nname = "x"\nbaseline = "{b}"\n[parameters]\n', "parameters"),
]


@pytest.mark.parametrize(("text", "key"), BAD)
def test_parser_errors_name_the_key(tmp_path, text, key):
    path = _write(tmp_path, text.format(b=REPO_ROOT / "scenarios" / "baseline.toml",
                                        c=REPO_ROOT / "scenarios" / "default.toml"))
    with pytest.raises(ConfigError) as err:
        load_sensitivity(path)
    assert f": {key}:" in str(err.value) or f": {key}" in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_cli_errors_are_one_line(tmp_path, capsys):
    path = _write(tmp_path, '[sensitivity]\nname = "x"\n')
    assert main(["sensitivity", str(path), "--db", f"sqlite:///{tmp_path}/e.db"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("run.py: error:") and "sens.toml" in err[0]
    good = _write(tmp_path, name="good.toml")
    assert main(["sensitivity", str(good), "--method", "sobol", "--samples", "3",
                 "--db", f"sqlite:///{tmp_path}/e.db"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--samples" in err[0] and "power of 2" in err[0]


def test_shipped_file_is_valid():
    spec = load_sensitivity(REPO_ROOT / "scenarios" / "sensitivity_default.toml")
    assert 7 <= len(spec.parameters) <= 9 and spec.intervention is not None
    assert spec.parameters[-1].name == "intervention.smoking_cessation.effect"
    assert spec.method == "morris" and len(spec.sample()) == 10 * (len(spec.parameters) + 1)
