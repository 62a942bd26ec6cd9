"""Results store through the command line, with real processes: replicates and reuse,
a run killed with SIGKILL and resumed, four processes writing at once (SQLite and
PostgreSQL), bad databases, credentials, ``export``.

PostgreSQL tests use the server named by $HEALTHGAP_TEST_PG_URL (see tests/test_store.py).
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from test_store import db_url, frames_equal, pg_server_url, pg_url  # noqa: F401 (fixtures)

from simulation import cli, store
from simulation.config import load_scenario
from simulation.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(REPO_ROOT / "scenarios" / "baseline.toml")
SMALL = ["--agents", "3000", "--years", "2", "--no-progress"]
IDENTITY = ["scenario_hash", "seed", "replicate", "run_seed", "agents", "years", "start_year",
            "window_first", "window_last", "code_version", "status"]


def cli_run(*args: str, cwd: Path = REPO_ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop(store.DB_ENV, None)
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def popen(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop(store.DB_ENV, None)
    return subprocess.Popen([sys.executable, str(REPO_ROOT / "run.py"), *args], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_one_line_error(proc, *secrets: str) -> str:
    """Exit code 2, one line on stderr starting with run.py, no traceback, no secret."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("run.py: error: "), proc.stderr
    for secret in secrets:
        assert secret not in proc.stderr + proc.stdout
    return lines[0]


def stored_by_replicate(url: str) -> dict[int, dict]:
    with Store(url, create=False) as s:
        runs = s.runs()
        return {int(r["replicate"]): {**s.load_result(int(r["id"])),
                                      "identity": {k: r[k] for k in IDENTITY}}
                for _, r in runs.iterrows()}


def check_no_partial_run(url: str) -> None:
    """Only finished runs, each complete; no result row of any other run."""
    with Store(url, create=False) as s:
        runs = s.runs()
        assert (runs["status"] == "finished").all()
        finished = set(runs["id"].astype(int))
        per_table = {}
        with s.engine.connect() as conn:
            for model in (store.Yearly, store.LifeTableInput, store.LifeExpectancy):
                counts = dict(conn.execute(sa.select(model.run_id, sa.func.count())
                                           .group_by(model.run_id)).all())
                assert set(counts) == finished, model.__tablename__  # no orphans, none missing
                per_table[model.__tablename__] = counts
        for table, counts in per_table.items():
            assert len(set(counts.values())) == 1, (table, counts)  # same size: all complete
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()


# ---------------------------------------------------------------------- run --replicates


def test_run_json_keys_and_reuse(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first = cli_run("run", BASELINE, *SMALL, "--replicates", "3", "--db", url, "--json")
    assert first.returncode == 0, first.stderr
    assert "3 replicates: 0 reused from the database, 3 computed" in first.stderr
    summary = json.loads(first.stdout)
    for key in ("scenario", "scenario_hash", "seed", "replicate", "agents", "start_year",
                "years", "window", "life_expectancy", "gap_richest_poorest_vingtile", "yearly"):
        assert key in summary, key
    assert summary["replicate"] == 0 and summary["replicates"] == 3
    assert len(summary["run_ids"]) == 3 and summary["db"] == url
    gaps = summary["e0_gap_v20_v1_across_replicates"]
    assert sorted(g["sex"] for g in gaps) == ["F", "M"] and all(g["n"] == 3 for g in gaps)

    again = cli_run("run", BASELINE, *SMALL, "--replicates", "3", "--db", url, "--json")
    assert again.returncode == 0, again.stderr
    assert "3 replicates: 3 reused from the database, 0 computed" in again.stderr
    assert again.stdout == first.stdout  # replicate 0 read back gives the same summary

    more = cli_run("run", BASELINE, *SMALL, "--replicates", "4", "--db", url)
    assert more.returncode == 0, more.stderr
    out = more.stdout
    assert "4 replicates: 3 reused from the database, 1 computed" in out
    assert "Gap V20-V1 in life expectancy at birth across 4 replicates" in out
    assert "2.5%" in out and "97.5%" in out and out.count("gap V20-V1") == 2


def test_replicates_default_from_scenario_and_default_db(tmp_path):
    scenario = tmp_path / "two.toml"
    scenario.write_text(Path(BASELINE).read_text().replace("replicates = 1", "replicates = 2"))
    proc = cli_run("run", str(scenario), *SMALL, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["replicates"] == 2 and summary["db"] == store.DEFAULT_URL
    assert (tmp_path / "outputs" / "healthgap.db").exists()


def test_sigkill_halfway_leaves_no_partial_run_and_resumes(tmp_path):
    n = 10
    args = ["run", BASELINE, "--agents", "4000", "--years", "3", "--replicates", str(n),
            "--no-progress", "--json"]
    path = tmp_path / "killed.db"
    url = f"sqlite:///{path}"

    def finished() -> int:
        if not path.exists():
            return 0
        con = sqlite3.connect(path, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchone()[0]
        except sqlite3.OperationalError:  # tables not created yet
            return 0
        finally:
            con.close()

    proc = popen(*args, "--db", url)
    deadline = time.monotonic() + 300
    try:
        while finished() < 1:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done = finished()
    assert 1 <= done < n, done
    check_no_partial_run(url)

    resumed = cli_run(*args, "--db", url)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{n} replicates: {done} reused from the database, {n - done} computed" in (
        resumed.stderr)
    check_no_partial_run(url)

    other = f"sqlite:///{tmp_path / 'uninterrupted.db'}"
    straight = cli_run(*args, "--db", other)
    assert straight.returncode == 0, straight.stderr
    a, b = json.loads(resumed.stdout), json.loads(straight.stdout)
    for s in (a, b):
        s.pop("db")
    assert a == b
    killed_runs, straight_runs = stored_by_replicate(url), stored_by_replicate(other)
    assert sorted(killed_runs) == sorted(straight_runs) == list(range(n))
    for rep in range(n):
        frames_equal(killed_runs[rep], straight_runs[rep])
        assert killed_runs[rep]["identity"] == straight_runs[rep]["identity"]


# ------------------------------------------------------------------------- concurrency

WRITER = r"""
import dataclasses, sys
from simulation.config import load_scenario
from simulation.runner import run_scenario
from simulation.store import Store
url, me, n, scenario = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
res = run_scenario(load_scenario(scenario).with_options(agents=1500, years=2))
with Store(url) as s:
    for i in range(n):
        s.save_run(dataclasses.replace(res, replicate=1000 * (me + 1) + i))  # its own runs
        s.save_run(dataclasses.replace(res, replicate=i))  # the same runs as the others
print("ok")
"""


def test_four_writers_at_once(db_url):  # noqa: F811
    """Four processes saving runs as fast as they can into one database: no "database is
    locked", no lost row, and runs saved by several at once are stored once."""
    n = 8
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(me), str(n), BASELINE],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for me in range(4)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == "ok" and "locked" not in err.lower(), err
    with Store(db_url) as s:
        runs = s.runs()
        expected = {1000 * (me + 1) + i for me in range(4) for i in range(n)} | set(range(n))
        assert sorted(runs["replicate"]) == sorted(expected)
        counts = s.counts()
    check_no_partial_run(db_url)
    assert counts["runs"] == len(expected)
    assert counts["yearly"] % len(expected) == 0 and counts["life_expectancy"] % len(
        expected) == 0


def test_four_cli_processes_at_once(db_url):  # noqa: F811
    seeds = [1, 2, 3, 3]  # two processes run the very same replicates
    procs = [popen("run", BASELINE, *SMALL, "--seed", str(seed), "--replicates", "3",
                   "--db", db_url, "--json") for seed in seeds]
    outs = [p.communicate(timeout=600) for p in procs]
    summaries = []
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and "Traceback" not in err, err
        summaries.append(json.loads(out))
    assert summaries[2]["run_ids"] == summaries[3]["run_ids"]
    assert summaries[2]["life_expectancy"] == summaries[3]["life_expectancy"]
    with Store(db_url) as s:
        runs = s.runs()
    assert sorted(zip(runs["seed"], runs["replicate"], strict=True)) == [
        (seed, r) for seed in (1, 2, 3) for r in range(3)]
    check_no_partial_run(db_url)


# ------------------------------------------------------------------------- bad input


def test_unreachable_server_one_line_password_masked():
    proc = cli_run("run", BASELINE, *SMALL, "--db",
                   "postgresql+psycopg://healthgap:Sekr3tPw@127.0.0.1:1/healthgap_test")
    line = assert_one_line_error(proc, "Sekr3tPw")
    assert "***" in line and ("refused" in line.lower() or "failed" in line.lower())


def test_corrupt_sqlite_file(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"\x00garbage, not SQLite " * 500)
    line = assert_one_line_error(cli_run("run", BASELINE, *SMALL, "--db", f"sqlite:///{bad}"))
    assert "file is not a database" in line and str(bad) in line


def test_read_only_sqlite_file(tmp_path):
    """A database file the user cannot write: refused before any computing."""
    path = tmp_path / "ro.db"
    Store(f"sqlite:///{path}").close()
    made_read_only = False
    try:
        if os.geteuid() == 0:  # root ignores permissions: make the file immutable instead
            made_read_only = subprocess.run(["chattr", "+i", str(path)],
                                            capture_output=True).returncode == 0
        else:
            path.chmod(0o444)
            tmp_path.chmod(0o555)
            made_read_only = True
        if not made_read_only:
            pytest.skip("cannot make a file read-only here (root without chattr +i)")
        t0 = time.monotonic()
        proc = cli_run("run", BASELINE, *SMALL, "--db", f"sqlite:///{path}")
        line = assert_one_line_error(proc)
        assert "readonly" in line and "permissions" in line
        assert time.monotonic() - t0 < 60
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            tmp_path.chmod(0o755)
            path.chmod(0o644)


def test_read_only_sqlite_uri(tmp_path):
    path = tmp_path / "ro.db"
    Store(f"sqlite:///{path}").close()
    line = assert_one_line_error(cli_run("run", BASELINE, *SMALL, "--db",
                                         f"sqlite:///file:{path}?mode=ro&uri=true"))
    assert "readonly" in line


def test_wrong_password_cli(pg_server_url):  # noqa: F811
    url = sa.engine.make_url(pg_server_url).set(password="Wr0ngSekr3t")
    proc = cli_run("run", BASELINE, *SMALL, "--db", url.render_as_string(hide_password=False))
    line = assert_one_line_error(proc, "Wr0ngSekr3t")
    assert "password authentication failed" in line


@pytest.mark.parametrize("url, expected", [
    ("nonsense", "not a database URL"),
    ("mysql://bob:Sekr3tPw@localhost/results", "unsupported database 'mysql'"),
    ("postgresql+psycopg://bob:Sekr3tPw@localhost:port/results", "malformed"),
    ("oracle+cx_oracle://bob:Sekr3tPw@localhost/results", "unsupported database"),
])
def test_bad_urls_in_process(url, expected, capsys):
    assert cli.main(["run", BASELINE, *SMALL, "--db", url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and expected in err and "Sekr3tPw" not in err


def test_unsupported_dialect_subprocess():
    line = assert_one_line_error(cli_run("export", "runs", "--db",
                                         "mssql+pyodbc://sa:Sekr3tPw@host/db"), "Sekr3tPw")
    assert "unsupported database 'mssql+pyodbc'" in line


def test_other_schema_version(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(url) as s, s.engine.begin() as conn:
        conn.execute(sa.update(store.Meta).where(store.Meta.key == "schema_version")
                     .values(value="0"))
    for argv in (["run", BASELINE, *SMALL, "--db", url], ["export", "runs", "--db", url]):
        assert cli.main(argv) == 2
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and "schema version 0" in err
        assert "use a new --db file" in err and "export" in err


# --------------------------------------------------------------------------- credentials


def test_password_never_printed_logged_or_stored(pg_url):  # noqa: F811
    password = sa.engine.make_url(pg_url).password
    assert password
    wrong = sa.engine.make_url(pg_url).set(password="Wr0ngSekr3t").render_as_string(
        hide_password=False)
    unreachable = sa.engine.make_url(pg_url).set(port=1).render_as_string(hide_password=False)
    procs = [
        cli_run("run", BASELINE, *SMALL, "--replicates", "2", "--db", pg_url),
        cli_run("run", BASELINE, *SMALL, "--replicates", "2", "--db", pg_url, "--json"),
        cli_run("export", "runs", "--db", pg_url),
        cli_run("export", "life_table_input", "--run", "1", "--db", pg_url),
        cli_run("export", "runs", "--run", "999", "--db", pg_url),
        cli_run("run", BASELINE, *SMALL, "--db", wrong),
        cli_run("run", BASELINE, *SMALL, "--db", unreachable),
    ]
    assert [p.returncode for p in procs] == [0, 0, 0, 0, 2, 2, 2], [p.stderr for p in procs]
    for p in procs:
        assert password not in p.stdout + p.stderr
        assert "Wr0ngSekr3t" not in p.stdout + p.stderr
    assert "***" in procs[1].stdout  # the URL shown, masked
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            assert {"runs", "scenarios", "meta"} <= set(tables)
            n_values = 0
            for table in tables:
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):  # our tables
                    for value in row:
                        n_values += 1
                        if isinstance(value, (bytes, memoryview)):
                            assert password.encode() not in bytes(value), table
                        else:
                            assert password not in str(value), table
            assert n_values > 1000
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ export


@pytest.fixture(scope="module")
def exported_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "e.db"
    url = f"sqlite:///{path}"
    proc = cli_run("run", BASELINE, *SMALL, "--replicates", "2", "--db", url, "--json")
    assert proc.returncode == 0, proc.stderr
    other = cli_run("run", BASELINE, *SMALL, "--seed", "5", "--db", url, "--json")
    assert other.returncode == 0, other.stderr
    sc = load_scenario(BASELINE).with_options(agents=3000, years=2)
    with Store(url) as s:
        summary = {"records": [{"scenario": "seed 5", "metric": "deaths", "value": 1.0,
                                "lo": 0.5, "hi": 1.5, "diff": 0.1, "diff_lo": 0.0,
                                "diff_hi": 0.2}]}
        cid = s.save_comparison("seed 5 vs 1", sc.hash, [sc.with_options(seed=5).hash],
                                summary=summary)
        s.save_sweep("seeds", "sweep.toml", "grid", ["parameters.x"], [{"parameters.x": 1}],
                     None, {"sweep": "seeds"},
                     [{"point": 0, "arm": "seed 5", "scenario": "seed 5 (x=1)",
                       "scenario_hash": sc.hash, "point_values": '{"parameters.x": 1}',
                       "x": 1.0, "metric": "deaths", "value": 1.0}])
    return url, json.loads(proc.stdout)["run_ids"], json.loads(other.stdout)["run_ids"], cid


@pytest.mark.parametrize("table", store.TABLES)
def test_export_every_table_to_stdout(exported_db, table, capsys):
    url, _, _, _ = exported_db
    assert cli.main(["export", table, "--db", url]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    frame = pd.read_csv(io.StringIO(out))
    with Store(url, create=False) as s:
        expected = s.table(table)
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected) > 0


def test_export_filters_and_out_file(exported_db, tmp_path):
    url, ids, other_ids, cid = exported_db
    out = tmp_path / "sub" / "lti.csv"
    proc = cli_run("export", "life_table_input", "--run", str(ids[1]), "--out", str(out),
                   "--db", url)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    lti = pd.read_csv(out, dtype={"group": str})
    assert list(lti.columns)[:8] == ["run_id", "year", "sex", "by", "group", "age", "deaths",
                                     "person_years"]
    assert set(lti["run_id"]) == {ids[1]}
    with Store(url, create=False) as s:
        stored = s.load_result(ids[1])["life_table_input"]
    assert len(lti) == len(stored)
    assert lti["deaths"].sum() == stored["deaths"].sum()
    assert lti["person_years"].sum() == pytest.approx(stored["person_years"].sum())

    runs = pd.read_csv(io.StringIO(cli_run("export", "runs", "--comparison", str(cid),
                                           "--db", url).stdout))
    assert sorted(runs["id"]) == sorted(ids + other_ids)
    yearly = pd.read_csv(io.StringIO(cli_run("export", "yearly", "--run", str(other_ids[0]),
                                             "--db", url).stdout))
    assert list(yearly.columns) == ["run_id", "year", "variable", "value"]
    assert set(yearly["run_id"]) == {other_ids[0]}


def test_export_errors(exported_db, tmp_path, capsys):
    url, _, _, _ = exported_db
    cases = [
        (["export", "runs", "--run", "999", "--db", url], "--run 999: no such run"),
        (["export", "runs", "--comparison", "999", "--db", url], "no such comparison"),
        (["export", "yearly", "--db", f"sqlite:///{tmp_path / 'none.db'}"], "no such file"),
        (["export", "yearly", "--out", str(tmp_path), "--db", url], "is a folder"),
    ]
    for argv, expected in cases:
        assert cli.main(argv) == 2
        _, err = capsys.readouterr()
        assert err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(SystemExit) as e:
        cli.main(["export", "no_such_table", "--db", url])
    assert e.value.code == 2
