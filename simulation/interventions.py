"""Interventions: types, allocation modes, budgets and costs (DESIGN section 7).

An intervention has a **type** (what it changes in the pathways), an **allocation** (who
gets how much: ``universal``, ``targeted`` by a rule on income rank, PCS, diploma,
department or priority zone, or ``proportionate``: an intensity that grows with need along
the whole income gradient), a start year and duration, an effect size with its source, a
unit cost, and optionally a yearly budget.

Each year the allocation gives every eligible person a *need* in [0, 1] (a product of
tables by income vingtile, PCS, diploma, department and priority zone), and the person's
*dose* is ``min(1, k * need)``. Without a budget ``k`` is the intervention's
``intensity``; with ``budget_eur`` it is solved so that the year's cost,
``sum(weight * unit_cost * dose)`` over the eligible, equals the budget (capped when
everyone eligible already has dose 1). The kernels receive, per type, the tables with ``k``
folded in and the effect size: the effect on a person is ``effect * dose``. A dose of zero
changes nothing, so a zero-intensity intervention reproduces the baseline exactly (common
random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .population import EDUCATION, PCS


@dataclass(frozen=True)
class InterventionType:
    """What an intervention changes, whom it can reach, its default effect and cost."""

    name: str
    label_fr: str
    label_en: str
    eligible: str  # who can receive it (plain words)
    effect: float
    effect_unit: str
    effect_source: str
    unit_cost_eur: float
    cost_source: str


TYPES: tuple[InterventionType, ...] = (
    InterventionType(
        "outreach_css", "Aller-vers : accès à la CSS", "Outreach for the CSS",
        "people eligible for the free or contributory CSS",
        0.51, "share of the eligible non-takers reached who take the CSS up",
        "DREES (2018): 63% of people with an unclaimed entitlement obtain it after a "
        "'rendez-vous des droits'; the commission's partner referral schemes report 19% of "
        "appointments not kept (ARS Occitanie commission documents): 0.63 x 0.81", 60.0,
        "assumption: about one hour of a social worker's time per person reached per year"),
    InterventionType(
        "auto_enrolment_css", "Attribution automatique de la CSS",
        "Automatic enrolment in the CSS", "people eligible for the free or contributory CSS",
        0.9, "share of the eligible non-takers enrolled",
        "assumption: automatic attribution from tax and benefit data reaches most of the "
        "eligible; data mismatches leave about a tenth out", 10.0,
        "assumption: administrative cost of data matching per eligible person per year"),
    InterventionType(
        "gp_priority_zones", "Temps médical en zones prioritaires",
        "Extra GP time in priority zones", "residents of the priority zones for access to care",
        0.5, "relative reduction of the probability of having no registered GP",
        "assumption: extra GP time (salaried doctors, health centres) halves the share of "
        "residents without a medecin traitant", 30.0,
        "assumption: about one GP consultation (26.50 euros in 2023) per resident per year"),
    InterventionType(
        "out_of_pocket", "Baisse du reste à charge", "Lower out-of-pocket costs",
        "people aged 16 and over", 0.5,
        "relative reduction of the probability of forgoing care for cost",
        "assumption: forgone care for cost is mostly dental and optical (INSEE SRCV 2017); "
        "lower co-payments halve it", 25.0,
        "assumption: public cost per person covered per year"),
    InterventionType(
        "early_childhood", "Prévention petite enfance", "Early-childhood prevention",
        "children aged 0-6", 0.3,
        "relative reduction of childhood obesity onset and of the load accumulated at 0-5",
        "assumption: home visiting and early-education programmes reduce childhood obesity "
        "and adversity by about a third in trials (orders of magnitude)", 500.0,
        "assumption: home visits by maternal and child protection services (PMI) per child "
        "per year"),
    InterventionType(
        "youth_mental_health", "Santé mentale des jeunes", "Youth mental health support",
        "young people aged 11-25", 0.2,
        "relative reduction of high stress and of the onset of psychiatric conditions",
        "assumption: school and community mental-health programmes (orders of magnitude)",
        150.0, "assumption: about three psychologist sessions per young person per year"),
    InterventionType(
        "smoking_cessation", "Aide au sevrage tabagique", "Smoking cessation support",
        "daily smokers aged 26 and over (the ages at which the model lets smokers quit)",
        1.0,
        "relative increase of the yearly probability of quitting",
        "assumption: supported quit attempts roughly double success (pharmacotherapy RR "
        "1.5-2.2 in Cochrane reviews)", 300.0,
        "assumption: substitutes and counselling per smoker per year"),
    InterventionType(
        "healthier_housing", "Logement sain et espaces verts", "Healthier housing and green space",
        "people whose home is exposed to environmental nuisance", 0.1,
        "yearly probability that an exposed home is remediated",
        "assumption: renovation and greening programmes treat about a tenth of exposed homes "
        "a year at full intensity", 2000.0,
        "assumption: cost per exposed person per year of renovation and greening"),
    InterventionType(
        "health_literacy", "Littératie en santé", "Health literacy",
        "people aged 16 and over", 0.1,
        "relative reduction of smoking initiation, adult obesity onset and CSS non-take-up",
        "assumption: health-literacy programmes have small effects on behaviours and "
        "take-up", 20.0, "assumption: cost per person reached per year"),
)
TYPE_INDEX = {t.name: i for i, t in enumerate(TYPES)}
N_TYPES = len(TYPES)

MODES = ("universal", "targeted", "proportionate")
TARGET_BY = ("income_rank", "pcs", "education", "department", "priority_zone")
#: Pathways a counterfactual can equalise to the reference group (the richest quintile).
PATHWAYS = ("smoking", "obesity", "environment", "stress", "care", "disease", "mortality")
#: The reference person of counterfactuals: income rank at the middle of the richest
#: quintile, higher-education diploma.
REFERENCE_RANK = 0.9
REFERENCE_EDUCATION = EDUCATION.index("superieur")


@dataclass(frozen=True)
class Allocation:
    """Who gets how much (see the module docstring)."""

    mode: str = "universal"
    intensity: float = 1.0
    budget_eur: float | None = None
    by: str | None = None  # targeted: income_rank, pcs, education, department, priority_zone
    max_rank: float | None = None  # targeted by income rank: ranks below this
    groups: tuple[str, ...] = ()  # targeted by pcs, education or department
    gradient: str = "linear"  # proportionate: linear or stepped
    min_need: float = 0.2  # proportionate: need of the richest relative to the poorest
    steps: tuple[float, ...] = ()  # proportionate stepped: need by income quintile


@dataclass(frozen=True)
class Intervention:
    """One intervention of a scenario."""

    type: str
    name: str
    start_year: int
    duration_years: int | None
    allocation: Allocation
    effect: float
    effect_source: str
    unit_cost_eur: float

    @property
    def kind(self) -> InterventionType:
        return TYPES[TYPE_INDEX[self.type]]

    def active(self, year: int) -> bool:
        end = None if self.duration_years is None else self.start_year + self.duration_years
        return year >= self.start_year and (end is None or year < end)


@dataclass
class Counterfactual:
    """Pathways equalised to the reference group (richest quintile)."""

    equalise: tuple[str, ...] = field(default_factory=tuple)

    def flags(self) -> np.ndarray:
        return np.array([p in self.equalise for p in PATHWAYS], dtype=np.uint8)


def need_tables(alloc: Allocation, departments: list[str]) -> dict[str, np.ndarray]:
    """Need (0-1) by income vingtile, PCS, diploma, department and priority zone."""
    v = np.ones(20)
    p = np.ones(len(PCS))
    e = np.ones(len(EDUCATION))
    d = np.ones(len(departments))
    z = np.ones(2)
    mids = (np.arange(20) + 0.5) / 20
    if alloc.mode == "targeted":
        if alloc.by == "income_rank":
            # whole vingtiles below the limit; the limit itself is applied person by person
            # (kernels and person_need), so that e.g. 0.124 reaches ranks below 0.124
            v = ((mids - 0.025) < (alloc.max_rank or 0.0)).astype(float)
        elif alloc.by == "pcs":
            p = np.array([name in alloc.groups for name in PCS], dtype=float)
        elif alloc.by == "education":
            e = np.array([name in alloc.groups for name in EDUCATION], dtype=float)
        elif alloc.by == "department":
            d = np.array([code in alloc.groups for code in departments], dtype=float)
        elif alloc.by == "priority_zone":
            z = np.array([0.0, 1.0])
    elif alloc.mode == "proportionate":
        if alloc.gradient == "stepped":
            v = np.repeat(np.asarray(alloc.steps, float), 4)
        else:
            v = 1.0 - (1.0 - alloc.min_need) * mids
    return {"vingtile": v, "pcs": p, "education": e, "department": d, "zone": z}


def pack(tables: dict[str, np.ndarray], k: float, effect: float, max_rank: float) -> np.ndarray:
    """One row of the kernels' intervention array: need tables (k folded into the
    vingtile table), the income-rank limit (people at or above it get nothing), then the
    effect size."""
    return np.concatenate([tables["vingtile"] * k, tables["pcs"], tables["education"],
                           tables["department"], tables["zone"], [max_rank, effect]])


def row_length(n_departments: int) -> int:
    return 20 + len(PCS) + len(EDUCATION) + n_departments + 2 + 2


def rank_limit(alloc: Allocation) -> float:
    """Income rank at or above which nobody is reached (2 = no limit)."""
    if alloc.mode == "targeted" and alloc.by == "income_rank":
        return float(alloc.max_rank or 0.0)
    return 2.0


def eligible_mask(kind: str, a: dict[str, np.ndarray], params: dict[str, Any]) -> np.ndarray:
    """Who can receive an intervention of type ``kind`` now (``a``: living people's arrays)."""
    age = a["age"]
    if kind in ("outreach_css", "auto_enrolment_css"):
        return a["income_rank"] < params["care.css_contributory_rank_max"]
    if kind == "gp_priority_zones":
        return (a["care"] & 4) > 0
    if kind in ("out_of_pocket", "health_literacy"):
        return age >= 16
    if kind == "early_childhood":
        return age <= 6
    if kind == "youth_mental_health":
        return (age >= 11) & (age <= 25)
    if kind == "smoking_cessation":
        return (a["smoking"] == 1) & (age >= 26)
    if kind == "healthier_housing":
        return a["nuisance"] == 1
    raise KeyError(kind)


def person_need(tables: dict[str, np.ndarray], a: dict[str, np.ndarray],
                max_rank: float = 2.0) -> np.ndarray:
    v = np.minimum((a["income_rank"] * 20).astype(np.int64), 19)
    need = (tables["vingtile"][v] * tables["pcs"][a["pcs"]]
            * tables["education"][a["education"]] * tables["department"][a["department"]]
            * tables["zone"][(a["care"] >> 2) & 1])
    return np.where(a["income_rank"] < max_rank, need, 0.0)


def solve_scale(need: np.ndarray, unit_cost: float, weight: float, budget: float) -> float:
    """The ``k`` such that ``weight * unit_cost * sum(min(1, k * need)) = budget``
    (the smallest k giving everyone with a positive need a full dose when the budget
    covers more than that). Exact, O(n log n): the spending is piecewise linear in k with
    breakpoints at 1 / need."""
    s = np.sort(need[need > 0])
    if s.size == 0 or unit_cost <= 0 or budget <= 0:
        return 0.0
    target = budget / (weight * unit_cost)  # number of full doses the budget buys
    n = s.size
    if target >= n:
        return float(np.nextafter(1.0 / s[0], np.inf))  # k * s[0] >= 1 despite rounding
    prefix = np.concatenate([[0.0], np.cumsum(s)])  # prefix[i] = sum(s[:i])
    idx = np.arange(n)
    spend_at_break = (n - idx) + prefix[:-1] / s  # spending at k = 1 / s[i], decreasing
    i = int(np.count_nonzero(spend_at_break >= target)) - 1
    m = n - (i + 1)  # people saturated for k just below 1 / s[i]
    return float((target - m) / prefix[i + 1])


@dataclass
class YearPlan:
    """Kernel arrays and costs of the interventions in one year."""

    array: np.ndarray  # [N_TYPES, row_length]
    cost_eur: dict[str, float]
    reached: dict[str, float]  # full-scale number of people with a positive dose


def plan_year(interventions: tuple[Intervention, ...], year: int, a: dict[str, np.ndarray],
              params: dict[str, Any], weight: float, departments: list[str]) -> YearPlan:
    """Compile the scenario's interventions for ``year`` on the living population ``a``."""
    arr = np.zeros((N_TYPES, row_length(len(departments))))
    costs: dict[str, float] = {}
    reached: dict[str, float] = {}
    for iv in interventions:
        if not iv.active(year):
            continue
        tables = need_tables(iv.allocation, departments)
        mask = eligible_mask(iv.type, a, params)
        sub = {k: x[mask] for k, x in a.items()}
        need = person_need(tables, sub, rank_limit(iv.allocation))
        if iv.allocation.budget_eur is not None:
            k = solve_scale(need, iv.unit_cost_eur, weight, iv.allocation.budget_eur)
        else:
            k = iv.allocation.intensity
        dose = np.minimum(1.0, k * need)
        costs[iv.name] = float(weight * iv.unit_cost_eur * dose.sum())
        reached[iv.name] = float(weight * (dose > 0).sum())
        arr[TYPE_INDEX[iv.type]] = pack(tables, k, iv.effect, rank_limit(iv.allocation))
    return YearPlan(arr, costs, reached)


def empty_plan(n_departments: int) -> np.ndarray:
    return np.zeros((N_TYPES, row_length(n_departments)))
