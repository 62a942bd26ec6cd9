"""Results store: the reading and writing of runs in a SQL database.

Any SQLAlchemy URL of a supported dialect works: SQLite by default
(``sqlite:///outputs/healthgap.db``, WAL journal, busy timeout) and PostgreSQL through
psycopg 3 (``postgresql+psycopg://USER@HOST:PORT/DATABASE``) for shared use::

    from simulation.store import Store
    with Store("sqlite:///outputs/healthgap.db") as store:
        run_id, reused = store.get_or_run(scenario, replicate=0)
        frames = store.load_result(run_id)      # yearly, life_table_input, life_expectancy
        store.table("runs")                     # any table as a DataFrame

The package, whose names are all importable from ``simulation.store``:

* :mod:`.schema`: the SQLAlchemy ORM tables, :data:`SCHEMA_VERSION` (kept in ``meta``)
  and :data:`TABLES`;
* :mod:`.codec`: packing and unpacking of arrays and frames into table rows (the packed
  life-table inputs are described there);
* :mod:`.identity`: the code version that identifies a run (package version and source
  hash), the git commit and the package versions;
* :mod:`.repository`: :class:`Store` (connections, reads, writes) and the database URLs.

The errors, :class:`StoreError` and :class:`SchemaVersionError`, are defined in
:mod:`simulation.errors`.

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
"""

from ..errors import SchemaVersionError, StoreError
from .codec import (
    decode_life_table_input,
    encode_life_table_input,
    pack_array,
    pack_column,
    pack_named,
    unpack_array,
    unpack_named,
)
from .identity import PACKAGES, code_version, git_commit, package_versions, source_hash
from .repository import (
    DB_ENV,
    DEFAULT_URL,
    PG_CONNECT_TIMEOUT_S,
    SQLITE_BUSY_TIMEOUT_S,
    Store,
    StoredRun,
    bind_runner,
    make_engine,
    parse_url,
    resolve_url,
    scenario_from_canonical,
)
from .repository import _sqlite_path as _sqlite_path  # used by simulation.calibration
from .schema import (
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

__all__ = [
    "DB_ENV", "DEFAULT_URL", "PACKAGES", "PG_CONNECT_TIMEOUT_S", "SCHEMA_VERSION",
    "SQLITE_BUSY_TIMEOUT_S", "STATUS_FINISHED", "TABLES", "Base", "Calibration", "Comparison",
    "ComparisonResult", "LifeExpectancy", "LifeTableInput", "Meta", "PosteriorDraw", "Run",
    "ScenarioRow", "SchemaVersionError", "Store", "StoreError", "StoredRun", "Sweep",
    "SweepResult", "Yearly", "bind_runner", "code_version", "decode_life_table_input",
    "encode_life_table_input", "git_commit", "make_engine", "pack_array", "pack_column",
    "pack_named", "package_versions", "parse_url", "resolve_url", "scenario_from_canonical",
    "source_hash", "unpack_array", "unpack_named",
]
