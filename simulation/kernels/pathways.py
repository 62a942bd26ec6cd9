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
  results never depend on the number of threads;
* a kernel takes the state as a :class:`records.State` and its parameters as a
  namedtuple declared beside it (:class:`SepParams`, :class:`ExposureParams`,
  :class:`CareParams`, :class:`DiseaseParams`);
* each formula is written once. The exposure and care kernels run one chunk function
  (``_exposures_chunk``, ``_care_chunk``) on two paths: with the doses of the year's
  interventions (the general path) or, when none of them acts, compiled without the
  doses (the fast path: a dose of 0 multiplies by exactly 1, so both paths give the same
  results, bit for bit). The disease kernel's fast pass and its per-person general path
  share their helpers (:func:`onset_cell`, :func:`disability_hazard`,
  :func:`person_death_rr`). ``general=True`` forces the general path, for tests.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np
from numba import njit, prange

from ..rng import uniform_quad, uniform_six
from .demography import G_VINGTILE, _count, event_rows, nonzero_rows
from .fastmath import exp_small, norm_ppf, pick, prob_from_hazard
from .records import State

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
#: The job-loss probability of entrants to work relative to established workers'.
ENTRY_LOSS_FACTOR = 3.0
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
#: Ages (years) that interventions reach: health literacy and lower out-of-pocket costs
#: from ADULT_AGE, early-childhood prevention up to EARLY_MAX_AGE (its part of the load up
#: to 5), youth mental-health support over YOUTH_AGES.
ADULT_AGE = 16
EARLY_MAX_AGE = 6
YOUTH_AGES = (11, 25)


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


@njit(cache=True, inline="always")
def active(iv, t) -> bool:
    """Whether intervention type ``t`` acts this year (its effect size in ``iv`` is not 0)."""
    return iv[t, iv.shape[1] - 1] != 0.0


@njit(cache=True, inline="always")
def zone_of(care_flags) -> int:
    """1 for a person living in a priority zone for access to care, else 0."""
    return (care_flags >> 2) & 1


@njit(cache=True, inline="always")
def youth_dose(iv, age, rank, pcs, education, department, care_flags) -> float:
    """The dose of youth mental-health support (:func:`effect_dose`): 0 outside ages
    ``YOUTH_AGES`` (years)."""
    if age < YOUTH_AGES[0] or age > YOUTH_AGES[1]:
        return 0.0
    return effect_dose(iv, IV_YOUTH, rank, pcs, education, department, zone_of(care_flags))


# ---------------------------------------------------------------- socioeconomic position

#: Parameters of :func:`sep_step`: school-leaving age by diploma (years, uint8[5]),
#: retirement age (years, uint8), yearly probability of losing a job at median income and
#: reference diploma, its relative risk by diploma and its income slope, yearly
#: probability of finding a job, standard deviation of the yearly change of income rank,
#: the weights of the household's score and of one's own status in the score drawn at
#: entry to work, and the correlation of the status with the household's income score by
#: sex.
SepParams = namedtuple("SepParams", (
    "leave_age", "retire_age", "p_loss", "loss_rr_edu", "loss_income_slope", "p_find",
    "mobility_sd", "w_parents", "w_status", "corr_status_income"))


@njit(cache=True, parallel=True)
def sep_step(st: State, prm: SepParams, n, chunk, key_sep, n_ages,
             moves):  # pragma: no cover - numba
    """Socioeconomic position over the year (the first process of the year); ``prm`` is a
    :class:`SepParams`.

    * End of schooling at the diploma's leaving age: the never-employed category becomes
      inactive; others enter work (unemployed with :data:`ENTRY_LOSS_FACTOR` times the
      yearly job-loss probability of their diploma and rank: youth unemployment is about
      three times the job-loss rate of established workers, assumption) with an adult
      standard of living whose normal score mixes the household's (weight ``w_parents``),
      their own latent status (``w_status``) and noise, scaled to unit variance so that
      ranks stay uniform (``corr_status_income[sex]``, the correlation of the status with
      the household's income score, sets the scale).
    * Employed people lose their job with probability
      ``p_loss * loss_rr_edu[diploma] * (1 + slope * (0.5 - rank))`` (a sensitive period,
      :func:`job_loss_risk`); the unemployed find one with ``p_find``.
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
    w_parents, w_status = prm.w_parents, prm.w_status
    # by sex: the occupational status correlates with the household's income by sex
    scale = np.sqrt(w_parents * w_parents + w_status * w_status + wn * wn
                    + 2.0 * w_parents * w_status * prm.corr_status_income)
    width = prm.mobility_sd * math.sqrt(6.0)
    loss_rr_edu, slope = prm.loss_rr_edu, prm.loss_income_slope
    p_loss, retire_age = prm.p_loss, prm.retire_age
    pid, sex, age, education, pcs = st.pid, st.sex, st.age, st.education, st.pcs
    employment, income_rank, status_score = st.employment, st.income_rank, st.status_score
    sensitive, event = st.sensitive, st.event
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        m = hi - lo
        mv = moves[numba.get_thread_id()]
        # everyone but the entrants to work (marked and left untouched)
        _sep_chunk(st, prm, lo, hi, key_sep, width)
        c_pid = pid[lo:hi]
        c_age = age[lo:hi]
        c_edu = education[lo:hi]
        c_emp = employment[lo:hi]
        c_rank = income_rank[lo:hi]
        c_sens = sensitive[lo:hi]
        c_event = event[lo:hi]
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
            risk = job_loss_risk(loss_rr_edu[e], slope, r)
            if pcs[i] == INACTIFS:
                emp = INACTIVE
            else:
                emp = UNEMPLOYED if u1 < p_loss * risk * ENTRY_LOSS_FACTOR else EMPLOYED
                zp = norm_ppf(min(max(r, 1e-9), 1.0 - 1e-9))
                zs = status_score[i] / 20.0
                zn = norm_ppf(min(max(u4, 1e-9), 1.0 - 1e-9))
                r = norm_cdf((w_parents * zp + w_status * zs + wn * zn) / scale[sex[i]])
            emp, sens = _retire(np.uint8(emp), c_sens[j] & np.uint8(SENS_MATERNITY), a,
                                retire_age)
            c_emp[j] = emp
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
def _sep_chunk(st, prm, lo, hi, key_sep, width):  # pragma: no cover - numba
    """The common path of :func:`sep_step` over rows ``lo`` to ``hi``: everyone but the
    entrants to work, in a loop LLVM vectorises (selects, no branch, every value stored,
    the small tables as scalars for the selects); a function of its own, as the loop does
    not vectorise inside a ``prange`` body."""
    c_pid = st.pid[lo:hi]
    c_alive = st.alive[lo:hi]
    c_age = st.age[lo:hi]
    c_edu = st.education[lo:hi]
    c_emp = st.employment[lo:hi]
    c_rank = st.income_rank[lo:hi]
    c_sens = st.sensitive[lo:hi]
    c_event = st.event[lo:hi]
    lr = prm.loss_rr_edu
    lr0, lr1, lr2, lr3, lr4 = lr[0], lr[1], lr[2], lr[3], lr[4]
    la = prm.leave_age
    la0, la1, la2, la3, la4 = la[0], la[1], la[2], la[3], la[4]
    slope, p_loss, p_find, retire_age = (prm.loss_income_slope, prm.p_loss, prm.p_find,
                                         prm.retire_age)
    for j in range(hi - lo):
        live = c_alive[j] != 0
        sens0 = c_sens[j]
        a = c_age[j]
        e = c_edu[j]
        emp0 = c_emp[j]
        r0 = c_rank[j]
        r = np.float64(r0)
        u1, u2, u3, _ = uniform_quad(key_sep, c_pid[j])
        risk = job_loss_risk(pick(e, lr0, lr1, lr2, lr3, lr4), slope, r)
        entrant = (emp0 == IN_EDUCATION) & (a >= pick(e, la0, la1, la2, la3, la4))
        lose = (emp0 == EMPLOYED) & (u1 < p_loss * risk)
        find = (emp0 == UNEMPLOYED) & (u1 < p_find)
        emp = np.uint8(UNEMPLOYED) if lose else (np.uint8(EMPLOYED) if find else emp0)
        sens = ((sens0 & np.uint8(SENS_MATERNITY))
                | (np.uint8(SENS_JOB_LOSS) if lose else np.uint8(0)))
        emp, sens = _retire(emp, sens, a, retire_age)
        r1 = _rank_step(r, width, u2, u3)
        moved = _vingtile_move(r0, r1)
        common = live & ~entrant
        c_emp[j] = emp if common else emp0
        c_sens[j] = sens if common else sens0
        c_rank[j] = r1 if common else r0
        c_event[j] = moved if common else (np.uint8(ENTRANT) if live else np.uint8(0))


@njit(cache=True, inline="always")
def job_loss_risk(rr_edu, slope, rank):
    """Relative risk of losing one's job: ``rr_edu * (1 + slope * (0.5 - rank))``, with the
    relative risk ``rr_edu`` of the person's diploma."""
    return rr_edu * (1.0 + slope * (0.5 - rank))


@njit(cache=True, inline="always")
def _retire(emp, sens, a, retire_age):
    """Retirement at ``retire_age`` of the employed and the unemployed (a sensitive period):
    the new employment status and sensitive-period flags."""
    retire = (a >= retire_age) & ((emp == EMPLOYED) | (emp == UNEMPLOYED))
    return (np.uint8(RETIRED) if retire else emp,
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


# ------------------------------------------------------------------------------ exposures

#: Parameters of :func:`exposures_step` (yearly probabilities and relative risks; see its
#: docstring): smoking initiation by sex, its relative risk by [sex, diploma] and its income
#: gradient; quitting, its relative risk by diploma and when unemployed; obesity onset in
#: children and its relative risk by parents' PCS; in adults, by diploma and its income
#: gradient; remission; stress, its relative risks when unemployed and its income gradient;
#: the load's yearly decay, weights of (smoking, obesity, nuisance, stress) and sensitive-
#: period multiplier; the smoking rules (:func:`simulation.pathways.smoking_rules`).
ExposureParams = namedtuple("ExposureParams", (
    "p_init", "init_rr_edu", "init_rr_income", "p_quit", "quit_rr_edu", "quit_rr_unemployed",
    "p_obese_child", "child_rr_parents", "p_obese_adult", "adult_rr_edu", "adult_rr_income",
    "p_obese_remission", "p_stress", "stress_rr_unemployed", "stress_rr_income", "load_decay",
    "load_weights", "sensitive_multiplier", "smoking_rules"))
#: Rows of the exposure doses (:func:`_exposure_doses`).
D_LITERACY, D_CESSATION, D_EARLY, D_YOUTH, D_HOUSING = range(5)


@njit(cache=True, parallel=True)
def exposures_step(st: State, prm: ExposureParams, n, chunk, key, iv, eq,
                   general=False):  # pragma: no cover - numba
    """Exposures over the year, then the cumulative load; ``prm`` is an
    :class:`ExposureParams`.

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

    The formulas are written once (:func:`_exposures_chunk`). In a year with any of these
    interventions (or with ``general``), a first pass over each chunk computes the doses;
    without, the chunk's code is compiled with every dose 0, which the compiler folds away
    (a dose of 0 multiplies by exactly 1): the fast path of most years.
    """
    n_chunks = (n + chunk - 1) // chunk
    with_doses = (general or active(iv, IV_LITERACY) or active(iv, IV_CESSATION)
                  or active(iv, IV_EARLY) or active(iv, IV_YOUTH) or active(iv, IV_HOUSING))
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        if with_doses:
            _exposures_chunk(st, prm, lo, hi, key, eq, _exposure_doses(st, lo, hi, iv))
        else:
            _exposures_chunk(st, prm, lo, hi, key, eq, None)


@njit(cache=True)
def _exposure_doses(st, lo, hi, iv):  # pragma: no cover - numba
    """The doses (:func:`effect_dose`) of the exposure interventions for rows ``lo`` to
    ``hi``, by ``D_*`` row: 0 for the dead and for whom a type cannot reach (health
    literacy before 16, cessation support but for current smokers, early-childhood
    prevention after 6, youth support outside 11-25, housing but for exposed homes)."""
    m = hi - lo
    doses = np.zeros((5, m))
    for j in range(m):
        i = lo + j
        if st.alive[i] == 0:
            continue
        a = st.age[i]
        rk, pc, ed, dp, cf = (st.income_rank[i], st.pcs[i], st.education[i],
                              st.department[i], st.care[i])
        zone = zone_of(cf)
        if a >= ADULT_AGE:
            doses[D_LITERACY, j] = effect_dose(iv, IV_LITERACY, rk, pc, ed, dp, zone)
        if st.smoking[i] == 1:
            doses[D_CESSATION, j] = effect_dose(iv, IV_CESSATION, rk, pc, ed, dp, zone)
        if a <= EARLY_MAX_AGE:
            doses[D_EARLY, j] = effect_dose(iv, IV_EARLY, rk, pc, ed, dp, zone)
        doses[D_YOUTH, j] = youth_dose(iv, a, rk, pc, ed, dp, cf)
        if st.nuisance[i] == 1:
            doses[D_HOUSING, j] = effect_dose(iv, IV_HOUSING, rk, pc, ed, dp, zone)
    return doses


@njit(cache=True)
def _exposures_chunk(st, prm, lo, hi, key, eq, doses):  # pragma: no cover - numba
    """:func:`exposures_step` over rows ``lo`` to ``hi``, with the chunk's ``doses`` by
    ``D_*`` row (:func:`_exposure_doses`), or None: every dose 0, and the code that only
    doses need is left out at compile time.

    Loops that LLVM vectorises: no branch, no early exit, no load inside a select (every
    value is stored, the dead keeping theirs), selects in place of the small tables'
    look-ups, and the load in a loop of its own; a function of its own, so that the chunk's
    arrays and the constants reach LLVM as in serial code (inside a ``prange`` body the
    loops do not vectorise). (LLVM's cost model is fickle here: check the vectorisation
    remarks, ``-pass-remarks=loop-vectorize``, after changing these loops.)"""
    c_pid = st.pid[lo:hi]
    c_alive = st.alive[lo:hi]
    c_sex = st.sex[lo:hi]
    c_age = st.age[lo:hi]
    c_edu = st.education[lo:hi]
    c_ppcs = st.parent_pcs[lo:hi]
    c_emp = st.employment[lo:hi]
    c_rank = st.income_rank[lo:hi]
    c_sens = st.sensitive[lo:hi]
    c_smk = st.smoking[lo:hi]
    c_ob = st.obese[lo:hi]
    c_nu = st.nuisance[lo:hi]
    c_st = st.stress[lo:hi]
    c_load = st.load[lo:hi]
    eq_s = eq[EQ_SMOKING] != 0
    eq_o = eq[EQ_OBESITY] != 0
    eq_t = eq[EQ_STRESS] != 0
    ne_s, ne_t = not eq_s, not eq_t
    w = prm.load_weights
    w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
    keep_load = 1.0 - prm.load_decay
    pi0, pi1 = prm.p_init[0], prm.p_init[1]
    ie = prm.init_rr_edu
    ie0, ie1, ie2, ie3, ie4 = ie[0, 0], ie[0, 1], ie[0, 2], ie[0, 3], ie[0, 4]
    if0, if1, if2, if3, if4 = ie[1, 0], ie[1, 1], ie[1, 2], ie[1, 3], ie[1, 4]
    qe = prm.quit_rr_edu
    qe0, qe1, qe2, qe3, qe4 = qe[0], qe[1], qe[2], qe[3], qe[4]
    ae = prm.adult_rr_edu
    ae0, ae1, ae2, ae3, ae4 = ae[0], ae[1], ae[2], ae[3], ae[4]
    cp = prm.child_rr_parents
    init_rr_income, p_quit, quit_rr_unemployed = (prm.init_rr_income, prm.p_quit,
                                                  prm.quit_rr_unemployed)
    p_obese_child, p_obese_adult, adult_rr_income, p_obese_remission = (
        prm.p_obese_child, prm.p_obese_adult, prm.adult_rr_income, prm.p_obese_remission)
    p_stress, stress_rr_unemployed, stress_rr_income = (prm.p_stress, prm.stress_rr_unemployed,
                                                        prm.stress_rr_income)
    sensitive_multiplier = prm.sensitive_multiplier
    quit_min_age = np.int64(prm.smoking_rules[0])
    p_relapse = prm.smoking_rules[1]
    relapse_years = np.int64(prm.smoking_rules[2])
    for j in range(hi - lo):
        live = c_alive[j] != 0
        a = c_age[j]
        e = c_edu[j]
        r = np.float64(c_rank[j])
        unemployed = c_emp[j] == UNEMPLOYED
        u1, u2, u3, u4 = uniform_quad(key, c_pid[j])
        d_lit = 0.0 if doses is None else doses[D_LITERACY, j]
        # smoking
        smk0 = c_smk[j]
        rs = REF_RANK if eq_s else r
        es = np.uint8(REF_EDUCATION) if eq_s else e
        woman = c_sex[j] != 0
        rr_e = pick(es, if0, if1, if2, if3, if4) if woman else pick(es, ie0, ie1, ie2, ie3, ie4)
        p_start = (pi1 if woman else pi0) * rr_e * gradient(init_rr_income, rs) * (1.0 - d_lit)
        q = p_quit * pick(es, qe0, qe1, qe2, qe3, qe4)
        q = q * quit_rr_unemployed if unemployed & ne_s else q
        q = q * (1.0 + (0.0 if doses is None else doses[D_CESSATION, j]))
        start = (smk0 == 0) & (a >= 12) & (a <= 25) & (u1 < p_start)
        stop = (smk0 == 1) & (a >= quit_min_age) & (u1 < q)
        former = smk0 >= FORMER_SMOKER
        relapse = former & (np.int64(smk0) < FORMER_SMOKER + relapse_years) & (u1 < p_relapse)
        aged = np.uint8(min(np.int64(smk0) + 1, FORMER_SMOKER + SMOKING_T_MAX))
        smk = (np.uint8(1) if start | relapse else
               (np.uint8(FORMER_SMOKER) if stop else (aged if former else smk0)))
        c_smk[j] = smk if live else smk0
        # obesity
        ob0 = c_ob[j]
        ppcs = c_ppcs[j]
        pp = np.uint8(REF_PARENT_PCS) if eq_o else ppcs
        ro = REF_RANK if eq_o else r
        eo = np.uint8(REF_EDUCATION) if eq_o else e
        d_early = 0.0 if doses is None else doses[D_EARLY, j]
        h_child = (p_obese_child * pick(pp, cp[0], cp[1], cp[2], cp[3], cp[4], cp[5], cp[6])
                   * (1.0 - d_early))
        h_adult = (p_obese_adult * pick(eo, ae0, ae1, ae2, ae3, ae4)
                   * gradient(adult_rr_income, ro) * (1.0 - d_lit))
        h = h_child if a < 18 else h_adult
        onset = u2 < h
        ob = np.uint8(onset) if ob0 == 0 else (np.uint8(0) if u2 < p_obese_remission else ob0)
        c_ob[j] = ob if live else ob0
        # stress
        stress0 = c_st[j]
        rst = REF_RANK if eq_t else r
        ps = p_stress * gradient(stress_rr_income, rst)
        ps = ps * stress_rr_unemployed if unemployed & ne_t else ps
        ps = ps * (1.0 - (0.0 if doses is None else doses[D_YOUTH, j]))
        stv = np.uint8((a >= 16) & (u3 < ps))
        c_st[j] = stv if live else stress0
        # healthier housing remediates exposed homes
        if doses is not None:
            nu0 = c_nu[j]
            nu = np.uint8(0) if (nu0 == 1) & (u4 < doses[D_HOUSING, j]) else nu0
            c_nu[j] = nu if live else nu0
    for j in range(hi - lo):
        live = c_alive[j] != 0
        a = c_age[j]
        smk = c_smk[j]
        ob = c_ob[j]
        stv = c_st[j]
        nu = c_nu[j]
        sens = c_sens[j]
        period = (a <= 5) | ((a >= 11) & (a <= 17)) | (sens != 0)
        mult = sensitive_multiplier if period else 1.0
        if doses is not None:  # early-childhood prevention lowers the load added at 0-5
            mult = mult * (1.0 - doses[D_EARLY, j]) if a <= 5 else mult
        add = w0 * (smk == 1) + w1 * ob + w2 * nu + w3 * stv
        ld = c_load[j]
        c_load[j] = np.float32(ld * keep_load + mult * add) if live else ld
        c_sens[j] = sens & np.uint8(SENS_JOB_LOSS | SENS_RETIREMENT) if live else sens


# ------------------------------------------------------------------------- access to care

#: Parameters of :func:`care_step` (see its docstring): the income ranks below which the
#: free and the contributory CSS are open, their non-take-up rates, the probabilities of
#: no complementary insurance for eligible non-takers and for others, the relative risk of
#: the latter when out of work, the probability of no registered GP by [in a priority zone,
#: department], the yearly probability of forgoing care for cost, and its relative risks
#: without insurance, by income (bottom to top) and without a GP.
CareParams = namedtuple("CareParams", (
    "css_free_max", "css_contrib_max", "ntu_free", "ntu_contrib", "p_none_eligible",
    "p_none_other", "none_rr_unemployed", "p_no_gp_dept", "p_forgone", "forgone_rr_none",
    "forgone_rr_income", "forgone_rr_no_gp"))
#: Rows of the access-to-care doses (:func:`_care_doses`).
D_OUTREACH, D_AUTO_ENROL, D_CARE_LITERACY, D_GP, D_OUT_OF_POCKET = range(5)


@njit(cache=True, parallel=True)
def care_step(st: State, prm: CareParams, n, chunk, key_take_up, key_forgone, iv, eq,
              general=False):  # pragma: no cover - numba
    """Access to care over the year; ``prm`` is a :class:`CareParams`.

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

    The formulas are written once (:func:`_care_chunk`), with the doses of a first pass in
    a year with any of these interventions (or with ``general``), else compiled without
    them (a dose of 0 multiplies by exactly 1), as in :func:`exposures_step`.
    """
    n_chunks = (n + chunk - 1) // chunk
    with_doses = (general or active(iv, IV_OUTREACH) or active(iv, IV_AUTO_ENROL)
                  or active(iv, IV_LITERACY) or active(iv, IV_GP)
                  or active(iv, IV_OUT_OF_POCKET))
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        if with_doses:
            _care_chunk(st, prm, lo, hi, key_take_up, key_forgone, eq,
                        _care_doses(st, lo, hi, iv))
        else:
            _care_chunk(st, prm, lo, hi, key_take_up, key_forgone, eq, None)


@njit(cache=True)
def _care_doses(st, lo, hi, iv):  # pragma: no cover - numba
    """The doses (:func:`effect_dose`) of the access-to-care interventions for rows ``lo``
    to ``hi``, by ``D_*`` row: 0 for the dead, before 16 for health literacy and lower
    out-of-pocket costs, and outside priority zones for extra GP time."""
    m = hi - lo
    doses = np.zeros((5, m))
    for j in range(m):
        i = lo + j
        if st.alive[i] == 0:
            continue
        rk, pc, ed, dp = st.income_rank[i], st.pcs[i], st.education[i], st.department[i]
        zone = zone_of(st.care[i])
        doses[D_OUTREACH, j] = effect_dose(iv, IV_OUTREACH, rk, pc, ed, dp, zone)
        doses[D_AUTO_ENROL, j] = effect_dose(iv, IV_AUTO_ENROL, rk, pc, ed, dp, zone)
        if st.age[i] >= ADULT_AGE:
            doses[D_CARE_LITERACY, j] = effect_dose(iv, IV_LITERACY, rk, pc, ed, dp, zone)
            doses[D_OUT_OF_POCKET, j] = effect_dose(iv, IV_OUT_OF_POCKET, rk, pc, ed, dp, zone)
        if zone:
            doses[D_GP, j] = effect_dose(iv, IV_GP, rk, pc, ed, dp, zone)
    return doses


@njit(cache=True)
def _care_chunk(st, prm, lo, hi, key_take_up, key_forgone, eq,
                doses):  # pragma: no cover - numba
    """:func:`care_step` over rows ``lo`` to ``hi``, with the chunk's ``doses`` by ``D_*``
    row (:func:`_care_doses`), or None: every dose 0, left out at compile time. Branch-free
    (selects; every value is stored, the dead keeping theirs)."""
    c_pid = st.pid[lo:hi]
    c_alive = st.alive[lo:hi]
    c_dep = st.department[lo:hi]
    c_emp = st.employment[lo:hi]
    c_rank = st.income_rank[lo:hi]
    c_ins = st.insurance[lo:hi]
    c_care = st.care[lo:hi]
    eq_c = eq[EQ_CARE] != 0
    ne_c = not eq_c
    css_free_max, css_contrib_max, ntu_free, ntu_contrib = (
        prm.css_free_max, prm.css_contrib_max, prm.ntu_free, prm.ntu_contrib)
    p_none_eligible, p_none_other, none_rr_unemployed = (
        prm.p_none_eligible, prm.p_none_other, prm.none_rr_unemployed)
    p_no_gp_dept, p_forgone, forgone_rr_income = (prm.p_no_gp_dept, prm.p_forgone,
                                                  prm.forgone_rr_income)
    forgone_rr_none, forgone_rr_no_gp = prm.forgone_rr_none, prm.forgone_rr_no_gp
    for j in range(hi - lo):
        live = c_alive[j] != 0
        r = np.float64(REF_RANK) if eq_c else np.float64(c_rank[j])
        # fixed propensities (the key does not change with the year), then this year's
        u_take, u_none, u_gp, _ = uniform_quad(key_take_up, c_pid[j])
        u_f, _, _, _ = uniform_quad(key_forgone, c_pid[j])
        care0 = c_care[j]
        flags = care0 & np.uint8(CARE_PRIORITY)
        zone = zone_of(care0)
        free = r < css_free_max
        eligible = r < css_contrib_max
        emp = c_emp[j]
        jobless = ((emp == UNEMPLOYED) | (emp == INACTIVE)) & ne_c  # no branch
        pn = p_none_other * none_rr_unemployed if jobless else p_none_other
        p_none = p_none_eligible if eligible else pn
        css = INS_CSS_FREE if free else INS_CSS_CONTRIB
        ntu = ntu_free if free else ntu_contrib
        if doses is not None:  # the share of non-takers that outreach, enrolment and
            # literacy leave
            ntu = ntu * ((1.0 - doses[D_OUTREACH, j]) * (1.0 - doses[D_AUTO_ENROL, j])
                         * (1.0 - doses[D_CARE_LITERACY, j]))
        takes = eligible & (u_take >= ntu)
        ins = css if takes else (INS_NONE if u_none < p_none else INS_PRIVATE)
        p_no_gp = p_no_gp_dept[zone, c_dep[j]]
        if doses is not None:
            p_no_gp = p_no_gp * (1.0 - doses[D_GP, j])
        gp = u_gp >= p_no_gp
        flags |= np.uint8(CARE_GP) if gp else np.uint8(0)
        pf = p_forgone * gradient(forgone_rr_income, r)
        if doses is not None:
            pf = pf * (1.0 - doses[D_OUT_OF_POCKET, j])
        pf = pf * forgone_rr_none if ins == INS_NONE else pf
        pf = pf if gp else pf * forgone_rr_no_gp
        flags |= np.uint8(CARE_FORGONE) if u_f < pf else np.uint8(0)
        c_ins[j] = ins if live else c_ins[j]
        c_care[j] = flags if live else care0


# ---------------------------------------------------------------- conditions and mortality

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
def onset_cell(smk, age, ob, stress, nu, rank, eq_d, former_class):
    """A person's smoking class (:func:`smoking_class`), exposure combination
    (:func:`exposure_combo`) and income rank bin in the onset table (the reference
    person's rank under the disease counterfactual ``eq_d``)."""
    smk_class = smoking_class(smk, age, former_class)
    r_on = np.float32(REF_RANK) if eq_d else rank
    rb = min(np.int64(r_on * np.float32(N_RANK_BINS_ONSET)), N_RANK_BINS_ONSET - 1)
    return smk_class, exposure_combo(smk_class, ob, stress, nu), rb


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


@njit(cache=True, inline="always")
def person_death_rr(cond, poor, smk, dis, s, a, rank, pcs, education, eq_m, death_cond_rr,
                    rr_death_income, rr_death_sep):
    """:func:`death_rr` of a person of income ``rank``, ``pcs`` and ``education``: the
    reference person's rank and group 0 under the mortality counterfactual ``eq_m``."""
    r_d = np.float32(REF_RANK) if eq_m else rank
    g = 0 if eq_m else sep_group(pcs, education)
    return death_rr(cond, poor, smk, dis, s, a, r_d, g, death_cond_rr, rr_death_income,
                    rr_death_sep)


@njit(cache=True, inline="always")
def disability_hazard(onset, rr_condition, rr_income, rank, poor, n_cond, progression_rr):
    """Hazard of activity limitation (per year): the onset hazard of the person's sex and
    age times the relative risk of their number of conditions times
    ``gradient(rr_income, rank)``, times ``progression_rr`` with a condition and poor
    access to care."""
    h = onset * rr_condition * gradient(rr_income, rank)
    return h * (progression_rr if poor & (n_cond > 0) else 1.0)


@njit(cache=True, parallel=True)
def death_rr_all(st: State, n, death_cond_rr, rr_death_income, rr_death_sep, former_class,
                 eq, out):  # pragma: no cover
    """Un-normalised relative risk of death of everyone (for the normalisation at start)."""
    alive, sex, age, income_rank, smoking = st.alive, st.sex, st.age, st.income_rank, st.smoking
    insurance, care, conditions, disability = st.insurance, st.care, st.conditions, st.disability
    pcs, education = st.pcs, st.education
    eq_m = eq[EQ_MORTALITY] != 0
    for i in prange(n):
        if alive[i] == 0:
            out[i] = 0.0
            continue
        out[i] = person_death_rr(conditions[i], poor_access(care[i], insurance[i]),
                                 smoking_class(smoking[i], age[i], former_class),
                                 disability[i], sex[i], age[i], income_rank[i], pcs[i],
                                 education[i], eq_m, death_cond_rr, rr_death_income,
                                 rr_death_sep)


@njit(cache=True, parallel=True)
def condition_rr_all(st: State, n, onset_rr, load_log_rr, former_class, eq,
                     out):  # pragma: no cover - numba
    """Relative risk of onset of every condition for everyone, ``out[condition, person]``
    (for the normalisation of baseline incidence at start and for initial prevalence)."""
    alive, age, income_rank, smoking = st.alive, st.age, st.income_rank, st.smoking
    obese, stress, nuisance, load = st.obese, st.stress, st.nuisance, st.load
    eq_d = eq[EQ_DISEASE] != 0
    for i in prange(n):
        lf = exp_small(load_log_rr * load[i])
        _, combo, rb = onset_cell(smoking[i], age[i], obese[i], stress[i], nuisance[i],
                                  income_rank[i], eq_d, former_class)
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


#: Parameters of :func:`disease_step` (see its docstring): baseline incidence by
#: [condition, sex * n_ages + age] (per year), relative risks of onset by [condition,
#: exposures, rank bin], log relative risk per unit of load, yearly probability of cancer
#: remission, onset hazard of activity limitation by [sex, age] (per year), its relative
#: risk by number of conditions and its income gradient, its relative risk with a
#: condition and poor access to care, yearly probability of recovery, the relative risks
#: of death (:func:`death_rr`), the mortality normaliser by [sex, age] and the former
#: smokers' classes (:func:`smoking_class`).
DiseaseParams = namedtuple("DiseaseParams", (
    "inc_base", "onset_rr", "load_log_rr", "p_cancer_remission", "dis_onset",
    "dis_rr_condition", "dis_rr_income", "dis_progression_rr", "p_dis_recovery",
    "death_cond_rr", "rr_death_income", "rr_death_sep", "death_norm", "former_class"))


@njit(cache=True, parallel=True)
def disease_step(st: State, prm: DiseaseParams, n, chunk, key_disease, n_ages,
                 disabled_counts, iv, eq, general=False):  # pragma: no cover - numba
    """Chronic conditions, disability, and the relative risk of death, over the year;
    ``prm`` is a :class:`DiseaseParams`.

    Onset of condition c (if absent) with hazard
    ``inc_base[c, sex, age] * onset_rr[c, exposures, rank bin] * exp(load_log_rr * load)``
    (``inc_base`` flat over sex * n_ages + age),
    where ``onset_rr`` (built by :func:`simulation.pathways.onset_rr_table`) holds the
    exposures' relative risks, differential vulnerability and the residual income gradient;
    people living with cancer leave that state with
    ``p_cancer_remission``. Activity limitation starts with hazard
    ``dis_onset[sex, age] * dis_rr_condition[n_conditions] * gradient(dis_rr_income)`` (times
    ``dis_progression_rr`` with a condition and poor access to care,
    :func:`disability_hazard`) and ends with
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
    range, youth mental-health support; everyone alive with ``general``); a second pass
    reruns the flagged people through the general per-person path; a third lists the
    disabled and a fourth counts them. Both paths do the same floating-point operations
    for a person (the shared helpers :func:`onset_cell`, :func:`disability_hazard` and
    :func:`person_death_rr`), so the results are those of the general path alone.
    """
    n_chunks = (n + chunk - 1) // chunk
    n_threads = disabled_counts.shape[0]
    flags = np.zeros((n_threads, chunk), dtype=np.uint8)
    pid, alive, sex, age, income_rank = st.pid, st.alive, st.sex, st.age, st.income_rank
    smoking, obese, stress, nuisance, load = (st.smoking, st.obese, st.stress, st.nuisance,
                                              st.load)
    insurance, care, conditions, disability = (st.insurance, st.care, st.conditions,
                                               st.disability)
    rr_death, department, pcs, education = st.rr_death, st.department, st.pcs, st.education
    inc_base, onset_rr, load_log_rr = prm.inc_base, prm.onset_rr, prm.load_log_rr
    p_cancer_remission, dis_onset, dis_rr_condition = (prm.p_cancer_remission, prm.dis_onset,
                                                       prm.dis_rr_condition)
    dis_rr_income, dis_progression_rr, p_dis_recovery = (
        prm.dis_rr_income, prm.dis_progression_rr, prm.p_dis_recovery)
    death_cond_rr, rr_death_income, rr_death_sep = (prm.death_cond_rr, prm.rr_death_income,
                                                    prm.rr_death_sep)
    death_norm, former_class = prm.death_norm, prm.former_class
    # the tables with the conditions last, so that a person's five values are adjacent
    inc_t = np.ascontiguousarray(inc_base.T)
    onset_t = np.empty((onset_rr.shape[1], onset_rr.shape[2], N_CONDITIONS))
    for k in range(N_CONDITIONS):
        for cb in range(onset_rr.shape[1]):
            for b in range(onset_rr.shape[2]):
                onset_t[cb, b, k] = onset_rr[k, cb, b]
    eq_d = eq[EQ_DISEASE] != 0
    eq_m = eq[EQ_MORTALITY] != 0
    youth_on = active(iv, IV_YOUTH)
    everyone = np.uint8(general)
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
            smk, combo, rb = onset_cell(c_smk[j], a, c_ob[j], c_st[j], c_nu[j], rk, eq_d,
                                        former_class)
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
            h = disability_hazard(dis_onset[s, a], dis_rr_condition[n_cond], dis_rr_income,
                                  np.float64(rk), poor, n_cond, dis_progression_rr)
            may |= ((dis == 0) & (u_dis < h)) | ((dis != 0) & (u_dis < p_dis_recovery))
            youth = youth_on & (a >= YOUTH_AGES[0]) & (a <= YOUTH_AGES[1])
            live = c_alive[j] != 0
            fl[j] = np.uint8(live) & (np.uint8(may) | np.uint8(youth) | everyone
                                      | (np.uint8(in_range) ^ np.uint8(1)))
            rr = np.float32(death_norm[s, a] * person_death_rr(
                cd, poor, smk, dis, s, a, rk, c_pcs[j], c_edu[j], eq_m, death_cond_rr,
                rr_death_income, rr_death_sep))
            c_rr[j] = rr if live else c_rr[j]
        # the flagged people's rows without a branch, then the general path for them
        rows = np.empty(m, dtype=np.int32)
        n_fl = nonzero_rows(fl[:m], rows)
        for t in range(n_fl):
            i = lo + rows[t]
            s = sex[i]
            a = age[i]
            r = np.float64(income_rank[i])
            smk, combo, rb = onset_cell(smoking[i], a, obese[i], stress[i], nuisance[i],
                                        income_rank[i], eq_d, former_class)
            d_youth = youth_dose(iv, a, income_rank[i], pcs[i], education[i], department[i],
                                 care[i])
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
            if dis == 0:
                h = disability_hazard(dis_onset[s, a], dis_rr_condition[n_cond], dis_rr_income,
                                      r, poor, n_cond, dis_progression_rr)
                if u_dis < prob_from_hazard(h):
                    dis = 1
            elif u_dis < p_dis_recovery:
                dis = 0
            disability[i] = dis
            rr_death[i] = np.float32(death_norm[s, a] * person_death_rr(
                cond, poor, smk, dis, s, a, income_rank[i], pcs[i], education[i], eq_m,
                death_cond_rr, rr_death_income, rr_death_sep))
        # the disabled (about one in nine): their rows without a branch, then their counts
        n_dis = 0
        for j in range(m):
            rows[n_dis] = j
            n_dis += c_alive[j] & c_dis[j]
        for t in range(n_dis):
            i = lo + rows[t]
            _count(dc, sex[i], age[i], income_rank[i], pcs[i], education[i], department[i],
                   n_ages)
