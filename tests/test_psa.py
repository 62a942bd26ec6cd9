"""Parameter uncertainty in comparisons (probabilistic sensitivity analysis): replicates
draw parameter sets from a stored posterior (simulation.comparison)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.cli import main
from simulation.comparison import (
    CHANCE_INTERVAL,
    comparison_hashes,
    load_comparison,
    resample,
    run_comparison,
)
from simulation.config import ConfigError, load_scenario
from simulation.executor import make_executor
from simulation.report import write_report
from simulation.store import Store, StoreError

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Tiny runs: enough deaths for the whole population's life table, a few seconds each.
TINY = {"agents": 3000, "years": 4, "replicates": 3}

COMPARISON = """
[comparison]
name = "PSA test"
baseline = "{baseline}"
{uncertainty}
[run]
agents = 3000
years = 4
replicates = 3
seed = 7

[[scenarios]]
name = "Sevrage"
[[scenarios.interventions]]
type = "smoking_cessation"
allocation = {{ mode = "universal", budget_eur = 20000000 }}
"""


def _write(tmp: Path, uncertainty: str = "", name: str = "cmp.toml") -> Path:
    path = tmp / name
    path.write_text(COMPARISON.format(baseline=REPO_ROOT / "scenarios" / "baseline.toml",
                                      uncertainty=uncertainty), "utf-8")
    return path


def _posterior(store: Store, name: str = "fixture", columns: dict | None = None) -> int:
    """Two very different parameter sets, equally weighted."""
    cid = store.start_calibration(name, "{}", f"hash-{name}", "fixture")
    columns = columns or {"mortality.level": [[0.6, 0.6], [1.8, 1.8]],
                          "mortality.level_old_age[0]": [0.7, 2.0],
                          "mortality.level_old_age[1]": [0.7, 2.0],
                          "mortality.rr_income_residual": [[2.0, 1.5], [9.0, 7.0]]}
    frame = pd.DataFrame(columns)
    # the fit the calibration's diagnostics keep: 1 of its 2 calibrated targets met
    fit = [{"within_tolerance": True, "calibrated": True},
           {"within_tolerance": False, "calibrated": True},
           {"within_tolerance": True, "calibrated": False}]
    store.save_posterior(cid, frame, [1.0] * len(frame), {
        "effective_sample_size": 2.0, "population_size": 2, "diagnostics": {"fit": fit}})
    return cid


def _record(summary: dict, **keys) -> dict:
    for r in summary["records"]:
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    raise KeyError(keys)


def _save(store: Store, spec, summary, run_ids) -> int:
    base, hashes = comparison_hashes(spec, summary)
    return store.save_comparison(spec.name, base, hashes, run_ids, summary)


@pytest.fixture(scope="module")
def psa(tmp_path_factory):
    """One store with the chance-only and the PSA comparisons (serial), stored."""
    tmp = tmp_path_factory.mktemp("psa")
    store = Store(f"sqlite:///{tmp}/psa.db")
    cal_id = _posterior(store)
    chance_spec = load_comparison(_write(tmp))
    psa_spec = load_comparison(_write(tmp, '[uncertainty]\nposterior = "fixture"\n', "psa.toml"))
    chance, chance_ids = run_comparison(chance_spec, store)
    summary, run_ids = run_comparison(psa_spec, store)
    ids = {"chance": _save(store, chance_spec, chance, chance_ids),
           "psa": _save(store, psa_spec, summary, run_ids)}
    yield {"tmp": tmp, "store": store, "cal_id": cal_id, "chance": chance, "psa": summary,
           "psa_spec": psa_spec, "run_ids": run_ids, "ids": ids}
    store.close()


# ----------------------------------------------------------------------- resampling


def test_resample_follows_the_weights_and_keeps_earlier_replicates():
    w = [0.0, 0.7, 0.3]
    idx = resample(w, seed=3, replicates=2000)
    assert 0 not in idx  # a zero weight is never drawn
    assert abs(np.mean(idx == 1) - 0.7) < 0.05
    assert list(resample(w, 3, 10)) == list(idx[:10])  # prefix-stable
    assert list(resample(w, 4, 10)) != list(idx[:10])  # the seed matters


# ------------------------------------------------------------------------- the file


def test_uncertainty_table_is_parsed_and_validated(tmp_path):
    spec = load_comparison(_write(tmp_path, '[uncertainty]\nposterior = "default"\ndraws = 8\n'))
    assert spec.uncertainty.posterior == "default"
    assert spec.baseline.replicates == 8 and all(s.replicates == 8 for s in spec.scenarios)
    assert load_comparison(_write(tmp_path, "[uncertainty]\nposterior = 4\n")).uncertainty \
        .posterior == "4"
    for bad, key in (('posterior = ""', "uncertainty.posterior"),
                     ('posterior = "a"\ndraws = 0', "uncertainty.draws"),
                     ('posterior = "a"\nsamples = 3', "uncertainty.samples")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_comparison(_write(tmp_path, f"[uncertainty]\n{bad}\n"))
    assert load_comparison(_write(tmp_path)).uncertainty is None


def test_with_parameters_validates_and_changes_the_hash():
    sc = load_scenario(REPO_ROOT / "scenarios" / "baseline.toml")
    a = sc.with_parameters({"mortality.rr_income_residual[1]": 2.0})
    assert a.parameters["mortality.rr_income_residual"][1] == 2.0
    assert a.parameters["mortality.rr_income_residual"][0] == sc.parameters[
        "mortality.rr_income_residual"][0]
    assert a.hash != sc.hash and sc.with_parameters({}).hash == sc.hash
    for bad in ({"no.such": 1.0}, {"vulnerability.differential[0]": 1.0},
                {"mortality.rr_income_residual[2]": 1.0}, {"mortality.level": "x"},
                {"demography.p_male_at_birth": 1.5}):
        with pytest.raises(ConfigError):
            sc.with_parameters(bad)


# ------------------------------------------------------------------------- the runs


def test_psa_interval_is_wider_than_chance_only(psa):
    def width(summary: dict, sex: str) -> float:
        r = _record(summary, scenario="Situation actuelle", metric="life_expectancy", sex=sex,
                    by="all", age=0)
        return r["hi"] - r["lo"]

    assert psa["psa"]["uncertainty"]["distinct_draws"] == 2  # both parameter sets drawn
    for sex in ("M", "F"):
        assert width(psa["psa"], sex) > 1.5 * width(psa["chance"], sex)
    assert psa["chance"]["interval"] == CHANCE_INTERVAL
    assert psa["chance"]["uncertainty"] == {"kind": "chance"}
    u = psa["psa"]["uncertainty"]
    assert u["kind"] == "chance+parameters" and u["calibration"] == "fixture"
    assert u["calibration_id"] == psa["cal_id"] and u["draws"] == 3
    assert "parameter uncertainty" in psa["psa"]["interval"]
    assert "'fixture'" in psa["psa"]["interval"] and "3 draws" in psa["psa"]["interval"]


def test_psa_pairs_baseline_and_scenario_on_the_same_draw(psa):
    """Replicate r of the baseline and of the scenario run with the same parameter set
    (and seed); the stored run's scenario carries the draw."""
    store, spec = psa["store"], psa["psa_spec"]
    draws = psa["psa"]["uncertainty"]["draw_of_replicate"]
    levels = {0: [0.6, 0.6], 1: [1.8, 1.8]}
    for name in (spec.baseline.name, "Sevrage"):
        for r, run_id in enumerate(psa["run_ids"][name]):
            res = store.load_run_result(run_id)
            assert res.replicate == r
            assert res.scenario.parameters["mortality.level"] == levels[draws[r]]
            assert res.scenario.seed == spec.baseline.seed


def test_psa_is_reproducible_and_independent_of_the_executor(psa, tmp_path):
    """The same comparison on a fresh database, computed by local processes, gives the same
    summary as the serial run."""
    with Store(f"sqlite:///{tmp_path}/again.db") as store:
        _posterior(store)
        spec = load_comparison(_write(tmp_path, '[uncertainty]\nposterior = "fixture"\n'))
        with make_executor("processes", workers=2) as ex:
            again, _ = run_comparison(spec, store, executor=ex)
    assert again["records"] == psa["psa"]["records"]
    assert again["summary"] == psa["psa"]["summary"]
    assert again["uncertainty"]["draw_of_replicate"] == \
        psa["psa"]["uncertainty"]["draw_of_replicate"]


def test_scenario_parameter_changes_win_over_the_draw(psa):
    from simulation.comparison import ParameterDraws, replicate_scenarios

    spec = psa["psa_spec"]
    own = spec.scenarios[0].with_parameters({"vulnerability.differential": 0.0})
    spec2 = type(spec)(spec.name, spec.description, spec.question, spec.baseline, (own,),
                       spec.source, spec.uncertainty)
    draws = ParameterDraws(1, "x", (0, 0, 0), tuple(
        {"vulnerability.differential": 0.7, "mortality.level[0]": 1.1} for _ in range(3)))
    arms = replicate_scenarios(spec2, draws)
    assert arms[0]["Situation actuelle"].parameters["vulnerability.differential"] == 0.7
    assert arms[0]["Sevrage"].parameters["vulnerability.differential"] == 0.0
    assert arms[2]["Sevrage"].parameters["mortality.level"][0] == 1.1


# ------------------------------------------------------------------------- the report


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_report_states_the_kind_of_interval(psa, lang):
    store, out = psa["store"], psa["tmp"] / f"out_{lang}"
    psa_html = write_report(store, psa["ids"]["psa"], lang, out).read_text("utf-8")
    # the chance-only wording once (each report takes seconds)
    chance_html = (write_report(store, psa["ids"]["chance"], lang, out).read_text("utf-8")
                   if lang == "fr" else "the simulation's chance only")
    import html

    if lang == "fr":
        psa_words = ("hasard de la simulation et incertitude sur les paramètres (loi a "
                     "posteriori de la calibration « fixture »")
        chance_words = "hasard de la simulation seulement"
    else:
        psa_words = ("chance and parameter uncertainty (posterior of calibration "
                     "\u201cfixture\u201d")
        chance_words = "the simulation's chance only"

    def plain(text: str) -> str:  # French typography puts no-break spaces around « »
        return html.unescape(text).replace("\xa0", " ").replace("\u202f", " ")

    psa_text, chance_text = plain(psa_html), plain(chance_html)
    assert psa_words in psa_text
    assert ("3 tirages" if lang == "fr" else "3 draws") in psa_text
    assert chance_words not in psa_text
    assert chance_words in chance_text and psa_words not in chance_text
    # how well the calibration behind the intervals fits, from its stored diagnostics
    fit_words = ("reproduit 1 des 2 valeurs observées" if lang == "fr"
                 else "reproduces 1 of the 2 observed values")
    assert fit_words in psa_text and fit_words not in chance_text


# ------------------------------------------------------------------------- the CLI


def test_compare_unknown_calibration_is_one_line(psa, capsys):
    path = _write(psa["tmp"], "", "cli.toml")
    db = f"sqlite:///{psa['tmp']}/psa.db"
    assert main(["compare", str(path), "--posterior", "nope", "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'nope'" in err[0] and "calibration" in err[0], err


def test_posterior_with_unknown_parameter_is_one_line(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/bad.db"
    with Store(db) as store:
        _posterior(store, "bad", {"vulnerability.differential": [0.2],
                                  "no.such.parameter": [2.0]})
    path = _write(tmp_path, '[uncertainty]\nposterior = "bad"\n')
    assert main(["compare", str(path), "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no.such.parameter" in err[0] and "'bad'" in err[0], err


def test_store_error_names_the_calibration(tmp_path):
    with Store(f"sqlite:///{tmp_path}/e.db") as store:
        spec = load_comparison(_write(tmp_path, '[uncertainty]\nposterior = "absent"\n'))
        with pytest.raises(StoreError, match="'absent'"):
            run_comparison(spec, store)
