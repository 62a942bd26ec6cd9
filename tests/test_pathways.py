"""Life-course pathways: the kernels against hand-computed cases, invariants of a run of the
model, and directional tests of the science (what removing an exposure or a gradient does
to the income gap in life expectancy).

Kernel tests call the numba kernels directly on a few hand-made people, with the arguments
built as the ``run_*`` wrappers of :mod:`simulation.pathways` build them (default
parameters, or extreme values that make the outcome certain). Where the outcome depends on
a draw, the draw is recomputed here from the counter-based generator (:mod:`simulation.rng`)
and the decision is made by hand.
"""

from __future__ import annotations

import functools
import inspect
import math
import tomllib
import typing
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from simulation import metrics, pathways, rng
from simulation.config import load_scenario, parse_scenario, resolve_parameters
from simulation.kernels import demography as kd
from simulation.kernels import pathways as kp
from simulation.kernels.fastmath import exp_small, prob_from_hazard
from simulation.model import HealthInequalityModel
from simulation.population import CONDITIONS, N_AGES, STATE_SCHEMA, load_region
from simulation.validation import population_frame

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"

CHUNK = 16_384
SEED, YEAR = 11, 2030
P = resolve_parameters({})
REGION = load_region()
N_DEPARTMENTS = len(REGION.codes)
N_GROUPS = kd.n_groups(N_DEPARTMENTS)
TABLES = pathways.PathwayTables.build(P, REGION)
#: An arbitrary mortality normalisation, different at every sex and age, so that a wrong
#: index shows.
DEATH_NORM = 0.5 + 0.004 * np.arange(2 * N_AGES, dtype=float).reshape(2, N_AGES)
#: Excess mortality of ouvriers and of people without diploma, different by sex.
SEP_RR = pathways.sep_mortality_rr({**P, "mortality.rr_manual_occupation": [1.7, 1.3],
                                    "mortality.rr_no_diploma": [1.5, 1.2]})
IN_EDUCATION, EMPLOYED, UNEMPLOYED, RETIRED, INACTIVE = (
    kp.IN_EDUCATION, kp.EMPLOYED, kp.UNEMPLOYED, kp.RETIRED, kp.INACTIVE)


# ------------------------------------------------------------------ helpers


def people(n: int, **fields) -> dict[str, np.ndarray]:
    """``n`` living people with every attribute of :data:`STATE_SCHEMA` (employed, 40 years
    old, bac, professions intermédiaires, median income unless given)."""
    a = {name: np.zeros(n, dtype=dtype) for name, (dtype, _) in STATE_SCHEMA.items()}
    a["pid"][:] = (np.arange(n, dtype=np.uint64) + np.uint64(1)) * np.uint64(7919)
    a["alive"][:] = 1
    a["age"][:] = 40
    a["education"][:] = 3
    a["pcs"][:] = 3
    a["parent_pcs"][:] = 3
    a["employment"][:] = EMPLOYED
    a["income_rank"][:] = 0.5
    for name, value in fields.items():
        a[name][:] = value
    return a


def random_people(n: int, seed: int = 5) -> dict[str, np.ndarray]:
    """``n`` people with varied sex, age, diploma, PCS, employment and income rank."""
    g = np.random.default_rng(seed)
    return people(
        n, sex=g.integers(0, 2, n), age=g.integers(0, 100, n), education=g.integers(0, 5, n),
        pcs=g.integers(0, 7, n), parent_pcs=g.integers(0, 7, n),
        employment=g.integers(0, 5, n), income_rank=g.random(n).astype(np.float32),
        department=g.integers(0, N_DEPARTMENTS, n))


def _neutral_interventions() -> np.ndarray:
    try:
        from simulation import interventions
    except ImportError:  # kernels without interventions never read it
        return np.zeros((16, 64))
    return interventions.empty_plan(N_DEPARTMENTS)


def call(kernel, a: dict[str, np.ndarray], args: dict) -> None:
    """Call ``kernel`` with the person arrays ``a`` and the other arguments ``args``, matched
    to its parameters by name, and to the fields of the records it takes (its parameters
    annotated with a namedtuple: the state, its parameters); intervention arrays (if the
    kernel takes any) are neutral, and parameters with a default keep it."""
    values = {"n": len(a["pid"]), "chunk": CHUNK, "n_ages": N_AGES,
              "iv": _neutral_interventions(), "eq": np.zeros(7, dtype=np.uint8),
              "former_class": pathways.former_class_table(P),
              "smoking_rules": pathways.smoking_rules(P), **a, **args}
    hints = typing.get_type_hints(kernel.py_func)
    records = {name: hint for name, hint in hints.items() if hasattr(hint, "_fields")}
    names = [name for name, param in inspect.signature(kernel.py_func).parameters.items()
             if param.default is inspect.Parameter.empty or name in values]
    wanted = [f for name in names for f in (records[name]._fields if name in records else [name])]
    missing = [name for name in wanted if name not in values]
    assert not missing, f"{kernel.py_func.__name__}: no value for {missing}"
    kernel(*[records[name](*[values[f] for f in records[name]._fields]) if name in records
             else values[name] for name in names])


def quad(stream: str, pid, year: int = YEAR) -> tuple[float, float, float, float]:
    """The four uniforms a kernel draws for person ``pid`` from one hash."""
    return rng.uniform_quad(rng.key(SEED, stream, year), np.uint64(pid))


def six(stream: str, pid, year: int = YEAR) -> tuple[float, ...]:
    """The six uniforms the disease kernel draws for person ``pid``."""
    return rng.uniform_six(rng.key(SEED, stream, year), np.uint64(pid))


def flat(group: int, sex: int, age: int) -> int:
    return (int(group) * 2 + int(sex)) * N_AGES + int(age)


def lin(rr_bottom: float, rank) -> np.ndarray:
    """The linear income gradient, by hand."""
    return 1.0 + (rr_bottom - 1.0) * (1.0 - np.asarray(rank, float))


# --- argument packs, built like the run_* wrappers -----------------------------------


def run_sep(a, **over) -> np.ndarray:
    p = P
    corr = np.asarray(p["pcs.latent_corr_income"]) + p["pcs.latent_corr_education"] * p[
        "education.latent_corr_income"]
    args = dict(
        key_sep=rng.key(SEED, "sep", YEAR),
        leave_age=np.asarray(p["employment.school_leaving_age"], dtype=np.uint8),
        retire_age=np.uint8(p["employment.retirement_age"]), p_loss=p["employment.p_job_loss"],
        loss_rr_edu=np.asarray(p["employment.job_loss_rr_education"], float),
        loss_income_slope=p["employment.unemployment_income_slope"],
        p_find=p["employment.p_job_finding"], mobility_sd=p["income.mobility_sd"],
        w_parents=p["income.entry_weight_parents"], w_status=p["income.entry_weight_status"],
        corr_status_income=corr)
    args.update(over)
    moves = np.zeros((kd.count_rows(), N_GROUPS * 2 * N_AGES), dtype=np.int32)
    call(kp.sep_step, a, {**args, "moves": moves})
    return moves.sum(axis=0)


def run_exposures(a, **over) -> None:
    p = P
    args = dict(
        key=rng.key(SEED, "exposures", YEAR),
        p_init=np.asarray(p["smoking.p_initiation"], float),
        init_rr_edu=pathways.initiation_rr_education(p),
        init_rr_income=p["smoking.initiation_rr_income"], p_quit=pathways.quit_probability(p),
        quit_rr_edu=np.asarray(p["smoking.cessation_rr_education"], float),
        quit_rr_unemployed=p["smoking.cessation_rr_unemployed"],
        p_obese_child=p["obesity.p_incidence_child"],
        child_rr_parents=np.asarray(p["obesity.child_rr_parents_pcs"], float),
        p_obese_adult=p["obesity.p_incidence_adult"],
        adult_rr_edu=np.asarray(p["obesity.adult_rr_education"], float),
        adult_rr_income=p["obesity.adult_rr_income"],
        p_obese_remission=p["obesity.p_remission"], p_stress=p["stress.p_stress"],
        stress_rr_unemployed=p["stress.rr_unemployed"], stress_rr_income=p["stress.rr_income"],
        load_decay=p["load.decay"], load_weights=np.asarray(p["load.weights"], float),
        sensitive_multiplier=p["load.sensitive_period_multiplier"])
    args.update(over)
    call(kp.exposures_step, a, args)


def run_care(a, **over) -> None:
    p = P
    args = dict(
        key_take_up=rng.key(SEED, "propensity_take_up", 0),
        key_forgone=rng.key(SEED, "care", YEAR),
        css_free_max=p["care.css_free_rank_max"],
        css_contrib_max=p["care.css_contributory_rank_max"],
        ntu_free=p["care.non_take_up_free"], ntu_contrib=p["care.non_take_up_contributory"],
        p_none_eligible=p["care.p_no_insurance_eligible_non_taker"],
        p_none_other=p["care.p_no_insurance_other"],
        none_rr_unemployed=p["care.no_insurance_rr_unemployed"], p_no_gp_dept=TABLES.p_no_gp,
        p_forgone=p["care.p_forgone"], forgone_rr_none=p["care.forgone_rr_no_insurance"],
        forgone_rr_income=p["care.forgone_rr_income"],
        forgone_rr_no_gp=p["care.forgone_rr_no_gp"])
    args.update(over)
    call(kp.care_step, a, args)


def run_disease(a, **over) -> np.ndarray:
    p = P
    args = dict(
        key_disease=rng.key(SEED, "disease", YEAR),
        inc_base=np.full((kp.N_CONDITIONS, 2, N_AGES), 0.01), onset_rr=TABLES.onset_rr,
        load_log_rr=p["load.log_rr_per_unit"],
        p_cancer_remission=p["disease.p_cancer_remission"], dis_onset=TABLES.dis_onset,
        dis_rr_condition=p["disability.rr_condition"] ** np.arange(kp.N_CONDITIONS + 1.0),
        dis_rr_income=p["disability.rr_income"],
        dis_progression_rr=p["care.progression_rr_poor_access"],
        p_dis_recovery=p["disability.p_recovery"], death_cond_rr=TABLES.death_cond_rr,
        rr_death_income=TABLES.rr_death_income, rr_death_sep=SEP_RR, death_norm=DEATH_NORM)
    args.update(over)
    args["inc_base"] = np.ascontiguousarray(args["inc_base"]).reshape(kp.N_CONDITIONS, -1)
    counts = np.zeros((kd.count_rows(), N_GROUPS * 2 * N_AGES), dtype=np.int32)
    call(kp.disease_step, a, {**args, "disabled_counts": counts})
    return counts.sum(axis=0)


# ------------------------------------------------------------------ small helpers


def test_gradient_combination_and_access_helpers():
    assert kp.gradient(2.0, 0.0) == 2.0
    assert kp.gradient(2.0, 1.0) == 1.0
    assert kp.gradient(2.0, 0.25) == pytest.approx(1.75)
    assert kp.gradient(0.5, 0.5) == pytest.approx(0.75)
    combos = {kp.exposure_combo(s, o, t, u) for s in range(3) for o in range(2)
              for t in range(2) for u in range(2)}
    assert combos == set(range(24))
    assert kp.exposure_combo(2, 1, 0, 1) == 2 * 8 + 4 + 1
    u8 = np.uint8
    assert not kp.poor_access(u8(kp.CARE_GP), u8(kp.INS_PRIVATE))
    assert not kp.poor_access(u8(kp.CARE_GP | kp.CARE_PRIORITY), u8(kp.INS_CSS_FREE))
    assert kp.poor_access(u8(0), u8(kp.INS_PRIVATE))  # no GP
    assert kp.poor_access(u8(kp.CARE_GP | kp.CARE_FORGONE), u8(kp.INS_CSS_CONTRIB))
    assert kp.poor_access(u8(kp.CARE_GP), u8(kp.INS_NONE))


def test_prob_from_hazard_and_exp_small_match_math_exp():
    hs = np.concatenate([[1e-300, 1e-15], np.geomspace(1e-12, 64.0, 3000),
                         np.linspace(0.045, 0.055, 1001)])
    err = max(abs(prob_from_hazard(h) / -math.expm1(-h) - 1.0) for h in hs)
    assert err < 1e-8
    assert prob_from_hazard(0.0) == 0.0
    assert prob_from_hazard(1e6) == 1.0
    xs = np.concatenate([np.linspace(-0.5, 0.5, 4001), np.linspace(-8.0, 8.0, 1601),
                         [-0.5, 0.5, -0.5000001, 0.5000001, 0.0]])
    err = max(abs(exp_small(x) / math.exp(x) - 1.0) for x in xs)
    assert err < 1e-8
    assert exp_small(0.0) == 1.0


# ------------------------------------------------------------------ socioeconomic position


def test_sep_job_loss_sets_the_sensitive_bit_and_job_finding():
    a = people(4, employment=[EMPLOYED, EMPLOYED, UNEMPLOYED, INACTIVE])
    ones = np.ones(5)
    moves = run_sep(a, p_loss=1.0, loss_rr_edu=ones, loss_income_slope=0.0, p_find=0.0,
                    mobility_sd=0.0)
    assert a["employment"].tolist() == [UNEMPLOYED, UNEMPLOYED, UNEMPLOYED, INACTIVE]
    assert a["sensitive"].tolist() == [kp.SENS_JOB_LOSS, kp.SENS_JOB_LOSS, 0, 0]
    assert not moves.any()
    assert np.all(a["income_rank"] == np.float32(0.5))
    # next year: everyone finds a job and nobody loses one; last year's bits are cleared
    run_sep(a, p_loss=0.0, p_find=1.0, mobility_sd=0.0)
    assert a["employment"].tolist() == [EMPLOYED, EMPLOYED, EMPLOYED, INACTIVE]
    assert not a["sensitive"].any()
    assert not a["event"].any()  # the scratch array is left clean


def test_sep_job_loss_probability_by_diploma_and_rank_by_hand():
    a = random_people(400)
    a["employment"][:] = EMPLOYED
    a["age"][:] = np.minimum(a["age"], 61)
    a["education"][:] = np.arange(400) % 5
    before = a["income_rank"].astype(float)
    p_loss = 0.2
    run_sep(a, p_loss=p_loss, mobility_sd=0.0)
    rr = np.asarray(P["employment.job_loss_rr_education"])[a["education"]]
    slope = P["employment.unemployment_income_slope"]
    u1 = np.array([quad("sep", pid)[0] for pid in a["pid"]])
    lost = u1 < p_loss * rr * (1 + slope * (0.5 - before))
    assert 0 < lost.sum() < 400
    assert np.array_equal(a["employment"] == UNEMPLOYED, lost)
    assert np.array_equal(a["sensitive"] == kp.SENS_JOB_LOSS, lost)


def test_sep_retirement_at_the_retirement_age():
    ret = P["employment.retirement_age"]
    a = people(6, age=[ret - 1, ret, ret, ret, ret + 8, ret],
               employment=[EMPLOYED, EMPLOYED, UNEMPLOYED, INACTIVE, RETIRED, EMPLOYED],
               sensitive=[0, 0, 0, 0, 0, kp.SENS_MATERNITY])
    run_sep(a, p_loss=0.0, p_find=0.0, mobility_sd=0.0)
    assert a["employment"].tolist() == [EMPLOYED, RETIRED, RETIRED, INACTIVE, RETIRED, RETIRED]
    r = kp.SENS_RETIREMENT
    assert a["sensitive"].tolist() == [0, r, r, 0, 0, r | kp.SENS_MATERNITY]


def test_sep_keeps_the_maternity_bit_and_clears_last_years_bits():
    a = people(2, sensitive=[kp.SENS_JOB_LOSS | kp.SENS_RETIREMENT | kp.SENS_MATERNITY,
                             kp.SENS_JOB_LOSS | kp.SENS_RETIREMENT])
    run_sep(a, p_loss=0.0, mobility_sd=0.0)
    assert a["sensitive"].tolist() == [kp.SENS_MATERNITY, 0]


def test_sep_end_of_schooling():
    leave = np.asarray(P["employment.school_leaving_age"])
    edu = np.repeat(np.arange(5), 2)
    age = leave[edu] - np.tile([1, 0], 5)  # one a year before, one at the leaving age
    a = people(12, education=np.r_[edu, 3, 3], age=np.r_[age, leave[3], leave[3] + 6],
               pcs=np.r_[np.full(10, 3), kp.INACTIFS, 5], employment=IN_EDUCATION,
               income_rank=0.3)
    run_sep(a, p_loss=0.0, mobility_sd=0.0)
    expected = [IN_EDUCATION, EMPLOYED] * 5 + [INACTIVE, EMPLOYED]
    assert a["employment"].tolist() == expected
    assert not a["sensitive"].any()  # entering work is not a job loss
    # those who stay at school or become inactive keep their household's rank
    stay = np.array(expected) != EMPLOYED
    assert np.all(a["income_rank"][stay] == np.float32(0.3))
    # with a certain job loss, entrants start unemployed (still no job-loss bit)
    b = people(2, education=3, age=leave[3], pcs=[3, kp.INACTIFS], employment=IN_EDUCATION)
    run_sep(b, p_loss=1.0, loss_rr_edu=np.ones(5), loss_income_slope=0.0, mobility_sd=0.0)
    assert b["employment"].tolist() == [UNEMPLOYED, INACTIVE]
    assert not b["sensitive"].any()


def test_sep_entry_rank_by_hand():
    n = 40
    g = np.random.default_rng(3)
    a = people(n, education=4, age=P["employment.school_leaving_age"][4],
               employment=IN_EDUCATION, income_rank=g.random(n).astype(np.float32),
               status_score=g.integers(-60, 61, n), sex=g.integers(0, 2, n))
    r0 = a["income_rank"].astype(float)
    moves = run_sep(a, p_loss=0.0, mobility_sd=0.0)
    wp, ws = P["income.entry_weight_parents"], P["income.entry_weight_status"]
    wn = kp.ENTRY_NOISE_WEIGHT
    corr = np.asarray(P["pcs.latent_corr_income"]) + P["pcs.latent_corr_education"] * P[
        "education.latent_corr_income"]
    scale = np.sqrt(wp * wp + ws * ws + wn * wn + 2 * wp * ws * corr)
    nd = NormalDist()
    expected = []
    for i in range(n):
        u4 = quad("sep", a["pid"][i])[3]
        z = (wp * nd.inv_cdf(r0[i]) + ws * a["status_score"][i] / 20.0 + wn * nd.inv_cdf(u4))
        expected.append(nd.cdf(z / scale[a["sex"][i]]))
    assert np.all(a["employment"] == EMPLOYED)
    np.testing.assert_allclose(a["income_rank"], expected, rtol=1e-6, atol=1e-7)
    # every change of vingtile is a move between the carried counts
    v0 = (r0 * 20).astype(int)
    v1 = (a["income_rank"] * np.float32(20)).astype(int)
    want = np.zeros_like(moves)
    for i in np.flatnonzero(v0 != v1):
        want[flat(v0[i], a["sex"][i], a["age"][i])] -= 1
        want[flat(v1[i], a["sex"][i], a["age"][i])] += 1
    assert (v0 != v1).sum() > 10
    assert np.array_equal(moves, want)


def test_sep_zero_mobility_leaves_ranks_and_counts_unchanged():
    a = random_people(300)
    a["employment"][:] = np.where(a["employment"] == IN_EDUCATION, EMPLOYED, a["employment"])
    a["income_rank"][:3] = [0.0, 0.05, 0.9999]
    before = a["income_rank"].copy()
    moves = run_sep(a, mobility_sd=0.0)
    assert np.array_equal(a["income_rank"], before)
    assert not moves.any()


def test_sep_mobility_step_by_hand():
    n = 200
    g = np.random.default_rng(8)
    ranks = np.concatenate([np.arange(1, 20) / 20 + 1e-4, np.arange(1, 20) / 20 - 1e-4,
                            [0.0, 0.001, 0.01, 0.99, 0.999, 0.99999]])
    ranks = np.concatenate([ranks, g.random(n - ranks.size)]).astype(np.float32)
    a = people(n, income_rank=ranks, sex=g.integers(0, 2, n), age=g.integers(20, 60, n),
               pcs=g.integers(0, 6, n))
    sd = 0.05
    moves = run_sep(a, mobility_sd=sd, p_loss=0.0, p_find=0.0)
    width = sd * math.sqrt(6.0)
    expected = np.empty(n, dtype=np.float32)
    for i in range(n):
        u2, u3 = quad("sep", a["pid"][i])[1:3]
        r = float(ranks[i]) + width * (u2 + u3 - 1.0)
        r = -r if r < 0.0 else r
        r = 2.0 - r if r >= 1.0 else r
        expected[i] = np.float32(min(max(r, 0.0), 0.9999999))
    np.testing.assert_allclose(a["income_rank"], expected, rtol=0, atol=1e-7)
    assert a["income_rank"].min() >= 0.0 and a["income_rank"].max() < 1.0
    v0 = (ranks * np.float32(20)).astype(int)
    v1 = (a["income_rank"] * np.float32(20)).astype(int)
    crossed = np.flatnonzero(v0 != v1)
    assert crossed.size > 10
    want = np.zeros_like(moves)
    for i in crossed:
        want[flat(v0[i], a["sex"][i], a["age"][i])] -= 1
        want[flat(v1[i], a["sex"][i], a["age"][i])] += 1
    assert np.array_equal(moves, want)
    assert moves.sum() == 0


def test_sep_one_move_writes_minus_one_and_plus_one_at_the_flat_indices():
    # find a person whose step crosses the boundary between vingtiles 8 and 9 (index 7/8)
    sd = 0.05
    for pid in range(1, 200):
        u2, u3 = quad("sep", pid)[1:3]
        if 0.002 < sd * math.sqrt(6.0) * (u2 + u3 - 1.0) < 0.05:
            break
    a = people(1, pid=pid, sex=1, age=47, income_rank=0.399)
    moves = run_sep(a, mobility_sd=sd, p_loss=0.0)
    assert int(a["income_rank"][0] * np.float32(20)) == 8
    old, new = flat(kd.G_VINGTILE + 7, 1, 47), flat(kd.G_VINGTILE + 8, 1, 47)
    assert old == (7 * 2 + 1) * 121 + 47
    assert moves[old] == -1 and moves[new] == 1
    assert np.count_nonzero(moves) == 2


def test_sep_leaves_the_dead_alone():
    a = people(2, alive=[0, 1], employment=EMPLOYED, age=62, income_rank=0.5)
    run_sep(a, p_loss=1.0, loss_rr_edu=np.ones(5), mobility_sd=0.3)
    assert a["employment"][0] == EMPLOYED and a["sensitive"][0] == 0
    assert a["income_rank"][0] == np.float32(0.5)
    assert a["employment"][1] == RETIRED


# ------------------------------------------------------------------ exposures


def test_exposures_smoking_initiation_and_cessation_certain():
    ages = [11, 12, 15, 25, 26, 30]
    a = people(6, age=ages)
    run_exposures(a, p_init=np.ones(2), init_rr_edu=np.ones((2, 5)), init_rr_income=1.0)
    assert a["smoking"].tolist() == [0, 1, 1, 1, 0, 0]
    b = people(6, age=[40, 25, 40, 40, 70, 17], smoking=[1, 1, 2, 0, 1, 1],
               employment=[EMPLOYED, EMPLOYED, EMPLOYED, EMPLOYED, UNEMPLOYED, IN_EDUCATION])
    no_relapse = np.array([18.0, 0.0, 5.0])
    run_exposures(b, p_init=np.zeros(2), p_quit=1.0, quit_rr_edu=np.ones(5),
                  quit_rr_unemployed=1.0, smoking_rules=no_relapse)
    # smokers quit from 18 (code 2: quit this year); a former smoker counts one more year
    assert b["smoking"].tolist() == [2, 2, 3, 0, 2, 1]
    # relapse: certain within smoking_rules[2] years of quitting, never after
    d = people(3, age=[40, 40, 40], smoking=[2, 6, 7])
    run_exposures(d, p_init=np.zeros(2), p_quit=0.0, smoking_rules=np.array([18.0, 1.0, 5.0]))
    assert d["smoking"].tolist() == [1, 1, 8]
    c = people(3, age=15)
    run_exposures(c, p_init=np.zeros(2))
    assert not c["smoking"].any()


def test_exposures_smoking_obesity_and_stress_by_hand():
    a = random_people(600)
    a["smoking"][:] = np.where(a["age"] >= 26, 1, 0)
    a["obese"][:] = np.arange(600) % 4 == 0
    obese0, smoke0 = a["obese"].copy(), a["smoking"].copy()
    run_exposures(a)
    p = P
    r = a["income_rank"].astype(float)
    e, s, age = a["education"], a["sex"], a["age"]
    unemp = a["employment"] == UNEMPLOYED
    u = np.array([quad("exposures", pid)
                  for pid in a["pid"]])
    p_init = (np.asarray(p["smoking.p_initiation"])[s]
              * pathways.initiation_rr_education(p)[s, e]
              * lin(p["smoking.initiation_rr_income"], r))
    q = (pathways.quit_probability(p) * np.asarray(p["smoking.cessation_rr_education"])[e]
         * np.where(unemp, p["smoking.cessation_rr_unemployed"], 1.0))
    starts = (smoke0 == 0) & (age >= 12) & (age <= 25) & (u[:, 0] < p_init)
    quits = (smoke0 == 1) & (age >= p["smoking.quit_min_age"]) & (u[:, 0] < q)
    want = np.where(starts, 1, np.where(quits, 2, smoke0))
    assert starts.sum() > 0 and quits.sum() > 0
    assert np.array_equal(a["smoking"], want)
    h_child = (p["obesity.p_incidence_child"]
               * np.asarray(p["obesity.child_rr_parents_pcs"])[a["parent_pcs"]])
    h_adult = (p["obesity.p_incidence_adult"] * np.asarray(p["obesity.adult_rr_education"])[e]
               * lin(p["obesity.adult_rr_income"], r))
    onset = (obese0 == 0) & (u[:, 1] < np.where(age < 18, h_child, h_adult))
    remit = (obese0 == 1) & (u[:, 1] < p["obesity.p_remission"])
    assert np.array_equal(a["obese"], np.where(onset, 1, np.where(remit, 0, obese0)))
    ps = (p["stress.p_stress"] * lin(p["stress.rr_income"], r)
          * np.where(unemp, p["stress.rr_unemployed"], 1.0))
    stress = (age >= 16) & (u[:, 2] < ps)
    assert stress.sum() > 0
    assert np.array_equal(a["stress"], stress)


def test_exposures_load_update_by_hand():
    mult = P["load.sensitive_period_multiplier"]
    w = np.asarray(P["load.weights"])
    d = P["load.decay"]
    m_ = kp.SENS_MATERNITY
    j_ = kp.SENS_JOB_LOSS
    a = people(
        10,
        age=[3, 40, 40, 40, 8, 14, 16, 40, 62, 40],
        smoking=[0, 1, 0, 0, 0, 0, 0, 2, 0, 1],
        nuisance=[1, 0, 1, 0, 0, 1, 0, 0, 0, 1],
        sensitive=[0, 0, m_, j_, 0, 0, 0, 0, kp.SENS_RETIREMENT, 0],
        load=[2.5, 10.0, 0.0, 4.0, 1.0, 3.0, 0.5, 7.0, 20.0, 5.0],
        alive=[1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
    load0 = a["load"].astype(float)
    # everyone becomes obese, adults are stressed, smoking does not change
    run_exposures(a, p_init=np.zeros(2), p_quit=0.0, p_obese_child=1.0, p_obese_adult=1.0,
                  adult_rr_edu=np.ones(5), adult_rr_income=1.0, child_rr_parents=np.ones(7),
                  p_obese_remission=0.0, p_stress=1.0, stress_rr_income=1.0)
    live = a["alive"] == 1
    assert np.all(a["obese"][live] == 1)
    assert a["stress"][live].tolist() == [0, 1, 1, 1, 0, 0, 1, 1, 1]
    m = np.array([mult, 1, mult, mult, 1, mult, mult, 1, mult])
    add = (w[0] * (a["smoking"][live] == 1) + w[1] * 1 + w[2] * a["nuisance"][live]
           + w[3] * a["stress"][live])
    np.testing.assert_allclose(a["load"][live], load0[live] * (1 - d) + m * add, rtol=1e-6)
    # the child of 3 and the adult of 40 of the brief, spelt out
    assert a["load"][0] == pytest.approx(2.5 * (1 - d) + mult * (w[1] + w[2]), rel=1e-6)
    assert a["load"][1] == pytest.approx(10.0 * (1 - d) + 1.0 * (w[0] + w[1] + w[3]), rel=1e-6)
    # the maternity bit is used once, then cleared; job loss and retirement stay for the year
    assert a["sensitive"].tolist() == [0, 0, 0, j_, 0, 0, 0, 0, kp.SENS_RETIREMENT, 0]
    # the dead are untouched
    assert a["load"][9] == np.float32(5.0) and a["smoking"][9] == 1 and a["obese"][9] == 0


def test_exposures_obesity_remission_certain_and_stress_only_from_16():
    a = people(4, age=[10, 15, 16, 50], obese=1)
    run_exposures(a, p_obese_child=0.0, p_obese_adult=0.0, p_obese_remission=1.0,
                  p_stress=1.0, stress_rr_income=1.0)
    assert not a["obese"].any()
    assert a["stress"].tolist() == [0, 0, 1, 1]
    run_exposures(a, p_stress=0.0)
    assert not a["stress"].any()


# ------------------------------------------------------------------ access to care


def test_care_insurance_certain_cases():
    free, contrib = P["care.css_free_rank_max"], P["care.css_contributory_rank_max"]
    ranks = [free / 2, (free + contrib) / 2, 0.9]
    a = people(3, income_rank=ranks)
    run_care(a, ntu_free=0.0, ntu_contrib=0.0)
    assert a["insurance"].tolist()[:2] == [kp.INS_CSS_FREE, kp.INS_CSS_CONTRIB]
    run_care(a, ntu_free=1.0, ntu_contrib=1.0, p_none_eligible=1.0, p_none_other=1.0)
    assert a["insurance"].tolist() == [kp.INS_NONE] * 3
    run_care(a, ntu_free=1.0, ntu_contrib=1.0, p_none_eligible=0.0, p_none_other=0.0)
    assert a["insurance"].tolist() == [kp.INS_PRIVATE] * 3
    rich = people(3, income_rank=0.95, employment=[EMPLOYED, UNEMPLOYED, INACTIVE])
    run_care(rich, p_none_other=0.0)
    assert rich["insurance"].tolist() == [kp.INS_PRIVATE] * 3
    # the unemployed and never-employed multiply the probability of no insurance
    run_care(rich, p_none_other=0.25, none_rr_unemployed=4.0)
    assert rich["insurance"].tolist()[1:] == [kp.INS_NONE, kp.INS_NONE]


def test_care_gp_forgone_care_and_priority_zone():
    zeros, ones = np.zeros((2, N_DEPARTMENTS)), np.ones((2, N_DEPARTMENTS))
    a = people(4, care=[kp.CARE_PRIORITY, 0, kp.CARE_GP | kp.CARE_FORGONE, kp.CARE_PRIORITY
                        | kp.CARE_FORGONE], income_rank=[0.05, 0.3, 0.6, 0.95])
    run_care(a, p_no_gp_dept=zeros, p_forgone=0.0)
    assert a["care"].tolist() == [5, 1, 1, 5]
    run_care(a, p_no_gp_dept=ones, p_forgone=0.0)
    assert a["care"].tolist() == [4, 0, 0, 4]
    run_care(a, p_no_gp_dept=zeros, p_forgone=1.0, forgone_rr_income=1.0)
    assert a["care"].tolist() == [7, 3, 3, 7]
    # priority zones read the second row of the no-GP table
    zone_only = np.vstack([np.zeros(N_DEPARTMENTS), np.ones(N_DEPARTMENTS)])
    run_care(a, p_no_gp_dept=zone_only, p_forgone=0.0)
    assert a["care"].tolist() == [4, 1, 1, 4]


def test_care_by_hand_with_the_default_parameters():
    a = random_people(1000)
    a["care"][:] = np.where(np.arange(1000) % 7 == 0, kp.CARE_PRIORITY, 0)
    run_care(a)
    p = P
    r = a["income_rank"].astype(float)
    k_take, k_f = rng.key(SEED, "propensity_take_up", 0), rng.key(SEED, "care", YEAR)
    ut = np.array([rng.uniform_quad(k_take, pid)[:2] for pid in a["pid"]])
    u_gp = np.array([rng.uniform_quad(k_take, pid)[2] for pid in a["pid"]])
    u_f = np.array([rng.uniform_quad(k_f, pid)[0] for pid in a["pid"]])
    free, contrib = p["care.css_free_rank_max"], p["care.css_contributory_rank_max"]
    non_taker = np.where(ut[:, 1] < p["care.p_no_insurance_eligible_non_taker"], 3, 0)
    pn = p["care.p_no_insurance_other"] * np.where(
        np.isin(a["employment"], [UNEMPLOYED, INACTIVE]), p["care.no_insurance_rr_unemployed"],
        1.0)
    ins = np.where(r < free, np.where(ut[:, 0] >= p["care.non_take_up_free"], 1, non_taker),
                   np.where(r < contrib,
                            np.where(ut[:, 0] >= p["care.non_take_up_contributory"], 2,
                                     non_taker),
                            np.where(ut[:, 1] < pn, 3, 0)))
    assert set(np.unique(ins)) == {0, 1, 2, 3}
    assert np.array_equal(a["insurance"], ins)
    zone = (a["care"] & kp.CARE_PRIORITY) > 0
    gp = u_gp >= TABLES.p_no_gp[zone.astype(int), a["department"]]
    pf = (p["care.p_forgone"] * lin(p["care.forgone_rr_income"], r)
          * np.where(ins == 3, p["care.forgone_rr_no_insurance"], 1.0)
          * np.where(gp, 1.0, p["care.forgone_rr_no_gp"]))
    want = kp.CARE_PRIORITY * zone + kp.CARE_GP * gp + kp.CARE_FORGONE * (u_f < pf)
    assert (~gp).sum() > 0 and (u_f < pf).sum() > 0
    assert np.array_equal(a["care"], want)


# ------------------------------------------------------------------ conditions and death


def test_disease_no_incidence_gives_no_new_condition():
    a = random_people(300)
    a["conditions"][:50] = 0b01000
    before = a["conditions"].copy()
    run_disease(a, inc_base=np.zeros((kp.N_CONDITIONS, 2, N_AGES)), p_cancer_remission=0.0)
    assert np.array_equal(a["conditions"], before)


def test_disease_huge_incidence_gives_every_condition_to_the_living():
    a = random_people(300)
    a["alive"][::10] = 0
    a["conditions"][:20] = 1 << kp.CANCER
    run_disease(a, inc_base=np.full((kp.N_CONDITIONS, 2, N_AGES), 1e3), p_cancer_remission=0.0)
    live = a["alive"] == 1
    assert np.all(a["conditions"][live] == 0b11111)
    assert np.all(a["conditions"][~live] == np.where(np.flatnonzero(~live) < 20, 4, 0))
    assert np.all(a["rr_death"][~live] == 0)


def test_disease_cancer_remission():
    a = people(3, conditions=[0b00111, 0b00100, 0b11011])
    run_disease(a, inc_base=np.zeros((kp.N_CONDITIONS, 2, N_AGES)), p_cancer_remission=1.0)
    assert a["conditions"].tolist() == [0b00011, 0, 0b11011]


def test_disease_onset_and_remission_by_hand():
    a = random_people(800)
    g = np.random.default_rng(2)
    a["smoking"][:] = g.integers(0, 3, 800)
    a["obese"][:] = g.integers(0, 2, 800)
    a["stress"][:] = g.integers(0, 2, 800)
    a["nuisance"][:] = g.integers(0, 2, 800)
    a["load"][:] = g.uniform(0, 60, 800).astype(np.float32)
    a["conditions"][:] = np.where(g.random(800) < 0.3, 1 << kp.CANCER, 0)
    before = a["conditions"].copy()
    inc = g.uniform(0.0, 0.3, (kp.N_CONDITIONS, 2, N_AGES))
    run_disease(a, inc_base=inc, p_cancer_remission=0.4)
    combo = a["smoking"] * 8 + a["obese"] * 4 + a["stress"] * 2 + a["nuisance"]
    rb = np.minimum((a["income_rank"] * np.float32(50)).astype(int), 49)
    lf = np.exp(P["load.log_rr_per_unit"] * a["load"].astype(float))
    want = np.zeros(800, dtype=np.uint8)
    for i in range(800):
        pid = a["pid"][i]
        ua, ub, uc, ud, ue, _ = six("disease", pid)
        c = int(before[i])
        for k, u in enumerate((ua, ub, uc, ud, ue)):
            if c >> k & 1:
                if k == kp.CANCER and u < 0.4:
                    c &= ~(1 << k)
                continue
            h = inc[k, a["sex"][i], a["age"][i]] * TABLES.onset_rr[k, combo[i], rb[i]] * lf[i]
            if u < -math.expm1(-h):
                c |= 1 << k
        want[i] = c
    assert np.array_equal(a["conditions"], want)
    assert (want != before).sum() > 100


def test_disease_disability_onset_recovery_and_counts():
    a = people(5, sex=[0, 1, 1, 0, 1], age=[30, 70, 85, 50, 20], income_rank=[0.1, 0.37, 0.8,
               0.55, 0.99], pcs=[5, 2, 4, 6, 0], education=[0, 4, 2, 1, 3],
               department=[0, 5, 12, 3, 7], alive=[1, 1, 1, 1, 0])
    counts = run_disease(a, dis_onset=np.full((2, N_AGES), 1e3), p_dis_recovery=0.0)
    assert a["disability"].tolist() == [1, 1, 1, 1, 0]
    assert counts.sum() == 4 * 4  # four people, each in four strata
    for i in range(4):
        s, age = a["sex"][i], a["age"][i]
        for group in (kd.G_VINGTILE + int(a["income_rank"][i] * np.float32(20)),
                      kd.G_PCS + a["pcs"][i], kd.G_EDUCATION + a["education"][i],
                      kd.G_DEPARTMENT + a["department"][i]):
            assert counts[flat(group, s, age)] >= 1
    assert counts[flat(kd.G_VINGTILE + 7, 1, 70)] == 1
    assert counts[flat(kd.G_PCS + 2, 1, 70)] == 1
    assert counts[flat(kd.G_EDUCATION + 4, 1, 70)] == 1
    assert counts[flat(kd.G_DEPARTMENT + 5, 1, 70)] == 1
    counts = run_disease(a, dis_onset=np.zeros((2, N_AGES)), p_dis_recovery=1.0)
    assert not a["disability"].any() and not counts.any()


def test_disease_relative_risk_of_death_by_hand():
    p = P
    rr = np.asarray(p["disease.rr_death"])
    cf = p["care.case_fatality_rr_poor_access"]
    smk_rr = p["disease.rr_death_smoking"]
    # cardiovascular + cancer, former smoker, disabled, no insurance (poor access)
    a = people(4, sex=[1, 0, 0, 1], age=[70, 45, 0, 101], income_rank=[0.37, 0.005, 0.999, 0.6],
               conditions=[0b00101, 0b10000, 0, 0b11111], smoking=[2, 1, 0, 1],
               disability=[1, 0, 0, 1], insurance=[kp.INS_NONE, kp.INS_PRIVATE,
                                                  kp.INS_CSS_FREE, kp.INS_PRIVATE],
               care=[kp.CARE_GP, kp.CARE_GP, kp.CARE_GP, kp.CARE_GP | kp.CARE_FORGONE],
               pcs=[5, 5, 2, 4], education=[0, 3, 0, 0])
    group = [3, 2, 1, 1]  # ouvrier without diploma, ouvrier, no diploma (a child), no diploma
    run_disease(a, inc_base=np.zeros((kp.N_CONDITIONS, 2, N_AGES)), p_cancer_remission=0.0,
                p_dis_recovery=0.0, dis_onset=np.zeros((2, N_AGES)))
    # quit this year at 70: the class of the first year after quitting at 60+
    kf = int(pathways.former_class_table(p)[0, 3])
    former = 1 + pathways.former_class_excess()[kf] * (smk_rr - 1)
    smk_class = [2 + kf, 1, 0, 1]
    cond_rr = [
        (1 + (rr[0] - 1) * cf) * (1 + (rr[2] - 1) * cf) * former
        * p["disease.rr_death_disability"],
        rr[4] * smk_rr,
        1.0,
        math.prod(1 + (rr[k] - 1) * cf for k in range(5)) * smk_rr
        * p["disease.rr_death_disability"],
    ]
    for i in range(4):
        s, age = a["sex"][i], a["age"][i]
        b = min(int(a["income_rank"][i] * np.float32(100)), 99)
        want = (DEATH_NORM[s, age] * cond_rr[i] * TABLES.rr_death_income[s, age, b]
                * SEP_RR[s, age, group[i]])
        assert a["rr_death"][i] == pytest.approx(want, rel=1e-6), i
        combo = ((int(a["conditions"][i]) * 2 + (i in (0, 3))) * kp.SMOKING_CLASSES
                 + smk_class[i]) * 2
        combo += int(a["disability"][i])
        assert TABLES.death_cond_rr[combo] == pytest.approx(cond_rr[i], rel=1e-12)


def test_death_rr_all_and_condition_rr_all_by_hand():
    a = random_people(200)
    g = np.random.default_rng(4)
    a["conditions"][:] = g.integers(0, 32, 200)
    a["smoking"][:] = g.integers(0, 80, 200)  # never, current, former 0-77 years ago
    a["obese"][:] = g.integers(0, 2, 200)
    a["stress"][:] = g.integers(0, 2, 200)
    a["nuisance"][:] = g.integers(0, 2, 200)
    a["disability"][:] = g.integers(0, 2, 200)
    a["insurance"][:] = g.integers(0, 4, 200)
    a["care"][:] = g.integers(0, 8, 200)
    a["load"][:] = g.uniform(0, 40, 200).astype(np.float32)
    a["alive"][:10] = 0
    out = np.zeros(200)
    call(kp.death_rr_all, a, {"death_cond_rr": TABLES.death_cond_rr,
                              "rr_death_income": TABLES.rr_death_income,
                              "rr_death_sep": SEP_RR, "out": out})
    poor = (((a["care"] & kp.CARE_FORGONE) > 0) | ((a["care"] & kp.CARE_GP) == 0)
            | (a["insurance"] == kp.INS_NONE)).astype(int)
    table = pathways.former_class_table(P)
    t = np.maximum(a["smoking"].astype(int) - 2, 0)
    band = np.clip((a["age"].astype(int) - t - 30) // 10, 0, 3)
    cls = np.where(a["smoking"] < 2, a["smoking"], 2 + table[np.minimum(t, 60), band])
    combo = ((a["conditions"].astype(int) * 2 + poor) * kp.SMOKING_CLASSES + cls) * 2
    combo += a["disability"]
    b = np.minimum((a["income_rank"] * np.float32(100)).astype(int), 99)
    g = (a["pcs"] == 5) * 2 + (a["education"] == 0)
    want = (TABLES.death_cond_rr[combo] * TABLES.rr_death_income[a["sex"], a["age"], b]
            * SEP_RR[a["sex"], a["age"], g])
    want[:10] = 0.0
    np.testing.assert_allclose(out, want, rtol=1e-12)
    out = np.zeros((kp.N_CONDITIONS, 200))
    call(kp.condition_rr_all, a, {"onset_rr": TABLES.onset_rr,
                                  "load_log_rr": P["load.log_rr_per_unit"], "out": out})
    combo = cls * 8 + a["obese"] * 4 + a["stress"] * 2 + a["nuisance"]
    rb = np.minimum((a["income_rank"] * np.float32(50)).astype(int), 49)
    lf = np.exp(P["load.log_rr_per_unit"] * a["load"].astype(float))
    want = TABLES.onset_rr[:, combo, rb] * lf
    want[:, :10] = 0.0
    np.testing.assert_allclose(out, want, rtol=2e-8)  # exp_small: a Taylor polynomial


# ------------------------------------------------------------------ parameter tables


def test_onset_rr_table_by_hand():
    table = pathways.onset_rr_table(P)
    assert table.shape == (len(CONDITIONS), kp.SMOKING_CLASSES * 8, kp.N_RANK_BINS_ONSET)
    k, b = 3, 10  # respiratory; rank bin 10 of 50, midpoint 0.21
    rank = (b + 0.5) / 50
    v = 1 + P["vulnerability.differential"] * (1 - 2 * rank)
    keep = pathways.former_class_excess()[0]  # the first former class: just quit
    f = ((1 + v * keep * (P["disease.rr_smoking"][k] - 1))
         * (1 + v * (P["disease.rr_obesity"][k] - 1))
         * (1 + v * (P["disease.rr_environment"][k] - 1)))
    resid = 1 + (P["disease.rr_income_residual"][k] - 1) * (1 - rank)
    combo = 2 * 8 + 1 * 4 + 0 * 2 + 1  # former smoker, obese, no stress, nuisance
    assert table[k, combo, b] == pytest.approx(f * resid, rel=1e-12)
    # current smoker under stress, psychiatric, top bin
    k, b = 4, 49
    rank = (b + 0.5) / 50
    v = 1 + P["vulnerability.differential"] * (1 - 2 * rank)
    f = (1 + v * (P["disease.rr_smoking"][k] - 1)) * (1 + v * (P["disease.rr_stress"][k] - 1))
    resid = 1 + (P["disease.rr_income_residual"][k] - 1) * (1 - rank)
    assert table[k, 8 + 2, b] == pytest.approx(f * resid, rel=1e-12)
    # no exposure: the residual gradient alone
    ranks = (np.arange(50) + 0.5) / 50
    for k in range(len(CONDITIONS)):
        np.testing.assert_allclose(table[k, 0], lin(P["disease.rr_income_residual"][k], ranks))
    assert np.all(table > 0)


def test_death_rr_table_by_hand():
    table = pathways.death_rr_table(P)
    n = kp.SMOKING_CLASSES
    assert table.shape == (32 * 2 * n * 2,)
    rr = np.asarray(P["disease.rr_death"])
    cf = P["care.case_fatality_rr_poor_access"]
    # diabetes + psychiatric, poor access, current smoker, not disabled
    idx = ((0b10010 * 2 + 1) * n + 1) * 2 + 0
    want = (1 + (rr[1] - 1) * cf) * (1 + (rr[4] - 1) * cf) * P["disease.rr_death_smoking"]
    assert table[idx] == pytest.approx(want, rel=1e-12)
    # the same with good access: the conditions' own relative risks
    assert table[((0b10010 * 2 + 0) * n + 1) * 2] == pytest.approx(
        rr[1] * rr[4] * P["disease.rr_death_smoking"], rel=1e-12)
    assert table[0] == 1.0
    assert table[1] == pytest.approx(P["disease.rr_death_disability"])
    keep = pathways.former_class_excess()
    for k in range(kp.FORMER_CLASSES):  # former smokers keep a falling share of the excess
        assert table[(2 + k) * 2] == pytest.approx(1 + keep[k] * (P["disease.rr_death_smoking"]
                                                                  - 1))


def test_residual_mortality_gradient_by_hand():
    g = pathways.residual_mortality_gradient(P)
    assert g.shape == (2, N_AGES, 100)
    for s in range(2):
        big_r = P["mortality.rr_income_residual"][s]
        f90 = P["mortality.income_gradient_at_90"][s]
        for age, f in ((0, 1.0), (30, 1.0), (40, 1.0), (65, 1 + (f90 - 1) * 0.5), (90, f90),
                       (110, f90)):
            assert g[s, age, 0] / g[s, age, 99] == pytest.approx(big_r ** f, rel=1e-9)
        assert np.all(np.diff(g[s, 30]) <= 0)  # falls with income
        assert np.log(g[s, 30]).mean() == pytest.approx(0.0, abs=1e-12)
    neutral = pathways.residual_mortality_gradient(
        {**P, "mortality.rr_income_residual": [1.0, 1.0]})
    np.testing.assert_allclose(neutral, 1.0)


# ------------------------------------------------------------------ invariants of a run


@pytest.fixture(scope="module")
def run20k():
    """The baseline with 20,000 people over 10 years, and the living counted each year."""
    model = HealthInequalityModel(load_scenario(BASELINE).with_options(agents=20_000, years=10))
    n0 = model.population.n_alive
    alive = []
    for _ in range(model.scenario.years):
        model.step()
        alive.append(model.population.n_alive)
    return model, n0, np.array(alive)


def test_run_prevalences_are_proportions_and_not_all_zero(run20k):
    model, _, _ = run20k
    df = population_frame(model)
    flags = {name: (df["conditions"].to_numpy() >> k) & 1 for k, name in enumerate(CONDITIONS)}
    flags["current_smoking"] = df["smoking"].to_numpy() == 1
    flags["former_smoking"] = df["smoking"].to_numpy() >= 2
    flags["obesity"] = df["obese"].to_numpy()
    flags["disability"] = df["disability"].to_numpy()
    for name, flag in flags.items():
        prev = float(np.mean(flag))
        assert 0.0 < prev < 1.0, name
    assert df["smoking"].max() <= 2 + kp.SMOKING_T_MAX and df["conditions"].max() < 32
    assert set(np.unique(df["obese"])) <= {0, 1} and set(np.unique(df["disability"])) <= {0, 1}


def test_run_ages_codes_and_ranks_in_range(run20k):
    model, _, _ = run20k
    a = model.population.arrays()
    live = a["alive"] == 1
    assert a["age"].max() <= 120
    assert a["age"][live].max() <= model.params["mortality.max_age"]
    assert set(np.unique(a["insurance"][live])) <= {0, 1, 2, 3}
    assert a["care"][live].max() <= 7
    assert a["sensitive"][live].max() <= 7
    r = a["income_rank"][live]
    assert r.min() >= 0.0 and r.max() < 1.0
    rr = a["rr_death"][live]
    assert np.all(np.isfinite(rr)) and np.all(rr > 0)
    emp, age = a["employment"][live], a["age"][live]
    leave = np.asarray(model.params["employment.school_leaving_age"])[a["education"][live]]
    assert np.all(age[emp == IN_EDUCATION] <= leave[emp == IN_EDUCATION])
    assert np.all(age[np.isin(emp, [EMPLOYED, UNEMPLOYED])]
                  <= model.params["employment.retirement_age"])


def test_run_deaths_balance_the_population(run20k):
    model, n0, alive = run20k
    ya = model.yearly_aggregates()
    w = model.population.weight
    births = np.rint(ya["births"].to_numpy() / w).astype(int)
    deaths = np.rint(ya["deaths"].to_numpy() / w).astype(int)
    migrants = np.rint((ya["immigrants"] - ya["emigrants"]).to_numpy() / w).astype(int)
    start = np.r_[n0, alive[:-1]]
    assert np.array_equal(deaths, start + births + migrants - alive)
    assert np.array_equal(ya["agents_alive"].to_numpy(), alive)
    np.testing.assert_allclose(ya["population"].to_numpy(), alive * w)
    assert deaths.min() > 0 and births.min() > 0
    lti = model.life_table_input()
    all_deaths = lti[lti["by"] == "all"].groupby("year")["deaths_realised"].sum().to_numpy()
    assert np.array_equal(all_deaths, deaths)
    # the expected deaths (the life tables' estimator) are close to the deaths drawn
    expected = lti[lti["by"] == "all"].groupby("year")["deaths"].sum().to_numpy()
    assert abs(expected.sum() - deaths.sum()) < 4 * np.sqrt(deaths.sum())


def test_run_carried_counts_equal_a_fresh_census(run20k):
    model, _, _ = run20k
    assert np.array_equal(model._alive_counts, model.census())


def test_run_person_years_agree_across_strata(run20k):
    model, _, _ = run20k
    lti = model.life_table_input()
    cols = ["person_years", "deaths", "disabled"]
    total = lti[lti["by"] == "all"].groupby(["year", "sex", "age"])[cols].sum()
    assert total["disabled"].sum() > 0
    for by in ("income_vingtile", "pcs", "education", "department"):
        sub = lti[lti["by"] == by].groupby(["year", "sex", "age"])[cols].sum()
        assert sub.index.isin(total.index).all(), by
        sub = sub.reindex(total.index, fill_value=0)
        assert np.array_equal(sub.to_numpy(), total.to_numpy()), by


def test_run_healthy_life_expectancy_below_life_expectancy(run20k):
    model, _, _ = run20k
    le = model.life_expectancy(healthy=True)
    ok = le["e"].notna() & le["hle"].notna()
    assert ok.sum() > 0.9 * len(le)
    assert np.all(le.loc[ok, "hle"] <= le.loc[ok, "e"] + 1e-9)
    assert np.all(le.loc[ok, "hle"] >= 0)


# ------------------------------------------------------------------ directional science

#: Directional tests: 60,000 people over 15 years, three replicates pooled (the e0 gap
#: between income quintiles then has a standard deviation of about 0.35 year); the same
#: seed in every arm (common random numbers).
AGENTS, YEARS, DIR_SEED, REPLICATES = 60_000, 15, 1, 3

#: Every input that differs by income, diploma, PCS or employment, made neutral.
NO_GRADIENT = {
    "smoking.initiation_rr_education": [1.0] * 5,
    "mortality.rr_manual_occupation": [1.0, 1.0],
    "mortality.rr_no_diploma": [1.0, 1.0],
    "smoking.initiation_rr_income": 1.0,
    "smoking.cessation_rr_education": [1.0] * 5,
    "smoking.cessation_rr_unemployed": 1.0,
    "obesity.child_rr_parents_pcs": [1.0] * 7,
    "obesity.adult_rr_education": [1.0] * 5,
    "obesity.adult_rr_income": 1.0,
    "environment.nuisance_rr_income": 1.0,
    "stress.rr_income": 1.0,
    "stress.rr_unemployed": 1.0,
    "vulnerability.differential": 0.0,
    "care.css_free_rank_max": 0.0,
    "care.css_contributory_rank_max": 0.0,
    "care.no_insurance_rr_unemployed": 1.0,
    "care.forgone_rr_income": 1.0,
    "disease.rr_income_residual": [1.0] * 5,
    "mortality.rr_income_residual": [1.0, 1.0],
    "disability.rr_income": 1.0,
    "employment.unemployment_income_slope": 0.0,
    "employment.job_loss_rr_education": [1.0] * 5,
    # the never-employed (inactifs, more often poor) have no job-loss or retirement
    # sensitive period: neutralised too
    "load.sensitive_period_multiplier": 1.0,
}

ARMS = {
    "baseline": {},
    "no_smoking": {"smoking.p_initiation": [0.0, 0.0]},
    "equal_care": {"care.non_take_up_free": 0.0, "care.non_take_up_contributory": 0.0,
                   "care.p_no_insurance_eligible_non_taker": 0.0,
                   "care.p_no_insurance_other": 0.0, "care.p_no_gp": 0.0, "care.p_forgone": 0.0},
    "no_gradient": NO_GRADIENT,
    "no_occupational_risk": {"mortality.rr_manual_occupation": [1.0, 1.0]},
    "occupational_risk": {"mortality.rr_manual_occupation": [1.3, 1.0]},
}


@functools.cache
def arm_life_expectancy(arm: str) -> pd.DataFrame:
    """e0 and e35 by stratum, over all simulated years of the replicates pooled."""
    raw = tomllib.loads(BASELINE.read_text("utf-8"))
    raw["parameters"] = ARMS[arm]
    sc = parse_scenario(raw).with_options(agents=AGENTS, years=YEARS, seed=DIR_SEED)
    inputs = []
    for replicate in range(REPLICATES):
        model = HealthInequalityModel(sc, replicate=replicate)
        model.run_years()
        first, last = model.window_bounds(YEARS)
        assert last - first + 1 == YEARS
        inputs.append(metrics.window(model.life_table_input(), first, last))
    return metrics.life_expectancy_by_stratum(pd.concat(inputs, ignore_index=True),
                                              ages=(0, 35))


def arm_gap(arm: str, by: str, low: str, high: str, age: int) -> dict[str, float]:
    """e(age) of group ``high`` minus group ``low`` of stratum ``by``, by sex."""
    g = metrics.gap(arm_life_expectancy(arm), by, low, high)
    return {row.sex: float(row.gap) for row in g.itertuples() if row.age == age}


def quintile_gap(arm: str) -> dict[str, float]:
    """e0 of the richest minus the poorest income quintile, by sex."""
    return arm_gap(arm, "income_quintile", "1", "5", 0)


def test_neutral_parameters_are_accepted():
    for over in ARMS.values():
        raw = tomllib.loads(BASELINE.read_text("utf-8"))
        raw["parameters"] = over
        assert parse_scenario(raw).parameters["mortality.max_age"] == P["mortality.max_age"]
    # no smoking initiation also empties initial smoking
    raw = tomllib.loads(BASELINE.read_text("utf-8"))
    raw["parameters"] = ARMS["no_smoking"]
    model = HealthInequalityModel(parse_scenario(raw).with_options(agents=2000, years=1))
    assert not model.population.arrays()["smoking"].any()


@pytest.mark.slow
def test_baseline_has_a_large_income_gap():
    base = quintile_gap("baseline")
    assert base["M"] > 5.0
    assert base["F"] > 2.5
    assert base["M"] > base["F"]


@pytest.mark.slow
def test_removing_smoking_narrows_the_gap_for_men():
    base, cf = quintile_gap("baseline"), quintile_gap("no_smoking")
    assert base["M"] - cf["M"] > 0.5
    assert cf["M"] > 0  # smoking is one pathway among several


@pytest.mark.slow
def test_equal_access_to_care_narrows_the_gap_modestly():
    base, cf = quintile_gap("baseline"), quintile_gap("equal_care")
    for sex in ("M", "F"):
        reduction = base[sex] - cf[sex]
        assert reduction > -0.3, sex  # positive, or small noise
        assert reduction < 0.35 * base[sex], sex  # care explains about a tenth of health


@pytest.mark.slow
def test_occupational_risk_widens_the_gap_between_cadres_and_ouvriers():
    """With an excess mortality of ouvriers (men 1.3; the calibrated default is about 1),
    men's gap in e35 between cadres and ouvriers widens (common random numbers); without
    it, it stays large (diploma and income)."""
    risk = arm_gap("occupational_risk", "pcs", "ouvriers", "cadres", 35)
    cf = arm_gap("no_occupational_risk", "pcs", "ouvriers", "cadres", 35)
    assert risk["M"] - cf["M"] > 0.3, (risk, cf)
    assert cf["M"] > 2.0
    assert abs(risk["F"] - cf["F"]) < 0.5  # the women's excess risk is 1 in both


@pytest.mark.slow
def test_no_gradient_in_the_inputs_gives_no_gradient_in_life_expectancy():
    cf = quintile_gap("no_gradient")
    assert quintile_gap("baseline")["M"] > 5.0
    for sex in ("M", "F"):
        assert abs(cf[sex]) < 1.5, (sex, cf[sex])


def test_sep_mortality_rr_by_hand():
    """1 before 18, the full relative risks from 18 to 65, their logs falling linearly to
    0 at 95; the product for ouvriers without diploma; one table per sex."""
    t = SEP_RR
    assert t.shape == (2, N_AGES, 4)
    np.testing.assert_array_equal(t[:, :18, :], 1.0)
    np.testing.assert_array_equal(t[:, :, 0], 1.0)
    for s, (ro, rd) in enumerate(((1.7, 1.5), (1.3, 1.2))):
        for age in (18, 40, 65):
            assert t[s, age, 1] == pytest.approx(rd) and t[s, age, 2] == pytest.approx(ro)
            assert t[s, age, 3] == pytest.approx(ro * rd)
        assert t[s, 80, 2] == pytest.approx(ro ** 0.5)  # halfway from 65 to 95
        assert t[s, 80, 1] == pytest.approx(rd ** 0.5)
        np.testing.assert_allclose(t[s, 95:, :], 1.0)


def test_mortality_counterfactual_ignores_category_and_diploma():
    """Under eq[mortality] an ouvrier without diploma gets the reference person's risk."""
    a = people(2, pcs=[5, 2], education=[0, 4], income_rank=[0.1, 0.1])
    eq = np.zeros(7, dtype=np.uint8)
    eq[kp.EQ_MORTALITY] = 1
    run_disease(a, inc_base=np.zeros((kp.N_CONDITIONS, 2, N_AGES)), p_cancer_remission=0.0,
                p_dis_recovery=0.0, dis_onset=np.zeros((2, N_AGES)), eq=eq)
    assert a["rr_death"][0] == a["rr_death"][1]
    a = people(2, pcs=[5, 2], education=[0, 4], income_rank=[0.1, 0.1])
    run_disease(a, inc_base=np.zeros((kp.N_CONDITIONS, 2, N_AGES)), p_cancer_remission=0.0,
                p_dis_recovery=0.0, dis_onset=np.zeros((2, N_AGES)))
    assert a["rr_death"][0] == pytest.approx(a["rr_death"][1] * 1.7 * 1.5, rel=1e-6)


def test_disability_onset_by_hand():
    """The constant part from 16, the growing part from its level at 40, by sex."""
    p = {**P, "disability.p_onset": [0.004, 0.006], "disability.p_onset_base": [0.01, 0.02],
         "disability.log_rate_per_year_of_age": 0.05}
    t = pathways.disability_onset(p)
    assert t.shape == (2, N_AGES)
    for s, (grow, base) in enumerate(((0.004, 0.01), (0.006, 0.02))):
        assert t[s, 15] == pytest.approx(grow * math.exp(-1.25))
        assert t[s, 16] == pytest.approx(base + grow * math.exp(-1.2))
        assert t[s, 40] == pytest.approx(base + grow)
        assert t[s, 80] == pytest.approx(base + grow * math.exp(2.0))
    assert t.max() <= 2.0


def test_ouvriers_cadres_rows_against_constant_hazards():
    """Constant death rates (ouvriers 0.02, cadres 0.01 a year, two replicates' worth of
    person-years split over two years): q = m / (1 + m / 2) each year from 35 to 64, and a
    ratio of 2 at 45 and 90 whatever the pooling."""
    from simulation.validation import _ouvriers_cadres

    rows = []
    for sex in ("M", "F"):
        for group, m in (("ouvriers", 0.02), ("cadres", 0.01)):
            for year in (2030, 2031):
                for age in range(N_AGES):
                    rows.append({"year": year, "sex": sex, "by": "pcs", "group": group,
                                 "age": age, "deaths": 500 * m, "person_years": 500.0})
    lti = pd.DataFrame(rows)
    lti = pd.concat([lti, lti.assign(by="education", group="bac")], ignore_index=True)
    out = {(r["target"], r["group"]): r["model"] for r in _ouvriers_cadres(lti)}
    for sex in ("M", "F"):
        for group, m in (("ouvriers", 0.02), ("cadres", 0.01)):
            want = 100 * (1 - (1 - m / (1 + m / 2)) ** 30)
            assert out[("probability of dying 35-65", f"{sex} {group}")] == pytest.approx(want)
        for age in (45, 90):
            lo, hi = (43, 47) if age == 45 else (88, 92)
            key = (f"death rate ouvriers / cadres at {age} ({lo}-{hi})", sex)
            assert out[key] == pytest.approx(2.0)
