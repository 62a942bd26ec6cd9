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
