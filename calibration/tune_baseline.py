"""Tune the default pathway parameters so that the baseline reproduces the French gradients.

    python calibration/tune_baseline.py --agents 200000 --replicates 2 --iterations 10 --write

The baseline is simulated over the years its targets were observed (by default 2012-2016,
``--start-year 2012 --years 5``, as ``run.py validate-baseline``): with the mortality trend
and migration by year, a level factor then absorbs no missing trend.

Each iteration runs the baseline with the current values and updates a few parameters by
damped fixed-point steps, each tied to one target (simulation/validation.py gives the
sources):

===================================  =================================================
parameter                            target
===================================  =================================================
smoking.p_initiation (per sex)       daily smoking 18-75, men 27.4%, women 21.7%
smoking.initiation_rr_education      daily smoking 30.8% below bac, 16.8% above bac
obesity.p_incidence_adult            adult obesity 17%
disease.incidence_scale              DREES prevalence of each condition by age (applied
                                     to the simulated population's ages)
disease.rr_income_residual (CVD,     DREES prevalence ratio D1/D10 (both sexes)
diabetes, respiratory, psychiatric,
cancer)
mortality.rr_income_residual         INSEE e0 gap between the richest and poorest 5%
mortality.income_gradient_at_90      INSEE e65 gap between the richest and poorest 5%
mortality.level                      INSEE e0 of the whole population
mortality.level_old_age              INSEE e65 of the whole population
mortality.rr_manual_occupation (per  INSEE e35 gap between cadres and ouvriers (men
sex, at least 1)                     6.4, women 3.2 years, Insee Premiere 1584)
mortality.rr_no_diploma (per sex, at INSEE e35 gap between graduates of higher
least 1)                             education and people without diploma (men 7.5,
                                     women 4.2 years)
pcs.latent_corr_income (women's)     INSEE e35 gap between cadres and ouvrieres
                                     (3.2 years)
disability.p_onset (per sex)         DREES disability-free life expectancy at 65
                                     (men 10.4, women 11.5 years, 2019)
disability.p_onset_base (per sex)    DREES disability-free life expectancy at birth
                                     (men 63.7, women 64.6 years, 2019)
care.p_forgone                       forgone care for cost 16+, 3.5% (INSEE SRCV 2017)
care.forgone_rr_income               forgone care 6.5% in the poorest fifth
===================================  =================================================

Everything else keeps its sourced or assumed value. With ``--write`` the tuned values are
written into simulation/data/parameters.toml (only the ``value`` lines change). This is a
deterministic tuning of point values; the Bayesian calibration with uncertainty is a
separate tool.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.config import load_scenario, resolve_parameters  # noqa: E402
from simulation.pathways import DREES_GROUPS  # noqa: E402
from simulation.population import read_data  # noqa: E402
from simulation.validation import compare_targets  # noqa: E402

TUNED = ["smoking.p_initiation", "smoking.initiation_rr_education", "obesity.p_incidence_adult",
         "disease.incidence_scale", "disease.rr_income_residual", "mortality.rr_income_residual",
         "mortality.income_gradient_at_90", "mortality.level", "mortality.level_old_age",
         "mortality.rr_manual_occupation", "mortality.rr_no_diploma",
         "pcs.latent_corr_income", "disability.p_onset", "disability.p_onset_base",
         "care.p_forgone", "care.forgone_rr_income"]
#: Years of the e35 gap per unit of log relative risk of ouvriers or of people without
#: diploma (a first guess; the damped steps converge from it).
E35_GAP_SLOPE = 5.0


def drees_targets() -> tuple[np.ndarray, np.ndarray]:
    """Mean standardised prevalence over deciles and the D1/D10 ratio, per condition."""
    df = read_data("drees_chronic_disease_prevalence_by_income_decile_2016_2017.csv")
    prev, ratio = [], []
    for g in DREES_GROUPS:
        d = df[df["disease_group"] == g].set_index("income_decile")["std_rate"]
        prev.append(d.mean())
        ratio.append(d[1] / d[10])
    return np.array(prev), np.array(ratio)


def run_once(values: dict, agents: int, years: int, seed: int, replicates: int,
             start_year: int = 2012) -> dict:
    import tomllib

    from simulation.config import parse_scenario
    from simulation.pathways import prevalence_by_age
    from simulation.validation import run_pooled

    raw = tomllib.loads((ROOT / "scenarios" / "baseline.toml").read_text())
    raw["parameters"] = dict(values)
    sc = parse_scenario(raw, "tune").with_options(agents=agents, years=years, seed=seed,
                                                  start_year=start_year)
    le, people = run_pooled(sc, replicates)
    table = compare_targets(le, people, sc.parameters)
    by_age = prevalence_by_age()
    prev, expected, ratio = [], [], []
    for k in range(5):
        has = (people["conditions"] & (1 << k)) > 0
        prev.append(has.mean())
        expected.append(by_age[k, people["age"].to_numpy()].mean())
        by_dec = has.groupby(people["decile"]).mean()
        ratio.append(by_dec.get(1, np.nan) / by_dec.get(10, np.nan))
    adults = people[(people["age"] >= 18) & (people["age"] <= 75)]
    smoker = adults["smoking"] == 1
    return {"table": table, "le": le, "prev": np.array(prev), "expected": np.array(expected),
            "ratio": np.array(ratio),
            "smoking_sex": [smoker[adults["sex"] == s].mean() for s in (0, 1)],
            "smoking_low": smoker[adults["education"] <= 2].mean(),
            "smoking_high": smoker[adults["education"] == 4].mean(),
            "obesity": people.loc[people["age"] >= 18, "obese"].mean()}


def target_row(t, target: str, group: str):
    """The row of the validation table ``t`` for one target and group."""
    return t[(t["target"] == target) & (t["group"] == group)].iloc[0]


def update(values: dict, res: dict, gap_slope: list[float]) -> dict:
    v = {k: (list(x) if isinstance(x, list) else x) for k, x in values.items()}
    t = res["table"]
    damp = 0.8
    targets_sex = (0.274, 0.217)
    v["smoking.p_initiation"] = [
        min(0.5, p * (ts / max(ms, 1e-3)) ** damp)
        for p, ts, ms in zip(v["smoking.p_initiation"], targets_sex, res["smoking_sex"], strict=True)]
    rr = v["smoking.initiation_rr_education"]
    overall = np.mean(targets_sex) / max(np.mean(res["smoking_sex"]), 1e-3)
    f_low = (0.308 / max(res["smoking_low"], 1e-3)) / overall
    f_high = (0.168 / max(res["smoking_high"], 1e-3)) / overall
    v["smoking.initiation_rr_education"] = [rr[0] * f_low ** 0.5, rr[1] * f_low ** 0.5,
                                            rr[2] * f_low ** 0.5, rr[3], rr[4] * f_high ** 0.5]
    v["obesity.p_incidence_adult"] *= (0.17 / max(res["obesity"], 1e-3)) ** damp
    _, ratio_t = drees_targets()
    v["disease.incidence_scale"] = [
        float(np.clip(s * (pt / max(pm, 1e-4)) ** damp, 0.05, 20))
        for s, pt, pm in zip(v["disease.incidence_scale"], res["expected"], res["prev"],
                             strict=True)]
    v["disease.rr_income_residual"] = [
        float(np.clip(math.exp(math.log(r) + 0.7 * (math.log(rt) - math.log(max(rm, 1e-3)))),
                      0.2, 10))
        for r, rt, rm in zip(v["disease.rr_income_residual"], ratio_t, res["ratio"], strict=True)]
    new_r, new_level, new_att, new_old = [], [], [], []
    for s, sex in enumerate(("M", "F")):
        row = target_row(t, "e0 gap V20-V1", sex)
        lr = math.log(v["mortality.rr_income_residual"][s]) + (
            row["observed"] - row["model"]) / gap_slope[s]
        new_r.append(float(np.clip(math.exp(lr), 0.3, 20)))
        le = res["le"]
        sub = le[(le["sex"] == sex) & (le["by"] == "income_vingtile") & (le["age"] == 65)]
        e65 = sub.set_index("group")["e"]
        obs = t[(t["target"] == "e65 by income vingtile") & t["group"].str.startswith(sex + " ")]
        obs = obs.set_index("group")["observed"]
        g_model = e65["20"] - e65["1"]
        g_obs = obs[f"{sex} V20"] - obs[f"{sex} V1"]
        new_att.append(float(np.clip(v["mortality.income_gradient_at_90"][s]
                                     * (g_obs / max(g_model, 0.5)) ** 1.2, 0.0, 1.5)))
        e0 = target_row(t, "e0 whole population", sex)
        new_level.append(float(v["mortality.level"][s] * math.exp(
            (e0["model"] - e0["observed"]) / 9.0)))
        e65 = target_row(t, "e65 whole population", sex)
        new_old.append(float(v["mortality.level_old_age"][s] * math.exp(
            (e65["model"] - e65["observed"]) / 8.0)))
    rr_o, rr_d = [], []
    for s, sex in enumerate(("M", "F")):
        gap_o = target_row(t, "e35 gap by category", f"{sex} cadres - ouvriers")
        gap_d = target_row(t, "e35 gap by diploma", f"{sex} superieur - sans_diplome")
        rr_o.append(float(np.clip(v["mortality.rr_manual_occupation"][s] * math.exp(
            damp * (gap_o["observed"] - gap_o["model"]) / E35_GAP_SLOPE), 1.0, 6.0)))
        rr_d.append(float(np.clip(v["mortality.rr_no_diploma"][s] * math.exp(
            damp * (gap_d["observed"] - gap_d["model"]) / E35_GAP_SLOPE), 1.0, 6.0)))
        if sex == "F":  # women's category gap: how closely the category tracks income
            v["pcs.latent_corr_income"][1] = float(np.clip(
                v["pcs.latent_corr_income"][1]
                + damp * (gap_o["observed"] - gap_o["model"]) / 6.0, 0.0, 0.6))
    onset, base = [], []
    for s, sex in enumerate(("M", "F")):
        h65 = target_row(t, "healthy life expectancy at 65", sex)
        h0 = target_row(t, "healthy life expectancy at 0", sex)
        # about 4 years of healthy life expectancy at 65 per unit of log onset, and a
        # constant hazard of 0.002 a year per year at birth (first guesses; damped)
        onset.append(float(np.clip(v["disability.p_onset"][s] * math.exp(
            damp * (h65["model"] - h65["observed"]) / 4.0), 1e-4, 0.1)))
        base.append(float(np.clip(v["disability.p_onset_base"][s]
                                  + damp * 0.002 * (h0["model"] - h0["observed"]), 0.0, 0.2)))
    f_all = target_row(t, "forgone care for cost 16+", "all")
    f_q1 = target_row(t, "forgone care for cost 16+", "income quintile 1")
    v["care.p_forgone"] = float(np.clip(v["care.p_forgone"] * (
        f_all["observed"] / max(f_all["model"], 0.1)) ** damp, 1e-3, 0.5))
    ratio_t = f_q1["observed"] / f_all["observed"]
    ratio_m = f_q1["model"] / max(f_all["model"], 0.1)
    v["care.forgone_rr_income"] = float(np.clip(1 + (v["care.forgone_rr_income"] - 1) * (
        (ratio_t - 1) / max(ratio_m - 1, 0.05)) ** damp, 1.0, 10.0))
    v["disability.p_onset"] = onset
    v["disability.p_onset_base"] = base
    v["mortality.rr_manual_occupation"] = rr_o
    v["mortality.rr_no_diploma"] = rr_d
    v["mortality.rr_income_residual"] = new_r
    v["mortality.income_gradient_at_90"] = new_att
    v["mortality.level"] = new_level
    v["mortality.level_old_age"] = new_old
    return v


def write_values(values: dict, path: Path) -> None:
    """Replace the ``value = ...`` line of each tuned parameter in the TOML file."""
    text = path.read_text()
    for name, value in values.items():
        rounded = ([round(x, 4) for x in value] if isinstance(value, list) else round(value, 5))
        pattern = re.compile(rf"(\[{re.escape(name)}\]\nvalue = )[^\n]*")
        text, n = pattern.subn(lambda m, r=rounded: m.group(1) + json.dumps(r), text)
        if n != 1:
            raise SystemExit(f"could not find [{name}] in {path}")
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--start-year", type=int, default=2012,
                    help="first simulated (reported) year: the targets' period")
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--replicates", type=int, default=2,
                    help="replicates pooled per iteration (less noise)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument("--write", action="store_true",
                    help="write the tuned values into simulation/data/parameters.toml")
    args = ap.parse_args(argv)
    load_scenario(ROOT / "scenarios" / "baseline.toml")
    defaults = resolve_parameters({})
    values = {k: defaults[k] for k in TUNED}
    gap_slope = [4.0, 4.0]  # years of e0 gap per unit of log residual relative risk
    previous = None
    for it in range(args.iterations):
        t0 = time.perf_counter()
        res = run_once(values, args.agents, args.years, args.seed, args.replicates,
                       args.start_year)
        t = res["table"]
        gaps = t[t["target"] == "e0 gap V20-V1"].set_index("group")["model"]
        if previous is not None:  # secant update of the gap's sensitivity
            for s, sex in enumerate(("M", "F")):
                dlr = (math.log(values["mortality.rr_income_residual"][s])
                       - math.log(previous[0][s]))
                if abs(dlr) > 1e-3:
                    slope = (gaps[sex] - previous[1][sex]) / dlr
                    if 0.5 < slope < 20:
                        gap_slope[s] = slope
        scored = t[t["ok"].notna()]
        print(f"iteration {it + 1}: {int(scored['ok'].sum())}/{len(scored)} targets met, "
              f"gap M {gaps['M']:.2f} F {gaps['F']:.2f}, "
              f"smoking {res['smoking_sex'][0]:.3f}/{res['smoking_sex'][1]:.3f}, "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        previous = ([values["mortality.rr_income_residual"][0],
                     values["mortality.rr_income_residual"][1]], gaps)
        if it < args.iterations - 1:
            values = update(values, res, gap_slope)
    print(json.dumps(values, indent=1))
    if args.write:
        write_values(values, ROOT / "simulation" / "data" / "parameters.toml")
        print("written to simulation/data/parameters.toml", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
