"""The user-facing errors that several modules share.

Each is a problem the user can fix, reported by the command line as one line on stderr with
exit code 2 (never a traceback). They live here, below every other module, so that raising
or catching one imports nothing else: the command line, the dashboard, the store and the
scenario loader all use them without importing each other.

* :class:`ConfigError`: a mistake in a scenario, parameter or other input file
  (:mod:`simulation.config`, which re-exports it);
* :class:`StoreError` and :class:`SchemaVersionError`: a database problem
  (:mod:`simulation.store`, which re-exports them);
* :class:`UserError`: any other problem the user can fix, such as an out-of-range option
  (:mod:`simulation.cli` and :mod:`simulation.dashboard`).
"""

from __future__ import annotations

from typing import Any

#: Characters that end a line (``str.splitlines``), escaped in messages: a key of a file may
#: hold one, and the message must stay one line.
_LINE_BREAKS = str.maketrans({c: repr(c)[1:-1]
                              for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


class ConfigError(ValueError):
    """A user's mistake in a scenario or parameter file, reported as one line."""

    def __init__(self, source: str, key: str, expected: str, got: Any = None) -> None:
        self.source, self.key, self.expected, self.got = source, key, expected, got
        msg = f"{source}: {key}: expected {expected}"
        if got is not None:
            msg += f", got {got!r}"
        super().__init__(msg.translate(_LINE_BREAKS))


class StoreError(Exception):
    """A database problem the user can fix (unreachable server, wrong password, read-only
    or corrupt file, bad URL); its message is one line with any password masked."""


class SchemaVersionError(StoreError):
    """The database was written by a version of healthgap with another layout."""


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


__all__ = ["ConfigError", "SchemaVersionError", "StoreError", "UserError"]
