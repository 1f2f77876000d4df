"""Lab values and vitals in note text: value, canonical unit, comparator; implausible ones
dropped. Wording from TREC 2021 / SIGIR topics and criterion-annotation notes."""

from __future__ import annotations

import pytest

from nlp.notes.measurements import find_measurements

CASES = [
    # (text, [(name, value, unit, comparator)])
    ("HbA1c 8.2%", [("hemoglobin a1c", 8.2, "%", "")]),
    (  # trec-202120
        "IGF-1 of 968 ng/mL and random GH of 19.7 ng/mL",
        [("igf-1", 968, "ng/mL", ""), ("growth hormone", 19.7, "ng/mL", "")],
    ),
    ("GH 3 ug/L", [("growth hormone", 3, "ug/L", "")]),
    ("A1c was 64 mmol/mol", [("hemoglobin a1c", 64, "mmol/mol", "")]),
    ("creatinine of 2.1 mg/dL", [("creatinine", 2.1, "mg/dL", "")]),
    ("BMI 32", [("body mass index", 32, "kg/m2", "")]),
    ("Her BMI was 24.", [("body mass index", 24, "kg/m2", "")]),  # trec-202166
    ("temperature 39 C", [("body temperature", 39, "Cel", "")]),
    ("fever up to 39 C, dyspnea and cough", [("body temperature", 39, "Cel", "")]),  # sigir-20142
    ("The parents report a spike at 104F.", [("body temperature", 104, "[degF]", "")]),
    ("WBC 14,000", [("white blood cell count", 14000, "/uL", "")]),
    # micro-units per mL are milli-units per L; IU/mL is not mIU/L.
    ("TSH 2.5 uIU/mL.", [("tsh", 2.5, "mIU/L", "")]),
    ("HCV RNA 1,200,000 IU/mL.", [("viral load", 1200000, "[IU]/mL", "")]),
    ("WBC 14.2", [("white blood cell count", 14.2, "10*3/uL", "")]),  # implied by magnitude
    ("EF was 25%.", [("left ventricular ejection fraction", 25, "%", "")]),  # trec-20212
    ("a hemoglobin (Hb) of 9.0 g/dL", [("hemoglobin", 9.0, "g/dL", "")]),  # sigir-201514
    ("platelet count of 50,000/mm3", [("platelets", 50000, "/mm3", "")]),
    ("urine output of less than 0.2 mL/kg/hr", [("urine output", 0.2, "mL/kg/h", "<")]),
    ("HbA1c > 9%", [("hemoglobin a1c", 9, "%", ">")]),
    ("serum potassium at least 3.5", [("potassium", 3.5, "mmol/L", ">=")]),
    (
        "She is 165 cm tall and weighs 115 kg.",  # trec-202136
        [("height", 165, "cm", ""), ("weight", 115, "kg", "")],
    ),
    (
        "WBC 25,000, with 25% Eosinophils",  # sigir-20159
        [("white blood cell count", 25000, "/uL", ""), ("eosinophils", 25, "%", "")],
    ),
    (
        "Vital signs: T: 39.5 C, BP: 90/60 HR: 120/min RR: 40/min.",  # sigir-20159
        [
            ("body temperature", 39.5, "Cel", ""),
            ("blood pressure", 90, "mm[Hg]", ""),
            ("heart rate", 120, "/min", ""),
            ("respiratory rate", 40, "/min", ""),
        ],
    ),
    # not values: ranges, decades, durations, implausible numbers, coordinated lists
    ("O2 sats 60s-70s at home", []),
    ("on 2.5-3.5L O2 at baseline", []),
    ("weight loss (20 lb)", []),
    ("temperature 12", []),
    ("LDL-C and HDL-C levels were 545 and 53 mg/dL, respectively", []),
    ("UA: WBC: 2 WBCs/hpf", []),  # trec-202124: urine microscopy, not a blood count
    ("HR 20%", []),  # a stated unit the lab does not take is not replaced by a guess
    ("direct bilirubin: 2.4 mg/dL", [("direct bilirubin", 2.4, "mg/dL", "")]),  # not total
    ("SCr 2.1 in [**3-17**]", [("creatinine", 2.1, "mg/dL", "")]),  # trec-202115
    ("triglyceride levels (85 and 158 mg/dL, resp.)", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_values_units_comparators(text: str, expected: list[tuple[str, float, str, str]]) -> None:
    got = [(m.name, m.value, m.unit, m.comparator) for m in find_measurements(text)]
    assert [(n, pytest.approx(v), u, c) for n, v, u, c in expected] == got


def test_blood_pressure_has_both_components() -> None:
    (bp,) = find_measurements("high blood pressure (175/95 mmHg)")  # trec-202168
    assert bp.name == "blood pressure"
    assert bp.components == (("systolic blood pressure", 175), ("diastolic blood pressure", 95))
    assert bp.value_text == "175/95 mm[Hg]"


@pytest.mark.parametrize(
    ("text", "name", "qualifier"),
    [
        ("persistently elevated HbA1c", "hemoglobin a1c", "elevated"),  # sigir-20146
        ("creatinine was normal", "creatinine", "normal"),
        ("low platelet count on admission", "platelets", "low"),
    ],
)
def test_qualitative_results(text: str, name: str, qualifier: str) -> None:
    (m,) = find_measurements(text)
    assert (m.name, m.value, m.qualifier, m.value_text) == (name, None, qualifier, qualifier)


def test_span_covers_the_mention() -> None:
    text = "Labs: creatinine of 2.1 mg/dL and BUN 40."
    spans = [text[m.start : m.end] for m in find_measurements(text)]
    assert spans == ["creatinine of 2.1 mg/dL", "BUN 40"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A finding states a bound by its clinical definition (sigir-20143: "tachypneic and
        # tachycardic" answers "heart rate of at least 90/min").
        (
            "tachypneic and tachycardic",
            [("respiratory rate", 20, "/min", ">"), ("heart rate", 100, "/min", ">")],
        ),
        ("she was bradycardic", [("heart rate", 60, "/min", "<")]),
        (
            "hypotensive and hypoxic",
            [("systolic blood pressure", 90, "mm[Hg]", "<"), ("oxygen saturation", 90, "%", "<")],
        ),
        ("64-year-old obese female", [("body mass index", 30, "kg/m2", ">=")]),
        ("morbidly obese man", [("body mass index", 40, "kg/m2", ">=")]),
        ("afebrile on arrival", [("body temperature", 38, "Cel", "<")]),
        # A measured value beats the word's definition.
        ("tachycardic, HR 96", [("heart rate", 96, "/min", "")]),
        ("afebrile today, temperature 37.2 C", [("body temperature", 37.2, "Cel", "")]),
        # Only whole words: "antihypotensive" or "hypoxic-ischemic" name no finding of the patient.
        ("antihypotensive drugs", []),
        ("hypoxic-ischemic encephalopathy", []),
        ("low-grade fever", []),  # "fever" states no bound: notes use it loosely
    ],
)
def test_findings_imply_vital_sign_bounds(
    text: str, expected: list[tuple[str, float, str, str]]
) -> None:
    got = [(m.name, m.value, m.unit, m.comparator) for m in find_measurements(text)]
    assert [(n, pytest.approx(v), u, c) for n, v, u, c in expected] == got
