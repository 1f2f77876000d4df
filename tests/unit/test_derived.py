"""Derived values: eGFR from a serum creatinine (CKD-EPI 2021), BMI from weight and height."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from matcher.matching.derived import BMI, EGFR, ckd_epi_2021, derived_facts
from matcher.model import Assertion, Fact, FactKind, PatientRecord

WHEN = datetime(2021, 1, 1, tzinfo=UTC)


def obs(text: str, value: float, unit: str, **kw: object) -> Fact:
    fields: dict = {"source": "DocumentReference/n#s2", "value": value, "unit": unit}
    fields.update({"start": WHEN, **kw})
    return Fact(FactKind.OBSERVATION, text, **fields)


def record(*facts: Fact, gender: str = "female", born: date | None = date(1976, 1, 1)):
    return PatientRecord("p1", birth_date=born, gender=gender, facts=list(facts))


# (creatinine mg/dL, age, female) -> eGFR, worked by hand from the published equation
@pytest.mark.parametrize(
    ("creatinine", "age", "female", "expected"),
    [
        (1.0, 50, False, 91.7),
        (0.7, 40, True, 112.1),
        (2.0, 70, False, 35.2),
        (1.3, 45, True, 51.7),
    ],
)
def test_ckd_epi_2021(creatinine: float, age: float, female: bool, expected: float) -> None:
    assert ckd_epi_2021(creatinine, age, female) == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        # age and sex at the creatinine's date; the fact points at the creatinine's sentence
        (record(obs("creatinine", 1.3, "mg/dL")), [(EGFR, 51.7, "mL/min/{1.73_m2}")]),
        (record(obs("Creatinine", 115, "umol/L")), [(EGFR, 51.6, "mL/min/{1.73_m2}")]),
        # a stated eGFR (or clearance) is never replaced
        (record(obs("creatinine", 1.3, "mg/dL"), obs("egfr", 40, "mL/min/{1.73_m2}")), []),
        (record(obs("creatinine clearance", 40, "mL/min")), []),
        # no sex, no birth date, a child, a bound rather than a value, an absent or urine
        # creatinine: nothing to compute from
        (record(obs("creatinine", 1.3, "mg/dL"), gender="unknown"), []),
        (record(obs("creatinine", 1.3, "mg/dL"), born=None), []),
        (record(obs("creatinine", 0.3, "mg/dL"), born=date(2020, 12, 29)), []),
        (record(obs("creatinine", 1.3, "mg/dL", comparator=">")), []),
        (record(obs("creatinine", 1.3, "mg/dL", assertion=Assertion.HISTORICAL)), []),
        (record(obs("urine creatinine", 90, "mg/dL")), []),
        # BMI from the latest weight and a height, in any of the units notes use
        (
            record(obs("weight", 80, "kg"), obs("height", 165, "cm")),
            [(BMI, 29.4, "kg/m2")],
        ),
        (record(obs("weight", 220, "lb"), obs("height", 70, "in")), [(BMI, 31.6, "kg/m2")]),
        (record(obs("weight", 80, "kg")), []),
        (record(obs("weight", 80, "kg"), obs("height", 165, "cm"), obs(BMI, 30, "kg/m2")), []),
    ],
)
def test_derived_facts(rec: PatientRecord, expected: list[tuple[str, float, str]]) -> None:
    got = derived_facts(rec)
    assert [(f.text, f.value, f.unit) for f in got] == expected
    for fact in got:
        assert fact.source == "DocumentReference/n#s2" and fact.start == WHEN
        assert "(" in fact.value_text  # says how it was computed
