"""Executors (serial, local processes, Dask): option checks, identical results whatever the
executor, and a comparison that survives a Dask worker killed while it runs.

The Dask tests use real processes: a LocalCluster, and a ``dask scheduler`` with two
``dask worker`` processes (one thread each) started here, one of which is killed with
SIGKILL while it runs a task. Populations are tiny (2,000 agents, 3 years).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.executor import (
    Executor,
    ExecutorError,
    ProcessExecutor,
    check_options,
    check_scheduler_address,
    make_executor,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPARISON = "scenarios/default.toml"
TINY = ["--agents", "2000", "--years", "3", "--replicates", "2"]
#: The default comparison cut to the baseline and its proportionate arm: 4 runs of 2,000
#: agents over 3 years (each run costs about a second, mostly fixed; the machine has 2 cores).
TRIMMED = f"""
[comparison]
name = "Smoking cessation, proportionate (test)"
baseline = "{(REPO_ROOT / 'scenarios/baseline.toml').as_posix()}"
[run]
agents = 2000
years = 3
replicates = 2
seed = 1
[[scenarios]]
name = "Universalisme proportionné"
[[scenarios.interventions]]
type = "smoking_cessation"
allocation = {{ mode = "proportionate", gradient = "linear", min_need = 0.2, budget_eur = 20000000 }}
"""
#: Keys of a comparison's JSON that name where and when it was stored, not what it found.
VOLATILE = ("id", "db", "run_ids")


def _env() -> dict[str, str]:
    """The environment of the child processes: they import this checkout's code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("NUMBA_NUM_THREADS", "1")
    return env


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout, env=_env())


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("run.py: error: ")
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compare(file: Path, db: Path, executor=None) -> dict:
    """The comparison ``file`` run in this process on a fresh database, its summary as
    ``compare --json`` prints it less the keys that say where it was stored."""
    from simulation.comparison import load_comparison, run_comparison
    from simulation.store import Store

    spec = load_comparison(file)
    with Store(f"sqlite:///{db}") as store:
        summary, _ = run_comparison(spec, store, executor=executor)
    return json.loads(json.dumps(summary))


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("comparison") / "trimmed.toml"
    path.write_text(TRIMMED, "utf-8")
    return path


@pytest.fixture(scope="module")
def serial_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serial") / "serial.db"


@pytest.fixture(scope="module")
def serial_summary(trimmed, serial_db) -> dict:
    """The trimmed comparison computed serially: the reference every executor must
    match."""
    return _compare(trimmed, serial_db)


@pytest.fixture(scope="module")
def pool():
    """Two local worker processes, shared by this module's tests (started once)."""
    with make_executor("processes", workers=2) as ex:
        yield ex


# ------------------------------------------------------------------ options, in process


def _square(x: int) -> int:
    return x * x


def test_serial_executor_maps_in_order():
    with make_executor() as ex:
        assert type(ex) is Executor
        assert list(ex.map(_square, [(1,), (2,), (3,)])) == [(0, 1), (1, 4), (2, 9)]


def test_process_executor_indexes_results(pool):
    assert isinstance(pool, ProcessExecutor)
    assert dict(pool.map(_square, [(i,) for i in range(5)])) == {i: i * i for i in range(5)}


@pytest.mark.parametrize("options, message", [
    ({"kind": "threads"}, "--executor"),
    ({"kind": "serial", "scheduler": "tcp://127.0.0.1:8786"}, "--scheduler"),
    ({"kind": "processes", "scheduler": "tcp://127.0.0.1:8786"}, "--scheduler"),
    ({"kind": "serial", "workers": 2}, "--workers"),
    ({"scheduler": "tcp://127.0.0.1:8786", "workers": 2}, "--workers"),
    ({"kind": "processes", "workers": 0}, "--workers"),
    ({"kind": "processes", "threads_per_worker": 0}, "--threads-per-worker"),
])
def test_bad_options(options, message):
    with pytest.raises(ExecutorError, match=message):
        check_options(**options)


def test_scheduler_implies_dask():
    assert check_options(scheduler="tcp://h:1", probe=False) == ("dask", "tcp://h:1")
    assert check_options() == ("serial", None)


@pytest.mark.parametrize("address", ["foo:bar", "http://127.0.0.1:8786", "tcp://:8786",
                                     "tcp://127.0.0.1", "127.0.0.1:99999", "tcp://h:1/x"])
def test_malformed_scheduler_address(address):
    with pytest.raises(ExecutorError, match="not a scheduler address"):
        check_scheduler_address(address)


def test_unreachable_scheduler_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        make_executor("dask", scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert time.perf_counter() - t0 < 5


# ------------------------------------------------------------------ command line


def test_cli_unreachable_scheduler():
    """End to end: one line, exit code 2, no traceback, and no 10-second Dask timeout."""
    t0 = time.perf_counter()
    proc = cli("compare", COMPARISON, *TINY, "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
               timeout=60)
    line = assert_one_line_error(proc)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in line
    assert time.perf_counter() - t0 < 30  # interpreter start-up and imports on a busy machine


@pytest.mark.parametrize("command", [["compare", COMPARISON], ["run", "scenarios/baseline.toml"],
                                     ["validate-baseline"]])
@pytest.mark.parametrize("options, message", [
    (["--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler at tcp://"),
    (["--scheduler", "foo:bar"], "--scheduler 'foo:bar': not a scheduler address"),
    (["--executor", "serial", "--scheduler", "tcp://127.0.0.1:8786"],
     "only with --executor dask"),
    (["--executor", "serial", "--workers", "2"], "--workers: only with"),
])
def test_executor_option_errors(command, options, message, capsys):
    """Every command that takes the executor options refuses bad ones before any work."""
    from simulation.cli import main

    options = [o.format(port=_free_port()) for o in options]
    t0 = time.perf_counter()
    code = main([*command, *TINY, *options])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("run.py: error: ") and message in err, err
    assert time.perf_counter() - t0 < 5


# ------------------------------------------------------------------ identical results


@pytest.mark.slow
def test_processes_and_dask_match_serial(trimmed, serial_summary, pool, tmp_path):
    """serial == processes == dask (LocalCluster): every run carries its seed."""
    assert serial_summary["records"] and serial_summary["summary"]
    assert _compare(trimmed, tmp_path / "processes.db", pool) == serial_summary
    with make_executor("dask", workers=2) as dask:
        assert dask.kind == "dask"
        assert _compare(trimmed, tmp_path / "dask.db", dask) == serial_summary


@pytest.mark.slow
def test_run_replicates_on_processes_match_serial(trimmed, serial_summary, serial_db, pool,
                                                  tmp_path):
    """``run --replicates 2 --executor processes``: the baseline's replicates computed by
    the pool equal those the serial comparison stored."""
    from simulation.comparison import load_comparison
    from simulation.runner import run_replicates
    from simulation.store import Store

    base = load_comparison(trimmed).baseline
    with Store(f"sqlite:///{serial_db}") as store:
        reps = run_replicates(base, 2, store)
        assert reps.reused == [True, True]
        serial = [store.life_expectancy([i]).drop(columns="run_id") for i in reps.run_ids]
    with Store(f"sqlite:///{tmp_path / 'run.db'}") as store:
        reps = run_replicates(base, 2, store, executor=pool)
        assert reps.reused == [False, False]
        parallel = [store.life_expectancy([i]).drop(columns="run_id") for i in reps.run_ids]
    for a, b in zip(serial, parallel, strict=True):
        assert a.equals(b)


def test_validate_baseline_pooled_identical_on_processes(pool):
    from simulation.config import load_scenario
    from simulation.validation import run_pooled

    sc = load_scenario(REPO_ROOT / "scenarios/baseline.toml").with_options(agents=1000, years=2)
    le_serial, people_serial = run_pooled(sc, 2)
    le_proc, people_proc = run_pooled(sc, 2, executor=pool)
    assert le_serial.equals(le_proc)
    assert people_serial.equals(people_proc)


# ------------------------------------------------------------------ fault tolerance


def _wait_for(predicate, timeout: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_comparison_survives_a_killed_dask_worker(trimmed, serial_summary, tmp_path):
    """A real cluster: a scheduler and two single-thread workers in their own processes.
    One worker is killed (SIGKILL) while it computes a run; the scheduler gives its tasks
    to the other worker and the comparison ends with the serial summary."""
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = _env()
    common = dict(cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              **common)]
    compare = None
    try:
        _wait_for(lambda: _connectable(port), 60, "the scheduler")
        for i in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address,
                 "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                 "--death-timeout", "60"], **common))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            compare = subprocess.Popen(
                [sys.executable, str(REPO_ROOT / "run.py"), "compare", str(trimmed),
                 "--json", "--no-progress", "--db", f"sqlite:///{tmp_path / 'killed.db'}",
                 "--scheduler", address],
                cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)

            def busy_worker():
                processing = client.processing()
                return next((w for w, tasks in processing.items() if tasks), None)

            victim = _wait_for(busy_worker, 120, "a worker computing a run")
            name = client.scheduler_info()["workers"][victim]["name"]
            os.kill(procs[1 + int(str(name)[1:])].pid, signal.SIGKILL)
            _wait_for(lambda: victim not in client.scheduler_info()["workers"], 60,
                      "the scheduler to notice the dead worker")
            out, err = compare.communicate(timeout=240)
        assert compare.returncode == 0, err[-3000:]
        summary = {k: v for k, v in json.loads(out).items() if k not in VOLATILE}
        assert summary == serial_summary
        assert sum(p.poll() is None for p in procs[1:]) == 1  # the survivor did the rest
    finally:
        for p in [compare, *procs[::-1]]:
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
