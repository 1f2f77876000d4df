"""Values a record implies without stating them: eGFR from a serum creatinine, BMI from a
weight and a height.

Renal limits are the commonest lab criteria ("creatinine clearance >= 60 mL/min", "eGFR < 30")
while notes and many EHR extracts give only the serum creatinine; likewise BMI limits against a
stated weight and height. A clinician reading the record would compute them, so the matcher
does: each derived fact points at the measurement it came from (same source, sentence and date)
and says in its value text how it was computed, so the evidence stays checkable. A value the
record states is never replaced: nothing is derived when the record has one of its own.

eGFR uses the CKD-EPI 2021 creatinine equation (no race term), with the age and sex at the
creatinine's date; it is not computed for children (the equation is for adults).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from matcher.model import Assertion, Fact, FactKind, PatientRecord

EGFR = "estimated glomerular filtration rate"
BMI = "body mass index"
EGFR_UNIT = "mL/min/{1.73_m2}"
_EGFR_NAMES = frozenset({"egfr", "gfr", EGFR, "glomerular filtration rate", "creatinine clearance"})
_NOT_SERUM = frozenset({"clearance", "urine", "urinary", "ratio", "kinase", "albumin", "excretion"})
_UMOL_PER_MG_DL = 88.42  # creatinine
_KG_PER = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}
_M_PER = {"m": 1.0, "cm": 0.01, "mm": 0.001, "[in_i]": 0.0254, "in": 0.0254}
ADULT_YEARS = 18


def _words(fact: Fact) -> set[str]:
    return set(fact.text.lower().replace("[", " ").replace("]", " ").split())


def _measured(fact: Fact) -> bool:
    return (
        fact.value is not None
        and not fact.comparator
        and fact.assertion == Assertion.PRESENT
        and fact.kind == FactKind.OBSERVATION
    )


def _serum_creatinine_mg_dl(fact: Fact) -> float | None:
    words = _words(fact)
    if not _measured(fact) or "creatinine" not in words or words & _NOT_SERUM:
        return None
    assert fact.value is not None
    unit = fact.unit.lower().replace(" ", "")
    if unit == "mg/dl":
        return fact.value
    if unit in ("umol/l", "µmol/l", "μmol/l"):
        return fact.value / _UMOL_PER_MG_DL
    return None


def ckd_epi_2021(creatinine_mg_dl: float, age_years: float, female: bool) -> float:
    """eGFR in mL/min/1.73 m² (Inker et al., NEJM 2021)."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    egfr = 142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age_years
    return egfr * 1.012 if female else egfr


def _egfr_facts(record: PatientRecord, facts: list[Fact]) -> list[Fact]:
    if record.gender not in ("male", "female") or record.birth_date is None:
        return []
    out: list[Fact] = []
    for fact in facts:
        creatinine = _serum_creatinine_mg_dl(fact)
        if creatinine is None or creatinine <= 0 or fact.start is None:
            continue
        age = record.age_at(fact.start.date())
        if age is None or age < ADULT_YEARS:
            continue
        value = round(ckd_epi_2021(creatinine, age, record.gender == "female"), 1)
        how = f"CKD-EPI 2021 from creatinine {creatinine:.2f} mg/dL, age {age:g}, {record.gender}"
        out.append(_derived(fact, EGFR, value, EGFR_UNIT, how))
    return out


def _latest(facts: Iterable[Fact]) -> Fact | None:
    dated = [f for f in facts if f.start is not None]
    return max(dated, key=lambda f: f.start) if dated else None  # type: ignore[arg-type,return-value]


def _bmi_facts(facts: list[Fact]) -> list[Fact]:
    weights = [f for f in facts if _measured(f) and _words(f) & {"weight"} and f.unit in _KG_PER]
    heights = [
        f for f in facts if _measured(f) and _words(f) & {"height", "length"} and f.unit in _M_PER
    ]
    weight, height = _latest(weights), _latest(heights)
    if weight is None or height is None:
        return []
    assert weight.value is not None and height.value is not None
    kg, metres = weight.value * _KG_PER[weight.unit], height.value * _M_PER[height.unit]
    if kg <= 0 or not 0.3 <= metres <= 2.6:
        return []
    value = round(kg / metres**2, 1)
    how = f"weight {kg:g} kg / height {metres:.2f} m squared"
    return [_derived(weight, BMI, value, "kg/m2", how)]


def _derived(source: Fact, text: str, value: float, unit: str, how: str) -> Fact:
    return replace(
        source,
        text=text,
        codes=[],
        value=value,
        unit=unit,
        value_text=f"{value:g} {unit} ({how})",
        comparator="",
    )


def derived_facts(record: PatientRecord) -> list[Fact]:
    """The facts a record implies but does not state (none when it states them)."""
    facts = record.facts
    out: list[Fact] = []
    if not any(
        _measured(f) and (f.text.lower() in _EGFR_NAMES or "glomerular" in _words(f)) for f in facts
    ):
        out += _egfr_facts(record, facts)
    if not any(_measured(f) and BMI in f.text.lower() for f in facts):
        out += _bmi_facts(facts)
    return out
