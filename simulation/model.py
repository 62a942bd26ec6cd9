"""HealthInequalityModel: a Mesa model that owns the population and runs the year.

The departments are Mesa agents (few, carrying the territorial attributes that
interventions act on); the people are rows of a structure of arrays stepped by numba
kernels (:mod:`simulation.kernels`). A Mesa DataCollector gathers model-level yearly
aggregates; life-table inputs (deaths and person-years by year, sex, stratum and age) are
kept as integer counts for :mod:`simulation.metrics`.

Order of processes in a year (:meth:`HealthInequalityModel.step`): socioeconomic position
(schooling, work, income mobility, retirement) → exposures → access to care → chronic
conditions and disability (which set each person's relative risk of death) → mortality →
ageing → births.

The population is drawn ``demography.burn_in_years`` years before the scenario's start
year and simulated up to it without being reported (:meth:`HealthInequalityModel._burn_in`),
so that the reported years start from a state in balance with the yearly processes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import demography, metrics, pathways, rng
from .config import Scenario
from .interventions import PATHWAYS, plan_year
from .kernels import demography as kd
from .kernels.demography import count_rows
from .population import (
    AGE_CAP,
    EDUCATION,
    N_AGES,
    PCS,
    PCS_STATUS_ORDER,
    SEX,
    STATE_SCHEMA,
    Population,
    Region,
    baseline_qx,
    education_cut_points,
    load_region,
    pcs_cut_points,
    status_weights,
    synthesise,
)

#: Smallest chunk of people handed to one parallel task (results never depend on it).
MIN_CHUNK = 16_384


class Department(mesa.Agent):
    """A territory of the region, stepped at the start of each year before the people.

    It owns the department-level state that the care kernels read: its doctor density,
    the yearly probability of having no registered GP there, inside and outside the
    priority zones for access to care (:func:`simulation.pathways.no_gp_probability`,
    written into the model's tables), and its share of the year's immigrants
    (:func:`simulation.demography.immigrant_department_shares`: INSEE's Omphale 2022
    department paths). After the year it records its residents and migrants (weighted),
    collected as agent reporters (:meth:`HealthInequalityModel.department_aggregates`)."""

    def __init__(self, model: mesa.Model, index: int, code: str, name: str,
                 population: int, doctors_per_100k: float) -> None:
        super().__init__(model)
        self.index = index
        self.code = code
        self.name = name
        self.population = population
        self.doctors_per_100k = doctors_per_100k
        self.p_no_gp = float("nan")
        self.p_no_gp_zone = float("nan")
        self.immigrant_share = 0.0
        self.residents = self.immigrants = self.emigrants = 0.0

    def step(self) -> None:
        m = self.model
        probs = pathways.no_gp_probability(m.params, self.doctors_per_100k)[:, 0]
        m.tables.p_no_gp[:, self.index] = probs
        self.p_no_gp, self.p_no_gp_zone = float(probs[0]), float(probs[1])
        self.immigrant_share = float(m.immigrant_shares(m.year)[self.index])


def baseline_hazard(params: dict[str, Any]) -> np.ndarray:
    """Baseline annual hazard of death (per person-year), [sex, age 0..AGE_CAP].

    From INED q(x) (mean of the years in ``mortality.qx_first_year..qx_last_year``),
    h = -ln(1 - q). Beyond 99 the log hazard grows by ``mortality.old_age_log_hazard_slope``
    per year up to ``mortality.max_hazard``; from ``mortality.max_age`` on, death is
    certain within the year. The hazard is multiplied by ``mortality.level`` below 50 and
    ``mortality.level_old_age`` from 70, linearly in between.
    """
    q = baseline_qx(params["mortality.qx_first_year"], params["mortality.qx_last_year"])
    h = -np.log1p(-q)
    out = np.empty((2, N_AGES))
    out[:, :100] = np.log(h)
    extra = np.arange(1, N_AGES - 99)
    old = np.log(h[:, 99:100]) + params["mortality.old_age_log_hazard_slope"] * extra
    out[:, 100:] = np.minimum(old[:, : N_AGES - 100], math.log(params["mortality.max_hazard"]))
    young = np.asarray(params["mortality.level"], float)[:, None]
    old = np.asarray(params["mortality.level_old_age"], float)[:, None]
    w = np.clip((np.arange(N_AGES) - 50) / 20.0, 0.0, 1.0)[None, :]
    out = np.exp(out) * (young * (1 - w) + old * w)
    out[:, int(params["mortality.max_age"]):] = 64.0  # survival exp(-64) ~ 1e-28: certain death
    return out


def fertility_schedule(params: dict[str, Any], tfr: float | None = None) -> np.ndarray:
    """Annual probability of giving birth by [sex, age] (0 for men and outside 15-49): a normal curve
    of mean ``fertility_mean_age`` and sd ``fertility_sd_age`` scaled to the total fertility
    rate ``tfr`` (default ``demography.fertility_tfr``; the model passes the year's rate,
    :func:`simulation.demography.tfr`)."""
    ages = np.arange(N_AGES)
    out = np.zeros((2, N_AGES))
    mu, sd = params["demography.fertility_mean_age"], params["demography.fertility_sd_age"]
    dens = np.exp(-0.5 * ((ages + 0.5 - mu) / sd) ** 2)
    dens[(ages < 15) | (ages > 49)] = 0.0
    rate = params["demography.fertility_tfr"] if tfr is None else tfr
    out[1] = np.minimum(rate * dens / dens.sum(), 0.95)
    return out


#: The state at the start year after the last burn-in (population, tables, carried
#: counts), by :func:`burn_in_key`: the next model with the same key starts from a copy
#: instead of drawing and burning in again. The scenarios of a comparison share each
#: replicate's burn-in (interventions never act in it), and a comparison runs them
#: replicate by replicate. One entry, for populations of at most
#: :data:`BURN_IN_CACHE_MAX_AGENTS` (a copy of the state arrays, spare capacity included,
#: about 80 bytes a person, stays in memory until the process ends or
#: :func:`clear_burn_in_cache`).
_BURN_IN_CACHE: dict[str, tuple[Population, Any, np.ndarray]] = {}
BURN_IN_CACHE_MAX_AGENTS = 2_000_000


def burn_in_key(scenario: Scenario, replicate: int) -> str:
    """What a burn-in depends on: the scenario without its interventions, name, horizon
    or metrics, and the replicate (SHA-256 hex)."""
    body = json.loads(scenario.canonical)
    keep = {k: body[k] for k in ("region", "agents", "start_year", "seed", "parameters",
                                 "equalise")}
    keep["replicate"] = int(replicate)
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


def clear_burn_in_cache() -> None:
    """Forget the cached burn-in (:data:`_BURN_IN_CACHE`), e.g. to free its memory."""
    _BURN_IN_CACHE.clear()


def expected_deaths(acc: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Expected deaths by [group, sex, age] from the kernel's fixed-point accumulators
    (multiples of 2**-32, :data:`kernels.demography.EXPECTED_SCALE`): exact in float64
    below 2**21 deaths a cell, so sums over the groups of any stratum agree exactly."""
    total = acc.sum(axis=0, dtype=np.int64)
    return (total.astype(np.float64) / kd.EXPECTED_SCALE).reshape(shape)


def run_seed(seed: int, replicate: int) -> int:
    """The seed of one replicate: replicate r of two scenarios with the same seed share it."""
    return int(rng.stream_key(seed, 0, replicate)) >> 1


class HealthInequalityModel(mesa.Model):
    """One replicate of one scenario.

    The population is synthesised ``demography.burn_in_years`` before the start year and
    burnt in up to it (or copied from an identical burn-in, see :func:`burn_in_key`); a
    ``population`` given to the constructor is taken as drawn in that first year: it is
    initialised and burnt in, in place.

    >>> from simulation.config import load_scenario
    >>> m = HealthInequalityModel(load_scenario("scenarios/baseline.toml").with_options(agents=2000))
    >>> m.run_years(2)
    >>> m.yearly_aggregates().shape[0]
    2
    """

    def __init__(self, scenario: Scenario, replicate: int = 0,
                 population: Population | None = None, pathways_enabled: bool = True) -> None:
        self.scenario = scenario
        self.replicate = replicate
        #: False runs demography alone (mortality from each person's initial relative risk,
        #: ageing, births): for benchmarks of the core engine.
        self.pathways_enabled = pathways_enabled
        self.seed_value = run_seed(scenario.seed, replicate)
        super().__init__(seed=self.seed_value)
        self.params = scenario.parameters
        self.region: Region = load_region(scenario.region)
        self.departments = [
            Department(self, i, code, name, int(p), float(d))
            for i, (code, name, p, d) in enumerate(zip(
                self.region.codes, self.region.names, self.region.population,
                self.region.doctors_per_100k, strict=False))
        ]
        p = self.params
        #: Years simulated before ``start_year`` and not reported (``demography.burn_in_years``):
        #: the population is drawn then, from cross-sectional figures, and the yearly
        #: processes bring it to their own balance before the reported years.
        self.burn_in_years = int(p["demography.burn_in_years"])
        first_year = scenario.start_year - self.burn_in_years
        self.year = first_year
        self._h0 = baseline_hazard(p)
        self.costs: list[dict[str, float]] = []  # per year: euros by intervention name
        self.reached: list[dict[str, float]] = []
        self._hazards: dict[int, np.ndarray] = {}  # baseline hazard by year (mortality trend)
        self._immigrant_shares: dict[int, np.ndarray] = {}  # by year, see immigrant_shares
        self._p_emigrate = demography.emigration_probability(p)
        self._immigrant_ages = demography.immigrant_age_sex(p)
        self.last_immigrants = self.last_emigrants = 0.0
        self._edu_cuts = education_cut_points(p)[0]
        self._pcs_cuts = np.ascontiguousarray(pcs_cut_points()[:, 0, :])
        self._status_weights = status_weights(p)
        self._pcs_order = np.array(PCS_STATUS_ORDER, dtype=np.uint8)
        self._n_groups = kd.n_groups(len(self.departments))
        self._counts: list[np.ndarray] = []  # per year: [alive, deaths, disabled][group, sex, age]
        self._years: list[int] = []
        #: per year: expected deaths [group, sex, age] (multiples of 2**-32), or None
        self._expected: list[np.ndarray | None] = []
        #: "expected": life tables from each person's yearly probability of death
        #: (Rao-Blackwellised); "realised": from the deaths drawn.
        self.estimator = str(p["outcomes.mortality_estimator"])
        self.datacollector = self._collector()
        #: a counterfactual's death-normaliser factors, its reference's (_normalise_mortality)
        self._reference_factors: np.ndarray | None = None
        self._normalising = False  # True in the burn-in's steps
        self._sep_log_rr: tuple[np.ndarray, np.ndarray] | None = None  # see _sep_trend
        key = (burn_in_key(scenario, replicate)
               if population is None and pathways_enabled and self.burn_in_years else None)
        cached = _BURN_IN_CACHE.get(key) if key is not None else None
        if cached is not None:  # the state at the start year of an identical burn-in
            self.population = cached[0].copy()
            self.tables = copy.deepcopy(cached[1])
            self._alive_counts = cached[2].copy()
            self.year = scenario.start_year
            return
        self.population = population if population is not None else synthesise(
            scenario.agents, p, self.seed_value, self.region, first_year,
            cohort_shift=self.burn_in_years,
            weight=demography.population_weight(first_year, scenario.agents))
        self.tables = pathways.PathwayTables.build(p, self.region)
        flags = np.array([x in scenario.equalise for x in PATHWAYS], dtype=np.uint8)
        self.tables.equalise = flags
        pathways.initialise(self.population, self.tables, self._h0, self.seed_value,
                            first_year, equalise=flags)
        self._alive_counts = self.census()  # carried forward by step()
        if flags.any() and self.burn_in_years:
            ref = HealthInequalityModel(scenario.with_options(equalise=()), replicate=replicate)
            self._reference_factors = ref.tables.start_renorm
        self._burn_in()
        if self.burn_in_years and self.pathways_enabled:
            self._normalise_mortality()  # the start year, before the arms part
        if key is not None and scenario.agents <= BURN_IN_CACHE_MAX_AGENTS:
            _BURN_IN_CACHE.clear()
            _BURN_IN_CACHE[key] = (self.population.copy(), copy.deepcopy(self.tables),
                                   self._alive_counts.copy())

    def _collector(self) -> mesa.DataCollector:
        return mesa.DataCollector(model_reporters={
            "year": "last_year",
            "population": "last_population",
            "agents_alive": "last_alive",
            "births": "last_births",
            "deaths": "last_deaths",
            "immigrants": "last_immigrants",
            "emigrants": "last_emigrants",
            "net_migration": lambda m: m.last_immigrants - m.last_emigrants,
            "total_fertility_rate": "last_tfr",
            "crude_death_rate_per_1000": "last_cdr",
            "mean_age": "last_mean_age",
            "share_65_plus": "last_share_65",
            "intervention_cost_eur": lambda m: float(sum(m.costs[-1].values())),
            "people_reached": lambda m: float(sum(m.reached[-1].values())),
        }, agent_reporters={
            "department": "code", "residents": "residents", "immigrants": "immigrants",
            "emigrants": "emigrants", "immigrant_share": "immigrant_share",
            "doctors_per_100k": "doctors_per_100k", "p_no_gp": "p_no_gp",
            "p_no_gp_priority_zone": "p_no_gp_zone",
        })

    def _burn_in(self) -> None:
        """Simulate the burn-in years (every process, interventions excepted), then forget
        what they recorded: the reported years start at ``scenario.start_year``. A
        counterfactual (``scenario.equalise``) applies during the burn-in too, so that its
        state at the start is that of a population whose pathway was always equalised."""
        self._normalising = self.pathways_enabled
        for _ in range(self.burn_in_years):
            self.step()
        self._normalising = False
        self._counts.clear()
        self._expected.clear()
        self._years.clear()
        self.costs.clear()
        self.reached.clear()
        self.datacollector = self._collector()
        self.steps = 0

    def _normalise_mortality(self) -> None:
        """Hold this year (a burn-in year, or the start year once the burn-in is done) on
        the baseline hazard of the year: the population drawn from cross-sectional
        prevalences loses its frailest as it is simulated, so its relative risks of death
        drift from the normalisation made at the draw (the old-age level factor had to
        absorb it). The death normaliser is multiplied by the factor by [sex, 5-year age
        band] with which the living's expected deaths equal those of ``hazard(year)``,
        their risks taken after a dry run of the year's pathways on a copy (as at the draw,
        see :func:`simulation.pathways.initialise`): the yearly process moves them at once.
        The factors are kept in ``tables.start_renorm`` [year of the burn-in, sex, age].

        No intervention acts then, so every arm of a comparison gets the same factors; a
        counterfactual (``scenario.equalise``) takes those of its reference population (the
        same scenario without it), so that its lower risks are not normalised away."""
        done = self.tables.start_renorm
        k = 0 if done is None else len(done)
        if self._reference_factors is not None:
            factor = self._reference_factors[k]
        else:
            dry = self.population.copy()
            self._run_pathways(dry)
            n = dry.n
            factor = pathways.death_normaliser(dry.rr_death[:n], dry.sex[:n], dry.age[:n],
                                               self.hazard(self.year), dry.alive[:n])
        self.tables.start_renorm = (factor[None] if done is None
                                    else np.concatenate([done, factor[None]]))
        self.tables.death_norm = self.tables.death_norm * factor
        pop, n = self.population, self.population.n
        pop.rr_death[:n] *= factor[pop.sex[:n], pop.age[:n]].astype(np.float32)

    def _run_pathways(self, pop: Population) -> tuple[np.ndarray, np.ndarray]:
        """This year's pathways on ``pop``: socioeconomic position, exposures, access to
        care, conditions and disability (with the relative risk of death). Returns the
        changes of the living counts by group and the disabled counts [group, sex, age]."""
        seed, year, tables, ng = self.seed_value, self.year, self.tables, self._n_groups
        moved = pathways.run_sep(pop, tables, seed, year, ng, MIN_CHUNK)
        pathways.run_exposures(pop, tables, seed, year, MIN_CHUNK)
        pathways.run_care(pop, tables, seed, year, MIN_CHUNK)
        return moved, pathways.run_disease(pop, tables, seed, year, ng, MIN_CHUNK)

    # ------------------------------------------------------------------ the year
    def _chunking(self, n: int) -> tuple[int, int]:
        return pathways.chunking(n, MIN_CHUNK)

    def census(self) -> np.ndarray:
        """Count the living now by [group, sex, age], from scratch (int64)."""
        pop = self.population
        chunk, n_chunks = self._chunking(pop.n)
        out = np.zeros((count_rows(), self._n_groups * 2 * N_AGES), dtype=np.int32)
        kd.census(pop.alive, pop.sex, pop.age, pop.department, pop.income_rank,
                  pop.education, pop.pcs, pop.n, chunk, N_AGES, out)
        return out.sum(axis=0, dtype=np.int64).reshape(self._n_groups, 2, N_AGES)

    def step(self) -> None:
        """Advance one calendar year: socioeconomic position → exposures → access to care
        → chronic conditions and disability → mortality → ageing → births."""
        pop = self.population
        seed, year = self.seed_value, self.year
        self._plan_interventions()
        self.agents_by_type[Department].do("step")
        self._sep_trend(year)
        if self._normalising:
            self._normalise_mortality()
        if self.pathways_enabled:
            moved, disabled = self._run_pathways(pop)
            self._alive_counts += moved
        else:
            disabled = np.zeros_like(self._alive_counts)
        n = pop.n
        chunk, n_chunks = self._chunking(n)
        cells = self._n_groups * 2 * N_AGES
        self.last_tfr = demography.tfr(self.params, year)
        p_birth = fertility_schedule(self.params, self.last_tfr)
        h0 = self.hazard(year)
        deaths_acc = np.zeros((count_rows(), cells), dtype=np.int32)
        births = np.zeros(n_chunks, dtype=np.int64)
        # expected deaths only in reported years (the burn-in's are forgotten)
        want_expected = self.estimator == "expected" and year >= self.scenario.start_year
        expected_acc = np.zeros((count_rows() if want_expected else 0, cells), dtype=np.int64)
        kd.year_step(
            pop.pid, pop.alive, pop.sex, pop.age, pop.department, pop.income_rank,
            pop.education, pop.pcs, pop.employment, pop.rr_death, pop.event, n, chunk,
            h0.ravel(), p_birth.ravel(), rng.key(seed, "vital", year),
            deaths_acc, births, expected_acc)
        n_births = int(births.sum())
        newborns = np.zeros((count_rows(), cells), dtype=np.int32)
        if n_births:
            pop.ensure_capacity(n + n_births)
            offsets = np.concatenate([[0], np.cumsum(births)[:-1]]).astype(np.int64)
            kd.place_births(
                kd.state_of(pop), kd.BirthParams(
                    self.params["demography.p_male_at_birth"],
                    self.params["education.latent_corr_income"], *self._status_weights,
                    self._edu_cuts, self._pcs_cuts, self._pcs_order),
                n, chunk, offsets, rng.key(seed, "newborn_sex", year),
                rng.key(seed, "newborn_education", year), rng.key(seed, "newborn_pcs", year),
                N_AGES, newborns)
            pop.n = n + n_births
        shape = (self._n_groups, 2, N_AGES)
        deaths = deaths_acc.sum(axis=0, dtype=np.int64).reshape(shape)
        start = self._alive_counts
        self._counts.append(np.stack([start, deaths, disabled]))
        self._expected.append(expected_deaths(expected_acc, shape) if want_expected else None)
        self._years.append(year)
        survivors = start - deaths
        carried = np.zeros_like(start)
        carried[:, :, 1:] = survivors[:, :, :-1]
        carried[:, :, -1] += survivors[:, :, -1]
        carried += newborns.sum(axis=0, dtype=np.int64).reshape(shape)
        self._alive_counts = carried
        n_out, n_in = self._migrate(year)
        alive = start[kd.G_VINGTILE:kd.G_VINGTILE + 20].sum(axis=0)  # [sex, age]
        n_deaths = int(deaths[kd.G_VINGTILE:kd.G_VINGTILE + 20].sum())
        n_start = int(alive.sum())
        self.last_alive = n_start - n_deaths + n_births + n_in - n_out  # from the counts
        if pop.n - self.last_alive > 0.1 * pop.n:
            pop.compact()
        self.last_year = year
        self.last_births = n_births * pop.weight
        self.last_deaths = n_deaths * pop.weight
        self.last_population = self.last_alive * pop.weight
        self.last_cdr = 1000.0 * n_deaths / max(n_start - n_deaths / 2, 1)
        self.last_mean_age = float((alive.sum(axis=0) * np.arange(N_AGES)).sum() / max(n_start, 1))
        self.last_share_65 = float(alive[:, 65:].sum() / max(n_start, 1))
        residents = self._alive_counts[kd.G_DEPARTMENT:kd.G_DEPARTMENT + len(self.departments)]
        for d, count in zip(self.departments, residents.sum(axis=(1, 2)), strict=True):
            d.residents = float(count) * pop.weight
        self.datacollector.collect(self)
        self.year += 1
        # Mesa's run_model() steps while running: up to the scenario's horizon
        self.running = self.year < self.scenario.start_year + self.scenario.years

    def hazard(self, year: int) -> np.ndarray:
        """Baseline hazard of death of ``year`` by [sex, age]: the calibrated hazard times the
        mortality trend of the year (:func:`simulation.demography.mortality_trend`)."""
        if year not in self._hazards:
            self._hazards[year] = self._h0 * demography.mortality_trend(self.params, year)
        return self._hazards[year]

    def _sep_trend(self, year: int) -> None:
        """The year's socioeconomic relative risks of death in the tables: their logs times
        :func:`simulation.demography.sep_mortality_scale` (only when
        ``mortality.sep_trend`` is not 0)."""
        if not np.any(np.asarray(self.params["mortality.sep_trend"], float)):
            return
        if self._sep_log_rr is None:  # the relative risks without a trend, built once
            self._sep_log_rr = (np.log(pathways.residual_mortality_gradient(self.params)),
                                np.log(pathways.sep_mortality_rr(self.params)))
        k = demography.sep_mortality_scale(self.params, year)[:, None, None]
        self.tables.rr_death_income = np.exp(k * self._sep_log_rr[0])
        self.tables.rr_death_sep = np.exp(k * self._sep_log_rr[1])

    def immigrant_shares(self, year: int) -> np.ndarray:
        """Shares of ``year``'s immigrants by department (index order), cached by year."""
        if year not in self._immigrant_shares:
            self._immigrant_shares[year] = demography.immigrant_department_shares(
                self.params, self.region.codes, year)
        return self._immigrant_shares[year]

    def _migrate(self, year: int) -> tuple[int, int]:
        """Migration at the end of ``year`` (after deaths, ageing and births): the living
        leave with their yearly probability by sex and age (a keyed draw), then the year's
        immigrants join (:mod:`simulation.demography`); the carried counts follow both.
        Returns (emigrants, immigrants), simulated people."""
        pop, p = self.population, self.params
        seed = self.seed_value
        rows = np.flatnonzero(pop.alive[: pop.n] == 1)
        u = rng.uniforms(rng.key(seed, "migration", year), pop.pid[rows])
        leave = rows[u < self._p_emigrate[pop.sex[rows], pop.age[rows]]]
        self._alive_counts -= self._counts_of(leave)
        pop.alive[leave] = 0
        k = demography.immigrants(p, rows.size * pop.weight, pop.weight, year)
        if k:
            newcomers = synthesise(
                k, p, seed, self.region, year, growth_room=1.0,
                age_sex=self._immigrant_ages,
                pid_offset=demography.IMMIGRANT_ID_BASE + (year % 4096) * (1 << 36),
                education_shift=p["migration.in_education_shift"], weight=pop.weight,
                department_shares=self.immigrant_shares(year))
            flags = self.tables.equalise
            pathways.initialise_newcomers(newcomers, self.tables,
                                          self.hazard(year),
                                          seed, year, equalise=flags)
            n = pop.n
            pop.ensure_capacity(n + k)
            for name in STATE_SCHEMA:
                getattr(pop, name)[n:n + k] = getattr(newcomers, name)[:k]
            pop.n = n + k
            self._alive_counts += self._counts_of(np.arange(n, n + k))
        self.last_emigrants = leave.size * pop.weight
        self.last_immigrants = k * pop.weight
        n_dep = len(self.departments)
        out_by = np.bincount(pop.department[leave], minlength=n_dep)
        in_by = (np.bincount(pop.department[pop.n - k:pop.n], minlength=n_dep) if k
                 else np.zeros(n_dep, dtype=np.int64))
        for d in self.departments:
            d.emigrants = float(out_by[d.index]) * pop.weight
            d.immigrants = float(in_by[d.index]) * pop.weight
        return int(leave.size), int(k)

    def _counts_of(self, rows: np.ndarray) -> np.ndarray:
        """The people of ``rows`` counted by [group, sex, age] (as :meth:`census`)."""
        pop = self.population
        out = np.zeros((self._n_groups, 2, N_AGES), dtype=np.int64)
        if rows.size == 0:
            return out
        sex = pop.sex[rows].astype(np.int64)
        age = pop.age[rows].astype(np.int64)
        v = np.minimum((pop.income_rank[rows] * np.float32(20.0)).astype(np.int64), 19)
        for g in (kd.G_VINGTILE + v, kd.G_PCS + pop.pcs[rows].astype(np.int64),
                  kd.G_EDUCATION + pop.education[rows].astype(np.int64),
                  kd.G_DEPARTMENT + pop.department[rows].astype(np.int64)):
            np.add.at(out, (g, sex, age), 1)
        return out

    def _plan_interventions(self) -> None:
        """Compile this year's interventions (doses, budgets, costs) for the kernels (none
        during the burn-in)."""
        if not self.scenario.interventions or self.year < self.scenario.start_year:
            self.costs.append({})
            self.reached.append({})
            return
        pop = self.population
        alive = pop.alive[: pop.n] == 1
        a = {k: getattr(pop, k)[: pop.n][alive] for k in (
            "age", "income_rank", "pcs", "education", "department", "care", "smoking",
            "nuisance")}
        plan = plan_year(self.scenario.interventions, self.year, a, self.params, pop.weight,
                         self.region.codes)
        self.tables.interventions = plan.array
        self.costs.append(plan.cost_eur)
        self.reached.append(plan.reached)
        if "early_childhood" in plan.doses:
            self._early_education(np.flatnonzero(alive), plan.doses["early_childhood"])

    def _early_education(self, rows: np.ndarray, dose: np.ndarray) -> None:
        """Early-childhood prevention's path to education: a child of 6 (the programme's
        last year) whose dose is d gains one diploma level with probability
        ``early_childhood.p_diploma_gain * d`` (a keyed draw, shared by every scenario);
        the carried counts move the child between diploma groups."""
        p_gain = float(self.params["early_childhood.p_diploma_gain"])
        pop = self.population
        six = (pop.age[rows] == 6) & (dose > 0) & (pop.education[rows] < len(EDUCATION) - 1)
        if p_gain <= 0 or not six.any():
            return
        r, d = rows[six], dose[six]
        u = rng.uniforms(rng.key(self.seed_value, "early_education", self.year), pop.pid[r])
        r = r[u < p_gain * d]
        if r.size == 0:
            return
        old = pop.education[r].astype(np.int64)
        pop.education[r] = (old + 1).astype(pop.education.dtype)
        sex, age = pop.sex[r].astype(np.int64), pop.age[r].astype(np.int64)
        np.subtract.at(self._alive_counts, (kd.G_EDUCATION + old, sex, age), 1)
        np.add.at(self._alive_counts, (kd.G_EDUCATION + old + 1, sex, age), 1)

    def run_years(self, years: int | None = None,
                  progress: Callable[[int], None] | None = None) -> None:
        """Step ``years`` years (default: the scenario's horizon); ``progress(1)`` after each."""
        for _ in range(self.scenario.years if years is None else years):
            self.step()
            if progress is not None:
                progress(1)

    # ------------------------------------------------------------------ outputs
    def yearly_aggregates(self) -> pd.DataFrame:
        """Model-level yearly aggregates (DataCollector): one row per simulated year;
        counts are at full scale (weighted), rates per 1,000 person-years. The last row
        also carries :meth:`remaining_life` in the columns ``after_horizon_*`` (NaN on the
        other rows)."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        if len(frame):  # the lifetime closure, on the last year's row
            for key, value in self.remaining_life().items():
                col = np.full(len(frame), np.nan)
                col[-1] = value
                frame[f"after_horizon_{key}"] = col
        return frame

    def department_aggregates(self) -> pd.DataFrame:
        """The departments' yearly records (Mesa agent reporters): one row per reported
        year and department, with ``year``, ``department`` (INSEE code), ``residents``,
        ``immigrants`` and ``emigrants`` (weighted, inhabitants), ``immigrant_share``,
        ``doctors_per_100k`` and the probabilities of having no registered GP outside and
        inside the priority zones."""
        frame = self.datacollector.get_agent_vars_dataframe().reset_index()
        if frame.empty:
            return frame
        years = np.asarray(self._years)
        frame["year"] = years[frame["Step"].to_numpy() - frame["Step"].min()]
        keep = ["year", "department", "residents", "immigrants", "emigrants",
                "immigrant_share", "doctors_per_100k", "p_no_gp", "p_no_gp_priority_zone"]
        return frame[keep].reset_index(drop=True)

    def remaining_life(self) -> dict[str, float]:
        """Expected remaining life of everyone alive now (at the end of the last simulated
        year), at full scale: ``people``, ``life_years`` and, discounted to the start year
        at ``outcomes.discount_rate``, ``life_years_discounted`` and ``qalys_discounted``.

        Each person keeps their present relative risk of death on the baseline hazard of
        their future ages (:func:`kernels.demography.remaining_life`); a future year's
        quality weight is ``1 - (1 - outcomes.utility_disability) * prevalence`` of
        activity limitation at that age and sex in the last simulated year. This closes the
        lifetime horizon of comparisons (``outcomes.horizon = "lifetime"``): the life-years
        and QALYs that the survivors of each arm will still live, which a horizon cut at
        the last simulated year would drop."""
        pop, p = self.population, self.params
        chunk, n_chunks = self._chunking(pop.n)
        out = np.zeros((n_chunks, 2, 5, 4))
        rate = float(p["outcomes.discount_rate"])
        if self._counts:
            last = self._counts[-1][:, kd.G_VINGTILE:kd.G_VINGTILE + 20].sum(axis=1)
            alive, disabled = last[0].astype(float), last[2].astype(float)
            prev = np.zeros_like(alive)
            for s in range(2):
                seen = np.flatnonzero(alive[s] > 0)
                if seen.size:  # ages nobody reached take the prevalence of the age below
                    idx = seen[np.clip(np.searchsorted(seen, np.arange(N_AGES), "right") - 1,
                                       0, None)]
                    prev[s] = disabled[s, idx] / alive[s, idx]
        else:
            prev = np.zeros((2, N_AGES))
        weight = 1.0 - (1.0 - float(p["outcomes.utility_disability"])) * np.clip(prev, 0, 1)
        h0 = self.hazard(self.year)  # held from next year on
        kd.remaining_life(pop.alive, pop.sex, pop.age, pop.rr_death, pop.income_rank, pop.n,
                          chunk, np.ascontiguousarray(h0).ravel(),
                          np.ascontiguousarray(weight).ravel(),
                          1.0 / (1.0 + rate), out)
        total = np.zeros(4)
        for c in range(n_chunks):  # in chunk order: independent of the threads
            total += out[c].sum(axis=(0, 1))
        to_start = (1.0 + rate) ** -(self.year - self.scenario.start_year)
        w = pop.weight
        return {"people": float(total[0] * w), "life_years": float(total[1] * w),
                "life_years_discounted": float(total[2] * w * to_start),
                "qalys_discounted": float(total[3] * w * to_start)}

    def group_labels(self) -> list[tuple[str, str]]:
        """(stratum, group label) of each index of the group axis of the counts."""
        labels = [("income_vingtile", str(v + 1)) for v in range(20)]
        labels += [("pcs", p) for p in PCS]
        labels += [("education", e) for e in EDUCATION]
        labels += [("department", c) for c in self.region.codes]
        return labels

    def life_table_input(self) -> pd.DataFrame:
        """Deaths, person-years and people with activity limitation by year, sex, stratum,
        group and age (simulated people, unweighted); stratum ``all`` included.
        Person-years = alive at start - deaths/2; ``disabled`` counts the limited among
        those alive at the start of the year.

        With the expected-value estimator (``outcomes.mortality_estimator = "expected"``,
        the default) ``deaths`` is the sum of each living person's probability of dying in
        the year (a float) and the deaths drawn are kept in ``deaths_realised``: both have
        the same expectation, and the expected deaths carry no binomial noise."""
        if not self._counts:
            return pd.DataFrame(columns=["year", "sex", "by", "group", "age", "deaths",
                                         "person_years", "disabled"])
        counts = np.stack(self._counts)  # [year, kind, group, sex, age]
        labels = self.group_labels()
        frames = []
        vt = counts[:, :, kd.G_VINGTILE:kd.G_VINGTILE + 20].sum(axis=2, keepdims=True)
        full = np.concatenate([vt, counts], axis=2)
        labels = [("all", "all")] + labels
        y, g, s, a = np.nonzero(full[:, 0])
        alive = full[y, 0, g, s, a]
        dead = full[y, 1, g, s, a]
        disabled = full[y, 2, g, s, a]
        by = np.array([lab[0] for lab in labels], dtype=object)
        grp = np.array([lab[1] for lab in labels], dtype=object)
        columns = {
            "year": np.asarray(self._years)[y], "sex": np.array(SEX, dtype=object)[s],
            "by": by[g], "group": grp[g], "age": a, "deaths": dead.astype(np.int64),
            "person_years": alive - dead / 2.0, "disabled": disabled.astype(np.int64),
        }
        if self._expected and all(e is not None for e in self._expected):
            ex = np.stack(self._expected)  # [year, group, sex, age]
            ex = np.concatenate([ex[:, kd.G_VINGTILE:kd.G_VINGTILE + 20].sum(
                axis=1, keepdims=True), ex], axis=1)[y, g, s, a]
            columns["deaths_realised"] = columns["deaths"]
            columns["deaths"] = ex
            columns["person_years"] = alive - ex / 2.0
        frames.append(pd.DataFrame(columns))
        return pd.concat(frames, ignore_index=True)

    def window_bounds(self, window_years: int | None = None) -> tuple[int, int]:
        """First and last calendar year of the period life tables: the last
        ``window_years`` simulated years (default: the scenario's ``metrics.window_years``)."""
        if not self._years:
            raise RuntimeError("the model has not been stepped yet")
        w = self.scenario.window_years if window_years is None else window_years
        return max(self._years[0], self._years[-1] - w + 1), self._years[-1]

    def life_expectancy(self, ages: Sequence[int] = (0, 35, 60, 65),
                        window_years: int | None = None,
                        life_table_input: pd.DataFrame | None = None,
                        healthy: bool = False) -> pd.DataFrame:
        """Period life expectancy (years) by sex and stratum over :meth:`window_bounds`;
        with ``healthy=True`` also healthy life expectancy (column ``hle``, Sullivan)."""
        agg = self.life_table_input() if life_table_input is None else life_table_input
        first, last = self.window_bounds(window_years)
        return metrics.life_expectancy_by_stratum(metrics.window(agg, first, last), ages=ages,
                                                  healthy=healthy)


__all__ = ["AGE_CAP", "Department", "HealthInequalityModel", "MIN_CHUNK"]
