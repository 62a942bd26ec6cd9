"""Interventions: types, allocation modes, budgets and costs.

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

#: Strength of the evidence behind an effect size, strongest first.
GRADES = ("meta-analysis of trials", "trial", "observational", "assumption")
#: What a unit cost pays for besides the model parameters naming a share of users.
COST_BASES = ("dose", "effect")


@dataclass(frozen=True)
class InterventionType:
    """What an intervention changes, whom it can reach, its effect size with its 95% range,
    the strength and source of its evidence, and its cost (one entry of
    ``simulation/data/interventions.toml``, the registry of intervention types)."""

    name: str
    label_fr: str
    label_en: str
    eligible: str  # who can receive it (plain words, English)
    effect: float  # central effect size, in effect_unit
    effect_unit: str
    effect_source: str  # the evidence, with its numbers (English)
    unit_cost_eur: float
    cost_source: str
    effect_low: float = 0.0  # 95% range of the effect size
    effect_high: float = 0.0
    grade: str = "assumption"
    #: "dose" (the unit cost per person offered a full dose a year), "effect" (per person
    #: in whom the effect occurs, once) or a parameter: the share of those offered who use it
    cost_basis: str = "dose"
    published_cost_per_qaly: str = ""
    texts_fr: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def text(self, key: str, lang: str) -> str:
        """One of the texts (``eligible``, ``effect_unit``, ``effect_source``,
        ``cost_source``, ``published_cost_per_qaly``) in ``lang``."""
        if lang == "fr" and key in self.texts_fr:
            return self.texts_fr[key]
        return getattr(self, key)

    def label(self, lang: str) -> str:
        return self.label_fr if lang == "fr" else self.label_en

    def draw_effect(self, u: float) -> float:
        """The effect size at quantile ``u`` of its uncertainty: a split normal whose mode is
        the central value and whose 2.5 and 97.5 percentiles are ``effect_low`` and
        ``effect_high``, truncated at 0 (and at 1 for effects bounded by 1)."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(min(max(u, 1e-12), 1.0 - 1e-12))
        half = (self.effect_high - self.effect) if z > 0 else (self.effect - self.effect_low)
        value = self.effect + z * half / 1.959963984540054
        top = 10.0 if self.effect_unit.startswith("relative increase") else 1.0
        return float(min(max(value, 0.0), top))

    def record(self, lang: str = "en") -> dict[str, Any]:
        """The registry entry as printed by ``run.py interventions --json``."""
        return {"type": self.name, "label": self.label(lang),
                "eligible": self.text("eligible", lang), "effect": self.effect,
                "effect_low": self.effect_low, "effect_high": self.effect_high,
                "effect_unit": self.text("effect_unit", lang), "grade": self.grade,
                "evidence": self.text("effect_source", lang),
                "unit_cost_eur": self.unit_cost_eur, "cost_basis": self.cost_basis,
                "cost_source": self.text("cost_source", lang),
                "published_cost_per_qaly": self.text("published_cost_per_qaly", lang)}


def load_types() -> tuple[InterventionType, ...]:
    """The intervention types of ``simulation/data/interventions.toml``, in file order."""
    import tomllib
    from importlib import resources

    raw = tomllib.loads(resources.files("simulation.data").joinpath("interventions.toml")
                        .read_text("utf-8"))
    out = []
    for name, t in raw.items():
        if not (t["effect_low"] <= t["effect"] <= t["effect_high"]):
            raise ValueError(f"interventions.toml: {name}: effect outside its range")
        if t["grade"] not in GRADES:
            raise ValueError(f"interventions.toml: {name}: grade must be one of {GRADES}")
        out.append(InterventionType(
            name=name, label_fr=t["label_fr"], label_en=t["label_en"],
            eligible=t["eligible_en"], effect=float(t["effect"]),
            effect_unit=t["effect_unit_en"], effect_source=t["evidence_en"],
            unit_cost_eur=float(t["unit_cost_eur"]), cost_source=t["cost_source_en"],
            effect_low=float(t["effect_low"]), effect_high=float(t["effect_high"]),
            grade=t["grade"], cost_basis=t["cost_basis"],
            published_cost_per_qaly=t["published_cost_per_qaly_en"],
            texts_fr={"eligible": t["eligible_fr"], "effect_unit": t["effect_unit_fr"],
                      "effect_source": t["evidence_fr"], "cost_source": t["cost_source_fr"],
                      "published_cost_per_qaly": t["published_cost_per_qaly_fr"]}))
    return tuple(out)


TYPES: tuple[InterventionType, ...] = load_types()
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
        return (a["smoking"] == 1) & (age >= params["smoking.quit_min_age"])
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


def cost_share(kind: InterventionType, effect: float, params: dict[str, Any]) -> float:
    """The share of a full dose that is paid for (see :attr:`InterventionType.cost_basis`):
    1 for ``dose``, the effect itself for ``effect`` (e.g. the homes remediated), or the
    value of the parameter that gives the share of users (e.g. the smokers who make a
    supported quit attempt)."""
    if kind.cost_basis == "dose":
        return 1.0
    if kind.cost_basis == "effect":
        return float(effect)
    return float(params[kind.cost_basis])


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
    #: by type, each living person's dose (0 where ineligible), in the order of the arrays
    #: the plan was made from; only for the types whose model-side effects need it
    doses: dict[str, np.ndarray] = field(default_factory=dict)


def plan_year(interventions: tuple[Intervention, ...], year: int, a: dict[str, np.ndarray],
              params: dict[str, Any], weight: float, departments: list[str]) -> YearPlan:
    """Compile the scenario's interventions for ``year`` on the living population ``a``."""
    arr = np.zeros((N_TYPES, row_length(len(departments))))
    costs: dict[str, float] = {}
    reached: dict[str, float] = {}
    doses: dict[str, np.ndarray] = {}
    for iv in interventions:
        if not iv.active(year):
            continue
        tables = need_tables(iv.allocation, departments)
        mask = eligible_mask(iv.type, a, params)
        sub = {k: x[mask] for k, x in a.items()}
        need = person_need(tables, sub, rank_limit(iv.allocation))
        if iv.allocation.budget_eur is not None:
            k = solve_scale(need, iv.unit_cost_eur * cost_share(iv.kind, iv.effect, params),
                            weight, iv.allocation.budget_eur)
        else:
            k = iv.allocation.intensity
        dose = np.minimum(1.0, k * need)
        costs[iv.name] = float(weight * iv.unit_cost_eur * dose.sum()
                               * cost_share(iv.kind, iv.effect, params))
        reached[iv.name] = float(weight * (dose > 0).sum())
        arr[TYPE_INDEX[iv.type]] = pack(tables, k, iv.effect, rank_limit(iv.allocation))
        if iv.type in DOSES_KEPT:
            full = np.zeros(mask.shape[0])
            full[mask] = dose
            doses[iv.type] = full
    return YearPlan(arr, costs, reached, doses)


#: Types whose per-person doses the model needs besides the kernels' tables.
DOSES_KEPT = ("early_childhood",)


def empty_plan(n_departments: int) -> np.ndarray:
    return np.zeros((N_TYPES, row_length(n_departments)))
