"""Words of the report, in French and in English.

Everything a reader of the report sees that does not come from the store lives here:
headings, explanations, and French renderings of the English texts of
:data:`simulation.interventions.TYPES` (the registry's own French, and a few texts of the
code). A French rendering is keyed by the English text it translates, so that when the
code's text changes the report falls back to the new English text instead of showing a
stale translation.

The labels of categories (sexes, PCS, diplomas, departments, gaps...), French typography
and the number formats, which the dashboard and the console share, live in
:mod:`simulation.labels`.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

from ..labels import typography

# ------------------------------------------------ French renderings of interventions.TYPES

#: English text of the code -> French rendering, for texts outside the intervention
#: registry (whose entries carry their own French, simulation/data/interventions.toml).
TYPE_TEXT_FR = {
    "scenario file": "fichier du scénario",
}


@lru_cache(maxsize=1)
def _registry_fr() -> dict[str, str]:
    """The intervention registry's English texts -> their French versions."""
    from ..interventions import TYPES

    out = {}
    for kind in TYPES:
        for key, fr in kind.texts_fr.items():
            out[getattr(kind, key)] = fr
    return out


def translate(text: str, lang: str) -> tuple[str, bool]:
    """(text in ``lang``, translated?) for an English text of the code; French falls back
    to the English original when no rendering matches it exactly."""
    if lang != "fr":
        return text, True
    if text in TYPE_TEXT_FR:
        return typography(TYPE_TEXT_FR[text], lang), True
    registry = _registry_fr()
    if text in registry:
        return typography(registry[text], lang), True
    return text, False


# ------------------------------------------------------------------------- report text

T: dict[str, dict[str, Any]] = {
    "fr": {
        "html_lang": "fr",
        "title_prefix": "Rapport de comparaison",
        "report_no": "Comparaison n° {id}",
        "saved_on": "enregistrée le {date}",
        "meta_line": "{agents} personnes simulées (Occitanie), {replicates} réplication(s), "
                     "années {first} à {last}",
        "toc": "Sommaire",
        "sec_key": "En bref",
        "sec_question": "La question posée",
        "sec_scenarios": "Les scénarios comparés",
        "sec_results": "Résultats principaux",
        "sec_figures": "Figures",
        "sec_decomposition": "Par quelles voies passe l'écart ?",
        "sec_calibration": "Le modèle reproduit-il les écarts observés ?",
        "sec_uncertainty": "Quelle confiance accorder à ces chiffres ?",
        "sec_sources": "Hypothèses et sources",
        "sec_version": "Version du modèle et identifiants",
        "sec_annex": "Annexe : paramètres et données du modèle",
        "annex_params": "Tous les paramètres du modèle",
        "src_see_annex": "L'annexe donne la valeur, l'unité et la source de chacun des "
                         "paramètres du modèle, et la source de chaque fichier de données.",
        "small_population": "Attention : population simulée réduite ({agents} personnes, soit "
                            "environ {per_vingtile} par vingtile de niveau de vie). Les chiffres "
                            "par vingtile et par catégorie sont très incertains ; ce rapport "
                            "illustre la méthode plus qu'il n'éclaire une décision. Les "
                            "comparaisons du modèle utilisent d'ordinaire 100 000 personnes "
                            "ou plus.",
        "single_replicate": "Cette comparaison ne compte qu'une seule réplication : les "
                            "intervalles d'incertitude ne sont pas disponibles. Relancer la "
                            "comparaison avec plusieurs réplications (option --replicates) "
                            "pour les obtenir.",
        "few_replicates": "Avec {n} réplications seulement, les intervalles sont grossiers "
                          "(ils sont proches du plus petit et du plus grand des {n} résultats).",
        "key_baseline": "Sans intervention (scénario de référence « {name} »), l'écart "
                        "d'espérance de vie à la naissance entre {gap_words} est de {m} ans "
                        "chez les hommes et de {f} ans chez les femmes ; entre cadres et "
                        "ouvriers, il est de {cm} ans chez les hommes et de {cf} ans chez les "
                        "femmes (espérance de vie du moment calculée sur les années {first} à "
                        "{last} de la simulation).",
        "gap_fallback": "L'écart entre les 20 % les plus aisés et les 20 % les plus modestes "
                        "(Q5 − Q1) n'est pas défini dans cette comparaison : trop peu de "
                        "décès dans ces groupes pour le nombre de personnes simulées. Le "
                        "rapport résume donc les résultats avec l'écart {gap}.",
        "key_extremes": "Entre les 5 % les plus aisés et les 5 % les plus modestes (V20 − V1), "
                        "groupes plus petits donc estimations plus bruitées : {m} an chez les "
                        "hommes, {f} an chez les femmes.",
        "undefined_note": "n.d. : non défini (trop peu de décès dans le groupe pour calculer "
                          "une espérance de vie).",
        "key_scenario": "« {name} » : l'écart {gap} à la naissance varie de {m} chez les "
                        "hommes {mi} et de {f} chez les femmes {fi}{cost}. {verdict}",
        "key_cost": " ; coût : {cost} par an",
        "key_cf": " ; scénario contrefactuel, sans coût",
        "key_reading": "Une variation négative signifie que l'écart se réduit. Quand "
                       "l'intervalle exclut zéro, la variation ne tient pas au hasard de la "
                       "simulation ; elle dépend en revanche des hypothèses (voir « Quelle "
                       "confiance accorder à ces chiffres ? »).",
        "verdict_both": "L'intervalle exclut zéro pour les deux sexes.",
        "verdict_M": "L'intervalle exclut zéro chez les hommes seulement.",
        "verdict_F": "L'intervalle exclut zéro chez les femmes seulement.",
        "verdict_none": "L'intervalle contient zéro pour les deux sexes : pas d'effet établi.",
        "verdict_na": "Intervalles non disponibles (une seule réplication).",
        "years_n": "{n} an",
        "years_n_plural": "{n} ans",
        "months": "environ {n} mois",
        "question_none": "La comparaison ne formule pas de question.",
        "description": "Description donnée par les auteurs : ",
        "baseline_tag": "Référence",
        "scenario_tag": "Scénario",
        "no_intervention": "Aucune intervention : la situation actuelle, prolongée.",
        "definition_missing": "La définition de ce scénario n'est pas disponible dans la "
                              "base.",
        "who": "Pour qui",
        "rule": "Répartition",
        "budget": "Budget",
        "when": "Quand",
        "effect": "Effet supposé",
        "unit_cost": "Coût unitaire",
        "reached": "Personnes atteintes",
        "source": "source",
        "source_en": "source (citée en anglais)",
        "mode_universal": "universelle : la même intensité pour toutes les personnes "
                          "éligibles",
        "mode_targeted_income": "ciblée : réservée aux {pct} les plus modestes (rang de "
                                "niveau de vie inférieur à {rank})",
        "mode_targeted_pcs": "ciblée sur les catégories socioprofessionnelles : {groups}",
        "mode_targeted_education": "ciblée selon le diplôme : {groups}",
        "mode_targeted_department": "ciblée sur les départements : {groups}",
        "mode_targeted_zone": "ciblée sur les zones prioritaires pour l'accès aux soins "
                              "({share} de la population)",
        "mode_prop_linear": "proportionnée : offerte à toutes les personnes éligibles, avec "
                            "une intensité qui décroît régulièrement avec le niveau de vie ; "
                            "les plus aisés reçoivent {min} de l'intensité offerte aux plus "
                            "modestes",
        "mode_prop_stepped": "proportionnée par paliers : intensité relative par quintile de "
                             "niveau de vie, du plus modeste au plus aisé : {steps}",
        "budget_text": "{money} par an, répartis selon cette règle",
        "intensity_text": "pas de budget fixé ; intensité {pct} de la dose complète",
        "when_open": "à partir de {start}, jusqu'à la fin de la simulation ({end})",
        "when_duration": "de {start} à {end}",
        "effect_text": "{value} : {unit}",
        "unit_cost_text": "{money} par personne et par an (dose complète)",
        "unit_cost_dose": "{money} par personne et par an (dose complète)",
        "unit_cost_effect": "{money} par personne chez qui l'effet se produit (une fois)",
        "unit_cost_use": "{money} par personne qui l'utilise (part des personnes aidées : "
                         "{param})",
        "effect_range_text": "{value} (intervalle à 95 % : {low} à {high} ; niveau de "
                             "preuve : {grade})",
        "grade_meta-analysis of trials": "méta-analyse d'essais",
        "grade_trial": "essai randomisé",
        "grade_observational": "étude observationnelle",
        "grade_assumption": "hypothèse",
        "col_range": "Effet central et intervalle à 95 %",
        "col_grade": "Niveau de preuve",
        "col_evidence": "Sources et chiffres",
        "col_published": "Coût par QALY publié",
        "annex_interventions": "Types d'intervention : effets, niveau de preuve, sources et "
                               "coûts (registre simulation/data/interventions.toml)",
        "reached_text": "environ {n} personnes par an en moyenne, pour un coût moyen de {cost} "
                        "par an, soit {per} par personne atteinte",
        "reached_none": "aucune personne atteinte pendant la simulation",
        "counterfactual": "Scénario contrefactuel (ce n'est pas une intervention réelle) : "
                          "chacun a {pathways} du groupe de référence (niveau de vie au milieu "
                          "du cinquième le plus aisé, diplôme du supérieur), tout le reste "
                          "inchangé.",
        "params_changed": "Paramètres modifiés par rapport à la référence : {list}.",
        "tbl_gap_caption": "Écart d'espérance de vie (années) entre groupes sociaux, par "
                           "scénario",
        "tbl_hle_caption": "Écart d'espérance de vie sans incapacité (années), par scénario",
        "tbl_cost_caption": "Coûts, gains de santé et efficacité, par scénario",
        "tbl_extra_caption": "Indicateurs complémentaires (espérance de vie à la naissance)",
        "col_scenario": "Scénario",
        "col_birth": "à la naissance",
        "col_35": "à 35 ans",
        "col_cost_year": "Coût par an",
        "col_deaths": "Décès évités",
        "col_ly": "Années de vie gagnées",
        "col_qaly": "QALY gagnées",
        "col_cost_qaly": "Coût par QALY gagnée",
        "col_per_meur": "Réduction de l'écart {gap} par million d'euros annuel "
                        "(années)",
        "col_sii": "Indice de pente des inégalités (SII, années)",
        "baseline_row": "{value} {interval}",
        "change_vs_baseline": "variation",
        "tbl_gap_note": "Pour la référence : l'écart (moyenne des réplications) et, entre "
                        "crochets, son intervalle à 95 %. Pour chaque scénario : l'écart, puis "
                        "sa variation par rapport à la référence (scénario − référence, "
                        "calculée réplication par réplication) et l'intervalle à 95 % de cette "
                        "variation. Une variation négative signifie que l'écart se réduit. "
                        "L'espérance de vie est celle « du moment », calculée sur les années "
                        "{first} à {last} de la simulation.",
        "tbl_cost_note": "Coûts de l'intervention en euros courants pour toute la région, "
                         "pendant les années où elle est menée (les coûts de soins ne sont "
                         "pas modélisés). Décès évités : sur les {years} ans simulés. Années "
                         "de vie et QALY (années de vie pondérées par la qualité de vie, une "
                         "année avec incapacité comptant {util}) : {horizon}, pour toute la "
                         "population de la région ; années de vie, QALY et coûts sont "
                         "actualisés à {rate} par an à partir de la première année. "
                         "Intervalles à 95 % entre crochets. « Réduction par million "
                         "d'euros » : baisse de l'écart {gap} à la naissance divisée par le "
                         "coût annuel en millions d'euros (positive = l'écart se réduit).",
        "horizon_lifetime": "sur la vie entière (les années simulées, puis l'espérance de "
                            "vie restante de chaque personne en vie à leur terme, selon son "
                            "risque de décès à ce moment ; horizon de référence de la HAS)",
        "horizon_simulation": "sur les {years} ans simulés seulement",
        "tbl_equity_caption": "Espérance de vie ajustée sur la qualité (QALE) à la naissance "
                              "par quintile de niveau de vie, et bien-être social",
        "col_qale_q": "QALE du quintile {q} (années)",
        "col_ede": "Équivalent également réparti (années)",
        "tbl_equity_note": "Analyse coût-efficacité distributive : espérance de vie ajustée "
                           "sur la qualité de vie (une année avec incapacité comptant {util}) "
                           "à la naissance, hommes et femmes ensemble, années {first} à "
                           "{last}. L'« équivalent également réparti » (indice d'Atkinson, "
                           "aversion aux inégalités {eps}, valeur estimée en Angleterre par "
                           "Robson et al. 2017) est le niveau de santé qui, partagé également "
                           "entre les quintiles, vaudrait autant pour la société que la "
                           "répartition simulée : il progresse plus que la moyenne quand les "
                           "gains vont aux plus modestes. Pour les scénarios, variation par "
                           "rapport à la référence ; intervalles à 95 % entre crochets.",
        "no_interval": "intervalle non disponible",
        "not_applicable": "sans objet",
        "fig_vingtile_title": "Espérance de vie à la naissance selon le niveau de vie",
        "fig_vingtile_caption": "Espérance de vie à la naissance par vingtile de niveau de "
                                "vie (1 = les 5 % les plus modestes, 20 = les 5 % les plus "
                                "aisés), pour chaque scénario (moyenne des réplications ; "
                                "bande grise : intervalle à 95 % de la référence). En "
                                "pointillés : la courbe observée par l'INSEE pour la France "
                                "entière en 2012-2016.",
        "fig_vingtile_read": "Lecture : chaque point est l'espérance de vie d'un vingtile ; "
                             "plus la courbe monte de gauche à droite, plus l'écart social "
                             "est grand. Des courbes confondues signifient que le scénario "
                             "change peu l'espérance de vie à cette échelle.",
        "fig_time_title": "Évolution de l'écart au fil des années",
        "fig_population_title": "La population de la région au fil des années",
        "fig_population_caption": "Scénario de référence, projection démographique "
                                  "« {projection} » : en haut, population au 31 décembre "
                                  "(millions d'habitants) ; en bas, naissances, décès et solde "
                                  "migratoire de l'année (milliers), moyenne des réplications.",
        "fig_population_read": "Lecture : la population croît tant que le solde migratoire "
                               "dépasse l'excédent des décès sur les naissances. Les années "
                               "observées suivent la fécondité et la mortalité observées ; "
                               "les suivantes, les hypothèses de la projection.",
        "ax_population": "Population (millions)",
        "ax_flows": "Milliers par an",
        "lab_births": "Naissances",
        "lab_deaths": "Décès",
        "lab_net_migration": "Solde migratoire",
        "fig_time_caption": "En haut : écart d'espérance de vie à la naissance entre les 20 % "
                            "les plus aisés et les 20 % les plus modestes (Q5 − Q1), "
                            "calculé sur une fenêtre glissante de {w} ans (l'année indiquée "
                            "est la dernière de la fenêtre), moyenne des réplications. En "
                            "bas : variation de cet écart par rapport à la référence (calculée "
                            "réplication par réplication). Bandes : intervalles de confiance à "
                            "95 % de la moyenne des réplications.",
        "fig_time_read": "Lecture : l'écart Q5 − Q1 est plus stable d'une année à l'autre "
                         "que l'écart V20 − V1. Une courbe du bas sous zéro signifie que le "
                         "scénario réduit l'écart cette année-là.",
        "fig_time_short": "La simulation compte moins de deux années : l'évolution dans le "
                          "temps ne peut pas être tracée.",
        "fig_pcs_title": "Espérance de vie à 35 ans selon la catégorie socioprofessionnelle",
        "fig_pcs_caption": "Espérance de vie à 35 ans par catégorie socioprofessionnelle "
                           "(PCS ; les retraités gardent leur dernière catégorie), pour chaque "
                           "scénario : moyenne des réplications et intervalle à 95 %.",
        "fig_pcs_read": "Lecture : chaque ligne est une catégorie ; plus les points sont à "
                        "droite, plus l'espérance de vie est longue.",
        "fig_plane_title": "Équité et efficacité",
        "fig_plane_caption": "Plan équité-efficacité : en abscisse, les QALY gagnées sur {years} "
                             "ans dans toute la région (efficacité) ; en ordonnée, la "
                             "réduction de l'écart {gap} d'espérance de vie à la naissance "
                             "(équité). Un point par scénario, avec ses intervalles à 95 %.",
        "fig_plane_read": "Lecture : les meilleurs scénarios sont en haut à droite (plus de "
                          "santé et moins d'inégalités). Un point sous la ligne horizontale "
                          "creuse l'écart.",
        "fig_decomp_title": "Décomposition de l'écart par voie",
        "fig_decomp_caption": "Réduction de l'écart {gap} d'espérance de vie à la naissance "
                              "quand une voie est égalisée au niveau du groupe de référence "
                              "(moyenne des réplications et intervalle à 95 %).",
        "fig_decomp_read": "Lecture : plus la barre est longue, plus la part de l'écart qui "
                           "passe par cette voie est grande dans le modèle. Les voies "
                           "interagissent : la somme des barres n'est pas égale à l'effet de "
                           "toutes les voies ensemble.",
        "decomp_none": "Cette comparaison ne contient pas de scénario contrefactuel : elle ne "
                       "permet pas de décomposer l'écart par voie. Pour cela, lancer la "
                       "comparaison prévue à cet effet : python run.py compare "
                       "scenarios/decompose_gap.toml, puis python run.py report.",
        "decomp_table_caption": "Réduction de l'écart {gap} à la naissance, par voie "
                                "égalisée",
        "col_pathways": "Voies égalisées",
        "col_reduction": "Réduction de l'écart (années)",
        "col_share": "Part de l'écart de référence",
        "fig_calib_title": "Écarts simulés et observés",
        "fig_calib_caption": "Espérance de vie à la naissance, à 60 ans et à 65 ans par "
                             "vingtile de niveau de vie : scénario de référence simulé "
                             "(Occitanie, années {first} à {last}, moyenne des réplications, "
                             "bande : intervalle à 95 %) et valeurs observées par l'INSEE "
                             "(France entière, 2012-2016, pointillés).",
        "fig_calib_read": "Lecture : plus la pente des courbes simulées (l'écart entre "
                          "vingtiles) suit celle des pointillés, mieux le modèle reproduit le "
                          "gradient social observé. Quand les années simulées sont "
                          "postérieures à 2016, le niveau simulé est plus haut : la mortalité "
                          "y suit la baisse observée puis projetée. La comparaison sur les "
                          "mêmes années (2012-2016 simulées) figure dans le README du modèle "
                          "(partie « Validation »). L'INSEE mesure la France entière ; le "
                          "modèle simule l'Occitanie.",
        "unc_p1": "Les intervalles donnés entre crochets sont des intervalles de confiance "
                  "à 95 % de la moyenne des {n} réplications (loi de Student). Chaque "
                  "réplication rejoue la même population avec d'autres tirages au hasard "
                  "(naissances, maladies, décès…). Le scénario et la référence d'une même "
                  "réplication partagent les mêmes tirages (« nombres aléatoires communs ») : "
                  "leur différence mesure l'effet du scénario et non le hasard, c'est "
                  "pourquoi les variations sont calculées réplication par réplication. Les "
                  "tables de mortalité comptent, chaque année, la probabilité de décès de "
                  "chaque personne plutôt que les seuls décès tirés au sort (estimateur en "
                  "espérance) : même résultat attendu, beaucoup moins de bruit.",
        "unc_p2": "Ces intervalles ne reflètent que le hasard de la simulation. Ils ne "
                  "tiennent pas compte de l'incertitude sur les paramètres (effet des "
                  "interventions, risques relatifs, coûts), ni de celle sur la structure du "
                  "modèle. Sur les {total} paramètres du modèle, {assumed} sont des "
                  "hypothèses, {calibrated} sont calibrés sur des données observées et "
                  "{sourced} viennent directement d'une source publiée (voir l'annexe). Les "
                  "effets des interventions sont pour la plupart des ordres de grandeur : un "
                  "résultat dont l'intervalle exclut zéro n'est pas pour autant certain.",
        "interval_kind_chance": "Nature des intervalles : hasard de la simulation "
                                "seulement (paramètres fixés à leurs valeurs par défaut).",
        "interval_kind_effects": "Nature des intervalles : hasard de la simulation et "
                                 "incertitude sur l'effet des interventions ({n} tirages "
                                 "dans leurs intervalles à 95 %).",
        "interval_effects_too": "Les effets des interventions sont aussi tirés dans leurs "
                                "intervalles à 95 %.",
        "unc_effects_p1": "Les intervalles donnés entre crochets sont les percentiles 2,5 % "
                          "et 97,5 % des résultats des {n} réplications. Chaque réplication "
                          "rejoue la population avec d'autres tirages au hasard et avec un "
                          "effet de chaque intervention tiré dans son intervalle à 95 % (voir "
                          "l'annexe) ; le scénario et la référence d'une même réplication "
                          "partagent ces tirages.",
        "interval_kind_psa": "Nature des intervalles : hasard de la simulation et "
                             "incertitude sur les paramètres (loi a posteriori de la "
                             "calibration « {calibration} », n° {id}, {n} tirages).",
        "unc_psa_p1": "Les intervalles donnés entre crochets sont les percentiles 2,5 % et "
                      "97,5 % des résultats des {n} réplications. Chaque réplication rejoue "
                      "la population avec d'autres tirages au hasard et avec un jeu de "
                      "paramètres tiré de la loi a posteriori de la calibration "
                      "« {calibration} » (n° {id} ; {distinct} jeux distincts parmi les {n} "
                      "tirages). Le scénario et la référence d'une même réplication partagent "
                      "les mêmes tirages au hasard et le même jeu de paramètres : leur "
                      "différence mesure l'effet du scénario, calculé réplication par "
                      "réplication.",
        "unc_psa_fit": "La calibration « {calibration} » (n° {id}) reproduit {met} des {scored} "
                       "valeurs observées qu'elle vise dans leur tolérance ; son échantillon a "
                       "posteriori équivaut à {ess} tirages indépendants sur {particles} (plus "
                       "ce nombre est petit, plus l'incertitude des paramètres est "
                       "sous-estimée). Détail : python run.py calibrate --diagnostics-only "
                       "--calibration {id}.",
        "unc_psa_p2": "Ces intervalles reflètent donc à la fois le hasard de la simulation et "
                      "l'incertitude sur les paramètres calibrés (analyse de sensibilité "
                      "probabiliste). Ils ne tiennent pas compte de l'incertitude sur les "
                      "paramètres non calibrés (effet des interventions, coûts), ni de celle "
                      "sur la structure du modèle. Sur les {total} paramètres du modèle, "
                      "{assumed} sont des hypothèses, {calibrated} sont calibrés sur des "
                      "données observées et {sourced} viennent directement d'une source "
                      "publiée (voir l'annexe).",
        "unc_p3": "Ordres de grandeur utiles : avec {agents} personnes simulées, un vingtile "
                  "compte environ {per_vingtile} personnes ; l'espérance de vie d'un vingtile "
                  "varie alors nettement d'une réplication à l'autre. Les écarts entre "
                  "quintiles (Q5 − Q1) et entre catégories sont plus stables que l'écart "
                  "entre vingtiles extrêmes.",
        "src_interventions": "Interventions : effets et coûts retenus",
        "col_intervention": "Intervention",
        "col_effect": "Effet",
        "col_effect_source": "Source de l'effet",
        "col_cost": "Coût unitaire",
        "col_cost_source": "Source du coût",
        "src_none": "Aucune intervention dans cette comparaison.",
        "src_model": "Principales sources de données du modèle",
        "src_burn_in": "La population simulée est tirée au sort {years} ans avant le début de "
                       "la projection, en {first}, puis simulée jusqu'à {start} sans que ces "
                       "années soient présentées ni qu'aucune intervention n'y agisse : son "
                       "état de santé au départ est ainsi celui que produisent les "
                       "mécanismes du modèle, et non une photographie qui s'en écarterait "
                       "(sans cela, l'écart d'espérance de vie de référence se réduisait de "
                       "lui-même au cours des premières années).",
        "src_model_intro": "Le modèle simule, année par année et personne par personne, la "
                           "population de l'Occitanie : âge, sexe, département, niveau de "
                           "vie, diplôme, catégorie socioprofessionnelle, expositions (tabac, "
                           "obésité, environnement du logement, stress), accès aux soins "
                           "(complémentaire santé et CSS, médecin traitant, renoncement aux "
                           "soins), maladies chroniques, incapacité et décès. Ses données "
                           "viennent principalement de :",
        "src_producers": [
            "INSEE : population de l'Occitanie par département, âge et sexe (recensement, "
            "populations légales), niveaux de vie, catégories socioprofessionnelles "
            "(enquête Emploi, recensement), espérance de vie par vingtile de niveau de vie "
            "2012-2016 (cible de calibrage), renoncement aux soins (SRCV) ;",
            "INED : tables de mortalité du moment de la France par âge (quotients de "
            "mortalité 2012-2016) ;",
            "DREES : maladies chroniques par niveau de vie et par âge (EDP-Santé 2016-2017), "
            "non-recours à la CSS, obésité des enfants, densité médicale ;",
            "Santé publique France : tabagisme par diplôme, revenu et situation d'emploi "
            "(Baromètre santé 2020 et 2022) ;",
            "IRDES et DREES : absence de complémentaire santé (enquêtes ESPS et EHIS) ; "
            "enquête ObÉpi : obésité des adultes ;",
            "Haute Autorité de santé : taux d'actualisation des évaluations économiques ;",
            "ARS Occitanie : population des zones prioritaires pour l'accès aux soins.",
        ],
        "src_files": "Fichiers de données livrés avec le modèle (source citée en tête de "
                     "chaque fichier, en anglais)",
        "col_file": "Fichier",
        "col_source": "Source",
        "ver_model": "Version du modèle",
        "ver_runs": "Version du code qui a produit les simulations",
        "ver_report": "Version du code qui a écrit ce rapport",
        "ver_commit": "Révision git des simulations",
        "ver_seed": "Graine aléatoire",
        "ver_window": "Période des tables de mortalité",
        "ver_agents": "Personnes simulées",
        "ver_horizon": "Horizon",
        "ver_comparison": "Identifiant de la comparaison",
        "ver_mismatch": "Ces simulations ont été produites par une autre version du code que "
                        "celle qui écrit ce rapport (le modèle ou le rapport a changé depuis) ; "
                        "les chiffres sont ceux enregistrés dans la base.",
        "ver_run_ids": "Identifiants des simulations (une par réplication)",
        "ver_reproduce": "Pour reproduire ce rapport : python run.py report --comparison {id} "
                         "--lang fr (avec la même base de données).",
        "col_runs": "Simulations (réplications 0, 1, …)",
        "annex_intro": "Valeurs utilisées par le scénario de référence, avec leur unité et "
                       "leur source. « hypothèse » signale une valeur supposée, « calibré » "
                       "un paramètre ajusté pour reproduire des données observées.",
        "col_param": "Paramètre",
        "col_value": "Valeur",
        "col_unit": "Unité",
        "years_unit": "années",
        "generated_by": "Rapport produit par healthgap {version} à partir de la base de "
                        "résultats ; chaque nombre vient de la base ou d'une source citée.",
        # figure labels
        "ax_vingtile": "Vingtile de niveau de vie (1 = 5 % les plus modestes, 20 = 5 % les "
                       "plus aisés)",
        "ax_e0": "Espérance de vie à la naissance (années)",
        "ax_e60": "Espérance de vie à 60 ans (années)",
        "ax_e65": "Espérance de vie à 65 ans (années)",
        "ax_e35": "Espérance de vie à 35 ans (années)",
        "ax_year": "Année (fin de la fenêtre de {w} ans)",
        "ax_gap": "Écart Q5 − Q1 (années)",
        "ax_gap_change": "Variation de l'écart (années)",
        "ax_qaly": "QALY gagnées sur {years} ans (milliers)",
        "ax_qaly_units": "QALY gagnées sur {years} ans",
        "ax_reduction": "Réduction de l'écart {gap} (années)",
        "ax_decomp": "Réduction de l'écart {gap} à la naissance (années)",
        "insee": "INSEE, France 2012-2016 (observé)",
        "simulated": "Simulé (référence)",
        "interval_95": "intervalle à 95 %",
        "fig_alt": "Figure : {title}",
        "fig_files": "Figures également disponibles en PNG et SVG dans le dossier figures/.",
    },
    "en": {
        "html_lang": "en",
        "title_prefix": "Comparison report",
        "report_no": "Comparison no. {id}",
        "saved_on": "stored on {date}",
        "meta_line": "{agents} people simulated (Occitanie), {replicates} replicate(s), "
                     "years {first} to {last}",
        "toc": "Contents",
        "sec_key": "In short",
        "sec_question": "The question",
        "sec_scenarios": "The scenarios compared",
        "sec_results": "Main results",
        "sec_figures": "Figures",
        "sec_decomposition": "Which pathways carry the gap?",
        "sec_calibration": "Does the model reproduce the observed gaps?",
        "sec_uncertainty": "How far can these figures be trusted?",
        "sec_sources": "Assumptions and sources",
        "sec_version": "Model version and identifiers",
        "sec_annex": "Appendix: the model's parameters and data",
        "annex_params": "Every parameter of the model",
        "src_see_annex": "The appendix gives the value, unit and source of each of the "
                         "model's parameters, and the source of each data file.",
        "small_population": "Caution: small simulated population ({agents} people, about "
                            "{per_vingtile} per income vingtile). Figures by vingtile and by "
                            "category are very uncertain; this report illustrates the method "
                            "rather than informs a decision. The model's comparisons usually "
                            "simulate 100,000 people or more.",
        "single_replicate": "This comparison has a single replicate: uncertainty intervals "
                            "are not available. Run the comparison again with several "
                            "replicates (option --replicates) to get them.",
        "few_replicates": "With only {n} replicates the intervals are rough (close to the "
                          "smallest and the largest of the {n} results).",
        "key_baseline": "Without intervention (baseline scenario \u201c{name}\u201d), the gap "
                        "in life expectancy at birth between {gap_words} is {m} years for "
                        "men and {f} years for women; between managers and manual workers it "
                        "is {cm} years for men and {cf} years for women (period life "
                        "expectancy over years {first} to {last} of the simulation).",
        "gap_fallback": "The gap between the richest 20% and the poorest 20% (Q5 − Q1) is not "
                        "defined in this comparison: too few deaths in these groups for the "
                        "number of people simulated. The report therefore summarises the "
                        "results with the {gap} gap.",
        "key_extremes": "Between the richest 5% and the poorest 5% (V20 − V1), smaller groups "
                        "hence noisier estimates: {m} year for men, {f} year for women.",
        "undefined_note": "n/a: not defined (too few deaths in the group to compute a life "
                          "expectancy).",
        "key_scenario": "\u201c{name}\u201d: the {gap} gap at birth changes by {m} for "
                        "men {mi} and by {f} for women {fi}{cost}. {verdict}",
        "key_cost": "; cost: {cost} a year",
        "key_cf": "; counterfactual scenario, no cost",
        "key_reading": "A negative change means the gap narrows. When the interval excludes "
                       "zero, the change is not due to the simulation's chance; it does depend "
                       "on the assumptions (see \u201cHow far can these figures be "
                       "trusted?\u201d).",
        "verdict_both": "The interval excludes zero for both sexes.",
        "verdict_M": "The interval excludes zero for men only.",
        "verdict_F": "The interval excludes zero for women only.",
        "verdict_none": "The interval includes zero for both sexes: no established effect.",
        "verdict_na": "Intervals not available (single replicate).",
        "years_n": "{n} year",
        "years_n_plural": "{n} years",
        "months": "about {n} months",
        "question_none": "The comparison states no question.",
        "description": "Description given by the authors: ",
        "baseline_tag": "Baseline",
        "scenario_tag": "Scenario",
        "no_intervention": "No intervention: the current situation, continued.",
        "definition_missing": "This scenario's definition is not available in the database.",
        "who": "For whom",
        "rule": "Allocation",
        "budget": "Budget",
        "when": "When",
        "effect": "Assumed effect",
        "unit_cost": "Unit cost",
        "reached": "People reached",
        "source": "source",
        "source_en": "source",
        "mode_universal": "universal: the same intensity for everyone eligible",
        "mode_targeted_income": "targeted: only the poorest {pct} (income rank below {rank})",
        "mode_targeted_pcs": "targeted on the socio-professional categories: {groups}",
        "mode_targeted_education": "targeted by diploma: {groups}",
        "mode_targeted_department": "targeted on the departments: {groups}",
        "mode_targeted_zone": "targeted on the priority zones for access to care ({share} of "
                              "the population)",
        "mode_prop_linear": "proportionate: offered to everyone eligible, with an intensity "
                            "that falls steadily with the standard of living; the richest "
                            "receive {min} of the intensity offered to the poorest",
        "mode_prop_stepped": "proportionate in steps: relative intensity by income quintile, "
                             "poorest first: {steps}",
        "budget_text": "{money} a year, allocated by this rule",
        "intensity_text": "no budget set; intensity {pct} of the full dose",
        "when_open": "from {start} to the end of the simulation ({end})",
        "when_duration": "from {start} to {end}",
        "effect_text": "{value}: {unit}",
        "unit_cost_text": "{money} per person per year (full dose)",
        "unit_cost_dose": "{money} per person per year (full dose)",
        "unit_cost_effect": "{money} per person in whom the effect occurs (once)",
        "unit_cost_use": "{money} per person who uses it (share of those offered: {param})",
        "effect_range_text": "{value} (95% range: {low} to {high}; evidence: {grade})",
        "grade_meta-analysis of trials": "meta-analysis of trials",
        "grade_trial": "randomised trial",
        "grade_observational": "observational study",
        "grade_assumption": "assumption",
        "col_range": "Central effect and 95% range",
        "col_grade": "Evidence",
        "col_evidence": "Sources and figures",
        "col_published": "Published cost per QALY",
        "annex_interventions": "Intervention types: effects, strength of evidence, sources "
                               "and costs (registry simulation/data/interventions.toml)",
        "reached_text": "about {n} people a year on average, at an average cost of {cost} a "
                        "year, i.e. {per} per person reached",
        "reached_none": "nobody reached during the simulation",
        "counterfactual": "Counterfactual scenario (not a real intervention): everyone has "
                          "the {pathways} of the reference group (standard of living in the "
                          "middle of the richest fifth, higher-education diploma), all else "
                          "unchanged.",
        "params_changed": "Parameters changed from the baseline: {list}.",
        "tbl_gap_caption": "Gap in life expectancy (years) between social groups, by scenario",
        "tbl_hle_caption": "Gap in healthy (disability-free) life expectancy (years), by "
                           "scenario",
        "tbl_cost_caption": "Costs, health gains and efficiency, by scenario",
        "tbl_extra_caption": "Further indicators (life expectancy at birth)",
        "col_scenario": "Scenario",
        "col_birth": "at birth",
        "col_35": "at 35",
        "col_cost_year": "Cost a year",
        "col_deaths": "Deaths averted",
        "col_ly": "Life-years gained",
        "col_qaly": "QALYs gained",
        "col_cost_qaly": "Cost per QALY gained",
        "col_per_meur": "Reduction of the {gap} gap per million euros a year (years)",
        "col_sii": "Slope index of inequality (SII, years)",
        "baseline_row": "{value} {interval}",
        "change_vs_baseline": "change",
        "tbl_gap_note": "Baseline: the gap (mean over replicates) and, in brackets, its 95% "
                        "interval. Each scenario: the gap, then its change from the baseline "
                        "(scenario − baseline, computed replicate by replicate) and the 95% "
                        "interval of that change. A negative change means the gap narrows. "
                        "Period life expectancy over years {first} to {last} of the "
                        "simulation.",
        "tbl_cost_note": "Intervention costs in current euros for the whole region, while "
                         "the interventions run (health-care costs are not modelled). Deaths "
                         "averted: over the {years} simulated years. Life-years and QALYs "
                         "(life-years weighted by quality of life, a year with disability "
                         "counting {util}): {horizon}, for the region's whole population; "
                         "life-years, QALYs and costs are discounted at {rate} a year from "
                         "the first year. 95% intervals in brackets. \u201cReduction per "
                         "million euros\u201d: fall in the {gap} gap at birth divided by "
                         "the yearly cost in millions of euros (positive = the gap narrows).",
        "horizon_lifetime": "over a lifetime (the simulated years, then the remaining life "
                            "expectancy of everyone alive at their end, from their risk of "
                            "death then; the HAS reference horizon)",
        "horizon_simulation": "over the {years} simulated years only",
        "tbl_equity_caption": "Quality-adjusted life expectancy (QALE) at birth by income "
                              "fifth, and social welfare",
        "col_qale_q": "QALE of fifth {q} (years)",
        "col_ede": "Equally distributed equivalent (years)",
        "tbl_equity_note": "Distributional cost-effectiveness analysis: life expectancy "
                           "adjusted for quality of life (a year with disability counting "
                           "{util}) at birth, men and women together, {first} to {last}. The "
                           "\u201cequally distributed equivalent\u201d (Atkinson index, "
                           "inequality aversion {eps}, the value elicited in England by Robson "
                           "et al. 2017) is the level of health which, shared equally among "
                           "the fifths, society would value as much as the simulated "
                           "distribution: it rises more than the mean when the gains go to "
                           "the worse off. For the scenarios, change from the baseline; 95% "
                           "intervals in brackets.",
        "no_interval": "interval not available",
        "not_applicable": "not applicable",
        "fig_vingtile_title": "Life expectancy at birth by standard of living",
        "fig_vingtile_caption": "Life expectancy at birth by income vingtile (1 = poorest 5%, "
                                "20 = richest 5%), for each scenario (mean over replicates; "
                                "grey band: the baseline's 95% interval). Dotted: INSEE's "
                                "observed curve for the whole of France in 2012-2016.",
        "fig_vingtile_read": "How to read: each point is a vingtile's life expectancy; the "
                             "steeper the curve from left to right, the larger the social "
                             "gap. Curves on top of each other mean the scenario changes "
                             "life expectancy little at this scale.",
        "fig_time_title": "The gap over the years",
        "fig_population_title": "The region's population over the years",
        "fig_population_caption": "Baseline scenario, demographic projection "
                                  "\u201c{projection}\u201d: top, population on 31 December "
                                  "(millions); bottom, the year's births, deaths and net "
                                  "migration (thousands), mean over replicates.",
        "fig_population_read": "How to read: the population grows while net migration exceeds "
                               "the excess of deaths over births. Observed years follow the "
                               "observed fertility and mortality; later years, the "
                               "projection's assumptions.",
        "ax_population": "Population (millions)",
        "ax_flows": "Thousands a year",
        "lab_births": "Births",
        "lab_deaths": "Deaths",
        "lab_net_migration": "Net migration",
        "fig_time_caption": "Top: gap in life expectancy at birth between the richest 20% "
                            "and the poorest 20% (Q5 − Q1), over a rolling window of {w} "
                            "years (the year shown is the window's last), mean over "
                            "replicates. Bottom: change of this gap from the baseline "
                            "(computed replicate by replicate). Bands: 95% confidence "
                            "intervals of the mean over replicates.",
        "fig_time_read": "How to read: the Q5 − Q1 gap is steadier from year to year than the "
                         "V20 − V1 gap. A bottom curve below zero means the scenario narrows "
                         "the gap that year.",
        "fig_time_short": "The simulation covers fewer than two years: the gap over time "
                          "cannot be drawn.",
        "fig_pcs_title": "Life expectancy at 35 by socio-professional category",
        "fig_pcs_caption": "Life expectancy at 35 by socio-professional category (PCS; "
                           "retirees keep their last category), for each scenario: mean over "
                           "replicates and 95% interval.",
        "fig_pcs_read": "How to read: each row is a category; the further right the points, "
                        "the longer the life expectancy.",
        "fig_plane_title": "Equity and efficiency",
        "fig_plane_caption": "Equity-efficiency plane: horizontally, QALYs gained over {years} "
                             "years in the whole region (efficiency); vertically, the "
                             "reduction of the {gap} gap in life expectancy at birth "
                             "(equity). One point per scenario, with its 95% intervals.",
        "fig_plane_read": "How to read: the best scenarios are top right (more health and "
                          "less inequality). A point below the horizontal line widens the "
                          "gap.",
        "fig_decomp_title": "Decomposition of the gap by pathway",
        "fig_decomp_caption": "Reduction of the {gap} gap in life expectancy at birth when "
                              "one pathway is equalised to the reference group (mean over "
                              "replicates and 95% interval).",
        "fig_decomp_read": "How to read: the longer the bar, the larger the share of the gap "
                           "that runs through this pathway in the model. Pathways interact: "
                           "the bars do not add up to the effect of all pathways together.",
        "decomp_none": "This comparison holds no counterfactual scenario, so it cannot "
                       "decompose the gap by pathway. For that, run the comparison made for "
                       "it: python run.py compare scenarios/decompose_gap.toml, then python "
                       "run.py report.",
        "decomp_table_caption": "Reduction of the {gap} gap at birth, by pathway equalised",
        "col_pathways": "Pathways equalised",
        "col_reduction": "Reduction of the gap (years)",
        "col_share": "Share of the baseline gap",
        "fig_calib_title": "Simulated and observed gaps",
        "fig_calib_caption": "Life expectancy at birth, at 60 and at 65 by income vingtile: "
                             "simulated baseline (Occitanie, years {first} to {last}, mean "
                             "over replicates, band: 95% interval) and INSEE's observed "
                             "values (whole of France, 2012-2016, dotted).",
        "fig_calib_read": "How to read: the closer the slope of the simulated curves (the "
                          "gap between vingtiles) follows the dotted ones, the better the "
                          "model reproduces the observed social gradient. When the simulated "
                          "years come after 2016, the simulated level is higher: mortality "
                          "follows its observed and then projected decline. The comparison "
                          "over the same years (2012-2016 simulated) is given by the command "
                          "run.py validate-baseline. INSEE measures the whole of France; the "
                          "model simulates Occitanie.",
        "unc_p1": "Intervals in brackets are 95% confidence intervals of the mean of the "
                  "{n} replicates (Student's t). Each replicate replays the same population "
                  "with other random draws (births, diseases, deaths…). A scenario and the "
                  "baseline of the same replicate share the same draws (\u201ccommon random "
                  "numbers\u201d): their difference measures the scenario's effect rather "
                  "than chance, which is why changes are computed replicate by replicate. The "
                  "life tables count, each year, every person's probability of death rather "
                  "than only the deaths drawn (an expected-value estimator): the same "
                  "expected result, with much less noise.",
        "unc_p2": "These intervals reflect the simulation's chance only. They leave out the "
                  "uncertainty of the parameters (effects of the interventions, relative "
                  "risks, costs) and of the model's structure. Of the model's {total} "
                  "parameters, {assumed} are assumptions, {calibrated} are calibrated to "
                  "observed data and {sourced} come straight from a published source (see "
                  "the appendix). The interventions' effects are mostly orders of magnitude: "
                  "a result whose interval excludes zero is not thereby certain.",
        "interval_kind_chance": "Kind of interval: the simulation's chance only "
                                "(parameters at their default values).",
        "interval_kind_effects": "Interval kind: chance and the uncertainty of the "
                                 "interventions' effects ({n} draws within their 95% ranges).",
        "interval_effects_too": "The interventions' effects are drawn within their 95% "
                                "ranges too.",
        "unc_effects_p1": "Intervals in brackets are the 2.5 and 97.5 percentiles of the "
                          "results of the {n} replicates. Each replicate replays the "
                          "population with other random draws and with an effect of each "
                          "intervention drawn within its 95% range (see the annex); a "
                          "scenario and the baseline of the same replicate share these "
                          "draws.",
        "interval_kind_psa": "Kind of interval: the simulation's chance and parameter "
                             "uncertainty (posterior of calibration \u201c{calibration}\u201d, "
                             "no. {id}, {n} draws).",
        "unc_psa_p1": "Intervals in brackets are the 2.5 and 97.5 percentiles of the results "
                      "of the {n} replicates. Each replicate replays the population with "
                      "other random draws and with a parameter set drawn from the posterior "
                      "of calibration \u201c{calibration}\u201d (no. {id}; {distinct} distinct "
                      "sets among the {n} draws). A scenario and the baseline of the same "
                      "replicate share the same random draws and the same parameter set: "
                      "their difference measures the scenario's effect, computed replicate "
                      "by replicate.",
        "unc_psa_fit": "Calibration \u201c{calibration}\u201d (no. {id}) reproduces {met} of "
                       "the {scored} observed values it targets within their tolerance; its "
                       "posterior sample is worth {ess} independent draws out of {particles} "
                       "(the fewer, the more parameter uncertainty is understated). Details: "
                       "python run.py calibrate --diagnostics-only --calibration {id}.",
        "unc_psa_p2": "These intervals therefore reflect both the simulation's chance and the "
                      "uncertainty of the calibrated parameters (probabilistic sensitivity "
                      "analysis). They leave out the uncertainty of the parameters that are "
                      "not calibrated (effects of the interventions, costs) and of the "
                      "model's structure. Of the model's {total} parameters, {assumed} are "
                      "assumptions, {calibrated} are calibrated to observed data and "
                      "{sourced} come straight from a published source (see the appendix).",
        "unc_p3": "Useful orders of magnitude: with {agents} people simulated, a vingtile "
                  "holds about {per_vingtile} people, so a vingtile's life expectancy moves "
                  "noticeably from one replicate to the next. Gaps between quintiles "
                  "(Q5 − Q1) and between categories are steadier than the gap between the "
                  "extreme vingtiles.",
        "src_interventions": "Interventions: effects and costs used",
        "col_intervention": "Intervention",
        "col_effect": "Effect",
        "col_effect_source": "Source of the effect",
        "col_cost": "Unit cost",
        "col_cost_source": "Source of the cost",
        "src_none": "No intervention in this comparison.",
        "src_model": "The model's main data sources",
        "src_burn_in": "The simulated population is drawn {years} years before the projection "
                       "starts, in {first}, then simulated up to {start} without these years "
                       "being shown or any intervention acting in them: its state of health at "
                       "the start is thus the one the model's mechanisms produce, not a "
                       "snapshot at odds with them (without this, the baseline's gap in life "
                       "expectancy narrowed by itself over the first years).",
        "src_model_intro": "The model simulates the population of Occitanie year by year and "
                           "person by person: age, sex, department, standard of living, "
                           "diploma, socio-professional category, exposures (smoking, "
                           "obesity, home environment, stress), access to care "
                           "(complementary insurance and the CSS, registered GP, forgone "
                           "care), chronic diseases, disability and death. Its data come "
                           "mainly from:",
        "src_producers": [
            "INSEE: population of Occitanie by department, age and sex (census, legal "
            "populations), standards of living, socio-professional categories (Labour Force "
            "Survey, census), life expectancy by income vingtile 2012-2016 (calibration "
            "target), forgone care (SRCV);",
            "INED: French period life tables by age (probabilities of death 2012-2016);",
            "DREES: chronic diseases by standard of living and age (EDP-Santé 2016-2017), "
            "non-take-up of the CSS, children's obesity, doctor density;",
            "Santé publique France: smoking by diploma, income and employment (Baromètre "
            "santé 2020 and 2022);",
            "IRDES and DREES: lack of complementary insurance (ESPS and EHIS surveys); "
            "ObÉpi survey: adult obesity;",
            "Haute Autorité de santé: discount rate of economic evaluations;",
            "ARS Occitanie: population of the priority zones for access to care.",
        ],
        "src_files": "Data files shipped with the model (each file's source, as stated at "
                     "its top)",
        "col_file": "File",
        "col_source": "Source",
        "ver_model": "Model version",
        "ver_runs": "Code version that produced the simulations",
        "ver_report": "Code version that wrote this report",
        "ver_commit": "Git revision of the simulations",
        "ver_seed": "Random seed",
        "ver_window": "Period of the life tables",
        "ver_agents": "People simulated",
        "ver_horizon": "Horizon",
        "ver_comparison": "Comparison identifier",
        "ver_mismatch": "These simulations were produced by another version of the code than "
                        "the one writing this report (the model or the report has changed "
                        "since); the figures are those stored in the database.",
        "ver_run_ids": "Simulation identifiers (one per replicate)",
        "ver_reproduce": "To reproduce this report: python run.py report --comparison {id} "
                         "--lang en (with the same database).",
        "col_runs": "Runs (replicates 0, 1, …)",
        "annex_intro": "Values used by the baseline scenario, with their unit and source (as "
                       "in the file simulation/data/parameters.toml). \u201cassumption\u201d "
                       "marks an assumption, \u201ccalibrated\u201d a parameter tuned to "
                       "reproduce observed data.",
        "col_param": "Parameter",
        "col_value": "Value",
        "col_unit": "Unit",
        "years_unit": "years",
        "generated_by": "Report produced by healthgap {version} from the results database; "
                        "every number comes from the database or a cited source.",
        "ax_vingtile": "Income vingtile (1 = poorest 5%, 20 = richest 5%)",
        "ax_e0": "Life expectancy at birth (years)",
        "ax_e60": "Life expectancy at 60 (years)",
        "ax_e65": "Life expectancy at 65 (years)",
        "ax_e35": "Life expectancy at 35 (years)",
        "ax_year": "Year (end of the {w}-year window)",
        "ax_gap": "Q5 − Q1 gap (years)",
        "ax_gap_change": "Change of the gap (years)",
        "ax_qaly": "QALYs gained over {years} years (thousands)",
        "ax_qaly_units": "QALYs gained over {years} years",
        "ax_reduction": "Reduction of the {gap} gap (years)",
        "ax_decomp": "Reduction of the {gap} gap at birth (years)",
        "insee": "INSEE, France 2012-2016 (observed)",
        "simulated": "Simulated (baseline)",
        "interval_95": "95% interval",
        "fig_alt": "Figure: {title}",
        "fig_files": "Figures are also available as PNG and SVG in the figures/ folder.",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` with ``values`` filled in (values are inserted as
    given: escape user-supplied strings before passing them when the result is HTML)."""
    text = typography(T[lang][key], lang)
    return text.format(**values) if values else text


def interval_kind(uncertainty: dict[str, Any] | None, replicates: int | None,
                  lang: str) -> str:
    """One sentence on what a comparison's intervals include, from its summary's
    ``uncertainty`` record: the simulation's chance only; chance and the interventions'
    effects; or chance and parameter uncertainty (which calibration's posterior). The
    report and the dashboard both say it with this function."""
    u = uncertainty or {}
    kind = u.get("kind")
    if kind == "chance+effects":
        return t(lang, "interval_kind_effects", n=u.get("draws", replicates))
    if kind != "chance+parameters":
        return t(lang, "interval_kind_chance")
    text = t(lang, "interval_kind_psa", calibration=u.get("calibration"),
             id=u.get("calibration_id"), n=u.get("draws", replicates))
    return text + (" " + t(lang, "interval_effects_too") if u.get("intervention_effects")
                   else "")


# ------------------------------------------------ parameters and data files, in French


@lru_cache(maxsize=1)
def _parameters_fr() -> dict[str, dict[str, str]]:
    """French unit and source of every model parameter (simulation/data/parameters_fr.toml,
    keyed by the parameter's dotted name)."""
    text = resources.files("simulation.data").joinpath("parameters_fr.toml").read_text("utf-8")
    return tomllib.loads(text)


def parameter_text(name: str, unit: str, source: str, lang: str) -> tuple[str, str]:
    """The unit and source of parameter ``name`` to show in a report in ``lang``: the
    French translation in French (the English text if a parameter lacks one)."""
    if lang == "fr":
        fr = _parameters_fr().get(name)
        if fr:
            return fr.get("unit", unit), fr.get("source", source)
    return unit, source


@lru_cache(maxsize=1)
def data_file_texts() -> dict[str, dict[str, str]]:
    """What each shipped data file holds and its source, in French and English
    (simulation/data/data_files.toml, keyed by file name)."""
    text = resources.files("simulation.data").joinpath("data_files.toml").read_text("utf-8")
    return tomllib.loads(text)
