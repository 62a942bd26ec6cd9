"""Results store (simulation/store.py), in process: packed arrays, round trips of runs,
reuse and its key, conflicts, the schema version, URLs and their errors, query helpers.

The PostgreSQL variants run against the server named by $HEALTHGAP_TEST_PG_URL (which
.ci/run starts); without it they skip locally and fail in CI (CI=true). The fixtures here
are also used by tests/test_store_cli.py.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simulation import metrics, store
from simulation.config import load_scenario
from simulation.runner import gap_across_replicates, run_replicates, run_scenario
from simulation.store import (
    SCHEMA_VERSION,
    SchemaVersionError,
    Store,
    StoreError,
    decode_life_table_input,
    encode_life_table_input,
    pack_array,
    parse_url,
    unpack_array,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "scenarios" / "baseline.toml"
PG_ENV = "HEALTHGAP_TEST_PG_URL"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")

# ------------------------------------------------------------------------------ fixtures


def small_scenario(agents: int = 3000, years: int = 3, seed: int = 1):
    return load_scenario(BASELINE).with_options(agents=agents, years=years, seed=seed)


@pytest.fixture(scope="module")
def result():
    """One small run (replicate 0)."""
    return run_scenario(small_scenario())


def _pg_unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason} (.ci/run starts the server "
                    f"and sets {PG_ENV})")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The test server's URL ($HEALTHGAP_TEST_PG_URL), checked to answer."""
    url = os.environ.get(PG_ENV)
    if not url:
        _pg_unavailable(f"{PG_ENV} is not set")
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as e:  # noqa: BLE001 - any failure means the server is unusable
        reason = " ".join(str(getattr(e, "orig", e)).split())
        _pg_unavailable(f"server {sa.engine.make_url(url).render_as_string()} "
                        f"unreachable ({reason})")
    return url


@pytest.fixture
def pg_url(pg_server_url: str):
    """A fresh, empty database on the test server (dropped afterwards)."""
    name = f"healthgap_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # a generated identifier, not a value: cannot be bound
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(pg_server_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: sa.Engine, name: str) -> None:
    """Drop a throw-away database. FORCE stops lingering sessions; without the
    pg_signal_backend role (granted by .ci/run) it cannot stop an autovacuum worker that
    has just entered the database, so wait for the worker and try again."""
    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.ProgrammingError:
            if attempt == 19:
                raise
            time.sleep(0.5)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'healthgap.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """The same test on a new SQLite file and on a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'healthgap.db'}"
    return request.getfixturevalue("pg_url")


def frames_equal(a: dict, b: dict) -> None:
    for name in ("yearly", "life_table_input", "life_expectancy"):
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


# ------------------------------------------------------------------------ packed arrays

int_arrays = hnp.arrays(dtype=st.sampled_from([np.int64, np.int32, np.uint8, np.int16]),
                        shape=st.integers(0, 50))
float_arrays = hnp.arrays(dtype=np.float64, shape=st.integers(0, 50),
                          elements=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                             st.integers(-10**6, 10**6).map(lambda i: i / 2)))


@settings(max_examples=200, deadline=None)
@given(st.one_of(int_arrays, float_arrays))
def test_pack_roundtrip(values):
    back = unpack_array(pack_array(values))
    assert back.dtype == (np.int64 if values.dtype.kind in "iu" else np.float64)
    assert np.array_equal(back, values, equal_nan=True)
    if values.dtype.kind == "f":  # -0.0 may come back as 0.0, equal as numbers
        assert np.array_equal(np.signbit(back) | (back == 0), np.signbit(values) | (values == 0))


def test_pack_is_compact_for_counts():
    years = np.repeat(np.arange(2022, 2052), 100)
    assert pack_array(years).startswith(b"|u1/1/2022/i:")
    py = np.arange(0, 3000) / 2
    assert pack_array(py).startswith(b"<u2/2/0/f:")
    assert len(pack_array(py)) < 2 * len(py) + 20


def test_life_table_input_roundtrip_exact(result):
    lti = result.life_table_input
    rows = encode_life_table_input(lti)
    assert len(rows) < len(lti) / 10  # one row per (sex, by, group)
    assert {"disabled", "extra"} <= set(rows[0])
    objs = [type("Row", (), dict(r, run_id=7)) for r in rows]
    back = decode_life_table_input(objs)
    assert (back.pop("run_id") == 7).all()
    pd.testing.assert_frame_equal(back, lti)


def test_life_table_input_any_order_and_extra_columns(result):
    lti = result.life_table_input.sample(frac=1.0, random_state=3).reset_index(drop=True)
    lti["smokers"] = np.arange(len(lti)) % 7
    lti["weight"] = np.linspace(0, 1, len(lti))
    rows = encode_life_table_input(lti)
    objs = [type("Row", (), dict(r, run_id=1)) for r in rows]
    back = decode_life_table_input(objs).drop(columns="run_id")
    keys = ["year", "sex", "by", "group", "age"]
    a = lti.sort_values(keys).reset_index(drop=True)
    b = back[lti.columns].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_life_table_input_requires_its_columns(result):
    with pytest.raises(ValueError, match="person_years"):
        encode_life_table_input(result.life_table_input.drop(columns="person_years"))


# ------------------------------------------------------------------------------ runs


def test_save_and_load_roundtrip(db_url, result):
    with Store(db_url) as s:
        run_id = s.save_run(result)
        frames = s.load_result(run_id)
        frames_equal(frames, {"yearly": result.yearly,
                              "life_table_input": result.life_table_input,
                              "life_expectancy": result.life_expectancy})
        run = frames["run"].iloc[0]
        assert run["status"] == "finished"
        assert run["scenario_hash"] == result.scenario.hash
        assert run["code_version"] == store.code_version()
        assert run["code_version"].startswith(__import__("simulation").__version__ + "+src.")
        versions = json.loads(run["package_versions"])
        assert set(versions) == {"numpy", "numba", "mesa", "pandas", "sqlalchemy"}
        assert run["finished"] >= run["started"]
        again = s.load_run_result(run_id)  # scenario rebuilt from its canonical text
        assert again.scenario.hash == result.scenario.hash
        assert again.summary() == result.summary()
        scen = s.scenarios()
        assert scen["canonical"].tolist() == [result.scenario.canonical]


def test_life_tables_recomputable_from_store(sqlite_url, result):
    with Store(sqlite_url) as s:
        run_id = s.save_run(result)
        lti = s.life_table_input([run_id]).drop(columns="run_id")
        first, last = result.window
        le = metrics.life_expectancy_by_stratum(metrics.window(lti, first, last),
                                                ages=(0, 35, 60, 65))
        stored = s.life_expectancy([run_id]).drop(columns="run_id")
    key = ["sex", "by", "group", "age"]
    a = le.sort_values(key).reset_index(drop=True)
    b = stored.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key + ["e"]], b[key + ["e"]])


def test_extra_life_expectancy_columns_are_kept(sqlite_url, result):
    le = result.life_expectancy.copy()
    le["hle"] = le["e"] - 5.0
    le["note_days"] = np.arange(len(le))
    res = replace(result, life_expectancy=le, replicate=5)
    with Store(sqlite_url) as s:
        back = s.load_result(s.save_run(res))["life_expectancy"]
    pd.testing.assert_frame_equal(back, le)


def test_get_or_run_reuses_finished_runs(sqlite_url):
    sc = small_scenario(agents=2000, years=2)
    calls = []

    def compute(scenario, replicate):
        calls.append(replicate)
        return run_scenario(scenario, replicate=replicate)

    with Store(sqlite_url) as s:
        first = s.get_or_run(sc, 0, compute)
        second = s.get_or_run(sc, 0, compute)
        other = s.get_or_run(sc, 1, compute)
        assert (first.reused, second.reused, other.reused) == (False, True, False)
        assert first.run_id == second.run_id != other.run_id
        assert calls == [0, 1]
        assert s.find_run(sc, 0) == first.run_id
        assert s.find_run(sc, 2) is None
        assert s.find_run(sc.with_options(seed=2), 0) is None


def test_code_change_invalidates_cached_runs(sqlite_url, result, monkeypatch):
    with Store(sqlite_url) as s:
        old = s.save_run(result)
        assert s.find_run(result.scenario, 0) == old
        # patched where the Store looks it up (simulation.store re-exports it)
        monkeypatch.setattr(store.repository, "code_version", lambda: "0.1.0+src.000000000000")
        assert s.find_run(result.scenario, 0) is None
        new = s.save_run(result)
        assert new != old
        assert s.counts()["runs"] == 2


def test_source_hash_covers_package_files():
    h = store.source_hash()
    assert len(h) == 12 and int(h, 16) >= 0
    assert store.code_version().endswith(h)


def test_git_commit_is_best_effort(monkeypatch):
    store.git_commit.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        assert store.git_commit() is None
    finally:
        store.git_commit.cache_clear()


def test_same_run_saved_twice_is_stored_once(db_url, result):
    """The unique key (scenario hash, seed, replicate, code version): a second save, as by
    a process that computed the same run meanwhile, reuses the first."""
    with Store(db_url) as s:
        a = s.save_run(result)
        counts = s.counts()
        b = s.save_run(result)
        assert a == b
        assert s.counts() == counts


def test_unique_key_enforced_by_the_database(sqlite_url, result):
    with Store(sqlite_url) as s:
        run_id = s.save_run(result)
        row = s.runs([run_id]).iloc[0].to_dict()
        row.pop("id")
        for k in ("started", "finished"):
            row[k] = pd.Timestamp(row[k]).to_pydatetime()
        with pytest.raises(sa.exc.IntegrityError):
            with s.engine.begin() as conn:
                conn.execute(sa.insert(store.Run), [row])


def test_failed_save_leaves_nothing(sqlite_url, result):
    bad = replace(result, replicate=3,
                  life_expectancy=result.life_expectancy.assign(e="x"))
    with Store(sqlite_url) as s:
        before = s.counts()
        with pytest.raises(ValueError):
            s.save_run(bad)
        assert s.counts() == before
        # a failure inside the transaction (duplicate rows) rolls everything back
        dup = replace(result, replicate=4, life_expectancy=pd.concat(
            [result.life_expectancy, result.life_expectancy.head(1)], ignore_index=True))
        with pytest.raises(StoreError):
            s.save_run(dup)
        assert s.counts() == before


# --------------------------------------------------------------- replicates and helpers


def test_run_replicates_and_gap_summary(sqlite_url):
    sc = small_scenario(agents=2000, years=2)
    with Store(sqlite_url) as s:
        reps = run_replicates(sc, 3, s)
        assert reps.n_reused == 0 and len(set(reps.run_ids)) == 3
        again = run_replicates(sc, 4, s)
        assert again.reused == [True, True, True, False]
        assert again.run_ids[:3] == reps.run_ids
        assert again.first.summary() == reps.first.summary()
        le = s.life_expectancy(again.run_ids)
    gaps = gap_across_replicates(le)
    assert [g["sex"] for g in gaps] == ["M", "F"] or [g["sex"] for g in gaps] == ["F", "M"]
    for g in gaps:
        assert g["n"] == 4
        if g["n_defined"]:
            assert g["p2_5"] <= g["mean"] <= g["p97_5"]


def test_table_filters(sqlite_url):
    a, b = small_scenario(agents=2000, years=2), small_scenario(agents=2000, years=2, seed=2)
    with Store(sqlite_url) as s:
        ra = s.get_or_run(a, 0).run_id
        rb = s.get_or_run(b, 0).run_id
        rb1 = s.get_or_run(b, 1).run_id
        cid = s.save_comparison("b vs a", a.hash, [b.hash])
        assert s.table("runs")["id"].tolist() == [ra, rb, rb1]
        assert s.table("runs", run_id=rb)["id"].tolist() == [rb]
        assert set(s.table("yearly", run_id=ra)["run_id"]) == {ra}
        assert set(s.table("life_table_input", run_id=rb1)["run_id"]) == {rb1}
        assert set(s.table("life_expectancy", comparison_id=cid)["run_id"]) == {ra, rb, rb1}
        assert set(s.table("scenarios", run_id=ra)["hash"]) == {a.hash}
        comp = s.table("comparisons", comparison_id=cid)
        assert comp["name"].tolist() == ["b vs a"]
        assert json.loads(comp["scenario_hashes"].iloc[0]) == [b.hash]
        assert len(s.table("comparisons", run_id=rb)) == 1
        with pytest.raises(StoreError, match="no such run"):
            s.table("runs", run_id=999)
        with pytest.raises(StoreError, match="no such comparison"):
            s.table("runs", comparison_id=999)


# ------------------------------------------------------------------ database and schema


def test_default_url_and_env(monkeypatch):
    monkeypatch.delenv(store.DB_ENV, raising=False)
    assert store.resolve_url(None) == "sqlite:///outputs/healthgap.db"
    monkeypatch.setenv(store.DB_ENV, "sqlite:///elsewhere.db")
    assert store.resolve_url(None) == "sqlite:///elsewhere.db"
    assert store.resolve_url("sqlite:///given.db") == "sqlite:///given.db"


def test_sqlite_creates_folder_wal_and_busy_timeout(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'h.db'}"
    with Store(url) as s:
        assert (tmp_path / "a" / "b" / "h.db").exists()
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_schema_version_recorded_and_checked(db_url):
    with Store(db_url) as s:
        with s.engine.connect() as conn:
            got = conn.execute(sa.select(store.Meta.value).where(
                store.Meta.key == "schema_version")).scalar()
        assert got == str(SCHEMA_VERSION)
        with s.engine.begin() as conn:
            conn.execute(sa.update(store.Meta).where(store.Meta.key == "schema_version")
                         .values(value="999"))
    with pytest.raises(SchemaVersionError) as err:
        Store(db_url)
    msg = str(err.value)
    assert "\n" not in msg and "999" in msg and str(SCHEMA_VERSION) in msg
    assert "new --db" in msg and "export" in msg


def test_foreign_tables_are_refused(tmp_path):
    path = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE runs (x INTEGER)")
    engine.dispose()
    with pytest.raises(StoreError, match="not a healthgap results store"):
        Store(f"sqlite:///{path}")


def test_export_mode_does_not_create(tmp_path):
    with pytest.raises(StoreError, match="no such file"):
        Store(f"sqlite:///{tmp_path / 'missing.db'}", create=False)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("url, expected", [
    ("not a url", "not a database URL"),
    ("", "not a database URL"),
    ("mysql://bob:Sekr3tPw@localhost/db", "unsupported database 'mysql'"),
    ("http://bob:Sekr3tPw@example.org/", "unsupported database 'http'"),
    ("postgresql+asyncpg://bob:Sekr3tPw@localhost/db", "unsupported PostgreSQL driver"),
    ("postgresql+psycopg://bob:Sekr3tPw@localhost:notaport/db", "malformed"),
    ("postgresql+psycopg://bob:Sekr3t@Pw@localhost/db", "percent-encode"),
    ("postgresql+psycopg://bob:Sekr3tPw@localhost", "no database name"),
    ("sqlite+aiosqlite:///x.db", "unsupported SQLite driver"),
])
def test_bad_urls(url, expected):
    with pytest.raises(StoreError) as err:
        parse_url(url)
    msg = str(err.value)
    assert expected in msg and "\n" not in msg
    assert "Sekr3t" not in msg and "Pw@" not in msg


def test_postgres_aliases_use_psycopg():
    assert parse_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert parse_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"


def test_unreachable_server_message_masks_password():
    with pytest.raises(StoreError) as err:
        Store("postgresql+psycopg://healthgap:Sekr3tPw@127.0.0.1:1/healthgap_test")
    msg = str(err.value)
    assert "Sekr3tPw" not in msg and "***" in msg and "\n" not in msg
    assert "refused" in msg.lower() or "failed" in msg.lower()


def test_corrupt_and_unopenable_sqlite(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a database, " * 200)
    with pytest.raises(StoreError, match="file is not a database"):
        Store(f"sqlite:///{bad}")
    with pytest.raises(StoreError, match="unable to open"):
        Store(f"sqlite:///{tmp_path}")  # a folder


def test_read_only_sqlite_fails_before_computing(tmp_path):
    path = tmp_path / "ro.db"
    Store(f"sqlite:///{path}").close()
    with pytest.raises(StoreError, match="readonly"):
        Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with Store(f"sqlite:///file:{path}?mode=ro&uri=true", create=False) as s:
        assert s.counts()["runs"] == 0  # reading still works


def test_wrong_password(pg_server_url):
    url = sa.engine.make_url(pg_server_url).set(password="Wr0ng-Sekr3t")
    with pytest.raises(StoreError) as err:
        Store(url.render_as_string(hide_password=False))
    msg = str(err.value)
    assert "password authentication failed" in msg
    assert "Wr0ng-Sekr3t" not in msg and "\n" not in msg
