"""Age filled from parsed inclusions when the structured fields are silent.

The text goes through the criteria parser (rules only) and `fill_from_criteria`, so a duration
the parser took for an age would show up here as a bogus hard filter.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from matcher.matching.rank import grouped
from matcher.model import (
    DEFINITION_GROUP,
    NARROWED_GROUP,
    Category,
    Criterion,
    CriterionKind,
    CriterionResult,
    Outcome,
    Trial,
)
from matcher.trials import AGE_COHORTS, SEX_COHORTS, fill_from_criteria
from nlp.criteria import build_parser


@pytest.fixture(scope="module")
def parser():
    return build_parser({"ner": "off"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Age 18 to 75 years", (18, 75)),
        ("Aged 6 months or older", (0.5, None)),
        ("Infants younger than 28 days", (None, 0.0767)),
        # A duration misread as an age must not become a hard filter.
        ("Less than 84 days from mastectomy", (None, None)),
        ("Randomised within 12 weeks of surgery", (None, None)),
        ("Patients may receive up to four weeks of tamoxifen therapy", (None, None)),
        ("Patients have fever more than one week", (None, None)),
    ],
)
def test_age_bounds(parser, text: str, expected: tuple[float | None, float | None]) -> None:
    trial = Trial("NCT00000001", criteria=parser.parse(f"Inclusion Criteria:\n- {text}"))
    fill_from_criteria(trial)
    assert (trial.min_age_years, trial.max_age_years) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # Separate bounds hold together.
        (["Age 18 years or older", "Age 75 years or younger"], (18, 75)),
        # Cohorts no one age can satisfy together: only their union filters.
        (["Under 65 years: stage II disease", "Age 65-70 years: stage III disease"], (None, 70)),
        (["Age 18-40 years (cohort A)", "Age 60-80 years (cohort B)"], (18, 80)),
    ],
)
def test_age_cohorts(parser, lines: list[str], expected: tuple[float | None, float | None]) -> None:
    text = "Inclusion Criteria:\n" + "\n".join(f"- {line}" for line in lines)
    trial = Trial("NCT00000001", criteria=parser.parse(text))
    fill_from_criteria(trial)
    assert (trial.min_age_years, trial.max_age_years) == expected


@pytest.mark.parametrize(
    ("lines", "grouped"),
    [
        (["Age 18-40 years (cohort A)", "Age 60-80 years (cohort B)"], True),
        (["Under 65 years: stage II disease", "Age 65-70 years: stage III disease"], True),
        # Bounds that hold together stay separate requirements, each of which must be met.
        (["Age 18 years or older", "Age 75 years or younger"], False),
    ],
)
def test_age_cohorts_become_alternatives(parser, lines: list[str], grouped: bool) -> None:
    text = "Inclusion Criteria:\n" + "\n".join(f"- {line}" for line in lines)
    trial = Trial("NCT00000001", criteria=parser.parse(text))
    fill_from_criteria(trial)
    ages = [c for c in trial.criteria if c.concept and c.concept.text == "age"]
    assert len(ages) == 2
    assert [c.group for c in ages] == ([AGE_COHORTS] * 2 if grouped else ["", ""])


def test_a_patient_in_one_age_cohort_is_not_failed_by_the_other(parser) -> None:
    text = "Inclusion Criteria:\n- Age 18-30 years (cohort A)\n- Age 65-70 years (cohort B)"
    trial = Trial("NCT00000001", criteria=parser.parse(text))
    fill_from_criteria(trial)
    ages = [c for c in trial.criteria if c.concept and c.concept.text == "age"]
    met = CriterionResult(ages[0], Outcome.MET, "age 25 satisfies between 18-30")
    failed = CriterionResult(ages[1], Outcome.NOT_MET, "age 25 violates between 65-70")
    assert grouped([met, failed], CriterionKind.INCLUSION) == [Outcome.MET]
    both_fail = [replace(met, outcome=Outcome.NOT_MET), failed]
    assert grouped(both_fail, CriterionKind.INCLUSION) == [Outcome.NOT_MET]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Postmenopausal women aged 50-75", "female"),
        ("Men aged 18-65 and postmenopausal women to age 65", "all"),
        ("Men only", "male"),
    ],
)
def test_sex_filled(parser, text: str, expected: str) -> None:
    trial = Trial("NCT00000001", criteria=parser.parse(f"Inclusion Criteria:\n- {text}"))
    fill_from_criteria(trial)
    assert trial.sex.value == expected


COHORT_LINES = (
    "Inclusion Criteria:\n"
    "- Age eligibility:\n"
    "  1. Premenopausal women: aged 18 to 45 years\n"
    "  2. Postmenopausal women: aged 53 to 70 years\n"
    "  3. Men: aged 18 to 70 years\n"
)


def test_sex_cohort_lines_never_set_the_trial_sex(parser) -> None:
    trial = Trial("NCT00000001", criteria=parser.parse(COHORT_LINES))
    fill_from_criteria(trial)
    assert trial.sex.value == "all"
    assert (trial.min_age_years, trial.max_age_years) == (18, 70)
    cohort = [c for c in trial.criteria if c.concept and c.concept.text in ("age", "sex")]
    assert {c.concept.text for c in cohort} == {"age", "sex"}
    assert {c.group for c in cohort} == {AGE_COHORTS}


@pytest.mark.parametrize(
    ("sex", "age", "ok"),
    [("female", 34, True), ("male", 34, True), ("female", 50, False), ("female", 60, True)],
)
def test_a_patient_fitting_one_sex_and_age_cohort_passes(
    parser, sex: str, age: int, ok: bool
) -> None:
    trial = Trial("NCT00000001", criteria=parser.parse(COHORT_LINES))
    fill_from_criteria(trial)
    results = []
    for c in trial.criteria:
        if c.concept and c.concept.text == "sex":
            met = c.value_text == sex
        elif c.concept and c.concept.text == "age":
            low, high = c.value, c.value_high
            met = low is not None and high is not None and low <= age <= high
        else:
            continue
        results.append(CriterionResult(c, Outcome.MET if met else Outcome.NOT_MET, ""))
    assert grouped(results, CriterionKind.INCLUSION) == [Outcome.MET if ok else Outcome.NOT_MET]


def test_men_and_women_lines_without_age_cohorts_are_alternatives(parser) -> None:
    text = "Inclusion Criteria:\n- Women: hemoglobin above 12 g/dL\n- Men: hemoglobin above 13 g/dL"
    trial = Trial("NCT00000001", criteria=parser.parse(text))
    fill_from_criteria(trial)
    sexes = [c for c in trial.criteria if c.concept and c.concept.text == "sex"]
    assert trial.sex.value == "all"
    assert len(sexes) == 2
    assert {c.group for c in sexes} == {SEX_COHORTS}


M, N, U = Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("hypertension", "pressure", "expected"),
    [
        (M, U, M),  # the condition recorded establishes it
        (U, M, M),  # so does a defining value
        (M, N, M),  # a clinician's diagnosis stands against one reading
        (U, N, N),  # the known defining value rules it out where the record is silent
        (U, U, U),
        (N, U, U),  # absent by name, the value may still define it
    ],
)
def test_a_condition_and_its_defining_value(
    parser, hypertension: Outcome, pressure: Outcome, expected: Outcome
) -> None:
    text = "Exclusion Criteria:\n- Uncontrolled hypertension (systolic blood pressure > 180 mm Hg)"
    lab, condition = parser.parse(text)
    assert lab.group == condition.group and lab.group.startswith(DEFINITION_GROUP)
    results = [
        CriterionResult(condition, hypertension, "hypertension"),
        CriterionResult(lab, pressure, "systolic blood pressure"),
    ]
    assert grouped(results, CriterionKind.EXCLUSION) == [expected]


@pytest.mark.parametrize(
    ("pain", "score", "expected"),  # condition, value
    [
        (M, U, U),  # hypertension alone is not yet hypertension with SBP > 160
        (U, M, M),  # a known value decides
        (M, N, N),
        (N, U, N),  # no hypertension: none with a high reading either
        (U, U, U),
    ],
)
def test_a_condition_and_the_value_narrowing_it(
    pain: Outcome, score: Outcome, expected: Outcome
) -> None:
    group = f"{NARROWED_GROUP}g1"
    exc = CriterionKind.EXCLUSION
    condition = Criterion("c1", exc, "Hypertension", Category.CONDITION, group=group)
    lab = Criterion("c2", exc, "systolic blood pressure > 160 mm Hg", Category.LAB, group=group)
    results = [CriterionResult(condition, pain, "hypertension"), CriterionResult(lab, score, "")]
    assert grouped(results, exc) == [expected]
