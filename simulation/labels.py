"""Labels and number formats, in French and in English: the one home of what a reader sees
of the model's categories and numbers, for the report (:mod:`simulation.report`), the
dashboard (:mod:`simulation.dashboard`) and the console tables (:mod:`simulation.cli`).

French is the commission's language and the report's first one.

- :func:`label` names a category: a sex, a socio-professional category (PCS), a diploma,
  a department, a pathway, a gap between two groups, a stratum (``by``), an outcome, an
  age; :func:`label_in_text` is the same name inside a sentence; :func:`group_label` is a
  group as a table row or an axis tick shows it ("V3", "Q5", "31 Haute-Garonne") and
  :func:`group_order` the groups' natural order.
- :func:`fmt_num` writes a number the way the language does: in French a decimal comma, a
  narrow no-break space between thousands and before % and €, a true minus sign (U+2212);
  in English a decimal point and a comma between thousands. Missing values (None, NaN,
  infinities) read "n.d." (non disponible) in French and "n/a" in English. Built on it:
  :func:`fmt_years` (years of life: one decimal for a level, three and a sign for a
  change), :func:`fmt_interval` ("[lo ; hi]" / "[lo, hi]"), :func:`fmt_estimate` (a value
  and its interval), :func:`fmt_pct`, :func:`fmt_money`, :func:`fmt_count`, and
  :func:`fmt_date` and :func:`join_words` for dates and lists.
- ``plain=True`` (the console's tables): an ASCII hyphen-minus and no thousands separator,
  so that a line of a terminal can be pasted into a spreadsheet or searched for with the
  digits Python prints.

The module needs nothing but the standard library: the command line imports it cheaply.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from datetime import date, datetime

LANGS = ("fr", "en")
NNBSP = "\u202f"  # narrow no-break space: French thousands separator and before % and €
NBSP = "\u00a0"  # no-break space: French, before a colon and inside « »
MINUS = "\u2212"

#: Decimals of a number of years of life: a level (a life expectancy, a gap) and a change
#: (small next to the level: three decimals keep it readable, with its sign).
YEARS_DIGITS = 1
CHANGE_DIGITS = 3

_NA = {"fr": "n.d.", "en": "n/a"}

# -------------------------------------------------------------------------- typography

_FR_SPACES = ((" :", NBSP + ":"), (" ;", NNBSP + ";"), (" ?", NNBSP + "?"),
              (" !", NNBSP + "!"), ("« ", "«" + NBSP), (" »", NBSP + "»"), (" %", NNBSP + "%"),
              (" €", NNBSP + "€"))


def typography(text: str, lang: str) -> str:
    """French typography: no-break spaces before : ; ? ! % € and inside « » (the text
    unchanged in English)."""
    if lang != "fr":
        return text
    for a, b in _FR_SPACES:
        text = text.replace(a, b)
    return text


# ----------------------------------------------------------------------------- numbers


def is_number(x: object) -> bool:
    """Whether ``x`` is a finite real number (Python's or numpy's; not a bool)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return False
    return math.isfinite(float(x))


def not_available(lang: str) -> str:
    """What a missing value reads: "n.d." in French, "n/a" in English."""
    return _NA[lang]


def localise(text: str, lang: str, plain: bool = False) -> str:
    """A number that Python wrote ("1,234.5": comma between thousands, decimal point) in
    the language's separators: "1 234,5" in French (narrow no-break space; a plain space
    with ``plain``), unchanged in English."""
    if lang != "fr":
        return text
    return text.replace(",", "\0").replace(".", ",").replace("\0", " " if plain else NNBSP)


def fmt_num(x: object, lang: str, digits: int = 1, signed: bool = False,
            plain: bool = False) -> str:
    """``x`` with ``digits`` decimals the way ``lang`` writes it: decimal comma and narrow
    spaces between thousands in French, a true minus sign, '+' before positive values when
    ``signed``, no sign when it rounds to zero (never "−0,0"); "n.d." (French) or "n/a"
    (English) when missing. ``plain``: hyphen-minus and no thousands separator."""
    if not is_number(x):
        return _NA[lang]
    x = float(x)
    text = localise(f"{abs(x):{'' if plain else ','}.{digits}f}", lang, plain)
    if round(x, digits) == 0:
        sign = ""
    elif x < 0:
        sign = "-" if plain else MINUS
    else:
        sign = "+" if signed else ""
    return sign + text


def fmt_years(x: object, lang: str, change: bool = False, plain: bool = False) -> str:
    """Years of life (a life expectancy, a gap): one decimal; with ``change`` (a difference
    from the baseline) three decimals and a sign."""
    if change:
        return fmt_num(x, lang, CHANGE_DIGITS, signed=True, plain=plain)
    return fmt_num(x, lang, YEARS_DIGITS, plain=plain)


def join_interval(lo: str, hi: str, lang: str, plain: bool = False) -> str:
    """Two bounds already written: ``[lo ; hi]`` in French, ``[lo, hi]`` in English."""
    if lang == "fr":
        sep = " ; " if plain else NNBSP + "; "
    else:
        sep = ", "
    return f"[{lo}{sep}{hi}]"


def fmt_interval(lo: object, hi: object, lang: str, digits: int = 1, signed: bool = False,
                 plain: bool = False) -> str:
    """``[lo ; hi]`` in French, ``[lo, hi]`` in English, each bound as :func:`fmt_num`."""
    return join_interval(fmt_num(lo, lang, digits, signed, plain),
                         fmt_num(hi, lang, digits, signed, plain), lang, plain)


def fmt_estimate(value: object, lo: object, hi: object, lang: str, digits: int = 1,
                 signed: bool = False, plain: bool = False) -> str:
    """A value and its interval: "+0,120 [−0,050 ; +0,300]"."""
    return (f"{fmt_num(value, lang, digits, signed, plain)} "
            f"{fmt_interval(lo, hi, lang, digits, signed, plain)}")


def fmt_pct(share: object, lang: str, digits: int = 0) -> str:
    """A share (0.2) as a percentage ("20 %" in French, "20%" in English); one decimal
    where ``digits`` is 0 and the percentage is not whole."""
    if not is_number(share):
        return _NA[lang]
    value = 100 * float(share)
    if digits == 0 and abs(value - round(value)) > 1e-9:
        digits = 1
    return fmt_num(value, lang, digits) + (NNBSP + "%" if lang == "fr" else "%")


def fmt_money(eur: object, lang: str) -> str:
    """Euros: "20 M€" / "€20M" from a million up, else "12 345 €" / "€12,345"."""
    if not is_number(eur):
        return _NA[lang]
    eur = float(eur)
    if abs(eur) >= 1e6:
        m = eur / 1e6
        digits = 0 if abs(m - round(m)) < 5e-3 else (1 if abs(m) >= 10 else 2)
        num = fmt_num(m, lang, digits)
        return f"{num}{NNBSP}M€" if lang == "fr" else f"€{num}M".replace("€" + MINUS,
                                                                         MINUS + "€")
    num = fmt_num(eur, lang, 0)
    return f"{num}{NNBSP}€" if lang == "fr" else f"€{num}".replace("€" + MINUS, MINUS + "€")


def fmt_count(x: object, lang: str, plain: bool = False) -> str:
    """A count for the whole region (people, deaths, years of life), rounded to three
    significant figures: a simulated total is not exact."""
    if not is_number(x):
        return _NA[lang]
    x = float(x)
    if abs(x) >= 100:
        mag = 10 ** max(0, int(math.floor(math.log10(abs(x)))) - 2)
        x = round(x / mag) * mag
    return fmt_num(x, lang, 0, plain=plain)


_MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


def fmt_date(d: date | datetime | None, lang: str) -> str:
    """"12 mars 2024" / "12 March 2024"; "n.d." / "n/a" when missing."""
    if d is None:
        return _NA[lang]
    return f"{d.day} {_MONTHS[lang][d.month - 1]} {d.year}"


def join_words(items: list[str], lang: str) -> str:
    """"a, b et c" / "a, b and c"."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    last = " et " if lang == "fr" else " and "
    return ", ".join(items[:-1]) + last + items[-1]


# ------------------------------------------------------------------------------ labels

#: The departments of Occitanie by INSEE code, accented (the data file spells them
#: without accents).
_DEPARTMENTS = {
    "09": "Ariège", "11": "Aude", "12": "Aveyron", "30": "Gard", "31": "Haute-Garonne",
    "32": "Gers", "34": "Hérault", "46": "Lot", "48": "Lozère", "65": "Hautes-Pyrénées",
    "66": "Pyrénées-Orientales", "81": "Tarn", "82": "Tarn-et-Garonne",
}

#: kind -> language -> key -> label. The keys of "pcs" and "education" are in the order of
#: :data:`simulation.population.PCS` and :data:`simulation.population.EDUCATION` (a test
#: checks it): :func:`group_order` sorts by it.
_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "sex": {"fr": {"M": "Hommes", "F": "Femmes"}, "en": {"M": "Men", "F": "Women"}},
    "pcs": {
        "fr": {"agriculteurs": "Agriculteurs exploitants",
               "artisans_commercants": "Artisans, commerçants, chefs d'entreprise",
               "cadres": "Cadres", "professions_intermediaires": "Professions intermédiaires",
               "employes": "Employés", "ouvriers": "Ouvriers",
               "inactifs": "Sans activité professionnelle"},
        "en": {"agriculteurs": "Farmers",
               "artisans_commercants": "Craftsmen, shopkeepers, business owners",
               "cadres": "Managers and professionals",
               "professions_intermediaires": "Intermediate occupations",
               "employes": "Clerical and service workers", "ouvriers": "Manual workers",
               "inactifs": "Never employed"},
    },
    "education": {
        "fr": {"sans_diplome": "Sans diplôme", "brevet": "Brevet des collèges",
               "cap_bep": "CAP ou BEP", "bac": "Baccalauréat",
               "superieur": "Diplôme du supérieur"},
        "en": {"sans_diplome": "No diploma", "brevet": "Lower secondary (brevet)",
               "cap_bep": "Vocational (CAP, BEP)", "bac": "Baccalauréat",
               "superieur": "Higher education"},
    },
    "department": {"fr": _DEPARTMENTS, "en": _DEPARTMENTS},
    "pathway": {
        "fr": {"smoking": "le tabagisme", "obesity": "l'obésité",
               "environment": "l'environnement du logement",
               "stress": "le stress psychosocial", "care": "l'accès aux soins",
               "disease": "la vulnérabilité aux maladies chroniques et leur gradient "
                          "résiduel",
               "mortality": "le gradient résiduel de mortalité"},
        "en": {"smoking": "smoking", "obesity": "obesity",
               "environment": "the home's environment", "stress": "psychosocial stress",
               "care": "access to care",
               "disease": "vulnerability to chronic disease and its residual gradient",
               "mortality": "the residual gradient of mortality"},
    },
    "gap": {
        "fr": {"V20-V1": "V20 − V1", "Q5-Q1": "Q5 − Q1",
               "cadres-ouvriers": "cadres − ouvriers"},
        "en": {"V20-V1": "V20 − V1", "Q5-Q1": "Q5 − Q1",
               "cadres-ouvriers": "managers − manual"},
    },
    "gap_words": {
        "fr": {"V20-V1": "les 5 % les plus aisés et les 5 % les plus modestes (V20 − V1)",
               "Q5-Q1": "les 20 % les plus aisés et les 20 % les plus modestes (Q5 − Q1)",
               "cadres-ouvriers": "cadres et ouvriers"},
        "en": {"V20-V1": "the richest 5% and the poorest 5% (V20 − V1)",
               "Q5-Q1": "the richest 20% and the poorest 20% (Q5 − Q1)",
               "cadres-ouvriers": "managers and manual workers"},
    },
    "stratum": {
        "fr": {"income_vingtile": "Vingtile de niveau de vie",
               "income_decile": "Décile de niveau de vie",
               "income_quintile": "Quintile de niveau de vie",
               "pcs": "Catégorie socioprofessionnelle (PCS)", "education": "Diplôme",
               "department": "Département"},
        "en": {"income_vingtile": "Income vingtile", "income_decile": "Income decile",
               "income_quintile": "Income quintile",
               "pcs": "Socio-professional category (PCS)", "education": "Diploma",
               "department": "Department"},
    },
    "stratum_axis": {
        "fr": {"income_vingtile": "Vingtile de niveau de vie (V1 = 5 % les plus modestes, "
                                  "V20 = 5 % les plus aisés)",
               "income_decile": "Décile de niveau de vie (D1 = 10 % les plus modestes)",
               "income_quintile": "Quintile de niveau de vie (Q1 = 20 % les plus modestes)",
               "pcs": "Catégorie socioprofessionnelle", "education": "Diplôme le plus élevé",
               "department": "Département"},
        "en": {"income_vingtile": "Income vingtile (V1 = poorest 5%, V20 = richest 5%)",
               "income_decile": "Income decile (D1 = poorest 10%)",
               "income_quintile": "Income quintile (Q1 = poorest 20%)",
               "pcs": "Socio-professional category", "education": "Highest diploma",
               "department": "Department"},
    },
    "outcome": {
        "fr": {"life_expectancy": "Espérance de vie",
               "healthy_life_expectancy": "Espérance de vie sans incapacité"},
        "en": {"life_expectancy": "Life expectancy",
               "healthy_life_expectancy": "Disability-free life expectancy"},
    },
}

#: The kinds :func:`label` knows ("age" is computed: "à la naissance", "à 35 ans").
KINDS = (*_LABELS, "age")

#: Income strata and the letter of their groups (V3, D3, Q3).
_INCOME_PREFIX = {"income_vingtile": "V", "income_decile": "D", "income_quintile": "Q"}


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")


def label(kind: str, key: object, lang: str) -> str:
    """The name of category ``key`` of ``kind`` (one of :data:`KINDS`) in ``lang``, with
    French typography; the key itself when it has no label (a category added since)."""
    _check_lang(lang)
    if kind == "age":
        age = int(key)  # type: ignore[call-overload]
        if lang == "fr":
            return "à la naissance" if age == 0 else f"à {age} ans"
        return "at birth" if age == 0 else f"at {age}"
    try:
        names = _LABELS[kind][lang]
    except KeyError:
        raise ValueError(f"unknown kind of label {kind!r}; one of {', '.join(KINDS)}") from None
    text = names.get(str(key))
    return str(key) if text is None else typography(text, lang)


def label_in_text(kind: str, key: object, lang: str) -> str:
    """:func:`label` inside a sentence: its first letter in lower case, unless the label
    starts with an acronym ("CAP ou BEP", "PCS")."""
    text = label(kind, key, lang)
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def labels(kind: str, lang: str) -> dict[str, str]:
    """Every key of ``kind`` and its :func:`label`, in the kind's order."""
    _check_lang(lang)
    if kind not in _LABELS:
        raise ValueError(f"unknown kind of label {kind!r}; one of {', '.join(_LABELS)}")
    return {k: label(kind, k, lang) for k in _LABELS[kind][lang]}


def group_label(by: str, group: object, lang: str) -> str:
    """Group ``group`` of stratum ``by`` as a table row or an axis tick shows it: "V3",
    "D3", "Q5" for income groups, "31 Haute-Garonne" for a department, the label of a PCS
    or a diploma, else the group itself."""
    g = str(group)
    if by in _INCOME_PREFIX:
        return _INCOME_PREFIX[by] + g
    if by == "department":
        name = _DEPARTMENTS.get(g)
        return f"{g} {name}" if name else g
    if by in ("pcs", "education"):
        return label(by, g, lang)
    return g


def group_order(by: str, groups: Iterable[object]) -> list[str]:
    """The distinct ``groups`` in their natural order: income from the poorest, PCS and
    diplomas in the model's order, departments by code."""
    gs = [str(g) for g in dict.fromkeys(groups)]
    if by in _INCOME_PREFIX:
        return sorted(gs, key=lambda g: (not g.isdigit(), int(g) if g.isdigit() else 0, g))
    if by in ("pcs", "education"):
        known = list(_LABELS[by]["fr"])
        return sorted(gs, key=lambda g: (known.index(g) if g in known else len(known), g))
    return sorted(gs)
