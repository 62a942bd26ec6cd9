"""Results store: SQLAlchemy 2.0 models and the reading and writing of runs.

Only this module talks to the database. Any SQLAlchemy URL of a supported dialect works:
SQLite by default (``sqlite:///outputs/healthgap.db``, WAL journal, busy timeout) and
PostgreSQL through psycopg 3 (``postgresql+psycopg://USER@HOST:PORT/DATABASE``) for shared
use::

    from simulation.store import Store
    with Store("sqlite:///outputs/healthgap.db") as store:
        run_id, reused = store.get_or_run(scenario, replicate=0)
        frames = store.load_result(run_id)      # yearly, life_table_input, life_expectancy
        store.table("runs")                     # any table as a DataFrame

Guarantees
----------
* A run is written in ONE transaction (scenario row, run row with status ``finished``,
  every result row): a crash leaves either the whole run or nothing.
* A finished run is identified by (scenario hash, seed, replicate, code version); the code
  version is ``simulation.__version__`` plus a hash of the package's source and data files,
  so that changing the code invalidates cached runs. Two processes that compute the same run
  at once both succeed: the second finds the first's row and reuses it.
* The schema version is kept in the ``meta`` table; a database of another version is
  refused with a one-line :class:`SchemaVersionError`.
* The URL (and so any password) is never stored; messages show it with the password
  masked. All values go to the database as bound parameters.

Life-table inputs
-----------------
A run's deaths and person-years by (year, sex, stratum, group, age) are ~300,000 rows for a
30-year run of 100,000 agents. To keep storing a run cheap (a few % of computing it), the
table ``life_table_input`` holds one row per (run, sex, by, group) whose columns ``year``,
``age``, ``deaths`` and ``person_years`` are packed arrays of equal length ``n_cells``,
one value per (year, age) cell. Each packed array is self-describing and not pickle: an
ASCII header ``<numpy dtype>/<divisor>/<offset>/<i|f>:`` followed by the raw little-endian
values, so that ``value = (raw + offset) / divisor``, an integer (``i``) or a float (``f``);
e.g. ``b"<u2/2/0/f:"`` + uint16 values for person-years that are multiples of 0.5, or
``b"|u1/1/2022/i:"`` + uint8 values for the years 2022-2051. :meth:`Store.life_table_input` and ``run.py export life_table_input``
unpack them into the long table (run_id, year, sex, by, group, age, deaths, person_years),
exactly as the model produced it, so life tables over any window can be recomputed.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    DDL,
    BigInteger,
    DateTime,
    Double,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

#: Version of the database layout; bump it whenever a table or a column changes
#: (3: sweep and calibration tables).
SCHEMA_VERSION = 3
DEFAULT_URL = "sqlite:///outputs/healthgap.db"
#: Environment variable read when no ``--db`` is given (keeps passwords off command lines).
DB_ENV = "HEALTHGAP_DB"
#: Seconds a SQLite writer waits for another's transaction before giving up.
SQLITE_BUSY_TIMEOUT_S = 120
#: Seconds to wait for a PostgreSQL server to answer a connection.
PG_CONNECT_TIMEOUT_S = 10
STATUS_FINISHED = "finished"
PACKAGES = ("numpy", "numba", "mesa", "pandas", "sqlalchemy")
TABLES = ("runs", "scenarios", "yearly", "life_table_input", "life_expectancy", "comparisons",
          "comparison_results", "sweeps", "sweep_results", "calibrations", "posterior_draws")
_PG_LOCK_KEY = 0x6865616C7468  # "health": serialises schema creation between processes


class StoreError(Exception):
    """A database problem the user can fix (unreachable server, wrong password, read-only
    or corrupt file, bad URL); its message is one line with any password masked."""


class SchemaVersionError(StoreError):
    """The database was written by a version of healthgap with another layout."""


# ------------------------------------------------------------------------------ models


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key-value facts about the database itself (``schema_version``, ``created``)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ScenarioRow(Base):
    """A scenario as run: its canonical JSON text and the SHA-256 of it."""

    __tablename__ = "scenarios"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    canonical: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    """One replicate of one scenario, computed by one version of the code."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("scenario_hash", "seed", "replicate", "code_version",
                                       name="uq_runs_identity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_hash: Mapped[str] = mapped_column(ForeignKey("scenarios.hash"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    replicate: Mapped[int] = mapped_column(Integer)
    run_seed: Mapped[int] = mapped_column(BigInteger)  # the model's seed for this replicate
    agents: Mapped[int] = mapped_column(BigInteger)
    years: Mapped[int] = mapped_column(Integer)
    start_year: Mapped[int] = mapped_column(Integer)
    window_first: Mapped[int] = mapped_column(Integer)
    window_last: Mapped[int] = mapped_column(Integer)
    code_version: Mapped[str] = mapped_column(String(100))
    git_commit: Mapped[str | None] = mapped_column(String(80))
    package_versions: Mapped[str] = mapped_column(Text)  # JSON object
    status: Mapped[str] = mapped_column(String(16))
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    timings: Mapped[str] = mapped_column(Text)  # JSON object, seconds
    #: JSON {frame: [[column, dtype], ...]}: restores each result frame as produced
    columns: Mapped[str] = mapped_column(Text)


class Yearly(Base):
    """Yearly aggregates in long form: one value per run, year and variable."""

    __tablename__ = "yearly"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    variable: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[float | None] = mapped_column(Double)


class LifeTableInput(Base):
    """Deaths and person-years by year and age (packed arrays, see the module docstring)
    for one run, sex, stratum and group."""

    __tablename__ = "life_table_input"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), primary_key=True)
    by: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # order of first appearance in the model's output
    n_cells: Mapped[int] = mapped_column(Integer)  # length of each array below
    year: Mapped[bytes] = mapped_column(LargeBinary)
    age: Mapped[bytes] = mapped_column(LargeBinary)
    deaths: Mapped[bytes] = mapped_column(LargeBinary)
    person_years: Mapped[bytes] = mapped_column(LargeBinary)
    disabled: Mapped[bytes | None] = mapped_column(LargeBinary)  # activity-limited, if any
    extra: Mapped[bytes | None] = mapped_column(LargeBinary)  # other columns, named arrays


class LifeExpectancy(Base):
    """Period life expectancy (years) by run, sex, stratum, group and age."""

    __tablename__ = "life_expectancy"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), primary_key=True)
    by: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(String(100), primary_key=True)
    age: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    e: Mapped[float | None] = mapped_column(Double)
    hle: Mapped[float | None] = mapped_column(Double)  # healthy life expectancy, if computed
    extra: Mapped[str | None] = mapped_column(Text)  # other columns, JSON object


class _SummaryRecord:
    """The columns of one summary record (comparison.summarise), after a table's own: a
    metric by sex, stratum, group and age; its mean and 2.5/97.5 percentiles over
    replicates, and its paired difference from the baseline with the same statistics."""

    metric: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str | None] = mapped_column(String(1))
    by: Mapped[str | None] = mapped_column(String(40))
    group: Mapped[str | None] = mapped_column(String(40))
    age: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Double)
    lo: Mapped[float | None] = mapped_column(Double)
    hi: Mapped[float | None] = mapped_column(Double)
    diff: Mapped[float | None] = mapped_column(Double)
    diff_lo: Mapped[float | None] = mapped_column(Double)
    diff_hi: Mapped[float | None] = mapped_column(Double)


class Comparison(Base):
    """A comparison of scenarios against a baseline (filled by ``run.py compare``)."""

    __tablename__ = "comparisons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    baseline_hash: Mapped[str] = mapped_column(String(64))
    scenario_hashes: Mapped[str] = mapped_column(Text)  # JSON list of scenario hashes
    run_ids: Mapped[str | None] = mapped_column(Text)  # JSON {scenario name: [run ids]}
    summary: Mapped[str | None] = mapped_column(Text)  # JSON summary (comparison.summarise)


class ComparisonResult(_SummaryRecord, Base):
    """One record of a comparison's summary: a scenario's value of a metric (mean and
    2.5/97.5 percentiles over replicates) and its paired difference from the baseline."""

    __tablename__ = "comparison_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(200))


class Calibration(Base):
    """A calibration (``run.py calibrate``): its file, status and fit summary."""

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))  # "running" or "finished"
    config: Mapped[str] = mapped_column(Text)  # the calibration file's canonical JSON
    config_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_version: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(100))  # e.g. "ABC-SMC (pyabc 0.13.0)"
    info: Mapped[str | None] = mapped_column(Text)  # JSON: generations, epsilons, timings


class PosteriorDraw(Base):
    """One weighted parameter set of a calibration's posterior sample (weights sum to 1)."""

    __tablename__ = "posterior_draws"
    calibration_id: Mapped[int] = mapped_column(ForeignKey("calibrations.id"),
                                                primary_key=True)
    draw: Mapped[int] = mapped_column(Integer, primary_key=True)
    weight: Mapped[float] = mapped_column(Double)
    parameters: Mapped[str] = mapped_column(Text)  # JSON {dotted parameter name: value}


# PostgreSQL would compress the packed arrays (TOAST, pglz) at some cost and little gain:
# store them as they are.
event.listen(LifeTableInput.__table__, "after_create", DDL(
    "ALTER TABLE life_table_input ALTER COLUMN year SET STORAGE EXTERNAL, "
    "ALTER COLUMN age SET STORAGE EXTERNAL, ALTER COLUMN deaths SET STORAGE EXTERNAL, "
    "ALTER COLUMN person_years SET STORAGE EXTERNAL, ALTER COLUMN disabled SET STORAGE "
    "EXTERNAL, ALTER COLUMN extra SET STORAGE EXTERNAL").execute_if(dialect="postgresql"))

_MODELS: dict[str, type[Base]] = {
    "runs": Run, "scenarios": ScenarioRow, "yearly": Yearly,
    "life_table_input": LifeTableInput, "life_expectancy": LifeExpectancy,
    "comparisons": Comparison, "comparison_results": ComparisonResult,
    "calibrations": Calibration, "posterior_draws": PosteriorDraw,
}

# ----------------------------------------------------------------- sweeps (tables)
# Parameter sweeps (``run.py sweep``, :mod:`simulation.sweep`): one row of ``sweeps`` per
# sweep, and its results as a tidy table, one row per point, scenario and record of the
# point's paired comparison (the same records as ``comparison_results``). Created on first
# use in databases of schema version 3 that predate them.


class Sweep(Base):
    """A parameter sweep: its design and its summary (filled by ``run.py sweep``)."""

    __tablename__ = "sweeps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text)  # the sweep file, as given
    design: Mapped[str] = mapped_column(String(8))  # grid or lhs
    keys: Mapped[str] = mapped_column(Text)  # JSON list of the swept keys
    points: Mapped[str] = mapped_column(Text)  # JSON list of {key: value}, by point
    run_ids: Mapped[str | None] = mapped_column(Text)  # JSON [{scenario: [run ids]}], by point
    summary: Mapped[str | None] = mapped_column(Text)  # JSON summary (simulation.sweep)


class SweepResult(_SummaryRecord, Base):
    """One record of one point of a sweep: a scenario's value of a metric (mean and
    2.5/97.5 percentiles over replicates) and its paired difference from the point's
    baseline. ``arm`` is the sweep's arm (or the baseline's name), ``point_values`` the
    point's swept values (JSON) and ``x`` the value of the sweep's plotted key."""

    __tablename__ = "sweep_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id"), index=True)
    point: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str] = mapped_column(String(200))
    scenario_hash: Mapped[str] = mapped_column(String(64))
    point_values: Mapped[str] = mapped_column(Text)
    x: Mapped[float | None] = mapped_column(Double)


_SWEEP_MODELS: dict[str, type[Base]] = {"sweeps": Sweep, "sweep_results": SweepResult}

# ---------------------------------------------------------------------- code identity


def _package_root() -> Path:
    return Path(__file__).resolve().parent


_PRESENTATION = ("cli.py", "report", "dashboard.py", "store.py")


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 (12 hex digits) of the package's source and data files (names and bytes)
    that can change a run's results: the presentation layers (the command line, the report,
    the dashboard) are left out, so editing them does not invalidate stored runs."""
    root = _package_root()
    h = hashlib.sha256()
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.suffix in {".py", ".csv", ".toml", ".json"}
             and p.relative_to(root).parts[0] not in _PRESENTATION]
    for p in sorted(files, key=lambda q: q.relative_to(root).as_posix()):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def code_version() -> str:
    """``simulation.__version__`` + ``+src.`` + :func:`source_hash`."""
    from . import __version__

    return f"{__version__}+src.{source_hash()}"


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The repository's commit (``+dirty`` when the package differs from it), or None when
    git or the repository is unavailable. Never raises."""
    root = _package_root().parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        commit = head.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "simulation"], capture_output=True, text=True, timeout=5)
        return commit + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


@lru_cache(maxsize=1)
def package_versions() -> str:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return json.dumps(out, sort_keys=True)


# ------------------------------------------------------------------------ packed arrays


def _int_dtype(lo: int, hi: int) -> np.dtype:
    for code in ("u1", "u2", "u4", "u8") if lo >= 0 else ("i1", "i2", "i4", "i8"):
        dt = np.dtype("<" + code)
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return dt
    return np.dtype("<i8")


def _pack_ints(k: np.ndarray, divisor: int, kind: str) -> tuple[bytes, np.ndarray]:
    lo, hi = (int(k.min()), int(k.max())) if k.size else (0, 0)
    offset = lo if lo > 0 and _int_dtype(0, hi - lo).itemsize < _int_dtype(lo, hi).itemsize else 0
    dt = _int_dtype(lo - offset, hi - offset)
    enc = (k - offset if offset else k).astype(dt)
    return f"{dt.str}/{divisor}/{offset}/{kind}:".encode(), enc


def pack_column(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The smallest exact encoding of a whole column: (header, encoded array), where
    ``value = (raw + offset) / divisor``, decoded as int64 (kind ``i``) or float64 (``f``),
    and the header is ``b"<dtype>/<divisor>/<offset>/<kind>:"``."""
    a = np.asarray(values)
    if a.dtype.kind == "b":
        a = a.astype(np.uint8)
    if a.dtype.kind in "iu":
        return _pack_ints(a, 1, "i")
    a = a.astype(np.float64, copy=False)
    if a.size == 0:
        return b"<f8/1/0/f:", a
    with np.errstate(over="ignore", invalid="ignore"):
        k = a * 2.0  # multiples of 0.5 (person-years) are stored as integers
        r = np.rint(k)
        exact = np.array_equal(k, r) and float(np.abs(r).max()) < 2.0**52  # NaN, inf fail
    if exact:
        twice = r.astype(np.int64)
        if (twice & 1).any():
            return _pack_ints(twice, 2, "f")
        return _pack_ints(twice >> 1, 1, "f")
    # expected deaths are multiples of 2**-32 and their person-years of 2**-33 (model)
    with np.errstate(over="ignore", invalid="ignore"):
        k = a * 2.0**33
        r = np.rint(k)
        fixed = np.array_equal(k, r) and float(np.abs(r).max()) < 2.0**53
    if fixed:
        return _pack_ints(r.astype(np.int64), 2**33, "f")
    with np.errstate(over="ignore", invalid="ignore"):
        f32 = a.astype("<f4")
    if np.array_equal(f32, a, equal_nan=True):
        return b"<f4/1/0/f:", f32
    return b"<f8/1/0/f:", a.astype("<f8", copy=False)


def pack_array(values: np.ndarray) -> bytes:
    """One self-describing packed array (header + raw little-endian values)."""
    header, enc = pack_column(values)
    return header + enc.tobytes()


def unpack_array(blob: bytes) -> np.ndarray:
    """Inverse of :func:`pack_array` (int64 or float64, as packed)."""
    blob = bytes(blob)
    cut = blob.index(b":")
    dtype, divisor, offset, kind = blob[:cut].decode("ascii").split("/")
    raw = np.frombuffer(blob, dtype=np.dtype(dtype), offset=cut + 1)
    if kind == "i":
        return raw.astype(np.int64) + int(offset)
    if raw.dtype.kind == "f":
        return raw.astype(np.float64)
    return (raw.astype(np.int64) + int(offset)) / float(divisor)


def pack_named(arrays: dict[str, bytes]) -> bytes:
    """Several packed arrays in one blob: a JSON line ``[[name, n_bytes], ...]`` then the
    packed arrays one after the other."""
    header = json.dumps([[name, len(blob)] for name, blob in arrays.items()])
    return header.encode() + b"\n" + b"".join(arrays.values())


def unpack_named(blob: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`pack_named`."""
    blob = bytes(blob)
    cut = blob.index(b"\n")
    out, pos = {}, cut + 1
    for name, size in json.loads(blob[:cut]):
        out[name] = unpack_array(blob[pos:pos + size])
        pos += size
    return out


_LTI_KEYS = ("sex", "by", "group")
#: Packed arrays with a column of their own (the first four are required).
_LTI_ARRAYS = ("year", "age", "deaths", "person_years", "disabled")
_LTI_REQUIRED = ("year", "sex", "by", "group", "age", "deaths", "person_years")
_LE_KEYS = ("sex", "by", "group", "age")
_LE_VALUES = ("e", "hle")


def _changes(col: np.ndarray) -> np.ndarray:
    """``col[1:] != col[:-1]`` for an object array, fast when equal values are the same
    objects (as in the model's frames, built from a few label objects): neighbours that are
    the same object are equal, and only the others are compared as values."""
    n = col.shape[0]
    if n < 2:
        return np.zeros(0, dtype=bool)
    try:
        pointers = np.frombuffer((ctypes.c_size_t * n).from_address(col.ctypes.data),
                                 dtype=np.uintp).copy()
    except (TypeError, ValueError, AttributeError):  # pragma: no cover - exotic platform
        return col[1:] != col[:-1]
    out = pointers[1:] != pointers[:-1]
    maybe = np.flatnonzero(out)
    out[maybe] = col[maybe + 1] != col[maybe]
    return out


def encode_life_table_input(lti: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the ``life_table_input`` table (without run_id) for a model's long frame:
    one row per (sex, by, group) holding the packed arrays of its cells (year, age,
    deaths, person_years, disabled if present, any other numeric column in ``extra``),
    in the frame's order. Exact for any row order."""
    missing = [c for c in _LTI_REQUIRED if c not in lti.columns]
    if missing:
        raise ValueError(f"life_table_input lacks the columns {missing}")
    n = len(lti)
    if n == 0:
        return []
    keys = [np.ascontiguousarray(lti[k].to_numpy(dtype=object)) for k in _LTI_KEYS]
    # maximal runs of equal keys (few: the model's frame is year > group > sex > age)
    change = np.zeros(n - 1, dtype=bool)
    for col in keys:
        change |= _changes(col)
    starts = np.concatenate([[0], np.flatnonzero(change) + 1])
    lengths = np.diff(np.append(starts, n))
    combined = np.zeros(len(starts), dtype=np.int64)
    labels = []  # the keys of each segment, factorised column by column
    for col in keys:
        codes, uniques = pd.factorize(col[starts], use_na_sentinel=False)
        combined = combined * len(uniques) + codes
        labels.append((codes, uniques))
    seg_key, first = pd.factorize(combined)  # key ids in order of first appearance
    # rows grouped by key, keeping their order within a key: segments sorted by key
    seg_order = np.argsort(seg_key, kind="stable")
    seg_len = lengths[seg_order]
    seg_pos = np.concatenate([[0], np.cumsum(seg_len)])
    order = np.arange(n) + np.repeat(starts[seg_order] - seg_pos[:-1], seg_len)
    key_counts = np.bincount(seg_key, weights=lengths, minlength=len(first)).astype(np.int64)
    bounds = np.concatenate([[0], np.cumsum(key_counts)]).tolist()
    first_seg = np.unique(seg_key, return_index=True)[1]  # a segment of each key
    ids = [tuple(uniques[codes[s]] for codes, uniques in labels) for s in first_seg.tolist()]
    packed = {}
    for col in lti.columns:
        if col in _LTI_KEYS:
            continue
        values = lti[col].to_numpy()
        if values.dtype.kind not in "biuf":
            raise ValueError(f"life_table_input column {col!r} is not numeric")
        header, enc = pack_column(values)
        packed[col] = (header, enc[order].tobytes(), enc.dtype.itemsize)
    extra_names = [c for c in packed if c not in _LTI_ARRAYS]
    rows = []
    for seq, key in enumerate(ids):
        lo, hi = bounds[seq], bounds[seq + 1]
        row: dict[str, Any] = dict(zip(_LTI_KEYS, key, strict=True))
        row["seq"] = seq
        row["n_cells"] = hi - lo
        cells = {col: header + raw[lo * size:hi * size]
                 for col, (header, raw, size) in packed.items()}
        for col in _LTI_ARRAYS:
            row[col] = cells.get(col)
        row["extra"] = pack_named({c: cells[c] for c in extra_names}) if extra_names else None
        rows.append(row)
    return rows


def decode_life_table_input(rows: Sequence[Any]) -> pd.DataFrame:
    """Long frame (run_id, year, sex, by, group, age, deaths, person_years, then disabled
    and any extra column) from table rows (objects with the LifeTableInput attributes, in
    ``run_id, seq`` order): by run, then year, then the stored order (which restores the
    model's frame exactly). A column some rows lack is NaN there."""
    base = ["run_id", *_LTI_REQUIRED]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=np.float64 if c == "person_years" else
                                          (object if c in _LTI_KEYS else np.int64))
                             for c in base})
    counts = np.array([r.n_cells for r in rows], dtype=np.int64)
    total = int(counts.sum())
    out: dict[str, np.ndarray] = {
        "run_id": np.repeat(np.array([r.run_id for r in rows], dtype=np.int64), counts)}
    for k in _LTI_KEYS:
        out[k] = np.repeat(np.array([getattr(r, k) for r in rows], dtype=object), counts)
    parts: dict[str, list[np.ndarray | None]] = {}
    for i, r in enumerate(rows):
        arrays = {col: getattr(r, col) for col in _LTI_ARRAYS}
        named = {c: unpack_array(b) for c, b in arrays.items() if b is not None}
        if r.extra is not None:
            named.update(unpack_named(r.extra))
        for col, values in named.items():
            parts.setdefault(col, [None] * len(rows))[i] = values
    for col, pieces in parts.items():
        if any(p is None for p in pieces):  # some runs lack this column
            pieces = [np.full(c, np.nan) if p is None else p.astype(np.float64)
                      for p, c in zip(pieces, counts.tolist(), strict=True)]
        values = np.concatenate(pieces) if pieces else np.zeros(total)
        out[col] = values.astype(np.float64) if col == "person_years" else values
    order = np.lexsort((out["year"], out["run_id"]))  # stable: keeps stored order within
    columns = base + [c for c in out if c not in base]
    return pd.DataFrame({c: out[c][order] for c in columns})


def _le_rows(le: pd.DataFrame) -> list[dict[str, Any]]:
    missing = [c for c in (*_LE_KEYS, "e") if c not in le.columns]
    if missing:
        raise ValueError(f"life_expectancy lacks the columns {missing}")
    n = len(le)

    def floats(c: str) -> list[float | None]:
        if c not in le.columns:
            return [None] * n
        return [None if v != v else v for v in le[c].astype(np.float64).tolist()]

    others = [c for c in le.columns if c not in (*_LE_KEYS, *_LE_VALUES)]
    extra = ([json.dumps({c: _plain(v) for c, v in zip(others, vals, strict=True)})
              for vals in zip(*(le[c].tolist() for c in others), strict=True)]
             if others else [None] * n)
    return [{"sex": sx, "by": by, "group": g, "age": a, "seq": i, "e": e, "hle": h, "extra": x}
            for i, (sx, by, g, a, e, h, x) in enumerate(zip(
                le["sex"].tolist(), le["by"].tolist(), le["group"].tolist(),
                le["age"].astype(np.int64).tolist(), floats("e"), floats("hle"), extra,
                strict=True))]


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return None
    return v.item() if isinstance(v, np.generic) else v


def _restore(frame: pd.DataFrame, spec: list[list[str]] | None) -> pd.DataFrame:
    """Columns, order and dtypes of a frame as it was stored (``runs.columns``)."""
    if not spec:
        return frame
    out = {}
    for name, dtype in spec:
        values = frame[name] if name in frame.columns else pd.Series(np.nan, index=frame.index)
        try:
            out[name] = values.astype(dtype)
        except (TypeError, ValueError):
            out[name] = values
    return pd.DataFrame(out, index=frame.index)


# ------------------------------------------------------------------------------ engine


def resolve_url(url: str | None) -> str:
    """``url``, else $HEALTHGAP_DB, else :data:`DEFAULT_URL`."""
    return url or os.environ.get(DB_ENV) or DEFAULT_URL


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Redactor:
    """Masks the password (and the URL's display form) in every message."""

    def __init__(self, password: str | None) -> None:
        self.password = password or None

    def __call__(self, text: str) -> str:
        text = _one_line(text)
        if self.password:
            text = text.replace(self.password, "***")
        return text


_SUPPORTED = ("sqlite:///PATH", "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE")


def parse_url(url: str) -> URL:
    """Parse and check a database URL; raises a one-line :class:`StoreError` naming the
    problem, never echoing a password."""
    expected = f"expected {' or '.join(_SUPPORTED)}"
    if not isinstance(url, str) or "://" not in url:
        raise StoreError(f"--db: not a database URL; {expected}")
    scheme = url.split("://", 1)[0]
    backend = scheme.split("+", 1)[0]
    if backend not in ("sqlite", "postgresql", "postgres"):
        shown = scheme if scheme.replace("+", "").replace("_", "").isalnum() else "?"
        raise StoreError(f"--db: unsupported database {shown!r}; {expected}")
    if backend != "sqlite" and url.split("://", 1)[1].split("?", 1)[0].count("@") > 1:
        raise StoreError("--db: more than one '@' in the URL; percent-encode '@' in the user "
                         "name or password as %40")
    try:
        u = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        raise StoreError(f"--db: malformed database URL (check the port and the punctuation); "
                         f"{expected}") from None
    if backend == "sqlite":
        if u.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise StoreError(f"--db: unsupported SQLite driver {u.drivername!r}; {expected}")
    else:
        if u.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise StoreError(f"--db: unsupported PostgreSQL driver {u.drivername!r} (use "
                             f"postgresql+psycopg, psycopg 3); {expected}")
        u = u.set(drivername="postgresql+psycopg")
        if not u.database:
            raise StoreError(f"--db: no database name in the URL; {expected}")
    return u


def _hint(reason: str) -> str:
    """What to do about a database error, when it is clear."""
    low = reason.lower()
    if "readonly" in low or "read-only" in low:
        return " (the file or its folder is read-only: check permissions or give another --db)"
    if "file is not a database" in low or "database disk image is malformed" in low:
        return " (corrupt or not SQLite: give another --db)"
    if "unable to open database file" in low:
        return " (check that the folder exists and is writable, and the path is a file)"
    return ""


def _sqlite_path(u: URL) -> Path | None:
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def make_engine(u: URL) -> Engine:
    """An engine for a parsed URL: SQLite with WAL, a busy timeout, foreign keys and
    ``BEGIN IMMEDIATE`` for writes; PostgreSQL with a connection timeout."""
    if u.get_backend_name() == "sqlite":
        path = _sqlite_path(u)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None  # transactions are begun below
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000:d}")
                cur.execute("PRAGMA foreign_keys = ON")
                try:
                    cur.execute("PRAGMA journal_mode = WAL")
                except Exception as e:  # a read-only file can still be read
                    if "readonly" not in str(e).replace("-", "").replace(" ", "").lower():
                        raise
                cur.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # a writer takes the lock up front, so it waits (busy timeout) rather than
            # failing with "database is locked" when upgrading a read lock
            write = conn.get_execution_options().get("healthgap_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in u.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if "application_name" not in u.query:
        connect_args["application_name"] = "healthgap"
    try:
        return create_engine(u, connect_args=connect_args, pool_pre_ping=True)
    except ImportError:
        raise StoreError("PostgreSQL needs psycopg 3: pip install 'healthgap[postgres]'") from None


# ------------------------------------------------------------------------------- store


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StoredRun:
    """What :meth:`Store.get_or_run` did: the run's id and whether it was reused."""

    run_id: int
    reused: bool


class Store:
    """The results database. Opening checks (or creates) the schema; every method turns a
    database failure into a one-line :class:`StoreError` with the password masked."""

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        raw = resolve_url(url)
        self._redact = _Redactor(None)
        self.url = parse_url(raw)
        self._redact = _Redactor(self.url.password if isinstance(self.url.password, str)
                                 else None)
        #: The URL with the password masked, safe to print.
        self.display_url = self.url.render_as_string(hide_password=True)
        self.dialect = self.url.get_backend_name()
        with self._errors():
            path = _sqlite_path(self.url) if self.dialect == "sqlite" else None
            if path is not None and not create and not path.exists():
                raise StoreError(f"database {self.display_url}: no such file; run a scenario "
                                 "first or give --db")
            self.engine = make_engine(self.url)
            try:
                self._ensure_schema(create)
            except BaseException:
                self.engine.dispose()
                raise

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError as e:
            raise type(e)(self._redact(str(e))) from None
        except sa_exc.DBAPIError as e:
            reason = str(e.orig) if e.orig is not None else type(e).__name__
            raise StoreError(self._redact(f"database {self.display_url}: {reason}"
                                          f"{_hint(reason)}")) from None
        except sa_exc.SQLAlchemyError as e:
            raise StoreError(self._redact(f"database {self.display_url}: "
                                          f"{type(e).__name__}: {str(e).splitlines()[0]}")
                             ) from None
        except OSError as e:
            raise StoreError(self._redact(f"database {self.display_url}: {e.strerror or e}")
                             ) from None

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session in one write transaction (SQLite: BEGIN IMMEDIATE), committed at the
        end, rolled back on any error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(healthgap_write=True)
            with Session(bind=conn) as session, session.begin():
                yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    def _insert_ignoring_conflicts(self, model: type[Base], index_elements: list[str]):
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        return dialect_insert(model).on_conflict_do_nothing(index_elements=index_elements)

    def _ensure_schema(self, create: bool) -> None:
        with self._read() as s:
            exists = "meta" in set(inspect(s.connection()).get_table_names())
            if exists:
                self._check_version(s)
        if exists:
            if create and self.dialect == "sqlite":
                # a write that changes nothing: a read-only file fails here, not after the
                # runs have been computed
                with self._write() as w:
                    w.execute(update(Meta).where(Meta.key == "-").values(value="-"))
            return
        if not create:
            raise StoreError(f"database {self.display_url} holds no healthgap results; run a "
                             "scenario first or give another --db")
        with self._write() as s:
            if self.dialect == "postgresql":
                s.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
            names = set(inspect(s.connection()).get_table_names())
            if "meta" in names:
                self._check_version(s)
                return
            ours = names & (set(TABLES) | {"meta"})
            if ours:
                raise StoreError(f"database {self.display_url} has tables named like "
                                 f"healthgap's ({', '.join(sorted(ours))}) but no 'meta' "
                                 "table: it is not a healthgap results store; use another --db")
            Base.metadata.create_all(s.connection())
            s.add_all([Meta(key="schema_version", value=str(SCHEMA_VERSION)),
                       Meta(key="created", value=_now().isoformat(timespec="seconds"))])

    def _check_version(self, s: Session) -> None:
        found = s.scalar(select(Meta.value).where(Meta.key == "schema_version"))
        if found != str(SCHEMA_VERSION):
            raise SchemaVersionError(
                f"database {self.display_url} has results schema version {found}, this "
                f"healthgap needs version {SCHEMA_VERSION}: use a new --db file, or export what "
                "you need (run.py export TABLE --db ...) and delete the old database")

    # ------------------------------------------------------------ runs
    def find_run(self, scenario: Any, replicate: int) -> int | None:
        """The id of the finished run of ``scenario`` and ``replicate`` by this code
        version, or None."""
        with self._errors(), self._read() as s:
            return s.scalar(select(Run.id).where(
                Run.scenario_hash == scenario.hash, Run.seed == scenario.seed,
                Run.replicate == replicate, Run.code_version == code_version(),
                Run.status == STATUS_FINISHED))

    def save_run(self, result: Any, started: datetime | None = None) -> int:
        """Write a :class:`~simulation.runner.RunResult` in one transaction and return its
        run id. If the same run (scenario hash, seed, replicate, code version) is already
        stored, e.g. written meanwhile by another process, nothing is written and the
        existing id is returned."""
        scenario = result.scenario
        finished = _now()
        if started is None:
            started = datetime.fromtimestamp(
                finished.timestamp() - sum(result.timings.values()), UTC)
        yearly = result.yearly
        run_row = {
            "scenario_hash": scenario.hash, "seed": scenario.seed,
            "replicate": int(result.replicate), "run_seed": int(result.seed),
            "agents": scenario.agents, "years": scenario.years,
            "start_year": scenario.start_year,
            "window_first": int(result.window[0]), "window_last": int(result.window[1]),
            "code_version": code_version(), "git_commit": git_commit(),
            "package_versions": package_versions(), "status": STATUS_FINISHED,
            "started": started, "finished": finished,
            "timings": json.dumps({k: round(float(v), 6) for k, v in result.timings.items()}),
            "columns": json.dumps({
                name: [[c, str(df[c].dtype)] for c in df.columns] for name, df in (
                    ("yearly", yearly), ("life_table_input", result.life_table_input),
                    ("life_expectancy", result.life_expectancy))}),
        }
        yearly_rows = _yearly_rows(yearly)
        le_rows = _le_rows(result.life_expectancy)
        lti_rows = encode_life_table_input(result.life_table_input)
        with self._errors():
            with self._write() as s:
                s.execute(self._insert_ignoring_conflicts(ScenarioRow, ["hash"]).values(
                    hash=scenario.hash, name=scenario.name, canonical=scenario.canonical,
                    created=finished))
                run_id = s.scalar(
                    self._insert_ignoring_conflicts(
                        Run, ["scenario_hash", "seed", "replicate", "code_version"])
                    .values(**run_row).returning(Run.id))
                if run_id is not None:
                    conn = s.connection()
                    for model, rows in ((Yearly, yearly_rows), (LifeExpectancy, le_rows),
                                        (LifeTableInput, lti_rows)):
                        if rows:
                            for r in rows:
                                r["run_id"] = run_id
                            conn.execute(model.__table__.insert(), rows)
            if run_id is None:  # someone else stored this run first: reuse theirs
                run_id = self.find_run(scenario, int(result.replicate))
                if run_id is None:
                    raise StoreError(f"database {self.display_url}: run conflicts with a stored "
                                     "run that cannot be found")
        return int(run_id)

    def get_or_run(self, scenario: Any, replicate: int,
                   compute: Callable[[Any, int], Any] | None = None) -> StoredRun:
        """Reuse the finished run of (scenario, replicate) or compute it with
        ``compute(scenario, replicate)`` (default: :func:`simulation.run_scenario`) and
        save it."""
        found = self.find_run(scenario, replicate)
        if found is not None:
            return StoredRun(found, True)
        if compute is None:
            from .runner import run_scenario

            def compute(sc, r):  # noqa: ANN001, ANN202
                return run_scenario(sc, replicate=r)

        started = _now()
        result = compute(scenario, replicate)
        return StoredRun(self.save_run(result, started=started), False)

    def save_comparison(self, name: str, baseline_hash: str,
                        scenario_hashes: Sequence[str], run_ids: dict | None = None,
                        summary: dict | None = None) -> int:
        """Record a comparison, its run ids and its summary records in one transaction;
        returns its id."""
        with self._errors(), self._write() as s:
            row = Comparison(name=name, created=_now(), baseline_hash=baseline_hash,
                             scenario_hashes=json.dumps(list(scenario_hashes)),
                             run_ids=None if run_ids is None else json.dumps(run_ids),
                             summary=None if summary is None else json.dumps(summary))
            s.add(row)
            s.flush()
            if summary is not None and summary.get("records"):
                keys = ("scenario", "metric", "sex", "by", "group", "age", "value", "lo", "hi",
                        "diff", "diff_lo", "diff_hi")
                rows = [{k: rec.get(k) for k in keys} | {"comparison_id": row.id}
                        for rec in summary["records"]]
                s.connection().execute(ComparisonResult.__table__.insert(), rows)
            return int(row.id)

    def find_comparison(self, name: str, baseline_hash: str, scenario_hashes: Sequence[str],
                        run_ids: dict | None = None, summary: dict | None = None
                        ) -> int | None:
        """The id of a stored comparison identical to this one (same name, scenarios, runs
        and summary), or None: running the same comparison again reuses it rather than
        storing, and reporting, a duplicate."""
        with self._errors(), self._read() as s:
            stmt = select(Comparison.id, Comparison.summary).where(
                Comparison.name == name, Comparison.baseline_hash == baseline_hash,
                Comparison.scenario_hashes == json.dumps(list(scenario_hashes)),
                (Comparison.run_ids.is_(None) if run_ids is None
                 else Comparison.run_ids == json.dumps(run_ids))).order_by(Comparison.id)
            for cid, text in s.execute(stmt):
                if (text is None and summary is None) or (
                        text is not None and summary is not None and json.loads(text) == summary):
                    return int(cid)
        return None

    def comparison_summary(self, comparison_id: int | None = None) -> dict:
        """The stored summary of a comparison (the latest one if no id is given)."""
        with self._errors(), self._read() as s:
            stmt = select(Comparison.id, Comparison.summary, Comparison.run_ids)
            stmt = (stmt.where(Comparison.id == int(comparison_id)) if comparison_id is not None
                    else stmt.where(Comparison.summary.is_not(None)).order_by(
                        Comparison.id.desc()).limit(1))
            row = s.execute(stmt).first()
        if row is None or row[1] is None:
            what = f"comparison {comparison_id}" if comparison_id is not None else "comparison"
            raise StoreError(f"no {what} with results in database {self.display_url}; run "
                             "'python run.py compare FILE' first")
        out = json.loads(row[1])
        out["id"] = int(row[0])
        out["run_ids"] = json.loads(row[2]) if row[2] else {}
        return out

    def comparison_results(self, comparison_id: int | None = None) -> pd.DataFrame:
        cols = [c.name for c in ComparisonResult.__table__.columns]
        stmt = select(*ComparisonResult.__table__.columns).order_by(ComparisonResult.id)
        if comparison_id is not None:
            stmt = stmt.where(ComparisonResult.comparison_id == int(comparison_id))
        return self._frame(stmt, cols)

    # ------------------------------------------------------------ sweeps
    def save_sweep(self, name: str, source: str, design: str, keys: Sequence[str],
                   points: Sequence[dict[str, Any]], run_ids: list | None,
                   summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> int:
        """Record a sweep, its summary and its tidy results (``records``: dicts with the
        columns of ``sweep_results`` but ids) in one transaction; returns its id. The sweep
        tables are created here if this database predates them."""
        with self._errors(), self._write() as s:
            Base.metadata.create_all(s.connection(), tables=[m.__table__ for m in
                                                             _SWEEP_MODELS.values()])
            row = Sweep(name=name, created=_now(), source=source, design=design,
                        keys=json.dumps(list(keys)), points=json.dumps(list(points)),
                        run_ids=None if run_ids is None else json.dumps(run_ids),
                        summary=json.dumps(summary))
            s.add(row)
            s.flush()
            cols = [c.name for c in SweepResult.__table__.columns if c.name not in (
                "id", "sweep_id")]
            rows = [{k: _plain(rec.get(k)) for k in cols} | {"sweep_id": row.id}
                    for rec in records]
            if rows:
                s.connection().execute(SweepResult.__table__.insert(), rows)
            return int(row.id)

    def _has_table(self, name: str) -> bool:
        with self._errors(), self._read() as s:
            return name in set(inspect(s.connection()).get_table_names())

    def sweeps(self, sweep_id: int | None = None) -> pd.DataFrame:
        """The ``sweeps`` table (one sweep if ``sweep_id`` is given)."""
        cols = [c.name for c in Sweep.__table__.columns]
        if not self._has_table("sweeps"):
            return pd.DataFrame(columns=cols)
        stmt = select(*Sweep.__table__.columns).order_by(Sweep.id)
        if sweep_id is not None:
            stmt = stmt.where(Sweep.id == int(sweep_id))
        return self._frame(stmt, cols)

    def sweep_results(self, sweep_id: int | None = None) -> pd.DataFrame:
        """The tidy ``sweep_results`` table (one sweep's if ``sweep_id`` is given)."""
        cols = [c.name for c in SweepResult.__table__.columns]
        if not self._has_table("sweep_results"):
            return pd.DataFrame(columns=cols)
        stmt = select(*SweepResult.__table__.columns).order_by(SweepResult.id)
        if sweep_id is not None:
            stmt = stmt.where(SweepResult.sweep_id == int(sweep_id))
        return self._frame(stmt, cols)

    def sweep_summary(self, sweep_id: int | None = None) -> dict:
        """The stored summary of a sweep (the latest one if no id is given)."""
        frame = self.sweeps(sweep_id)
        if frame.empty:
            what = f"sweep {sweep_id}" if sweep_id is not None else "sweep"
            raise StoreError(f"no {what} in database {self.display_url}; run "
                             "'python run.py sweep FILE' first")
        row = frame.iloc[-1]
        return {"id": int(row["id"]), **json.loads(row["summary"])}

    # ------------------------------------------------------------ reading
    def load_result(self, run_id: int) -> dict[str, pd.DataFrame]:
        """The stored frames of one run, as the model produced them: ``yearly``,
        ``life_table_input``, ``life_expectancy``, plus ``run`` (its one row)."""
        run = self.runs(run_ids=[run_id])
        if run.empty:
            raise StoreError(f"no run {run_id} in database {self.display_url}")
        spec = json.loads(run.iloc[0]["columns"])
        lti = _restore(self.life_table_input([run_id]).drop(columns="run_id"),
                       spec.get("life_table_input"))
        le = _restore(self.life_expectancy([run_id]).drop(columns="run_id"),
                      spec.get("life_expectancy"))
        return {"run": run, "yearly": self._yearly_wide(run_id, spec.get("yearly")),
                "life_table_input": lti, "life_expectancy": le}

    def load_run_result(self, run_id: int, scenario: Any = None) -> Any:
        """A :class:`~simulation.runner.RunResult` rebuilt from the store (the scenario from
        its canonical text unless given)."""
        from .runner import RunResult

        frames = self.load_result(run_id)
        run = frames["run"].iloc[0]
        if scenario is None:
            scenario = scenario_from_canonical(self.scenario_canonical(run["scenario_hash"]),
                                               source=f"run {run_id}")
        return RunResult(
            scenario=scenario, replicate=int(run["replicate"]), seed=int(run["run_seed"]),
            window=(int(run["window_first"]), int(run["window_last"])),
            yearly=frames["yearly"], life_table_input=frames["life_table_input"],
            life_expectancy=frames["life_expectancy"], timings=json.loads(run["timings"]))

    def scenario_canonical(self, scenario_hash: str) -> str:
        with self._errors(), self._read() as s:
            text = s.scalar(select(ScenarioRow.canonical).where(ScenarioRow.hash == scenario_hash))
        if text is None:
            raise StoreError(f"no scenario {scenario_hash[:12]} in database {self.display_url}")
        return text

    # ------------------------------------------------------------ calibrations
    def start_calibration(self, name: str, config: str, config_hash: str, method: str) -> int:
        """Record a calibration as running and return its id; if one with the same
        configuration hash by this code version is already running or finished, return its
        id instead (so an interrupted calibration resumes under the same id)."""
        with self._errors(), self._write() as s:
            found = s.scalar(select(Calibration.id).where(
                Calibration.config_hash == config_hash,
                Calibration.code_version == code_version()).order_by(Calibration.id.desc()))
            if found is not None:
                return int(found)
            row = Calibration(name=name, created=_now(), status="running", config=config,
                              config_hash=config_hash, code_version=code_version(),
                              method=method)
            s.add(row)
            s.flush()
            return int(row.id)

    def save_posterior(self, calibration_id: int, parameters: pd.DataFrame,
                       weights: Sequence[float], info: dict | None = None) -> None:
        """Store the posterior sample of a calibration (one row of ``parameters`` per draw,
        columns = dotted parameter names; ``weights`` normalised here) and mark it finished,
        in one transaction (replacing any sample stored before)."""
        w = np.asarray(weights, dtype=float)
        if len(w) != len(parameters) or len(w) == 0 or not np.all(w >= 0) or w.sum() <= 0:
            raise ValueError("save_posterior: one non-negative weight per draw, not all zero")
        w = w / w.sum()
        rows = [{"calibration_id": int(calibration_id), "draw": i, "weight": float(w[i]),
                 "parameters": json.dumps({k: _plain(v) for k, v in rec.items()},
                                          sort_keys=True)}
                for i, rec in enumerate(parameters.to_dict(orient="records"))]
        with self._errors(), self._write() as s:
            s.execute(PosteriorDraw.__table__.delete().where(
                PosteriorDraw.calibration_id == int(calibration_id)))
            s.connection().execute(PosteriorDraw.__table__.insert(), rows)
            s.execute(update(Calibration).where(Calibration.id == int(calibration_id)).values(
                status="finished", finished=_now(),
                info=None if info is None else json.dumps(info)))

    def calibrations(self) -> pd.DataFrame:
        """id, name, created, finished, status, method, config_hash of every calibration."""
        t = Calibration
        cols = ["id", "name", "created", "finished", "status", "method", "config_hash"]
        return self._frame(select(t.id, t.name, t.created, t.finished, t.status, t.method,
                                  t.config_hash).order_by(t.id), cols)

    def calibration(self, ref: int | str | None = None) -> dict:
        """A finished calibration by id or name (the latest finished one if None): its row
        as a dict with ``config`` and ``info`` decoded."""
        t = Calibration
        stmt = select(t.id, t.name, t.created, t.finished, t.status, t.method, t.config,
                      t.info).where(t.status == "finished")
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            stmt = stmt.where(t.id == int(ref))
        elif ref is not None:
            stmt = stmt.where(t.name == str(ref))
        with self._errors(), self._read() as s:
            row = s.execute(stmt.order_by(t.id.desc()).limit(1)).first()
        if row is None:
            what = f"calibration {ref!r}" if ref is not None else "calibration"
            raise StoreError(f"no finished {what} in database {self.display_url}; run "
                             "'python run.py calibrate FILE' first")
        out = dict(zip(("id", "name", "created", "finished", "status", "method", "config",
                        "info"), row, strict=True))
        out["config"] = json.loads(out["config"])
        out["info"] = json.loads(out["info"]) if out["info"] else {}
        return out

    def posterior(self, ref: int | str | None = None) -> pd.DataFrame:
        """The posterior sample of a finished calibration (see :meth:`calibration`): columns
        ``draw``, ``weight`` and one per dotted parameter name, ordered by draw."""
        cal = self.calibration(ref)
        t = PosteriorDraw
        frame = self._frame(select(t.draw, t.weight, t.parameters).where(
            t.calibration_id == cal["id"]).order_by(t.draw), ["draw", "weight", "parameters"])
        params = pd.DataFrame([json.loads(p) for p in frame["parameters"]])
        out = pd.concat([frame[["draw", "weight"]].reset_index(drop=True), params], axis=1)
        out.attrs["calibration_id"] = cal["id"]
        return out

    def _frame(self, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
        with self._errors(), self._read() as s:
            rows = s.execute(stmt).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))

    def runs(self, run_ids: Iterable[int] | None = None,
             scenario_hashes: Iterable[str] | None = None) -> pd.DataFrame:
        cols = [c.name for c in Run.__table__.columns]
        stmt = select(*Run.__table__.columns).order_by(Run.id)
        if run_ids is not None:
            stmt = stmt.where(Run.id.in_([int(i) for i in run_ids]))
        if scenario_hashes is not None:
            stmt = stmt.where(Run.scenario_hash.in_(list(scenario_hashes)))
        return self._frame(stmt, cols)

    def scenarios(self, hashes: Iterable[str] | None = None) -> pd.DataFrame:
        cols = [c.name for c in ScenarioRow.__table__.columns]
        stmt = select(*ScenarioRow.__table__.columns).order_by(ScenarioRow.created,
                                                               ScenarioRow.hash)
        if hashes is not None:
            stmt = stmt.where(ScenarioRow.hash.in_(list(hashes)))
        return self._frame(stmt, cols)

    def comparisons(self, ids: Iterable[int] | None = None) -> pd.DataFrame:
        cols = [c.name for c in Comparison.__table__.columns]
        stmt = select(*Comparison.__table__.columns).order_by(Comparison.id)
        if ids is not None:
            stmt = stmt.where(Comparison.id.in_([int(i) for i in ids]))
        return self._frame(stmt, cols)

    def yearly(self, run_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Long yearly aggregates: run_id, year, variable, value."""
        stmt = select(Yearly.run_id, Yearly.year, Yearly.variable, Yearly.value).order_by(
            Yearly.run_id, Yearly.year, Yearly.variable)
        if run_ids is not None:
            stmt = stmt.where(Yearly.run_id.in_([int(i) for i in run_ids]))
        df = self._frame(stmt, ["run_id", "year", "variable", "value"])
        return df.astype({"value": np.float64})

    def _yearly_wide(self, run_id: int, spec: list[list[str]] | None) -> pd.DataFrame:
        """One run's yearly aggregates as the model's frame (columns and dtypes restored)."""
        wide = self.yearly([run_id]).pivot(index="year", columns="variable", values="value")
        wide = wide.reset_index().rename_axis(columns=None)
        return _restore(wide, spec or [["year", "int64"]] + [[c, "float64"]
                                                              for c in wide.columns[1:]])

    def life_expectancy(self, run_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """run_id, sex, by, group, age, e, then hle and any extra column where stored (in
        each run's original order)."""
        t = LifeExpectancy
        stmt = select(t.run_id, t.sex, t.by, t.group, t.age, t.e, t.hle, t.extra).order_by(
            t.run_id, t.seq)
        if run_ids is not None:
            stmt = stmt.where(t.run_id.in_([int(i) for i in run_ids]))
        df = self._frame(stmt, ["run_id", "sex", "by", "group", "age", "e", "hle", "extra"])
        df = df.astype({"run_id": np.int64, "age": np.int64, "e": np.float64,
                        "hle": np.float64})
        if df["hle"].isna().all():
            df = df.drop(columns="hle")
        extra = df.pop("extra")
        if extra.notna().any():
            parsed = pd.DataFrame([json.loads(x) if x else {} for x in extra], index=df.index)
            df = pd.concat([df, parsed], axis=1)
        return df

    def life_table_input(self, run_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Long deaths and person-years: run_id, year, sex, by, group, age, deaths,
        person_years (unpacked; in each run's original order)."""
        stmt = select(LifeTableInput).order_by(LifeTableInput.run_id, LifeTableInput.seq)
        if run_ids is not None:
            stmt = stmt.where(LifeTableInput.run_id.in_([int(i) for i in run_ids]))
        with self._errors(), self._read() as s:
            rows = s.scalars(stmt).all()
            return decode_life_table_input(rows)

    def table(self, name: str, run_id: int | None = None,
              comparison_id: int | None = None, sweep_id: int | None = None) -> pd.DataFrame:
        """Any stored table (see :data:`TABLES`) as a DataFrame, optionally restricted to
        one run and/or to the runs of one comparison (or, for the sweep tables, to one
        sweep)."""
        if name not in TABLES:
            raise StoreError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
        if name in _SWEEP_MODELS:
            if run_id is not None or comparison_id is not None:
                raise StoreError(f"table {name}: filter it with --sweep ID, not --run or "
                                 "--comparison")
            return self.sweeps(sweep_id) if name == "sweeps" else self.sweep_results(sweep_id)
        if sweep_id is not None:
            raise StoreError(f"--sweep: only with the tables sweeps and sweep_results, not "
                             f"{name}")
        runs = None
        hashes = None
        comparisons = None
        if comparison_id is not None:
            comparisons = self.comparisons([comparison_id])
            if comparisons.empty:
                raise StoreError(f"--comparison {comparison_id}: no such comparison in "
                                 f"database {self.display_url}")
            c = comparisons.iloc[0]
            hashes = {c["baseline_hash"], *json.loads(c["scenario_hashes"])}
        if run_id is not None:
            run = self.runs(run_ids=[run_id])
            if run.empty:
                raise StoreError(f"--run {run_id}: no such run in database {self.display_url}")
            if hashes is not None and run.iloc[0]["scenario_hash"] not in hashes:
                runs = []
            else:
                runs = [int(run_id)]
                hashes = {run.iloc[0]["scenario_hash"]}
        if hashes is not None and runs is None:
            runs = self.runs(scenario_hashes=hashes)["id"].astype(int).tolist()
        if name == "runs":
            return self.runs(run_ids=runs)
        if name == "scenarios":
            return self.scenarios(hashes=hashes)
        if name == "comparison_results":
            return self.comparison_results(comparison_id)
        if name == "comparisons":
            if comparisons is not None:
                return comparisons
            out = self.comparisons()
            if hashes is not None:
                keep = [bool(hashes & {r["baseline_hash"], *json.loads(r["scenario_hashes"])})
                        for _, r in out.iterrows()]
                out = out[keep].reset_index(drop=True)
            return out
        if name == "yearly":
            return self.yearly(runs)
        if name == "life_expectancy":
            return self.life_expectancy(runs)
        return self.life_table_input(runs)

    def counts(self) -> dict[str, int]:
        """Number of rows of every table (for checks and tests)."""
        with self._errors(), self._read() as s:
            return {name: int(s.scalar(select(func.count()).select_from(model)))
                    for name, model in _MODELS.items()}


def _yearly_rows(yearly: pd.DataFrame) -> list[dict[str, Any]]:
    if "year" not in yearly.columns:
        raise ValueError("yearly aggregates need a 'year' column")
    years = yearly["year"].astype(np.int64).tolist()
    rows = []
    for col in yearly.columns:
        if col == "year":
            continue
        values = pd.to_numeric(yearly[col], errors="raise").astype(np.float64).tolist()
        rows.extend({"year": y, "variable": col, "value": None if v != v else v}
                    for y, v in zip(years, values, strict=True))
    return rows


def scenario_from_canonical(text: str, source: str = "<database>") -> Any:
    """Rebuild a :class:`~simulation.config.Scenario` from its canonical text (same hash)."""
    from .config import Scenario

    return Scenario.from_canonical(text, source=source)


__all__ = [
    "DEFAULT_URL", "SCHEMA_VERSION", "TABLES", "Comparison", "LifeExpectancy", "LifeTableInput",
    "Meta", "Run", "ScenarioRow", "SchemaVersionError", "Store", "StoreError", "StoredRun",
    "Sweep", "SweepResult", "Yearly", "code_version", "decode_life_table_input", "encode_life_table_input",
    "pack_array", "parse_url", "unpack_array",
]
