"""Packing and unpacking of a run's arrays and frames into table rows (no database here).

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

Yearly aggregates become one row per (year, variable) and life expectancies one row per
(sex, by, group, age); the columns and dtypes of each frame are stored with the run and
restored on reading (:func:`_restore`).
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


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


__all__ = [
    "decode_life_table_input", "encode_life_table_input", "pack_array", "pack_column",
    "pack_named", "unpack_array", "unpack_named",
]
