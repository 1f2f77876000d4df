"""Evaluator tables: assertions, windows, units, age at index date, sex, N/A for sex-specific."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest

from matcher.matching.concepts import PatientConcepts
from matcher.matching.evaluate import CriterionEvaluator, EvaluatorConfig
from matcher.matching.rank import RankWeights, build_match, order, verdict
from matcher.model import (
    Assertion,
    Category,
    Concept,
    Criterion,
    CriterionKind,
    CriterionResult,
    Entity,
    Evidence,
    Fact,
    FactKind,
    Outcome,
    PatientRecord,
    Verdict,
)
from nlp.applicability import load_applicability, load_qualifiers
from nlp.vocab import load_synonyms, load_units

INDEX = date(2020, 6, 1)


class HashEmbedder:
    """A fake of our Embedder interface: one axis per distinct text, so only equal texts are
    similar (hashing into a few axes made unrelated texts collide on some runs)."""

    dim = 4096

    def __init__(self) -> None:
        self._axis: dict[str, int] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, self._axis.setdefault(t.lower(), len(self._axis))] = 1.0
        return out


def fact(
    kind: FactKind,
    text: str,
    *,
    assertion: Assertion = Assertion.PRESENT,
    start: str | None = "2019-01-01",
    end: str | None = None,
    value: float | None = None,
    unit: str = "",
    status: str = "active",
) -> Fact:
    def ts(s: str | None) -> datetime | None:
        return datetime.fromisoformat(s).replace(tzinfo=UTC) if s else None

    return Fact(
        kind,
        text,
        f"{kind.value}/{abs(hash(text)) % 1000}",
        value=value,
        unit=unit,
        start=ts(start),
        end=ts(end),
        status=status,
        assertion=assertion,
    )


def patient(*facts: Fact, gender: str = "male", birth: str = "1970-06-02") -> PatientRecord:
    return PatientRecord("p1", date.fromisoformat(birth), gender, facts=list(facts))


def crit(
    category: Category,
    concept: str | None,
    *,
    kind: CriterionKind = CriterionKind.INCLUSION,
    text: str = "",
    negated: bool = False,
    comparator: str = "",
    value: float | None = None,
    value_high: float | None = None,
    unit: str = "",
    value_text: str = "",
    window_days: float | None = None,
    group: str = "",
) -> Criterion:
    return Criterion(
        "c1",
        kind,
        text or (concept or "free text"),
        category,
        Concept(concept) if concept else None,
        negated,
        comparator,
        value,
        value_high,
        value_text,
        unit,
        window_days,
        group,
    )


@pytest.fixture(scope="module")
def evaluator() -> CriterionEvaluator:
    return CriterionEvaluator(
        load_synonyms(),
        load_units(),
        EvaluatorConfig(),
        load_applicability(),
        load_qualifiers(),
    )


def run(evaluator: CriterionEvaluator, c: Criterion, record: PatientRecord) -> CriterionResult:
    emb = HashEmbedder()
    text = c.concept.text if c.concept else c.text
    ctx = evaluator.context(c, emb.encode([text])[0])
    return evaluator.evaluate(ctx, PatientConcepts(record, emb), INDEX)


WBC_OVER_12000 = dataclasses.replace(
    fact(FactKind.OBSERVATION, "white blood cell count", value=12000, unit="/uL"), comparator=">"
)
DIABETES = fact(FactKind.CONDITION, "Diabetes mellitus type 2 (disorder)")
CASES = [
    # (criterion, patient, expected outcome, words expected in the reason)
    (crit(Category.CONDITION, "type 2 diabetes"), patient(DIABETES), Outcome.MET, "record shows"),
    (crit(Category.CONDITION, "T2DM"), patient(DIABETES), Outcome.MET, "record shows"),
    (
        crit(Category.CONDITION, "type 2 diabetes", negated=True),
        patient(DIABETES),
        Outcome.NOT_MET,
        "record shows",
    ),
    (crit(Category.CONDITION, "type 2 diabetes"), patient(), Outcome.UNKNOWN, "no record"),
    (
        crit(Category.CONDITION, "heart failure"),
        patient(fact(FactKind.NOTE_MENTION, "heart failure", assertion=Assertion.ABSENT)),
        Outcome.NOT_MET,
        "absent",
    ),
    (
        crit(Category.CONDITION, "heart failure", negated=True),
        patient(fact(FactKind.NOTE_MENTION, "heart failure", assertion=Assertion.ABSENT)),
        Outcome.MET,
        "absent",
    ),
    (
        crit(Category.CONDITION, "breast cancer"),
        patient(fact(FactKind.NOTE_MENTION, "breast cancer", assertion=Assertion.FAMILY)),
        Outcome.UNKNOWN,
        "no record",
    ),
    (
        crit(Category.CONDITION, "myocardial infarction", window_days=182),
        patient(
            fact(
                FactKind.CONDITION,
                "Myocardial Infarction",
                start="2010-01-01",
                end="2010-02-01",
                status="resolved",
            )
        ),
        Outcome.NOT_MET,
        "outside the 182-day window",
    ),
    (
        crit(Category.CONDITION, "myocardial infarction", window_days=182),
        patient(fact(FactKind.CONDITION, "Myocardial Infarction", start="2020-03-01")),
        Outcome.MET,
        "record shows",
    ),
    (
        crit(Category.CONDITION, "stroke"),
        patient(fact(FactKind.CONDITION, "Stroke", start="2021-01-01")),
        Outcome.UNKNOWN,
        "no record",
    ),  # recorded after the index date: not yet known
    (
        crit(
            Category.LAB, "hemoglobin a1c", comparator="between", value=7, value_high=10, unit="%"
        ),
        patient(
            fact(
                FactKind.OBSERVATION,
                "Hemoglobin A1c/Hemoglobin.total in Blood",
                value=8.2,
                unit="%",
                start="2020-01-01",
            ),
            fact(
                FactKind.OBSERVATION,
                "Hemoglobin A1c/Hemoglobin.total in Blood",
                value=6.1,
                unit="%",
                start="2018-01-01",
            ),
        ),
        Outcome.MET,
        "latest hemoglobin a1c 8.2",
    ),
    (
        crit(Category.LAB, "platelets", comparator=">=", value=100000, unit="/mm3"),
        patient(
            fact(FactKind.OBSERVATION, "Platelets [#/volume] in Blood", value=85, unit="10*3/uL")
        ),
        Outcome.NOT_MET,
        "85000",
    ),
    # Analyte-specific conversions: a molar mass bridges mg/dL and umol/L, HbA1c % and
    # mmol/mol are linear scales; an analyte the table does not name is not guessed.
    (
        crit(Category.LAB, "creatinine", comparator="<=", value=1.5, unit="mg/dL"),
        patient(fact(FactKind.OBSERVATION, "Creatinine", value=120, unit="umol/L")),
        Outcome.MET,
        "latest creatinine 1.36 mg/dL satisfies <= 1.5",
    ),
    (
        crit(Category.LAB, "serum creatinine", comparator=">", value=140, unit="umol/L"),
        patient(fact(FactKind.OBSERVATION, "creatinine", value=1.2, unit="mg/dL")),
        Outcome.NOT_MET,
        "latest serum creatinine 106.08 umol/L fails > 140",
    ),
    (
        crit(Category.LAB, "HbA1c", comparator=">", value=86, unit="mmol/mol"),
        patient(fact(FactKind.OBSERVATION, "Hemoglobin A1c", value=11.2, unit="%")),
        Outcome.MET,
        "latest HbA1c 98.9 mmol/mol satisfies > 86",
    ),
    (
        crit(Category.LAB, "glucose", comparator="<", value=7, unit="mmol/L"),
        patient(fact(FactKind.OBSERVATION, "Glucose", value=180, unit="mg/dL")),
        Outcome.NOT_MET,
        "fails < 7",
    ),
    (
        crit(Category.LAB, "creatinine clearance", comparator=">=", value=60, unit="mL/min"),
        patient(fact(FactKind.OBSERVATION, "Creatinine clearance", value=1.1, unit="mg/dL")),
        Outcome.UNKNOWN,
        "cannot compare",
    ),
    # A value in a unit the limit cannot take is another analyte of the same name: the latest
    # comparable value decides, whatever its date.
    (
        crit(Category.LAB, "hemoglobin", comparator=">=", value=9, unit="g/dL"),
        patient(
            fact(FactKind.OBSERVATION, "hemoglobin", value=8.1, unit="g/dL", start="2020-01-01"),
            fact(FactKind.OBSERVATION, "hemoglobin a1c", value=9.5, unit="%", start="2020-06-01"),
        ),
        Outcome.NOT_MET,
        "latest hemoglobin 8.1 g/dL fails >= 9",
    ),
    (
        crit(Category.LAB, "hemoglobin", comparator=">=", value=9, unit="g/dL"),
        patient(fact(FactKind.OBSERVATION, "hemoglobin a1c", value=9.5, unit="%")),
        Outcome.UNKNOWN,
        "cannot compare",
    ),
    # Renal limits against a record that gives only the creatinine: its eGFR (CKD-EPI 2021,
    # male, 48 full years at 2019-01-01) is 67.8, and protocols read eGFR as the clearance.
    (
        crit(Category.LAB, "creatinine clearance", comparator=">=", value=60, unit="mL/min"),
        patient(fact(FactKind.OBSERVATION, "creatinine", value=1.3, unit="mg/dL")),
        Outcome.MET,
        "latest creatinine clearance 67.8 mL/min satisfies >= 60",
    ),
    (
        crit(Category.LAB, "eGFR", comparator="<", value=30, unit="mL/min/{1.73_m2}"),
        patient(fact(FactKind.OBSERVATION, "creatinine", value=1.3, unit="mg/dL")),
        Outcome.NOT_MET,
        "fails < 30",
    ),
    (
        crit(Category.LAB, "homocysteine", comparator="<=", value=1.5, unit="mg/dL"),
        patient(fact(FactKind.OBSERVATION, "Homocysteine", value=12, unit="umol/L")),
        Outcome.UNKNOWN,
        "cannot compare",
    ),
    # Multiples of a normal limit, without the laboratory's range: decided only when the
    # value meets or fails the limit over the usual normal limits (AST ULN 31-50 U/L).
    (
        crit(Category.LAB, "AST", comparator="<=", value=2.5, unit="x ULN"),
        patient(fact(FactKind.OBSERVATION, "AST", value=45, unit="U/L")),
        Outcome.MET,
        "latest AST 45 U/L is 0.9-1.45 x ULN (usual ULN 31-50 U/L), satisfies <= 2.5",
    ),
    (
        crit(Category.LAB, "AST", comparator="<=", value=2.5, unit="x ULN"),
        patient(fact(FactKind.OBSERVATION, "aspartate aminotransferase", value=200, unit="U/L")),
        Outcome.NOT_MET,
        "is 4-6.45 x ULN",
    ),
    (
        crit(Category.LAB, "AST", comparator="<=", value=2.5, unit="x ULN"),
        patient(fact(FactKind.OBSERVATION, "AST", value=100, unit="U/L")),
        Outcome.UNKNOWN,
        "depends on the laboratory's range",
    ),
    (  # 34 umol/L is 1.99 mg/dL; total bilirubin ULN 1.0-1.3 mg/dL
        crit(Category.LAB, "total bilirubin", comparator="<=", value=1.5, unit="x ULN"),
        patient(fact(FactKind.OBSERVATION, "bilirubin", value=34, unit="umol/L")),
        Outcome.NOT_MET,
        "fails <= 1.5",
    ),
    (  # an exclusion that applies
        crit(
            Category.LAB,
            "ALT",
            kind=CriterionKind.EXCLUSION,
            comparator=">",
            value=3,
            unit="x ULN",
        ),
        patient(fact(FactKind.OBSERVATION, "ALT", value=400, unit="U/L")),
        Outcome.MET,
        "satisfies > 3",
    ),
    (  # no usual limit in the table for lipase
        crit(Category.LAB, "lipase", comparator="<=", value=1.5, unit="x ULN"),
        patient(fact(FactKind.OBSERVATION, "lipase", value=30, unit="U/L")),
        Outcome.UNKNOWN,
        "normal range",
    ),
    (
        crit(Category.LAB, "body mass index", comparator=">=", value=30, unit="kg/m2"),
        patient(),
        Outcome.UNKNOWN,
        "no body mass index value",
    ),
    (
        crit(Category.DEMOGRAPHIC, "age", comparator=">=", value=50, unit="years"),
        patient(birth="1970-06-02"),
        Outcome.NOT_MET,
        "age 49",
    ),  # 50th birthday is the next day
    (
        crit(Category.DEMOGRAPHIC, "age", comparator="between", value=18, value_high=50),
        patient(birth="1970-06-01"),
        Outcome.MET,
        "age 50",
    ),
    (
        crit(Category.DEMOGRAPHIC, "age", comparator=">=", value=18),
        PatientRecord("p1"),
        Outcome.UNKNOWN,
        "birth date",
    ),
    (
        crit(Category.DEMOGRAPHIC, "sex", value_text="female"),
        patient(gender="male"),
        Outcome.NOT_MET,
        "male",
    ),
    (
        crit(Category.DEMOGRAPHIC, "sex", value_text="all"),
        patient(gender="female"),
        Outcome.MET,
        "female",
    ),
    (
        crit(
            Category.PREGNANCY,
            "pregnancy",
            kind=CriterionKind.EXCLUSION,
            text="Pregnant or breastfeeding women",
        ),
        patient(gender="male"),
        Outcome.NOT_APPLICABLE,
        "women",
    ),
    (
        crit(Category.PREGNANCY, "pregnancy", kind=CriterionKind.EXCLUSION, text="Pregnancy"),
        patient(fact(FactKind.CONDITION, "Normal pregnancy", start="2020-05-01"), gender="female"),
        Outcome.MET,
        "record shows",
    ),
    (crit(Category.CONSENT, "informed consent"), patient(), Outcome.UNKNOWN, "screening"),
    # A minimum duration ("for at least 1 year") needs an onset early enough.
    (
        dataclasses.replace(crit(Category.CONDITION, "type 2 diabetes"), duration_days=365.25),
        patient(fact(FactKind.CONDITION, "type 2 diabetes", start="2020-05-20")),
        Outcome.NOT_MET,
        "less than 365.25 days",
    ),
    (
        dataclasses.replace(crit(Category.CONDITION, "type 2 diabetes"), duration_days=365.25),
        patient(fact(FactKind.CONDITION, "type 2 diabetes", start="2018-01-01")),
        Outcome.MET,
        "record shows",
    ),
    (
        dataclasses.replace(crit(Category.CONDITION, "type 2 diabetes"), duration_days=365.25),
        patient(
            dataclasses.replace(
                fact(FactKind.NOTE_MENTION, "type 2 diabetes", start="2020-06-01"),
                sentence="He has type 2 diabetes.",
            )
        ),
        Outcome.UNKNOWN,
        "not since when",
    ),
    (  # the note states how long ("fever ... for 2 days"): too short, so not met
        dataclasses.replace(crit(Category.CONDITION, "fever"), duration_days=7),
        patient(
            dataclasses.replace(
                fact(FactKind.NOTE_MENTION, "fever", start="2020-05-30", end="2020-06-01"),
                sentence="He has had fever and cough for 2 days.",
            )
        ),
        Outcome.NOT_MET,
        "less than 7 days",
    ),
    (  # ... or long enough
        dataclasses.replace(crit(Category.CONDITION, "cough"), duration_days=7),
        patient(
            dataclasses.replace(
                fact(FactKind.NOTE_MENTION, "cough", start="2020-03-01", end="2020-06-01"),
                sentence="He has had a cough over the past 3 months.",
            )
        ),
        Outcome.MET,
        "record shows",
    ),
    (  # an event the note dates says nothing of how long it lasted
        dataclasses.replace(crit(Category.CONDITION, "fever"), duration_days=7),
        patient(
            dataclasses.replace(
                fact(FactKind.NOTE_MENTION, "fever", start="2020-05-18", end="2020-05-18"),
                sentence="Two weeks ago he was seen for low-grade fever.",
            )
        ),
        Outcome.UNKNOWN,
        "not since when",
    ),
    (  # an event the note dates ("2 years earlier") falls outside a 6-month lookback
        crit(
            Category.CONDITION,
            "myocardial infarction",
            kind=CriterionKind.EXCLUSION,
            window_days=182.64,
            text="Myocardial infarction within the last 6 months",
        ),
        patient(
            dataclasses.replace(
                fact(
                    FactKind.NOTE_MENTION,
                    "myocardial infarction",
                    assertion=Assertion.HISTORICAL,
                    start="2018-06-01",
                    end="2018-06-01",
                ),
                sentence="He had a myocardial infarction 2 years earlier.",
            )
        ),
        Outcome.NOT_MET,
        "outside the 182.64-day window",
    ),
    # A value recorded with a bound ("WBC > 12,000") decides only when the bound does.
    (
        crit(Category.LAB, "white blood cell count", comparator="<", value=15000, unit="/uL"),
        patient(WBC_OVER_12000),
        Outcome.UNKNOWN,
        "neither meets nor fails",
    ),
    (
        crit(Category.LAB, "white blood cell count", comparator=">", value=10000, unit="/uL"),
        patient(WBC_OVER_12000),
        Outcome.MET,
        "satisfies",
    ),
    (
        crit(Category.LAB, "white blood cell count", comparator="<", value=11000, unit="/uL"),
        patient(WBC_OVER_12000),
        Outcome.NOT_MET,
        "fails",
    ),
    # Age limits in the unit they are stated in (index date 2020-06-01).
    (
        crit(Category.DEMOGRAPHIC, "age", comparator=">=", value=0.5, unit="years"),
        patient(birth="2019-10-20"),  # 7 months
        Outcome.MET,
        "satisfies",
    ),
    (
        crit(Category.DEMOGRAPHIC, "age", comparator="<", value=0.5, unit="years"),
        patient(birth="2019-10-20"),
        Outcome.NOT_MET,
        "violates",
    ),
    (
        crit(Category.DEMOGRAPHIC, "age", comparator="<=", value=65, unit="years"),
        patient(birth="1955-03-01"),  # 65 years 3 months
        Outcome.MET,
        "satisfies",
    ),
    (
        crit(
            Category.DEMOGRAPHIC, "age", comparator="between", value=0.5, value_high=2, unit="years"
        ),
        patient(birth="2018-03-01"),  # 2 years 3 months: still "2"
        Outcome.MET,
        "satisfies",
    ),
    (
        crit(Category.CONSENT, None, text="Consent as above"),
        patient(),
        Outcome.UNKNOWN,
        "screening",
    ),
    # A less specific record neither establishes nor rules in the concept...
    (
        crit(Category.CONDITION, "Hodgkin lymphoma", kind=CriterionKind.EXCLUSION),
        patient(fact(FactKind.CONDITION, "lymphoma")),
        Outcome.UNKNOWN,
        "less specific",
    ),
    # ...but its absence rules it out.
    (
        crit(Category.CONDITION, "Hodgkin lymphoma", kind=CriterionKind.EXCLUSION),
        patient(fact(FactKind.NOTE_MENTION, "lymphoma", assertion=Assertion.ABSENT)),
        Outcome.NOT_MET,
        "absent",
    ),
    # A head noun is optional only when the rest of the phrase says it all.
    (
        crit(Category.CONDITION, "liver disease", kind=CriterionKind.EXCLUSION),
        patient(fact(FactKind.CONDITION, "liver cancer")),
        Outcome.UNKNOWN,
        "no record",
    ),
    (
        crit(Category.CONDITION, "Alzheimer disease", kind=CriterionKind.EXCLUSION),
        patient(fact(FactKind.CONDITION, "Alzheimer's")),
        Outcome.MET,
        "record shows",
    ),
    (
        crit(Category.PREGNANCY, "pregnancy", negated=True, text="Not pregnant or nursing"),
        patient(
            fact(FactKind.NOTE_MENTION, "pregnancy", assertion=Assertion.HISTORICAL, start=None),
            gender="female",
        ),
        Outcome.MET,
        "only in the past",
    ),
    (
        crit(
            Category.CONDITION,
            "hypertension",
            kind=CriterionKind.EXCLUSION,
            text="Patients with uncontrolled hypertension.",
        ),
        patient(fact(FactKind.CONDITION, "hypertension")),
        Outcome.UNKNOWN,
        "not whether it is uncontrolled",
    ),
    (
        crit(
            Category.CONDITION,
            "hypertension",
            kind=CriterionKind.EXCLUSION,
            text="Patients with uncontrolled hypertension.",
        ),
        patient(fact(FactKind.CONDITION, "uncontrolled hypertension")),
        Outcome.MET,
        "record shows",
    ),
    (
        crit(
            Category.CONDITION,
            "myocardial infarction",
            kind=CriterionKind.EXCLUSION,
            window_days=91.3,
            text="Myocardial infarction within 3 months",
        ),
        patient(
            fact(
                FactKind.CONDITION,
                "myocardial infarction",
                assertion=Assertion.HISTORICAL,
                start=None,
            )
        ),
        Outcome.NOT_MET,
        "outside",
    ),
    # "Concurrent" asks about now: radiotherapy only in the past does not break the rule ...
    (
        crit(Category.PROCEDURE, "radiotherapy", negated=True, text="No concurrent radiotherapy"),
        patient(fact(FactKind.PROCEDURE, "radiotherapy", assertion=Assertion.HISTORICAL)),
        Outcome.MET,
        "only in the past",
    ),
    # ... current radiotherapy does,
    (
        crit(Category.PROCEDURE, "radiotherapy", negated=True, text="No concurrent radiotherapy"),
        patient(fact(FactKind.PROCEDURE, "radiotherapy")),
        Outcome.NOT_MET,
        "record shows",
    ),
    # ... and a past word in the criterion keeps the past relevant.
    (
        crit(
            Category.MEDICATION,
            "chemotherapy",
            kind=CriterionKind.EXCLUSION,
            text="Current or prior chemotherapy",
        ),
        patient(fact(FactKind.MEDICATION, "chemotherapy", assertion=Assertion.HISTORICAL)),
        Outcome.MET,
        "record shows",
    ),
    # A permission rules no one out, whatever the record shows ...
    (
        crit(Category.MEDICATION, "corticosteroids", text="Concurrent corticosteroids allowed"),
        patient(fact(FactKind.MEDICATION, "prednisone", assertion=Assertion.HISTORICAL)),
        Outcome.NOT_APPLICABLE,
        "only permits",
    ),
    (
        crit(
            Category.PROCEDURE,
            "radiotherapy",
            kind=CriterionKind.EXCLUSION,
            text="Prior radiotherapy permitted",
        ),
        patient(fact(FactKind.PROCEDURE, "radiotherapy")),
        Outcome.NOT_APPLICABLE,
        "only permits",
    ),
    # ... but a restricted one, or a requirement with an allowance attached, is a requirement.
    (
        crit(
            Category.MEDICATION,
            "medication regimen",
            text="Participants must be on a stable medication regimen for 2 months (dose "
            "adjustments during the study are acceptable).",
        ),
        patient(),
        Outcome.UNKNOWN,
        "no record",
    ),
    (
        crit(
            Category.MEDICATION,
            "corticosteroids",
            text="Only patients on corticosteroids are allowed",
        ),
        patient(),
        Outcome.UNKNOWN,
        "no record",
    ),
    (
        crit(Category.CONSENT, "informed consent", text="Signed informed consent"),
        patient(fact(FactKind.NOTE_MENTION, "informed consent", start=None)),
        Outcome.MET,
        "record shows",
    ),
    (
        crit(
            Category.CONSENT,
            "informed consent",
            kind=CriterionKind.EXCLUSION,
            negated=True,
            text="Inability to provide informed consent",
        ),
        patient(fact(FactKind.NOTE_MENTION, "informed consent", start=None)),
        Outcome.NOT_MET,
        "record shows",
    ),
    (
        crit(Category.CONSENT, "compliance", text="Able to comply with study visits"),
        patient(fact(FactKind.CONDITION, "informed consent")),
        Outcome.UNKNOWN,
        "screening",
    ),
    (
        crit(
            Category.PREGNANCY, "breastfeeding", kind=CriterionKind.EXCLUSION, text="breast-feeding"
        ),
        patient(gender="male"),
        Outcome.NOT_APPLICABLE,
        "women",
    ),
    (
        crit(Category.CONDITION, "smoking", kind=CriterionKind.EXCLUSION, text="Current smoker"),
        patient(gender="male", birth="2015-01-01"),
        Outcome.NOT_APPLICABLE,
        "adolescents and adults",
    ),
    (
        crit(Category.CONDITION, "smoking", kind=CriterionKind.EXCLUSION, text="Current smoker"),
        patient(gender="male", birth="1990-01-01"),
        Outcome.UNKNOWN,
        "no record",
    ),
    (
        crit(Category.OTHER, None, text="Able to swim 50 meters"),
        patient(DIABETES),
        Outcome.UNKNOWN,
        "not structured",
    ),
]


@pytest.mark.parametrize(("criterion", "record", "expected", "reason"), CASES)
def test_evaluate(
    evaluator: CriterionEvaluator,
    criterion: Criterion,
    record: PatientRecord,
    expected: Outcome,
    reason: str,
) -> None:
    result = run(evaluator, criterion, record)
    assert result.outcome == expected, result.reason
    assert reason in result.reason
    if expected in (Outcome.MET, Outcome.NOT_MET) and criterion.category != Category.DEMOGRAPHIC:
        assert result.evidence, "a decided outcome must cite its evidence"
        assert all(e.source for e in result.evidence)


def result(kind: CriterionKind, outcome: Outcome, group: str = "") -> CriterionResult:
    c = crit(Category.CONDITION, "x", kind=kind, group=group)
    return CriterionResult(c, outcome, "")


INC, EXC = CriterionKind.INCLUSION, CriterionKind.EXCLUSION


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([result(INC, Outcome.MET), result(EXC, Outcome.NOT_MET)], Verdict.ELIGIBLE),
        ([result(INC, Outcome.MET), result(EXC, Outcome.UNKNOWN)], Verdict.ELIGIBLE),
        ([result(INC, Outcome.MET), result(INC, Outcome.UNKNOWN)], Verdict.POSSIBLY_ELIGIBLE),
        ([result(INC, Outcome.MET), result(EXC, Outcome.MET)], Verdict.INELIGIBLE),
        ([result(INC, Outcome.NOT_MET), result(INC, Outcome.MET)], Verdict.INELIGIBLE),
        ([result(INC, Outcome.NOT_APPLICABLE), result(INC, Outcome.MET)], Verdict.ELIGIBLE),
        # an OR group is met by any member, failed only when all fail
        ([result(INC, Outcome.NOT_MET, "g1"), result(INC, Outcome.MET, "g1")], Verdict.ELIGIBLE),
        (
            [result(INC, Outcome.NOT_MET, "g1"), result(INC, Outcome.UNKNOWN, "g1")],
            Verdict.POSSIBLY_ELIGIBLE,
        ),
        (
            [result(INC, Outcome.NOT_MET, "g1"), result(INC, Outcome.NOT_MET, "g1")],
            Verdict.INELIGIBLE,
        ),
    ],
)
def test_verdict(results: list[CriterionResult], expected: Verdict) -> None:
    assert verdict(results) == expected


@pytest.mark.parametrize(
    ("relevance_a", "outcome_a", "relevance_b", "outcome_b", "first"),
    [
        # Equal relevance: the verdict decides.
        (0.5, Outcome.MET, 0.5, Outcome.UNKNOWN, "a"),
        (0.5, Outcome.UNKNOWN, 0.5, Outcome.NOT_MET, "a"),
        # Soft tiers: a small relevance gap does not beat a verdict step...
        (0.5, Outcome.MET, 0.6, Outcome.UNKNOWN, "a"),
        (0.5, Outcome.UNKNOWN, 0.65, Outcome.NOT_MET, "a"),
        # ...a large one does (the trial barely concerns the patient).
        (0.1, Outcome.MET, 0.99, Outcome.UNKNOWN, "b"),
    ],
)
def test_soft_tiers(
    relevance_a: float, outcome_a: Outcome, relevance_b: float, outcome_b: Outcome, first: str
) -> None:
    a = build_match("t", "a", relevance_a, [result(INC, outcome_a)])
    b = build_match("t", "b", relevance_b, [result(INC, outcome_b)])
    assert next(m.patient_id for m in order([b, a])) == first


def test_strict_tiers_by_weight() -> None:
    strict = RankWeights(tier_weight=10)
    eligible = build_match("t", "a", 0.1, [result(INC, Outcome.MET)], strict)
    possible = build_match("t", "b", 0.99, [result(INC, Outcome.UNKNOWN)], strict)
    assert order([possible, eligible])[0] is eligible
    assert (eligible.inclusions_met, eligible.inclusions_total) == (1, 1)


@pytest.mark.parametrize(("open_a", "open_b"), [(1, 6), (1, 2), (2, 3)])
def test_fewer_open_requirements_rank_first(open_a: int, open_b: int) -> None:
    """Same relevance, same verdict (possibly eligible): only the open requirements differ."""
    weights = RankWeights(unknown_weight=0.15, unknown_exclusion_weight=0.03)
    met = [result(INC, Outcome.MET)]
    a = build_match("t", "a", 0.5, met + [result(INC, Outcome.UNKNOWN)] * open_a, weights)
    b = build_match("t", "b", 0.5, met + [result(INC, Outcome.UNKNOWN)] * open_b, weights)
    assert a.verdict == b.verdict == Verdict.POSSIBLY_ELIGIBLE
    assert order([b, a])[0] is a
    # the share of inclusions met differs too; the rest is the open-requirement cost
    share = 0.1 * (1 / (1 + open_a) - 1 / (1 + open_b))
    cost = 0.15 * (math.log1p(open_b) - math.log1p(open_a))
    assert a.score - b.score == pytest.approx(share + cost, abs=2e-6)


def test_open_exclusions_cost_less_than_open_inclusions() -> None:
    weights = RankWeights(unknown_weight=0.15, unknown_exclusion_weight=0.03)
    base = [result(INC, Outcome.MET), result(INC, Outcome.UNKNOWN)]
    plain = build_match("t", "a", 0.5, base, weights)
    with_exclusions = build_match("t", "b", 0.5, base + [result(EXC, Outcome.UNKNOWN)] * 4, weights)
    assert plain.verdict == with_exclusions.verdict
    assert plain.score - with_exclusions.score == pytest.approx(0.03 * math.log1p(4), abs=2e-6)


def test_near_miss_exclusions_cost_only_when_weighted() -> None:
    silent = result(EXC, Outcome.UNKNOWN)
    near = dataclasses.replace(silent, evidence=[Evidence("Condition/1", "hypertension", 1.0)])
    for weight, cheaper in ((0.2, "silent"), (0.0, None)):
        weights = RankWeights(partial_exclusion_weight=weight)
        a = build_match("t", "silent", 0.5, [result(INC, Outcome.MET), silent], weights)
        b = build_match("t", "near", 0.5, [result(INC, Outcome.MET), near], weights)
        if cheaper is None:
            assert a.score == b.score
        else:
            assert a.score > b.score


def test_open_requirements_weigh_nothing_by_weight_zero() -> None:
    weights = RankWeights(unknown_weight=0.0, unknown_exclusion_weight=0.0)
    few = build_match("t", "a", 0.5, [result(INC, Outcome.UNKNOWN)], weights)
    many = build_match("t", "b", 0.5, [result(INC, Outcome.UNKNOWN)] * 9, weights)
    assert few.score == many.score


def test_or_group_counts_once_in_the_inclusion_share() -> None:
    results = [
        result(INC, Outcome.MET, group="g"),
        result(INC, Outcome.UNKNOWN, group="g"),
        result(INC, Outcome.MET),
    ]
    match = build_match("t", "a", 0.5, results)
    assert match.verdict == Verdict.ELIGIBLE
    assert (match.inclusions_met, match.inclusions_total) == (2, 2)


BREAST_CANCER = fact(FactKind.CONDITION, "Malignant neoplasm of breast (disorder)")
NOTE_RADIOTHERAPY = dataclasses.replace(
    fact(FactKind.NOTE_MENTION, "radiotherapy", start="2020-06-01"),
    sentence="She is s/p radiotherapy.",
)
CHEMO_FOR_BREAST_CANCER = crit(
    Category.CONDITION,
    "breast cancer",
    kind=CriterionKind.EXCLUSION,
    text="Prior chemotherapy for breast cancer",
)
ANOTHER_MALIGNANCY = crit(
    Category.CONDITION,
    "malignancy",
    kind=CriterionKind.EXCLUSION,
    text="History of another malignancy within 5 years",
)
CONTEXT_CASES = [
    # (criterion, patient, the trial's conditions, expected outcome, words in the reason)
    (  # the concept is what a therapy was for: the record shows the disease, not the therapy
        CHEMO_FOR_BREAST_CANCER,
        patient(BREAST_CANCER, gender="female"),
        (),
        Outcome.UNKNOWN,
        "the criterion is about chemotherapy",
    ),
    (  # ... but absence of the disease still rules out therapy for it
        CHEMO_FOR_BREAST_CANCER,
        patient(
            fact(FactKind.NOTE_MENTION, "breast cancer", assertion=Assertion.ABSENT),
            gender="female",
        ),
        (),
        Outcome.NOT_MET,
        "recorded as absent",
    ),
    (
        crit(
            Category.MEDICATION,
            "thalidomide",
            kind=CriterionKind.EXCLUSION,
            text="Known hypersensitivity to thalidomide",
        ),
        patient(fact(FactKind.MEDICATION, "thalidomide")),
        (),
        Outcome.UNKNOWN,
        "hypersensitivity",
    ),
    (  # the trial studies breast cancer: having it does not exclude
        ANOTHER_MALIGNANCY,
        patient(BREAST_CANCER, gender="female"),
        ("Breast Cancer",),
        Outcome.UNKNOWN,
        "which the trial studies",
    ),
    (  # a negated inclusion works the same way
        crit(
            Category.CONDITION,
            "breast cancer",
            negated=True,
            text="No bilateral breast cancer",
        ),
        patient(BREAST_CANCER, gender="female"),
        ("Breast Cancer",),
        Outcome.UNKNOWN,
        "which the trial studies",
    ),
    (  # without that link the same record excludes
        ANOTHER_MALIGNANCY,
        patient(BREAST_CANCER, gender="female"),
        ("Asthma",),
        Outcome.MET,
        "record shows",
    ),
    (  # inclusions on the studied condition are met as usual
        crit(Category.CONDITION, "breast cancer", text="Histologically confirmed breast cancer"),
        patient(BREAST_CANCER, gender="female"),
        ("Breast Cancer",),
        Outcome.MET,
        "record shows",
    ),
    (  # "no urinary tract infection" says nothing about infections in general
        crit(Category.CONDITION, "infection", text="Any suspected or confirmed infection"),
        patient(fact(FactKind.NOTE_MENTION, "urinary tract infection", assertion=Assertion.ABSENT)),
        (),
        Outcome.UNKNOWN,
        "no record",
    ),
    (  # a note's date is not the date of what it mentions
        crit(
            Category.PROCEDURE,
            "radiotherapy",
            negated=True,
            window_days=56,
            text="At least 8 weeks since prior radiotherapy",
        ),
        patient(NOTE_RADIOTHERAPY, gender="female"),
        (),
        Outcome.UNKNOWN,
        "not when",
    ),
    (  # sex only says whom an exclusion is about
        crit(
            Category.DEMOGRAPHIC,
            "sex",
            kind=CriterionKind.EXCLUSION,
            value_text="female",
            text="Female patients with a positive pregnancy test",
        ),
        patient(gender="female"),
        (),
        Outcome.UNKNOWN,
        "rest of the exclusion",
    ),
    (
        crit(
            Category.DEMOGRAPHIC,
            "sex",
            kind=CriterionKind.EXCLUSION,
            value_text="female",
            text="Female patients with a positive pregnancy test",
        ),
        patient(gender="male"),
        (),
        Outcome.NOT_APPLICABLE,  # pregnancy makes "female" the exclusion's scope
        "about female patients only",
    ),
    (  # a current condition on record is not a healthy volunteer
        crit(Category.OTHER, None, text="Healthy volunteers"),
        patient(DIABETES),
        (),
        Outcome.NOT_MET,
        "not a healthy volunteer",
    ),
    (  # a past or denied one says nothing against it
        crit(Category.CONDITION, "good general health", text="In good general health"),
        patient(
            fact(FactKind.CONDITION, "asthma", assertion=Assertion.HISTORICAL),
            fact(FactKind.CONDITION, "diabetes", assertion=Assertion.ABSENT),
        ),
        (),
        Outcome.UNKNOWN,
        "whether healthy",
    ),
    (  # a clause after the concept keeps only some of those who have it
        crit(
            Category.CONDITION,
            "asthma",
            kind=CriterionKind.EXCLUSION,
            text="Patients with asthma who refuse inhaled steroids",
        ),
        patient(fact(FactKind.CONDITION, "asthma")),
        (),
        Outcome.UNKNOWN,
        "keeps only those who refuse",
    ),
    (  # a sex-scoped requirement does not apply to the other sex
        crit(
            Category.DEMOGRAPHIC,
            "sex",
            value_text="female",
            text="female patients have adequate birth-control method",
        ),
        patient(gender="male"),
        (),
        Outcome.NOT_APPLICABLE,
        "about female patients only",
    ),
    (
        crit(
            Category.DEMOGRAPHIC,
            "sex",
            value_text="male",
            text="Male participants, even if surgically sterilized (ie, status postvasectomy)",
        ),
        patient(gender="female"),
        (),
        Outcome.NOT_APPLICABLE,
        "about male patients only",
    ),
    (  # ... but a sex that is part of what is asked fails the other sex
        crit(
            Category.DEMOGRAPHIC,
            "sex",
            value_text="female",
            text="Female patients with breast cancer",
        ),
        patient(gender="male"),
        (),
        Outcome.NOT_MET,
        "criterion asks female",
    ),
    (
        crit(Category.DEMOGRAPHIC, "age", comparator="=", value=18, unit="years"),
        patient(),
        (),
        Outcome.UNKNOWN,
        "not understood",
    ),
    (
        crit(
            Category.LAB,
            "aspartate aminotransferase",
            kind=CriterionKind.EXCLUSION,
            comparator=">",
            value=3,
            text="AST or ALT > 3 times normal",
        ),
        patient(fact(FactKind.OBSERVATION, "aspartate aminotransferase", value=22, unit="U/L")),
        (),
        Outcome.UNKNOWN,
        "normal range",
    ),
    (
        crit(
            Category.LAB,
            "weight",
            kind=CriterionKind.EXCLUSION,
            comparator=">",
            value=5,
            unit="kg",
            text="Weight gain or loss of greater than 5 kg",
        ),
        patient(fact(FactKind.OBSERVATION, "body weight", value=80, unit="kg")),
        (),
        Outcome.UNKNOWN,
        "not on one value",
    ),
    (  # a dynamic test's result is not the latest level (trec-202120)
        crit(
            Category.LAB,
            "growth hormone",
            comparator="<",
            value=2,
            unit="ng/mL",
            text="Lack of suppression of GH to less than 2.0 ng/mL after 100 g of oral glucose",
        ),
        patient(fact(FactKind.OBSERVATION, "growth hormone", value=19.7, unit="ng/mL")),
        (),
        Outcome.UNKNOWN,
        "on a suppression",
    ),
    (  # a restricting phrase after the concept must be shown too
        crit(
            Category.CONDITION,
            "amyloidosis",
            negated=True,
            text="No amyloidosis secondary to rheumatoid arthritis",
        ),
        patient(fact(FactKind.CONDITION, "amyloidosis")),
        (),
        Outcome.UNKNOWN,
        "secondary to rheumatoid arthritis",
    ),
    (  # "TB" both present and denied (a vaccination) says nothing of pulmonary TB
        crit(Category.CONDITION, "pulmonary tuberculosis", text="Pulmonary tuberculosis"),
        patient(
            fact(FactKind.NOTE_MENTION, "tuberculosis"),
            fact(FactKind.NOTE_MENTION, "tuberculosis", assertion=Assertion.ABSENT),
        ),
        (),
        Outcome.UNKNOWN,
        "less specific",
    ),
    (  # ... while a denial alone still rules it out
        crit(Category.CONDITION, "pulmonary tuberculosis", text="Pulmonary tuberculosis"),
        patient(fact(FactKind.NOTE_MENTION, "tuberculosis", assertion=Assertion.ABSENT)),
        (),
        Outcome.NOT_MET,
        "recorded as absent",
    ),
    (  # the items of a bracketed list share the governor of the phrase they spell out
        crit(
            Category.MEDICATION,
            "isoniazid",
            kind=CriterionKind.EXCLUSION,
            text="Tuberculosis resistant to any of the study drugs (isoniazid, rifampin)",
        ),
        patient(fact(FactKind.MEDICATION, "isoniazid")),
        (),
        Outcome.UNKNOWN,
        "resistant to",
    ),
    (  # a bracket that only names the concept governs nothing
        crit(
            Category.MEDICATION,
            "isoniazid",
            kind=CriterionKind.EXCLUSION,
            text="Current treatment with a first-line drug (isoniazid)",
        ),
        patient(fact(FactKind.MEDICATION, "isoniazid")),
        (),
        Outcome.MET,
        "record shows isoniazid",
    ),
    (  # an assessment every patient has had names how, not what
        crit(
            Category.PROCEDURE,
            "physical examination",
            kind=CriterionKind.EXCLUSION,
            text="Suspected immune deficiency based on medical history and physical examination",
        ),
        patient(fact(FactKind.PROCEDURE, "physical examination")),
        (),
        Outcome.UNKNOWN,
        "how the criterion is assessed",
    ),
    (  # a qualifier inside the concept the record does not state: not shown
        crit(
            Category.CONDITION,
            "chronic abdominal pain",
            kind=CriterionKind.EXCLUSION,
            text="History of chronic abdominal pain",
        ),
        patient(fact(FactKind.CONDITION, "abdominal pain")),
        (),
        Outcome.UNKNOWN,
        "not whether it is chronic",
    ),
]


@pytest.mark.parametrize(("criterion", "record", "conditions", "expected", "reason"), CONTEXT_CASES)
def test_evaluate_in_context(
    evaluator: CriterionEvaluator,
    criterion: Criterion,
    record: PatientRecord,
    conditions: tuple[str, ...],
    expected: Outcome,
    reason: str,
) -> None:
    emb = HashEmbedder()
    ctx = evaluator.context(criterion, emb.encode([criterion.match_text])[0], conditions)
    result = evaluator.evaluate(ctx, PatientConcepts(record, emb), INDEX)
    assert result.outcome == expected, result.reason
    assert reason in result.reason


def test_eligibility_leaves_relevance_out() -> None:
    """Two trials on the patient's problem: the one the patient can enter is the likelier,
    however much closer the other one's text is."""
    weights = RankWeights()
    open_trial = [result(INC, Outcome.MET), result(INC, Outcome.UNKNOWN)]
    close = build_match("t1", "p", 0.99, open_trial + [result(EXC, Outcome.UNKNOWN)] * 6)
    far = build_match("t2", "p", 0.2, open_trial)
    assert close.score > far.score  # the ranking still weighs relevance...
    assert far.eligibility > close.eligibility  # ...the estimate does not
    assert close.eligibility == pytest.approx(
        1 + 0.7 * 0.5 - 0.025 * math.log1p(1) - 0.09 * math.log1p(6), abs=2e-6
    )
    same = build_match("t2", "p", 0.9, open_trial, weights)
    assert same.eligibility == far.eligibility
    failed = build_match("t3", "p", 0.9, [result(INC, Outcome.NOT_MET)], weights)
    eligible = build_match("t4", "p", 0.1, [result(INC, Outcome.MET)], weights)
    assert eligible.eligibility > far.eligibility > failed.eligibility


def test_an_open_qualifier_is_named_on_the_result(evaluator: CriterionEvaluator) -> None:
    c = crit(
        Category.CONDITION,
        "hypertension",
        kind=CriterionKind.EXCLUSION,
        text="Patients with uncontrolled hypertension.",
    )
    shown = run(evaluator, c, patient(fact(FactKind.CONDITION, "hypertension")))
    assert (shown.outcome, shown.open_qualifier) == (Outcome.UNKNOWN, "uncontrolled")
    silent = run(evaluator, c, patient())
    assert (silent.outcome, silent.open_qualifier) == (Outcome.UNKNOWN, "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # the limit's own words decide: a percentile elsewhere in the line does not
        ("> 27", Outcome.MET),
        (None, Outcome.UNKNOWN),  # no value span: the whole text is read
    ],
)
def test_a_relative_limit_is_read_after_its_own_value(
    evaluator: CriterionEvaluator, value: str | None, expected: Outcome
) -> None:
    c = crit(
        Category.LAB,
        "body mass index",
        comparator=">",
        value=27,
        text="Obese (wt > 95th percentile for age, for adults increased BMI > 27)",
    )
    if value is not None:
        c.entities = [Entity("Value", value, 0, 0)]
    bmi = fact(FactKind.OBSERVATION, "body mass index", value=31, unit="kg/m2")
    assert run(evaluator, c, patient(bmi)).outcome == expected
