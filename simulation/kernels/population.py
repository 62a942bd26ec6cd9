"""Small vector helpers over people used outside the yearly loop (synthesis)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .fastmath import norm_ppf


@njit(cache=True, parallel=True)
def norm_ppf_vec(u: np.ndarray) -> np.ndarray:
    """Element-wise inverse standard normal CDF."""
    out = np.empty(u.shape[0], dtype=np.float64)
    for i in prange(u.shape[0]):
        out[i] = norm_ppf(u[i])
    return out


@njit(cache=True)
def band_expected_deaths(rr, sex, age, alive, h0, c, width, out_f, out_df):
    """For each [sex, band of ``width`` ages]: expected deaths ``sum(1 - exp(-h c rr))`` with
    the band's normaliser ``c`` and its derivative in ``c`` (``sum(h rr exp(-h c rr))``),
    over the living; ``h = h0[sex, age]`` (hazards, per year)."""
    out_f[:] = 0.0
    out_df[:] = 0.0
    for i in range(rr.shape[0]):
        if alive[i] == 0:
            continue
        s = sex[i]
        b = age[i] // width
        hx = h0[s, age[i]] * rr[i]
        e = np.exp(-hx * c[s, b])
        out_f[s, b] += 1.0 - e
        out_df[s, b] += hx * e
