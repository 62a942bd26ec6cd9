"""What identifies the code that computed a run: its version (the package version plus a
hash of the package's source and data files, so that changing the code invalidates stored
runs), the git commit and the versions of the main packages."""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

#: Packages whose versions are stored with each run.
PACKAGES = ("numpy", "numba", "mesa", "pandas", "sqlalchemy")


def _package_root() -> Path:
    """The folder of the whole ``simulation`` package (this file is in its ``store``)."""
    return Path(__file__).resolve().parents[1]


#: Top-level entries of the package left out of :func:`source_hash`.
_PRESENTATION = ("cli.py", "report", "dashboard.py", "store")


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
    from .. import __version__

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


__all__ = ["PACKAGES", "code_version", "git_commit", "package_versions", "source_hash"]
