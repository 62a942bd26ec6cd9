"""Counter-based random numbers (DESIGN section 6).

A draw is a pure function of ``(seed, stream, year, person id, draw index)``: no state is
carried between draws, so results do not depend on the order in which people are visited,
the number of threads, the chunk size or the executor, and two scenarios run with the same
seed share every draw of every person they share (common random numbers).

The mixing function is the finaliser of splitmix64 (Steele, Lea & Flood 2014, "Fast
splittable pseudorandom number generators", OOPSLA), which passes BigCrush when applied to
a Weyl sequence; here the counter is the (offset) person id and the increment is an odd key
derived from (seed, stream, year).

Kernels call :func:`stream_key` once per process and year, outside their loops, and then
:func:`uniform` per person. Streams are small integers declared in :data:`STREAMS`; each
process owns its own stream(s) so that adding a draw to one process never shifts another's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S33 = np.uint64(33)
_S48 = np.uint64(48)
_S32 = np.uint64(32)
_S16 = np.uint64(16)
_S43 = np.uint64(43)
_S22 = np.uint64(22)
_LOW16 = np.uint64(0xFFFF)
_LOW21 = np.uint64(0x1FFFFF)
_INV_2_16 = 1.0 / 65536.0
_INV_2_21 = 1.0 / 2097152.0
_S1 = np.uint64(1)
_LOW31 = np.uint64(0x7FFFFFFF)
_INV_2_53 = 1.0 / 9007199254740992.0
_INV_2_31 = 1.0 / 2147483648.0

#: Stream numbers, one per random decision. Never renumber an existing stream: that would
#: change every result computed with it. New processes append new numbers.
STREAMS: dict[str, int] = {
    "synthesis_age": 1,
    "synthesis_sex": 2,
    "synthesis_department": 3,
    "synthesis_income": 4,
    "synthesis_education": 5,
    "synthesis_pcs": 6,
    "synthesis_employment": 7,
    "synthesis_parents": 8,
    "synthesis_exposures": 9,
    "vital": 10,
    "newborn_sex": 12,
    "newborn_education": 13,
    "newborn_pcs": 14,
    "synthesis_conditions": 15,
    "sep": 20,
    "entry_to_work": 21,
    "exposures": 22,
    "care": 23,
    "propensity_take_up": 24,  # take-up, no-insurance and GP propensities (fixed)
    "disease": 27,  # onsets of the five conditions and disability
    "early_education": 29,  # the diploma gained through early-childhood prevention
    "effect_draws": 30,  # intervention effects of a probabilistic sensitivity analysis
    "migration": 31,  # who emigrates, and the immigrants' draws
    # retired numbers, never reuse: 25, 26, 28
}


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """splitmix64 finaliser: a bijective avalanche of a 64-bit integer."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_key(seed: int, stream: int, year: int) -> np.uint64:
    """Key of one (seed, stream, year): computed once per process and year."""
    k = mix64(np.uint64(seed) * _GOLDEN + np.uint64(stream))
    k = mix64(k ^ (np.uint64(year) * _M1))
    return k | np.uint64(1)  # odd: a valid Weyl increment


@njit(cache=True, inline="always")
def uniform(key: np.uint64, pid: np.uint64) -> float:
    """Uniform draw in [0, 1) with 53 random bits for person ``pid`` under ``key``."""
    z = mix64((pid + _GOLDEN) * key)
    return float(z >> _S11) * _INV_2_53


@njit(cache=True, inline="always")
def uniform_pair(key: np.uint64, pid: np.uint64) -> tuple[float, float]:
    """Two independent uniform draws in [0, 1) with 31 random bits each (resolution
    4.7e-10), from one hash: half the cost of two :func:`uniform` calls in the hottest loop.
    The bits go through int32 because AVX2 converts int32, not 64-bit integers, to double
    in vector registers."""
    z = mix64((pid + _GOLDEN) * key)
    hi = np.int32(z >> _S33)
    lo = np.int32((z >> _S1) & _LOW31)
    return hi * _INV_2_31, lo * _INV_2_31


@njit(cache=True, inline="always")
def uniform_quad(key: np.uint64, pid: np.uint64) -> tuple[float, float, float, float]:
    """Four independent uniform draws in [0, 1) with 16 random bits each (resolution
    1.5e-5), from one hash: for yearly decisions whose probabilities are above ~1e-3."""
    z = mix64((pid + _GOLDEN) * key)
    a = np.int32((z >> _S48) & _LOW16)
    b = np.int32((z >> _S32) & _LOW16)
    c = np.int32((z >> _S16) & _LOW16)
    d = np.int32(z & _LOW16)
    return a * _INV_2_16, b * _INV_2_16, c * _INV_2_16, d * _INV_2_16


@njit(cache=True, inline="always")
def uniform_six(key: np.uint64, pid: np.uint64) -> tuple[float, float, float, float, float,
                                                         float]:
    """Six independent uniform draws in [0, 1) with 21 random bits each (resolution
    4.8e-7), from two hashes: for yearly onsets of rare events."""
    z1 = mix64((pid + _GOLDEN) * key)
    z2 = mix64(z1 ^ key)
    return (np.int32((z1 >> _S43) & _LOW21) * _INV_2_21,
            np.int32((z1 >> _S22) & _LOW21) * _INV_2_21,
            np.int32((z1 >> _S1) & _LOW21) * _INV_2_21,
            np.int32((z2 >> _S43) & _LOW21) * _INV_2_21,
            np.int32((z2 >> _S22) & _LOW21) * _INV_2_21,
            np.int32((z2 >> _S1) & _LOW21) * _INV_2_21)


@njit(cache=True)
def uniforms(key: np.uint64, pids: np.ndarray) -> np.ndarray:
    """Vector of :func:`uniform` draws, one per id (used outside kernels, e.g. synthesis)."""
    out = np.empty(pids.shape[0], dtype=np.float64)
    for i in range(pids.shape[0]):
        out[i] = uniform(key, pids[i])
    return out


@njit(cache=True)
def child_id(mother_id: np.uint64, birth_order: int) -> np.uint64:
    """Stable id of a mother's ``birth_order``-th child (0-based).

    Derived only from the mother's id and birth order, so a child born to the same mother at
    the same rank in two scenarios has the same id, hence the same draws. The top bit is set
    so that children's ids never coincide with the 0..N-1 ids of the synthetic population;
    a collision between two children has probability about n^2 / 2^64 (negligible below
    10^8 births).
    """
    z = mix64(mother_id * _GOLDEN + np.uint64(birth_order + 1) * _M2)
    return z | np.uint64(0x8000000000000000)


def key(seed: int, stream: str, year: int) -> np.uint64:
    """Python-side helper: the key of a named stream."""
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    return np.uint64(stream_key(seed, STREAMS[stream], year))
