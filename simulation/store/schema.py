"""The results database's layout: SQLAlchemy 2.0 ORM tables, the schema version (kept in
the ``meta`` table) and the names of the tables.

Bump :data:`SCHEMA_VERSION` whenever a table or a column changes: a database of another
version is refused (:class:`~simulation.errors.SchemaVersionError`, raised by
:class:`~simulation.store.repository.Store` when it opens one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Version of the database layout; bump it whenever a table or a column changes
#: (3: sweep and calibration tables).
SCHEMA_VERSION = 3
#: Every table that ``export`` and :meth:`Store.table` know.
TABLES = ("runs", "scenarios", "yearly", "life_table_input", "life_expectancy", "comparisons",
          "comparison_results", "sweeps", "sweep_results", "calibrations", "posterior_draws")
#: The status of a run stored whole (the only status written).
STATUS_FINISHED = "finished"


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
    """Deaths and person-years by year and age (packed arrays, see
    :mod:`simulation.store.codec`) for one run, sex, stratum and group."""

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


__all__ = [
    "SCHEMA_VERSION", "STATUS_FINISHED", "TABLES", "Base", "Calibration", "Comparison",
    "ComparisonResult", "LifeExpectancy", "LifeTableInput", "Meta", "PosteriorDraw", "Run",
    "ScenarioRow", "Sweep", "SweepResult", "Yearly",
]
