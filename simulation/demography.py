"""Demographic projection: migration, fertility and mortality by calendar year.

The region's population changes by births, deaths and migration. A scenario's projection
(``demography.projection``: ``central``, ``high`` or ``low``) sets

* **net migration** a year (``migration.net_per_year``, one value per projection): people
  leave the region with a yearly probability by age (``migration.out_rate`` times an age
  profile), and immigrants arrive, as many as the emigrants expected plus the net migration,
  with an age profile of their own (``migration.in_age_shares``) and the diploma shift of
  newcomers (``migration.in_education_shift``);
* **fertility** (the total fertility rate of the year): observed values for Occitanie up to
  the last observed year (``demography.tfr_observed``), then a path to the projection's
  level (``demography.tfr_projected``) by ``demography.tfr_target_year``;
* **mortality trend**: the baseline risks of death of year Y are INED's q(x) of year Y
  relative to the calibration period (``mortality.qx_first_year..qx_last_year``) for the
  observed years, then fall at the average yearly pace of 2010-2019 by age and sex
  (INSEE's central assumption: risks fall at the pace of the 2010s), times
  ``mortality.trend_pace`` of the projection (``mortality.trend_pace``: one value per
  projection).

Every draw is counter-based: who emigrates depends on (seed, year, person id) and the
immigrants of a year are the same people in every scenario of a comparison (their number
depends only on the year and the population's weight), so common random numbers hold.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .population import N_AGES, baseline_qx, read_data

PROJECTIONS = ("central", "high", "low")
#: Age bands (lower bounds) of the migration profiles.
MIGRATION_BANDS = (0, 18, 30, 45, 60, 75)
#: Immigrants' ids start here (above any id of the synthesis or of births' low range).
IMMIGRANT_ID_BASE = 1 << 60


@lru_cache(maxsize=1)
def _region_shares() -> np.ndarray:
    """The region's population shares by [sex, age] (the synthesis's age pyramid)."""
    from .population import age_sex_distribution, load_region

    return age_sex_distribution(load_region("occitanie"))


@lru_cache(maxsize=1)
def _observed_population() -> tuple[np.ndarray, np.ndarray]:
    df = read_data("occitanie_population_2012_2022.csv")
    return df["year"].to_numpy(float), df["population"].to_numpy(float)


def population_in(year: int) -> float:
    """Occitanie's population on 1 January of ``year`` (INSEE legal populations 2012-2022;
    the nearest observed year outside them)."""
    years, pop = _observed_population()
    return float(np.interp(year, years, pop))


def population_weight(first_year: int, agents: int) -> float:
    """Inhabitants each simulated person represents: the population of the year the
    population is drawn (:func:`population_in`) over the number of agents."""
    return population_in(first_year) / agents


def projection_index(params: dict[str, Any]) -> int:
    return PROJECTIONS.index(params["demography.projection"])


def _band_values(values: list[float]) -> np.ndarray:
    """A value by single age 0..N_AGES-1 from one value per :data:`MIGRATION_BANDS` band."""
    out = np.empty(N_AGES)
    edges = list(MIGRATION_BANDS) + [N_AGES]
    for k in range(len(MIGRATION_BANDS)):
        out[edges[k]:edges[k + 1]] = values[k]
    return out


def emigration_probability(params: dict[str, Any]) -> np.ndarray:
    """Yearly probability of leaving the region by [sex, age]: ``migration.out_rate`` times
    the age profile ``migration.out_age_profile`` (relative rates by band), the profile
    normalised so that the rate holds for the region's age structure."""
    prof = _band_values(params["migration.out_age_profile"])
    shares = _region_shares().sum(axis=0)
    prof = prof / float((prof * shares).sum())
    p = np.clip(params["migration.out_rate"] * prof, 0.0, 0.5)
    return np.vstack([p, p])


def immigrant_age_sex(params: dict[str, Any]) -> np.ndarray:
    """Shares of the year's immigrants by [sex, age]: ``migration.in_age_shares`` by band,
    uniform within a band (up to age 99) and between the sexes."""
    shares = np.asarray(params["migration.in_age_shares"], float)
    out = np.zeros(N_AGES)
    edges = list(MIGRATION_BANDS) + [100]
    for k in range(len(MIGRATION_BANDS)):
        lo, hi = edges[k], edges[k + 1]
        out[lo:hi] = shares[k] / (hi - lo)
    out = out / out.sum()
    return np.vstack([out, out]) / 2.0


def immigrants(params: dict[str, Any], population: float, weight: float, year: int) -> int:
    """Number of simulated immigrants in ``year``: the emigrants expected from a population
    of ``population`` inhabitants plus the projection's net migration, at the model's
    weight, rounded by a fraction that depends only on the year (the same in every scenario
    with the same weight)."""
    p_out = emigration_probability(params)
    shares = _region_shares()
    expected_out = population * float((p_out * shares).sum())
    net = float(params["migration.net_per_year"][projection_index(params)])
    total = max(expected_out + net, 0.0) / weight
    frac = total - np.floor(total)
    u = ((year * 0x9E3779B97F4A7C15) % (1 << 64)) / float(1 << 64)
    return int(np.floor(total)) + int(u < frac)


def tfr(params: dict[str, Any], year: int) -> float:
    """Total fertility rate of ``year``: observed up to the last observed year, then a linear
    path to the projection's level by ``demography.tfr_target_year``."""
    years = np.asarray(params["demography.tfr_observed_years"], float)
    values = np.asarray(params["demography.tfr_observed"], float)
    if year <= years[-1]:
        return float(np.interp(year, years, values))
    target = float(params["demography.tfr_projected"][projection_index(params)])
    end = float(params["demography.tfr_target_year"])
    if year >= end:
        return target
    w = (year - years[-1]) / (end - years[-1])
    return float(values[-1] + w * (target - values[-1]))


def mortality_trend(params: dict[str, Any], year: int) -> np.ndarray:
    """Multiplier of the calibrated baseline hazard in ``year`` by [sex, age 0..N_AGES-1]:
    INED's hazard of the year over that of the calibration period for the observed years
    (the first observed year's before them); after them, 2019's continued at the average
    yearly change of 2010-2019 times ``mortality.trend_pace``; 1 at ages beyond INED's
    table (99)."""
    out = np.ones((2, N_AGES))
    if not params["mortality.trend"]:
        return out
    q = read_data("france_mortality_qx_single_age_INED_2010_2022.csv")
    first_obs, last_obs = int(q["year"].min()), int(q["year"].max())
    ref = baseline_qx(params["mortality.qx_first_year"], params["mortality.qx_last_year"])
    h_ref = -np.log1p(-ref)
    y = min(max(year, first_obs), last_obs)
    h_y = -np.log1p(-baseline_qx(y, y))
    ratio = np.where(h_ref > 0, h_y / h_ref, 1.0)
    if year > last_obs:
        # from 2019: 2020-2022 carry the excess deaths of the epidemic, which INSEE's
        # projections do not extend (life expectancy was back above its 2019 level in 2023)
        h10 = -np.log1p(-baseline_qx(2010, 2010))
        h19 = -np.log1p(-baseline_qx(2019, 2019))
        pace = np.where((h10 > 0) & (h19 > 0), np.log(h19 / h10) / 9.0, 0.0)
        pace = np.minimum(pace, 0.0) * params["mortality.trend_pace"][projection_index(params)]
        ratio = np.where(h_ref > 0, h19 / h_ref, 1.0) * np.exp(pace * (year - 2019))
    out[:, : ratio.shape[1]] = ratio
    return out


#: Years of INSEE's Omphale 2022 department figures (central scenario).
OMPHALE_YEARS = (2018, 2050, 2070)


@lru_cache(maxsize=1)
def _omphale_departments() -> tuple[tuple[str, ...], np.ndarray]:
    df = read_data("omphale_occitanie_departments_2018_2070.csv")
    cols = [f"pop_{y}" for y in OMPHALE_YEARS]
    return tuple(df["dep_code"]), df[cols].to_numpy(float)


def department_path(codes: list[str], year: int) -> np.ndarray:
    """Population of each department (in the order of ``codes``) on 1 January of ``year``
    on INSEE's Omphale 2022 central path: linear between 2018, 2050 and 2070, held
    outside them (inhabitants)."""
    known, pops = _omphale_departments()
    rows = [known.index(c) for c in codes]
    return np.array([np.interp(year, OMPHALE_YEARS, pops[r]) for r in rows])


def department_net_shares(params: dict[str, Any], codes: list[str]) -> np.ndarray:
    """Each department's share of the region's net migration, from Omphale 2022 over
    2018-2050: its growth minus the natural change it would have at the region's rate
    (the region's growth minus ``migration.net_per_year`` of the central projection over
    the 32 years), at least 0. The simulated departments share one age structure, so the
    region's natural rate is theirs; the shares bring each department's population towards
    its Omphale path."""
    p18, p50 = department_path(codes, 2018), department_path(codes, 2050)
    net_region = float(params["migration.net_per_year"][0]) * (2050 - 2018)
    natural_rate = (p50.sum() - p18.sum() - net_region) / p18.sum()
    net = np.maximum(p50 - p18 - natural_rate * p18, 0.0)
    return net / net.sum()


def immigrant_department_shares(params: dict[str, Any], codes: list[str],
                                year: int) -> np.ndarray:
    """Shares of ``year``'s immigrants by department: those who replace the department's
    expected emigrants (``migration.out_rate`` times its Omphale population of the year)
    plus its share of the net migration (:func:`department_net_shares`). They depend only
    on the year and the parameters, so every scenario of a comparison draws the same
    immigrants into the same departments."""
    pop = department_path(codes, year)
    net = max(float(params["migration.net_per_year"][projection_index(params)]), 0.0)
    w = params["migration.out_rate"] * pop + net * department_net_shares(params, codes)
    return w / w.sum()


def sep_mortality_scale(params: dict[str, Any], year: int) -> np.ndarray:
    """Factor of the socioeconomic log relative risks of death in ``year`` by sex:
    ``exp(mortality.sep_trend * (year - middle))`` after the middle year of the calibration
    period (``mortality.qx_first_year..qx_last_year``), 1 before it and when the trend is
    0 (the default)."""
    pace = np.asarray(params["mortality.sep_trend"], float)
    middle = (params["mortality.qx_first_year"] + params["mortality.qx_last_year"]) / 2.0
    return np.exp(pace * max(year - middle, 0.0))
