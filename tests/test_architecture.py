"""The package's structure: no import cycles among its modules, the ``healthgap`` console
command, and the names that the rest of the code imports from ``simulation.store``."""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import simulation
import simulation.store

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulation"
#: The one name a module may import from a package above it (``from .. import
#: __version__``): defined first in the package's ``__init__``, before its imports, so such
#: an import is no dependency on the modules that the package re-exports.
PACKAGE_METADATA = {"__version__"}


# ---------------------------------------------------------------------------- import graph


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package's __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Edges module -> the package modules it imports (at module level or inside functions),
    and the imports of a package above the importer (only metadata is allowed; they are no
    edges, see :data:`PACKAGE_METADATA`), as readable lines."""
    modules = _modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    upward: list[str] = []
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    source = ".".join(p for p in (base, node.module) if p)
                else:
                    source = node.module or ""
                targets = []
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:  # from package import module
                        targets.append(f"{source}.{alias.name}")
                    elif source in modules and (name == source or name.startswith(source + ".")):
                        upward.append(f"{name}: from {source} import {alias.name}")
                        assert alias.name in PACKAGE_METADATA, (
                            f"{name} imports {alias.name} from the package {source} above it: "
                            "import it from the module that defines it")
                    else:
                        targets.append(source)
            else:
                continue
            for target in targets:
                while target and target not in modules:  # a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges, upward


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    """No module imports, even inside a function, a module that imports it back, directly
    or through others."""
    edges, _ = _import_graph()
    cycles = _cycles(edges)
    shown = ["; ".join(f"{m} -> {', '.join(sorted(edges[m] & set(c)))}" for m in c)
             for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(shown)


def test_the_layers_that_had_cycles():
    """The store never imports the runner (the runner owns running a scenario or reusing
    its stored run), and the dashboard never imports the command line."""
    edges, _ = _import_graph()
    store = {m for m in edges if m == "simulation.store" or m.startswith("simulation.store.")}
    assert all("simulation.runner" not in edges[m] for m in store)
    assert "simulation.cli" not in edges["simulation.dashboard"]
    assert "simulation.store" in edges["simulation.runner"]
    errors = {"simulation.errors"}
    assert edges["simulation.errors"] == set()  # below every other module
    assert errors <= edges["simulation.cli"] and errors <= edges["simulation.dashboard"]


def test_the_graph_sees_function_level_imports():
    """A check of the checker: imports inside functions are edges too."""
    edges, upward = _import_graph()
    assert "simulation.executor" in edges["simulation.runner"]  # inside run_many
    assert "simulation.dashboard" in edges["simulation.cli"]  # inside cmd_dashboard
    assert "simulation.store.identity: from simulation import __version__" in upward


# ------------------------------------------------------------------------ console command


def _healthgap() -> str:
    """The ``healthgap`` command of this Python's environment (skips locally, fails in CI,
    when the package is not installed with ``pip install -e .``)."""
    found = shutil.which("healthgap", path=str(Path(sys.executable).parent))
    if found is None:
        message = (f"no healthgap command next to {sys.executable}: pip install -e . "
                   "installs it")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_console_script_is_declared():
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)
    target = project["project"]["scripts"]["healthgap"]
    module, _, function = target.partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    assert "simulation.store" in project["tool"]["setuptools"]["packages"]


def test_console_script_help():
    done = subprocess.run([_healthgap(), "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "compare" in done.stdout


def test_console_script_validates_like_run_py():
    args = ["validate", "scenarios/baseline.toml"]
    done = subprocess.run([_healthgap(), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    shim = subprocess.run([sys.executable, "run.py", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert (done.stdout, done.stderr) == (shim.stdout, shim.stderr)
    bad = subprocess.run([_healthgap(), "validate", "no/such/file.toml"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


# --------------------------------------------------------------------------- store package

#: What the rest of the code, the tests and the benchmarks use from ``simulation.store``.
STORE_NAMES = (
    "DB_ENV", "DEFAULT_URL", "PACKAGES", "PG_CONNECT_TIMEOUT_S", "SCHEMA_VERSION",
    "SQLITE_BUSY_TIMEOUT_S", "STATUS_FINISHED", "TABLES", "Base", "Calibration", "Comparison",
    "ComparisonResult", "LifeExpectancy", "LifeTableInput", "Meta", "PosteriorDraw", "Run",
    "ScenarioRow", "SchemaVersionError", "Store", "StoreError", "StoredRun", "Sweep",
    "SweepResult", "Yearly", "code_version", "decode_life_table_input",
    "encode_life_table_input", "git_commit", "make_engine", "pack_array", "pack_column",
    "pack_named", "package_versions", "parse_url", "resolve_url", "scenario_from_canonical",
    "source_hash", "unpack_array", "unpack_named", "_sqlite_path",
)


def _imported_from_store() -> set[str]:
    """Every name imported from ``simulation.store`` (absolutely or relatively) anywhere in
    the repository's Python files."""
    names = set()
    files = [p for folder in ("simulation", "tests", "benchmarks", "calibration")
             for p in (ROOT / folder).rglob("*.py")] + [ROOT / "run.py"]
    for path in files:
        if "store" in path.relative_to(ROOT).parts[:2]:
            continue  # the package itself
        parts = path.relative_to(ROOT).with_suffix("").parts
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = ".".join(parts[:len(parts) - node.level])
                source = ".".join(p for p in (base, node.module) if p)
            else:
                source = node.module or ""
            if source == "simulation.store":
                names.update(a.name for a in node.names)
    return names


def test_store_exposes_the_names_in_use():
    used = _imported_from_store()
    assert {"Store", "StoreError", "code_version", "_sqlite_path"} <= used  # the scan works
    missing = sorted(n for n in set(STORE_NAMES) | used if not hasattr(simulation.store, n))
    assert not missing
    assert all(hasattr(simulation.store, n) for n in simulation.store.__all__)


def test_store_package_layout():
    from simulation import config, errors
    from simulation.store import codec, identity, repository, schema

    assert simulation.store.Store is repository.Store
    assert simulation.store.Run is schema.Run and simulation.store.Meta is schema.Meta
    assert simulation.store.pack_column is codec.pack_column
    assert simulation.store.StoreError is errors.StoreError
    assert issubclass(simulation.store.SchemaVersionError, errors.StoreError)
    assert config.ConfigError is errors.ConfigError is simulation.ConfigError
    assert importlib.import_module("simulation.cli").UserError is errors.UserError
    # the code version still hashes the whole package (the store itself left out)
    assert identity._package_root() == Path(simulation.__file__).resolve().parent
    assert "store" in identity._PRESENTATION


# ----------------------------------------------------------------------- parameter lists

#: The most parameters a function may take, positional, keyword-only, ``*args`` and
#: ``**kwargs`` together: kernels take the state and their parameters as records
#: (:mod:`simulation.kernels.records`) rather than long positional lists.
MAX_PARAMETERS = 20


def _n_parameters(args: ast.arguments) -> int:
    return (len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
            + (args.vararg is not None) + (args.kwarg is not None))


def _scanned_files() -> list[Path]:
    return [*sorted(PACKAGE.rglob("*.py")), ROOT / "run.py"]


def _parameter_counts() -> dict[str, int]:
    """Every function and lambda of the package and of ``run.py``: ``"file:line name"`` ->
    its number of parameters."""
    out = {}
    for path in _scanned_files():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                name = getattr(node, "name", "<lambda>")
                out[f"{path.relative_to(ROOT)}:{node.lineno} {name}"] = _n_parameters(node.args)
    return out


def test_no_function_takes_more_than_20_parameters():
    counts = _parameter_counts()
    too_many = {where: n for where, n in counts.items() if n > MAX_PARAMETERS}
    assert not too_many, (f"functions with more than {MAX_PARAMETERS} parameters (pass "
                          f"records instead): {too_many}")


def test_the_parameter_count_sees_every_kind_of_parameter():
    """A check of the checker: it finds the kernels, and counts every kind of parameter."""
    counts = _parameter_counts()
    assert any(where.endswith(" disease_step") for where in counts)
    assert ROOT / "run.py" in _scanned_files()
    node = ast.parse("def f(a, /, b, c=1, *d, e, f=2, **g): pass").body[0]
    assert _n_parameters(node.args) == 7
    assert _n_parameters(ast.parse("lambda x, *y: x").body[0].value.args) == 2
