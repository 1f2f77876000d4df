"""The criteria pipeline on rules alone: one criterion text in, the structured fields out."""

from __future__ import annotations

import pytest
from fixed_ner import FixedNer

from matcher.model import Category, CriterionKind
from nlp.criteria import UnknownExtractor, build_parser
from nlp.criteria.pipeline import CriteriaPipeline


@pytest.fixture(scope="module")
def parser() -> CriteriaPipeline:
    return build_parser({"ner": "off"})


D, C, M, L, P = (
    Category.DEMOGRAPHIC,
    Category.CONDITION,
    Category.MEDICATION,
    Category.LAB,
    Category.PROCEDURE,
)
PS, PR, CO, OT = (Category.PERFORMANCE_STATUS, Category.PREGNANCY, Category.CONSENT, Category.OTHER)

# text -> [(category, concept, negated, comparator, value, value_high, unit, window_days)]
CASES = [
    # ages in all forms
    ("Age≥ 40years old", [(D, "age", False, ">=", 40, None, "years", None)]),
    (
        "Greater than or equal to (≥) 18 years old",
        [(D, "age", False, ">=", 18, None, "years", None)],
    ),
    ("Aged 6 months+", [(D, "age", False, ">=", 0.5, None, "years", None)]),
    ("patient 18 years old and more", [(D, "age", False, ">=", 18, None, "years", None)]),
    ("≥ Age 12 years at the Screening Visit", [(D, "age", False, ">=", 12, None, "years", None)]),
    (
        "aged 18 years and less than 80 years of age",
        [(D, "age", False, "between", 18, 80, "years", None)],
    ),
    ("from birth to 80 years of age", [(D, "age", False, "<=", 80, None, "years", None)]),
    ("Subjects between the ages of 8 and 65", [(D, "age", False, "between", 8, 65, "years", None)]),
    ("Aged 8 and 12 years", [(D, "age", False, "between", 8, 12, "years", None)]),
    # ... and what is not the patient's age
    ("Bone age no greater than 11", [(OT, None, False, "", None, None, "", None)]),
    ("1 year post-menopausal", [(OT, None, False, "", None, None, "", None)]),
    ("18 years or older", [(D, "age", False, ">=", 18, None, "years", None)]),
    ("Aged 18-75 years", [(D, "age", False, "between", 18, 75, "years", None)]),
    ("≥ 18 years of age", [(D, "age", False, ">=", 18, None, "years", None)]),
    ("Between 18 and 65 years", [(D, "age", False, "between", 18, 65, "years", None)]),
    ("Age > 50", [(D, "age", False, ">", 50, None, "years", None)]),
    ("Under 12 years", [(D, "age", False, "<", 12, None, "years", None)]),
    ("Children 6 to 12 years", [(D, "age", False, "between", 6, 12, "years", None)]),
    ("Eighteen years of age or older", [(D, "age", False, ">=", 18, None, "years", None)]),
    (
        "Age 6 months to less than 13 years of age",
        [(D, "age", False, "between", 0.5, 13, "years", None)],
    ),
    ("Age 18 months or older", [(D, "age", False, ">=", 1.5, None, "years", None)]),
    # a duration is not an age
    ("Diabetes for at least 5 years", [(C, "Diabetes", False, "", None, None, "", None)]),
    # sex; childbearing potential is not a sex restriction
    ("Postmenopausal women", [(D, "sex", False, "", None, None, "", None)]),
    (
        "Women of childbearing potential must use contraception",
        [(PR, "contraception", False, "", None, None, "", None)],
    ),
    # labs: ranges with units, x ULN, thousands separators, 10^9/L
    ("Minimum weight of 40 kg", [(L, "weight", False, ">=", 40, None, "kg", None)]),
    (
        "AST > 3 times normal",
        [(L, "aspartate aminotransferase", False, ">", 3, None, "x ULN", None)],
    ),
    ("HbA1c between 7% and 10%", [(L, "hemoglobin a1c", False, "between", 7, 10, "%", None)]),
    ("Glycated hemoglobin 7.5%-9%", [(L, "hemoglobin a1c", False, "between", 7.5, 9, "%", None)]),
    ("Serum creatinine > 1.5 mg/dL", [(L, "creatinine", False, ">", 1.5, None, "mg/dL", None)]),
    ("Platelets > 100,000/mm3", [(L, "platelets", False, ">", 100000, None, "/mm3", None)]),
    (
        "ANC >= 1.5 x 10^9/L",
        [(L, "absolute neutrophil count", False, ">=", 1.5, None, "10*9/L", None)],
    ),
    ("eGFR < 30 mL/min/1.73 m2", [(L, "egfr", False, "<", 30, None, "mL/min/{1.73_m2}", None)]),
    ("BMI ≥ 30 kg/m2", [(L, "body mass index", False, ">=", 30, None, "kg/m2", None)]),
    (
        "Total bilirubin ≥ 1.5 x ULN",
        [(L, "total bilirubin", False, ">=", 1.5, None, "x ULN", None)],
    ),
    (
        "AST less than or equal to 2.5 times upper limit of normal",
        [(L, "aspartate aminotransferase", False, "<=", 2.5, None, "x ULN", None)],
    ),
    (
        "Hemoglobin ≥ 9 g/dL and platelets ≥ 100 x 10^9/L",
        [
            (L, "hemoglobin", False, ">=", 9, None, "g/dL", None),
            (L, "platelets", False, ">=", 100, None, "10*9/L", None),
        ],
    ),
    # conditions, cue words stripped, OR groups, negation over the whole OR list
    ("Diagnosis of type 2 diabetes.", [(C, "type 2 diabetes", False, "", None, None, "", None)]),
    (
        "Patients with stage IV non-small cell lung cancer",
        [(C, "stage IV non-small cell lung cancer", False, "", None, None, "", None)],
    ),
    (
        "History of heart failure or myocardial infarction",
        [
            (C, "heart failure", False, "", None, None, "", None),
            (C, "myocardial infarction", False, "", None, None, "", None),
        ],
    ),
    (
        "No history of diabetes or heart failure",
        [
            (C, "diabetes", True, "", None, None, "", None),
            (C, "heart failure", True, "", None, None, "", None),
        ],
    ),
    ("Without prior stroke", [(C, "stroke", True, "", None, None, "", None)]),
    (
        "History of myocardial infarction within the last 6 months",
        [(C, "myocardial infarction", False, "", None, None, "", 182.64)],
    ),
    ("Documented stroke in the past 3 years", [(C, "stroke", False, "", None, None, "", 1095.75)]),
    # "unless"/"except" clauses do not flip or feed the main clause
    (
        "No history of cancer unless treated and disease-free for 5 years",
        [(C, "cancer", True, "", None, None, "", None)],
    ),
    (
        "No prior chemotherapy except for adjuvant therapy without anthracyclines",
        [(M, "chemotherapy", True, "", None, None, "", None)],
    ),
    # medications and procedures
    ("Currently taking metformin", [(M, "metformin", False, "", None, None, "", None)]),
    (
        "Use of systemic corticosteroids within 4 weeks prior to enrollment",
        [(M, "systemic corticosteroids", False, "", None, None, "", 28)],
    ),
    ("Prior surgery within 30 days", [(P, "surgery", False, "", None, None, "", 30)]),
    # a bound in parentheses after the event dates it
    (
        "Myocardial infarction (< 30 days)",
        [(C, "Myocardial infarction", False, "", None, None, "", 30)],
    ),
    ("Stroke (within 6 months)", [(C, "Stroke", False, "", None, None, "", 182.64)]),
    ("Undergoing hemodialysis", [(P, "hemodialysis", False, "", None, None, "", None)]),
    # performance status
    ("ECOG 0-1", [(PS, "ecog", False, "between", 0, 1, "", None)]),
    ("ECOG performance status ≤ 2", [(PS, "ecog", False, "<=", 2, None, "", None)]),
    (
        "Eastern Cooperative Oncology Group (ECOG) performance status of 0, 1 or 2",
        [(PS, "ecog", False, "between", 0, 2, "", None)],
    ),
    ("Karnofsky ≥ 70%", [(PS, "karnofsky", False, ">=", 70, None, "%", None)]),
    # pregnancy and consent
    (
        "Pregnant or breastfeeding",
        [
            (PR, "pregnancy", False, "", None, None, "", None),
            (PR, "breastfeeding", False, "", None, None, "", None),
        ],
    ),
    (
        "Not pregnant or nursing",
        [
            (PR, "pregnancy", True, "", None, None, "", None),
            (PR, "breastfeeding", True, "", None, None, "", None),
        ],
    ),
    ("Able to give informed consent", [(CO, "informed consent", False, "", None, None, "", None)]),
    (
        "Unable to comply with study procedures",
        [(CO, "compliance", True, "", None, None, "", None)],
    ),
    *[
        (text, [(CO, "compliance", False, "", None, None, "", None)])
        for text in (
            "Compliant with protocol procedures and available for clinical F/U",
            "Willingness to participate and to complete all follow-up assessments",
            "Willing to provide blood samples",
            "Ability to take and retain oral medication",
            "Patient is voluntary",
        )
    ],
    ("Patients weighing less than 40 kg", [(L, "weight", False, "<", 40, None, "kg", None)]),
    # meeting a classification's criteria is having the diagnosis; the count is no lab value
    (
        "Fulfil at least 4 criteria for SLE as defined by the American College of Rheumatology",
        [(C, "SLE", False, "", None, None, "", None)],
    ),
    (
        "Meets DSM-IV criteria for major depressive disorder",
        [(C, "major depressive disorder", False, "", None, None, "", None)],
    ),
    # must stay OTHER
    ("Life expectancy of at least 3 months", [(OT, None, False, "", None, None, "", None)]),
    (
        "Other inclusion/exclusion criteria may apply.",
        [(OT, None, False, "", None, None, "", None)],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse(parser: CriteriaPipeline, text: str, expected: list[tuple]) -> None:
    got = parser.parse(text)
    actual = [
        (
            c.category,
            c.concept.text if c.concept else None,
            c.negated,
            c.comparator,
            c.value,
            c.value_high,
            c.unit,
            c.window_days,
        )
        for c in got
    ]
    assert actual == [
        tuple(
            pytest.approx(v) if isinstance(v, float | int) and not isinstance(v, bool) else v
            for v in row
        )
        for row in expected
    ]
    assert all(c.text == text and c.kind is CriterionKind.INCLUSION for c in got)


def test_sex_values() -> None:
    parser = build_parser({"extractors": ["sex"]})
    assert [c.value_text for c in parser.parse("Male or female")] == ["all"]
    assert [c.value_text for c in parser.parse("Women only")] == ["female"]
    assert [c.value_text for c in parser.parse("Men aged 40 to 70")] == ["male"]


def test_multi_facet_segment_shares_span(parser: CriteriaPipeline) -> None:
    text = "Men and women aged 18-65 with type 2 diabetes"
    got = parser.parse(text)
    assert [(c.category, c.concept.text if c.concept else None) for c in got] == [
        (D, "age"),
        (D, "sex"),
        (C, "type 2 diabetes"),
    ]
    assert {(c.span_start, c.span_end) for c in got} == {(0, len(text))}


def test_ids_groups_and_kinds(parser: CriteriaPipeline) -> None:
    text = (
        "Inclusion Criteria:\n - Heart failure or myocardial infarction\n"
        "Exclusion Criteria:\n - Pregnancy\n - Stroke or TIA"
    )
    got = parser.parse(text, id_prefix="NCT1-")
    assert [c.id for c in got] == [f"NCT1-{n}" for n in range(1, 6)]
    assert [c.group for c in got] == ["NCT1-g1", "NCT1-g1", "", "NCT1-g2", "NCT1-g2"]
    assert [c.kind for c in got] == [CriterionKind.INCLUSION] * 2 + [CriterionKind.EXCLUSION] * 3
    assert text[got[0].span_start : got[0].span_end] == "Heart failure or myocardial infarction"


@pytest.mark.parametrize(
    ("text", "alternatives"),
    [
        ("Sepsis, pneumonia, or both", True),  # either-or, whatever the commas say
        ("Sepsis, pneumonia", False),
        ("Sepsis, pneumonia, or both lungs affected", False),
    ],
)
def test_or_both_makes_a_list_alternatives(text: str, alternatives: bool) -> None:
    parser = build_parser({"ner": "off"})
    parser.nlp.get_pipe("ner").source = FixedNer({"sepsis": "Condition", "pneumonia": "Condition"})
    got = parser.parse(text)
    assert [(c.concept.text if c.concept else None) for c in got] == ["Sepsis", "pneumonia"]
    assert (bool(got[0].group) and got[0].group == got[1].group) is alternatives


def test_nothing_dropped_and_other_keeps_text(parser: CriteriaPipeline) -> None:
    got = parser.parse("Inclusion Criteria:\n - Fluent in English\n - Age >= 18")
    assert [(c.category, c.text) for c in got] == [(OT, "Fluent in English"), (D, "Age >= 18")]


def test_registry_order_and_unknown_names() -> None:
    only_age = build_parser({"extractors": ["age"]})
    assert [c.category for c in only_age.parse("Diagnosis of diabetes")] == [OT]
    with pytest.raises(UnknownExtractor, match="'ages'"):
        build_parser({"extractors": ["age", "ages"]})
    with pytest.raises(UnknownExtractor, match="bogus"):
        build_parser({"bogus": 1})


@pytest.mark.parametrize(
    "text",
    ["Onset of hypertension by age 60 years", "Diagnosed with diabetes before age 40"],
)
def test_age_of_onset_is_not_a_patient_age(parser: CriteriaPipeline, text: str) -> None:
    criteria = parser.parse("Inclusion Criteria:\n- " + text)
    assert not [c for c in criteria if c.concept and c.concept.text == "age"]


def test_defining_lab_values_are_alternatives_to_the_condition(parser: CriteriaPipeline) -> None:
    text = (
        "Inclusion Criteria:\n- Diagnosed with type 2 diabetes mellitus, as determined by a "
        "fasting plasma glucose greater than 126 mg/dl or a 2-hour postload value greater "
        "than 200 mg/dl\n"
        "- HbA1c between 7% and 10%\n"
    )
    criteria = parser.parse(text)
    defining = [c for c in criteria if "determined" in c.text]
    assert {c.category for c in defining} == {Category.CONDITION, Category.LAB}
    assert len({c.group for c in defining}) == 1 and defining[0].group
    hba1c = [c for c in criteria if c.text.startswith("HbA1c")]
    assert [c.group for c in hba1c] == [""]  # a plain threshold stays a requirement


@pytest.mark.parametrize(
    "text",
    [
        "For participants aged 55 years or older, a history of CVD",
        "For minor patients (ages 12 to 17 years), the ICF must be signed by a parent",
        "At least 15% reversibility and a 200 mL increase in FEV1 (patients age 18 and older)",
        "Definition of childbearing potential: women until 1 year after menopause or aged "
        "54 years or older",
        "A female subject is considered postmenopausal if aged 55 years or older",
        "The procedure will be explained to subjects age 8-17 years with consent from a parent",
    ],
)
def test_conditional_age_clause_is_not_an_age_bound(parser: CriteriaPipeline, text: str) -> None:
    criteria = parser.parse("Inclusion Criteria:\n- " + text)
    assert not [c for c in criteria if c.concept and c.concept.text == "age"]


@pytest.mark.parametrize(
    ("concept", "negated", "expected"),
    [
        ("non smoker", False, ("smoker", True)),
        ("Non-diabetic", False, ("diabetic", True)),
        ("nonsmokers", True, ("smokers", False)),  # "no non-smokers": smokers
        ("Non-Hodgkin lymphoma", False, ("Non-Hodgkin lymphoma", False)),  # a name
        ("non-small cell lung cancer", False, ("non-small cell lung cancer", False)),
    ],
)
def test_non_prefix_negates_only_status_words(
    concept: str, negated: bool, expected: tuple[str, bool]
) -> None:
    from matcher.model import Concept, Criterion
    from nlp.criteria.parser import negate_status_word

    crit = Criterion("c1", CriterionKind.INCLUSION, concept, C, Concept(concept), negated=negated)
    negate_status_word(crit)
    assert crit.concept is not None
    assert (crit.concept.text, crit.negated) == expected
