"""Life-course pathways: parameter tables, initial state and the yearly processes.

The kernels live in :mod:`simulation.kernels.pathways`; this module turns the parameters
(``simulation/data/parameters.toml``) into the arrays they read, initialises the exposures,
care access, conditions and disability of the synthetic population consistently with the
same hazards, and computes the two normalisations that keep the population on the
observed averages while the pathways create the gradient:

* baseline incidence of each condition is the population-average incidence implied by
  DREES prevalence by age (ER 1243), divided by the mean relative risk of onset of the
  initial population at that sex and age;
* baseline mortality is INED's hazard divided by the mean relative risk of death of the
  initial population at that sex and age.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rng
from .interventions import PATHWAYS, empty_plan
from .kernels import pathways as kp
from .kernels import population as kpop
from .kernels.demography import G_DEPARTMENT, count_rows
from .kernels.records import state_of
from .population import CONDITIONS, N_AGES, Population, Region, read_data

#: DREES disease groups, in the order of :data:`CONDITIONS`.
DREES_GROUPS = ("Maladies cardioneurovasculaires", "Diabète", "Cancers",
                "Maladies respiratoires chroniques", "Maladies psychiatriques")
REFERENCE_DOCTOR_DENSITY = 350.0  # Occitanie, all doctors per 100,000 (INSEE 2023)


def prevalence_by_age() -> np.ndarray:
    """DREES prevalence (0-1) of each condition by single year of age, [condition, age]:
    the 5-year groups of ER 1243 (2016-2017) interpolated at single ages."""
    df = read_data("drees_chronic_disease_prevalence_by_age.csv").set_index("disease_group")
    mids = np.arange(20) * 5 + 2.0
    out = np.zeros((len(CONDITIONS), N_AGES))
    for k, g in enumerate(DREES_GROUPS):
        out[k] = np.interp(np.arange(N_AGES), mids, df.loc[g].to_numpy(float))
    return out


def population_incidence(params: dict[str, Any], h_death: np.ndarray) -> np.ndarray:
    """Population-average annual incidence by [condition, age] implied by prevalence:
    ``i = (dP/da + remission P + (RR_death - 1) mu P (1 - P)) / (1 - P)`` with mu the
    baseline death rate (mean of the sexes), floored at 1% of the prevalence so that
    declining childhood prevalences still allow some onset; times
    ``disease.incidence_scale``."""
    p = prevalence_by_age()
    mu = h_death.mean(axis=0)
    dp = np.gradient(p, axis=1)
    rem = np.zeros(len(CONDITIONS))
    rem[kp.CANCER] = params["disease.p_cancer_remission"]
    rr = np.asarray(params["disease.rr_death"])
    inc = (dp + rem[:, None] * p + (rr[:, None] - 1) * mu[None, :] * p * (1 - p)) / (1 - p)
    inc = np.maximum(inc, 0.01 * p)
    return inc * np.asarray(params["disease.incidence_scale"])[:, None]


def income_log_gradient(ratio_bottom_top: float) -> np.ndarray:
    """Relative risk by income rank bin (1000 bins), log-linear in the log standard of
    living (interpolated between the vingtile means of INSEE, Insee Première 1687), equal
    to ``ratio_bottom_top`` at the mean of vingtile 1 relative to vingtile 20."""
    le = read_data("insee_life_expectancy_by_income_vingtile_2012_2016.csv")
    inc = le[(le["sex"] == "H") & (le["vingtile"] > 0)].sort_values("vingtile")
    mids = (inc["vingtile"].to_numpy() - 0.5) / 20
    log_y = np.log(inc["mean_monthly_niveau_de_vie_eur"].to_numpy(float))
    ranks = (np.arange(1000) + 0.5) / 1000
    ly = np.interp(ranks, mids, log_y)
    beta = math.log(ratio_bottom_top) / (log_y[0] - log_y[-1]) if ratio_bottom_top > 0 else 0.0
    return np.exp(beta * (ly - ly.mean()))


def residual_mortality_gradient(p: dict[str, Any], n_bins: int = 100) -> np.ndarray:
    """Residual relative risk of death by [sex, age, income rank bin]: the log-linear
    gradient of :func:`income_log_gradient` (``mortality.rr_income_residual``), its log
    scaled by 1 up to age 40, then linearly down to ``mortality.income_gradient_at_90`` at
    90 and beyond (relative inequalities in mortality narrow with age)."""
    ages = np.arange(N_AGES)
    out = np.empty((2, N_AGES, n_bins))
    for s in range(2):
        log_rr = np.log(income_log_gradient(p["mortality.rr_income_residual"][s]))
        log_rr = log_rr.reshape(n_bins, -1).mean(axis=1)
        f90 = p["mortality.income_gradient_at_90"][s]
        f = np.clip(1.0 + (f90 - 1.0) * (ages - 40) / 50.0, min(f90, 1.0), max(f90, 1.0))
        out[s] = np.exp(f[:, None] * log_rr[None, :])
    return out


#: Ages over which the excess mortality of ouvriers and of people without diploma applies:
#: in full from ``SEP_RR_FULL[0]`` to ``SEP_RR_FULL[1]``, its log then falling linearly to
#: 0 at ``SEP_RR_END`` (assumption: INSEE finds the ouvrier/cadre mortality ratio at 2.5
#: at 45 and 1.4 at 90, Insee Premiere 1584; before working age a child's eventual
#: category and diploma carry no risk of their own).
SEP_RR_FULL = (18, 65)
SEP_RR_END = 95


def sep_mortality_rr(p: dict[str, Any]) -> np.ndarray:
    """Relative risk of death by [sex, age, :func:`kernels.pathways.sep_group`]: 1, the
    relative risk of people without diploma (``mortality.rr_no_diploma``), of ouvriers
    (``mortality.rr_manual_occupation``), and of both (the product), each at the age
    profile of :data:`SEP_RR_FULL`."""
    ages = np.arange(N_AGES, dtype=float)
    lo, hi = SEP_RR_FULL
    f = np.where(ages < lo, 0.0, np.clip((SEP_RR_END - ages) / (SEP_RR_END - hi), 0.0, 1.0))
    out = np.ones((2, N_AGES, 4))
    for s in range(2):
        log_o = math.log(p["mortality.rr_manual_occupation"][s])
        log_d = math.log(p["mortality.rr_no_diploma"][s])
        out[s, :, 1] = np.exp(f * log_d)
        out[s, :, 2] = np.exp(f * log_o)
        out[s, :, 3] = np.exp(f * (log_o + log_d))
    return out


def initiation_rr_education(p: dict[str, Any]) -> np.ndarray:
    """Relative risk of starting to smoke by [sex, diploma]: men's
    ``smoking.initiation_rr_education``, women's the same to the power
    ``smoking.education_gradient_share_women``."""
    rr = np.asarray(p["smoking.initiation_rr_education"], float)
    return np.vstack([rr, rr ** p["smoking.education_gradient_share_women"]])


#: Age from which the constant part of the onset of activity limitation applies (the
#: surveys of limitation, SRCV and EHIS, start at 16).
DISABILITY_BASE_FROM_AGE = 16


def disability_onset(p: dict[str, Any]) -> np.ndarray:
    """Hazard of activity limitation without condition at median income, by [sex, age]:
    ``disability.p_onset_base`` from age 16 plus ``disability.p_onset`` at 40 growing by
    ``disability.log_rate_per_year_of_age`` a year (capped at 2)."""
    ages = np.arange(N_AGES, dtype=float)
    out = np.empty((2, N_AGES))
    for s in range(2):
        out[s] = (p["disability.p_onset_base"][s] * (ages >= DISABILITY_BASE_FROM_AGE)
                  + p["disability.p_onset"][s]
                  * np.exp(p["disability.log_rate_per_year_of_age"] * (ages - 40.0)))
    return np.minimum(out, 2.0)


def former_excess(p: dict[str, Any], years: np.ndarray, age_band: int) -> np.ndarray:
    """Share of a current smoker's excess risk (RR - 1) that a former smoker keeps, ``years``
    after quitting at an age in ``age_band`` (0: before 40, 1: 40-49, 2: 50-59, 3: 60+):
    ``floor + (1 - floor) * exp(-years / smoking.former_excess_decay_years)`` with
    ``floor = smoking.former_excess_floor[age_band]``."""
    floor = float(p["smoking.former_excess_floor"][age_band])
    return floor + (1.0 - floor) * np.exp(-np.asarray(years, float)
                                          / p["smoking.former_excess_decay_years"])


def former_class_table(p: dict[str, Any], max_years: int = 60) -> np.ndarray:
    """Former smokers' class in the risk tables by [years since quitting (0..max_years, the
    last for all later years), age band at quitting]: class k keeps about
    ``1 - (k + 0.5) / FORMER_CLASSES`` of the excess risk (:func:`former_excess`, rounded to
    the nearest class)."""
    k = kp.FORMER_CLASSES
    out = np.empty((max_years + 1, 4), dtype=np.uint8)
    t = np.arange(max_years + 1)
    for band in range(4):
        keep = former_excess(p, t, band)
        out[:, band] = np.clip(np.floor((1.0 - keep) * k), 0, k - 1).astype(np.uint8)
    return out


def former_class_excess() -> np.ndarray:
    """The share of the excess risk kept by each former-smoker class (see
    :func:`former_class_table`)."""
    k = kp.FORMER_CLASSES
    return 1.0 - (np.arange(k) + 0.5) / k


def smoking_rr(rr_current: float) -> np.ndarray:
    """Relative risk by smoking class (never, current, then the former classes)."""
    return np.concatenate([[1.0, rr_current], 1.0 + former_class_excess() * (rr_current - 1.0)])


def smoking_rules(p: dict[str, Any]) -> np.ndarray:
    """The exposure kernel's smoking rules: youngest age of quitting, yearly probability
    of relapse in the first years, number of those years."""
    return np.array([p["smoking.quit_min_age"], p["smoking.p_relapse"],
                     p["smoking.relapse_years"]], dtype=np.float64)


def quit_probability(p: dict[str, Any]) -> float:
    """Yearly probability that a daily smoker (reference diploma, employed) quits for at
    least a year: a quit attempt, then its success."""
    return float(p["smoking.p_quit_attempt"] * p["smoking.p_attempt_success"])


def onset_rr_table(p: dict[str, Any]) -> np.ndarray:
    """Relative risk of onset by [condition, exposure combination, income rank bin].

    Combination ``smoking class * 8 + obese * 4 + stress * 2 + nuisance`` (smoking class 0
    never, 1 current, 2.. former smokers keeping a share of the current smoker's excess
    risk that falls with the years since quitting, :func:`former_class_table`). Each exposure's
    excess risk ``RR - 1`` is scaled by the differential vulnerability
    ``v = 1 + d (1 - 2 rank)``; the residual income gradient
    ``1 + (R - 1)(1 - rank)`` multiplies the product. Ranks at the bin midpoints.
    """
    nb = kp.N_RANK_BINS_ONSET
    rank = (np.arange(nb) + 0.5) / nb
    v = 1.0 + p["vulnerability.differential"] * (1.0 - 2.0 * rank)
    names = ("disease.rr_smoking", "disease.rr_obesity", "disease.rr_stress",
             "disease.rr_environment")
    rr = {n: np.asarray(p[n], float) for n in names}
    out = np.ones((len(CONDITIONS), kp.SMOKING_CLASSES * 8, nb))
    for k in range(len(CONDITIONS)):
        resid = _gradient(p["disease.rr_income_residual"][k], rank)
        rs_class = smoking_rr(rr["disease.rr_smoking"][k])
        for smk in range(kp.SMOKING_CLASSES):
            for ob in range(2):
                for st in range(2):
                    for nu in range(2):
                        f = np.ones(nb)
                        if smk:
                            f *= 1 + v * (rs_class[smk] - 1)
                        if ob:
                            f *= 1 + v * (rr["disease.rr_obesity"][k] - 1)
                        if st:
                            f *= 1 + v * (rr["disease.rr_stress"][k] - 1)
                        if nu:
                            f *= 1 + v * (rr["disease.rr_environment"][k] - 1)
                        out[k, smk * 8 + ob * 4 + st * 2 + nu] = np.maximum(f, 0.0) * resid
    return out


def death_rr_table(p: dict[str, Any]) -> np.ndarray:
    """Relative risk of death by combination
    ``((conditions * 2 + poor access) * SMOKING_CLASSES + smoking class) * 2 + disability``
    (conditions as the 5-bit mask): for each condition ``1 + (RR_c - 1) * (case-fatality
    factor if poor access)``, times smoking (current RR; former smokers keep a share of the
    excess that falls with the years since quitting) and disability."""
    rr_c = np.asarray(p["disease.rr_death"], float)
    cf = p["care.case_fatality_rr_poor_access"]
    n_smk = kp.SMOKING_CLASSES
    rs_class = smoking_rr(p["disease.rr_death_smoking"])
    out = np.ones(32 * 2 * n_smk * 2)
    for cond in range(32):
        for poor in range(2):
            base = 1.0
            for k in range(len(CONDITIONS)):
                if cond >> k & 1:
                    base *= 1 + (rr_c[k] - 1) * (cf if poor else 1.0)
            for smk in range(n_smk):
                f = base * rs_class[smk]
                for dis in range(2):
                    idx = ((cond * 2 + poor) * n_smk + smk) * 2 + dis
                    out[idx] = f * (p["disease.rr_death_disability"] if dis else 1.0)
    return out


def no_gp_probability(p: dict[str, Any], doctors_per_100k: np.ndarray | float) -> np.ndarray:
    """Yearly probability of having no registered GP by [priority zone flag, department]
    for departments of the given doctor density (all doctors per 100,000):
    ``care.p_no_gp`` at the region's density, with elasticity
    ``care.no_gp_density_elasticity`` to the density's shortfall; twice as high in the
    priority zones (assumption), at most 0.9."""
    rel = REFERENCE_DOCTOR_DENSITY / np.asarray(doctors_per_100k, float)
    no_gp = np.clip(p["care.p_no_gp"] * rel ** p["care.no_gp_density_elasticity"], 0, 0.9)
    return np.vstack([np.atleast_1d(no_gp), np.atleast_1d(np.clip(2.0 * no_gp, 0, 0.9))])


@dataclass
class PathwayTables:
    """Arrays read by the pathway kernels, built once from the parameters."""

    params: dict[str, Any]
    p_no_gp: np.ndarray  # [priority zone flag, department]
    priority_share: np.ndarray  # [department]
    rr_death_income: np.ndarray  # [sex, age, rank bin]
    rr_death_sep: np.ndarray  # [sex, age, kp.sep_group]
    dis_onset: np.ndarray  # [sex, age]
    leave_age: np.ndarray
    onset_rr: np.ndarray  # [condition, exposure combination, rank bin]
    death_cond_rr: np.ndarray  # [(conditions, poor access, smoking, disability) combination]
    former_class: np.ndarray  # [years since quitting, age band at quitting] -> class
    death_norm: np.ndarray | None = None  # [sex, age]
    start_renorm: np.ndarray | None = None  # [burn-in year .. start year, sex, age]
    inc_base: np.ndarray | None = None  # [condition, sex, age]
    mean_onset_rr: np.ndarray | None = None  # [condition, sex, age], baseline at start
    interventions: np.ndarray | None = None  # this year's kernel array (interventions.py)
    equalise: np.ndarray | None = None  # counterfactual flags by PATHWAYS

    @classmethod
    def build(cls, params: dict[str, Any], region: Region) -> PathwayTables:
        p = params
        rel = REFERENCE_DOCTOR_DENSITY / region.doctors_per_100k
        # priority zones: drawn in proportion to each department's doctor shortfall
        shortfall = np.clip(1.0 - 1.0 / rel, 0.0, None) + 0.05
        w = shortfall * region.population
        share = np.clip(p["care.priority_zone_share"] * region.total * shortfall / w.sum(), 0, 0.9)
        p_no_gp = no_gp_probability(p, region.doctors_per_100k)
        dis_onset = disability_onset(p)
        rr_inc = residual_mortality_gradient(p)
        return cls(params=p, p_no_gp=p_no_gp, priority_share=share, rr_death_income=rr_inc,
                   rr_death_sep=sep_mortality_rr(p),
                   interventions=empty_plan(len(region.codes)),
                   equalise=np.zeros(len(PATHWAYS), dtype=np.uint8),
                   onset_rr=onset_rr_table(p), death_cond_rr=death_rr_table(p),
                   former_class=former_class_table(p),
                   dis_onset=dis_onset,
                   leave_age=np.asarray(p["employment.school_leaving_age"], dtype=np.uint8))

    # -- the kernels' parameter records ---------------------------------------------
    def death_args(self) -> tuple:
        return (self.death_cond_rr, self.rr_death_income, self.rr_death_sep)

    def sep_params(self) -> kp.SepParams:
        """The parameters of :func:`kernels.pathways.sep_step`."""
        p = self.params
        ge, gi = p["pcs.latent_corr_education"], np.asarray(p["pcs.latent_corr_income"], float)
        return kp.SepParams(
            leave_age=self.leave_age, retire_age=np.uint8(p["employment.retirement_age"]),
            p_loss=p["employment.p_job_loss"],
            loss_rr_edu=np.asarray(p["employment.job_loss_rr_education"], float),
            loss_income_slope=p["employment.unemployment_income_slope"],
            p_find=p["employment.p_job_finding"], mobility_sd=p["income.mobility_sd"],
            w_parents=p["income.entry_weight_parents"], w_status=p["income.entry_weight_status"],
            corr_status_income=gi + ge * p["education.latent_corr_income"])

    def exposure_params(self) -> kp.ExposureParams:
        """The parameters of :func:`kernels.pathways.exposures_step`."""
        p = self.params
        return kp.ExposureParams(
            p_init=np.asarray(p["smoking.p_initiation"], float),
            init_rr_edu=initiation_rr_education(p),
            init_rr_income=p["smoking.initiation_rr_income"], p_quit=quit_probability(p),
            quit_rr_edu=np.asarray(p["smoking.cessation_rr_education"], float),
            quit_rr_unemployed=p["smoking.cessation_rr_unemployed"],
            p_obese_child=p["obesity.p_incidence_child"],
            child_rr_parents=np.asarray(p["obesity.child_rr_parents_pcs"], float),
            p_obese_adult=p["obesity.p_incidence_adult"],
            adult_rr_edu=np.asarray(p["obesity.adult_rr_education"], float),
            adult_rr_income=p["obesity.adult_rr_income"],
            p_obese_remission=p["obesity.p_remission"], p_stress=p["stress.p_stress"],
            stress_rr_unemployed=p["stress.rr_unemployed"],
            stress_rr_income=p["stress.rr_income"], load_decay=p["load.decay"],
            load_weights=np.asarray(p["load.weights"], float),
            sensitive_multiplier=p["load.sensitive_period_multiplier"],
            smoking_rules=smoking_rules(p))

    def care_params(self) -> kp.CareParams:
        """The parameters of :func:`kernels.pathways.care_step`."""
        p = self.params
        return kp.CareParams(
            css_free_max=p["care.css_free_rank_max"],
            css_contrib_max=p["care.css_contributory_rank_max"],
            ntu_free=p["care.non_take_up_free"], ntu_contrib=p["care.non_take_up_contributory"],
            p_none_eligible=p["care.p_no_insurance_eligible_non_taker"],
            p_none_other=p["care.p_no_insurance_other"],
            none_rr_unemployed=p["care.no_insurance_rr_unemployed"], p_no_gp_dept=self.p_no_gp,
            p_forgone=p["care.p_forgone"], forgone_rr_none=p["care.forgone_rr_no_insurance"],
            forgone_rr_income=p["care.forgone_rr_income"],
            forgone_rr_no_gp=p["care.forgone_rr_no_gp"])

    def disease_params(self) -> kp.DiseaseParams:
        """The parameters of :func:`kernels.pathways.disease_step` (once the normalisations
        ``inc_base`` and ``death_norm`` are set)."""
        p = self.params
        return kp.DiseaseParams(
            inc_base=self.inc_base.reshape(len(CONDITIONS), 2 * N_AGES),
            onset_rr=self.onset_rr, load_log_rr=p["load.log_rr_per_unit"],
            p_cancer_remission=p["disease.p_cancer_remission"], dis_onset=self.dis_onset,
            dis_rr_condition=p["disability.rr_condition"] ** np.arange(kp.N_CONDITIONS + 1.0),
            dis_rr_income=p["disability.rr_income"],
            dis_progression_rr=p["care.progression_rr_poor_access"],
            p_dis_recovery=p["disability.p_recovery"], death_cond_rr=self.death_cond_rr,
            rr_death_income=self.rr_death_income, rr_death_sep=self.rr_death_sep,
            death_norm=self.death_norm, former_class=self.former_class)

    def iv(self, pop: Population) -> np.ndarray:
        """This year's intervention array (zeros: no intervention)."""
        return self.interventions

    def eq(self) -> np.ndarray:
        """Counterfactual flags by :data:`PATHWAYS` (zeros: baseline)."""
        return self.equalise


def _gradient(rr_bottom: float, rank: np.ndarray) -> np.ndarray:
    return 1.0 + (rr_bottom - 1.0) * (1.0 - rank)


def _band_mean(values: np.ndarray, sex: np.ndarray, age: np.ndarray, width: int = 5) -> np.ndarray:
    """Mean of ``values`` by [sex, age], pooled over ``width``-year bands (ages with no one
    take the nearest band's value)."""
    band = age // width
    nb = N_AGES // width + 1
    out = np.ones((2, N_AGES))
    for s in range(2):
        m = sex == s
        tot = np.bincount(band[m], weights=values[m], minlength=nb)
        cnt = np.bincount(band[m], minlength=nb)
        mean = np.divide(tot, cnt, out=np.full(nb, np.nan), where=cnt > 0)
        ok = np.flatnonzero(~np.isnan(mean))
        mean = np.interp(np.arange(nb), ok, mean[ok]) if ok.size else np.ones(nb)
        out[s] = mean[np.arange(N_AGES) // width]
    return out


def death_normaliser(rr: np.ndarray, sex: np.ndarray, age: np.ndarray, h0: np.ndarray,
                      alive: np.ndarray, width: int = 5) -> np.ndarray:
    """Normaliser c by [sex, age] (constant over ``width``-year bands) such that the expected
    deaths with individual hazards ``h0 * c * rr`` equal those with ``h0`` for everyone:
    ``sum(1 - exp(-h0 c rr)) = sum(1 - exp(-h0))`` in each band. Matching deaths rather
    than the mean relative risk matters at old ages, where the relative risks of the
    multimorbid saturate the probability of dying.

    Solved by Newton's method for all bands at once (one pass over people an iteration):
    the expected deaths are increasing and concave in c, so the iterates converge
    monotonically once below the root."""
    nb = N_AGES // width + 1
    sex = np.ascontiguousarray(sex, dtype=np.uint8)
    age = np.ascontiguousarray(age, dtype=np.uint8)
    alive = np.ascontiguousarray(alive, dtype=np.uint8)
    rr = np.ascontiguousarray(rr, dtype=np.float64)
    h0 = np.ascontiguousarray(h0, dtype=np.float64)
    target, f, df = np.zeros((2, nb)), np.zeros((2, nb)), np.zeros((2, nb))
    kpop.band_expected_deaths(np.ones_like(rr), sex, age, alive, h0, np.ones((2, nb)), width,
                              target, df)
    counted = target > 0
    c = np.ones((2, nb))
    for _ in range(100):
        kpop.band_expected_deaths(rr, sex, age, alive, h0, c, width, f, df)
        step = np.divide(f - target, df, out=np.zeros_like(c), where=counted & (df > 0))
        new = np.clip(c - step, 1e-3, 1e3)
        done = np.all(np.abs(new - c) <= 1e-12 * new)
        c = new
        if done:
            break
    out = np.ones((2, N_AGES))
    bands = np.arange(N_AGES) // width
    for s in range(2):
        seen = np.flatnonzero(counted[s])
        if not seen.size:
            continue
        # bands with nobody in them take the nearest band's value
        idx = np.searchsorted(seen, bands).clip(0, seen.size - 1)
        out[s] = np.where(counted[s, bands], c[s, bands], c[s, seen[idx]])
    return out


def _cumulative_prevalence(onset: np.ndarray, mult: np.ndarray, recovery: float,
                           age: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """Prevalence at ``age`` of a state entered with hazard ``mult * onset[x]`` at each
    past age x and left with probability ``recovery`` a year (yearly recursion on a grid of
    multipliers spanning ``bounds``, interpolated in log)."""
    grid = np.geomspace(max(bounds[0], 1e-3), max(bounds[1], 1e-3) * 1.0001, 48)
    table = np.zeros((grid.size, N_AGES))
    prev = np.zeros(grid.size)
    for x in range(N_AGES):
        table[:, x] = prev
        prev = prev + (1 - prev) * (1 - np.exp(-grid * onset[x])) - prev * recovery
    pos = np.interp(np.log(np.maximum(mult, grid[0])), np.log(grid), np.arange(grid.size))
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, grid.size - 1)
    w = pos - lo
    return (1 - w) * table[lo, age] + w * table[hi, age]


def initialise(pop: Population, tables: PathwayTables, h_death: np.ndarray, seed: int,
               year: int, equalise: np.ndarray | None = None) -> None:
    """Exposures, care access, conditions and disability of the synthetic population, drawn
    from the same hazards as the yearly processes (see the module docstring), and the
    incidence and mortality normalisations.

    The normalisations always come from the baseline population: with a counterfactual
    (``equalise``, flags by :data:`simulation.interventions.PATHWAYS`) the state is first
    drawn as in the baseline to compute them, then drawn again with the equalised
    pathways, so that the counterfactual's lower risks are not normalised away.
    """
    eq = np.zeros(len(PATHWAYS), dtype=np.uint8) if equalise is None else equalise
    _draw_state(pop, tables, h_death, seed, year, np.zeros_like(eq), normalise=True)
    if eq.any():
        _draw_state(pop, tables, h_death, seed, year, eq, normalise=False)


def initialise_newcomers(pop: Population, tables: PathwayTables, h_death: np.ndarray,
                         seed: int, year: int, equalise: np.ndarray | None = None) -> None:
    """The state of people who join the population (immigrants), drawn as at the start but
    with the model's own normalisations (which are left unchanged)."""
    eq = np.zeros(len(PATHWAYS), dtype=np.uint8) if equalise is None else equalise
    plan = tables.interventions  # newcomers arrive as they were: interventions act next year
    tables.interventions = np.zeros_like(plan)
    try:
        _draw_state(pop, tables, h_death, seed, year, eq, normalise=False)
    finally:
        tables.interventions = plan


#: People drawn at a time when initialising the state (bounds the temporaries).
INIT_BLOCK = 1 << 20


def _draw_state(pop: Population, tables: PathwayTables, h_death: np.ndarray, seed: int,
                year: int, eq: np.ndarray, normalise: bool) -> None:
    p = tables.params
    n = pop.n
    a = pop.arrays()
    # the only population-wide quantities: the mean gradient of nuisance (below), the band
    # means of the onset risks and the death normaliser
    nuisance_grad_mean = float(_gradient(p["environment.nuisance_rr_income"],
                                         a["income_rank"].astype(float)).mean())
    cum_h = np.concatenate([np.zeros((2, 1)), np.cumsum(
        np.where(np.arange(N_AGES) >= 35, h_death, 0.0), axis=1)[:, :-1]], axis=1)
    for lo in range(0, n, INIT_BLOCK):
        _draw_exposures(a, slice(lo, min(n, lo + INIT_BLOCK)), p, tables, cum_h,
                        nuisance_grad_mean, seed, year, eq)
    run_care(pop, tables, seed, year - 1, equalise=eq)
    # conditions: DREES prevalence by age, shared out by each person's relative risk
    rr = np.zeros((len(CONDITIONS), n))
    kp.condition_rr_all(state_of(pop), n, tables.onset_rr, p["load.log_rr_per_unit"],
                        tables.former_class, eq, rr)
    if normalise:
        inc_pop = population_incidence(p, h_death)
        tables.inc_base = np.zeros((len(CONDITIONS), 2, N_AGES))
        tables.mean_onset_rr = np.zeros((len(CONDITIONS), 2, N_AGES))
        for k in range(len(CONDITIONS)):
            tables.mean_onset_rr[k] = _band_mean(rr[k], a["sex"], a["age"])
            tables.inc_base[k] = inc_pop[k][None, :] / tables.mean_onset_rr[k]
    prev = prevalence_by_age()
    for lo in range(0, n, INIT_BLOCK):
        _draw_conditions(a, slice(lo, min(n, lo + INIT_BLOCK)), rr, prev, p, tables, seed,
                         year)
    del rr
    # mortality normalisation: mean relative risk 1 at each sex and age (baseline state)
    raw = np.zeros(n)
    kp.death_rr_all(state_of(pop), n, *tables.death_args(), tables.former_class, eq, raw)
    if normalise:
        # normalise on the risks after one pass of the yearly disease process (a dry run on
        # copies), so that the first simulated year already has INED's mortality: the
        # process immediately moves the prevalences drawn from DREES towards its own
        # balance (e.g. cancer remission)
        saved = {k: a[k].copy() for k in ("conditions", "disability")}
        tables.death_norm = np.ones((2, N_AGES))
        n_groups = G_DEPARTMENT + len(tables.p_no_gp[0])
        run_disease(pop, tables, seed, year - 1, n_groups, 16_384)
        tables.death_norm = death_normaliser(a["rr_death"], a["sex"], a["age"], h_death,
                                              a["alive"])
        for k, v in saved.items():
            a[k][:] = v
    for lo in range(0, n, INIT_BLOCK):
        b = slice(lo, min(n, lo + INIT_BLOCK))
        a["rr_death"][b] = (raw[b] * tables.death_norm[a["sex"][b], a["age"][b]]).astype(
            np.float32)


def _initial_draws(seed: int, year: int, j: int, pid: np.ndarray) -> np.ndarray:
    """Uniform draws of the initial state's ``j``-th use (0-3 exposures and zones,
    4 disability), one per person id."""
    return rng.uniforms(rng.key(seed, "synthesis_exposures", year * 16 + j), pid)


def _draw_exposures(a: dict[str, np.ndarray], rows: slice, p: dict[str, Any],
                    tables: PathwayTables, cum_h: np.ndarray, nuisance_grad_mean: float,
                    seed: int, year: int, eq: np.ndarray) -> None:
    """Smoking, obesity, nuisance, the load and priority zones of the people in ``rows``."""
    pid = a["pid"][rows]
    n = pid.shape[0]
    sex = a["sex"][rows].astype(np.int64)
    age = a["age"][rows].astype(np.int64)
    edu = a["education"][rows].astype(np.int64)
    r = a["income_rank"][rows].astype(float)
    unemployed = a["employment"][rows] == kp.UNEMPLOYED

    def ref(flag: int, rank: np.ndarray, diploma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if eq[flag]:
            return np.full_like(rank, kp.REF_RANK), np.full_like(diploma, kp.REF_EDUCATION)
        return rank, diploma

    def draws(j: int) -> np.ndarray:
        return _initial_draws(seed, year, j, pid)

    # smoking: ever started by ages 12-25, still smoking after quitting hazards from 26
    rs, es = ref(kp.EQ_SMOKING, r, edu)
    un_s = unemployed & (eq[kp.EQ_SMOKING] == 0)
    p_init = (np.asarray(p["smoking.p_initiation"])[sex]
              * initiation_rr_education(p)[sex, es]
              * _gradient(p["smoking.initiation_rr_income"], rs))
    # ages already lived before the first simulated year: initiation at 12-25, quitting
    # from smoking.quit_min_age (net of relapse)
    years_init = np.clip(np.minimum(age, 26) - 12, 0, None)
    p_ever = 1 - (1 - np.minimum(p_init, 1)) ** years_init
    q = (quit_probability(p) * (1.0 - p["smoking.p_relapse"]) ** p["smoking.relapse_years"]
         * np.asarray(p["smoking.cessation_rr_education"])[es])
    q = np.where(un_s, q * p["smoking.cessation_rr_unemployed"], q)
    quit_from = int(p["smoking.quit_min_age"])
    p_still = (1 - q) ** np.clip(age - quit_from, 0, None)
    # smokers die sooner: weight the states by their survival from 35 (relative risk of
    # death about 2 for current and 1.4 for former smokers, all causes, assumption in line
    # with disease.rr_death_smoking and the smoking-related conditions)
    hc = cum_h[sex, age]
    p_cur = p_ever * p_still * np.exp(-1.0 * hc)
    p_for = p_ever * (1 - p_still) * np.exp(-0.4 * hc)
    total = p_cur + p_for + (1 - p_ever)
    u = draws(0) * total
    smoking = np.where(u < p_cur, 1, np.where(u < p_cur + p_for, 2, 0))
    # former smokers: years since quitting uniform over the years they could have quit
    since = np.floor(draws(7) * np.clip(age - quit_from + 1, 1, None)).astype(np.int64)
    smoking = np.where(smoking == 2, kp.FORMER_SMOKER + np.minimum(since, kp.SMOKING_T_MAX),
                       smoking)
    a["smoking"][rows] = smoking
    # obesity: childhood then adult onset, with remission
    ro, eo = ref(kp.EQ_OBESITY, r, edu)
    parents = (np.full(n, kp.REF_PARENT_PCS) if eq[kp.EQ_OBESITY]
               else a["parent_pcs"][rows].astype(np.int64))
    hc = p["obesity.p_incidence_child"] * np.asarray(p["obesity.child_rr_parents_pcs"])[parents]
    ha = (p["obesity.p_incidence_adult"] * np.asarray(p["obesity.adult_rr_education"])[eo]
          * _gradient(p["obesity.adult_rr_income"], ro))
    m = p["obesity.p_remission"]
    child_years = np.minimum(age, 18)
    p18 = hc / (hc + m) * (1 - np.exp(-(hc + m) * child_years))
    eqm = ha / (ha + m)
    p_ob = np.where(age < 18, p18,
                    eqm + (p18 - eqm) * np.exp(-(ha + m) * np.clip(age - 18, 0, None)))
    obese = draws(1) < p_ob
    a["obese"][rows] = obese
    # environmental nuisance of the home (differential exposure), fixed
    rn, _ = ref(kp.EQ_ENVIRONMENT, r, edu)
    nuisance = draws(2) < (p["environment.p_nuisance"]
                           * _gradient(p["environment.nuisance_rr_income"], rn)
                           / nuisance_grad_mean)
    a["nuisance"][rows] = nuisance
    # stress: expected value for the load; drawn each year by the exposure process
    rst, _ = ref(kp.EQ_STRESS, r, edu)
    un_st = unemployed & (eq[kp.EQ_STRESS] == 0)
    e_stress = np.where(age >= 16, p["stress.p_stress"] * _gradient(p["stress.rr_income"], rst)
                        * np.where(un_st, p["stress.rr_unemployed"], 1.0), 0.0)
    w = np.asarray(p["load.weights"])
    add = (w[0] * (smoking == 1) + w[1] * a["obese"][rows] + w[2] * a["nuisance"][rows]
           + w[3] * e_stress)
    d = p["load.decay"]
    a["load"][rows] = (add * (1 - (1 - d) ** age) / d).astype(np.float32)
    # priority zones for access to care (fixed); insurance and GP come from the care process
    a["care"][rows] = np.where(draws(3) < tables.priority_share[a["department"][rows]],
                               kp.CARE_PRIORITY, 0)


def _draw_conditions(a: dict[str, np.ndarray], rows: slice, rr: np.ndarray, prev: np.ndarray,
                     p: dict[str, Any], tables: PathwayTables, seed: int, year: int) -> None:
    """Conditions (DREES prevalence by age shared out by relative risk ``rr``) and
    disability of the people in ``rows``."""
    pid = a["pid"][rows]
    n = pid.shape[0]
    sex = a["sex"][rows].astype(np.int64)
    age = a["age"][rows].astype(np.int64)
    r = a["income_rank"][rows].astype(float)
    cond = np.zeros(n, dtype=np.uint8)
    for k in range(len(CONDITIONS)):
        pk = np.minimum(prev[k, age] * rr[k, rows] / tables.mean_onset_rr[k][sex, age], 0.95)
        cond |= np.where(rng.uniforms(rng.key(seed, "synthesis_conditions", year * 8 + k), pid)
                         < pk, np.uint8(1 << k), np.uint8(0))
    a["conditions"][rows] = cond
    # disability: onset and recovery over the life so far at the person's current multiplier
    n_cond = np.zeros(n)
    for k in range(len(CONDITIONS)):
        n_cond += (cond >> k) & 1
    rr_c = p["disability.rr_condition"]
    mult = rr_c ** n_cond * _gradient(p["disability.rr_income"], r)
    # the multipliers' range over anyone (0 to all conditions, any rank): the same grid
    # for every block of people
    ends = [rr_c ** k * g for k in (0, len(CONDITIONS))
            for g in (_gradient(p["disability.rr_income"], np.array([0.0, 1.0])))]
    prevalence = np.zeros(n)
    for s in range(2):
        m = sex == s
        prevalence[m] = _cumulative_prevalence(
            tables.dis_onset[s], mult[m], p["disability.p_recovery"], age[m],
            (float(np.min(ends)), float(np.max(ends))))
    a["disability"][rows] = _initial_draws(seed, year, 4, pid) < prevalence


def chunking(n: int, min_chunk: int = 16_384) -> tuple[int, int]:
    """Chunk size and count for ``n`` people (results never depend on it)."""
    chunk = max(min_chunk, -(-n // 256))
    return chunk, max(1, -(-n // chunk))


def run_sep(pop: Population, tables: PathwayTables, seed: int, year: int,
            n_groups: int, min_chunk: int) -> np.ndarray:
    """The socioeconomic-position process; returns the vingtile moves [group, sex, age]."""
    chunk, n_chunks = chunking(pop.n, min_chunk)
    moves = np.zeros((count_rows(), n_groups * 2 * N_AGES), dtype=np.int32)
    kp.sep_step(state_of(pop), tables.sep_params(), pop.n, chunk, rng.key(seed, "sep", year),
                N_AGES, moves)
    return moves.sum(axis=0, dtype=np.int64).reshape(n_groups, 2, N_AGES)


def run_exposures(pop: Population, tables: PathwayTables, seed: int, year: int,
                  min_chunk: int) -> None:
    """The exposure process (smoking, obesity, stress, load)."""
    chunk, _ = chunking(pop.n, min_chunk)
    kp.exposures_step(state_of(pop), tables.exposure_params(), pop.n, chunk,
                      rng.key(seed, "exposures", year), tables.iv(pop), tables.eq())


def run_care(pop: Population, tables: PathwayTables, seed: int, year: int,
             min_chunk: int = 16_384, equalise: np.ndarray | None = None) -> None:
    """The access-to-care process (insurance, GP, forgone care)."""
    eq = tables.eq() if equalise is None else equalise
    chunk, _ = chunking(pop.n, min_chunk)
    kp.care_step(state_of(pop), tables.care_params(), pop.n, chunk,
                 rng.key(seed, "propensity_take_up", 0), rng.key(seed, "care", year),
                 tables.iv(pop), eq)


def run_disease(pop: Population, tables: PathwayTables, seed: int, year: int,
                n_groups: int, min_chunk: int) -> np.ndarray:
    """Conditions, disability and the relative risk of death; returns the disabled counts
    [group, sex, age]."""
    chunk, n_chunks = chunking(pop.n, min_chunk)
    counts = np.zeros((count_rows(), n_groups * 2 * N_AGES), dtype=np.int32)
    kp.disease_step(state_of(pop), tables.disease_params(), pop.n, chunk,
                    rng.key(seed, "disease", year), N_AGES, counts, tables.iv(pop), tables.eq())
    return counts.sum(axis=0, dtype=np.int64).reshape(n_groups, 2, N_AGES)
