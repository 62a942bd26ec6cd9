"""Baseline validation: the model against the observed French gradients.

:func:`validate` runs a scenario and returns one row per target: the observed value with
its source, the model's value and the difference. Targets (copied from shared/data, with
their sources, in ``simulation/data``):

* life expectancy at birth, 60 and 65 by income vingtile and sex, and the gap between the
  richest and poorest 5% (INSEE, Insee Première 1687, 2012-2016);
* the probability of dying between 35 and 65 of ouvriers and cadres, and the ratio of
  their death rates at 45 and 90 (INSEE, Insee Première 1584; without a tolerance);
* healthy (disability-free) life expectancy at birth and at 65 by sex (DREES, Études et
  Résultats 1173, 2019);
* gaps in life expectancy at 35 between cadres and ouvriers or agriculteurs, and between
  graduates of higher education and each other diploma, by sex (INSEE, Insee Première 1584,
  2009-2013);
* diabetes and cardiovascular prevalence by income decile, age- and sex-standardised
  (DREES, Études et Résultats 1243, 2016-2017);
* daily smoking at 18-75 by sex, diploma and employment (Santé publique France, Baromètre
  santé 2022, BEH 2023 n°9-10) and by income tercile (Baromètre 2020, BEH 2021 n°8);
* non-take-up of the free CSS among the eligible (DREES, 2022);
* forgone care for cost, overall and in the poorest fifth (INSEE SRCV 2017, ±1 point);
* complementary insurance and adult obesity by social group, diploma and employment
  (DREES, EHIS, ObEpi), reported without a tolerance (orders of magnitude).

The issue's tolerances are kept in the ``tolerance`` column (``abs`` in the target's unit,
``rel`` relative) and ``ok`` says whether the model meets them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .config import Scenario
from .model import HealthInequalityModel
from .population import read_data

INSEE = "INSEE, Insee Premiere 1687 (2018), 2012-2016"
INSEE_PCS = "INSEE, Insee Premiere 1584 (2016), 2009-2013"
DREES_EVSI = "DREES, Etudes et Resultats 1173 (2020), 2019"
#: Gaps in life expectancy at 35 scored against INSEE (the two that
#: calibration/tune_baseline.py tunes); the others are shown for reference.
SCORED_E35_GAPS = (("pcs", "ouvriers"), ("education", "sans_diplome"))
DREES = "DREES, Etudes et Resultats 1243 (2022), 2016-2017, standardised"
BEH = "Sante publique France, Barometre sante 2022 (BEH 2023 n.9-10)"
BEH2021 = "Sante publique France, Barometre sante 2020 (BEH 2021 n.8)"


def population_frame(model: HealthInequalityModel) -> pd.DataFrame:
    """The living people now, with the attributes the validation needs."""
    a = model.population.arrays()
    alive = a["alive"] == 1
    df = pd.DataFrame({k: a[k][alive] for k in (
        "sex", "age", "income_rank", "education", "pcs", "employment", "smoking", "obese",
        "insurance", "care", "conditions", "disability")})
    df["age"] = df["age"].astype(int)
    df["decile"] = (df["income_rank"] * 10).astype(int) + 1
    df["quintile"] = (df["income_rank"] * 5).astype(int) + 1
    return df


def standard_population() -> pd.Series:
    """Standard population for direct standardisation: shares by sex * 100 + 5-year age
    group of the synthetic population at start (Occitanie, 2012 census structure), close to
    the French structure DREES standardises on."""
    from .population import age_sex_distribution, load_region

    dist = age_sex_distribution(load_region())
    cells = {}
    for s in range(2):
        for a in range(dist.shape[1]):
            key = s * 100 + a // 5
            cells[key] = cells.get(key, 0.0) + dist[s, a]
    return pd.Series(cells)


def _standardised(df: pd.DataFrame, flag: pd.Series, by: str) -> pd.Series:
    """Prevalence of ``flag`` by ``by``, directly standardised on
    :func:`standard_population` by sex and 5-year age group."""
    cell = df["sex"].astype(int) * 100 + df["age"] // 5
    weights = standard_population()
    rates = flag.groupby([df[by], cell]).mean()
    out = {}
    for g, sub in rates.groupby(level=0):
        r = sub.droplevel(0).reindex(weights.index)
        w = weights[r.notna()]
        out[g] = float((r.dropna() * w).sum() / w.sum())
    return pd.Series(out)


def _row(target: str, group: str, observed: float, model: float, unit: str, source: str,
         tol_abs: float | None = None, tol_rel: float | None = None) -> dict[str, Any]:
    diff = model - observed
    ok = None
    if tol_abs is not None:
        ok = bool(abs(diff) <= tol_abs)
    elif tol_rel is not None:
        ok = bool(abs(diff) <= tol_rel * abs(observed))
    tol = (f"±{tol_abs:g}" if tol_abs is not None
           else f"±{tol_rel:.0%}" if tol_rel is not None else "")
    return {"target": target, "group": group, "observed": observed, "model": model,
            "difference": diff, "unit": unit, "tolerance": tol, "ok": ok, "source": source}


def compare_targets(le: pd.DataFrame, people: pd.DataFrame, params: dict[str, Any],
                    lti: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per target from model outputs: ``le`` from
    :meth:`HealthInequalityModel.life_expectancy`, ``people`` from :func:`population_frame`;
    with the pooled life-table input ``lti``, also the age pattern of mortality by
    category (:func:`_ouvriers_cadres`)."""
    rows = []
    obs = read_data("insee_life_expectancy_by_income_vingtile_2012_2016.csv")
    for sex, code in (("M", "H"), ("F", "F")):
        o = obs[obs["sex"] == code].set_index("vingtile")
        for age, col in ((0, "e0"), (60, "e60"), (65, "e65")):
            m = le[(le["sex"] == sex) & (le["by"] == "income_vingtile") & (le["age"] == age)]
            m = m.set_index(m["group"].astype(int))["e"]
            for v in range(1, 21):
                rows.append(_row(f"{col} by income vingtile", f"{sex} V{v}", float(o.loc[v, col]),
                                 float(m.get(v, np.nan)), "years", INSEE, tol_abs=1.0))
            if age == 0:
                rows.append(_row("e0 gap V20-V1", sex, float(o.loc[20, col] - o.loc[1, col]),
                                 float(m.get(20, np.nan) - m.get(1, np.nan)), "years", INSEE,
                                 tol_abs=0.5))
            a = le[(le["sex"] == sex) & (le["by"] == "all") & (le["age"] == age)]["e"]
            rows.append(_row(f"{col} whole population", sex, float(o.loc[0, col]),
                             float(a.iloc[0]), "years", INSEE))
    rows += _e35_gaps(le)
    if lti is not None:
        rows += _ouvriers_cadres(lti)
    evsi = read_data("drees_disability_free_life_expectancy_2019.csv")
    for r in evsi[evsi["limitation"] == "any"].itertuples():
        m = le[(le["sex"] == r.sex) & (le["by"] == "all") & (le["age"] == r.age)]
        rows.append(_row(f"healthy life expectancy at {r.age}", r.sex, float(r.evsi),
                         float(m["hle"].iloc[0]) if len(m) else np.nan, "years", DREES_EVSI,
                         tol_abs=1.0))
    prev = read_data("drees_chronic_disease_prevalence_by_income_decile_2016_2017.csv")
    for bit, name, group in ((1, "cardiovascular", "Maladies cardioneurovasculaires"),
                             (2, "diabetes", "Diabète")):
        model_rates = _standardised(people, (people["conditions"] & bit) > 0, "decile")
        o = prev[prev["disease_group"] == group].set_index("income_decile")["std_rate"]
        for d in range(1, 11):
            rows.append(_row(f"{name} prevalence by income decile", f"D{d}", 100 * float(o[d]),
                             100 * float(model_rates.get(d, np.nan)), "%", DREES, tol_rel=0.25))
    adults = people[(people["age"] >= 18) & (people["age"] <= 75)]
    smoker = adults["smoking"] == 1
    low = adults["education"] <= 2
    rows.append(_row("daily smoking 18-75", "no diploma or below bac", 30.8,
                     100 * smoker[low].mean(), "%", BEH, tol_abs=5))
    rows.append(_row("daily smoking 18-75", "above bac", 16.8,
                     100 * smoker[adults["education"] == 4].mean(), "%", BEH, tol_abs=5))
    rows.append(_row("daily smoking 18-75", "all", 24.5, 100 * smoker.mean(), "%", BEH))
    rows.append(_row("daily smoking 18-75", "men", 27.4, 100 * smoker[adults["sex"] == 0].mean(),
                     "%", BEH))
    rows.append(_row("daily smoking 18-75", "women", 21.7,
                     100 * smoker[adults["sex"] == 1].mean(), "%", BEH))
    rows.append(_row("daily smoking 18-75", "unemployed", 42.3,
                     100 * smoker[adults["employment"] == 2].mean(), "%", BEH))
    rows.append(_row("daily smoking 18-75", "employed", 26.1,
                     100 * smoker[adults["employment"] == 1].mean(), "%", BEH))
    eligible = people["income_rank"] < params["care.css_free_rank_max"]
    rows.append(_row("non-take-up of the free CSS", "eligible", 31.0,
                     100 * (people.loc[eligible, "insurance"] != 1).mean(), "%",
                     "DREES communique 13/12/2022", tol_abs=5))
    none = people["insurance"] == 3
    rows.append(_row("no complementary insurance", "all", 4.3, 100 * none.mean(), "%",
                     "EHIS 2019 (3.6%), EHIS-ESPS 2014 (5%)"))
    rows.append(_row("no complementary insurance", "income quintile 1", 12.0,
                     100 * none[people["quintile"] == 1].mean(), "%",
                     "DREES ER 2016, EHIS-ESPS 2014 ('more than 12%')"))
    forgone = (people["care"] & 2) > 0
    adults16 = people["age"] >= 16
    rows.append(_row("forgone care for cost 16+", "all", 3.5, 100 * forgone[adults16].mean(), "%",
                     "INSEE SRCV 2017", tol_abs=1))
    rows.append(_row("forgone care for cost 16+", "income quintile 1", 6.5,
                     100 * forgone[adults16 & (people["quintile"] == 1)].mean(), "%",
                     "INSEE SRCV 2017", tol_abs=1))
    tercile = (adults["income_rank"] * 3).astype(int)
    rows.append(_row("daily smoking 18-75", "lowest income tercile", 33.3,
                     100 * smoker[tercile == 0].mean(), "%", BEH2021))
    rows.append(_row("daily smoking 18-75", "highest income tercile", 18.0,
                     100 * smoker[tercile == 2].mean(), "%", BEH2021))
    rows.append(_row("no complementary insurance", "unemployed", 15.0,
                     100 * none[people["employment"] == 2].mean(), "%",
                     "EHIS 2019, Panorama 2019 (14-16%)"))
    a18 = people[people["age"] >= 18]
    rows.append(_row("adult obesity", "all", 17.0, 100 * a18["obese"].mean(), "%", "ObEpi 2020"))
    rows.append(_row("adult obesity", "no diploma", 24.5,
                     100 * a18.loc[a18["education"] == 0, "obese"].mean(), "%", "ObEpi 2012"))
    rows.append(_row("adult obesity", "higher education", 7.3,
                     100 * a18.loc[a18["education"] == 4, "obese"].mean(), "%", "ObEpi 2012"))
    rows.append(_row("adult obesity", "cadres", 9.9, 100 * a18.loc[a18["pcs"] == 2, "obese"].mean(),
                     "%", "ObEpi 2020"))
    rows.append(_row("adult obesity", "employes et ouvriers", 18.0,
                     100 * a18.loc[a18["pcs"].isin([4, 5]), "obese"].mean(), "%", "ObEpi 2020"))
    return pd.DataFrame(rows)


def _e35_gaps(le: pd.DataFrame) -> list[dict[str, Any]]:
    """Gaps in life expectancy at 35 by category and by diploma (INSEE, Insee Première
    1584): the reference group's e35 minus the group's, by sex."""
    obs = read_data("insee_life_expectancy_35_by_pcs_diploma_2009_2013.csv")
    obs = obs[(obs["by"] != "all") & (obs["group"] != obs["reference"])]
    e35 = le[le["age"] == 35].set_index(["sex", "by", "group"])["e"]
    rows = []
    for r in obs.itertuples():
        label = "category" if r.by == "pcs" else "diploma"
        model = (e35.get((r.sex, r.by, r.reference), np.nan)
                 - e35.get((r.sex, r.by, r.group), np.nan))
        scored = (r.by, r.group) in SCORED_E35_GAPS
        rows.append(_row(f"e35 gap by {label}", f"{r.sex} {r.reference} - {r.group}",
                         float(r.gap_to_reference), float(model), "years", INSEE_PCS,
                         tol_abs=1.0 if scored else None))
    return rows


#: Ages pooled for INSEE's mortality ratios "at 45" and "at 90" (five single years each).
RATIO_AGES = {45: (43, 47), 90: (88, 92)}


def _ouvriers_cadres(lti: pd.DataFrame) -> list[dict[str, Any]]:
    """Probability of dying between 35 and 65 of ouvriers and cadres, and the ratio of
    their death rates at 45 and 90, by sex (INSEE, Insee Première 1584), from deaths and
    person-years pooled over the years and replicates of ``lti``; reported without a
    tolerance. q(x) = m / (1 + m / 2), as in the life tables."""
    obs = read_data("insee_mortality_ouvriers_cadres_2009_2013.csv")
    sub = lti[(lti["by"] == "pcs") & lti["group"].isin(["ouvriers", "cadres"])]
    agg = sub.groupby(["sex", "group", "age"])[["deaths", "person_years"]].sum()
    rows = []
    for r in obs.itertuples():
        if r.indicator == "p_death_35_65":
            a = agg.loc[(r.sex, r.group)].reindex(range(35, 65), fill_value=0.0)
            m = a["deaths"] / a["person_years"].where(a["person_years"] > 0)
            model = 100 * (1 - float(np.prod(1 - m / (1 + m / 2))))
            rows.append(_row("probability of dying 35-65", f"{r.sex} {r.group}",
                             float(r.value), model, "%", INSEE_PCS))
        else:
            age = int(r.indicator.rsplit("_", 1)[1])
            lo, hi = RATIO_AGES[age]
            rate = {}
            for g in ("ouvriers", "cadres"):
                a = agg.loc[(r.sex, g)].reindex(range(lo, hi + 1), fill_value=0.0).sum()
                rate[g] = a["deaths"] / a["person_years"] if a["person_years"] > 0 else np.nan
            rows.append(_row(f"death rate ouvriers / cadres at {age} ({lo}-{hi})", r.sex,
                             float(r.value), float(rate["ouvriers"] / rate["cadres"]),
                             "ratio", INSEE_PCS))
    return rows


def pooled_replicate(scenario: Scenario, replicate: int,
                     progress: Callable[[int], None] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replicate for :func:`run_pooled` (the task executors run in their workers): its
    life-table input over the whole horizon, with a ``replicate`` column, and the living
    people at the end (:func:`population_frame`)."""
    model = HealthInequalityModel(scenario, replicate=replicate)
    model.run_years(progress=progress)
    lti = model.life_table_input()
    lti["replicate"] = replicate
    return lti, population_frame(model)


def run_pooled(scenario: Scenario, replicates: int = 1,
               progress: Callable[[int], None] | None = None, executor: Any = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``replicates`` replicates of ``scenario``; returns life expectancy (with HLE)
    from period tables pooled over the whole horizon and the replicates, and the living
    people of every replicate at the end. The replicates run here one after another, or on
    ``executor`` (:mod:`simulation.executor`; ``progress`` is then not called); they are
    pooled in replicate order, so the result does not depend on the executor."""
    _, le, people = _pooled(scenario, replicates, progress, executor)
    return le, people


def _pooled(scenario: Scenario, replicates: int, progress: Callable[[int], None] | None,
            executor: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The life-table input of every replicate, life expectancy (with HLE) from it, and the
    living people, in replicate order."""
    from . import metrics

    if executor is None:
        parts = [pooled_replicate(scenario, r, progress) for r in range(replicates)]
    else:
        done = dict(executor.map(pooled_replicate, [(scenario, r) for r in range(replicates)]))
        parts = [done[r] for r in range(replicates)]
    lti = pd.concat([p[0] for p in parts], ignore_index=True)
    return (lti, metrics.life_expectancy_by_stratum(lti, healthy=True),
            pd.concat([p[1] for p in parts], ignore_index=True))


def validate(scenario: Scenario, replicates: int = 1,
             progress: Callable[[int], None] | None = None,
             executor: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``scenario`` and compare it with the targets; returns (table, life expectancy).
    Life expectancies are period tables pooled over the whole horizon and the replicates
    (``window_years`` is ignored) to pool as many deaths as possible. The replicates run on
    ``executor`` if given (same results)."""
    lti, le, people = _pooled(scenario, replicates, progress, executor)
    return compare_targets(le, people, scenario.parameters, lti), le
