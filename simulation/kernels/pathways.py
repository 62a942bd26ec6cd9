"""Life-course pathway kernels (DESIGN section 5), one per process, run at the start of
each year before mortality: socioeconomic position, exposures, access to care, chronic
conditions and disability (which also sets each person's relative risk of death).

Conventions shared by the kernels:

* an income gradient "R at the bottom relative to the top" is applied as the linear
  factor ``1 + (R - 1) * (1 - rank)`` (R at rank 0, 1 at rank 1), which needs no exp;
* differential vulnerability multiplies every excess relative risk of an exposure,
  ``RR - 1``, by ``v = 1 + d * (1 - 2 * rank)``;
* a probability from an annual hazard h is ``1 - exp(-h)`` (:func:`prob_from_hazard`);
* draws are counter-based (:func:`rng.uniform_quad`: four per hash, and
  :func:`rng.uniform_six` for rare onsets), one stream per
  process; people are visited in fixed-size chunks and every count is an integer, so
  results never depend on the number of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from ..rng import uniform_quad, uniform_six
from .demography import G_VINGTILE, _count, event_rows, nonzero_rows
from .fastmath import exp_small, norm_ppf, pick, prob_from_hazard

IN_EDUCATION, EMPLOYED, UNEMPLOYED, RETIRED, INACTIVE = 0, 1, 2, 3, 4
OUVRIERS, INACTIFS = 5, 6
SANS_DIPLOME = 0
SENS_JOB_LOSS, SENS_RETIREMENT, SENS_MATERNITY = 1, 2, 4
#: Scratch mark of an entrant to work in :func:`sep_step` (vingtile moves use 1-20).
ENTRANT = 128
CARE_GP, CARE_FORGONE, CARE_PRIORITY = 1, 2, 4
INS_PRIVATE, INS_CSS_FREE, INS_CSS_CONTRIB, INS_NONE = 0, 1, 2, 3
N_CONDITIONS = 5
CANCER = 2
PSYCHIATRIC = 4
#: Weight of a person's own noise in the income normal score drawn at entry to work.
ENTRY_NOISE_WEIGHT = 0.5
#: Intervention types, in the order of :data:`simulation.interventions.TYPES`.
IV_OUTREACH, IV_AUTO_ENROL, IV_GP, IV_OUT_OF_POCKET, IV_EARLY, IV_YOUTH, IV_CESSATION, \
    IV_HOUSING, IV_LITERACY = range(9)
#: Pathways a counterfactual equalises, in the order of
#: :data:`simulation.interventions.PATHWAYS`.
EQ_SMOKING, EQ_OBESITY, EQ_ENVIRONMENT, EQ_STRESS, EQ_CARE, EQ_DISEASE, EQ_MORTALITY = range(7)
#: The counterfactuals' reference person: middle of the richest quintile, higher education,
#: children of cadres.
REF_RANK = 0.9
#: Smoking codes of the state: 0 never, 1 current, 2 + t former smoker who quit t years ago
#: (t capped at SMOKING_T_MAX). The onset and death tables take a smoking *class*: 0 never,
#: 1 current, 2 + k former smoker whose remaining excess risk is about
#: 1 - (k + 0.5) / FORMER_CLASSES (:func:`smoking_class`).
FORMER_SMOKER = 2
SMOKING_T_MAX = 250
FORMER_CLASSES = 5
SMOKING_CLASSES = 2 + FORMER_CLASSES
REF_EDUCATION = 4
REF_PARENT_PCS = 2


@njit(cache=True, inline="always")
def gradient(rr_bottom: float, rank: float) -> float:
    """Linear income gradient: ``rr_bottom`` at rank 0, 1 at rank 1."""
    return 1.0 + (rr_bottom - 1.0) * (1.0 - rank)


@njit(cache=True, inline="always")
def norm_cdf(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@njit(cache=True, inline="always")
def effect_dose(iv, t, rank, pcs, education, department, zone) -> float:
    """Effect of intervention type ``t`` on one person: ``effect * min(1, k * need)``
    (0 when the type is not active this year). ``iv[t]`` holds the need tables by income
    vingtile (with k folded in), PCS, diploma, department and priority zone, the income
    rank from which nobody is reached, then the effect size
    (:func:`simulation.interventions.pack`)."""
    ncol = iv.shape[1]
    eff = iv[t, ncol - 1]
    if eff == 0.0 or rank >= iv[t, ncol - 2]:
        return 0.0
    nd = ncol - 36
    v = min(np.int64(rank * np.float32(20.0)), 19)
    x = (iv[t, v] * iv[t, 20 + np.int64(pcs)] * iv[t, 27 + np.int64(education)]
         * iv[t, 32 + np.int64(department)] * iv[t, 32 + nd + np.int64(zone)])
    return eff * min(x, 1.0)


@njit(cache=True, inline="always")
def _flat(group: int, sex: int, age: int, n_ages: int) -> int:
    return (np.int64(group) * 2 + np.int64(sex)) * n_ages + np.int64(age)


@njit(cache=True, parallel=True)
def sep_step(pid, alive, sex, age, education, pcs, employment, income_rank, status_score,
             sensitive, event, n, chunk, key_sep, leave_age, retire_age, p_loss, loss_rr_edu,
             loss_income_slope, p_find, mobility_sd, w_parents, w_status,
             corr_status_income, n_ages, moves):  # pragma: no cover - numba
    """Socioeconomic position over the year (the first process of the year).

    * End of schooling at the diploma's leaving age: the never-employed category becomes
      inactive; others enter work (unemployed with three times the yearly job-loss
      probability of their diploma and rank: youth unemployment is about three times the
      job-loss rate of established workers, assumption) with an adult standard of living whose normal score mixes the
      household's (weight ``w_parents``), their own latent status (``w_status``) and noise,
      scaled to unit variance so that ranks stay uniform (``corr_status_income[sex]``, the
      correlation of the status with the household's income score, sets the scale).
    * Employed people lose their job with probability
      ``p_loss * loss_rr_edu[diploma] * (1 + slope * (0.5 - rank))`` (a sensitive period);
      the unemployed find one with ``p_find``.
    * Retirement at ``retire_age`` (a sensitive period).
    * Every rank takes a reflecting random step of standard deviation ``mobility_sd``
      (triangular noise), which keeps ranks uniform.

    A change of income vingtile moves the person between the carried counts:
    ``moves[chunk]`` (flat [group, sex, age]) gets -1 at the old and +1 at the new group
    (the old vingtile is noted in the scratch array ``event``, then counted in a second
    pass over the chunk, which keeps the main loop free of scattered writes).
    """
    n_chunks = (n + chunk - 1) // chunk
    wn = ENTRY_NOISE_WEIGHT
    # by sex: the occupational status correlates with the household's income by sex
    scale = np.sqrt(w_parents * w_parents + w_status * w_status + wn * wn
                    + 2.0 * w_parents * w_status * corr_status_income)
    width = mobility_sd * math.sqrt(6.0)
    # the small tables as scalars for the selects of the vectorised loop
    lr0, lr1, lr2, lr3, lr4 = (loss_rr_edu[0], loss_rr_edu[1], loss_rr_edu[2], loss_rr_edu[3],
                               loss_rr_edu[4])
    la0, la1, la2, la3, la4 = leave_age[0], leave_age[1], leave_age[2], leave_age[3], leave_age[4]
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        m = hi - lo
        mv = moves[numba.get_thread_id()]
        c_pid = pid[lo:hi]
        c_alive = alive[lo:hi]
        c_age = age[lo:hi]
        c_edu = education[lo:hi]
        c_emp = employment[lo:hi]
        c_rank = income_rank[lo:hi]
        c_sens = sensitive[lo:hi]
        c_event = event[lo:hi]
        # everyone but the entrants to work (marked and left untouched)
        _sep_chunk(
            c_pid, c_alive, c_age, c_edu, c_emp, c_rank, c_sens, c_event, key_sep, lr0, lr1,
            lr2, lr3, lr4, la0, la1, la2, la3, la4, loss_income_slope, p_loss, p_find,
            retire_age, width)
        rows = np.empty(m, dtype=np.int32)
        n_entrants = event_rows(c_event, np.uint8(ENTRANT), rows)
        for t in range(n_entrants):  # the entrants to work
            j = rows[t]
            i = lo + j
            a = c_age[j]
            e = c_edu[j]
            r0 = c_rank[j]
            r = np.float64(r0)
            u1, u2, u3, u4 = uniform_quad(key_sep, c_pid[j])
            risk = loss_rr_edu[e] * (1.0 + loss_income_slope * (0.5 - r))
            if pcs[i] == INACTIFS:
                st = INACTIVE
            else:
                st = UNEMPLOYED if u1 < p_loss * risk * 3.0 else EMPLOYED
                zp = norm_ppf(min(max(r, 1e-9), 1.0 - 1e-9))
                zs = status_score[i] / 20.0
                zn = norm_ppf(min(max(u4, 1e-9), 1.0 - 1e-9))
                r = norm_cdf((w_parents * zp + w_status * zs + wn * zn) / scale[sex[i]])
            st, sens = _retire(np.uint8(st), c_sens[j] & np.uint8(SENS_MATERNITY), a, retire_age)
            c_emp[j] = st
            c_sens[j] = sens
            r1 = _rank_step(r, width, u2, u3)
            c_rank[j] = r1
            c_event[j] = _vingtile_move(r0, r1)
        # the moves between vingtiles (about half the people a year): their rows, then the
        # counts
        n_moved = nonzero_rows(c_event, rows)
        for t in range(n_moved):
            j = rows[t]
            i = lo + j
            v_old = np.int64(c_event[j]) - 1
            v_new = np.int64(c_rank[j] * np.float32(20.0))
            mv[_flat(G_VINGTILE + v_old, sex[i], c_age[j], n_ages)] -= 1
            mv[_flat(G_VINGTILE + v_new, sex[i], c_age[j], n_ages)] += 1
            c_event[j] = 0


@njit(cache=True)
def _sep_chunk(
        c_pid, c_alive, c_age, c_edu, c_emp, c_rank, c_sens, c_event, key_sep, lr0, lr1,
        lr2, lr3, lr4, la0, la1, la2, la3, la4, loss_income_slope, p_loss, p_find,
        retire_age, width):  # pragma: no cover - numba
    """The common path of :func:`sep_step` over one chunk: everyone but the entrants to
    work, in a loop LLVM vectorises (selects, no branch, every value stored); a function
    of its own, as the loop does not vectorise inside a ``prange`` body."""
    m = c_pid.shape[0]
    for j in range(m):
        live = c_alive[j] != 0
        sens0 = c_sens[j]
        a = c_age[j]
        e = c_edu[j]
        st0 = c_emp[j]
        r0 = c_rank[j]
        r = np.float64(r0)
        u1, u2, u3, _ = uniform_quad(key_sep, c_pid[j])
        risk = pick(e, lr0, lr1, lr2, lr3, lr4) * (1.0 + loss_income_slope * (0.5 - r))
        entrant = (st0 == IN_EDUCATION) & (a >= pick(e, la0, la1, la2, la3, la4))
        lose = (st0 == EMPLOYED) & (u1 < p_loss * risk)
        find = (st0 == UNEMPLOYED) & (u1 < p_find)
        st = np.uint8(UNEMPLOYED) if lose else (np.uint8(EMPLOYED) if find else st0)
        sens = ((sens0 & np.uint8(SENS_MATERNITY))
                | (np.uint8(SENS_JOB_LOSS) if lose else np.uint8(0)))
        st, sens = _retire(st, sens, a, retire_age)
        r1 = _rank_step(r, width, u2, u3)
        moved = _vingtile_move(r0, r1)
        common = live & ~entrant
        c_emp[j] = st if common else st0
        c_sens[j] = sens if common else sens0
        c_rank[j] = r1 if common else r0
        c_event[j] = moved if common else (np.uint8(ENTRANT) if live else np.uint8(0))


@njit(cache=True, inline="always")
def _retire(st, sens, a, retire_age):
    """Retirement at ``retire_age`` of the employed and the unemployed (a sensitive period):
    the new employment status and sensitive-period flags."""
    retire = (a >= retire_age) & ((st == EMPLOYED) | (st == UNEMPLOYED))
    return (np.uint8(RETIRED) if retire else st,
            sens | (np.uint8(SENS_RETIREMENT) if retire else np.uint8(0)))


@njit(cache=True, inline="always")
def _vingtile_move(r0, r1):
    """The old income vingtile plus one if the rank moved from ``r0`` to another vingtile
    with ``r1``, else 0 (the mark :func:`sep_step` counts its moves from)."""
    v_old = np.int64(r0 * np.float32(20.0))
    return np.uint8(v_old + 1) if np.int64(r1 * np.float32(20.0)) != v_old else np.uint8(0)


@njit(cache=True, inline="always")
def _rank_step(r, width, u2, u3):
    """A reflecting random step of the income rank (triangular noise of half-width
    ``width``), kept in [0, 1) as float32."""
    r = r + width * (u2 + u3 - 1.0)
    r = -r if r < 0.0 else r
    r = 2.0 - r if r >= 1.0 else r
    return np.float32(min(max(r, 0.0), 0.9999999))


@njit(cache=True, parallel=True)
def exposures_step(pid, alive, sex, age, education, parent_pcs, employment, income_rank,
                   sensitive, smoking, obese, nuisance, stress, load, n, chunk, key,
                   p_init, init_rr_edu, init_rr_income, p_quit, quit_rr_edu,
                   quit_rr_unemployed, p_obese_child, child_rr_parents, p_obese_adult,
                   adult_rr_edu, adult_rr_income, p_obese_remission, p_stress,
                   stress_rr_unemployed, stress_rr_income, load_decay, load_weights,
                   sensitive_multiplier, pcs, department, care, iv,
                   eq, smoking_rules):  # pragma: no cover - numba
    """Exposures over the year, then the cumulative load.

    * Smoking: never-smokers aged 12-25 start with probability
      ``p_init[sex] * init_rr_edu[sex, diploma] * gradient(init_rr_income)``; daily smokers
      from age ``smoking_rules[0]`` quit for at least a year with ``p_quit *
      quit_rr_edu[diploma]`` (times ``quit_rr_unemployed`` when unemployed; ``p_quit`` is
      the yearly probability of a quit attempt times that of its success), becoming former
      smokers with 0 years since quitting (code 2); former smokers who quit fewer than
      ``smoking_rules[2]`` years ago relapse with probability ``smoking_rules[1]`` a year,
      the others count one more year since quitting (their excess risks decline with it,
      :func:`smoking_class`).
    * Obesity: onset for children with ``p_obese_child * child_rr_parents[parents' PCS]``,
      for adults with ``p_obese_adult * adult_rr_edu[diploma] * gradient(adult_rr_income)``;
      remission with ``p_obese_remission``.
    * Psychosocial stress (16+), redrawn each year:
      ``p_stress * gradient(stress_rr_income)`` (times ``stress_rr_unemployed``).
    * Environmental nuisance of the home is set at birth or synthesis (differential
      exposure by department and income) and does not change here.
    * Load: ``load * (1 - decay) + m * weights . (smoking, obese, nuisance, stress)``, where
      ``m = sensitive_multiplier`` at ages 0-5 and 11-17, the year of a job loss or of
      retirement, and the year after giving birth (then the maternity flag is cleared).

    Interventions (``iv``, see :func:`effect_dose`): health literacy lowers smoking
    initiation and adult obesity onset; cessation support raises quitting (26+, the ages of quitting);
    early-childhood prevention lowers childhood obesity onset (0-6) and the load added at
    0-5; youth mental health lowers stress (11-25); healthier housing remediates exposed
    homes. Counterfactuals (``eq``) replace the person's income rank and diploma by the
    reference person's in the equalised pathway.

    Without any of these interventions this year, a branch-free loop does the same
    arithmetic (a dose of 0 multiplies by exactly 1) with selects in place of branches.
    """
    n_chunks = (n + chunk - 1) // chunk
    last = iv.shape[1] - 1
    any_iv = (iv[IV_LITERACY, last] != 0.0 or iv[IV_CESSATION, last] != 0.0
              or iv[IV_EARLY, last] != 0.0 or iv[IV_YOUTH, last] != 0.0
              or iv[IV_HOUSING, last] != 0.0)
    if not any_iv:
        _exposures_plain(pid, alive, sex, age, education, parent_pcs, employment, income_rank,
                         sensitive, smoking, obese, nuisance, stress, load, n, chunk, key,
                         p_init, init_rr_edu, init_rr_income, p_quit, quit_rr_edu,
                         quit_rr_unemployed, p_obese_child, child_rr_parents, p_obese_adult,
                         adult_rr_edu, adult_rr_income, p_obese_remission, p_stress,
                         stress_rr_unemployed, stress_rr_income, load_decay, load_weights,
                         sensitive_multiplier, eq, smoking_rules)
        return
    quit_min_age = np.int64(smoking_rules[0])
    p_relapse = smoking_rules[1]
    relapse_years = np.int64(smoking_rules[2])
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        for i in range(lo, hi):
            if alive[i] == 0:
                continue
            a = age[i]
            e = education[i]
            r = np.float64(income_rank[i])
            unemployed = employment[i] == UNEMPLOYED
            u1, u2, u3, u4 = uniform_quad(key, pid[i])
            zone = (care[i] >> 2) & 1
            d_lit = 0.0
            if a >= 16:
                d_lit = effect_dose(iv, IV_LITERACY, income_rank[i], pcs[i], e, department[i],
                                    zone)
            smk = smoking[i]
            rs, es, un_s = (REF_RANK, REF_EDUCATION, False) if eq[EQ_SMOKING] else (
                r, e, unemployed)
            if smk == 0 and a >= 12 and a <= 25:
                if u1 < (p_init[sex[i]] * init_rr_edu[sex[i], es] * gradient(init_rr_income, rs)
                         * (1.0 - d_lit)):
                    smk = 1
            elif smk == 1 and a >= quit_min_age:
                q = p_quit * quit_rr_edu[es]
                if un_s:
                    q *= quit_rr_unemployed
                q *= 1.0 + effect_dose(iv, IV_CESSATION, income_rank[i], pcs[i], e,
                                       department[i], zone)
                if u1 < q:
                    smk = FORMER_SMOKER
            elif smk >= FORMER_SMOKER:
                if smk - FORMER_SMOKER < relapse_years and u1 < p_relapse:
                    smk = 1
                else:
                    smk = min(smk + 1, FORMER_SMOKER + SMOKING_T_MAX)
            smoking[i] = smk
            ob = obese[i]
            d_early = 0.0
            if a <= 6:
                d_early = effect_dose(iv, IV_EARLY, income_rank[i], pcs[i], e, department[i],
                                      zone)
            if ob == 0:
                if a < 18:
                    pp = REF_PARENT_PCS if eq[EQ_OBESITY] else parent_pcs[i]
                    h = p_obese_child * child_rr_parents[pp] * (1.0 - d_early)
                else:
                    ro, eo = (REF_RANK, REF_EDUCATION) if eq[EQ_OBESITY] else (r, e)
                    h = (p_obese_adult * adult_rr_edu[eo] * gradient(adult_rr_income, ro)
                         * (1.0 - d_lit))
                if u2 < h:
                    ob = 1
            elif u2 < p_obese_remission:
                ob = 0
            obese[i] = ob
            st = 0
            if a >= 16:
                rst = REF_RANK if eq[EQ_STRESS] else r
                ps = p_stress * gradient(stress_rr_income, rst)
                if unemployed and not eq[EQ_STRESS]:
                    ps *= stress_rr_unemployed
                if a <= 25:
                    ps *= 1.0 - effect_dose(iv, IV_YOUTH, income_rank[i], pcs[i], e,
                                            department[i], zone)
                st = 1 if u3 < ps else 0
            stress[i] = st
            nu = nuisance[i]
            if nu == 1 and u4 < effect_dose(iv, IV_HOUSING, income_rank[i], pcs[i], e,
                                             department[i], zone):
                nu = 0
                nuisance[i] = 0
            sens = sensitive[i]
            m = 1.0
            if a <= 5 or (a >= 11 and a <= 17) or sens != 0:
                m = sensitive_multiplier
            if a <= 5:
                m *= 1.0 - d_early
            add = (load_weights[0] * (smk == 1) + load_weights[1] * ob
                   + load_weights[2] * nu + load_weights[3] * st)
            load[i] = np.float32(load[i] * (1.0 - load_decay) + m * add)
            sensitive[i] = sens & np.uint8(SENS_JOB_LOSS | SENS_RETIREMENT)


@njit(cache=True, parallel=True)
def _exposures_plain(pid, alive, sex, age, education, parent_pcs, employment, income_rank,
                     sensitive, smoking, obese, nuisance, stress, load, n, chunk, key,
                     p_init, init_rr_edu, init_rr_income, p_quit, quit_rr_edu,
                     quit_rr_unemployed, p_obese_child, child_rr_parents, p_obese_adult,
                     adult_rr_edu, adult_rr_income, p_obese_remission, p_stress,
                     stress_rr_unemployed, stress_rr_income, load_decay, load_weights,
                     sensitive_multiplier, eq, smoking_rules):  # pragma: no cover - numba
    """:func:`exposures_step` without interventions: the same arithmetic, in loops that
    LLVM vectorises: no branch, no early exit, no load inside a select (every value is
    stored, the dead keeping theirs), selects in place of the small tables' look-ups, and the
    load in a loop of its own. (LLVM's cost model is fickle here: check the vectorisation
    remarks, ``-pass-remarks=loop-vectorize``, after changing these loops.)"""
    n_chunks = (n + chunk - 1) // chunk
    eq_s = eq[EQ_SMOKING] != 0
    eq_o = eq[EQ_OBESITY] != 0
    eq_t = eq[EQ_STRESS] != 0
    ne_s, ne_t = not eq_s, not eq_t
    w0, w1, w2, w3 = load_weights[0], load_weights[1], load_weights[2], load_weights[3]
    keep_load = 1.0 - load_decay
    pi0, pi1 = p_init[0], p_init[1]
    ie0, ie1, ie2, ie3, ie4 = (init_rr_edu[0, 0], init_rr_edu[0, 1], init_rr_edu[0, 2],
                               init_rr_edu[0, 3], init_rr_edu[0, 4])
    if0, if1, if2, if3, if4 = (init_rr_edu[1, 0], init_rr_edu[1, 1], init_rr_edu[1, 2],
                               init_rr_edu[1, 3], init_rr_edu[1, 4])
    qe0, qe1, qe2, qe3, qe4 = (quit_rr_edu[0], quit_rr_edu[1], quit_rr_edu[2], quit_rr_edu[3],
                               quit_rr_edu[4])
    ae0, ae1, ae2, ae3, ae4 = (adult_rr_edu[0], adult_rr_edu[1], adult_rr_edu[2],
                               adult_rr_edu[3], adult_rr_edu[4])
    cp = child_rr_parents
    quit_min_age = np.int64(smoking_rules[0])
    p_relapse = smoking_rules[1]
    relapse_years = np.int64(smoking_rules[2])
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        c_pid = pid[lo:hi]
        c_alive = alive[lo:hi]
        c_sex = sex[lo:hi]
        c_age = age[lo:hi]
        c_edu = education[lo:hi]
        c_ppcs = parent_pcs[lo:hi]
        c_emp = employment[lo:hi]
        c_rank = income_rank[lo:hi]
        c_sens = sensitive[lo:hi]
        c_smk = smoking[lo:hi]
        c_ob = obese[lo:hi]
        c_nu = nuisance[lo:hi]
        c_st = stress[lo:hi]
        c_load = load[lo:hi]
        _exposures_chunk(
            c_pid, c_alive, c_sex, c_age, c_edu, c_ppcs, c_emp, c_rank, c_sens, c_smk, c_ob,
            c_nu, c_st, c_load, key, eq_s, eq_o, eq_t, ne_s, ne_t, w0, w1, w2, w3,
            keep_load, pi0, pi1, ie0, ie1, ie2, ie3, ie4, if0, if1, if2, if3, if4, qe0, qe1,
            qe2, qe3, qe4, ae0, ae1,
            ae2, ae3, ae4, cp, init_rr_income, p_quit, quit_rr_unemployed, p_obese_child,
            p_obese_adult, adult_rr_income, p_obese_remission, p_stress,
            stress_rr_unemployed, stress_rr_income, sensitive_multiplier, quit_min_age,
            p_relapse, relapse_years)


@njit(cache=True)
def _exposures_chunk(
        c_pid, c_alive, c_sex, c_age, c_edu, c_ppcs, c_emp, c_rank, c_sens, c_smk, c_ob,
        c_nu, c_st, c_load, key, eq_s, eq_o, eq_t, ne_s, ne_t, w0, w1, w2, w3, keep_load,
        pi0, pi1, ie0, ie1, ie2, ie3, ie4, if0, if1, if2, if3, if4, qe0, qe1, qe2, qe3, qe4,
        ae0, ae1, ae2, ae3, ae4,
        cp, init_rr_income, p_quit, quit_rr_unemployed, p_obese_child, p_obese_adult,
        adult_rr_income, p_obese_remission, p_stress, stress_rr_unemployed,
        stress_rr_income, sensitive_multiplier, quit_min_age, p_relapse,
        relapse_years):  # pragma: no cover - numba
    """One chunk of :func:`_exposures_plain`: a function of its own, so that the chunk's
    arrays and the constants reach LLVM as arguments, as in serial code (the loops
    vectorise then; inside a ``prange`` body they do not)."""
    m = c_pid.shape[0]
    for j in range(m):
        live = c_alive[j] != 0
        a = c_age[j]
        e = c_edu[j]
        r = np.float64(c_rank[j])
        unemployed = c_emp[j] == UNEMPLOYED
        u1, u2, u3, _ = uniform_quad(key, c_pid[j])
        smk0 = c_smk[j]
        rs = REF_RANK if eq_s else r
        es = np.uint8(REF_EDUCATION) if eq_s else e
        woman = c_sex[j] != 0
        rr_e = pick(es, if0, if1, if2, if3, if4) if woman else pick(es, ie0, ie1, ie2, ie3, ie4)
        p_start = (pi1 if woman else pi0) * rr_e * gradient(init_rr_income, rs)
        q = p_quit * pick(es, qe0, qe1, qe2, qe3, qe4)
        q = q * quit_rr_unemployed if unemployed & ne_s else q
        start = (smk0 == 0) & (a >= 12) & (a <= 25) & (u1 < p_start)
        stop = (smk0 == 1) & (a >= quit_min_age) & (u1 < q)
        former = smk0 >= FORMER_SMOKER
        relapse = former & (np.int64(smk0) < FORMER_SMOKER + relapse_years) & (u1 < p_relapse)
        aged = np.uint8(min(np.int64(smk0) + 1, FORMER_SMOKER + SMOKING_T_MAX))
        smk = (np.uint8(1) if start | relapse else
               (np.uint8(FORMER_SMOKER) if stop else (aged if former else smk0)))
        c_smk[j] = smk if live else smk0
        ob0 = c_ob[j]
        ppcs = c_ppcs[j]
        pp = np.uint8(REF_PARENT_PCS) if eq_o else ppcs
        ro = REF_RANK if eq_o else r
        eo = np.uint8(REF_EDUCATION) if eq_o else e
        h_child = p_obese_child * pick(pp, cp[0], cp[1], cp[2], cp[3], cp[4], cp[5], cp[6])
        h_adult = (p_obese_adult * pick(eo, ae0, ae1, ae2, ae3, ae4)
                   * gradient(adult_rr_income, ro))
        h = h_child if a < 18 else h_adult
        onset = u2 < h
        ob = np.uint8(onset) if ob0 == 0 else (np.uint8(0) if u2 < p_obese_remission else ob0)
        c_ob[j] = ob if live else ob0
        st0 = c_st[j]
        rst = REF_RANK if eq_t else r
        ps = p_stress * gradient(stress_rr_income, rst)
        ps = ps * stress_rr_unemployed if unemployed & ne_t else ps
        st = np.uint8((a >= 16) & (u3 < ps))
        c_st[j] = st if live else st0
    for j in range(m):
        live = c_alive[j] != 0
        a = c_age[j]
        smk = c_smk[j]
        ob = c_ob[j]
        st = c_st[j]
        nu = c_nu[j]
        sens = c_sens[j]
        period = (a <= 5) | ((a >= 11) & (a <= 17)) | (sens != 0)
        mult = sensitive_multiplier if period else 1.0
        add = w0 * (smk == 1) + w1 * ob + w2 * nu + w3 * st
        ld = c_load[j]
        c_load[j] = np.float32(ld * keep_load + mult * add) if live else ld
        c_sens[j] = sens & np.uint8(SENS_JOB_LOSS | SENS_RETIREMENT) if live else sens


@njit(cache=True, parallel=True)
def care_step(pid, alive, department, employment, income_rank, insurance, care, n, chunk,
              key_take_up, key_forgone, css_free_max,
              css_contrib_max, ntu_free, ntu_contrib, p_none_eligible, p_none_other,
              none_rr_unemployed, p_no_gp_dept, p_forgone, forgone_rr_none,
              forgone_rr_income, forgone_rr_no_gp, age, pcs, education, iv,
              eq):  # pragma: no cover - numba
    """Access to care over the year.

    Insurance follows eligibility (income rank below ``css_free_max`` for the free CSS,
    below ``css_contrib_max`` for the contributory CSS) and a person's fixed propensities
    (counter-based draws that do not change with the year, so take-up is persistent):
    eligible people take the CSS up unless their propensity falls below the non-take-up
    rate; non-takers have no complementary insurance with ``p_none_eligible``; others with
    ``p_none_other`` (times ``none_rr_unemployed`` for the unemployed and never-employed).
    A registered GP unless a fixed propensity falls below ``p_no_gp_dept[in a priority
    zone, department]``. Forgone care for cost, redrawn each year:
    ``p_forgone * gradient(forgone_rr_income)`` times ``forgone_rr_none`` without
    insurance and ``forgone_rr_no_gp`` without a GP.

    Interventions: outreach, automatic enrolment and health literacy lower the eligible's
    non-take-up; extra GP time lowers the probability of having no GP in priority zones;
    lower out-of-pocket costs lower forgone care (16+). The counterfactual ``eq[care]``
    gives everyone the income rank of the reference person (and no unemployment effect).

    Without any of these interventions this year, a branch-free loop does the same
    arithmetic (a dose of 0 multiplies by exactly 1) with selects in place of branches.
    """
    n_chunks = (n + chunk - 1) // chunk
    last = iv.shape[1] - 1
    if (iv[IV_OUTREACH, last] == 0.0 and iv[IV_AUTO_ENROL, last] == 0.0
            and iv[IV_LITERACY, last] == 0.0 and iv[IV_GP, last] == 0.0
            and iv[IV_OUT_OF_POCKET, last] == 0.0):
        _care_plain(pid, alive, department, employment, income_rank, insurance, care, n, chunk,
                    key_take_up, key_forgone, css_free_max, css_contrib_max, ntu_free,
                    ntu_contrib, p_none_eligible, p_none_other, none_rr_unemployed,
                    p_no_gp_dept, p_forgone, forgone_rr_none, forgone_rr_income,
                    forgone_rr_no_gp, eq)
        return
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        for i in range(lo, hi):
            if alive[i] == 0:
                continue
            r = np.float64(REF_RANK) if eq[EQ_CARE] else np.float64(income_rank[i])
            # fixed propensities (the key does not change with the year), then this year's
            u_take, u_none, u_gp, _ = uniform_quad(key_take_up, pid[i])
            u_f, _, _, _ = uniform_quad(key_forgone, pid[i])
            flags = care[i] & np.uint8(CARE_PRIORITY)
            zone = 1 if flags else 0
            rk, pc, ed, dp = income_rank[i], pcs[i], education[i], department[i]
            if r < css_contrib_max:
                keep = ((1.0 - effect_dose(iv, IV_OUTREACH, rk, pc, ed, dp, zone))
                        * (1.0 - effect_dose(iv, IV_AUTO_ENROL, rk, pc, ed, dp, zone)))
                if age[i] >= 16:
                    keep *= 1.0 - effect_dose(iv, IV_LITERACY, rk, pc, ed, dp, zone)
                if r < css_free_max:
                    ins = INS_CSS_FREE if u_take >= ntu_free * keep else (
                        INS_NONE if u_none < p_none_eligible else INS_PRIVATE)
                else:
                    ins = INS_CSS_CONTRIB if u_take >= ntu_contrib * keep else (
                        INS_NONE if u_none < p_none_eligible else INS_PRIVATE)
            else:
                pn = p_none_other
                if (employment[i] == UNEMPLOYED or employment[i] == INACTIVE) and not eq[EQ_CARE]:
                    pn *= none_rr_unemployed
                ins = INS_NONE if u_none < pn else INS_PRIVATE
            insurance[i] = ins
            p_no_gp = p_no_gp_dept[zone, dp]
            if zone:
                p_no_gp *= 1.0 - effect_dose(iv, IV_GP, rk, pc, ed, dp, zone)
            gp = u_gp >= p_no_gp
            if gp:
                flags |= np.uint8(CARE_GP)
            pf = p_forgone * gradient(forgone_rr_income, r)
            if age[i] >= 16:
                pf *= 1.0 - effect_dose(iv, IV_OUT_OF_POCKET, rk, pc, ed, dp, zone)
            if ins == INS_NONE:
                pf *= forgone_rr_none
            if not gp:
                pf *= forgone_rr_no_gp
            if u_f < pf:
                flags |= np.uint8(CARE_FORGONE)
            care[i] = flags


@njit(cache=True, parallel=True)
def _care_plain(pid, alive, department, employment, income_rank, insurance, care, n, chunk,
                key_take_up, key_forgone, css_free_max, css_contrib_max, ntu_free,
                ntu_contrib, p_none_eligible, p_none_other, none_rr_unemployed, p_no_gp_dept,
                p_forgone, forgone_rr_none, forgone_rr_income, forgone_rr_no_gp,
                eq):  # pragma: no cover - numba
    """:func:`care_step` without interventions: the same arithmetic, branch-free."""
    n_chunks = (n + chunk - 1) // chunk
    eq_c = eq[EQ_CARE] != 0
    ne_c = not eq_c
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        m = hi - lo
        c_pid = pid[lo:hi]
        c_alive = alive[lo:hi]
        c_dep = department[lo:hi]
        c_emp = employment[lo:hi]
        c_rank = income_rank[lo:hi]
        c_ins = insurance[lo:hi]
        c_care = care[lo:hi]
        for j in range(m):
            if c_alive[j] == 0:
                continue
            r = np.float64(REF_RANK) if eq_c else np.float64(c_rank[j])
            u_take, u_none, u_gp, _ = uniform_quad(key_take_up, c_pid[j])
            u_f, _, _, _ = uniform_quad(key_forgone, c_pid[j])
            flags = c_care[j] & np.uint8(CARE_PRIORITY)
            zone = 1 if flags else 0
            free = r < css_free_max
            eligible = r < css_contrib_max
            emp = c_emp[j]
            pn = p_none_other
            jobless = ((emp == UNEMPLOYED) | (emp == INACTIVE)) & ne_c  # no branch
            pn = pn * none_rr_unemployed if jobless else pn
            p_none = p_none_eligible if eligible else pn
            css = INS_CSS_FREE if free else INS_CSS_CONTRIB
            takes = eligible & (u_take >= (ntu_free if free else ntu_contrib))
            ins = css if takes else (INS_NONE if u_none < p_none else INS_PRIVATE)
            c_ins[j] = ins
            gp = u_gp >= p_no_gp_dept[zone, c_dep[j]]
            flags |= np.uint8(CARE_GP) if gp else np.uint8(0)
            pf = p_forgone * gradient(forgone_rr_income, r)
            pf = pf * forgone_rr_none if ins == INS_NONE else pf
            pf = pf if gp else pf * forgone_rr_no_gp
            flags |= np.uint8(CARE_FORGONE) if u_f < pf else np.uint8(0)
            c_care[j] = flags


N_RANK_BINS_ONSET = 50
#: Relative margin of the load factor's upper bound over its computed value.
LOAD_FACTOR_MARGIN = 1.0 + 1e-12


@njit(cache=True, inline="always")
def smoking_class(smk, age, former_class) -> int:
    """A person's smoking class in the risk tables: 0 never, 1 current, 2 + k for a former
    smoker, ``k = former_class[years since quitting, band of age at quitting]`` (bands
    <40, 40-49, 50-59, 60+; built by :func:`simulation.pathways.former_class_table`)."""
    code = np.int64(smk)
    t = max(code - FORMER_SMOKER, 0)
    band = min(max((np.int64(age) - t - 30) // 10, 0), 3)
    k = np.int64(former_class[min(t, former_class.shape[0] - 1), band])
    return code if code < FORMER_SMOKER else FORMER_SMOKER + k


@njit(cache=True, inline="always")
def exposure_combo(smk_class, ob, st, nu) -> int:
    """Index of a person's exposures in the onset table: smoking class
    (:func:`smoking_class`, 0..SMOKING_CLASSES-1) x obese x stress x nuisance."""
    return np.int64(smk_class) * 8 + np.int64(ob) * 4 + np.int64(st) * 2 + np.int64(nu)


@njit(cache=True, inline="always")
def poor_access(care_flags, insurance_code) -> bool:
    """Forgone care this year, no registered GP, or no complementary insurance."""
    # | rather than or: no branch on a random outcome
    return (((care_flags & np.uint8(CARE_FORGONE)) != 0) | ((care_flags & np.uint8(CARE_GP)) == 0)
            | (insurance_code == INS_NONE))


@njit(cache=True, inline="always")
def sep_group(pcs, education) -> int:
    """Index of a person's group in ``rr_death_sep``: ``2 * ouvrier + no diploma``."""
    return np.int64(pcs == OUVRIERS) * 2 + np.int64(education == SANS_DIPLOME)


@njit(cache=True, inline="always")
def death_rr(cond, poor, smk, dis, s, a, rank, g, death_cond_rr, rr_death_income,
             rr_death_sep):
    """Relative risk of death before normalisation (see :func:`disease_step`); ``smk`` is
    the person's :func:`smoking_class`, ``g`` their :func:`sep_group` (0 under the
    mortality counterfactual)."""
    n_bins = rr_death_income.shape[2]
    combo = (((np.int64(cond) * 2 + np.int64(poor)) * SMOKING_CLASSES + np.int64(smk)) * 2
             + np.int64(dis))
    return (death_cond_rr[combo] * rr_death_income[s, a, min(np.int64(rank * np.float32(n_bins)),
                                                             n_bins - 1)]
            * rr_death_sep[s, a, g])


@njit(cache=True, parallel=True)
def death_rr_all(alive, sex, age, income_rank, smoking, insurance, care, conditions,
                 disability, pcs, education, n, death_cond_rr, rr_death_income, rr_death_sep,
                 former_class, eq, out):  # pragma: no cover
    """Un-normalised relative risk of death of everyone (for the normalisation at start)."""
    for i in prange(n):
        if alive[i] == 0:
            out[i] = 0.0
            continue
        eq_m = eq[EQ_MORTALITY] != 0
        out[i] = death_rr(conditions[i], poor_access(care[i], insurance[i]),
                          smoking_class(smoking[i], age[i], former_class),
                          disability[i], sex[i], age[i],
                          np.float32(REF_RANK) if eq_m else income_rank[i],
                          0 if eq_m else sep_group(pcs[i], education[i]),
                          death_cond_rr, rr_death_income, rr_death_sep)


@njit(cache=True, parallel=True)
def condition_rr_all(alive, age, income_rank, smoking, obese, stress, nuisance, load, n,
                     onset_rr, load_log_rr, former_class, eq, out):  # pragma: no cover - numba
    """Relative risk of onset of every condition for everyone, ``out[condition, person]``
    (for the normalisation of baseline incidence at start and for initial prevalence)."""
    for i in prange(n):
        lf = exp_small(load_log_rr * load[i])
        combo = exposure_combo(smoking_class(smoking[i], age[i], former_class), obese[i],
                               stress[i], nuisance[i])
        r_on = np.float32(REF_RANK) if eq[EQ_DISEASE] else income_rank[i]
        rb = min(np.int64(r_on * np.float32(N_RANK_BINS_ONSET)), N_RANK_BINS_ONSET - 1)
        for k in range(N_CONDITIONS):
            out[k, i] = onset_rr[k, combo, rb] * lf if alive[i] else 0.0


#: Number of conditions in each 5-bit mask.
N_BITS = np.array([bin(m).count("1") for m in range(32)], dtype=np.int64)


@njit(cache=True, inline="always")
def _onset(cond, k, u, inc_base, sa, onset_rr, combo, rb, load_factor, factor, p_remission):
    """One condition's transition: remission with ``p_remission`` if present (negative: the
    condition does not remit), else onset with hazard
    ``inc_base[k, sex, age] * onset_rr[k, combo, bin] * load * factor``."""
    bit = np.uint8(1 << k)
    if cond & bit:
        if u < p_remission:
            return cond & ~bit
        return cond
    h = inc_base[k, sa] * onset_rr[k, combo, rb] * load_factor * factor
    if u < prob_from_hazard(h):
        return cond | bit
    return cond


@njit(cache=True, parallel=True)
def disease_step(pid, alive, sex, age, income_rank, smoking, obese, stress, nuisance, load,
                 insurance, care, conditions, disability, rr_death, n, chunk, key_disease,
                 inc_base, onset_rr, load_log_rr, p_cancer_remission,
                 dis_onset, dis_rr_condition, dis_rr_income, dis_progression_rr,
                 p_dis_recovery, death_cond_rr, rr_death_income, rr_death_sep, death_norm,
                 department, pcs, education, n_ages, disabled_counts, iv,
                 eq, former_class):  # pragma: no cover - numba
    """Chronic conditions, disability, and the relative risk of death, over the year.

    Onset of condition c (if absent) with hazard
    ``inc_base[c, sex, age] * onset_rr[c, exposures, rank bin] * exp(load_log_rr * load)``
    (``inc_base`` flat over sex * n_ages + age),
    where ``onset_rr`` (built by :func:`simulation.pathways.onset_rr_table`) holds the
    exposures' relative risks, differential vulnerability and the residual income gradient;
    people living with cancer leave that state with
    ``p_cancer_remission``. Activity limitation starts with hazard
    ``dis_onset[sex, age] * dis_rr_condition[n_conditions] * gradient(dis_rr_income)`` (times
    ``dis_progression_rr`` with a condition and poor access to care) and ends with
    ``p_dis_recovery``. Poor access to care: forgone care this year, no complementary
    insurance or no registered GP.

    The relative risk of death is ``death_norm[sex, age]`` times ``death_cond_rr`` of the
    person's conditions, access to care, smoking and disability (built by
    :func:`simulation.pathways.death_rr_table`: for each condition
    ``1 + (RR_c - 1) * (case-fatality factor if poor access)``, times the direct relative
    risks of smoking and disability) times the residual income gradient
    ``rr_death_income[sex, age, rank bin]`` times ``rr_death_sep[sex, age, group]``, the
    excess risk of ouvriers (occupational risks) and of people without diploma
    (:func:`sep_group`). ``death_norm`` makes the mean relative risk at each
    age and sex 1 in the initial population, so the population keeps INED's mortality.

    The disabled are counted by [group, sex, age] into ``disabled_counts[chunk]`` (flat),
    for healthy life expectancy.

    Youth mental-health support lowers the onset of psychiatric conditions at 11-25. The
    counterfactuals ``eq[disease]`` and ``eq[mortality]`` use the reference person's rank in
    the onset table (vulnerability and residual gradient) and the reference person's rank,
    category and diploma in the residual mortality gradients.

    Each chunk is visited in passes: a branch-free pass over everyone computes the draws
    and the onset hazards and the relative risk of death as if nothing changed, and flags
    whoever might change (a draw below the hazard h bounds a draw below ``1 - exp(-h)``,
    which is at most h; the load factor is replaced by an upper bound with a short
    dependency chain) or needs the general path (a load factor outside the polynomial's
    range, youth mental-health support); a second pass reruns the flagged people through
    the general per-person path; a third lists the disabled and a fourth counts them.
    Both paths do the same floating-point operations for a person, so the results are
    those of the general path alone.
    """
    n_chunks = (n + chunk - 1) // chunk
    n_threads = disabled_counts.shape[0]
    flags = np.zeros((n_threads, chunk), dtype=np.uint8)
    # the tables with the conditions last, so that a person's five values are adjacent
    inc_t = np.ascontiguousarray(inc_base.T)
    onset_t = np.empty((onset_rr.shape[1], onset_rr.shape[2], N_CONDITIONS))
    for k in range(N_CONDITIONS):
        for cb in range(onset_rr.shape[1]):
            for b in range(onset_rr.shape[2]):
                onset_t[cb, b, k] = onset_rr[k, cb, b]
    eq_d = eq[EQ_DISEASE] != 0
    eq_m = eq[EQ_MORTALITY] != 0
    youth_on = iv[IV_YOUTH, iv.shape[1] - 1] != 0.0
    ref = np.float32(REF_RANK)
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        m = hi - lo
        tid = numba.get_thread_id()
        dc = disabled_counts[tid]
        fl = flags[tid]
        c_pid = pid[lo:hi]
        c_alive = alive[lo:hi]
        c_sex = sex[lo:hi]
        c_age = age[lo:hi]
        c_rank = income_rank[lo:hi]
        c_smk = smoking[lo:hi]
        c_ob = obese[lo:hi]
        c_st = stress[lo:hi]
        c_nu = nuisance[lo:hi]
        c_load = load[lo:hi]
        c_ins = insurance[lo:hi]
        c_care = care[lo:hi]
        c_cond = conditions[lo:hi]
        c_dis = disability[lo:hi]
        c_rr = rr_death[lo:hi]
        c_pcs = pcs[lo:hi]
        c_edu = education[lo:hi]
        for j in range(m):
            s = np.int64(c_sex[j])
            a = np.int64(c_age[j])
            rk = c_rank[j]
            smk = smoking_class(c_smk[j], a, former_class)
            combo = exposure_combo(smk, c_ob[j], c_st[j], c_nu[j])
            r_on = ref if eq_d else rk
            rb = min(np.int64(r_on * np.float32(N_RANK_BINS_ONSET)), N_RANK_BINS_ONSET - 1)
            x = load_log_rr * c_load[j]
            in_range = (x >= -0.5) & (x <= 0.5)  # else the general path's library exp
            # above the general path's load factor (exp_poly) when |x| <= 0.5:
            # exp(x) <= 1 + x + x^2 there, with room for rounding
            lf = (1.0 + x + x * x) * LOAD_FACTOR_MARGIN
            cd = c_cond[j]
            ua, ub, uc, ud, ue, u_dis = uniform_six(key_disease, c_pid[j])
            sa = s * n_ages + a
            # a draw below the hazard (itself above the probability) may change a condition
            may = ((cd & np.uint8(1)) == 0) & (ua < inc_t[sa, 0] * onset_t[combo, rb, 0] * lf)
            may |= ((cd & np.uint8(2)) == 0) & (ub < inc_t[sa, 1] * onset_t[combo, rb, 1] * lf)
            h2 = inc_t[sa, 2] * onset_t[combo, rb, 2] * lf
            cancer = (cd & np.uint8(4)) != 0
            may |= (~cancer & (uc < h2)) | (cancer & (uc < p_cancer_remission))
            may |= ((cd & np.uint8(8)) == 0) & (ud < inc_t[sa, 3] * onset_t[combo, rb, 3] * lf)
            may |= ((cd & np.uint8(16)) == 0) & (ue < inc_t[sa, 4] * onset_t[combo, rb, 4] * lf)
            n_cond = N_BITS[cd & np.uint8(31)]
            poor = poor_access(c_care[j], c_ins[j])
            dis = c_dis[j]
            h = (dis_onset[s, a] * dis_rr_condition[n_cond]
                 * gradient(dis_rr_income, np.float64(rk)))
            h = h * (dis_progression_rr if poor & (n_cond > 0) else 1.0)
            may |= ((dis == 0) & (u_dis < h)) | ((dis != 0) & (u_dis < p_dis_recovery))
            youth = youth_on & (a >= 11) & (a <= 25)
            live = c_alive[j] != 0
            fl[j] = np.uint8(live) & (np.uint8(may) | np.uint8(youth)
                                      | (np.uint8(in_range) ^ np.uint8(1)))
            r_d = ref if eq_m else rk
            g = 0 if eq_m else sep_group(c_pcs[j], c_edu[j])
            rr = np.float32(death_norm[s, a] * death_rr(cd, poor, smk, dis, s, a, r_d, g,
                                                         death_cond_rr, rr_death_income,
                                                         rr_death_sep))
            c_rr[j] = rr if live else c_rr[j]
        # the flagged people's rows without a branch, then the general path for them
        rows = np.empty(m, dtype=np.int32)
        n_fl = nonzero_rows(fl[:m], rows)
        for t in range(n_fl):
            i = lo + rows[t]
            s = sex[i]
            a = age[i]
            r = np.float64(income_rank[i])
            smk = smoking_class(smoking[i], a, former_class)
            combo = exposure_combo(smk, obese[i], stress[i], nuisance[i])
            r_on = np.float32(REF_RANK) if eq_d else income_rank[i]
            rb = min(np.int64(r_on * np.float32(N_RANK_BINS_ONSET)), N_RANK_BINS_ONSET - 1)
            d_youth = 0.0
            if a >= 11 and a <= 25:
                d_youth = effect_dose(iv, IV_YOUTH, income_rank[i], pcs[i], education[i],
                                      department[i], (care[i] >> 2) & 1)
            load_factor = exp_small(load_log_rr * load[i])
            poor = poor_access(care[i], insurance[i])
            cond = conditions[i]
            ua, ub, uc, ud, ue, u_dis = uniform_six(key_disease, pid[i])
            sa = np.int64(s) * n_ages + np.int64(a)
            cond = _onset(cond, 0, ua, inc_base, sa, onset_rr, combo, rb, load_factor, 1.0, -1.0)
            cond = _onset(cond, 1, ub, inc_base, sa, onset_rr, combo, rb, load_factor, 1.0, -1.0)
            cond = _onset(cond, CANCER, uc, inc_base, sa, onset_rr, combo, rb, load_factor, 1.0,
                          p_cancer_remission)
            cond = _onset(cond, 3, ud, inc_base, sa, onset_rr, combo, rb, load_factor, 1.0, -1.0)
            cond = _onset(cond, PSYCHIATRIC, ue, inc_base, sa, onset_rr, combo, rb, load_factor,
                          1.0 - d_youth, -1.0)
            conditions[i] = cond
            n_cond = N_BITS[cond & np.uint8(31)]
            dis = disability[i]
            ud = u_dis
            if dis == 0:
                h = dis_onset[s, a] * dis_rr_condition[n_cond] * gradient(dis_rr_income, r)
                if poor and n_cond > 0:
                    h *= dis_progression_rr
                if ud < prob_from_hazard(h):
                    dis = 1
            elif ud < p_dis_recovery:
                dis = 0
            disability[i] = dis
            r_d = np.float32(REF_RANK) if eq_m else income_rank[i]
            g = 0 if eq_m else sep_group(pcs[i], education[i])
            rr_death[i] = np.float32(death_norm[s, a] * death_rr(
                cond, poor, smk, dis, s, a, r_d, g, death_cond_rr, rr_death_income,
                rr_death_sep))
        # the disabled (about one in nine): their rows without a branch, then their counts
        n_dis = 0
        for j in range(m):
            rows[n_dis] = j
            n_dis += c_alive[j] & c_dis[j]
        for t in range(n_dis):
            i = lo + rows[t]
            _count(dc, sex[i], age[i], income_rank[i], pcs[i], education[i], department[i],
                   n_ages)
