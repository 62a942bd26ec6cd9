"""Decision-grade comparisons: expected-value deaths, intervals of the mean, the lifetime
horizon and distributional cost-effectiveness (issue 16)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation import metrics
from simulation.comparison import load_comparison, run_comparison
from simulation.config import ConfigError, load_scenario
from simulation.kernels import demography as kd
from simulation.model import HealthInequalityModel, expected_deaths
from simulation.population import N_AGES
from simulation.store import Store, pack_column, unpack_array

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def scenario(**kw):
    return load_scenario(BASELINE).with_options(**kw)


# ------------------------------------------------------------------ intervals


def test_mean_interval_is_the_student_t_interval():
    mean, lo, hi = metrics.mean_interval([1.0, 2.0, 3.0])
    # s = 1, n = 3, t(0.975, 2) = 4.302653
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert mean - lo == pytest.approx(hi - mean)
    assert math.isnan(metrics.mean_interval([5.0])[1])
    assert metrics.mean_interval([2.0, float("nan"), 4.0])[0] == 3.0


@pytest.mark.parametrize("n", [3, 5, 12])
def test_mean_interval_covers_the_true_mean_95_percent_of_the_time(n):
    gen = np.random.default_rng(n)
    trials = 4000
    hits = 0
    for _ in range(trials):
        x = gen.normal(0.3, 2.0, n)
        _, lo, hi = metrics.mean_interval(x)
        hits += lo <= 0.3 <= hi
    # binomial sd of the coverage over 4000 trials: 0.0034
    assert abs(hits / trials - 0.95) < 0.012


def test_percentiles_of_replicates_are_not_an_interval_of_the_mean():
    # the former interval (2.5-97.5 percentiles of the replicates) describes the spread of
    # the replicates: with 3 replicates it misses the mean a quarter of the time (all three
    # on one side: 2/8), with 50 it almost never does (it is about sqrt(50) times too wide)
    gen = np.random.default_rng(1)
    for n, low, high in ((3, 0.70, 0.80), (50, 0.999, 1.0)):
        x = gen.normal(0.0, 1.0, (4000, n))
        lo, hi = np.percentile(x, 2.5, axis=1), np.percentile(x, 97.5, axis=1)
        assert low <= ((lo <= 0) & (0 <= hi)).mean() <= high


# ------------------------------------------------------------------ DCEA


def test_ede_of_an_equal_distribution_is_its_level():
    for kind, aversion in (("atkinson", 10.95), ("kolm", 0.15)):
        assert metrics.equally_distributed_equivalent([70.0] * 5, kind=kind,
                                                      aversion=aversion) == pytest.approx(70.0)


def test_ede_analytic_values():
    h = np.array([70.0, 80.0])
    # Atkinson, epsilon = 2: harmonic mean
    assert metrics.equally_distributed_equivalent(h, kind="atkinson", aversion=2.0) == \
        pytest.approx(2 / (1 / 70 + 1 / 80))
    assert metrics.equally_distributed_equivalent(h, kind="atkinson", aversion=0.0) == 75.0
    kolm = -math.log(0.5 * math.exp(-0.15 * 70) + 0.5 * math.exp(-0.15 * 80)) / 0.15
    assert metrics.equally_distributed_equivalent(h, kind="kolm", aversion=0.15) == \
        pytest.approx(kolm)
    # shares: 3/4 of the people at 70
    assert metrics.equally_distributed_equivalent(h, [3, 1], kind="atkinson", aversion=2.0) \
        == pytest.approx(1 / (0.75 / 70 + 0.25 / 80))
    with pytest.raises(ValueError):
        metrics.equally_distributed_equivalent(h, kind="atkinson", aversion=1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(40.0, 95.0), min_size=2, max_size=20),
       st.floats(0.01, 30.0).filter(lambda e: abs(e - 1.0) > 1e-6))
def test_ede_lies_between_the_minimum_and_the_mean(values, eps):
    h = np.array(values)
    for kind, a in (("atkinson", eps), ("kolm", eps / 10)):
        ede = metrics.equally_distributed_equivalent(h, kind=kind, aversion=a)
        assert h.min() - 1e-9 <= ede <= h.mean() + 1e-9


def _flat_agg(mx: float, disabled_share: float) -> pd.DataFrame:
    ages = np.arange(101)
    py = np.full(ages.size, 1000.0)
    d = mx * py
    rows = []
    for v in range(1, 21):
        rows.append(pd.DataFrame({"sex": "M", "by": "income_vingtile", "group": str(v),
                                  "age": ages, "deaths": d, "person_years": py,
                                  "disabled": disabled_share * (py + d / 2)}))
    return pd.concat(rows, ignore_index=True)


def test_qale_is_e0_at_full_utility_and_hle_at_zero():
    agg = _flat_agg(0.02, 0.25)
    e0 = metrics.life_expectancy_by_stratum(agg, ages=(0,), healthy=True)
    row = e0[(e0["by"] == "income_quintile") & (e0["group"] == "1")].iloc[0]
    q_full = metrics.quality_adjusted_life_expectancy(agg, "income_quintile", 1.0)
    q_zero = metrics.quality_adjusted_life_expectancy(agg, "income_quintile", 0.0)
    q_07 = metrics.quality_adjusted_life_expectancy(agg, "income_quintile", 0.7)
    assert list(q_full.index) == ["1", "2", "3", "4", "5"]
    assert q_full["1"] == pytest.approx(row["e"])
    assert q_zero["1"] == pytest.approx(row["hle"])
    # constant prevalence 25%: QALE = e0 (1 - 0.3 * 0.25)
    assert q_07["1"] == pytest.approx(row["e"] * (1 - 0.3 * 0.25))


# ------------------------------------------------------------------ expected deaths


def test_expected_deaths_are_exact_fixed_point():
    acc = np.zeros((2, 6), dtype=np.int64)
    acc[0, 0] = int(0.25 * kd.EXPECTED_SCALE)
    acc[1, 0] = int(0.5 * kd.EXPECTED_SCALE)
    acc[1, 5] = 3
    out = expected_deaths(acc, (2, 3))
    assert out[0, 0] == 0.75 and out[1, 2] == 3 / 2**32
    values = np.array([0.75, 3 / 2**33, 3.0, 12345.5 + 7 / 2**33])
    header, enc = pack_column(values)
    assert unpack_array(header + enc.tobytes()).tolist() == values.tolist()
    assert header.endswith(b"/8589934592/0/f:")


def test_expected_and_realised_deaths_agree_in_expectation():
    # the state's path does not depend on the estimator: same seed, same lives; the
    # realised deaths are a draw whose expectation is the expected deaths
    z = []
    for seed in range(1, 7):
        m = HealthInequalityModel(scenario(agents=8000, years=4, seed=seed))
        m.run_years()
        lti = m.life_table_input()
        a = lti[lti["by"] == "all"]
        e, r = a["deaths"].sum(), a["deaths_realised"].sum()
        z.append((r - e) / math.sqrt(e))
        assert (lti["deaths"] >= 0).all()
        # person-years from the expected deaths
        alive = a["person_years"] + a["deaths"] / 2
        assert np.allclose(alive, np.rint(alive))
    z = np.array(z)
    assert abs(z.mean()) < 3 / math.sqrt(len(z))
    assert 0.2 < z.std() < 2.0  # roughly binomial: sd 1 in units of sqrt(expected)


def test_the_realised_estimator_gives_integer_deaths_and_the_same_lives():
    sc = scenario(agents=6000, years=3, seed=4)
    m_exp = HealthInequalityModel(sc)
    m_exp.run_years()
    m_real = HealthInequalityModel(sc.with_parameters(
        {"outcomes.mortality_estimator": "realised"}))
    m_real.run_years()
    a, b = m_exp.life_table_input(), m_real.life_table_input()
    assert "deaths_realised" not in b.columns
    assert a["deaths_realised"].tolist() == b["deaths"].tolist()
    assert np.array_equal(m_exp.population.alive, m_real.population.alive)


def test_expected_deaths_reduce_the_variance_of_e0():
    e = {"expected": [], "realised": []}
    for seed in range(1, 6):
        sc = scenario(agents=6000, years=5, seed=seed)
        m = HealthInequalityModel(sc)
        m.run_years()
        lti = m.life_table_input()
        for name, col in (("expected", "deaths"), ("realised", "deaths_realised")):
            agg = lti.assign(deaths=lti[col],
                             person_years=lti["person_years"] + lti["deaths"] / 2
                             - lti[col] / 2)
            le = metrics.life_expectancy_by_stratum(agg, ages=(0,))
            e[name].append(le[(le["by"] == "income_quintile") & (le["sex"] == "M")]
                           ["e"].to_numpy())
    v_exp = np.var(np.array(e["expected"]), axis=0, ddof=1).mean()
    v_real = np.var(np.array(e["realised"]), axis=0, ddof=1).mean()
    assert v_exp < v_real


# ------------------------------------------------------------------ lifetime horizon


def test_remaining_life_of_a_constant_hazard_is_geometric():
    h, n_ages, rate = 0.1, N_AGES, 0.025
    h0 = np.full(2 * n_ages, h)
    h0[n_ages - 1] = h0[2 * n_ages - 1] = 64.0
    weight = np.full(2 * n_ages, 0.8)
    n = 3
    alive = np.array([1, 1, 0], np.uint8)
    sex = np.zeros(n, np.uint8)
    age = np.array([0, n_ages - 1, 0], np.uint8)
    rr = np.ones(n, np.float32)
    rank = np.array([0.1, 0.9, 0.5], np.float32)
    out = np.zeros((1, 2, 5, 4))
    kd.remaining_life(alive, sex, age, rr, rank, n, 16, h0, weight, 1 / (1 + rate), out)
    s = math.exp(-h)
    k = np.arange(n_ages - 1)
    surv = s ** k
    py = 0.5 * (surv + surv * s)
    last = surv[-1] * s * 0.5 * (1 + math.exp(-64))  # the last age, then certain death
    ly = py.sum() + last
    assert out[0, 0, 0, 0] == 1 and out[0, 0, 4, 0] == 1
    assert out[0, 0, 0, 1] == pytest.approx(ly, rel=1e-9)
    d = (1 / (1 + rate)) ** k
    lyd = (py * d).sum() + last * (1 / (1 + rate)) ** (n_ages - 1)
    assert out[0, 0, 0, 2] == pytest.approx(lyd, rel=1e-9)
    assert out[0, 0, 0, 3] == pytest.approx(0.8 * lyd, rel=1e-9)
    assert out[0, 0, 4, 1] == pytest.approx(0.5 * (1 + math.exp(-64)))


def test_lifetime_horizon_adds_the_survivors_remaining_life(tmp_path):
    spec = load_comparison(ROOT / "scenarios" / "default.toml").with_options(
        agents=4000, replicates=2, years=3)
    with Store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        summary, _ = run_comparison(spec, store)
    assert summary["horizon"]["effects"] == "lifetime"
    assert summary["horizon"]["mortality_estimator"] == "expected"
    rec = {(r["scenario"], r["metric"]): r for r in summary["records"]
           if r["sex"] is None and r["group"] is None}
    base = spec.baseline.name
    ly, sim = rec[(base, "life_years")]["value"], rec[(base, "life_years_simulated")]["value"]
    # 3 simulated years of ~5.9 million people, then decades of remaining life
    assert 3 * 5.0e6 < sim < 3 * 6.2e6
    assert ly > 5 * sim  # about 22 discounted years each
    for row in summary["summary"]:
        assert row["allocation"][0]["type"] == "smoking_cessation"
        assert row["allocation"][0]["mode"] in ("universal", "targeted", "proportionate")
        assert row["allocation"][0]["budget_eur"] == 15_000_000
        assert row["ede_atkinson_change_lo"] <= row["ede_atkinson_change"] <= \
            row["ede_atkinson_change_hi"]
    qale = [r for r in summary["records"] if r["metric"] == "qale" and r["scenario"] == base]
    assert sorted(r["group"] for r in qale) == ["1", "2", "3", "4", "5"]
    q = {r["group"]: r["value"] for r in qale}
    assert q["5"] > q["1"]  # the richest fifth lives longer in better health


def test_simulation_horizon_counts_the_simulated_years_only(tmp_path):
    path = tmp_path / "cmp.toml"
    text = (ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8")
    text = text.replace('baseline = "baseline.toml"', f'baseline = "{tmp_path / "b.toml"}"')
    (tmp_path / "b.toml").write_text(BASELINE.read_text(encoding="utf-8")
                                     + '\n"outcomes.horizon" = "simulation"\n'
                                     if "[parameters]" in BASELINE.read_text(encoding="utf-8")
                                     else BASELINE.read_text(encoding="utf-8")
                                     + '\n[parameters]\n"outcomes.horizon" = "simulation"\n',
                                     encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    spec = load_comparison(path).with_options(agents=3000, replicates=1, years=2)
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        summary, _ = run_comparison(spec, store)
    assert summary["horizon"]["effects"] == "simulation"
    rec = {(r["scenario"], r["metric"]): r["value"] for r in summary["records"]
           if r["sex"] is None and r["group"] is None}
    base = spec.baseline.name
    assert rec[(base, "life_years")] == rec[(base, "life_years_simulated")]


@pytest.mark.parametrize("key,value,expected", [
    ("outcomes.mortality_estimator", "exact", '"expected", "realised"'),
    ("outcomes.horizon", "forever", '"lifetime", "simulation"'),
    ("outcomes.atkinson_epsilon", 1.0, "other than 1"),
])
def test_outcome_options_are_checked(key, value, expected):
    with pytest.raises(ConfigError) as err:
        scenario().with_parameters({key: value})
    assert key in str(err.value) and expected in str(err.value)


def test_compare_json_through_run_py(tmp_path):
    out = subprocess.run(
        [sys.executable, "run.py", "compare", "scenarios/default.toml", "--agents", "3000",
         "--replicates", "2", "--years", "2", "--json", "--no-progress", "--db",
         f"sqlite:///{tmp_path / 'c.db'}"], cwd=ROOT, capture_output=True, text=True,
        check=True)
    summary = json.loads(out.stdout)
    assert summary["interval"].startswith("95% confidence interval of the mean")
    assert summary["horizon"]["effects"] == "lifetime"
    for row in summary["summary"]:
        assert "gap_q_e0_change_M_lo" in row and "deaths_averted_lo" in row
