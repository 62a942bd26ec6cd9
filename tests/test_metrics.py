"""Tests for simulation.metrics (life tables, stratified life expectancy, SII/RII, Sullivan)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simulation.metrics import (
    LIFE_TABLE_COLUMNS,
    collapse_income,
    gap,
    life_expectancy,
    life_expectancy_by_stratum,
    life_table,
    life_table_from_qx,
    slope_index_of_inequality,
    sullivan_hle,
    window,
)

QX_PATH = (
    Path(__file__).resolve().parents[1]
    / "simulation"
    / "data"
    / "france_mortality_qx_single_age_INED_2010_2022.csv"
)


def stationary_constant_hazard(mu: float, open_age: int = 100, radix: float = 1e5):
    """Exact deaths and person-years of a stationary population with constant hazard mu.

    Survivors at exact age x: N exp(-mu x). In [x, x+1): deaths N e^{-mu x}(1 - e^{-mu}),
    person-years N e^{-mu x}(1 - e^{-mu}) / mu. Open interval [w, inf): deaths N e^{-mu w},
    person-years N e^{-mu w} / mu. So every observed rate D/PY equals mu exactly.
    """
    x = np.arange(open_age)
    surv = radix * np.exp(-mu * x)
    deaths = surv * -np.expm1(-mu)
    py = deaths / mu
    tail = radix * math.exp(-mu * open_age)
    return np.append(deaths, tail), np.append(py, tail / mu)


# --------------------------------------------------------------------------------------
# Analytic checks
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mu", [0.001, 0.01, 0.05, 0.3])
def test_constant_hazard_gives_inverse_hazard(mu):
    deaths, py = stationary_constant_hazard(mu)
    table = life_table(deaths, py, open_age=100)
    assert list(table.columns) == list(LIFE_TABLE_COLUMNS)
    assert len(table) == 101
    assert table.attrs["open_age"] == 100
    np.testing.assert_allclose(table["mx"], mu, rtol=1e-12)
    # Tolerance: with m(x) = mu at every age the a(x)=0.5 table is exact for e(x), not
    # just approximately: q = m/(1+m/2) implies L(x) = l(x) - d(x)/2 = d(x)/m, and the open
    # interval has L = l(w)/m, so T(x) = (sum_{y>=x} d(y) + l(w)) / m = l(x)/m and
    # e(x) = 1/mu for every x. Only floating-point rounding remains (~1e-13 relative).
    np.testing.assert_allclose(table["ex"], 1.0 / mu, rtol=1e-10)
    # The a(x)=0.5 approximation shows up in l(x) instead: 1 - q = (1 - mu/2)/(1 + mu/2)
    # = exp(-mu - mu^3/12 - O(mu^5)), so l(x)/exp(-mu x) = exp(-x mu^3/12 + ...). The
    # bound x mu^3/12 (x <= 100) is 8e-8 at mu=0.001 and 8e-6 at mu=0.01 (tiny), but 0.23 at
    # mu=0.3; we allow 1.1 times the leading-order term.
    ages = table["age"].to_numpy()
    rel_err = np.abs(table["lx"].to_numpy() / np.exp(-mu * ages) - 1.0)
    assert np.all(rel_err <= 1.1 * (1.0 - np.exp(-ages * mu**3 / 12.0)) + 1e-12)


def test_pure_open_interval_is_exactly_inverse_hazard():
    mu = 0.0125
    deaths, py = stationary_constant_hazard(mu)
    table = life_table(deaths, py, open_age=0)
    assert len(table) == 1
    # Single open interval: e0 = 1/m = sum PY / sum D, exactly 1/mu up to rounding.
    assert table["ex"].iloc[0] == pytest.approx(1.0 / mu, rel=1e-12)
    assert table["deaths"].iloc[0] == pytest.approx(deaths.sum())
    assert table["qx"].iloc[0] == 1.0


def test_hand_computed_three_age_table():
    # Ages 0, 1 and open interval 2+:
    #   age 0: D=50,  PY=100 -> m=0.5, q=0.5/1.25=0.4,   l=1,   d=0.4, L=1-0.2=0.8
    #   age 1: D=100, PY=100 -> m=1,   q=1/1.5=2/3,      l=0.6, d=0.4, L=0.6-0.2=0.4
    #   age 2+: D=40, PY=80  -> m=0.5, q=1,              l=0.2, d=0.2, L=0.2/0.5=0.4
    #   T = (1.6, 0.8, 0.4); e = T/l = (1.6, 0.8/0.6=4/3, 0.4/0.2=2=1/m)
    expected = pd.DataFrame(
        {
            "age": [0, 1, 2],
            "deaths": [50.0, 100.0, 40.0],
            "person_years": [100.0, 100.0, 80.0],
            "mx": [0.5, 1.0, 0.5],
            "qx": [0.4, 2.0 / 3.0, 1.0],
            "lx": [1.0, 0.6, 0.2],
            "dx": [0.4, 0.4, 0.2],
            "Lx": [0.8, 0.4, 0.4],
            "Tx": [1.6, 0.8, 0.4],
            "ex": [1.6, 4.0 / 3.0, 2.0],
        }
    )
    table = life_table([50, 100, 40], [100, 100, 80], open_age=2)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False, rtol=1e-12)
    # Ages beyond the open age are pooled into it (30+10 deaths, 60+20 person-years).
    pooled = life_table([50, 100, 30, 10], [100, 100, 60, 20], open_age=2)
    pd.testing.assert_frame_equal(pooled, expected, check_dtype=False, rtol=1e-12)
    assert life_expectancy(table, [0, 1, 2, 3]) == pytest.approx(
        {0: 1.6, 1: 4.0 / 3.0, 2: 2.0, 3: math.nan}, nan_ok=True
    )
    assert life_expectancy(table, 1) == pytest.approx({1: 4.0 / 3.0})


def test_short_arrays_close_at_last_age():
    table = life_table([50, 100, 40], [100, 100, 80], open_age=100)
    assert table.attrs["open_age"] == 2
    assert table["ex"].iloc[0] == pytest.approx(1.6)


# --------------------------------------------------------------------------------------
# Published data: INED q(x) vs INSEE e0
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ined_qx() -> pd.DataFrame:
    return pd.read_csv(QX_PATH, comment="#")


# INSEE, Bilan demographique 2016 and 2019: life expectancy at birth (years).
INSEE_E0 = [
    (2016, "male", 79.3),
    (2016, "female", 85.3),
    (2019, "male", 79.7),
    (2019, "female", 85.6),
]


@pytest.mark.parametrize(("year", "sex", "published"), INSEE_E0)
def test_ined_qx_reproduces_insee_e0(ined_qx, year, sex, published):
    sub = ined_qx[(ined_qx["year"] == year) & (ined_qx["sex"] == sex)].sort_values("age")
    assert sub["age"].tolist() == list(range(100))
    table = life_table_from_qx(sub["qx"].to_numpy())
    assert table.attrs["open_age"] == 100
    assert len(table) == 101
    np.testing.assert_allclose(table["qx"].iloc[:100], sub["qx"], rtol=0, atol=0)
    e0 = life_expectancy(table, 0)[0]
    # Obtained e0 (years): 2016 M 79.21, F 85.33; 2019 M 79.60, F 85.50. INSEE's figures
    # come from its own estimates (France incl. DOM), so ~0.1 year differences are expected.
    assert abs(e0 - published) <= 0.2


def test_life_table_from_qx_closure_and_consistency():
    q = np.array([0.1, 0.2, 0.5])
    table = life_table_from_qx(q)
    m_open = -math.log(1 - 0.5)
    assert table["mx"].iloc[-1] == pytest.approx(m_open)
    assert table["ex"].iloc[-1] == pytest.approx(1 / m_open)
    # Closed ages: mx = dx / Lx = 2q/(2-q); deaths/person_years are dx/Lx of radix 1.
    np.testing.assert_allclose(table["mx"].iloc[:3], 2 * q / (2 - q))
    np.testing.assert_allclose(table["deaths"], table["dx"])
    np.testing.assert_allclose(table["person_years"], table["Lx"])
    # Rebuilding from the implied deaths/person-years gives the same table.
    rebuilt = life_table(table["deaths"], table["person_years"], open_age=3)
    np.testing.assert_allclose(rebuilt["ex"], table["ex"], rtol=1e-12)
    # Closing earlier uses q at the new last closed age.
    early = life_table_from_qx(q, open_age_q=2)
    assert len(early) == 3
    assert early["mx"].iloc[-1] == pytest.approx(-math.log(1 - 0.2))
    with pytest.raises(ValueError, match="cannot close"):
        life_table_from_qx([0.1, 0.0])


# --------------------------------------------------------------------------------------
# Small-population robustness
# --------------------------------------------------------------------------------------


def test_zero_person_years_at_high_ages():
    deaths, py = stationary_constant_hazard(0.05, open_age=110, radix=5000)
    deaths, py = np.round(deaths), py.copy()
    py[95:] = 0.0
    deaths[95:] = 0.0
    table = life_table(deaths, py, open_age=100)
    # First zero-PY age is 95; the pooled 95+ interval is empty, so the open age moves
    # down to the last age with deaths.
    w = table.attrs["open_age"]
    assert w < 95
    assert deaths[w] > 0
    assert table["age"].iloc[-1] == w
    assert np.isfinite(table["ex"]).all()
    assert 0 < table["ex"].iloc[0] < 40


def test_gap_in_exposure_pools_later_ages():
    deaths = np.array([1.0, 2.0, 0.0, 3.0, 4.0])
    py = np.array([100.0, 50.0, 0.0, 20.0, 10.0])
    table = life_table(deaths, py, open_age=100)
    assert table.attrs["open_age"] == 2
    assert table["deaths"].iloc[-1] == 7.0
    assert table["person_years"].iloc[-1] == 30.0
    assert table["ex"].iloc[-1] == pytest.approx(30.0 / 7.0)


def test_zero_deaths_in_open_interval():
    deaths = np.array([2.0, 1.0, 3.0, 1.0, 0.0, 0.0])
    py = np.array([100.0, 90.0, 80.0, 40.0, 10.0, 5.0])
    table = life_table(deaths, py, open_age=4)
    # 4+ has no deaths -> open interval 3+ with D=1, PY=55.
    assert table.attrs["open_age"] == 3
    assert table["person_years"].iloc[-1] == 55.0
    assert table["ex"].iloc[-1] == pytest.approx(55.0)
    assert np.isfinite(table["ex"]).all()


def test_degenerate_tables_return_nan():
    no_exposure_at_birth = life_table([0, 1, 1], [0, 10, 10])
    assert no_exposure_at_birth["ex"].isna().all()
    no_deaths = life_table(np.zeros(5), np.full(5, 10.0))
    assert no_deaths["ex"].isna().all()
    assert list(no_deaths.columns) == list(LIFE_TABLE_COLUMNS)
    with pytest.raises(ValueError, match="differ in length"):
        life_table([1, 2], [10, 10, 10])
    with pytest.raises(ValueError, match="non-negative"):
        life_table([-1, 2], [10, 10])


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.floats(0.0, 1000.0, allow_nan=False, allow_infinity=False),
            st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=120,
    ),
    open_age=st.integers(0, 130),
    scale=st.floats(1.01, 2.0),
)
def test_property_finite_nonnegative_and_monotone(data, open_age, scale):
    py = np.array([p for p, _ in data])
    deaths = np.floor(np.array([p * f for p, f in data]))  # integer counts, 0 <= D <= PY
    assume(py[0] > 0 and deaths.sum() > 0)
    table = life_table(deaths, py, open_age=open_age)
    ex = table["ex"].to_numpy()
    assert np.all(np.isfinite(ex))
    assert np.all(ex >= 0.0)
    assert np.all(np.isfinite(table["lx"]))
    assert np.all(table["lx"] > 0)
    worse = life_table(deaths * scale, py, open_age=open_age)
    assert worse.attrs["open_age"] == table.attrs["open_age"]
    assert worse["ex"].iloc[0] < ex[0]


# --------------------------------------------------------------------------------------
# Stratified life expectancy
# --------------------------------------------------------------------------------------


def _agg_constant_hazard(mu_by_sex: dict[str, float], max_age: int = 105) -> pd.DataFrame:
    """Tidy agg where every vingtile (of varying size) has the same constant hazard."""
    rows = []
    for sex, mu in mu_by_sex.items():
        for v in range(1, 21):
            deaths, py = stationary_constant_hazard(mu, open_age=max_age, radix=1000.0 * v)
            for age in range(max_age + 1):
                rows.append((sex, "income_vingtile", str(v), age, deaths[age], py[age]))
        deaths, py = stationary_constant_hazard(mu, open_age=max_age, radix=210_000.0)
        for age in range(max_age + 1):
            rows.append((sex, "all", "all", age, deaths[age], py[age]))
    return pd.DataFrame(rows, columns=["sex", "by", "group", "age", "deaths", "person_years"])


def test_equal_hazard_gives_equal_e_across_income_groups():
    mu = {"F": 0.011, "M": 0.014}
    le = life_expectancy_by_stratum(_agg_constant_hazard(mu))
    assert list(le.columns) == ["sex", "by", "group", "age", "e"]
    assert set(le["by"]) == {"all", "income_vingtile", "income_decile", "income_quintile"}
    for sex, m in mu.items():
        sub = le[le["sex"] == sex]
        # Constant hazard => e(x) = 1/mu at every age (see the analytic test).
        np.testing.assert_allclose(sub["e"], 1.0 / m, rtol=1e-10)
    counts = le[(le["sex"] == "F") & (le["age"] == 0)].groupby("by").size()
    assert counts.to_dict() == {
        "all": 1,
        "income_vingtile": 20,
        "income_decile": 10,
        "income_quintile": 5,
    }
    # Stable, numeric group order and canonical stratum order.
    f0 = le[(le["sex"] == "F") & (le["age"] == 0)]
    assert f0[f0["by"] == "income_vingtile"]["group"].tolist() == [str(i) for i in range(1, 21)]
    assert f0[f0["by"] == "income_decile"]["group"].tolist() == [str(i) for i in range(1, 11)]
    assert f0["by"].drop_duplicates().tolist() == [
        "all",
        "income_vingtile",
        "income_decile",
        "income_quintile",
    ]
    assert le["sex"].drop_duplicates().tolist() == ["F", "M"]
    gaps = gap(le, "income_vingtile", "1", "20")
    assert list(gaps.columns) == ["sex", "age", "gap"]
    assert len(gaps) == 8
    np.testing.assert_allclose(gaps["gap"], 0.0, atol=1e-9)


def _random_vingtile_agg(seed: int = 1, years=(2018, 2019)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for year in years:
        for sex in ("F", "M"):
            for v in range(1, 21):
                for age in range(104):
                    py = float(rng.uniform(5, 60)) * (1.0 if age < 100 else 0.1)
                    hazard = min(0.9, 0.0005 * math.exp(0.09 * age) * (1.6 - v / 25))
                    rows.append(
                        (year, sex, "income_vingtile", str(v), age, rng.poisson(py * hazard), py)
                    )
    return pd.DataFrame(
        rows, columns=["year", "sex", "by", "group", "age", "deaths", "person_years"]
    )


def test_decile_aggregation_matches_hand_summed_vingtiles():
    agg = _random_vingtile_agg()
    collapsed = collapse_income(agg)
    assert collapse_income(collapsed).equals(collapsed)  # idempotent
    dec3 = collapsed[(collapsed["by"] == "income_decile") & (collapsed["group"] == "3")]
    hand = (
        agg[agg["group"].isin(["5", "6"])]
        .groupby(["year", "sex", "age"], as_index=False)[["deaths", "person_years"]]
        .sum()
    )
    merged = dec3.merge(hand, on=["year", "sex", "age"], suffixes=("", "_hand"))
    assert len(merged) == len(hand) == 2 * 2 * 104
    np.testing.assert_allclose(merged["deaths"], merged["deaths_hand"])
    np.testing.assert_allclose(merged["person_years"], merged["person_years_hand"])

    le = life_expectancy_by_stratum(agg, ages=(0, 65))
    # Decile 3 of men, summed over both years, by hand.
    men = agg[(agg["sex"] == "M") & agg["group"].isin(["5", "6"])]
    by_age = men.groupby("age")[["deaths", "person_years"]].sum().sort_index()
    table = life_table(by_age["deaths"].to_numpy(), by_age["person_years"].to_numpy())
    expected = life_expectancy(table, [0, 65])
    got = le[(le["sex"] == "M") & (le["by"] == "income_decile") & (le["group"] == "3")]
    assert got.set_index("age")["e"].to_dict() == pytest.approx(expected)
    # Quintile 5 = vingtiles 17..20.
    men_q5 = agg[(agg["sex"] == "M") & agg["group"].isin(["17", "18", "19", "20"])]
    by_age = men_q5.groupby("age")[["deaths", "person_years"]].sum().sort_index()
    table = life_table(by_age["deaths"].to_numpy(), by_age["person_years"].to_numpy())
    got = le[(le["sex"] == "M") & (le["by"] == "income_quintile") & (le["group"] == "5")]
    assert got.set_index("age")["e"].to_dict() == pytest.approx(life_expectancy(table, [0, 65]))
    # The simulated gradient: richest vingtile outlives the poorest.
    assert (gap(le, "income_vingtile", "1", "20")["gap"] > 0).all()


def test_window_selects_years_and_stratum_sums_over_them():
    agg = _random_vingtile_agg(years=(2017, 2018, 2019))
    w = window(agg, 2018, 2019)
    assert sorted(w["year"].unique().tolist()) == [2018, 2019]
    le_w = life_expectancy_by_stratum(w, ages=(0,))
    le_manual = life_expectancy_by_stratum(agg[agg["year"] >= 2018].drop(columns="year"), (0,))
    pd.testing.assert_frame_equal(le_w, le_manual)
    with pytest.raises(ValueError, match="no 'year' column"):
        window(agg.drop(columns="year"), 2018, 2019)


def test_other_strata_natural_order_and_missing_group_gap():
    rows = []
    for dep in ["11", "09", "2A", "30", "21", "19", "2B", "12"]:
        deaths, py = stationary_constant_hazard(0.02, open_age=100, radix=5000)
        rows += [("F", "department", dep, a, deaths[a], py[a]) for a in range(101)]
    agg = pd.DataFrame(rows, columns=["sex", "by", "group", "age", "deaths", "person_years"])
    le = life_expectancy_by_stratum(agg, ages=(0,))
    assert le["group"].tolist() == ["09", "11", "12", "19", "2A", "2B", "21", "30"]
    np.testing.assert_allclose(le["e"], 50.0, rtol=1e-10)
    with pytest.raises(ValueError, match="not found"):
        gap(le, "department", "09", "99")


# --------------------------------------------------------------------------------------
# SII / RII
# --------------------------------------------------------------------------------------


def test_sii_perfect_linear_gradient_equal_groups():
    shares = np.full(10, 0.1)
    ridit = np.cumsum(shares) - shares / 2
    values = 70.0 + 12.0 * ridit
    sii, rii = slope_index_of_inequality(values, shares)
    assert sii == pytest.approx(12.0)
    assert rii == pytest.approx(82.0 / 70.0)
    # Adverse outcome (e.g. mortality falling with rank): SII > 0, RII = bottom/top.
    rates = 0.02 - 0.01 * ridit
    sii, rii = slope_index_of_inequality(rates, shares, higher_is_better=False)
    assert sii == pytest.approx(0.01)
    assert rii == pytest.approx(2.0)


def test_sii_unequal_group_sizes_hand_example():
    # Shares 0.2, 0.3, 0.5 -> ridits 0.1, 0.35, 0.75 (mean 0.5). Values 1, 2, 4: mean 2.8.
    # cov = .2(-.4)(-1.8) + .3(-.15)(-.8) + .5(.25)(1.2) = .144 + .036 + .15 = .33
    # var = .2(.16) + .3(.0225) + .5(.0625) = .07  -> slope = 33/7
    # intercept = 2.8 - (33/7)(0.5) = 31/70; pred(1) = 31/70 + 330/70 = 361/70
    sii, rii = slope_index_of_inequality([1.0, 2.0, 4.0], [20, 30, 50])
    assert sii == pytest.approx(33.0 / 7.0)
    assert rii == pytest.approx(361.0 / 31.0)
    # Linear values on unequal groups are recovered exactly.
    shares = np.array([0.05, 0.25, 0.1, 0.6])
    ridit = np.cumsum(shares) - shares / 2
    assert np.allclose(ridit, [0.025, 0.175, 0.35, 0.7])
    sii, rii = slope_index_of_inequality(3.0 + 2.0 * ridit, shares)
    assert (sii, rii) == pytest.approx((2.0, 5.0 / 3.0))


def test_sii_edge_cases():
    assert all(math.isnan(x) for x in slope_index_of_inequality([1.0, 2.0], [1.0, 0.0]))
    assert all(math.isnan(x) for x in slope_index_of_inequality([1.0, np.nan], [1.0, 1.0]))
    with pytest.raises(ValueError, match="at least two"):
        slope_index_of_inequality([1.0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        slope_index_of_inequality([1.0, 2.0], [1.0, -1.0])


# --------------------------------------------------------------------------------------
# Sullivan healthy life expectancy
# --------------------------------------------------------------------------------------


@pytest.fixture
def simple_table() -> pd.DataFrame:
    deaths, py = stationary_constant_hazard(0.03, open_age=100)
    deaths[:50] *= 0.5  # make e(x) vary with age
    return life_table(deaths, py)


def test_sullivan_limits(simple_table):
    n = len(simple_table)
    res = sullivan_hle(simple_table, np.zeros(n))
    assert list(res.columns) == ["age", "ex", "hle"]
    np.testing.assert_allclose(res["hle"], simple_table["ex"], rtol=1e-12)
    np.testing.assert_allclose(sullivan_hle(simple_table, 1.0)["hle"], 0.0, atol=0)
    p = 0.23
    np.testing.assert_allclose(
        sullivan_hle(simple_table, p)["hle"], (1 - p) * simple_table["ex"], rtol=1e-12
    )


def test_sullivan_age_specific_and_open_interval():
    table = life_table([50, 100, 40], [100, 100, 80], open_age=2)  # hand table above
    # L = (0.8, 0.4, 0.4), l = (1, 0.6, 0.2); prevalence (0, 0.5, 0.25, 0.9): age 3 ignored,
    # open interval 2+ uses the prevalence at age 2.
    # HLE(2) = 0.4*0.75/0.2 = 1.5; HLE(1) = (0.2 + 0.3)/0.6 = 5/6; HLE(0) = 0.8 + 0.5 = 1.3
    res = sullivan_hle(table, [0.0, 0.5, 0.25, 0.9])
    np.testing.assert_allclose(res["hle"], [1.3, 5.0 / 6.0, 1.5])
    series = pd.Series([0.25, 0.5, 0.0], index=[2, 1, 0])
    np.testing.assert_allclose(sullivan_hle(table, series)["hle"], [1.3, 5.0 / 6.0, 1.5])
    with pytest.raises(ValueError, match="needs entries"):
        sullivan_hle(table, [0.0, 0.5])
    with pytest.raises(ValueError, match="must lie in"):
        sullivan_hle(table, 1.5)
