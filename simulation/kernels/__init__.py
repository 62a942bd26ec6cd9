"""Numba kernels, grouped by process. Kernels see arrays and numbers, never objects."""
