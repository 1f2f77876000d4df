"""Age and sex of the patient from note prose; wording from TREC 2021 / SIGIR topic openings."""

from __future__ import annotations

import pytest

from nlp.notes import demographics
from nlp.notes.demographics import find_age

CASES = [
    # (text, age in years, gender); the source topic in the comment where the wording is real
    (
        "Patient is a 45-year-old man with a history of anaplastic astrocytoma",
        45,
        "male",
    ),  # trec-20211
    ("48 M with a h/o HTN hyperlipidemia, bicuspid aortic valve", 48, "male"),  # trec-20212
    ("A 32 yo woman who presents following a severe 'exploding' headache.", 32, "female"),
    ("74M hx of CAD s/p CABG, EF 60% prior CVA", 74, "male"),  # trec-20215
    ("Patient is a 55yo woman with h/o ESRD on HD", 55, "female"),  # trec-20216
    ("60 yo M with Hep C cirrhosis, grade II esophageal varices", 60, "male"),  # trec-20217
    ("Pt is a 22yo F otherwise healthy with a 5 yr history of mastocytosis", 22, "female"),
    ("This is a 57-year-old gentleman with CLL and large cell transformation.", 57, "male"),
    ("70 y/o with COPD on 2.5-3.5L O2 at baseline. She has had decreased appetite.", 70, "female"),
    ("A 58-year-old nonsmoker white female with mild exertional dyspnea", 58, "female"),
    ("An 8-year-old male presents in March to the ER with fever up to 39 C", 8, "male"),
    ("A 3-day-old Asian female infant presents with jaundice", 3 / 365.25, "female"),  # trec-202139
    ("A 5 months old male brought to the pediatrics surgery clinic", 5 / 12, "male"),  # trec-202150
    ("A 6-month-old male infant has a urine output of less than 0.2 mL/kg/hr", 0.5, "male"),
    ("Fernandez is a 41 year man who is a professional soccer player.", 41, "male"),  # trec-202148
    ("A 57-year old farmer was diagnosed with Parkinson's disease. He has tremor.", 57, "male"),
    (
        "A 10 year old child is brought to the ER. The patient was seen by his pediatrician.",
        10,
        "male",
    ),
    (
        "The patients is a 25-year-old G1 P1 pregnant woman who is 24W3D gestational old",
        25,
        "female",
    ),
    (
        "A physician is called to see a 67-year-old woman who underwent catheterization",
        67,
        "female",
    ),
    ("a woman in her 60s with fatigue", 65, "female"),
    ("He is in his early fifties.", 52, "male"),
    # a relative's age is not the patient's
    ("His 45-year-old brother had colon cancer. The patient is a 21-year-old student.", 21, "male"),
    # nothing stated
    ("Fever and cough for two days.", None, None),
    # sex only from obstetric cues
    ("G2P1 at 32 weeks gestation presents with headache", None, "female"),
]


@pytest.mark.parametrize(("text", "age", "gender"), CASES)
def test_demographics(text: str, age: float | None, gender: str | None) -> None:
    got_age, got_gender = demographics(text)
    if age is None:
        assert got_age is None
    else:
        assert got_age == pytest.approx(age, abs=0.01)
    assert got_gender == gender


def test_age_mention_points_at_the_text() -> None:
    text = "The patient is a 24-year-old man who has had type 1 diabetes for 11 years."
    mention = find_age(text)
    assert mention is not None
    assert text[mention.start : mention.end] == "24-year-old"
    assert mention.years == 24


@pytest.mark.parametrize(
    "text",
    [
        "diabetes for 11 years and a 5 yr history of mastocytosis",  # durations, not ages
        "born at 38w3d of gestation",
        "HbA1c 8.2% measured 2 years ago",
    ],
)
def test_durations_are_not_ages(text: str) -> None:
    assert demographics(text)[0] is None
