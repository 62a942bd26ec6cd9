"""The yearly demography kernels: mortality, ageing, life-course transitions by age, births.

Work is split into fixed-size chunks of people processed in parallel (``prange``); each
thread adds into its own row of the count accumulators, and counts are integers, so the
result is identical whatever the number of threads or the chunk size. Random numbers are
counter-based (:mod:`simulation.rng`): a person's draws depend on the seed, the stream,
the year and the person id only.

Counts by stratum. Life tables need, each year, the number alive at the start of the year
and the deaths, by stratum group, sex and single year of age (flat index
``(group * 2 + sex) * n_ages + age``, group layout below). Counting every person into four
strata every year would cost more than the rest of the year together, so the counts of the
living are carried forward: :func:`census` counts everyone once, then each year the model
subtracts the deaths, shifts ages by one and adds the newborns; only the rare events
(deaths, births; later, changes of stratum) are counted person by person. A test checks the
carried counts against a fresh census.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np
from numba import njit, prange

from ..rng import child_id, uniform, uniform_pair
from .fastmath import exp_neg, norm_ppf, ordinal
from .records import State, state_of

__all__ = ["State", "state_of"]  # re-exported: the model builds its records from here

#: Offsets of each stratum in the group axis of the counts. Departments come last.
G_VINGTILE, G_PCS, G_EDUCATION, G_DEPARTMENT = 0, 20, 27, 32
N_RANK_BINS = 1000

IN_EDUCATION, EMPLOYED, UNEMPLOYED, RETIRED, INACTIVE = 0, 1, 2, 3, 4
INACTIFS = 6
EVENT_DIED, EVENT_BIRTH = 1, 2
#: Fixed point of the expected deaths: each person's probability of death is added as an
#: integer number of 2**-32, so that the sums, like the counts, do not depend on the order
#: of the additions (hence on the number of threads).
EXPECTED_SCALE = 2.0**32
#: Margin under 1 - h below which a draw survives the year for sure (:func:`year_step`):
#: far above the absolute error of :func:`fastmath.exp_neg` (about 1e-14 for h < 5).
SURVIVAL_MARGIN = 1e-12


def count_rows() -> int:
    """Rows of the count accumulators: one per numba thread. Counts are integers, so their
    sum does not depend on which thread counted whom, nor on the number of threads."""
    return numba.config.NUMBA_NUM_THREADS


def n_groups(n_departments: int) -> int:
    """Length of the group axis of the counts."""
    return G_DEPARTMENT + n_departments


@njit(cache=True, inline="always")
def _count(out, sex, age, rank, pcs, education, department, n_ages):
    """Add one person to the flat [group, sex, age] counts of each of the four strata."""
    b = np.int64(sex) * n_ages + np.int64(age)
    stride = 2 * n_ages
    out[(G_VINGTILE + np.int64(rank * np.float32(20.0))) * stride + b] += 1
    out[(G_PCS + np.int64(pcs)) * stride + b] += 1
    out[(G_EDUCATION + np.int64(education)) * stride + b] += 1
    out[(G_DEPARTMENT + np.int64(department)) * stride + b] += 1


@njit(cache=True, inline="always")
def _add(out, value, sex, age, rank, pcs, education, department, n_ages):
    """Add ``value`` to the flat [group, sex, age] cells of the four strata of one person."""
    b = np.int64(sex) * n_ages + np.int64(age)
    stride = 2 * n_ages
    out[(G_VINGTILE + np.int64(rank * np.float32(20.0))) * stride + b] += value
    out[(G_PCS + np.int64(pcs)) * stride + b] += value
    out[(G_EDUCATION + np.int64(education)) * stride + b] += value
    out[(G_DEPARTMENT + np.int64(department)) * stride + b] += value


@njit(cache=True, inline="always")
def event_rows(c_event, bit, rows) -> int:
    """Write into ``rows`` the positions j of the chunk whose ``c_event[j]`` has ``bit`` set,
    in increasing order, and return how many. Events are rare, so sixteen positions at a
    time are skipped when none of them has the bit (one wide OR, no branch per person)."""
    m = c_event.shape[0]
    nb = 0
    j = 0
    while j + 16 <= m:
        acc = np.uint8(0)
        for q in range(16):
            acc |= c_event[j + q]
        if acc & bit:
            for q in range(16):
                rows[nb] = j + q
                nb += (c_event[j + q] & bit) != 0
        j += 16
    while j < m:
        rows[nb] = j
        nb += (c_event[j] & bit) != 0
        j += 1
    return nb



@njit(cache=True, inline="always")
def nonzero_rows(values, rows) -> int:
    """Write into ``rows`` the positions j where ``values[j]`` is not 0, in increasing order,
    and return how many: the dense counterpart of :func:`event_rows`, with no branch on the
    (random) values."""
    k = 0
    for j in range(values.shape[0]):
        rows[k] = j
        k += values[j] != 0
    return k

@njit(cache=True, parallel=True)
def census(alive, sex, age, department, income_rank, education, pcs, n, chunk, n_ages,
           out):  # pragma: no cover - numba
    """Count the living by [group, sex, age] into ``out[chunk]`` (flat), from scratch."""
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        o = out[numba.get_thread_id()]
        for i in range(lo, hi):
            if alive[i] == 1:
                _count(o, sex[i], age[i], income_rank[i], pcs[i], education[i],
                       department[i], n_ages)


@njit(cache=True, parallel=True)
def year_step(pid, alive, sex, age, department, income_rank, education, pcs, employment,
              rr_death, event, n, chunk, h0, p_birth, key_vital, deaths, births,
              expected):  # pragma: no cover - numba
    """Mortality, ageing and births of the year (after the pathway processes).

    Individual hazard h = h0[sex, age] * rr_death (per person-year), where ``rr_death`` is
    the person's relative risk kept up to date by the other processes; the probability of
    surviving the year is exp(-h). Women alive at the end of the year give birth with
    probability p_birth[sex, age]. ``h0`` and ``p_birth`` are flat [sex * n_ages + age]
    tables. The death and the birth draws are the two halves of one 64-bit counter-based
    hash (stream ``vital``), 31 random bits each. Deaths are counted into
    ``deaths[thread]`` (flat [group, sex, age], by age at the start of the year);
    ``births[chunk]`` receives the number of births.

    Expected deaths (the Rao-Blackwellised estimator of the deaths): when ``expected`` has
    rows (one per thread, like ``deaths``), each living person's probability of dying in
    the year, 1 - exp(-h), is added to the same cells in fixed point
    (:data:`EXPECTED_SCALE`), whether or not the person dies; pass an array with no row to
    skip this pass. Integer sums make the result independent of the threads.

    Each chunk is visited in branch-light passes: the table look-ups of hazards and
    birth probabilities (into per-thread scratch); draws (vectorised), where a death draw
    below 1 - h survives for sure (exp(-h) >= 1 - h); the exact test u >= exp(-h) for the
    few others; the counts of the deaths; then ageing (vectorised).
    """
    n_chunks = (n + chunk - 1) // chunk
    n_ages = h0.shape[0] // 2
    max_age = np.uint8(n_ages - 1)
    n_threads = deaths.shape[0]
    hz = np.empty((n_threads, chunk))
    pb = np.empty((n_threads, chunk))
    rows = np.empty((n_threads, chunk), dtype=np.int32)
    want_expected = expected.shape[0] > 0
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        m = hi - lo
        tid = numba.get_thread_id()
        c_hz = hz[tid]
        c_pb = pb[tid]
        c_pid = pid[lo:hi]
        c_alive = alive[lo:hi]
        c_sex = sex[lo:hi]
        c_age = age[lo:hi]
        c_event = event[lo:hi]
        c_rr = rr_death[lo:hi]
        nb = 0
        for j in range(m):  # the table look-ups, apart: the next loop vectorises
            sa = np.uint32(c_sex[j]) * np.uint32(n_ages) + np.uint32(c_age[j])
            c_hz[j] = h0[sa] * c_rr[j]
            c_pb[j] = p_birth[sa]
        if want_expected:
            e = expected[tid]
            for j in range(m):
                q = np.int64((1.0 - exp_neg(c_hz[j])) * EXPECTED_SCALE + 0.5)
                _add(e, q * np.int64(c_alive[j]), c_sex[j], c_age[j], income_rank[lo + j],
                     pcs[lo + j], education[lo + j], department[lo + j], n_ages)
        for j in range(m):
            # exp(-h) >= 1 - h: a draw below 1 - h (less a margin above exp_neg's error)
            # survives for sure; the few others are settled exactly below
            live = c_alive[j] == 1
            u_death, u_birth = uniform_pair(key_vital, c_pid[j])
            may_die = (u_death >= 1.0 - c_hz[j] - SURVIVAL_MARGIN) & live
            born = (u_birth < c_pb[j]) & live
            ev = np.uint8(may_die) | (np.uint8(born) << np.uint8(1))
            c_event[j] = ev
            nb += ev >> 1
        # the rows that may die, then who dies, counted in a second loop whose look-ups of
        # rows not in cache overlap, where a scan would wait for each in turn
        c_rows = rows[tid]
        n_may = event_rows(c_event, np.uint8(EVENT_DIED), c_rows)
        nd = 0
        for t in range(n_may):
            j = c_rows[t]
            u_death, _ = uniform_pair(key_vital, c_pid[j])
            died = u_death >= exp_neg(c_hz[j])
            nb -= np.int64(died & (c_event[j] >> np.uint8(1)))
            c_event[j] = np.uint8(EVENT_DIED) if died else c_event[j] & np.uint8(EVENT_BIRTH)
            c_rows[nd] = j
            nd += died
        births[c] = nb
        d = deaths[tid]
        for t in range(nd):
            i = lo + c_rows[t]
            _count(d, sex[i], age[i], income_rank[i], pcs[i], education[i], department[i],
                   n_ages)
        for j in range(m):
            stays = c_alive[j] & ~(c_event[j] & np.uint8(EVENT_DIED))
            c_alive[j] = stays
            c_age[j] = min(c_age[j] + stays, max_age)


#: Parameters of :func:`place_births`: the probability that a newborn is a boy, the
#: correlation of the diploma's latent score with the household's income score, the
#: weights of the status score (diploma, household income by sex, residual by sex:
#: :func:`simulation.population.status_weights`), the diploma's cut points, the PCS cut
#: points by sex of the youngest adults, and the PCS by rank of the status score.
BirthParams = namedtuple("BirthParams", (
    "p_male", "rho_edu", "g_edu", "g_inc", "resid", "edu_cuts", "pcs_cuts", "pcs_order"))


@njit(cache=True, parallel=True)
def place_births(st: State, prm: BirthParams, n, chunk, offsets, key_sex, key_edu, key_pcs,
                 n_ages, newborns):  # pragma: no cover - numba
    """Write the newborns of the year after row ``n``, in the order of their mothers' rows;
    ``prm`` is a :class:`BirthParams`.

    A child's id derives from its mother's id and birth order (:func:`rng.child_id`), so
    the same birth in two scenarios gives the same child with the same draws. Children take
    their mother's department and household standard-of-living rank; their eventual diploma
    and PCS are drawn from latent scores correlated with that rank, with the cut points of
    the youngest adults (the status score mixes diploma and household income like
    synthesis). They share their mother's home (environmental nuisance), complementary
    insurance, GP and priority zone; the birth opens a sensitive period for the mother.
    Each newborn is counted into ``newborns[chunk]`` (flat [group, sex, age 0]).
    """
    pid, alive, sex, age, department = st.pid, st.alive, st.sex, st.age, st.department
    income_rank, education, pcs, employment = st.income_rank, st.education, st.pcs, st.employment
    rr_death, n_children, event, status_score = (st.rr_death, st.n_children, st.event,
                                                 st.status_score)
    parent_pcs, sensitive, smoking, obese = st.parent_pcs, st.sensitive, st.smoking, st.obese
    nuisance, stress, load, insurance, care = (st.nuisance, st.stress, st.load, st.insurance,
                                               st.care)
    conditions, disability = st.conditions, st.disability
    p_male, rho_edu, g_edu, g_inc, resid = prm.p_male, prm.rho_edu, prm.g_edu, prm.g_inc, prm.resid
    edu_cuts, pcs_cuts, pcs_order = prm.edu_cuts, prm.pcs_cuts, prm.pcs_order
    n_chunks = (n + chunk - 1) // chunk
    s_edu = math.sqrt(1.0 - rho_edu * rho_edu)
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        c_event = event[lo:hi]
        # the mothers' rows (no cache misses), then what the children take from their
        # mothers, gathered in a short loop whose look-ups of rows not in cache overlap
        rows = np.empty(hi - lo, dtype=np.int32)
        nb = event_rows(c_event, np.uint8(EVENT_BIRTH), rows)
        m_pid = np.empty(nb, dtype=np.uint64)
        m_order = np.empty(nb, dtype=np.uint8)
        m_dep = np.empty(nb, dtype=np.uint8)
        m_rank = np.empty(nb, dtype=np.float32)
        m_pcs = np.empty(nb, dtype=np.uint8)
        m_nu = np.empty(nb, dtype=np.uint8)
        m_ins = np.empty(nb, dtype=np.uint8)
        m_care = np.empty(nb, dtype=np.uint8)
        for t in range(nb):
            i = lo + rows[t]
            order = n_children[i]
            m_pid[t] = pid[i]
            m_order[t] = order
            m_dep[t] = department[i]
            m_rank[t] = income_rank[i]
            m_pcs[t] = pcs[i]
            m_nu[t] = nuisance[i]
            m_ins[t] = insurance[i]
            m_care[t] = care[i]
            n_children[i] = order + np.uint8(order < 255)
            sensitive[i] |= np.uint8(4)  # maternity: a sensitive period for the mother
        # the children, in short loops (hashes, then each inverse normal apart) so that
        # consecutive children's long dependency chains overlap; constants by slices
        k0 = n + offsets[c]
        k1 = k0 + nb
        c_id = pid[k0:k1]
        c_sx = sex[k0:k1]
        z_r = np.empty(nb)
        z_e = np.empty(nb)
        z_p = np.empty(nb)
        for t in range(nb):
            cid = child_id(m_pid[t], m_order[t])
            c_id[t] = cid
            c_sx[t] = 0 if uniform(key_sex, cid) < p_male else 1
            z_e[t] = uniform(key_edu, cid)
            z_p[t] = uniform(key_pcs, cid)
        for t in range(nb):
            z_r[t] = norm_ppf(min(max(m_rank[t], 1e-9), 1.0 - 1e-9))
        for t in range(nb):
            z_e[t] = norm_ppf(z_e[t])
        for t in range(nb):
            z_p[t] = norm_ppf(z_p[t])
        c_edu = education[k0:k1]
        c_pcs = pcs[k0:k1]
        c_status = status_score[k0:k1]
        for t in range(nb):
            zr = z_r[t]
            z_edu = rho_edu * zr + s_edu * z_e[t]
            c_edu[t] = ordinal(z_edu, edu_cuts)
            z_st = g_edu * z_edu + g_inc[c_sx[t]] * zr + resid[c_sx[t]] * z_p[t]
            c_pcs[t] = pcs_order[ordinal(z_st, pcs_cuts[c_sx[t]])]
            c_status[t] = np.int8(min(max(round(z_st * 20.0), -127), 127))
        alive[k0:k1] = 1
        age[k0:k1] = 0
        employment[k0:k1] = IN_EDUCATION
        rr_death[k0:k1] = 1.0  # set by the disease process before the child's first year
        n_children[k0:k1] = 0
        event[k0:k1] = 0
        sensitive[k0:k1] = 0
        smoking[k0:k1] = 0
        obese[k0:k1] = 0
        stress[k0:k1] = 0
        load[k0:k1] = 0.0
        conditions[k0:k1] = 0
        disability[k0:k1] = 0
        department[k0:k1] = m_dep
        income_rank[k0:k1] = m_rank
        parent_pcs[k0:k1] = m_pcs
        nuisance[k0:k1] = m_nu
        insurance[k0:k1] = m_ins
        c_care = care[k0:k1]
        for t in range(nb):
            c_care[t] = m_care[t] & np.uint8(5)  # the household's GP and priority zone
        o = newborns[numba.get_thread_id()]
        for t in range(nb):
            _count(o, c_sx[t], 0, m_rank[t], c_pcs[t], c_edu[t], m_dep[t], n_ages)


@njit(cache=True, parallel=True)
def remaining_life(alive, sex, age, rr_death, income_rank, n, chunk, h0, weight, disc,
                   out):  # pragma: no cover - numba
    """Expected remaining life of everyone alive, from now until death, summed by chunk.

    Person i's hazard at age a >= age[i] is h0[sex, a] * rr_death[i] (per person-year; the
    relative risk held at its present value), survival over the year exp(-h), and the
    person-years of a year (S + S_next) / 2 (deaths in mid-year, as in the life tables).
    ``out[chunk, sex, quintile, k]`` receives, by income quintile of ``income_rank``: k = 0
    the number of people, 1 life-years, 2 life-years discounted by ``disc`` per year
    (factor ``disc**k`` for the k-th year from now), 3 QALYs discounted likewise, each
    year weighted by ``weight[sex, a]`` (flat tables [sex * n_ages + age], ``n_ages`` =
    ``h0.size // 2``; the last age's hazard must be large enough to end life). Sums are in
    float64 by chunk, in a fixed order within a chunk, so they do not depend on the
    number of threads; the caller adds the chunks in order.
    """
    n_chunks = (n + chunk - 1) // chunk
    n_ages = h0.shape[0] // 2
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        o = out[c]
        for i in range(lo, hi):
            if alive[i] != 1:
                continue
            base = np.int64(sex[i]) * n_ages
            rr = np.float64(rr_death[i])
            surv = 1.0
            d = 1.0
            ly = 0.0
            lyd = 0.0
            qd = 0.0
            for a in range(np.int64(age[i]), n_ages):
                nxt = surv * math.exp(-h0[base + a] * rr)
                py = 0.5 * (surv + nxt)
                ly += py
                lyd += py * d
                qd += py * d * weight[base + a]
                d *= disc
                surv = nxt
                if surv < 1e-15:
                    break
            q = min(np.int64(income_rank[i] * np.float32(5.0)), 4)
            s = np.int64(sex[i])
            o[s, q, 0] += 1.0
            o[s, q, 1] += ly
            o[s, q, 2] += lyd
            o[s, q, 3] += qd
