"""Normalisation tables: values with UCUM units, temporal expressions in days, and the
offset map that ties normalised text back to the submitted characters."""

from __future__ import annotations

import pytest

from nlp.criteria.quantities import canonical_unit, find_quantities
from nlp.criteria.temporal import find_windows
from nlp.criteria.text import normalize_map

# text -> [(comparator, value, high, unit, original text of the value)]
VALUES = [
    ("HbA1c between 7% and 10%", [("between", 7, 10, "%", "between 7% and 10%")]),
    # a decimal comma after a comparator (trec-202112: NCT03868657)
    ("BMI ≥18,5 and ≤27,5", [("between", 18.5, 27.5, "", "≥18,5 and ≤27,5")]),
    ("BMI ≥ 18.5 and ≤ 30 kg/m2", [("between", 18.5, 30, "kg/m2", "≥ 18.5 and ≤ 30 kg/m2")]),
    ("ECOG 0,1 or 2", []),  # a list, not a decimal
    ("wt > 95th percentile", []),  # an ordinal, not 9
    ("Glycated hemoglobin 7.5%-9%", [("between", 7.5, 9, "%", "7.5%-9%")]),
    ("bilirubin ≥ 1.5 x ULN", [(">=", 1.5, None, "x ULN", "≥ 1.5 x ULN")]),
    (
        "ALT ≤ 2.5 times the upper limit of normal",
        [("<=", 2.5, None, "x ULN", "≤ 2.5 times the upper limit of normal")],
    ),
    ("direct bilirubin ≤ IULN", [("<=", 1, None, "x ULN", "≤ IULN")]),
    ("Platelets > 100,000/mm3", [(">", 100000, None, "/mm3", "> 100,000/mm3")]),
    ("ANC >= 1.5 x 10^9/L", [(">=", 1.5, None, "10*9/L", ">= 1.5 x 10^9/L")]),
    ("platelets at least 100 x 10(9)/L", [(">=", 100, None, "10*9/L", "at least 100 x 10(9)/L")]),
    ("WBC no less than 3.0 x 10^3/µL", [(">=", 3, None, "10*3/uL", "no less than 3.0 x 10^3/µL")]),
    ("eGFR < 30 mL/min/1.73 m2", [("<", 30, None, "mL/min/{1.73_m2}", "< 30 mL/min/1.73 m2")]),
    (
        "creatinine clearance greater than 60 mls/min",
        [(">", 60, None, "mL/min", "greater than 60 mls/min")],
    ),
    (
        "creatinine no greater than 1.5 mg/dL",
        [("<=", 1.5, None, "mg/dL", "no greater than 1.5 mg/dL")],
    ),
    ("bilirubin greater than 4 mg%", [(">", 4, None, "mg/dL", "greater than 4 mg%")]),
    ("hemoglobin ≥ 9 g/dL", [(">=", 9, None, "g/dL", "≥ 9 g/dL")]),
    ("potassium > 3.0 mmol/L", [(">", 3, None, "mmol/L", "> 3.0 mmol/L")]),
    ("HIV RNA < 50 copies/mL", [("<", 50, None, "{copies}/mL", "< 50 copies/mL")]),
    ("QTc > 450 msec", [(">", 450, None, "ms", "> 450 msec")]),
    ("SBP >= 140 mmHg", [(">=", 140, None, "mm[Hg]", ">= 140 mmHg")]),
    ("BMI ≥ 30 kg/m2", [(">=", 30, None, "kg/m2", "≥ 30 kg/m2")]),
    ("SBP >= 160 mm Hg", [(">=", 160, None, "mm[Hg]", ">= 160 mm Hg")]),  # not "mm"
    ("BMI less than 40 kg/m(2)", [("<", 40, None, "kg/m2", "less than 40 kg/m(2)")]),
    (
        "BMI <40 Kilogram per meter square (kg/m^2)",
        [("<", 40, None, "kg/m2", "<40 Kilogram per meter square")],
    ),
    (
        "BMI between 18.4 and 31.4 kilogram per square meter",
        [("between", 18.4, 31.4, "kg/m2", "between 18.4 and 31.4 kilogram per square meter")],
    ),
    ("eGFR <60 milliliters/minute", [("<", 60, None, "mL/min", "<60 milliliters/minute")]),
    (
        "eGFR <45 milliliters per minute per 1.73 meters squared",
        [("<", 45, None, "mL/min/{1.73_m2}", "<45 milliliters per minute per 1.73 meters squared")],
    ),
    ("weight of at least 50 kg", [(">=", 50, None, "kg", "at least 50 kg")]),
    ("eGFR<15 ml/min", [("<", 15, None, "mL/min", "<15 ml/min")]),
    ("two to four quadrants", []),  # numbers without comparator or unit are not values
    ("stage 1-2 disease", []),
]

# text -> [(kind, days, original text)]
WINDOWS = [
    ("within the last 6 months", [("lookback", 182.64, "within the last 6 months")]),
    ("within 6 months prior to screening", [("lookback", 182.64, "within 6 months prior to")]),
    ("in the past year", [("lookback", 365.25, "in the past year")]),
    ("over the past 12 months", [("lookback", 365.28, "over the past 12 months")]),
    ("< 12 months prior to screening", [("lookback", 365.28, "< 12 months prior to")]),
    ("within 72 hours of study entry", [("lookback", 3.0, "within 72 hours of")]),
    ("within 5 half-lives", []),
    ("at least 4 weeks since prior chemotherapy", [("since", 28, "at least 4 weeks since")]),
    (
        "transplant not within 3 months prior to treatment",
        [("since", 91.32, "not within 3 months")],
    ),
    ("≥ 4 weeks prior to enrollment", [("since", 28, "≥ 4 weeks prior to")]),
    ("more than 6 months ago", [("since", 182.64, "more than 6 months ago")]),
    ("for at least 3 months", [("duration", 91.32, "for at least 3 months")]),
    ("for at least 6 months prior to screening", [("duration", 182.64, "for at least 6 months")]),
    ("of at least 1 year duration", [("duration", 365.25, "at least 1 year duration")]),
    ("10 years or longer", [("duration", 3652.5, "10 years or longer")]),
    ("during the study", [("future", None, "during the study")]),
    ("for 3 months after the last dose", [("future", 91.32, "for 3 months after")]),
    ("18 years or older", []),  # an age, not a duration
]


@pytest.mark.parametrize(("text", "expected"), VALUES)
def test_values(text: str, expected: list[tuple]) -> None:
    norm = normalize_map(text)
    got = []
    for q in find_quantities(norm.text):
        a, b = norm.span(q.start, q.end)
        got.append((q.comparator, q.value, q.high, q.unit, text[a:b]))
    assert got == [
        (c, pytest.approx(v), pytest.approx(h) if h is not None else None, u, t)
        for c, v, h, u, t in expected
    ]


@pytest.mark.parametrize(("text", "expected"), WINDOWS)
def test_windows(text: str, expected: list[tuple]) -> None:
    norm = normalize_map(text)
    got = []
    for w in find_windows(norm.text):
        a, b = norm.span(w.start, w.end)
        got.append((w.kind, w.days, text[a:b]))
    assert got == [(k, pytest.approx(d) if d else d, t) for k, d, t in expected]


@pytest.mark.parametrize(
    ("found", "ucum"),
    [
        ("mg/dl", "mg/dL"),
        ("x ULN", "x ULN"),
        ("cells/mm3", "/mm3"),
        ("IU/L", "[IU]/L"),
        ("mcg/L", "ug/L"),
        ("furlongs", "furlongs"),
    ],
)
def test_unit_spellings_become_ucum(found: str, ucum: str) -> None:
    assert canonical_unit(found) == ucum


def test_offset_map_survives_every_rewrite() -> None:
    text = "Platelets no less than 100,000/mm³ — eighteen years or older × 2"
    norm = normalize_map(text)
    assert norm.text == "platelets >= 100000/mm³ - 18 years ⊒ x 2"
    assert len(norm.starts) == len(norm.ends) == len(norm.text)

    def source(piece: str) -> str:
        at = norm.text.index(piece)
        a, b = norm.span(at, at + len(piece))
        return text[a:b]

    assert source(">=") == "no less than"
    assert source("100000") == "100,000"
    assert source("18") == "eighteen"
    assert source("⊒") == "or older"
    assert source("x") == "×"
    assert source("platelets") == "Platelets"
