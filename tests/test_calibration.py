"""Calibration (ABC-SMC with pyabc): file validation, targets, end to end through run.py,
resume after an interruption, recovery of a known parameter from synthetic targets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import calibration as cal
from simulation.cli import main
from simulation.config import ConfigError, resolve_parameters
from simulation.store import Store

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.toml")


def _toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def write_config(path: Path, *, agents=2000, years=2, seed=3, population_size=5,
                 generations=2, parameters=None, targets=None, extra_abc=None,
                 targets_file=None) -> Path:
    parameters = parameters or [{"name": "care.non_take_up_free", "prior": "uniform",
                                 "lower": 0.1, "upper": 0.6}]
    targets = targets or [{"family": "non_take_up_free_css"}, {"family": "smoking_sex"}]
    lines = ["[calibration]", 'name = "tiny"', f"scenario = {_toml(BASELINE)}"]
    if targets_file:
        lines.append(f"targets = {_toml(str(targets_file))}")
    lines += ["[population]", f"agents = {agents}", f"years = {years}", f"seed = {seed}",
              "[abc]", f"population_size = {population_size}", f"generations = {generations}"]
    for k, v in (extra_abc or {}).items():
        lines.append(f"{k} = {_toml(v)}")
    for p in parameters:
        lines.append("[[parameters]]")
        lines += [f"{k} = {_toml(v)}" for k, v in p.items()]
    for t in targets:
        lines.append("[[targets]]")
        lines += [f"{k} = {_toml(v)}" for k, v in t.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------- targets


def test_targets_csv_is_what_make_targets_writes():
    shipped = cal.load_targets(cal.DEFAULT_TARGETS)
    built = cal.build_targets()
    pd.testing.assert_frame_equal(shipped, built, check_dtype=False)
    text = cal.DEFAULT_TARGETS.read_text()
    assert text.startswith("#") and "Insee Premiere 1687" in text


def test_targets_are_the_validation_figures():
    t = cal.load_targets().set_index(["family", "sex", "group"])
    assert t.loc[("e0_income_vingtile", "M", "1"), "observed"] == pytest.approx(71.7, abs=0.05)
    assert t.loc[("e0_income_vingtile", "F", "20"), "observed"] == pytest.approx(88.3, abs=0.05)
    assert t.loc[("e0_income_quintile", "M", "1"), "observed"] == pytest.approx(
        np.mean([t.loc[("e0_income_vingtile", "M", str(v)), "observed"] for v in range(1, 5)]))
    assert t.loc[("non_take_up_free_css", "all", "eligible"), "observed"] == 31.0
    assert t.loc[("smoking_diploma", "all", "above bac"), "observed"] == 16.8
    assert t.loc[("diabetes_prevalence_income_decile", "all", "1"), "tolerance"] == \
        pytest.approx(0.25 * t.loc[("diabetes_prevalence_income_decile", "all", "1"),
                                   "observed"], rel=1e-4)
    assert set(t.index.get_level_values(0)) == set(cal.FAMILIES)


def test_default_file_is_valid_and_canonical_round_trips():
    spec = cal.load_calibration(ROOT / "calibration" / "default.toml")
    assert spec.scenario.agents == 50_000 and len(spec.priors) >= 5
    back = cal.CalibrationSpec.from_canonical(spec.canonical)
    assert back.hash == spec.hash
    obs = spec.observed()
    # a family's weight is shared by its rows
    assert obs.groupby("family")["weight"].sum()["e0_income_quintile"] == pytest.approx(3)


# ------------------------------------------------------------------------- validation

GOOD = {"name": "care.non_take_up_free", "prior": "uniform", "lower": 0.1, "upper": 0.6}


@pytest.mark.parametrize("change, key, expected", [
    ({"name": "care.nope"}, "parameters[0].name", "a known parameter name"),
    ({"name": "mortality.level"}, "parameters[0].name", "with i from 0 to 1"),
    ({"name": "mortality.level[2]"}, "parameters[0].name", "with i from 0 to 1"),
    ({"name": "care.non_take_up_free[0]"}, "parameters[0].name", "without [i]"),
    ({"name": "mortality.max_age"}, "parameters[0].name", "a real-valued parameter"),
    ({"prior": "beta"}, "parameters[0].prior", "one of uniform, normal, lognormal"),
    ({"upper": 0.05}, "parameters[0].upper", "above lower"),
    ({"upper": 1.5}, "parameters[0].upper", "a bound the model accepts"),
    ({"lower": "x"}, "parameters[0].lower", "a finite number"),
    ({"mean": 0.3}, "parameters[0].mean", "one of the keys"),
    ({"prior": "normal", "mean": 0.3}, "parameters[0].sd", "required"),
    ({"prior": "normal", "mean": 0.3, "sd": -1}, "parameters[0].sd", "a positive number"),
    ({"prior": "lognormal", "median": 0.9, "sigma": 0.2}, "parameters[0].median",
     "within [lower, upper]"),
])
def test_bad_parameter_entries(tmp_path, change, key, expected):
    path = write_config(tmp_path / "c.toml", parameters=[{**GOOD, **change}])
    with pytest.raises(ConfigError) as e:
        cal.load_calibration(path)
    assert e.value.key == key and expected in str(e.value)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("targets, extra, key", [
    ([{"family": "nope"}], None, "targets[0].family"),
    ([{"family": "smoking_sex", "weight": 0}], None, "targets[0].weight"),
    ([{"family": "smoking_sex", "tolerance": 1, "relative_tolerance": 0.1}], None,
     "targets[0].relative_tolerance"),
    ([{"family": "smoking_sex", "colour": 1}], None, "targets[0].colour"),
    ([{"family": "smoking_sex"}, {"family": "smoking_sex"}], None, "targets"),
    ([{"family": "smoking_sex"}], {"epsilon_quantile": 1.5}, "abc.epsilon_quantile"),
    ([{"family": "smoking_sex"}], {"speed": 3}, "abc.speed"),
    ([{"family": "smoking_sex"}], {"max_walltime_minutes": 0}, "abc.max_walltime_minutes"),
])
def test_bad_target_and_abc_entries(tmp_path, targets, extra, key):
    path = write_config(tmp_path / "c.toml", targets=targets, extra_abc=extra)
    with pytest.raises(ConfigError) as e:
        cal.load_calibration(path)
    assert e.value.key == key


def test_bad_tables(tmp_path):
    for raw, key in [({"calibration": {"name": "x"}, "oops": {}}, "oops"),
                     ({"calibration": {}}, "calibration.name"),
                     ({"calibration": {"name": "x"}, "population": {"agents": 10}},
                      "population.agents"),
                     ({"calibration": {"name": "x"}}, "parameters"),
                     ({"calibration": {"name": "x", "scenario": "missing.toml"}},
                      "calibration.scenario")]:
        with pytest.raises(ConfigError) as e:
            cal.parse_calibration(raw, "f.toml", tmp_path)
        assert e.value.key == key


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=st.dictionaries(
    st.sampled_from(["name", "prior", "lower", "upper", "mean", "sd", "median", "sigma", "x"]),
    st.one_of(_values, st.sampled_from(["uniform", "normal", "lognormal", "mortality.level[0]",
                                        "care.non_take_up_free", "mortality.level[9]"])),
    max_size=7))
def test_prior_parser_never_crashes(entry):
    specs = cal.load_parameter_specs()
    try:
        p = cal._parse_prior(entry, "parameters[0]", "f.toml", specs)
    except ConfigError as e:
        assert str(e).startswith("f.toml: parameters[0]") and "\n" not in str(e)
    else:
        assert p.lower < p.upper and math.isfinite(p.lower) and math.isfinite(p.upper)
        assert p.rv().pdf(p.to_internal((p.lower + p.upper) / 2)) >= 0


def test_particle_seed_depends_on_values_only():
    assert cal.particle_seed(1, [0.3, 2.0]) == cal.particle_seed(1, [0.3, 2.0])
    assert cal.particle_seed(1, [0.3, 2.0]) != cal.particle_seed(1, [0.3, 2.0000001])
    assert cal.particle_seed(1, [0.3]) != cal.particle_seed(2, [0.3])


def test_distance_scales_weights_and_penalises_nan():
    obs = pd.DataFrame({"key": ["a", "b"], "weight": [1.0, 3.0], "tolerance": [2.0, 1.0]})
    d = cal.Distance(obs)
    assert d({"a": 2.0, "b": 0.0}, {"a": 0.0, "b": 0.0}) == pytest.approx(math.sqrt(1 / 4))
    assert d({"a": 0.0, "b": float("nan")}, {"a": 0.0, "b": 0.0}) == pytest.approx(
        math.sqrt(3 * cal.NAN_PENALTY ** 2 / 4))


def test_cli_errors_are_one_line(tmp_path, capsys):
    path = write_config(tmp_path / "c.toml", parameters=[{**GOOD, "upper": 0.05}])
    assert main(["calibrate", str(path), "--db", f"sqlite:///{tmp_path}/h.db"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "parameters[0].upper" in err
    assert main(["calibrate", str(tmp_path / "none.toml")]) == 2
    assert main(["calibrate", str(path), "--diagnostics-only", "--calibration", "5",
                 "--db", f"sqlite:///{tmp_path}/h.db"]) == 2
    assert "no finished calibration" in capsys.readouterr().err


# ---------------------------------------------------------------------------- running


def _posterior(db: Path) -> pd.DataFrame:
    with Store(f"sqlite:///{db}") as store:
        return store.posterior()


def test_calibrate_end_to_end(tmp_path, capsys, monkeypatch):
    path = write_config(tmp_path / "c.toml", agents=1500, years=1, population_size=4,
                        parameters=[
        GOOD, {"name": "smoking.p_initiation[0]", "prior": "lognormal", "median": 0.04,
               "sigma": 0.3, "lower": 0.01, "upper": 0.1}])
    db = tmp_path / "h.db"
    out = tmp_path / "diag"
    code = main(["calibrate", str(path), "--db", f"sqlite:///{db}", "--out", str(out),
                 "--draws", "2", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert "generation 2/2" in captured.err
    info = summary["info"]
    assert info["generations"] == 2 and info["pyabc_version"]
    assert len(info["epsilons"]) == 2 and info["evaluations"] >= 8
    post = _posterior(db)
    assert len(post) == 4 and post["weight"].sum() == pytest.approx(1)
    # list parameters are stored whole: the draw is a valid set of overrides
    women = resolve_parameters({})["smoking.p_initiation"][1]  # the element not drawn
    assert all(len(v) == 2 and v[1] == pytest.approx(women) for v in
               post["smoking.p_initiation"])
    assert post["care.non_take_up_free"].between(0.1, 0.6).all()
    for name in ("life_expectancy_vingtile", "prevalence_decile", "smoking_diploma",
                 "non_take_up", "posterior_marginals", "posterior_pairs"):
        assert (out / f"{name}.png").stat().st_size > 5000
    fit = pd.read_csv(out / "fit.csv")
    assert fit["calibrated"].sum() == 3 and len(fit) == len(cal.load_targets())
    # diagnostics again from the stored calibration only: the fit is read, nothing runs
    def no_model(*a, **k):
        raise AssertionError("the model ran")

    monkeypatch.setattr(cal, "evaluate", no_model)
    (out / "fit.csv").unlink()
    assert main(["calibrate", str(path), "--db", f"sqlite:///{db}", "--out", str(out),
                 "--diagnostics-only"]) == 0
    assert "within tolerance" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out / "fit.csv"), fit)
    with Store(f"sqlite:///{db}") as store:
        assert store.calibration()["info"]["diagnostics"]["draws"] == 2


def test_resume_after_interruption_continues_and_matches(tmp_path, monkeypatch, capsys):
    path = write_config(tmp_path / "c.toml", agents=1000, years=1, generations=3,
                        population_size=3, targets=[{"family": "non_take_up_free_css"}])
    args = ["--no-diagnostics", "--executor", "serial", "--db", f"sqlite:///{tmp_path}/h.db"]
    real = cal.evaluate
    calls = {"n": 0}

    def counting(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3 + 4:  # past generation 1 (3 evaluations), into generation 2 or 3
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(cal, "evaluate", counting)
    assert main(["calibrate", str(path), *args]) == 130
    capsys.readouterr()
    with Store(f"sqlite:///{tmp_path}/h.db") as store:
        assert store.calibrations()["status"].tolist() == ["running"]
    history = next(tmp_path.glob("calibration_*.db"))  # next to the --db
    import pyabc

    done = pyabc.History(f"sqlite:///{history}").max_t + 1
    assert done >= 1
    calls["n"] = -10**9  # no more interruptions; count the evaluations of the rest
    assert main(["calibrate", str(path), *args]) == 0
    err = capsys.readouterr().err
    assert f"resuming from {history}: {done} generation(s) already done" in err
    assert f"generation {done + 1}/3" in err and "generation 1/3" not in err
    with Store(f"sqlite:///{tmp_path}/h.db") as store:
        info = store.calibration()["info"]
        assert store.calibrations()["status"].tolist() == ["finished"]
        post = store.posterior()
    assert info["generations"] == 3 and len(post) == 3
    # the finished generations were not run again
    assert calls["n"] + 10**9 <= info["evaluations"] - sum(
        info["evaluations_per_generation"][:done])
    # a third start finds the calibration complete and runs nothing
    calls["n"] = 0
    assert main(["calibrate", str(path), *args]) == 0
    assert calls["n"] == 0
    # and the resumed calibration is the uninterrupted one, draw for draw
    monkeypatch.setattr(cal, "evaluate", real)
    from simulation.executor import Executor

    ref = cal.run_abc(cal.load_calibration(path), Executor(), tmp_path / "ref" / "abc.db",
                      log=False)
    assert info["epsilons"] == ref["info"]["epsilons"]
    np.testing.assert_array_equal(post["care.non_take_up_free"], ref["values"][:, 0])
    np.testing.assert_allclose(post["weight"], ref["weights"] / ref["weights"].sum())


def test_executor_does_not_change_the_result(tmp_path):
    """Serial and local processes give the same posterior (seeded proposals, seeds from the
    parameter values)."""
    spec = cal.load_calibration(write_config(tmp_path / "c.toml", agents=1000, years=1,
                                             population_size=3,
                                             targets=[{"family": "non_take_up_free_css"}]))
    from simulation.executor import make_executor

    out = {}
    for kind in ("serial", "processes"):
        with make_executor(kind, workers=2 if kind == "processes" else None) as ex:
            res = cal.run_abc(spec, ex, tmp_path / f"{kind}.db", log=False)
        out[kind] = (res["values"], res["weights"])
    np.testing.assert_array_equal(out["serial"][0], out["processes"][0])
    np.testing.assert_array_equal(out["serial"][1], out["processes"][1])


def test_recovers_a_known_parameter_from_synthetic_targets(tmp_path):
    """Targets made by the model itself at non_take_up_free = 0.22: the posterior must
    concentrate near it (a prior of 0.05-0.6)."""
    truth = 0.22
    base = write_config(tmp_path / "truth.toml", agents=4000, years=1,
                        targets=[{"family": "non_take_up_free_css"}])
    spec = cal.load_calibration(base)
    stats = cal.evaluate(spec.scenario, spec.priors, [truth], 1, list(cal.FAMILIES))
    targets = cal.load_targets()
    key = cal.stat_key("non_take_up_free_css", "all", "eligible")
    targets.loc[targets["family"] == "non_take_up_free_css", "observed"] = stats[key]
    synthetic = tmp_path / "targets.csv"
    cal.write_targets(targets, synthetic)
    path = write_config(tmp_path / "c.toml", agents=4000, years=1, population_size=10,
                        generations=3, targets_file=synthetic,
                        parameters=[{**GOOD, "lower": 0.05}],
                        targets=[{"family": "non_take_up_free_css", "tolerance": 2.0}])
    spec = cal.load_calibration(path)
    from simulation.executor import Executor

    res = cal.run_abc(spec, Executor(), tmp_path / "abc.db", log=False)
    v, w = res["values"][:, 0], res["weights"] / res["weights"].sum()
    mean = float(np.sum(w * v))
    sd = float(np.sqrt(np.sum(w * (v - mean) ** 2)))
    prior_sd = (0.6 - 0.05) / math.sqrt(12)
    assert abs(mean - truth) < 0.05, (mean, sd)
    assert sd < prior_sd / 2.5, (mean, sd)


def test_validate_accepts_calibration_files(capsys, tmp_path):
    from simulation.cli import main

    assert main(["validate", "calibration/default.toml"]) == 0
    assert "ok (calibration 'default'" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[calibration]\nname = "x"\nscenario = "nope.toml"\n')
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "calibration.scenario" in err
