"""Tests for simulation.config: scenario loading, validation, hashing and parameters."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.config import (
    MAX_AGENTS,
    ConfigError,
    Scenario,
    load_parameter_specs,
    load_scenario,
    resolve_parameters,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "scenarios" / "baseline.toml"
PARAMETERS_TOML = REPO_ROOT / "simulation" / "data" / "parameters.toml"

HEADER = '[scenario]\nname = "t"\n'

HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def config_error(path: Path) -> ConfigError:
    """Load ``path`` expecting a ConfigError, and return it."""
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    return info.value


def assert_names(err: ConfigError, path: Path, key: str) -> None:
    """The one-line message is ``SOURCE: KEY: expected ...`` for this file and key."""
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: {key}: expected "), msg
    assert err.source == str(path)
    assert err.key == key


def parameter_tables() -> dict[str, dict]:
    """Every parameter table of parameters.toml (a table with a ``value``), by dotted name,
    read directly with tomllib, independently of simulation.config."""
    raw = tomllib.loads(PARAMETERS_TOML.read_text("utf-8"))
    out: dict[str, dict] = {}

    def walk(node: dict, prefix: str) -> None:
        for k, v in node.items():
            name = f"{prefix}.{k}" if prefix else k
            assert isinstance(v, dict), name
            if "value" in v:
                out[name] = v
            else:
                walk(v, name)

    walk(raw, "")
    return out


# ------------------------------------------------------------------ shipped baseline


def test_baseline_loads():
    sc = load_scenario(BASELINE)
    assert isinstance(sc, Scenario)
    assert sc.name == "Situation actuelle"
    assert sc.region == "occitanie"
    assert sc.agents == 100_000
    assert sc.start_year == 2022
    assert sc.years == 30
    assert sc.seed == 1
    assert sc.replicates == 1
    assert sc.window_years == 10
    assert sc.overrides == {}
    assert sc.parameters == resolve_parameters({})
    assert sc.source == str(BASELINE)


def test_baseline_hash_is_stable():
    a, b = load_scenario(BASELINE), load_scenario(BASELINE)
    assert a.hash == b.hash
    assert a.canonical == b.canonical
    assert len(a.hash) == 64
    int(a.hash, 16)


def test_hash_does_not_depend_on_file_location(tmp_path):
    copy = write(tmp_path / "elsewhere.toml", BASELINE.read_text("utf-8"))
    assert load_scenario(copy).hash == load_scenario(BASELINE).hash


def test_hash_changes_with_parameter_override(tmp_path):
    text = BASELINE.read_text("utf-8")
    base = load_scenario(BASELINE)
    a = load_scenario(write(tmp_path / "a.toml", text + '\n[parameters]\n"mortality.max_age" = 105\n'))
    b = load_scenario(write(tmp_path / "b.toml", text + '\n[parameters]\n"mortality.max_age" = 106\n'))
    assert a.parameters["mortality.max_age"] == 105
    assert b.parameters["mortality.max_age"] == 106
    assert a.overrides == {"mortality.max_age": 105}
    assert len({base.hash, a.hash, b.hash}) == 3


def test_with_options_validates():
    sc = load_scenario(BASELINE)
    small = sc.with_options(agents=5000, seed=7, years=2)
    assert (small.agents, small.seed, small.years) == (5000, 7, 2)
    assert small.name == sc.name and small.parameters == sc.parameters
    assert sc.agents == 100_000  # the original is unchanged
    assert small.hash != sc.hash
    assert sc.with_options(agents=None).hash == sc.hash  # None means "not given"
    with pytest.raises(ConfigError) as info:
        sc.with_options(agents=0)
    assert info.value.key == "population.agents"
    assert "population.agents" in str(info.value)
    for bad in ({"agents": -1}, {"agents": MAX_AGENTS + 1}, {"agents": True},
                {"seed": -1}, {"years": 0}, {"years": 201}):
        with pytest.raises(ConfigError):
            sc.with_options(**bad)


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param(HEADER + "[populaton]\nagents = 10\n", "populaton", id="unknown-table"),
        pytest.param(HEADER + "[population]\nagnts = 10\n", "population.agnts",
                     id="unknown-key"),
        pytest.param(HEADER + "[simulation]\nsedd = 1\n", "simulation.sedd",
                     id="unknown-key-simulation"),
        pytest.param(HEADER + "extra = 1\n", "scenario.extra", id="unknown-key-scenario"),
        pytest.param(HEADER + '[simulation]\nseed = "one"\n', "simulation.seed",
                     id="wrong-type-seed"),
        pytest.param(HEADER + "[population]\nagents = 1.5\n", "population.agents",
                     id="wrong-type-float"),
        pytest.param(HEADER + "[population]\nagents = true\n", "population.agents",
                     id="wrong-type-bool"),
        pytest.param(HEADER + "[population]\nregion = 3\n", "population.region",
                     id="wrong-type-region"),
        pytest.param("scenario = 5\n", "scenario", id="table-not-a-table"),
        pytest.param(HEADER + "[population]\nagents = 0\n", "population.agents",
                     id="agents-0"),
        pytest.param(HEADER + f"[population]\nagents = {MAX_AGENTS + 1}\n",
                     "population.agents", id="agents-too-many"),
        pytest.param(HEADER + "[simulation]\nseed = -1\n", "simulation.seed", id="seed-neg"),
        pytest.param(HEADER + "[simulation]\nyears = 0\n", "simulation.years", id="years-0"),
        pytest.param(HEADER + "[simulation]\nreplicates = 0\n", "simulation.replicates",
                     id="replicates-0"),
        pytest.param(HEADER + "[metrics]\nwindow_years = 0\n", "metrics.window_years",
                     id="window-0"),
        pytest.param(HEADER + "[population]\nstart_year = 1800\n", "population.start_year",
                     id="start-year"),
        pytest.param(HEADER + '[population]\nregion = "bretagne"\n', "population.region",
                     id="region"),
        pytest.param('[scenario]\ndescription = "no name"\n', "scenario.name",
                     id="missing-name"),
        pytest.param("[population]\nagents = 10\n", "scenario.name", id="missing-scenario"),
        pytest.param('[scenario]\nname = "  "\n', "scenario.name", id="blank-name"),
        pytest.param(HEADER + '[parameters]\n"mortality.nope" = 1\n',
                     "parameters.mortality.nope", id="unknown-parameter"),
        pytest.param(HEADER + "[parameters.mortality]\nnope = 1\n",
                     "parameters.mortality.nope", id="unknown-parameter-dotted"),
        pytest.param(HEADER + '[parameters]\n"mortality" = 1\n', "parameters.mortality",
                     id="parameter-group-not-a-parameter"),
        pytest.param(HEADER + '[parameters]\n"education.shares_age_under_35" = 0.2\n',
                     "parameters.education.shares_age_under_35", id="number-for-list"),
        pytest.param(HEADER + '[parameters]\n"mortality.max_age" = [105]\n',
                     "parameters.mortality.max_age", id="list-for-number"),
        pytest.param(HEADER + '[parameters]\n"education.shares_age_under_35" = '
                     "[0.25, 0.25, 0.25, 0.25]\n",
                     "parameters.education.shares_age_under_35", id="list-too-short"),
        pytest.param(HEADER + '[parameters]\n"employment.school_leaving_age" = '
                     "[16, 16, 18, 19, 22, 25]\n",
                     "parameters.employment.school_leaving_age", id="list-too-long"),
        pytest.param(HEADER + '[parameters]\n"mortality.max_age" = "105"\n',
                     "parameters.mortality.max_age", id="string-for-number"),
        pytest.param(HEADER + '[parameters]\n"mortality.max_age" = true\n',
                     "parameters.mortality.max_age", id="bool-for-number"),
        pytest.param(HEADER + '[parameters]\n"mortality.max_hazard" = nan\n',
                     "parameters.mortality.max_hazard", id="nan"),
        pytest.param(HEADER + '[parameters]\n"mortality.max_hazard" = inf\n',
                     "parameters.mortality.max_hazard", id="inf"),
        pytest.param(HEADER + '[parameters]\n"demography.p_male_at_birth" = 1.5\n',
                     "parameters.demography.p_male_at_birth", id="p-male-out-of-range"),
        pytest.param(HEADER + '[parameters]\n"mortality.max_age" = 99\n',
                     "parameters.mortality.max_age", id="max-age-out-of-range"),
        pytest.param(HEADER + '[parameters]\n"employment.unemployment_rate" = 0.5\n',
                     "parameters.employment.unemployment_rate", id="unemployment-rate"),
        pytest.param(HEADER + '[parameters]\n"pcs.latent_corr_education" = 1.0\n',
                     "parameters.pcs.latent_corr_education", id="correlation-1"),
        pytest.param(HEADER + '[parameters]\n"pcs.latent_corr_income" = [0.9, 0.1]\n',
                     "parameters.pcs.latent_corr_income", id="status-variance-above-1"),
        pytest.param(HEADER + '[parameters]\n"pcs.latent_corr_income" = 0.3\n',
                     "parameters.pcs.latent_corr_income", id="status-weight-not-by-sex"),
        pytest.param(HEADER + '[parameters]\n"mortality.rr_no_diploma" = [1.2, -1.0]\n',
                     "parameters.mortality.rr_no_diploma", id="negative-rr"),
        pytest.param(HEADER + '[parameters]\n"demography.burn_in_years" = 101\n',
                     "parameters.demography.burn_in_years", id="burn-in-too-long"),
        pytest.param(HEADER + '[parameters]\n"demography.burn_in_years" = -1\n',
                     "parameters.demography.burn_in_years", id="burn-in-negative"),
        pytest.param(HEADER + '[parameters]\n"demography.burn_in_years" = 2.5\n',
                     "parameters.demography.burn_in_years", id="burn-in-not-whole"),
        pytest.param(HEADER + '[parameters]\n"mortality.qx_first_year" = 2017\n',
                     "parameters.mortality.qx_last_year", id="qx-years-inverted"),
        pytest.param(HEADER + '[parameters]\n"education.shares_age_50_64" = '
                     "[0.2, 0.2, 0.2, 0.2, 0.3]\n",
                     "parameters.education.shares_age_50_64", id="shares-sum-above-1"),
        pytest.param(HEADER + '[parameters]\n"education.shares_age_75_plus" = '
                     "[0.2, 0.2, 0.2, 0.2, 0.1]\n",
                     "parameters.education.shares_age_75_plus", id="shares-sum-below-1"),
        pytest.param(HEADER + '[parameters]\n"education.shares_age_35_49" = '
                     "[-0.2, 0.4, 0.2, 0.2, 0.4]\n",
                     "parameters.education.shares_age_35_49", id="shares-negative"),
    ],
)
def test_error_names_file_and_key(tmp_path, body, key):
    path = write(tmp_path / "scenario.toml", body)
    assert_names(config_error(path), path, key)


def test_out_of_range_message_includes_value(tmp_path):
    path = write(tmp_path / "s.toml", HEADER + "[simulation]\nseed = -1\n")
    err = config_error(path)
    assert str(err).endswith(", got -1")
    path = write(tmp_path / "p.toml", HEADER + '[parameters]\n"demography.p_male_at_birth" = 1.5\n')
    assert str(config_error(path)).endswith(", got 1.5")


def test_malformed_toml(tmp_path):
    path = write(tmp_path / "bad.toml", "[scenario\nname = 'x'\n")
    err = config_error(path)
    assert_names(err, path, "file")
    assert "TOML" in str(err)


def test_duplicate_key_is_malformed_toml(tmp_path):
    path = write(tmp_path / "dup.toml", HEADER + "[population]\nagents = 1\nagents = 2\n")
    assert_names(config_error(path), path, "file")


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[scenario]\nname = "ann\u00e9e"\n'.encode("latin-1") + b"\xff\xfe")
    err = config_error(path)
    assert_names(err, path, "file")
    assert "UTF-8" in str(err)


def test_directory_instead_of_file(tmp_path):
    d = tmp_path / "scenario.toml"
    d.mkdir()
    err = config_error(d)
    assert_names(err, d, "file")
    assert "directory" in str(err)


def test_missing_file(tmp_path):
    path = tmp_path / "does_not_exist.toml"
    assert_names(config_error(path), path, "file")


def test_load_scenario_accepts_str_path():
    assert load_scenario(str(BASELINE)).hash == load_scenario(BASELINE).hash


# ------------------------------------------------------------------ parameter overrides


def test_override_forms_agree(tmp_path):
    dotted = load_scenario(write(tmp_path / "dotted.toml",
                                 HEADER + "[parameters.mortality]\nmax_age = 105\n"))
    quoted = load_scenario(write(tmp_path / "quoted.toml",
                                 HEADER + '[parameters]\n"mortality.max_age" = 105\n'))
    inline = load_scenario(write(tmp_path / "inline.toml",
                                 HEADER + "[parameters]\nmortality = { max_age = 105 }\n"))
    for sc in (dotted, quoted, inline):
        assert sc.parameters["mortality.max_age"] == 105
        assert sc.overrides == {"mortality.max_age": 105}
    assert dotted.hash == quoted.hash == inline.hash
    assert dotted.canonical == quoted.canonical
    default = load_scenario(write(tmp_path / "default.toml", HEADER))
    assert default.parameters["mortality.max_age"] == 110
    assert default.hash != dotted.hash


def test_override_leaves_other_parameters_at_default(tmp_path):
    sc = load_scenario(write(tmp_path / "s.toml", HEADER + '[parameters]\n'
                             '"education.shares_age_under_35" = [0.2, 0.2, 0.2, 0.2, 0.2]\n'
                             '"demography.fertility_tfr" = 2\n'))
    defaults = resolve_parameters({})
    changed = {k for k in defaults if sc.parameters[k] != defaults[k]}
    assert changed == {"education.shares_age_under_35", "demography.fertility_tfr"}
    assert sc.parameters["education.shares_age_under_35"] == [0.2] * 5


def test_resolve_parameters_defaults_match_parameters_toml():
    tables = parameter_tables()
    values = resolve_parameters({})
    assert set(values) == set(tables)
    assert len(values) >= 20
    for name, table in tables.items():
        assert values[name] == table["value"], name
    assert set(load_parameter_specs()) == set(tables)


def test_resolve_parameters_returns_copies():
    a = resolve_parameters({})
    a["education.shares_age_under_35"][0] = 99.0
    assert resolve_parameters({})["education.shares_age_under_35"][0] != 99.0


def test_resolve_parameters_rejects_unknown_and_wrong_kind():
    with pytest.raises(ConfigError) as info:
        resolve_parameters({"mortality.nope": 1}, "here.toml")
    assert str(info.value).startswith("here.toml: parameters.mortality.nope: expected ")
    with pytest.raises(ConfigError) as info:
        resolve_parameters({"mortality": {"max_age": "old"}}, "here.toml")
    assert info.value.key == "parameters.mortality.max_age"


def test_every_parameter_has_unit_and_source():
    tables = parameter_tables()
    assert tables
    for name, table in tables.items():
        assert set(table) == {"value", "unit", "source"}, name
        for field in ("unit", "source"):
            assert isinstance(table[field], str), (name, field)
            assert table[field].strip(), (name, field)
    for name, spec in load_parameter_specs().items():
        assert spec.unit.strip() and spec.source.strip(), name


# ------------------------------------------------------------------ property-based


@HYPOTHESIS
@given(agents=st.one_of(st.integers(),
                        st.integers(min_value=-10, max_value=10),
                        st.integers(min_value=MAX_AGENTS - 10, max_value=MAX_AGENTS + 10)))
def test_any_integer_agents(tmp_path_factory, agents):
    path = tmp_path_factory.mktemp("agents") / "s.toml"
    write(path, HEADER + f"[population]\nagents = {agents}\n")
    if 1 <= agents <= MAX_AGENTS:
        assert load_scenario(path).agents == agents
    else:
        with pytest.raises(ConfigError) as info:
            load_scenario(path)
        assert info.value.key == "population.agents"
        assert "population.agents" in str(info.value)
        assert str(path) in str(info.value)


FRAGMENTS = st.sampled_from([
    "[scenario]", 'name = "x"', 'name = ""', "description = 1", "[population]",
    "agents = 10", "agents = -1", 'region = "occitanie"', "[simulation]", "years = 3",
    "seed = 0", "[metrics]", "window_years = 1", "[parameters]", "[parameters.mortality]",
    "max_age = 105", '"mortality.max_age" = 105', '"mortality.max_age" = [1, 2]',
    '"education.shares_age_under_35" = [0.2, 0.2, 0.2, 0.2, 0.2]', "x = {}", "x = []",
    "[[scenario]]", "[a.b.c]", "= 1", '"', "'''", "\\", "nan", "1e999",
])


@HYPOTHESIS
@given(text=st.one_of(st.text(), st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)))
                      .map("\n".join)))
def test_any_text_gives_scenario_or_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("text") / "s.toml"
    write(path, text)
    try:
        sc = load_scenario(path)
    except ConfigError as e:
        assert str(e).startswith(f"{path}: ")
        assert "\n" not in str(e)
    else:
        assert isinstance(sc, Scenario)
        assert sc.name.strip()


VALID_SIMULATION_KEYS = {"years", "seed", "replicates"}


@HYPOTHESIS
@given(key=st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
       .filter(lambda k: k not in VALID_SIMULATION_KEYS))
def test_unknown_simulation_key(tmp_path_factory, key):
    path = tmp_path_factory.mktemp("key") / "s.toml"
    write(path, HEADER + f"[simulation]\nyears = 2\n{key} = 1\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert_names(info.value, path, f"simulation.{key}")


# ------------------------------------------------------------------ pathological files


def test_deeply_nested_array_is_config_error(tmp_path):
    path = write(tmp_path / "deep.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert_names(config_error(path), path, "file")


def test_byte_order_mark_is_tolerated(tmp_path):
    text = BASELINE.read_text()
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_scenario(path).name == "Situation actuelle"


def test_conflicting_overrides_are_an_error(tmp_path):
    text = BASELINE.read_text()
    path = write(tmp_path / "twice.toml", text + '\n[parameters]\n"mortality.max_age" = 105\n'
                 "[parameters.mortality]\nmax_age = 106\n")
    assert_names(config_error(path), path, "parameters.mortality.max_age")


def test_integer_parameters_refuse_fractions_and_hash_like_floats(tmp_path):
    text = BASELINE.read_text()
    bad = write(tmp_path / "frac.toml", text + '\n[parameters]\n"mortality.max_age" = 105.5\n')
    assert_names(config_error(bad), bad, "parameters.mortality.max_age")
    a = write(tmp_path / "int.toml", text + '\n[parameters]\n"mortality.max_age" = 105\n')
    b = write(tmp_path / "flt.toml", text + '\n[parameters]\n"mortality.max_age" = 105.0\n')
    assert load_scenario(a).hash == load_scenario(b).hash


@pytest.mark.parametrize("name,value", [("care.non_take_up_free", 1.5),
                                        ("disease.rr_death", [1.8, -1.0, 3.0, 2.0, 2.2]),
                                        ("smoking.p_quit_attempt", -0.1)])
def test_probabilities_and_relative_risks_are_range_checked(tmp_path, name, value):
    text = BASELINE.read_text()
    path = write(tmp_path / "range.toml", text + f'\n[parameters]\n"{name}" = {value}\n')
    assert_names(config_error(path), path, f"parameters.{name}")
