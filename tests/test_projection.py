"""Projection realism (issue 15): migration, fertility and mortality by year, the
demographic projection chosen by name, and like-with-like validation years."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulation import demography
from simulation.config import ConfigError, load_scenario
from simulation.model import HealthInequalityModel

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
P = load_scenario(BASELINE).parameters


def scenario(**kw):
    return load_scenario(BASELINE).with_options(**kw)


def test_fertility_follows_the_observed_years_then_the_projection():
    assert demography.tfr(P, 2019) == pytest.approx(1.72)
    assert demography.tfr(P, 2023) == pytest.approx(1.53)
    assert demography.tfr(P, 2024) == pytest.approx(1.46)
    assert demography.tfr(P, 2021) == pytest.approx(1.72 + (1.67 - 1.72) * 2 / 3)
    high = dict(P, **{"demography.projection": "high"})
    assert demography.tfr(high, 2027) == pytest.approx(1.46 + (1.67 - 1.46) * 3 / 6)
    assert demography.tfr(high, 2040) == pytest.approx(1.67)
    low = dict(P, **{"demography.projection": "low"})
    assert demography.tfr(low, 2040) == pytest.approx(1.35)


def test_mortality_trend_follows_ined_then_falls_at_the_2010s_pace():
    from simulation.population import baseline_qx

    ref = -np.log1p(-baseline_qx(2012, 2016))
    for year in (2012, 2016, 2020):
        h = -np.log1p(-baseline_qx(year, year))
        np.testing.assert_allclose(demography.mortality_trend(P, year)[:, :100], h / ref)
    t30, t40 = (demography.mortality_trend(P, y) for y in (2030, 2040))
    assert np.all(t40[:, 40:100] <= t30[:, 40:100] + 1e-12)
    assert (t40[:, 60:90] < t30[:, 60:90]).mean() > 0.9
    off = dict(P, **{"mortality.trend": False})
    assert np.all(demography.mortality_trend(off, 2040) == 1.0)
    slow = dict(P, **{"demography.projection": "low"})
    assert np.all(demography.mortality_trend(slow, 2040)[:, 60:90]
                  >= t40[:, 60:90] - 1e-12)


def test_migration_profiles_and_counts():
    p_out = demography.emigration_probability(P)
    shares = demography._region_shares()
    assert float((p_out * shares).sum()) == pytest.approx(P["migration.out_rate"])
    assert p_out[0, 22] > p_out[0, 50] > p_out[0, 85]
    ages = demography.immigrant_age_sex(P)
    assert ages.sum() == pytest.approx(1.0) and ages[:, 100:].sum() == 0
    pop, weight = 6.0e6, 60.0
    k = demography.immigrants(P, pop, weight, 2030)
    expected = (pop * P["migration.out_rate"] + P["migration.net_per_year"][0]) / weight
    assert abs(k - expected) <= 1
    assert demography.population_in(2012) == 5626858
    assert demography.population_in(2000) == 5626858  # nearest observed year


def test_the_population_grows_by_migration_and_keeps_its_counts():
    m = HealthInequalityModel(scenario(agents=20_000, years=4))
    m.run_years()
    y = m.yearly_aggregates()
    assert (y["immigrants"] > y["emigrants"]).all()
    net = (y["net_migration"] / 38_000).to_numpy()
    assert np.all((net > 0.6) & (net < 1.5))
    assert np.array_equal(m._alive_counts, m.census())
    # the start-year population is about Occitanie's (6.08 million in 2022, INSEE)
    assert 5.8e6 < y["population"].iloc[0] < 6.3e6


def test_migrants_are_shared_by_the_scenarios_of_a_comparison():
    from simulation.comparison import load_comparison

    spec = load_comparison(ROOT / "scenarios" / "default.toml").with_options(agents=5000,
                                                                             years=2)
    a = HealthInequalityModel(spec.baseline)
    b = HealthInequalityModel(spec.scenarios[0])
    a.run_years()
    b.run_years()
    ya, yb = a.yearly_aggregates(), b.yearly_aggregates()
    assert (ya["immigrants"] == yb["immigrants"]).all()
    big = 1 << 59
    ids_a = set(a.population.pid[: a.population.n][a.population.pid[: a.population.n] > big])
    ids_b = set(b.population.pid[: b.population.n][b.population.pid[: b.population.n] > big])
    assert len(ids_a & ids_b) > 0.9 * len(ids_a)


def test_department_net_shares_reproduce_omphale_growth():
    """Hand check: with the region's natural rate, each department's net migration over
    2018-2050 is its Omphale growth minus its natural change; shares sum to 1."""
    codes = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
    p18 = demography.department_path(codes, 2018)
    p50 = demography.department_path(codes, 2050)
    assert p18.sum() == 5_885_496 and p50.sum() == 6_626_000
    assert demography.department_path(["31"], 2034)[0] == pytest.approx(
        1_380_672 + (1_707_000 - 1_380_672) / 2)
    net = 38_000 * 32
    rate = (6_626_000 - 5_885_496 - net) / 5_885_496
    shares = demography.department_net_shares(P, codes)
    expected = np.maximum(p50 - p18 - rate * p18, 0)
    assert np.allclose(shares, expected / expected.sum())
    assert shares[codes.index("31")] > 0.3 and shares[codes.index("34")] > 0.25
    year = demography.immigrant_department_shares(P, codes, 2030)
    assert year.sum() == pytest.approx(1.0)
    w = P["migration.out_rate"] * demography.department_path(codes, 2030) + 38_000 * shares
    assert np.allclose(year, w / w.sum())


def test_departments_are_stepped_agents_and_run_model_stops_at_the_horizon():
    from simulation.model import Department

    m = HealthInequalityModel(scenario(agents=20_000, years=3))
    m.run_model()
    assert not m.running and m.year == m.scenario.start_year + 3
    assert len(m.yearly_aggregates()) == 3
    deps = m.department_aggregates()
    assert len(deps) == 3 * 13 and sorted(deps["year"].unique()) == [2022, 2023, 2024]
    # the residents of the departments add up to the region; the migrants too
    y = m.yearly_aggregates().set_index("year")
    by_year = deps.groupby("year")[["residents", "immigrants", "emigrants"]].sum()
    assert np.allclose(by_year["residents"], y["population"])
    assert np.allclose(by_year["immigrants"], y["immigrants"])
    assert np.allclose(by_year["emigrants"], y["emigrants"])
    # each department wrote its probability of having no GP into the care tables
    for d in m.agents_by_type[Department]:
        assert m.tables.p_no_gp[0, d.index] == d.p_no_gp
        assert d.p_no_gp_zone == pytest.approx(min(2 * d.p_no_gp, 0.9))
    # the immigrants go where Omphale's growth is: Haute-Garonne and Herault first
    inflow = deps.groupby("department")["immigrants"].sum()
    assert set(inflow.nlargest(2).index) == {"31", "34"}


def test_projection_is_chosen_by_name_and_checked():
    assert scenario().with_parameters({"demography.projection": "low"}).parameters[
        "demography.projection"] == "low"
    with pytest.raises(ConfigError) as err:
        scenario().with_parameters({"demography.projection": "optimistic"})
    assert "demography.projection" in str(err.value) and "central" in str(err.value)


def test_run_json_has_net_migration_and_validation_uses_the_observed_years(tmp_path):
    out = subprocess.run(
        [sys.executable, "run.py", "run", str(BASELINE), "--agents", "3000", "--years", "2",
         "--json", "--no-progress", "--db", f"sqlite:///{tmp_path / 'r.db'}"], cwd=ROOT,
        capture_output=True, text=True, check=True)
    yearly = json.loads(out.stdout)["yearly"]
    assert {"immigrants", "emigrants", "net_migration", "total_fertility_rate"} <= set(
        yearly[0])
    from simulation.cli import build_parser

    args = build_parser().parse_args(["validate-baseline"])
    assert args.start_year == 2012 and args.years == 5


def test_sep_mortality_trend_scales_the_log_relative_risks():
    """Hand check of the option: exp(pace * (year - middle of 2012-2016)) after 2014, 1
    before; the default 0 leaves the tables as built."""
    fast = dict(P, **{"mortality.sep_trend": [-0.02, 0.01]})
    assert np.allclose(demography.sep_mortality_scale(fast, 2013), 1.0)
    assert np.allclose(demography.sep_mortality_scale(fast, 2024),
                       [np.exp(-0.2), np.exp(0.1)])
    assert np.all(demography.sep_mortality_scale(P, 2040) == 1.0)

    def first_year(trend):
        sc = scenario(agents=6000, years=1).with_parameters({"mortality.sep_trend": trend})
        m = HealthInequalityModel(sc)
        m.run_years()
        pop, n = m.population, m.population.n
        adult = (pop.alive[:n] == 1) & (pop.age[:n] >= 30) & (pop.age[:n] < 70)
        rank, rr = pop.income_rank[:n][adult], pop.rr_death[:n][adult]
        return m.tables, rr[rank < 0.2].mean() / rr[rank >= 0.8].mean()

    from simulation import pathways

    base_tables, base_ratio = first_year([0.0, 0.0])
    assert np.array_equal(base_tables.rr_death_sep, pathways.sep_mortality_rr(P))
    tables, ratio = first_year([-0.1, -0.1])
    k = np.exp(-0.1 * (2022 - 2014))
    assert np.allclose(np.log(tables.rr_death_sep), k * np.log(pathways.sep_mortality_rr(P)))
    assert np.allclose(np.log(tables.rr_death_income),
                       k * np.log(pathways.residual_mortality_gradient(P)))
    # the relative risk of the poorest fifth against the richest narrows
    assert 1.0 < ratio < base_ratio


def test_mortality_is_normalised_again_at_the_start_year():
    """In every burn-in year and at the start year the death normaliser is adjusted: the
    expected deaths of the start year (risks after the year's pathways, computed here on a
    copy as the model does) equal those of INED's hazard of that year in every sex and
    5-year age band; a counterfactual takes its reference's factors."""
    from simulation import pathways
    from simulation.interventions import PATHWAYS
    from simulation.model import MIN_CHUNK

    m = HealthInequalityModel(scenario(agents=6000, years=1))
    # one factor per burn-in year and one for the start year
    assert m.tables.start_renorm.shape == (m.burn_in_years + 1, 2, m.tables.death_norm.shape[1])
    assert np.all(m.tables.start_renorm > 0)
    dry, seed, year, ng = m.population.copy(), m.seed_value, m.year, m._n_groups
    pathways.run_sep(dry, m.tables, seed, year, ng, MIN_CHUNK)
    pathways.run_exposures(dry, m.tables, seed, year, MIN_CHUNK)
    pathways.run_care(dry, m.tables, seed, year, MIN_CHUNK)
    pathways.run_disease(dry, m.tables, seed, year, ng, MIN_CHUNK)
    n = dry.n
    alive = dry.alive[:n] == 1
    sex, age = dry.sex[:n][alive], dry.age[:n][alive].astype(int)
    h = m.hazard(year)[sex, age]
    with_rr = 1 - np.exp(-h * dry.rr_death[:n][alive])
    without = 1 - np.exp(-h)
    for s in (0, 1):
        for band in range(0, 95, 5):
            sel = (sex == s) & (age // 5 == band // 5)
            if sel.sum() > 20:
                assert with_rr[sel].sum() == pytest.approx(without[sel].sum(), rel=1e-4)
    eq = HealthInequalityModel(scenario(agents=6000, years=1).with_options(
        equalise=(PATHWAYS[0],)))
    assert np.array_equal(eq.tables.start_renorm, m.tables.start_renorm)
