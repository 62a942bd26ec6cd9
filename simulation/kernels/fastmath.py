"""Vectorisable maths for kernels (DESIGN section 12).

This numba build has no vector maths library, so ``math.exp`` runs one value at a time and
stops LLVM from vectorising a loop; a table-based exp needs a float-to-int64 conversion and
a gather that AVX2 does not vectorise either (measured: 50 M people/s against 125 M/s).
Hazards are therefore kept as products of table look-ups (no exp), and the one
exponential per person, the survival probability exp(-h), is :func:`exp_neg`, pure
arithmetic that LLVM vectorises.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def exp_neg(h: float) -> float:
    """exp(-h) for h >= 0 (h above 64 is treated as 64, giving ~1.6e-28), vectorisable.

    exp(-h) = (exp(-h/256))^256: a degree-6 Taylor polynomial of -h/256 (|x| <= 0.25,
    truncation below x^7/7! ~ 1.2e-8 relative before squaring, and about 2e-14 over the
    range of annual hazards below 5) squared eight times. Pure arithmetic with no table or
    integer conversion, so LLVM vectorises it; tested against ``math.exp``.
    """
    x = -min(h, 64.0) * (1.0 / 256.0)
    p = 1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (
        1.0 / 120.0 + x * (1.0 / 720.0))))))
    for _ in range(8):
        p = p * p
    return p


@njit(cache=True, inline="always")
def prob_from_hazard(h: float) -> float:
    """1 - exp(-h) for h >= 0: a 5-term series below 0.05 (relative error below 2e-9),
    the library exp above. For scalar, branchy kernels, where :func:`exp_neg`'s chain of
    squarings costs its full latency; most annual hazards are small."""
    if h < 0.05:
        return h * (1.0 - h * (0.5 - h * (1.0 / 6.0 - h * (1.0 / 24.0 - h * (1.0 / 120.0)))))
    return 1.0 - math.exp(-h)


@njit(cache=True, inline="always")
def exp_poly(x: float) -> float:
    """The degree-8 Taylor polynomial of exp at 0 (:func:`exp_small` for |x| <= 0.5)."""
    return 1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (
        1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))))))


@njit(cache=True, inline="always")
def exp_small(x: float) -> float:
    """exp(x): a degree-8 Taylor polynomial for |x| <= 0.5 (relative error below 1e-8),
    the library exp elsewhere; for modest log relative risks in scalar kernels."""
    if -0.5 <= x <= 0.5:
        return exp_poly(x)
    return math.exp(x)


@njit(cache=True)
def norm_ppf(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's rational approximation, relative error
    below 1.2e-9 on (0, 1); checked in tests). Used for rare events (births, synthesis),
    so it need not vectorise."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    a1, a2, a3 = -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02
    a4, a5, a6 = 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00
    b1, b2, b3 = -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02
    b4, b5 = 6.680131188771972e01, -1.328068155288572e01
    c1, c2, c3 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00
    c4, c5, c6 = -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00
    d1, d2, d3, d4 = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00
    plow = 0.02425
    if p < plow:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / (
            (((d1 * q + d2) * q + d3) * q + d4) * q + 1.0)
    elif p <= 1.0 - plow:
        q = p - 0.5
        r = q * q
        x = (((((a1 * r + a2) * r + a3) * r + a4) * r + a5) * r + a6) * q / (
            ((((b1 * r + b2) * r + b3) * r + b4) * r + b5) * r + 1.0)
    else:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        x = -(((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / (
            (((d1 * q + d2) * q + d3) * q + d4) * q + 1.0)
    return x


@njit(cache=True)
def ordinal(z: float, thresholds: np.ndarray) -> int:
    """Category of a standard-normal latent ``z`` given increasing cut points
    (len = n_categories - 1): 0 below the first cut, n-1 above the last."""
    k = 0
    for t in thresholds:
        if z >= t:
            k += 1
    return k


@njit(cache=True, inline="always")
def pick(i, t0, t1, t2, t3, t4, t5=0.0, t6=0.0):
    """``(t0, ..., t6)[i]`` by selects, for the small tables of kernels (diploma: 5 values,
    PCS: 7): LLVM vectorises a loop with selects, not one with a table look-up."""
    v = t1 if i == 1 else t0
    v = t2 if i == 2 else v
    v = t3 if i == 3 else v
    v = t4 if i == 4 else v
    v = t5 if i == 5 else v
    return t6 if i == 6 else v
