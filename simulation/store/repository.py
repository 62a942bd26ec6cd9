"""The :class:`Store`: connections to the results database, and the reading and writing
of runs, comparisons, sweeps and calibrations.

Only this module talks to the database (its tables: :mod:`.schema`; how frames become rows:
:mod:`.codec`). Any SQLAlchemy URL of a supported dialect works: SQLite by default (WAL
journal, busy timeout, writers that take the lock up front) and PostgreSQL through
psycopg 3. Every failure becomes a one-line :class:`~simulation.errors.StoreError` with the
password masked.

Running a scenario is not the store's business: :meth:`Store.get_or_run` and
:meth:`Store.load_run_result` call the functions of the same names in
:mod:`simulation.runner`, which imports the store (never the reverse) and binds them here
with :func:`bind_runner` when it is imported (``import simulation`` imports it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, event, func, inspect, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from ..errors import SchemaVersionError, StoreError
from .codec import (
    _le_rows,
    _plain,
    _restore,
    _yearly_rows,
    decode_life_table_input,
    encode_life_table_input,
)
from .identity import code_version, git_commit, package_versions
from .schema import (
    _MODELS,
    _SWEEP_MODELS,
    SCHEMA_VERSION,
    STATUS_FINISHED,
    TABLES,
    Base,
    Calibration,
    Comparison,
    ComparisonResult,
    LifeExpectancy,
    LifeTableInput,
    Meta,
    PosteriorDraw,
    Run,
    ScenarioRow,
    Sweep,
    SweepResult,
    Yearly,
)

DEFAULT_URL = "sqlite:///outputs/healthgap.db"
#: Environment variable read when no ``--db`` is given (keeps passwords off command lines).
DB_ENV = "HEALTHGAP_DB"
#: Seconds a SQLite writer waits for another's transaction before giving up.
SQLITE_BUSY_TIMEOUT_S = 120
#: Seconds to wait for a PostgreSQL server to answer a connection.
PG_CONNECT_TIMEOUT_S = 10
_PG_LOCK_KEY = 0x6865616C7468  # "health": serialises schema creation between processes


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
        save it: :func:`simulation.runner.get_or_run` on this store."""
        return _runner("get_or_run")(self, scenario, replicate, compute)

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
        its canonical text unless given): :func:`simulation.runner.load_run_result`."""
        return _runner("load_run_result")(self, run_id, scenario)

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


def scenario_from_canonical(text: str, source: str = "<database>") -> Any:
    """Rebuild a :class:`~simulation.config.Scenario` from its canonical text (same hash)."""
    from ..config import Scenario

    return Scenario.from_canonical(text, source=source)


# ------------------------------------------------------------------------------ runner

#: :func:`simulation.runner.get_or_run` and :func:`simulation.runner.load_run_result`, bound
#: by :func:`bind_runner`.
_RUNNER: dict[str, Callable[..., Any]] = {}


def bind_runner(get_or_run: Callable[..., StoredRun],
                load_run_result: Callable[..., Any]) -> None:
    """Let :meth:`Store.get_or_run` and :meth:`Store.load_run_result` call the runner's
    functions of the same names (``f(store, ...)``); called by :mod:`simulation.runner`
    when it is imported."""
    _RUNNER.update(get_or_run=get_or_run, load_run_result=load_run_result)


def _runner(name: str) -> Callable[..., Any]:
    try:
        return _RUNNER[name]
    except KeyError:
        raise RuntimeError(f"Store.{name} needs simulation.runner, which binds it when "
                           "imported: import simulation.runner first") from None


__all__ = [
    "DB_ENV", "DEFAULT_URL", "PG_CONNECT_TIMEOUT_S", "SQLITE_BUSY_TIMEOUT_S", "Store",
    "StoredRun", "bind_runner", "make_engine", "parse_url", "resolve_url",
    "scenario_from_canonical",
]
