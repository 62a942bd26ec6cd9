"""The kernels' fast and general paths give the same arrays, and no kernel's results depend
on the chunk size or the number of threads.

Each pathway kernel writes its formulas once and runs them on one of two paths: a fast path
for years without the interventions it reads (compiled without the doses) and a general
path (doses computed first; for :func:`kernels.pathways.disease_step`, the per-person path
for everyone). ``general=True`` forces the general path: with no intervention acting, it
must leave every state array exactly as the fast path does, bit for bit.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulation import interventions, pathways, rng
from simulation.config import resolve_parameters
from simulation.kernels import demography as kd
from simulation.kernels import pathways as kp
from simulation.kernels.records import State
from simulation.population import N_AGES, STATE_SCHEMA, load_region

ROOT = Path(__file__).resolve().parents[1]
P = resolve_parameters({})
REGION = load_region()
N_DEPARTMENTS = len(REGION.codes)
N_GROUPS = kd.n_groups(N_DEPARTMENTS)
SEED, YEAR = 3, 2031
N = 5_000
CHUNK = 2_048


def random_state(n: int = N, seed: int = 1) -> State:
    """``n`` people with every state attribute drawn over its range (a tenth of them dead,
    people in education around the school-leaving ages, former smokers of any standing)."""
    g = np.random.default_rng(seed)
    a = {name: np.zeros(n, dtype=dtype) for name, (dtype, _) in STATE_SCHEMA.items()}
    a["pid"][:] = g.choice(np.uint64(1) << np.uint64(40), n, replace=False) + np.uint64(1)
    a["alive"][:] = g.random(n) > 0.1
    a["sex"][:] = g.integers(0, 2, n)
    a["age"][:] = g.integers(0, 105, n)
    a["department"][:] = g.integers(0, N_DEPARTMENTS, n)
    a["income_rank"][:] = g.random(n).astype(np.float32) * np.float32(0.9999)
    a["education"][:] = g.integers(0, 5, n)
    a["pcs"][:] = g.integers(0, 7, n)
    a["parent_pcs"][:] = g.integers(0, 7, n)
    a["employment"][:] = g.integers(0, 5, n)
    a["employment"][a["age"] < 26] = kp.IN_EDUCATION
    a["status_score"][:] = g.integers(-60, 61, n)
    a["rr_death"][:] = 1.0
    a["n_children"][:] = g.integers(0, 4, n)
    a["sensitive"][:] = g.integers(0, 8, n)
    a["smoking"][:] = np.where(g.random(n) < 0.5, g.integers(0, 2, n), g.integers(2, 80, n))
    a["obese"][:] = g.random(n) < 0.2
    a["nuisance"][:] = g.random(n) < 0.3
    a["stress"][:] = g.random(n) < 0.2
    a["load"][:] = g.uniform(0.0, 30.0, n).astype(np.float32)
    a["insurance"][:] = g.integers(0, 4, n)
    a["care"][:] = g.integers(0, 8, n)
    a["conditions"][:] = g.integers(0, 32, n) * (g.random(n) < 0.4)
    a["disability"][:] = g.random(n) < 0.15
    return State(**a)


def copy_state(st: State) -> State:
    return State(*(x.copy() for x in st))


def assert_same(a: State, b: State) -> None:
    for name, x, y in zip(State._fields, a, b, strict=True):
        assert np.array_equal(x, y), name


def tables() -> pathways.PathwayTables:
    t = pathways.PathwayTables.build(P, REGION)
    ages = np.arange(N_AGES)
    # an incidence rising with age, and a mortality normaliser different at every sex and
    # age, so that a wrong index shows
    t.inc_base = np.broadcast_to(0.002 * np.exp(0.04 * ages), (kp.N_CONDITIONS, 2, N_AGES)).copy()
    t.death_norm = 0.5 + 0.004 * np.arange(2 * N_AGES, dtype=float).reshape(2, N_AGES)
    return t


TABLES = tables()


def active_plan(effect: float = 0.3, seed: int = 2) -> np.ndarray:
    """Every intervention type acting, with needs that vary by every stratum."""
    g = np.random.default_rng(seed)
    rows = [interventions.pack({"vingtile": g.uniform(0.0, 1.5, 20), "pcs": g.uniform(0.3, 1, 7),
                                "education": g.uniform(0.3, 1, 5),
                                "department": g.uniform(0.3, 1, N_DEPARTMENTS),
                                "zone": g.uniform(0.5, 1, 2)}, 1.0, effect, 2.0)
            for _ in range(interventions.N_TYPES)]
    return np.vstack(rows)


NO_IV = interventions.empty_plan(N_DEPARTMENTS)
EQ_NONE = np.zeros(len(interventions.PATHWAYS), dtype=np.uint8)
EQ_ALL = np.ones(len(interventions.PATHWAYS), dtype=np.uint8)


# ---------------------------------------------------------------- the kernels, one call each


def sep(st: State, chunk: int = CHUNK) -> np.ndarray:
    moves = np.zeros((kd.count_rows(), N_GROUPS * 2 * N_AGES), dtype=np.int32)
    kp.sep_step(st, TABLES.sep_params(), N, chunk, rng.key(SEED, "sep", YEAR), N_AGES, moves)
    return moves.sum(axis=0, dtype=np.int64)


def exposures(st: State, iv: np.ndarray, eq: np.ndarray, general: bool = False,
              chunk: int = CHUNK) -> None:
    kp.exposures_step(st, TABLES.exposure_params(), N, chunk, rng.key(SEED, "exposures", YEAR),
                      iv, eq, general)


def care(st: State, iv: np.ndarray, eq: np.ndarray, general: bool = False,
         chunk: int = CHUNK) -> None:
    kp.care_step(st, TABLES.care_params(), N, chunk, rng.key(SEED, "propensity_take_up", 0),
                 rng.key(SEED, "care", YEAR), iv, eq, general)


def disease(st: State, iv: np.ndarray, eq: np.ndarray, general: bool = False,
            chunk: int = CHUNK, prm: kp.DiseaseParams | None = None) -> np.ndarray:
    counts = np.zeros((kd.count_rows(), N_GROUPS * 2 * N_AGES), dtype=np.int32)
    kp.disease_step(st, TABLES.disease_params() if prm is None else prm, N, chunk,
                    rng.key(SEED, "disease", YEAR), N_AGES, counts, iv, eq, general)
    return counts.sum(axis=0, dtype=np.int64)


# ---------------------------------------------------------- fast path == general path


@pytest.mark.parametrize("eq", [EQ_NONE, EQ_ALL], ids=["baseline", "equalised"])
def test_exposures_general_path_without_interventions_is_the_fast_path(eq):
    fast, general = random_state(), random_state()
    exposures(fast, NO_IV, eq)
    exposures(general, NO_IV, eq, general=True)
    assert_same(fast, general)
    assert not np.array_equal(fast.smoking, random_state().smoking)  # the kernel ran


@pytest.mark.parametrize("eq", [EQ_NONE, EQ_ALL], ids=["baseline", "equalised"])
def test_care_general_path_without_interventions_is_the_fast_path(eq):
    fast, general = random_state(), random_state()
    care(fast, NO_IV, eq)
    care(general, NO_IV, eq, general=True)
    assert_same(fast, general)
    assert not np.array_equal(fast.care, random_state().care)


@pytest.mark.parametrize("eq", [EQ_NONE, EQ_ALL], ids=["baseline", "equalised"])
def test_disease_general_path_for_everyone_is_the_two_pass_path(eq):
    fast, general = random_state(), random_state()
    a = disease(fast, NO_IV, eq)
    b = disease(general, NO_IV, eq, general=True)
    assert_same(fast, general)
    assert np.array_equal(a, b) and a.sum() > 0
    assert not np.array_equal(fast.conditions, random_state().conditions)


def test_interventions_of_no_effect_take_the_general_path_to_the_same_arrays():
    """Every type acting (an effect size that is not 0) but reaching nobody (an income-rank
    limit of 0): the general path runs on doses of 0, and gives the fast path's arrays."""
    plan = active_plan()
    plan[:, -2] = 0.0  # nobody below the rank limit: every dose 0, the general path
    for kernel in (exposures, care, disease):
        fast, general = random_state(), random_state()
        kernel(fast, NO_IV, EQ_NONE)
        kernel(general, plan, EQ_NONE)
        assert_same(fast, general)


def test_interventions_change_what_they_act_on():
    """A check of the check: with doses, the general path gives other arrays."""
    for kernel, field in ((exposures, "smoking"), (care, "insurance")):
        fast, general = random_state(), random_state()
        kernel(fast, NO_IV, EQ_NONE)
        kernel(general, active_plan(effect=0.9), EQ_NONE)
        assert not np.array_equal(getattr(fast, field), getattr(general, field)), field
    # youth mental-health support: psychiatric onsets at 11-25, frequent here
    prm = TABLES.disease_params()._replace(inc_base=np.full_like(TABLES.disease_params().inc_base, 0.3))
    fast, general = random_state(), random_state()
    disease(fast, NO_IV, EQ_NONE, prm=prm)
    disease(general, active_plan(effect=0.9), EQ_NONE, prm=prm)
    assert (fast.conditions & 16).sum() > (general.conditions & 16).sum()


# ------------------------------------------------------------------ chunks and threads


def _run_all(iv: np.ndarray, eq: np.ndarray, chunk: int) -> tuple[State, list[np.ndarray]]:
    st = random_state()
    counts = [sep(st, chunk)]
    exposures(st, iv, eq, chunk=chunk)
    care(st, iv, eq, chunk=chunk)
    counts.append(disease(st, iv, eq, chunk=chunk))
    return st, counts


@pytest.mark.parametrize("iv, eq", [(NO_IV, EQ_NONE), (active_plan(), EQ_NONE),
                                    (active_plan(), EQ_ALL)],
                         ids=["fast", "interventions", "interventions-equalised"])
def test_the_kernels_do_not_depend_on_the_chunk_size(iv, eq):
    big, counts_big = _run_all(iv, eq, CHUNK)
    for chunk in (97, N):
        small, counts_small = _run_all(iv, eq, chunk)
        assert_same(big, small)
        for x, y in zip(counts_big, counts_small, strict=True):
            assert np.array_equal(x, y)


_THREAD_SCRIPT = """
import hashlib, numba, sys
sys.path.insert(0, sys.argv[1])
from tests import test_kernel_equivalence as t
h = hashlib.sha256()
for iv, eq in ((t.NO_IV, t.EQ_NONE), (t.active_plan(), t.EQ_NONE), (t.active_plan(), t.EQ_ALL)):
    st, counts = t._run_all(iv, eq, 512)
    for x in (*st, *counts):
        h.update(x.tobytes())
print(numba.get_num_threads(), h.hexdigest())
"""


def test_the_kernels_do_not_depend_on_the_thread_count():
    out = {}
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        r = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT, str(ROOT)], cwd=ROOT,
                           env=env, capture_output=True, text=True, check=True)
        n, digest = r.stdout.split()
        assert n == threads
        out[threads] = digest
    assert out["1"] == out["2"]
    # and the same as in this process
    h = hashlib.sha256()
    for iv, eq in ((NO_IV, EQ_NONE), (active_plan(), EQ_NONE), (active_plan(), EQ_ALL)):
        st, counts = _run_all(iv, eq, 512)
        for x in (*st, *counts):
            h.update(x.tobytes())
    assert h.hexdigest() == out["1"]
