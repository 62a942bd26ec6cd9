"""Health-inequality metrics: period life tables, life expectancy by stratum, gaps,
slope/relative index of inequality and Sullivan healthy life expectancy.

Everything here is pure numpy/pandas and works on *aggregated* simulation output
(deaths and person-years by single year of age), so it can be applied equally to
simulated strata and to published mortality data.

Units and conventions
---------------------
* Ages are completed years (single-year age groups ``[x, x+1)``); the last row of a
  life table is the open interval ``[w, +inf)`` where ``w`` is the (effective) open age.
* ``deaths`` are counts, ``person_years`` are years of exposure; ``mx`` is a rate per
  person-year (not per 1,000); ``qx`` is a probability; ``lx`` and ``dx`` are fractions
  of a radix of 1.0 (``l0 = 1``); ``Lx`` and ``Tx`` are person-years lived per newborn of
  the radix; ``ex`` (and every life-expectancy value returned here) is in years.
* Demographic conventions: those dying in ``[x, x+1)`` live on average half a year in
  the interval (``a(x) = 0.5``), hence ``qx = mx / (1 + 0.5 mx)`` and
  ``Lx = lx - 0.5 dx`` for closed ages; in the open interval ``qx = 1``,
  ``Lx = lx / mx`` and ``ex = 1 / mx`` (constant hazard beyond the open age).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "LIFE_TABLE_COLUMNS",
    "STRATUM_ORDER",
    "collapse_income",
    "equally_distributed_equivalent",
    "gap",
    "mean_interval",
    "life_expectancy",
    "life_expectancy_by_stratum",
    "life_table",
    "life_table_from_qx",
    "quality_adjusted_life_expectancy",
    "slope_index_of_inequality",
    "sullivan_hle",
    "window",
]

#: Column order of every life table returned by this module.
LIFE_TABLE_COLUMNS: tuple[str, ...] = (
    "age",
    "deaths",
    "person_years",
    "mx",
    "qx",
    "lx",
    "dx",
    "Lx",
    "Tx",
    "ex",
)

#: Canonical order of the ``by`` strata in tidy outputs (unknown strata follow,
#: alphabetically).
STRATUM_ORDER: tuple[str, ...] = (
    "all",
    "income_vingtile",
    "income_decile",
    "income_quintile",
    "pcs",
    "education",
    "department",
)

_AGG_REQUIRED = ("sex", "by", "group", "age", "deaths", "person_years")
#: Fewest deaths for which :func:`life_expectancy_by_stratum` reports a life expectancy.
MIN_DEATHS = 10
#: Additive count columns of the aggregate (summed, never used as keys). ``disabled`` is
#: the number of people with activity limitation among those alive at the start of the
#: year (optional; needed for healthy life expectancy).
_VALUE_COLUMNS = ("deaths", "person_years", "disabled")
_DERIVED_INCOME = ("income_decile", "income_quintile")


# --------------------------------------------------------------------------------------
# Life tables
# --------------------------------------------------------------------------------------


def _as_1d_float(values: object, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return arr


def _table_from_q(
    q_closed: np.ndarray,
    m_open: float,
    mx_closed: np.ndarray,
    deaths: np.ndarray,
    person_years: np.ndarray,
) -> pd.DataFrame:
    """Assemble a life table from closed-age probabilities and the open-interval hazard.

    ``q_closed`` has one entry per closed age ``0..w-1``; the open interval starts at
    ``w = len(q_closed)``. ``deaths``/``person_years``/``mx_closed`` are carried through
    as descriptive columns (``deaths`` and ``person_years`` have ``w + 1`` entries).
    """
    n = q_closed.size
    lx = np.empty(n + 1)
    lx[0] = 1.0
    lx[1:] = np.cumprod(1.0 - q_closed)
    dx = np.empty(n + 1)
    dx[:n] = lx[:n] * q_closed
    dx[n] = lx[n]
    big_l = np.empty(n + 1)
    big_l[:n] = lx[:n] - 0.5 * dx[:n]
    if lx[n] == 0.0:
        big_l[n] = 0.0
    else:
        big_l[n] = lx[n] / m_open  # m_open = inf gives 0 (everybody dies at once)
    tx = np.cumsum(big_l[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = np.where(lx > 0.0, tx / np.where(lx > 0.0, lx, 1.0), np.nan)
    qx = np.append(q_closed, 1.0)
    mx = np.append(mx_closed, m_open)
    return pd.DataFrame(
        {
            "age": np.arange(n + 1, dtype=np.int64),
            "deaths": deaths,
            "person_years": person_years,
            "mx": mx,
            "qx": qx,
            "lx": lx,
            "dx": dx,
            "Lx": big_l,
            "Tx": tx,
            "ex": ex,
        },
        columns=list(LIFE_TABLE_COLUMNS),
    )


def _undefined_table(deaths: np.ndarray, person_years: np.ndarray) -> pd.DataFrame:
    """Table whose life-table functions are undefined (all NaN), for degenerate input."""
    n = deaths.size
    exposed = person_years > 0.0
    mx = np.full(n, np.nan)
    mx[exposed] = deaths[exposed] / person_years[exposed]
    nan = np.full(n, np.nan)
    return pd.DataFrame(
        {
            "age": np.arange(n, dtype=np.int64),
            "deaths": deaths,
            "person_years": person_years,
            "mx": mx,
            "qx": nan,
            "lx": nan.copy(),
            "dx": nan.copy(),
            "Lx": nan.copy(),
            "Tx": nan.copy(),
            "ex": nan.copy(),
        },
        columns=list(LIFE_TABLE_COLUMNS),
    )


def life_table(
    deaths: Sequence[float] | np.ndarray | pd.Series,
    person_years: Sequence[float] | np.ndarray | pd.Series,
    open_age: int = 100,
) -> pd.DataFrame:
    """Period life table by single year of age from deaths and person-years.

    Parameters
    ----------
    deaths, person_years
        One-dimensional, non-negative, finite arrays indexed by age ``0..A`` (position
        ``i`` is age ``i``): deaths (counts, may be fractional when weighted) and
        person-years of exposure (years) observed in ``[x, x+1)``. ``A`` may exceed
        ``open_age``: every age ``>= open_age`` is pooled into the open interval. If
        ``A < open_age`` the last supplied age ``A`` is treated as the open interval
        ``A+``.
    open_age
        Nominal start ``w`` (years) of the open interval ``[w, +inf)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``age, deaths, person_years, mx, qx, lx, dx, Lx, Tx, ex`` (see module
        docstring for units), one row per age ``0..w_eff``; the **last row is always the
        open interval** ``w_eff+`` and carries the pooled deaths and person-years.
        Rows for ages above the effective open age are **dropped** (they are pooled
        into the last row). ``table.attrs["open_age"]`` holds ``w_eff``.

    Definitions
    -----------
    ``mx = D / PY``; ``qx = mx / (1 + 0.5 mx)`` clipped to ``[0, 1]``; ``l0 = 1``;
    ``dx = lx qx``; ``l(x+1) = lx - dx``; ``Lx = lx - 0.5 dx``; open interval:
    ``qx = 1``, ``dx = lx``, ``Lx = lx / mx``; ``Tx = sum_{y >= x} Ly``;
    ``ex = Tx / lx`` (years; NaN where ``lx = 0``, which only happens when some
    ``mx >= 2``).

    Small-population robustness (the effective open age ``w_eff``)
    ---------------------------------------------------------------
    1. If person-years are 0 at some age below ``open_age`` (nobody exposed there), the
       open interval starts at the first such age and all later ages are pooled.
    2. If the pooled open interval has no deaths (or no person-years), its start is
       moved down one age at a time, pooling that age too, until it has both.
    3. Degenerate cases return a table whose life-table functions (``qx`` .. ``ex``) are
       all NaN, with rows ``0..w`` where ``w`` is the open age after step 1: zero
       person-years at age 0, or no deaths at all (step 2 never succeeds).
    """
    d = _as_1d_float(deaths, "deaths")
    py = _as_1d_float(person_years, "person_years")
    if d.shape != py.shape:
        raise ValueError(f"deaths and person_years differ in length: {d.size} vs {py.size}")
    if np.any(d < 0.0) or np.any(py < 0.0):
        raise ValueError("deaths and person_years must be non-negative")
    if isinstance(open_age, bool) or int(open_age) != open_age or open_age < 0:
        raise ValueError(f"open_age must be a non-negative integer, got {open_age!r}")

    w = min(int(open_age), d.size - 1)
    zero_py = np.flatnonzero(py[:w] == 0.0)
    if zero_py.size:
        w = int(zero_py[0])
    # Pooled deaths/person-years of the open interval starting at each candidate age:
    # reverse cumulative sums from the end of the supplied arrays.
    d_tail = np.cumsum(d[::-1])[::-1]
    py_tail = np.cumsum(py[::-1])[::-1]

    if py[0] == 0.0:
        table = _undefined_table(np.append(d[:w], d_tail[w]), np.append(py[:w], py_tail[w]))
        table.attrs["open_age"] = w
        return table
    w_eff = w
    while w_eff >= 0 and not (d_tail[w_eff] > 0.0 and py_tail[w_eff] > 0.0):
        w_eff -= 1
    if w_eff < 0:
        table = _undefined_table(np.append(d[:w], d_tail[w]), np.append(py[:w], py_tail[w]))
        table.attrs["open_age"] = w
        return table

    d_out = np.append(d[:w_eff], d_tail[w_eff])
    py_out = np.append(py[:w_eff], py_tail[w_eff])
    mx_closed = d[:w_eff] / py[:w_eff]  # py > 0 for every closed age by construction
    q_closed = np.clip(mx_closed / (1.0 + 0.5 * mx_closed), 0.0, 1.0)
    m_open = d_tail[w_eff] / py_tail[w_eff]
    table = _table_from_q(q_closed, m_open, mx_closed, d_out, py_out)
    table.attrs["open_age"] = w_eff
    return table


def life_table_from_qx(
    qx: Sequence[float] | np.ndarray | pd.Series,
    open_age_q: int | None = None,
) -> pd.DataFrame:
    """Life table from published probabilities of death ``q(x)`` (e.g. INED, ages 0..99).

    Parameters
    ----------
    qx
        Probabilities of dying between exact ages ``x`` and ``x+1`` for ages ``0..n-1``
        (position ``i`` is age ``i``; a pandas Series is first sorted by its index and
        must then be indexed ``0..n-1``). Values in ``[0, 1]``.
    open_age_q
        Age ``w`` at which the table is closed with an open interval ``[w, +inf)``;
        ``None`` means ``w = n`` (100 for INED's 0..99 tables). ``q`` values at ages
        ``>= w`` are ignored.

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`life_table`, rows ``0..w`` (the last row is the open
        interval). ``deaths`` and ``person_years`` are those of the stationary
        population with radix 1 (``dx`` and ``Lx``), so ``mx = deaths / person_years``.

    Closure convention
    ------------------
    The open interval's hazard is the constant force of mortality implied by the last
    closed age: ``m_w = -ln(1 - q(w-1))`` (exact hazard of an exponential survival over
    one year), so ``e(w) = 1 / m_w``. The alternative ``2q / (2 - q)`` (inverse of the
    ``a(x)=0.5`` relation) differs by ~0.001 year in e0 for French tables. Because the
    hazard keeps rising beyond 99, both slightly overstate e(100); the effect on e0 is
    small since ``l(100)`` is about 1-4%.

    Closed ages use ``a(x) = 0.5``: ``Lx = lx - 0.5 dx`` and ``mx = dx / Lx =
    2 qx / (2 - qx)``.
    """
    if isinstance(qx, pd.Series):
        qx = qx.sort_index()
        if not np.array_equal(np.asarray(qx.index), np.arange(len(qx))):
            raise ValueError("a qx Series must be indexed by ages 0..n-1")
    q = _as_1d_float(qx, "qx")
    if np.any((q < 0.0) | (q > 1.0)):
        raise ValueError("qx must lie in [0, 1]")
    w = q.size if open_age_q is None else int(open_age_q)
    if not 1 <= w <= q.size:
        raise ValueError(f"open_age_q must be in 1..{q.size}, got {open_age_q!r}")
    q_last = q[w - 1]
    if q_last <= 0.0:
        raise ValueError("cannot close the table: q at the last closed age is 0")
    m_open = math.inf if q_last >= 1.0 else -math.log1p(-q_last)
    q_closed = q[:w]
    with np.errstate(divide="ignore", invalid="ignore"):
        mx_closed = 2.0 * q_closed / (2.0 - q_closed)
    table = _table_from_q(q_closed, m_open, mx_closed, np.zeros(w + 1), np.zeros(w + 1))
    table["deaths"] = table["dx"]
    table["person_years"] = table["Lx"]
    table.attrs["open_age"] = w
    return table


def life_expectancy(table: pd.DataFrame, ages: int | Iterable[int]) -> dict[int, float]:
    """Life expectancy ``e(x)`` (years) at the requested ages from a life table.

    ``table`` is the output of :func:`life_table` or :func:`life_table_from_qx`.
    Returns ``{age: e(age)}``; an age absent from the table (e.g. above its effective
    open age) maps to NaN.
    """
    ages_list = [ages] if isinstance(ages, (int, np.integer)) else list(ages)
    lookup = dict(zip(table["age"].astype(int), table["ex"].astype(float), strict=True))
    return {int(a): float(lookup.get(int(a), math.nan)) for a in ages_list}


# --------------------------------------------------------------------------------------
# Stratified life expectancy
# --------------------------------------------------------------------------------------


def _natural_key(label: str, by: str = "") -> tuple:
    """Sort key putting "2" before "10"; Corsican departments "2A"/"2B" sort as "20A"/"20B"."""
    parts = []
    text = "20" + label[1:] if by == "department" and label in ("2A", "2B") else label
    for token in re.split(r"(\d+)", text):
        if token == "":
            continue
        parts.append((0, int(token), "") if token.isdigit() else (1, 0, token))
    return (tuple(parts), label)


def _by_key(by: str) -> tuple[int, str]:
    return (STRATUM_ORDER.index(by), "") if by in STRATUM_ORDER else (len(STRATUM_ORDER), by)


def _check_agg(agg: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _AGG_REQUIRED if c not in agg.columns]
    if missing:
        raise ValueError(f"agg is missing columns {missing}")
    out = agg.copy()
    for col in ("sex", "by", "group"):
        out[col] = out[col].astype(str)
    ages = pd.to_numeric(out["age"])
    if len(ages) and (ages.isna().any() or (ages < 0).any() or (ages % 1 != 0).any()):
        raise ValueError("age must hold non-negative integers")
    out["age"] = ages.astype(np.int64)
    for col in [c for c in _VALUE_COLUMNS if c in out.columns]:
        vals = pd.to_numeric(out[col]).astype(float)
        if not np.all(np.isfinite(vals)) or (vals < 0).any():
            raise ValueError(f"{col} must be finite and non-negative")
        out[col] = vals
    return out


def window(agg: pd.DataFrame, first_year: int, last_year: int) -> pd.DataFrame:
    """Rows of ``agg`` with ``first_year <= year <= last_year`` (inclusive), as a copy.

    Feed the result to :func:`life_expectancy_by_stratum`, which sums over ``year``
    (a pooled multi-year period table).
    """
    if "year" not in agg.columns:
        raise ValueError("agg has no 'year' column")
    if first_year > last_year:
        raise ValueError(f"first_year {first_year} > last_year {last_year}")
    mask = (agg["year"] >= first_year) & (agg["year"] <= last_year)
    return agg.loc[mask].reset_index(drop=True)


def collapse_income(agg: pd.DataFrame) -> pd.DataFrame:
    """Append ``income_decile`` and ``income_quintile`` strata built from vingtiles.

    ``agg`` is the tidy aggregate described in :func:`life_expectancy_by_stratum`.
    Vingtile ``v`` ("1" = poorest 5% .. "20" = richest 5%) maps to decile
    ``(v + 1) // 2`` ("1".."10") and quintile ``(v + 3) // 4`` ("1".."5"); deaths and
    person-years of the corresponding vingtiles are summed within every combination of
    the other columns (``sex``, ``age`` and e.g. ``year``). Rows already labelled
    ``income_decile``/``income_quintile`` are replaced by the derived ones, so the
    function is idempotent. Vingtile labels are canonicalised ("01", 1, 1.0 -> "1").
    Returns a new frame (input rows first, then deciles, then
    quintiles); if there are no vingtile rows nothing is appended.
    """
    base = _check_agg(agg)
    base = base.loc[~base["by"].isin(_DERIVED_INCOME)].reset_index(drop=True)
    vint = base.loc[base["by"] == "income_vingtile"]
    if vint.empty:
        return base
    try:
        v = vint["group"].map(lambda s: int(float(s))).to_numpy()
    except ValueError as err:
        raise ValueError("income_vingtile groups must be integers '1'..'20'") from err
    if np.any((v < 1) | (v > 20)):
        raise ValueError("income_vingtile groups must lie in 1..20")
    base.loc[vint.index, "group"] = v.astype(str)  # canonical labels ("01"/"1.0" -> "1")
    vint = base.loc[vint.index]
    values = [c for c in _VALUE_COLUMNS if c in base.columns]
    keys = [c for c in base.columns if c not in ("by", "group", *values)]
    pieces = [base]
    for by, codes in (("income_decile", (v + 1) // 2), ("income_quintile", (v + 3) // 4)):
        tmp = vint[[*keys, *values]].copy()
        tmp["group"] = codes.astype(str)
        summed = tmp.groupby([*keys, "group"], sort=False, dropna=False, as_index=False)[
            values
        ].sum()
        summed["by"] = by
        pieces.append(summed[list(base.columns)])
    return pd.concat(pieces, ignore_index=True)


def life_expectancy_by_stratum(
    agg: pd.DataFrame,
    ages: Sequence[int] = (0, 35, 60, 65),
    open_age: int = 100,
    healthy: bool = False,
    min_deaths: int = MIN_DEATHS,
) -> pd.DataFrame:
    """Period life expectancy by sex and stratum from a tidy deaths/exposure aggregate.

    A stratum with fewer than ``min_deaths`` deaths gets NaN rather than a life expectancy:
    with a handful of deaths the table's old ages rest on one or two events and e(x) can
    come out at absurd values (hundreds of years).

    With ``healthy=True`` the frame needs a ``disabled`` column (people with activity
    limitation among those alive at the start of the year) and the result gains ``hle``,
    healthy life expectancy in years by Sullivan's method.

    Parameters
    ----------
    agg
        Tidy frame with columns ``sex`` ("M"/"F"), ``by`` (stratum name: "all",
        "income_vingtile", "pcs", "education", "department", ...), ``group`` (label,
        converted to str; for income_vingtile "1".."20" with "1" the poorest 5%),
        ``age`` (int, completed years), ``deaths`` (count) and ``person_years``
        (years). Any other column (e.g. ``year``) is summed over: pass a frame already
        restricted to the wanted years (see :func:`window`).
    ages
        Ages (years) at which ``e(x)`` is reported.
    open_age
        Nominal open age of each life table (see :func:`life_table` for the
        small-population rules that may lower it per stratum).

    Returns
    -------
    pandas.DataFrame
        Columns ``sex, by, group, age, e`` with ``e`` the life expectancy in years
        (NaN when the stratum's table is undefined or ``age`` lies above its effective
        open age). Strata ``income_decile`` and ``income_quintile`` are derived from the
        vingtiles with :func:`collapse_income`. Rows are ordered by sex (sorted), by
        (:data:`STRATUM_ORDER`, then alphabetical), group (natural/numeric order, so
        "2" < "10"; departments "2A"/"2B" between "19" and "21") and age in the order
        given. Missing (sex, stratum, group, age)
        cells count as zero deaths and person-years.
    """
    ages_list = [int(a) for a in ages]
    columns = ["sex", "by", "group", "age", "e"] + (["hle"] if healthy else [])
    full = collapse_income(agg)
    if healthy and "disabled" not in full.columns:
        raise ValueError("healthy life expectancy needs a 'disabled' column")
    if full.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("e", "hle") else object)
                             for c in columns})
    values = ["deaths", "person_years"] + (["disabled"] if healthy else [])
    summed = full.groupby(["sex", "by", "group", "age"], dropna=False)[values].sum()
    all_ages = np.arange(int(full["age"].max()) + 1)
    wide = {
        v: summed[v].unstack("age", fill_value=0.0).reindex(columns=all_ages, fill_value=0.0)
        for v in values
    }
    strata = sorted(wide["deaths"].index,
                    key=lambda k: (k[0], _by_key(k[1]), _natural_key(k[2], k[1])))
    records = []
    for key in strata:
        d = wide["deaths"].loc[key].to_numpy()
        py = wide["person_years"].loc[key].to_numpy()
        table = life_table(d if d.sum() >= min_deaths else np.zeros_like(d), py, open_age)
        e = life_expectancy(table, ages_list)
        if not healthy:
            records.extend((key[0], key[1], key[2], a, e[a]) for a in ages_list)
            continue
        hle = _stratum_hle(table, d, py, wide["disabled"].loc[key].to_numpy())
        records.extend((key[0], key[1], key[2], a, e[a], hle.get(a, math.nan))
                       for a in ages_list)
    out = pd.DataFrame.from_records(records, columns=columns)
    out["age"] = out["age"].astype(np.int64)
    out["e"] = out["e"].astype(float)
    if healthy:
        out["hle"] = out["hle"].astype(float)
    return out


def _stratum_hle(table: pd.DataFrame, deaths: np.ndarray, person_years: np.ndarray,
                 disabled: np.ndarray) -> dict[int, float]:
    """Sullivan HLE of one stratum: prevalence = disabled / alive at the start of the year
    (alive = person-years + deaths / 2), pooled over the table's open interval."""
    if table["ex"].isna().all():
        return {}
    alive = person_years + deaths / 2.0
    w = int(table.attrs.get("open_age", int(table["age"].max())))
    prev = np.zeros(w + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prev[:w] = np.where(alive[:w] > 0, disabled[:w] / np.where(alive[:w] > 0, alive[:w], 1), 0)
    tail = alive[w:].sum()
    prev[w] = disabled[w:].sum() / tail if tail > 0 else 0.0
    res = sullivan_hle(table, np.clip(prev, 0.0, 1.0))
    return dict(zip(res["age"].astype(int), res["hle"].astype(float), strict=True))


def gap(le: pd.DataFrame, by: str, low: str | int, high: str | int) -> pd.DataFrame:
    """Absolute gap in life expectancy, ``e(high) - e(low)`` (years), per sex and age.

    ``le`` is the output of :func:`life_expectancy_by_stratum`; ``low`` and ``high``
    are group labels of stratum ``by`` (e.g. ``gap(le, "income_vingtile", "1", "20")``
    gives richest-minus-poorest 5%, positive when the rich live longer). Returns
    columns ``sex, age, gap``. Raises ``ValueError`` if a group is absent.
    """
    sub = le.loc[le["by"] == by]
    low_s, high_s = str(low), str(high)
    frames = {}
    for label in (low_s, high_s):
        part = sub.loc[sub["group"].astype(str) == label, ["sex", "age", "e"]]
        if part.empty:
            raise ValueError(f"group {label!r} not found in stratum {by!r}")
        frames[label] = part
    merged = frames[high_s].merge(frames[low_s], on=["sex", "age"], suffixes=("_high", "_low"))
    merged["gap"] = merged["e_high"] - merged["e_low"]
    return merged[["sex", "age", "gap"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Summary indices
# --------------------------------------------------------------------------------------


def slope_index_of_inequality(
    values: Sequence[float] | np.ndarray,
    population_shares: Sequence[float] | np.ndarray,
    higher_is_better: bool = True,
) -> tuple[float, float]:
    """Slope (SII) and relative (RII) index of inequality by weighted least squares.

    Parameters
    ----------
    values
        Group-level outcome (e.g. life expectancy in years, or a mortality rate), one
        per group, **ordered from the most deprived to the least deprived group**
        (e.g. income vingtiles "1".."20").
    population_shares
        Non-negative group sizes (any unit; normalised to sum to 1).
    higher_is_better
        Whether larger outcome values are favourable (life expectancy: True;
        mortality, disability prevalence: False).

    Definitions
    -----------
    Each group gets the ridit score ``r_i = (cumulative share of the groups before it)
    + share_i / 2`` in ``[0, 1]`` (0 = bottom/most deprived end, 1 = top). The line
    ``v = a + b r`` is fitted by least squares weighted by the shares; ``pred(r) = a +
    b r``.

    Sign conventions (chosen so that SII > 0 and RII > 1 always mean that the deprived
    end of the hierarchy is worse off):

    * ``higher_is_better=True``: ``SII = pred(1) - pred(0) = b`` (same unit as
      ``values``), ``RII = pred(1) / pred(0)``.
    * ``higher_is_better=False``: ``SII = pred(0) - pred(1) = -b``,
      ``RII = pred(0) / pred(1)`` (the usual deprived/advantaged rate ratio).

    RII is only meaningful for positive outcomes; it is NaN when its denominator is 0.
    NaN values propagate to (NaN, NaN); if all weight sits in one group the slope is
    undefined and (NaN, NaN) is returned.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(population_shares, dtype=float)
    if v.ndim != 1 or w.ndim != 1 or v.size != w.size:
        raise ValueError("values and population_shares must be 1-D of equal length")
    if v.size < 2:
        raise ValueError("at least two groups are needed")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0) or w.sum() <= 0.0:
        raise ValueError("population_shares must be finite, non-negative, not all zero")
    if np.any(np.isnan(v)):
        return (math.nan, math.nan)
    w = w / w.sum()
    ridit = np.cumsum(w) - 0.5 * w
    r_bar = float(np.sum(w * ridit))
    v_bar = float(np.sum(w * v))
    var_r = float(np.sum(w * (ridit - r_bar) ** 2))
    if var_r <= 0.0:
        return (math.nan, math.nan)
    slope = float(np.sum(w * (ridit - r_bar) * (v - v_bar))) / var_r
    pred0 = v_bar - slope * r_bar
    pred1 = pred0 + slope
    top, bottom = (pred1, pred0) if higher_is_better else (pred0, pred1)
    sii = top - bottom
    rii = top / bottom if bottom != 0.0 else math.nan
    return (float(sii), float(rii))


def sullivan_hle(
    table: pd.DataFrame,
    disability_prevalence: float | Sequence[float] | np.ndarray | pd.Series,
) -> pd.DataFrame:
    """Healthy (disability-free) life expectancy by Sullivan's method.

    ``HLE(x) = sum_{y >= x} L(y) (1 - pi(y)) / l(x)`` in years, where ``L`` and ``l``
    come from ``table`` (output of :func:`life_table`/:func:`life_table_from_qx`) and
    ``pi(y)`` in ``[0, 1]`` is the prevalence of disability at age ``y``.

    ``disability_prevalence`` may be a scalar (same prevalence at every age), a pandas
    Series indexed by age (looked up at the table's ages), or an array indexed by age
    from 0 (position ``i`` = age ``i``) with at least one entry per table row. The open
    interval ``w+`` uses the prevalence of the open age group, i.e. the value given
    for age ``w`` (entries for older ages are ignored).

    Returns columns ``age, ex, hle`` (years; NaN where ``lx = 0``).
    """
    ages = table["age"].to_numpy(dtype=np.int64)
    if np.isscalar(disability_prevalence):
        pi = np.full(ages.size, float(disability_prevalence))  # type: ignore[arg-type]
    elif isinstance(disability_prevalence, pd.Series):
        aligned = disability_prevalence.reindex(ages)
        if aligned.isna().any():
            raise ValueError("disability_prevalence lacks some table ages")
        pi = aligned.to_numpy(dtype=float)
    else:
        arr = np.asarray(disability_prevalence, dtype=float)
        if arr.ndim != 1 or arr.size <= int(ages.max()):
            raise ValueError(f"disability_prevalence needs entries for ages 0..{ages.max()}")
        pi = arr[ages]
    if not np.all(np.isfinite(pi)) or np.any((pi < 0.0) | (pi > 1.0)):
        raise ValueError("disability_prevalence must lie in [0, 1]")
    lx = table["lx"].to_numpy(dtype=float)
    healthy_l = table["Lx"].to_numpy(dtype=float) * (1.0 - pi)
    healthy_t = np.cumsum(healthy_l[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hle = np.where(lx > 0.0, healthy_t / np.where(lx > 0.0, lx, 1.0), np.nan)
    return pd.DataFrame({"age": ages, "ex": table["ex"].to_numpy(dtype=float), "hle": hle})



# --------------------------------------------------------------------------------------
# Distributional cost-effectiveness and intervals
# --------------------------------------------------------------------------------------


def quality_adjusted_life_expectancy(agg: pd.DataFrame, by: str, utility_disability: float,
                                     age: int = 0, open_age: int = 100,
                                     min_deaths: int = MIN_DEATHS) -> pd.Series:
    """Quality-adjusted life expectancy (QALE, years) at ``age`` for each group of stratum
    ``by``, both sexes pooled, by Sullivan's method with quality weight
    ``1 - (1 - utility_disability) * prevalence of activity limitation``.

    ``agg`` is a tidy aggregate with a ``disabled`` column (see
    :func:`life_expectancy_by_stratum`; restrict it to a window of years first);
    ``income_quintile`` and ``income_decile`` are derived from vingtiles. Returns a Series
    indexed by group label in natural order (NaN for a group with fewer than
    ``min_deaths`` deaths). This is the health distribution of distributional
    cost-effectiveness analysis (Asaria, Griffin, Cookson 2016, Med Decis Making 36:8-19).
    """
    if not 0.0 <= utility_disability <= 1.0:
        raise ValueError("utility_disability must lie in [0, 1]")
    full = collapse_income(agg)
    if "disabled" not in full.columns:
        raise ValueError("quality-adjusted life expectancy needs a 'disabled' column")
    sub = full.loc[full["by"] == by]
    if sub.empty:
        raise ValueError(f"stratum {by!r} not found")
    summed = sub.groupby(["group", "age"])[["deaths", "person_years", "disabled"]].sum()
    all_ages = np.arange(int(sub["age"].max()) + 1)
    out = {}
    groups = sorted(summed.index.get_level_values("group").unique(),
                    key=lambda g: _natural_key(g, by))
    for g in groups:
        cells = summed.loc[g].reindex(all_ages, fill_value=0.0)
        d = cells["deaths"].to_numpy(float)
        py = cells["person_years"].to_numpy(float)
        if d.sum() < min_deaths:
            out[g] = math.nan
            continue
        table = life_table(d, py, open_age)
        weighted = cells["disabled"].to_numpy(float) * (1.0 - utility_disability)
        out[g] = _stratum_hle(table, d, py, weighted).get(int(age), math.nan)
    return pd.Series(out, dtype=float)


def equally_distributed_equivalent(values: Sequence[float] | np.ndarray,
                                   shares: Sequence[float] | np.ndarray | None = None,
                                   kind: str = "atkinson", aversion: float = 10.95) -> float:
    """Equally distributed equivalent (EDE) of a health distribution: the level of health
    which, shared equally, society values as much as the actual distribution (years, like
    ``values``). The social welfare index of distributional cost-effectiveness analysis.

    * ``kind="atkinson"`` (relative aversion ``epsilon``, not 1):
      ``EDE = (sum_i w_i h_i**(1 - epsilon))**(1 / (1 - epsilon))``; ``epsilon = 0`` is
      the mean.
    * ``kind="kolm"`` (absolute aversion ``alpha > 0``, per year):
      ``EDE = -ln(sum_i w_i exp(-alpha h_i)) / alpha``.

    ``shares``: population shares ``w_i`` (normalised; equal by default). The EDE never
    exceeds the mean, with equality when every ``h_i`` is the same. Defaults follow the
    aversions elicited in England (Robson et al. 2017, Health Econ 26:1328-1334: Atkinson
    10.95, Kolm 0.15). NaN if any value is NaN.
    """
    h = np.asarray(values, dtype=float)
    w = np.full(h.size, 1.0) if shares is None else np.asarray(shares, dtype=float)
    if h.ndim != 1 or h.size == 0 or w.shape != h.shape:
        raise ValueError("values and shares must be 1-D, non-empty and of equal length")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0) or w.sum() <= 0.0:
        raise ValueError("shares must be finite, non-negative, not all zero")
    if np.any(np.isnan(h)):
        return math.nan
    w = w / w.sum()
    if kind == "atkinson":
        if aversion < 0.0 or aversion == 1.0:
            raise ValueError("the Atkinson aversion must be >= 0 and not 1")
        if np.any(h <= 0.0):
            raise ValueError("the Atkinson EDE needs positive values")
        m = float(h.min())  # scaled by the minimum: no overflow for large aversions
        return m * float(np.sum(w * (h / m) ** (1.0 - aversion))) ** (1.0 / (1.0 - aversion))
    if kind == "kolm":
        if aversion <= 0.0:
            raise ValueError("the Kolm aversion must be > 0")
        m = float(h.min())
        return m - math.log(float(np.sum(w * np.exp(-aversion * (h - m))))) / aversion
    raise ValueError(f"kind must be 'atkinson' or 'kolm', got {kind!r}")


def mean_interval(values: Sequence[float] | np.ndarray, level: float = 0.95
                  ) -> tuple[float, float, float]:
    """Mean of independent replicates and the Student-t confidence interval of that mean,
    ``mean -/+ t_{n-1, (1+level)/2} * s / sqrt(n)`` (``s`` the sample standard deviation):
    exact for normal replicates whatever their number, and the interval a paired
    difference on common random numbers needs with few replicates. NaN values are
    dropped; with one replicate the bounds are NaN (no estimate of the spread)."""
    from scipy.stats import t as student_t

    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(a.mean())
    if a.size == 1:
        return (mean, math.nan, math.nan)
    half = float(student_t.ppf(0.5 + level / 2.0, a.size - 1) * a.std(ddof=1)
                 / math.sqrt(a.size))
    return (mean, mean - half, mean + half)
