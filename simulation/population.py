"""The population as a structure of arrays, and its synthesis from observed data.

One row per person; every attribute is a NumPy array whose dtype is declared once, in
:data:`STATE_SCHEMA`. Budget (DESIGN section 4): at most 64 bytes per person including the
attributes later processes add; :data:`RESERVED_BYTES` keeps room for them and a test checks
the sum.

Codes and labels are declared here too (:data:`SEX`, :data:`EDUCATION`, :data:`PCS`,
:data:`EMPLOYMENT`), with the order used by kernels and by metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from . import rng
from .kernels.fastmath import norm_ppf

SEX = ("M", "F")
EDUCATION = ("sans_diplome", "brevet", "cap_bep", "bac", "superieur")
#: PCS codes. Retirees keep their last category (as INSEE does); ``inactifs`` are the
#: never-employed. For children the category is the one they will hold (drawn at birth
#: from their household's position), so that life tables by PCS cover all ages.
PCS = ("agriculteurs", "artisans_commercants", "cadres", "professions_intermediaires",
       "employes", "ouvriers", "inactifs")
#: Order of PCS on the latent occupational-status score, lowest first.
PCS_STATUS_ORDER = (6, 5, 4, 0, 1, 3, 2)
EMPLOYMENT = ("in_education", "employed", "unemployed", "retired", "inactive")
CONDITIONS = ("cardiovascular", "diabetes", "cancer", "respiratory", "psychiatric")
INSURANCE = ("private", "css_free", "css_contributory", "none")
SMOKING = ("never", "current", "former")
IN_EDUCATION, EMPLOYED, UNEMPLOYED, RETIRED, INACTIVE = range(5)
INACTIFS = 6

#: Oldest age held in the state; everyone alive at mortality.max_age dies within the year.
AGE_CAP = 120
N_AGES = AGE_CAP + 1

#: name -> (dtype, meaning). The only place dtypes are declared.
STATE_SCHEMA: dict[str, tuple[str, str]] = {
    "pid": ("u8", "stable person id; children's ids derive from mother id and birth order"),
    "alive": ("u1", "1 alive, 0 dead (rows of the dead are dropped at compaction)"),
    "sex": ("u1", "0 M, 1 F"),
    "age": ("u1", "age in completed years at the start of the year"),
    "department": ("u1", "index into the region's departments"),
    "income_rank": ("f4", "rank of household standard of living in [0, 1), national"),
    "education": ("u1", "highest (or eventual) diploma, index into EDUCATION"),
    "pcs": ("u1", "socio-professional category (current, last or eventual), index into PCS"),
    "employment": ("u1", "index into EMPLOYMENT"),
    "rr_death": ("f4", "relative risk of death: multiplier of the baseline hazard of the "
                 "person's sex and age, kept up to date by the processes that change it"),
    "n_children": ("u1", "live births so far (birth order of the next child)"),
    "event": ("u1", "scratch flags of the current year: 1 died, 2 gave birth"),
    "status_score": ("i1", "latent occupational-status score x 20 (normal score, rounded)"),
    "parent_pcs": ("u1", "PCS of the household at birth (children's reference category)"),
    "sensitive": ("u1", "sensitive-period flags: 1 job loss this year, 2 retirement this "
                  "year, 4 gave birth last year (ages 0-5 and 11-17 follow from age)"),
    "smoking": ("u1", "0 never, 1 current daily smoker, 2 former smoker"),
    "obese": ("u1", "1 obese (BMI >= 30; for children, IOTF obesity), else 0"),
    "nuisance": ("u1", "1 if the home is exposed to environmental nuisance"),
    "stress": ("u1", "1 if under high psychosocial stress this year"),
    "load": ("f4", "cumulative load: embodied past exposures, weighted by sensitive periods"),
    "insurance": ("u1", "complementary insurance: 0 private, 1 free CSS, 2 contributory CSS, "
                  "3 none"),
    "care": ("u1", "care-access flags: 1 registered GP, 2 forwent care this year, "
             "4 lives in a priority zone for access to care"),
    "conditions": ("u1", "chronic-condition bits: 1 cardiovascular, 2 diabetes, 4 cancer, "
                   "8 chronic respiratory, 16 psychiatric"),
    "disability": ("u1", "1 with activity limitation"),
}

#: Bytes per person kept free for what later processes add (e.g. intervention doses).
RESERVED_BYTES = 16
BYTES_PER_PERSON = sum(np.dtype(d).itemsize for d, _ in STATE_SCHEMA.values())


@dataclass
class Region:
    """Territories and population totals of a region (the departments become Mesa agents)."""

    name: str
    codes: list[str]
    names: list[str]
    population: np.ndarray  # inhabitants (population municipale 2021)
    doctors_per_100k: np.ndarray

    @property
    def total(self) -> int:
        return int(self.population.sum())


def read_data(name: str) -> pd.DataFrame:
    """A CSV shipped in ``simulation/data`` (source lines start with '#')."""
    with resources.files("simulation.data").joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, comment="#", dtype={"dep_code": str})


def load_region(name: str = "occitanie") -> Region:
    """The 13 departments of Occitanie with their 2021 population (INSEE populations légales
    2021) and doctor density (INSEE, 1 Jan 2023)."""
    pop = read_data("occitanie_population_by_department.csv")
    pop = pop[pop["dep_code"] != "76"]
    dens = read_data("occitanie_physician_density_by_department_2023.csv").set_index("dep_code")
    return Region(
        name=name,
        codes=pop["dep_code"].tolist(),
        names=pop["departement"].tolist(),
        population=pop["pmun_2021"].to_numpy(np.int64),
        doctors_per_100k=dens.loc[pop["dep_code"], "all_doctors_per_100k"].to_numpy(float),
    )


def baseline_qx(first_year: int, last_year: int) -> np.ndarray:
    """INED q(x), ages 0-99, mean over calendar years first..last: array [sex, age]."""
    return _baseline_qx(int(first_year), int(last_year)).copy()


@lru_cache(maxsize=64)
def _baseline_qx(first_year: int, last_year: int) -> np.ndarray:
    q = read_data("france_mortality_qx_single_age_INED_2010_2022.csv")
    q = q[(q["year"] >= first_year) & (q["year"] <= last_year)]
    out = np.zeros((2, 100))
    for s, label in enumerate(("male", "female")):
        out[s] = q[q["sex"] == label].groupby("age")["qx"].mean().reindex(range(100)).to_numpy()
    return out


def age_sex_distribution(region: Region) -> np.ndarray:
    """Share of the population by [sex, age] for ages 0..AGE_CAP.

    Broad groups by sex from the 2012 census of Occitanie (INSEE RP2012, the most recent
    age-by-sex table found). Within a group, people are
    spread uniformly below 60 and in proportion to survivorship l(x) from INED's 2012 life
    table from 60 on (assumption: the age shape inside old groups follows mortality).
    """
    df = read_data("occitanie_population_by_age_sex.csv")
    df = df[(df["source"] == "RP2012") & (df["sex"].isin(["M", "F"]))
            & (df["age_group"] != "total")]
    q = baseline_qx(2012, 2012)
    dist = np.zeros((2, N_AGES))
    for s, label in enumerate(SEX):
        lx = np.concatenate([[1.0], np.cumprod(1 - q[s])])  # l(0..100)
        lx = np.concatenate([lx, lx[-1] * 0.5 ** np.arange(1, N_AGES - 100)])
        for _, row in df[df["sex"] == label].iterrows():
            g = row["age_group"]
            lo, hi = (int(g[:-1]), 105) if g.endswith("+") else map(int, g.split("-"))
            ages = np.arange(lo, min(hi, AGE_CAP) + 1)
            w = lx[ages] if lo >= 60 else np.ones(len(ages))
            dist[s, ages] += row["population"] * w / w.sum()
    return dist / dist.sum()


def _cut_points(shares: np.ndarray) -> np.ndarray:
    cum = np.cumsum(shares)[:-1]
    return np.array([norm_ppf(min(max(c, 1e-12), 1 - 1e-12)) for c in cum])


def education_cut_points(params: dict[str, Any]) -> np.ndarray:
    """Cut points on the latent education score, by age band [band, 4] (see
    :func:`education_band`); band 0 also gives newborns' eventual diploma."""
    names = ["under_35", "35_49", "50_64", "65_74", "75_plus"]
    return np.array([_cut_points(np.asarray(params[f"education.shares_age_{n}"], float))
                     for n in names])


def education_band(age: np.ndarray) -> np.ndarray:
    """Age band of the education shares: <35, 35-49, 50-64, 65-74, 75+."""
    return np.searchsorted(np.array([35, 50, 65, 75]), age, side="right")


def pcs_shares() -> np.ndarray:
    """Shares of PCS (in :data:`PCS` order) by [sex, age band] for the synthetic adults.

    The active categories follow the PCS mix of the employed by sex (INSEE Enquête Emploi
    2022); the never-employed share (``inactifs``) by age band comes from the 2020 census
    (INSEE RP2020 POP6: 'autres sans activité' among the non-students of 25+; assumption:
    under 25 and children take the 25-39 share, their eventual category).
    Age bands: <40, 40-54, 55-64, 65+.
    """
    emp = read_data("france_employed_by_PCS_2022.csv").set_index("pcs")
    rows = ["Agriculteurs", "Artisans, commercants et chefs d'entreprise", "Cadres",
            "Professions intermediaires", "Employes", "Ouvriers"]
    census = read_data("france_population_15plus_by_age_and_PCS_2020.csv").set_index("age_group")
    inact = (census["autres_sans_activite"] / census["total"]).to_dict()
    inactive_by_band = [inact["25-39"], inact["40-54"], inact["55-64"], inact["65+"]]
    out = np.zeros((2, 4, len(PCS)))
    for s, col in enumerate(("pct_men", "pct_women")):
        mix = emp.loc[rows, col].to_numpy(float)
        mix = mix / mix.sum()
        for b, share_inactive in enumerate(inactive_by_band):
            out[s, b, :6] = (1 - share_inactive) * mix
            out[s, b, 6] = share_inactive
    return out


def pcs_cut_points() -> np.ndarray:
    """Cut points on the latent status score, [sex, band, 6], categories ordered by
    :data:`PCS_STATUS_ORDER` (lowest status first)."""
    shares = pcs_shares()
    order = list(PCS_STATUS_ORDER)
    cuts = np.zeros((2, 4, len(PCS) - 1))
    for s in range(2):
        for b in range(4):
            cuts[s, b] = _cut_points(shares[s, b, order])
    return cuts


def status_explained_variance(params: dict[str, Any]) -> np.ndarray:
    """Variance of ``ge * z_education + gi * z_income`` by sex (men, women), with
    z_education and z_income correlated at ``education.latent_corr_income``: at most 1 for
    a valid status score."""
    ge = params["pcs.latent_corr_education"]
    gi = np.asarray(params["pcs.latent_corr_income"], dtype=float)
    return ge * ge + gi * gi + 2 * ge * gi * params["education.latent_corr_income"]


def status_weights(params: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray]:
    """Weights of the latent status score: z = ge * z_education + gi * z_income + r * noise,
    with r set so that z has unit variance (:func:`status_explained_variance`); ``gi`` and
    ``r`` by sex (men, women)."""
    gi = np.asarray(params["pcs.latent_corr_income"], dtype=float)
    var = status_explained_variance(params)
    return params["pcs.latent_corr_education"], gi, np.sqrt(np.maximum(1.0 - var, 0.0))


def pcs_band(age: np.ndarray) -> np.ndarray:
    """Age band of the PCS shares: <40, 40-54, 55-64, 65+."""
    return np.searchsorted(np.array([40, 55, 65]), age, side="right")


class Population:
    """Structure-of-arrays state with spare capacity for births.

    ``n`` rows are in use; arrays have ``capacity`` rows. Every array is named in
    :data:`STATE_SCHEMA`. ``weight`` is the number of inhabitants each simulated person
    represents (the sample is a simple random sample, so all weights are equal).
    """

    def __init__(self, capacity: int, weight: float) -> None:
        self.n = 0
        self.capacity = int(capacity)
        self.weight = float(weight)
        for name, (dtype, _) in STATE_SCHEMA.items():
            setattr(self, name, np.zeros(self.capacity, dtype=dtype))

    def copy(self) -> Population:
        """An independent copy (same capacity, rows and weight)."""
        out = Population.__new__(Population)
        out.n, out.capacity, out.weight = self.n, self.capacity, self.weight
        for name in STATE_SCHEMA:
            setattr(out, name, getattr(self, name).copy())
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """The state arrays, trimmed to the rows in use (views, not copies)."""
        return {name: getattr(self, name)[: self.n] for name in STATE_SCHEMA}

    def ensure_capacity(self, needed: int) -> None:
        """Grow every array (by 25% at least) so that ``needed`` rows fit."""
        if needed <= self.capacity:
            return
        new_cap = max(needed, int(self.capacity * 1.25) + 1024)
        for name, (dtype, _) in STATE_SCHEMA.items():
            old = getattr(self, name)
            arr = np.zeros(new_cap, dtype=dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        self.capacity = new_cap

    def compact(self) -> None:
        """Drop the rows of the dead, keeping the order of the living."""
        keep = np.flatnonzero(self.alive[: self.n])
        m = keep.shape[0]
        for name in STATE_SCHEMA:
            arr = getattr(self, name)
            arr[:m] = arr[keep]
        self.n = m

    @property
    def n_alive(self) -> int:
        return int(self.alive[: self.n].sum())

    def to_frame(self, alive_only: bool = True) -> pd.DataFrame:
        """A tidy DataFrame of people with labelled categories (for notebooks)."""
        a = self.arrays()
        df = pd.DataFrame({
            "pid": a["pid"], "alive": a["alive"].astype(bool),
            "sex": pd.Categorical.from_codes(a["sex"], SEX),
            "age": a["age"].astype(int),
            "income_rank": a["income_rank"],
            "income_vingtile": (a["income_rank"] * 20).astype(int) + 1,
            "education": pd.Categorical.from_codes(a["education"], EDUCATION),
            "pcs": pd.Categorical.from_codes(a["pcs"], PCS),
            "employment": pd.Categorical.from_codes(a["employment"], EMPLOYMENT),
            "department": a["department"].astype(int),
        })
        return df[df["alive"]].reset_index(drop=True) if alive_only else df


def _categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    cum = np.cumsum(probs.ravel())
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)


def _normal_scores(u: np.ndarray) -> np.ndarray:
    from .kernels.population import norm_ppf_vec

    return norm_ppf_vec(np.clip(u, 1e-15, 1 - 1e-15))


def synthesise(n_agents: int, params: dict[str, Any], seed: int, region: Region,
               start_year: int, growth_room: float = 1.3, cohort_shift: int = 0,
               age_sex: np.ndarray | None = None, pid_offset: int = 0,
               education_shift: float = 0.0, weight: float | None = None,
               department_shares: np.ndarray | None = None) -> Population:
    """Draw ``n_agents`` people representing the region in ``start_year``.

    Age and sex from :func:`age_sex_distribution`; department in proportion to its
    population; the standard-of-living rank uniform on [0, 1) (by definition of national
    ranks; assumption: independent of age and department, for lack of regional data);
    education from a latent normal score correlated with the income rank
    (``education.latent_corr_income``) and cut by the shares of the person's age band;
    PCS from a latent status score correlated with education (``pcs.latent_corr_education``)
    cut by the shares of sex and age band; employment status from age, diploma and PCS.
    The diploma and PCS shares describe each age band ``cohort_shift`` years later (the
    model draws the population ``demography.burn_in_years`` before its start year and the
    shares are those of the start year: a person gets the shares of their own cohort).
    Every draw is counter-based on (seed, stream, person id), so the population is the same
    whatever the machine.

    For people who join the population later (immigrants): ``age_sex`` replaces the age-sex
    distribution (shares by [sex, age]), ``pid_offset`` starts their ids, ``education_shift``
    moves their latent education score (in standard deviations), ``weight`` is the
    model's weight and ``department_shares`` replaces the departments' population shares.
    """
    if n_agents < 1:
        raise ValueError("n_agents must be positive")
    pop = Population(capacity=int(n_agents * growth_room) + 16,
                     weight=region.total / n_agents if weight is None else weight)
    pop.n = n_agents
    shares = age_sex_distribution(region) if age_sex is None else np.asarray(age_sex, float)
    dep = (region.population.astype(float) if department_shares is None
           else np.asarray(department_shares, float))
    # in blocks of people, so that the temporaries stay small at any population size
    # (every draw is keyed by person id: the blocks do not change the result)
    for lo in range(0, n_agents, SYNTHESIS_BLOCK):
        _synthesise_block(pop, lo, min(n_agents, lo + SYNTHESIS_BLOCK), params, seed, region,
                          start_year, cohort_shift, shares, pid_offset, education_shift, dep)
    return pop


#: People synthesised at a time (bounds the memory of temporaries, ~150 bytes a person).
SYNTHESIS_BLOCK = 1 << 20


def _synthesise_block(pop: Population, lo: int, hi: int, params: dict[str, Any], seed: int,
                      region: Region, start_year: int, cohort_shift: int,
                      age_sex: np.ndarray, pid_offset: int = 0,
                      education_shift: float = 0.0,
                      department_shares: np.ndarray | None = None) -> None:
    n = hi - lo
    rows = slice(lo, hi)
    pid = np.arange(lo, hi, dtype=np.uint64) + np.uint64(pid_offset)
    pop.pid[rows] = pid
    pop.alive[rows] = 1

    def draws(stream: str) -> np.ndarray:
        return rng.uniforms(rng.key(seed, stream, start_year), pid)

    cell = _categorical(draws("synthesis_age"), age_sex)
    sex, age = np.divmod(cell, N_AGES)
    pop.sex[rows] = sex
    pop.age[rows] = age
    dep = (region.population.astype(float) if department_shares is None
           else department_shares)
    pop.department[rows] = _categorical(draws("synthesis_department"), dep)
    rank = draws("synthesis_income").astype(np.float32)
    rank = np.minimum(rank, np.float32(1) - np.finfo(np.float32).epsneg)
    pop.income_rank[rows] = rank
    rho = params["education.latent_corr_income"]
    z_income = _normal_scores(rank.astype(float))
    z_edu = (rho * z_income + math.sqrt(1 - rho * rho) * _normal_scores(draws("synthesis_education"))
             + education_shift)
    cuts = education_cut_points(params)
    band = education_band(age + cohort_shift)
    edu = np.zeros(n, dtype=np.uint8)
    for b in range(cuts.shape[0]):
        m = band == b
        edu[m] = np.searchsorted(cuts[b], z_edu[m], side="right")
    pop.education[rows] = edu

    ge, gi, resid = status_weights(params)
    z_status = ge * z_edu + gi[sex] * z_income + resid[sex] * _normal_scores(
        draws("synthesis_pcs"))
    pop.status_score[rows] = np.clip(np.rint(z_status * 20), -127, 127).astype(np.int8)
    pcuts = pcs_cut_points()
    pband = pcs_band(age + cohort_shift)
    order = np.array(PCS_STATUS_ORDER, dtype=np.uint8)
    pcs = np.zeros(n, dtype=np.uint8)
    for s in range(2):
        for b in range(4):
            m = (sex == s) & (pband == b)
            pcs[m] = order[np.searchsorted(pcuts[s, b], z_status[m], side="right")]
    pop.pcs[rows] = pcs
    # children's household category: a status score drawn from the household's income
    z_par = 0.7 * z_income + math.sqrt(1 - 0.49) * _normal_scores(draws("synthesis_parents"))
    par = np.zeros(n, dtype=np.uint8)
    for s in range(2):
        par[sex == s] = order[np.searchsorted(pcuts[s, 0], z_par[sex == s], side="right")]
    pop.parent_pcs[rows] = np.where(age < 18, par, pcs)

    leave = np.asarray(params["employment.school_leaving_age"])[edu]
    retire = params["employment.retirement_age"]
    u_rate = params["employment.unemployment_rate"] * (
        1 + params["employment.unemployment_income_slope"] * (0.5 - rank))
    unemployed = draws("synthesis_employment") < u_rate
    emp = np.where(unemployed, UNEMPLOYED, EMPLOYED)
    emp = np.where(pcs == INACTIFS, INACTIVE, emp)
    emp = np.where(age >= retire, np.where(pcs == INACTIFS, INACTIVE, RETIRED), emp)
    emp = np.where(age < leave, IN_EDUCATION, emp)
    pop.employment[rows] = emp.astype(np.uint8)
