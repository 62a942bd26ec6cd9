"""The records the kernels take in place of long lists of arguments.

A kernel takes the population's state as one :class:`State` (the arrays of
:data:`simulation.population.STATE_SCHEMA`, in that order) and its parameters as one
namedtuple declared beside it (e.g. :class:`simulation.kernels.pathways.SepParams`). numba
passes a namedtuple of arrays as a tuple of array views: nothing is copied, and a kernel
compiles to the same machine code as with the arrays passed one by one.

A record passed into a ``prange`` loop must be flat (arrays and scalars, no nested tuple):
numba cannot hand a nested tuple to the threads of a parallel loop.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ..population import STATE_SCHEMA

#: The state arrays of a population, by :data:`simulation.population.STATE_SCHEMA`.
State = namedtuple("State", tuple(STATE_SCHEMA))


def state_of(pop: Any) -> State:
    """The state arrays of ``pop`` (a :class:`simulation.population.Population`, or anything
    with an attribute per state array) as a :class:`State`: the arrays themselves, at their
    full capacity (kernels take the number of rows in use apart)."""
    return State(*(getattr(pop, name) for name in State._fields))
