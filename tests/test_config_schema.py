"""The declarative schemas of the input files (simulation.configmodels) and their errors.

Every input file (scenario, comparison, sweep, sensitivity, calibration) is checked by
pydantic models; any problem is one :class:`ConfigError` line ``FILE: KEY.PATH: expected
...``. Property-based: an unknown key at any level of any file is named by its path, and any
value anywhere gives either a valid spec or such a line, never another exception.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, model_validator

from simulation import config
from simulation.calibration import load_calibration
from simulation.comparison import load_comparison
from simulation.config import ConfigError, load_scenario, resolve_parameters
from simulation.configmodels import RAW, Table, field, invalid, validate
from simulation.sensitivity import load_sensitivity
from simulation.sweep import load_sweep

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()
TARGETS = (REPO_ROOT / "calibration" / "targets.csv").as_posix()
RUN = {"agents": 1000, "years": 2, "replicates": 1, "seed": 1}

HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])

#: A valid file of each kind, with every table it may have, and its loader.
FILES: dict[str, tuple[dict[str, Any], Callable[[Path], Any]]] = {
    "scenario": ({
        "scenario": {"name": "t", "description": "d", "name_en": "t", "description_en": "d"},
        "population": {"region": "occitanie", "agents": 1000, "start_year": 2022},
        "simulation": {"years": 2, "seed": 1, "replicates": 1},
        "metrics": {"window_years": 2},
        "parameters": {"mortality.max_age": 105, "care": {"non_take_up_free": 0.3}},
        "interventions": [
            {"type": "smoking_cessation", "name": "Sevrage", "start_year": 2022,
             "duration_years": 2, "effect": 1.0, "effect_source": "x", "unit_cost_eur": 100,
             "allocation": {"mode": "targeted", "by": "income_rank", "max_rank": 0.2,
                            "budget_eur": 1e6}},
            {"type": "outreach_css",
             "allocation": {"mode": "proportionate", "gradient": "stepped", "min_need": 0.2,
                            "steps": [1, 0.7, 0.45, 0.25, 0]}}],
        "counterfactual": {"equalise": ["smoking"]},
    }, load_scenario),
    "comparison": ({
        "comparison": {"name": "c", "baseline": BASELINE, "question": "q"},
        "run": RUN,
        "scenarios": [{"name": "A", "description": "a", "parameters": {
            "care.non_take_up_free": 0.3}, "counterfactual": {"equalise": ["care"]},
            "interventions": [{"type": "outreach_css", "allocation": {"budget_eur": 1e6}}]}],
        "uncertainty": {"posterior": "default", "draws": 2, "effects": True},
    }, load_comparison),
    "sweep": ({
        "sweep": {"name": "s", "baseline": BASELINE, "x": "allocation.budget_eur",
                  "arms": [{"name": "A", "interventions": [
                      {"type": "smoking_cessation", "allocation": {"mode": "universal"}}]}],
                  "grid": {"allocation.budget_eur": [1e6, 2e6]}},
        "run": RUN,
    }, load_sweep),
    "sweep-lhs": ({
        "sweep": {"name": "s", "baseline": BASELINE,
                  "arms": [{"name": "A", "interventions": [
                      {"type": "smoking_cessation", "allocation": {"mode": "universal"}}]}],
                  "lhs": {"samples": 2, "seed": 1,
                          "allocation.budget_eur": {"min": 1e6, "max": 2e6}}},
        "run": RUN,
    }, load_sweep),
    "sensitivity": ({
        "sensitivity": {"name": "s", "baseline": BASELINE, "effects": False},
        "method": {"name": "morris", "trajectories": 2, "levels": 4, "samples": 4, "seed": 1},
        "run": {"agents": 1000, "years": 2, "seed": 1},
        "outcome": {"gap": "Q5-Q1", "sex": "pooled", "age": 0},
        "parameters": {"vulnerability.differential": {"range": [0.0, 0.6]},
                       "mortality.rr_income_residual": {"scale": [0.7, 1.3]}},
    }, load_sensitivity),
    "calibration": ({
        "calibration": {"name": "c", "scenario": BASELINE, "targets": TARGETS},
        "population": {"agents": 1000, "years": 2, "seed": 1, "replicates": 1},
        "abc": {"population_size": 4, "generations": 1, "minimum_epsilon": 0.0,
                "max_walltime_minutes": 1.0, "epsilon_quantile": 0.5},
        "parameters": [{"name": "care.non_take_up_free", "prior": "uniform", "lower": 0.2,
                        "upper": 0.45},
                       {"name": "mortality.level[0]", "prior": "lognormal", "median": 1.0,
                        "sigma": 0.05, "lower": 0.8, "upper": 1.2}],
        "targets": [{"family": "smoking_sex", "weight": 1.0, "tolerance": 2.0}],
    }, load_calibration),
}


# ----------------------------------------------------------------------------- helpers


def toml(value: Any) -> str:
    """``value`` in TOML (inline tables and arrays; every key quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{toml(k)} = {toml(v)}" for k, v in value.items()) + " }"


def write(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text("".join(f"{toml(k)} = {toml(v)}\n" for k, v in raw.items()),
                    "utf-8")
    return path


def tables(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every table in ``node`` (itself included), elements of arrays too."""
    if isinstance(node, dict):
        yield path
        for k, v in node.items():
            yield from tables(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from tables(v, (*path, i))


def positions(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every value in ``node`` (tables and arrays included)."""
    if path:
        yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from positions(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from positions(v, (*path, i))


def dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def changed(raw: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    new = copy.deepcopy(raw)
    node = new
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return new


def load_error(kind: str, raw: dict[str, Any], folder: Path) -> ConfigError | None:
    """Load ``raw`` as a ``kind`` file: None if valid, else its ConfigError (one line naming
    a file, usually this one, and a key)."""
    path = write(folder / f"{kind}.toml", raw)
    try:
        FILES[kind][1](path)
    except ConfigError as e:
        message = str(e)
        assert len(message.splitlines()) == 1 and "Traceback" not in message
        head = str(ConfigError(e.source, e.key, "")).removesuffix("expected ")  # escaped
        assert message.startswith(f"{head}expected "), message
        return e
    return None


#: TOML values (integers kept small: a sweep's samples or a grid's values make points)
SCALARS = st.one_of(st.booleans(), st.integers(-50, 50), st.text(max_size=6),
                    st.sampled_from([10**6, 2**31, 2**63 - 1, -(2**63)]),
                    st.floats(allow_nan=True, allow_infinity=True))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=2)),
    max_leaves=4)


# ------------------------------------------------------------------------- the files


@pytest.mark.parametrize("kind", FILES)
def test_the_base_files_are_valid(tmp_path, kind):
    assert load_error(kind, FILES[kind][0], tmp_path) is None


@HYPOTHESIS
@given(data=st.data(), kind=st.sampled_from(sorted(FILES)),
       name=st.from_regex(r"zz_[a-z0-9_]{0,8}", fullmatch=True),
       value=st.one_of(SCALARS, st.lists(st.integers(), max_size=2)))
def test_an_unknown_key_at_any_level_is_named_by_its_path(tmp_path_factory, data, kind, name,
                                                          value):
    raw = FILES[kind][0]
    where = data.draw(st.sampled_from(list(tables(raw))), label="table")
    err = load_error(kind, changed(raw, (*where, name), value), tmp_path_factory.mktemp("k"))
    assert err is not None
    assert err.key == dotted((*where, name)), str(err)


@HYPOTHESIS
@given(data=st.data(), kind=st.sampled_from(sorted(FILES)), value=VALUES)
def test_any_value_anywhere_gives_a_spec_or_one_line(tmp_path_factory, data, kind, value):
    raw = FILES[kind][0]
    where = data.draw(st.sampled_from(list(positions(raw))), label="position")
    load_error(kind, changed(raw, where, value), tmp_path_factory.mktemp("v"))


@HYPOTHESIS
@given(data=st.data(), kind=st.sampled_from(sorted(FILES)))
def test_any_missing_key_gives_a_spec_or_one_line(tmp_path_factory, data, kind):
    raw = copy.deepcopy(FILES[kind][0])
    where = data.draw(st.sampled_from([p for p in positions(raw) if isinstance(p[-1], str)]),
                      label="position")
    node = raw
    for part in where[:-1]:
        node = node[part]
    del node[where[-1]]
    load_error(kind, raw, tmp_path_factory.mktemp("m"))


@pytest.mark.parametrize("raw, key, expected", [
    ({**FILES["scenario"][0], "populaton": {}}, "populaton", "one of the tables"),
    (changed(FILES["scenario"][0], ("interventions", 0, "allocation", "colour"), "red"),
     "interventions[0].allocation.colour", "one of the keys budget_eur, by, gradient"),
    (changed(FILES["scenario"][0], ("simulation", "years"), "2"), "simulation.years",
     "an integer"),
    (changed(FILES["scenario"][0], ("simulation", "years"), 0), "simulation.years",
     "an integer from 1 to 200"),
    (changed(FILES["scenario"][0], ("interventions", 1, "allocation", "steps"), [1, 2]),
     "interventions[1].allocation.steps", "5 needs in [0, 1]"),
])
def test_run_py_reports_a_bad_file_on_one_line(tmp_path, raw, key, expected):
    path = write(tmp_path / "bad.toml", raw)
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "run", str(path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{path}: {key}: expected {expected}" in lines[0], lines[0]
    assert proc.stdout == ""


# ------------------------------------------------------------------ the converter itself


class _Inner(Table):
    sort_keys = True
    b: int = field("an integer from 1 to 9", 1, ge=1, le=9, type_error="an integer")
    a: str = field("a word", missing="a word (required)")


class _Item(Table):
    table_expected = "a table ([[items]])"
    x: int = 0


class _Outer(Table):
    unknown = "one of the tables {keys}"
    inner: _Inner
    items: list[_Item] = field("an array of tables ([[items]])", [], got=False)
    plain: list[_Inner] = field("an array of tables ([[plain]])", [], got=False)
    many: dict[str, _Item] = {}
    maybe: Annotated[int, Field(ge=0), field("a count")] | None = None

    @model_validator(mode="after")
    def _not_seven(self) -> _Outer:
        if self.inner.b == 7:
            raise invalid("anything but 7", "inner", "b", got=RAW)
        return self


@pytest.mark.parametrize("raw, message", [
    ({"inner": {"a": "w"}, "zz": 1}, "f: zz: expected one of the tables inner, items, plain, "
     "many, maybe"),
    ({"inner": {"a": "w", "b": 0, "zz": 1}}, "f: inner.zz: expected one of the keys a, b"),
    ({"inner": {"b": 0}}, "f: inner.b: expected an integer from 1 to 9, got 0"),
    ({"inner": {"a": "w", "b": 1.5}}, "f: inner.b: expected an integer, got 1.5"),
    ({"inner": {"b": 2}}, "f: inner.a: expected a word (required)"),
    ({"inner": 3}, "f: inner: expected a table"),
    ({"inner": {"a": "w"}, "items": [{"x": 1}, 5]}, "f: items[1]: expected a table "
     "([[items]])"),
    ({"inner": {"a": "w"}, "plain": [5]}, "f: plain: expected an array of tables ([[plain]])"),
    ({"inner": {"a": "w"}, "plain": [{"a": 3}]}, "f: plain[0].a: expected a word, got 3"),
    ({"inner": {"a": "w"}, "many": {"k.j": 5}}, "f: many.k.j: expected a table ([[items]])"),
    ({"inner": {"a": "w"}, "maybe": -1}, "f: maybe: expected a count, got -1"),
    ({"inner": {"a": "w", "b": 7}}, "f: inner.b: expected anything but 7, got 7"),
])
def test_the_converter_names_the_key_and_what_is_expected(raw, message):
    with pytest.raises(ConfigError) as info:
        validate(_Outer, raw, "f")
    assert str(info.value) == message


def test_the_converter_prefixes_the_path_of_a_sub_table():
    with pytest.raises(ConfigError) as info:
        validate(_Inner, {"a": 1}, "f", "outer[2]")
    assert str(info.value) == "f: outer[2].a: expected a word, got 1"
    with pytest.raises(ConfigError) as info:
        validate(_Item, 7, "f", "outer[2]")
    assert str(info.value) == "f: outer[2]: expected a table ([[items]])"


# ---------------------------------------------------------------- parameter overrides


def test_a_new_parameter_needs_no_code(monkeypatch):
    """Overrides are checked against the parameter file: a parameter added there is known,
    with the kind of its default, without any change to the code."""
    specs = config.load_parameter_specs()
    specs["newcomer.p_example"] = config.ParameterSpec("newcomer.p_example", 0.5, "share",
                                                       "test")
    specs["newcomer.count"] = config.ParameterSpec("newcomer.count", 3, "people", "test")
    monkeypatch.setattr(config, "load_parameter_specs", lambda path=None: specs)
    values = resolve_parameters({"newcomer": {"p_example": 0.25}, "newcomer.count": 4.0})
    assert values["newcomer.p_example"] == 0.25 and values["newcomer.count"] == 4
    assert isinstance(values["newcomer.count"], int)
    config._check_parameters(values, "f")
    with pytest.raises(ConfigError) as info:
        resolve_parameters({"newcomer.count": 4.5}, "f")
    assert str(info.value) == "f: parameters.newcomer.count: expected a whole number, got 4.5"
    with pytest.raises(ConfigError) as info:  # the rules of names hold for it too
        config._check_parameters({**values, "newcomer.p_example": 1.5}, "f")
    assert info.value.key == "parameters.newcomer.p_example"


def test_a_key_with_a_line_break_stays_on_one_line(tmp_path):
    raw = changed(FILES["scenario"][0], ("parameters", "a\nb"), 1)
    err = load_error("scenario", raw, tmp_path)
    assert err is not None and err.key == "parameters.a\nb"
    assert "parameters.a\\nb: expected a known parameter name" in str(err)
