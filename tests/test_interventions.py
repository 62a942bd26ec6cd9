"""Interventions, allocation and budgets, common random numbers, counterfactuals, scenario
and comparison validation, and ``run.py compare`` end to end.

Small populations only (at most 20,000 agents and 8 years a run): the model is
deterministic for a seed, and the directions tested are large against the chance noise at
that size (several seeds were checked when the thresholds were chosen).
"""

from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simulation.comparison import load_comparison
from simulation.config import ConfigError, Scenario, load_scenario, parse_scenario
from simulation.interventions import (
    PATHWAYS,
    TYPES,
    Allocation,
    eligible_mask,
    need_tables,
    person_need,
    plan_year,
    rank_limit,
    solve_scale,
)
from simulation.model import HealthInequalityModel
from simulation.population import STATE_SCHEMA, synthesise

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = REPO_ROOT / "scenarios"
BASELINE_TEXT = (SCENARIOS / "baseline.toml").read_text("utf-8")
AGENTS, YEARS, SEED = 20_000, 8, 1
START = 2022
LTI_KEYS = ["year", "sex", "by", "group", "age"]
#: Larger than the cost of full doses for everyone eligible, for every type.
HUGE_BUDGET = 1e10
TYPE_NAMES = [t.name for t in TYPES]


# ------------------------------------------------------------------------------ helpers


def make_scenario(interventions=(), equalise=None, agents=AGENTS, years=YEARS,
                  seed=SEED) -> Scenario:
    """The shipped baseline plus interventions and a counterfactual, validated."""
    raw = tomllib.loads(BASELINE_TEXT)
    if interventions:
        raw["interventions"] = [copy.deepcopy(dict(iv)) for iv in interventions]
    if equalise is not None:
        raw["counterfactual"] = {"equalise": list(equalise)}
    return parse_scenario(raw, "<test>").with_options(agents=agents, years=years, seed=seed)


def run_model(scenario: Scenario, replicate: int = 0) -> HealthInequalityModel:
    model = HealthInequalityModel(scenario, replicate=replicate)
    model.run_years()
    return model


def living(model: HealthInequalityModel) -> dict[str, np.ndarray]:
    """The arrays of the living people of a model."""
    a = model.population.arrays()
    keep = a["alive"] == 1
    return {k: v[keep] for k, v in a.items()}


def rows_by_pid(model: HealthInequalityModel, pids: np.ndarray) -> dict[str, np.ndarray]:
    """State arrays of the living among ``pids`` (sorted by pid)."""
    a = living(model)
    order = np.argsort(a["pid"], kind="stable")
    a = {k: v[order] for k, v in a.items()}
    keep = np.isin(a["pid"], pids)
    return {k: v[keep] for k, v in a.items()}


def pooled_life_expectancy(models: list[HealthInequalityModel]) -> pd.DataFrame:
    """Life expectancy from the summed life-table inputs of several replicates."""
    lti = pd.concat([m.life_table_input() for m in models])
    pooled = lti.groupby(LTI_KEYS, as_index=False)[["deaths", "person_years", "disabled"]].sum()
    return models[0].life_expectancy(life_table_input=pooled)


def quintile_gap_e0(le: pd.DataFrame) -> dict[str, float]:
    """e0 of the richest minus the poorest income quintile, by sex."""
    q = le[(le["by"] == "income_quintile") & (le["age"] == 0)]
    wide = q.pivot_table(index="sex", columns="group", values="e")
    return (wide["5"] - wide["1"]).to_dict()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, cwd: Path = REPO_ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("run.py"), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def baseline() -> HealthInequalityModel:
    """The baseline: 20,000 agents, 8 years, seed 1, replicate 0."""
    return run_model(make_scenario())


# ------------------------------------------------------------------ 1. solve_scale

#: Needs in [0, 1]: exact zeros, a few repeated values (ties at the breakpoints) and any
#: other float not too close to zero.
NEEDS = hnp.arrays(
    np.float64, st.integers(1, 300),
    elements=st.one_of(st.just(0.0), st.sampled_from([0.2, 0.5, 1.0]),
                       st.floats(1e-6, 1.0, allow_nan=False, allow_infinity=False)))
COSTS = st.floats(0.01, 1e4, allow_nan=False, allow_infinity=False)
WEIGHTS = st.floats(0.01, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(need=NEEDS, unit_cost=COSTS, weight=WEIGHTS,
       share=st.floats(1e-4, 0.9999, allow_nan=False))
def test_solve_scale_spends_a_budget_below_full_doses_exactly(need, unit_cost, weight, share):
    n_positive = int(np.count_nonzero(need > 0))
    assume(n_positive > 0)
    budget = share * weight * unit_cost * n_positive  # below the cost of full doses
    k = solve_scale(need, unit_cost, weight, budget)
    assert k > 0 and np.isfinite(k)
    dose = np.minimum(1.0, k * need)
    spent = weight * unit_cost * dose.sum()
    assert spent == pytest.approx(budget, rel=1e-6)
    assert np.all(dose[need == 0] == 0)
    assert np.all((dose >= 0) & (dose <= 1))


@settings(max_examples=200, deadline=None)
@given(need=NEEDS, unit_cost=COSTS, weight=WEIGHTS, factor=st.floats(1.0, 1e3))
def test_solve_scale_above_full_doses_gives_everyone_in_need_a_full_dose(
        need, unit_cost, weight, factor):
    positive = need > 0
    assume(positive.any())
    budget = factor * weight * unit_cost * int(positive.sum())
    k = solve_scale(need, unit_cost, weight, budget)
    dose = np.minimum(1.0, k * need)
    # a full dose up to rounding: k = 1 / (smallest need) and (1 / x) * x may be 1 - 1 ulp
    np.testing.assert_allclose(dose[positive], 1.0, rtol=1e-12)
    assert np.all(dose[~positive] == 0)
    # the smallest such k: the person with the smallest need is just saturated
    assert k == pytest.approx(1.0 / need[positive].min(), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(need=NEEDS, unit_cost=COSTS, weight=WEIGHTS)
def test_solve_scale_zero_budget_is_zero(need, unit_cost, weight):
    assert solve_scale(need, unit_cost, weight, 0.0) == 0.0


def test_solve_scale_degenerate_inputs():
    assert solve_scale(np.zeros(0), 10.0, 1.0, 100.0) == 0.0
    assert solve_scale(np.zeros(5), 10.0, 1.0, 100.0) == 0.0  # nobody in need
    assert solve_scale(np.ones(5), 0.0, 1.0, 100.0) == 0.0  # free: nothing to solve
    # hand-worked case: needs 0.25, 0.5, 1 at 10 euros, weight 2: k = 1 saturates one
    # person (20) and gives 0.25 + 0.5 to the others (15): 35 euros
    assert solve_scale(np.array([0.25, 0.5, 1.0]), 10.0, 2.0, 35.0) == pytest.approx(1.0)
    # 20 euros buys one full dose: k * (0.25 + 0.5 + 1) = 1
    assert solve_scale(np.array([1.0, 0.5, 0.25]), 10.0, 2.0, 20.0) == pytest.approx(1 / 1.75)


# ------------------------------------------------------------------ allocation rules


def test_need_tables_follow_the_allocation_rules(baseline):
    a = living(baseline)
    codes = baseline.region.codes
    rank = a["income_rank"]

    def need(**kw) -> np.ndarray:
        return person_need(need_tables(Allocation(**kw), codes), a)

    assert np.all(need(mode="universal") == 1.0)
    n = need(mode="targeted", by="income_rank", max_rank=0.2)
    assert np.array_equal(n > 0, rank < 0.2)
    n = need(mode="targeted", by="pcs", groups=("ouvriers", "employes"))
    assert np.array_equal(n > 0, np.isin(a["pcs"], [4, 5]))  # PCS indices of the two
    n = need(mode="targeted", by="department", groups=("48", "09"))
    assert np.array_equal(n > 0, np.isin(a["department"], [codes.index("48"),
                                                           codes.index("09")]))
    n = need(mode="targeted", by="priority_zone")
    assert np.array_equal(n > 0, (a["care"] & 4) > 0)
    n = need(mode="targeted", by="education", groups=("sans_diplome",))
    assert np.array_equal(n > 0, a["education"] == 0)
    steps = (1.0, 0.7, 0.45, 0.25, 0.1)
    n = need(mode="proportionate", gradient="stepped", steps=steps)
    quintile = np.minimum((rank * 5).astype(int), 4)
    np.testing.assert_allclose(n, np.asarray(steps)[quintile])
    n = need(mode="proportionate", gradient="linear", min_need=0.2)
    assert n.min() >= 0.2 and n.max() <= 1.0
    order = np.argsort(rank)
    assert np.all(np.diff(n[order]) <= 0)  # need falls as income rises
    assert n[rank < 0.05].min() > 0.95 and n[rank >= 0.95].max() < 0.25


def test_plan_year_caps_at_full_doses_and_costs_only_the_eligible(baseline):
    """A budget above the cost of full doses buys full doses for the eligible only."""
    a = living(baseline)
    pop = baseline.population
    sc = make_scenario([
        {"type": "gp_priority_zones", "allocation": {"budget_eur": HUGE_BUDGET}},
        {"type": "early_childhood", "allocation": {"intensity": 0.5}},
    ])
    plan = plan_year(sc.interventions, baseline.year, a, sc.parameters, pop.weight,
                     baseline.region.codes)
    in_zone = int(((a["care"] & 4) > 0).sum())
    children = int((a["age"] <= 6).sum())
    assert in_zone > 0 and children > 0
    assert plan.cost_eur["gp_priority_zones"] == pytest.approx(pop.weight * 30.0 * in_zone)
    assert plan.reached["gp_priority_zones"] == pytest.approx(pop.weight * in_zone)
    # no budget: dose = intensity * need = 0.5 for every child
    assert plan.cost_eur["early_childhood"] == pytest.approx(pop.weight * 500.0 * 0.5
                                                             * children)
    assert plan.reached["early_childhood"] == pytest.approx(pop.weight * children)


# ------------------------------------------------------------------ 2. budgets

BUDGET_CASES = [
    pytest.param("out_of_pocket", {"mode": "universal"}, 20e6, id="universal"),
    pytest.param("smoking_cessation",
                 {"mode": "targeted", "by": "income_rank", "max_rank": 0.2}, 5e6,
                 id="targeted-income_rank"),
    pytest.param("early_childhood",
                 {"mode": "targeted", "by": "pcs", "groups": ["ouvriers", "employes"]}, 5e6,
                 id="targeted-pcs"),
    pytest.param("healthier_housing",
                 {"mode": "targeted", "by": "department", "groups": ["48", "09"]}, 2e6,
                 id="targeted-department"),
    pytest.param("gp_priority_zones", {"mode": "targeted", "by": "priority_zone"}, 3e6,
                 id="targeted-priority_zone"),
    pytest.param("auto_enrolment_css",
                 {"mode": "targeted", "by": "education", "groups": ["sans_diplome", "brevet"]},
                 1e6, id="targeted-education"),
    pytest.param("outreach_css", {"mode": "proportionate", "gradient": "linear"}, 2e6,
                 id="proportionate-linear"),
    pytest.param("youth_mental_health",
                 {"mode": "proportionate", "gradient": "stepped",
                  "steps": [1.0, 0.7, 0.45, 0.25, 0.1]}, 5e6, id="proportionate-stepped"),
    pytest.param("health_literacy",
                 {"mode": "proportionate", "gradient": "linear", "min_need": 0.5}, 10e6,
                 id="proportionate-linear-literacy"),
]


@pytest.mark.parametrize(("kind", "allocation", "budget"), BUDGET_CASES)
def test_yearly_cost_equals_the_budget_while_active(kind, allocation, budget):
    start, duration = START + 2, 3
    sc = make_scenario([{"type": kind, "start_year": start, "duration_years": duration,
                         "allocation": {**allocation, "budget_eur": budget}}],
                       agents=10_000, years=7)
    yearly = run_model(sc).yearly_aggregates().set_index("year")
    assert list(yearly.index) == list(range(START, START + 7))
    active = (yearly.index >= start) & (yearly.index < start + duration)
    assert active.sum() == duration
    for year, row in yearly[active].iterrows():
        assert row["intervention_cost_eur"] == pytest.approx(budget, rel=0.01), year
        assert row["people_reached"] > 0, year
        # a full-scale head count, never more than the region's population
        assert row["people_reached"] <= row["population"] * 1.01, year
    assert (yearly.loc[~active, "intervention_cost_eur"] == 0).all()
    assert (yearly.loc[~active, "people_reached"] == 0).all()


# ------------------------------------------------------------------ 3. common random numbers


@pytest.mark.parametrize("allocation", [{"intensity": 0.0}, {"budget_eur": 0.0}],
                         ids=["intensity-0", "budget-0"])
def test_a_dose_of_zero_reproduces_the_baseline(baseline, allocation):
    """Every type at once (one of each), with a zero dose: the baseline, draw for draw."""
    sc = make_scenario([{"type": name, "allocation": dict(allocation)} for name in TYPE_NAMES])
    assert len(sc.interventions) == len(TYPES)
    model = run_model(sc)
    pd.testing.assert_frame_equal(model.life_table_input(), baseline.life_table_input())
    got, want = model.yearly_aggregates(), baseline.yearly_aggregates()
    assert (got["intervention_cost_eur"] == 0).all() and (got["people_reached"] == 0).all()
    pd.testing.assert_frame_equal(got, want)
    a, b = model.population.arrays(), baseline.population.arrays()
    for name in STATE_SCHEMA:
        assert np.array_equal(a[name], b[name]), name


def test_interventions_do_not_act_during_the_burn_in():
    """Every type at full intensity, said to start in the burn-in's first year: at the
    start year the population is the baseline's, draw for draw (each model burns in on its
    own here, not from the cache)."""
    from simulation import model as model_module

    first = START - 10
    sc = make_scenario([{"type": name, "start_year": first, "allocation": {"intensity": 1.0}}
                        for name in TYPE_NAMES], agents=3000)
    model_module.clear_burn_in_cache()
    base = HealthInequalityModel(make_scenario(agents=3000))
    model_module.clear_burn_in_cache()
    model = HealthInequalityModel(sc)
    assert model.burn_in_years == 10 and model.year == base.year == START
    assert all(iv.active(first) for iv in sc.interventions)
    a, b = model.population.arrays(), base.population.arrays()
    for name in STATE_SCHEMA:
        assert np.array_equal(a[name], b[name]), name
    model.step()
    base.step()
    assert model.costs[0] and sum(model.costs[0].values()) > 0


def test_a_shared_burn_in_gives_the_same_results():
    """The scenarios of a comparison start from a copy of the baseline's burn-in (same
    replicate): their results are those of a burn-in of their own, bit for bit."""
    from simulation import model as model_module

    sc = make_scenario([{"type": "smoking_cessation", "allocation": {"intensity": 1.0}}],
                       agents=3000, years=3)
    model_module.clear_burn_in_cache()
    HealthInequalityModel(make_scenario(agents=3000, years=3))
    assert len(model_module._BURN_IN_CACHE) == 1
    shared = run_model(sc)
    assert model_module.burn_in_key(sc, 0) in model_module._BURN_IN_CACHE  # it was reused
    model_module.clear_burn_in_cache()
    own = run_model(sc)
    pd.testing.assert_frame_equal(shared.life_table_input(), own.life_table_input())
    pd.testing.assert_frame_equal(shared.yearly_aggregates(), own.yearly_aggregates())
    assert shared.costs == own.costs
    a, b = shared.population.arrays(), own.population.arrays()
    for name in STATE_SCHEMA:
        assert np.array_equal(a[name], b[name]), name
    # another replicate, seed or parameter burns in anew
    key = model_module.burn_in_key
    assert len({key(sc, 0), key(sc, 1), key(sc.with_options(seed=SEED + 1), 0),
                key(make_scenario(agents=3001), 0)}) == 4
    assert key(sc, 0) == key(make_scenario(agents=3000, years=9), 0)


def test_people_never_reached_live_the_same_lives(baseline):
    """Healthier housing for department 48 only: everyone else (of the synthetic
    population, ids 0..N-1) ends in exactly the baseline's state."""
    sc = make_scenario([{"type": "healthier_housing", "allocation": {
        "mode": "targeted", "by": "department", "groups": ["48"], "budget_eur": HUGE_BUDGET}}])
    model = run_model(sc)
    assert model.yearly_aggregates()["intervention_cost_eur"].gt(0).all()
    start = synthesise(AGENTS, sc.parameters, baseline.seed_value, baseline.region,
                       START - baseline.burn_in_years, cohort_shift=baseline.burn_in_years)
    department = start.department[:AGENTS]
    lozere = baseline.region.codes.index("48")
    others = np.flatnonzero(department != lozere).astype(np.uint64)
    mine = np.flatnonzero(department == lozere).astype(np.uint64)
    assert others.size > 0 and mine.size > 0
    got, want = rows_by_pid(model, others), rows_by_pid(baseline, others)
    assert np.array_equal(got["pid"], want["pid"])  # the same people are alive
    # 18 years on, burn-in included, with deaths and emigration (1.7% a year)
    assert got["pid"].size > 0.5 * others.size
    for name in STATE_SCHEMA:
        assert np.array_equal(got[name], want[name]), name
    # ... while in department 48 the intervention did something
    got48, want48 = rows_by_pid(model, mine), rows_by_pid(baseline, mine)
    assert got48["nuisance"].sum() < want48["nuisance"].sum()


# ------------------------------------------------------------------ 4. directions


def _smokers_18_75(model) -> float:
    a = living(model)
    adults = (a["age"] >= 18) & (a["age"] <= 75)
    return float((a["smoking"][adults] == 1).mean())


def _css_free_non_take_up(model) -> float:
    a = living(model)
    eligible = a["income_rank"] < model.params["care.css_free_rank_max"]
    return float((a["insurance"][eligible] != 1).mean())  # 1: free CSS


def _gp_in_priority_zones(model) -> float:
    a = living(model)
    zone = (a["care"] & 4) > 0
    return float(((a["care"][zone] & 1) > 0).mean())


def _forgone_care_16_plus(model) -> float:
    a = living(model)
    return float(((a["care"][a["age"] >= 16] & 2) > 0).mean())


def _obesity_3_6(model) -> float:
    a = living(model)
    kids = (a["age"] >= 3) & (a["age"] <= 6)
    return float(a["obese"][kids].mean())


@pytest.mark.parametrize(("kind", "measure", "check"), [
    ("smoking_cessation", _smokers_18_75, lambda new, old: new < old - 0.02),
    ("outreach_css", _css_free_non_take_up, lambda new, old: new < 0.92 * old),  # effect 0.13
    ("gp_priority_zones", _gp_in_priority_zones, lambda new, old: new > old + 0.05),
    ("out_of_pocket", _forgone_care_16_plus, lambda new, old: new < 0.8 * old),
    ("early_childhood", _obesity_3_6, lambda new, old: new < old),
])
def test_interventions_move_their_pathway_the_right_way(baseline, kind, measure, check):
    model = run_model(make_scenario([{"type": kind,
                                      "allocation": {"budget_eur": HUGE_BUDGET}}]))
    new, old = measure(model), measure(baseline)
    assert check(new, old), (kind, new, old)


def _smoking_by_quintile(model) -> np.ndarray:
    a = living(model)
    adults = (a["age"] >= 18) & (a["age"] <= 75)
    q = np.minimum((a["income_rank"] * 5).astype(int), 4)
    return np.array([(a["smoking"][adults & (q == k)] == 1).mean() for k in range(5)])


def test_equalising_smoking_removes_its_income_gradient_at_the_start():
    base = _smoking_by_quintile(HealthInequalityModel(make_scenario()))
    equal = _smoking_by_quintile(HealthInequalityModel(make_scenario(equalise=["smoking"])))
    assert base[0] - base[4] > 0.08  # the gradient being removed
    assert abs(equal[0] - equal[4]) < 0.03
    assert equal.max() - equal.min() < 0.04


def test_equalising_every_pathway_closes_the_e0_quintile_gap(baseline):
    """Pooled over 4 replicates of 20,000 agents x 8 years (one replicate's quintile e0
    moves by about +-2 years by chance)."""
    replicates = range(4)
    base = [baseline] + [run_model(make_scenario(), r) for r in replicates[1:]]
    equal_sc = make_scenario(equalise=list(PATHWAYS))
    equal = [run_model(equal_sc, r) for r in replicates]
    base_gap = quintile_gap_e0(pooled_life_expectancy(base))
    equal_gap = quintile_gap_e0(pooled_life_expectancy(equal))
    for sex in ("M", "F"):
        assert base_gap[sex] > 5, base_gap
        assert abs(equal_gap[sex]) < 3, equal_gap
    assert abs(np.mean(list(equal_gap.values()))) <= 2, equal_gap


# ------------------------------------------------------------------ 5. validation

INTERVENTION_ERRORS = [
    ('[[interventions]]\ntype = "magic"\n', "interventions[0].type"),
    ('[[interventions]]\ntype = "outreach_css"\nallocation = { foo = 1 }\n',
     "interventions[0].allocation.foo"),
    ('[[interventions]]\ntype = "outreach_css"\nallocation = { budget_eur = -5 }\n',
     "interventions[0].allocation.budget_eur"),
    ('[[interventions]]\ntype = "outreach_css"\nallocation = { intensity = 1.5 }\n',
     "interventions[0].allocation.intensity"),
    ('[[interventions]]\ntype = "outreach_css"\nallocation = { mode = "targeted" }\n',
     "interventions[0].allocation.by"),
    ('[[interventions]]\ntype = "outreach_css"\n'
     'allocation = { mode = "targeted", by = "income_rank" }\n',
     "interventions[0].allocation.max_rank"),
    ('[[interventions]]\ntype = "outreach_css"\n'
     'allocation = { mode = "targeted", by = "pcs", groups = ["ouvriers", "pirates"] }\n',
     "interventions[0].allocation.groups"),
    ('[[interventions]]\ntype = "outreach_css"\n'
     'allocation = { mode = "proportionate", gradient = "stepped", steps = [1, 0.5] }\n',
     "interventions[0].allocation.steps"),
    ('[[interventions]]\ntype = "outreach_css"\n'
     'allocation = { mode = "proportionate", gradient = "stepped" }\n',
     "interventions[0].allocation.steps"),
    ('[[interventions]]\ntype = "outreach_css"\n'
     'allocation = { mode = "universal", min_need = 0.3 }\n',
     "interventions[0].allocation.min_need"),
    ('[[interventions]]\ntype = "outreach_css"\n[[interventions]]\ntype = "outreach_css"\n'
     'name = "again"\n', "interventions[1].type"),
    ('[[interventions]]\ntype = "out_of_pocket"\neffect = 1.5\n', "interventions[0].effect"),
    ('[counterfactual]\nequalise = ["nope"]\n', "counterfactual.equalise"),
]


@pytest.mark.parametrize(("snippet", "key"), INTERVENTION_ERRORS,
                         ids=[k + f"-{i}" for i, (_, k) in enumerate(INTERVENTION_ERRORS)])
def test_scenario_errors_name_the_file_and_the_key(tmp_path, snippet, key):
    path = write(tmp_path / "bad.toml", BASELINE_TEXT + "\n" + snippet)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    err = info.value
    assert err.source == str(path)
    assert err.key == key
    message = str(err)
    assert message.startswith(f"{path}: {key}: expected ")
    assert "\n" not in message


@pytest.mark.parametrize("value", ["3", '["outreach_css"]', '{ type = "outreach_css" }'])
def test_interventions_must_be_an_array_of_tables(tmp_path, value):
    path = write(tmp_path / "bad.toml", f"interventions = {value}\n" + BASELINE_TEXT)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert (info.value.source, info.value.key) == (str(path), "interventions")
    assert str(info.value).startswith(f"{path}: interventions: expected ")


def test_valid_interventions_load(tmp_path):
    """Positive controls of the errors above, and the README's example."""
    text = BASELINE_TEXT + """
[[interventions]]
type = "smoking_cessation"
effect = 2.0                  # above 1 is allowed for cessation (a relative increase)
start_year = 2024
duration_years = 5
allocation = { mode = "targeted", by = "income_rank", max_rank = 0.2, budget_eur = 1e6 }
[[interventions]]
type = "outreach_css"
allocation = { mode = "proportionate", gradient = "stepped", steps = [1, 0.7, 0.45, 0.25, 0] }
[[interventions]]
type = "healthier_housing"
allocation = { mode = "targeted", by = "department", groups = ["48", "09"], intensity = 0.5 }
[counterfactual]
equalise = ["smoking", "care"]
"""
    sc = load_scenario(write(tmp_path / "ok.toml", text))
    assert [iv.type for iv in sc.interventions] == ["smoking_cessation", "outreach_css",
                                                    "healthier_housing"]
    cess = sc.interventions[0]
    assert (cess.effect, cess.start_year, cess.duration_years) == (2.0, 2024, 5)
    assert cess.effect_source == "scenario file"
    assert cess.allocation == Allocation(mode="targeted", by="income_rank", max_rank=0.2,
                                         budget_eur=1e6)
    assert cess.active(2024) and cess.active(2028) and not cess.active(2029)
    assert not cess.active(2023)
    assert sc.interventions[1].allocation.steps == (1.0, 0.7, 0.45, 0.25, 0.0)
    assert sc.interventions[2].allocation.groups == ("48", "09")
    assert sc.interventions[2].unit_cost_eur == 2000.0  # the type's default
    assert sc.equalise == ("care", "smoking")
    # the canonical form keeps interventions and counterfactual (stored runs rebuild them)
    again = Scenario.from_canonical(sc.canonical)
    assert again.hash == sc.hash
    assert again.interventions == sc.interventions and again.equalise == sc.equalise
    assert sc.hash != load_scenario(SCENARIOS / "baseline.toml").hash

    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    block = readme.split("### Scenario files", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    sc = load_scenario(write(tmp_path / "readme.toml", block))
    assert sc.interventions[0].type == "outreach_css"
    assert sc.interventions[0].allocation.budget_eur == 2e6
    assert sc.equalise == ("smoking",)


BASE_COMPARISON = """
[comparison]
name = "test"
baseline = "baseline.toml"
"""
SCENARIO_A = '[[scenarios]]\nname = "A"\n'


def _comparison_errors():
    budget = ('[[scenarios]]\nname = "A"\n[[scenarios.interventions]]\ntype = "outreach_css"\n'
              'allocation = { budget_eur = -1 }\n')
    return [
        pytest.param(BASE_COMPARISON.replace("baseline.toml", "missing.toml") + SCENARIO_A,
                     "comparison.baseline", id="missing-baseline"),
        pytest.param(BASE_COMPARISON, "scenarios", id="no-scenarios"),
        pytest.param("scenarios = []\n" + BASE_COMPARISON, "scenarios", id="empty-scenarios"),
        pytest.param(BASE_COMPARISON + SCENARIO_A + SCENARIO_A, "scenarios[1].name",
                     id="duplicate-name"),
        pytest.param(BASE_COMPARISON + '[[scenarios]]\nname = "Situation actuelle"\n',
                     "scenarios[0].name", id="name-of-the-baseline"),
        pytest.param(BASE_COMPARISON + budget, "scenarios[0].interventions[0].allocation."
                     "budget_eur", id="intervention-error"),
        pytest.param(BASE_COMPARISON + '[[scenarios]]\nname = "A"\n'
                     '[[scenarios.interventions]]\ntype = "magic"\n',
                     "scenarios[0].interventions[0].type", id="intervention-type"),
        pytest.param(BASE_COMPARISON + '[[scenarios]]\nname = "A"\n'
                     'counterfactual = { equalise = ["nope"] }\n',
                     "scenarios[0].counterfactual.equalise", id="counterfactual"),
        pytest.param(BASE_COMPARISON + '[[scenarios]]\nname = "A"\ncolour = "red"\n',
                     "scenarios[0].colour", id="unknown-scenario-key"),
        pytest.param(BASE_COMPARISON + "[run]\nfoo = 1\n" + SCENARIO_A, "run.foo",
                     id="unknown-run-key"),
        pytest.param(BASE_COMPARISON + "[run]\nagents = 0\n" + SCENARIO_A, "run.agents",
                     id="bad-run-value"),
    ]


@pytest.mark.parametrize(("text", "key"), _comparison_errors())
def test_comparison_errors_name_the_file_and_the_key(tmp_path, text, key):
    write(tmp_path / "baseline.toml", BASELINE_TEXT)
    path = write(tmp_path / "compare.toml", text)
    with pytest.raises(ConfigError) as info:
        load_comparison(path)
    err = info.value
    assert err.source == str(path)
    assert err.key == key
    assert str(err).startswith(f"{path}: {key}: expected ")
    assert "\n" not in str(err)


def test_a_valid_comparison_loads(tmp_path):
    write(tmp_path / "baseline.toml", BASELINE_TEXT)
    text = BASE_COMPARISON + """
[run]
agents = 5000
years = 3
replicates = 2
seed = 4
[[scenarios]]
name = "Outreach"
[[scenarios.interventions]]
type = "outreach_css"
allocation = { mode = "universal", budget_eur = 1e6 }
[[scenarios]]
name = "No smoking gradient"
counterfactual = { equalise = ["smoking"] }
"""
    spec = load_comparison(write(tmp_path / "compare.toml", text))
    assert [s.name for s in spec.scenarios] == ["Outreach", "No smoking gradient"]
    for sc in spec.all:  # the [run] options reach every scenario
        assert (sc.agents, sc.years, sc.replicates, sc.seed) == (5000, 3, 2, 4)
    assert spec.baseline.interventions == () and spec.baseline.equalise == ()
    assert spec.scenarios[0].interventions[0].allocation.budget_eur == 1e6
    assert spec.scenarios[1].equalise == ("smoking",)
    assert spec.scenarios[0].parameters == spec.baseline.parameters


def test_validate_accepts_every_shipped_file():
    files = sorted(str(p.relative_to(REPO_ROOT)) for p in SCENARIOS.glob("*.toml"))
    assert "scenarios/default.toml" in files
    proc = cli("validate", *files)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(files)
    for f, line in zip(files, lines, strict=True):
        assert line.startswith(f"{f}: ok"), line


@pytest.mark.parametrize("command", ["validate", "compare"])
def test_a_bad_comparison_file_is_one_line_and_exit_2(tmp_path, command):
    write(tmp_path / "baseline.toml", BASELINE_TEXT)
    path = write(tmp_path / "compare.toml", BASE_COMPARISON + SCENARIO_A + SCENARIO_A)
    args = [command, str(path)]
    if command == "compare":
        args += ["--db", f"sqlite:///{tmp_path / 'c.db'}"]
    line = assert_one_line_error(cli(*args))
    assert str(path) in line and "scenarios[1].name" in line


# ------------------------------------------------------------------ 6. run.py compare

COMPARE_ARGS = ["--agents", "3000", "--years", "4", "--replicates", "2"]
RECORD_KEYS = {"scenario", "metric", "value", "lo", "hi", "diff", "diff_lo", "diff_hi"}
SUMMARY_KEYS = {"cost_eur_per_year", "deaths_averted", "life_years_gained", "qalys_gained",
                "cost_per_life_year_eur", "gap_reduction_per_meur_per_year_M"}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """``run.py compare scenarios/default.toml`` twice with --json, then once as text."""
    db = f"sqlite:///{tmp_path_factory.mktemp('compare') / 'c.db'}"

    def compare_json() -> str:
        proc = cli("compare", "scenarios/default.toml", *COMPARE_ARGS, "--db", db, "--json")
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    runs = [compare_json(), compare_json()]
    if json.loads(runs[0])["run_ids"] != json.loads(runs[1])["run_ids"]:
        # stored runs are keyed by a hash of the package's source: another developer saving
        # a file of simulation/ between the two commands makes the second one recompute;
        # a third command must then reuse the second's runs
        runs = [runs[1], compare_json()]
    text = cli("compare", "scenarios/default.toml", *COMPARE_ARGS, "--db", db, "--no-progress")
    assert text.returncode == 0, text.stderr
    return {"db": db, "stdout": runs, "text": text.stdout}


def test_compare_json_has_the_documented_shape(compared):
    assert len(compared["stdout"][0].strip().splitlines()) == 1  # one JSON object
    out = json.loads(compared["stdout"][0])
    spec = load_comparison(SCENARIOS / "default.toml")
    for key in ("id", "comparison", "baseline", "scenarios", "replicates", "records",
                "summary", "run_ids"):
        assert key in out, key
    assert out["comparison"] == spec.name
    assert out["baseline"] == spec.baseline.name
    assert out["scenarios"] == [s.name for s in spec.scenarios]
    assert out["replicates"] == 2
    assert set(out["run_ids"]) == {s.name for s in spec.all}
    assert all(len(ids) == 2 for ids in out["run_ids"].values())
    assert out["records"]
    for rec in out["records"]:
        assert RECORD_KEYS <= set(rec), rec
    assert {r["scenario"] for r in out["records"]} == {s.name for s in spec.all}
    assert [row["scenario"] for row in out["summary"]] == out["scenarios"]
    for row in out["summary"]:
        assert SUMMARY_KEYS <= set(row), row
        assert row["cost_eur_per_year"] == pytest.approx(15e6, rel=0.01)


def test_compare_baseline_differences_are_exactly_zero(compared):
    out = json.loads(compared["stdout"][0])
    base = [r for r in out["records"] if r["scenario"] == out["baseline"]]
    assert base
    defined = 0
    for rec in base:
        for key in ("diff", "diff_lo", "diff_hi"):
            assert rec[key] is None or rec[key] == 0, rec
        defined += rec["diff"] is not None
    # tiny runs leave most vingtile tables undefined (too few deaths): the totals and the
    # whole-population records must be defined
    assert defined >= 10
    assert all(r["diff"] == 0 for r in base if r["metric"] in ("deaths", "life_years"))
    cost = [r for r in out["records"] if r["metric"] == "cost_eur_per_year"]
    for rec in cost:
        want = 0.0 if rec["scenario"] == out["baseline"] else 15e6
        assert rec["value"] == pytest.approx(want, rel=0.01, abs=1e-6)
        assert rec["diff"] == pytest.approx(want, rel=0.01, abs=1e-6)


def test_compare_again_reuses_the_stored_runs(compared):
    first, second = (json.loads(s) for s in compared["stdout"])
    assert second["run_ids"] == first["run_ids"]
    assert second["records"] == first["records"]
    assert second["summary"] == first["summary"]


def test_export_comparison_results_writes_the_records(compared, tmp_path):
    out = json.loads(compared["stdout"][0])
    path = tmp_path / "results.csv"
    proc = cli("export", "comparison_results", "--comparison", str(out["id"]),
               "--db", compared["db"], "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    records = out["records"]
    assert len(rows) == len(records)
    for row, rec in zip(rows, records, strict=True):
        assert int(row["comparison_id"]) == out["id"]
        for key in ("scenario", "metric", "sex", "by", "group"):
            assert row[key] == ("" if rec.get(key) is None else str(rec[key])), (key, rec)
        for key in ("age", "value", "lo", "hi", "diff", "diff_lo", "diff_hi"):
            if rec.get(key) is None:
                assert row[key] == "", (key, rec)
            else:
                assert float(row[key]) == pytest.approx(rec[key], rel=1e-9, abs=1e-9)


def test_compare_text_output(compared):
    text = compared["text"]
    assert "Gap in life expectancy" in text
    spec = load_comparison(SCENARIOS / "default.toml")
    for sc in spec.all:
        assert sc.name in text, sc.name
    assert "Traceback" not in text


# ------------------------------------------------------------------ former bugs


def test_targeting_by_income_rank_honours_max_rank(baseline):
    a = living(baseline)
    alloc = Allocation(mode="targeted", by="income_rank", max_rank=0.124)
    need = person_need(need_tables(alloc, baseline.region.codes), a, rank_limit(alloc))
    assert np.array_equal(need > 0, a["income_rank"] < 0.124)


def test_smoking_cessation_spends_only_on_people_it_can_help(baseline):
    sc = make_scenario([{"type": "smoking_cessation",
                         "allocation": {"budget_eur": HUGE_BUDGET}}], years=1)
    model = HealthInequalityModel(sc)
    a = living(model)
    # paid for (eligible, and a universal dose is positive), and too young to quit now
    young = a["pid"][eligible_mask("smoking_cessation", a, sc.parameters) & (a["age"] <= 24)]
    model.run_years()
    if young.size:
        assert (rows_by_pid(model, young)["smoking"] == 2).any()  # some should quit


def test_health_literacy_leaves_the_ineligible_unchanged():
    base_sc = make_scenario(years=1)
    sc = make_scenario([{"type": "health_literacy",
                         "allocation": {"budget_eur": HUGE_BUDGET}}], years=1)
    base, model = run_model(base_sc), run_model(sc)
    a = living(HealthInequalityModel(base_sc))
    # not paid for, and under 16 for the whole year
    children = a["pid"][~eligible_mask("health_literacy", a, sc.parameters) & (a["age"] <= 14)]
    assert children.size > 0
    got, want = rows_by_pid(model, children), rows_by_pid(base, children)
    for name in ("insurance", "smoking"):
        assert np.array_equal(got[name], want[name]), name


def test_comparison_error_for_a_scenario_description(tmp_path):
    write(tmp_path / "baseline.toml", BASELINE_TEXT)
    path = write(tmp_path / "compare.toml",
                 BASE_COMPARISON + '[[scenarios]]\nname = "A"\ndescription = 5\n')
    with pytest.raises(ConfigError) as info:
        load_comparison(path)
    assert info.value.key == "scenarios[0].description"


def test_an_error_in_the_baseline_names_the_baseline_file(tmp_path):
    write(tmp_path / "baseline.toml", BASELINE_TEXT + '\n[[interventions]]\ntype = "magic"\n')
    path = write(tmp_path / "compare.toml", BASE_COMPARISON + SCENARIO_A)
    with pytest.raises(ConfigError) as info:
        load_comparison(path)
    assert info.value.key == "interventions[0].type"
    assert info.value.source == str((tmp_path / "baseline.toml").resolve())


def test_unknown_department_code_is_an_error(tmp_path):
    path = write(tmp_path / "bad.toml", BASELINE_TEXT + '\n[[interventions]]\n'
                 'type = "healthier_housing"\nallocation = { mode = "targeted", '
                 'by = "department", groups = ["9"] }\n')
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.key == "interventions[0].allocation.groups"
