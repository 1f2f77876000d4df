"""Qualifier rules (nlp/rules/qualifiers.yaml) as the evaluator reads them."""

from __future__ import annotations

import pytest

from matcher.matching.applicability import populations
from nlp.applicability import load_applicability, load_qualifiers


@pytest.mark.parametrize(
    ("text", "concept", "expected"),
    [
        ("Patients with uncontrolled hypertension", "hypertension", "uncontrolled"),
        (
            "Presence of metastatic pancreatic adenocarcinoma",
            "metastatic pancreatic adenocarcinoma",
            "metastatic",
        ),
        # the items of an example list share the qualifier of the phrase before the cue
        (
            "Uncontrolled medical problems such as diabetes mellitus, coronary artery disease, "
            "hypertension, renal diseases",
            "renal diseases",
            "uncontrolled",
        ),
        ("Hypertension", "hypertension", None),
        ("History of stroke, such as ischemic stroke", "ischemic stroke", None),
    ],
)
def test_qualifier_before_concept(text: str, concept: str, expected: str | None) -> None:
    assert load_qualifiers().before(text, concept) == expected


@pytest.mark.parametrize(
    ("qualifier", "text", "expected"),
    [
        ("metastatic", "breast cancer with bone metastases", True),
        ("metastatic", "stage IV non-small cell lung cancer", True),
        ("metastatic", "breast cancer, stage II", False),
        ("unproductive", "dry cough for two weeks", True),
        ("unproductive", "productive cough with purulent sputum", False),
        ("uncontrolled", "uncontrolled hypertension", True),
    ],
)
def test_qualifier_stated_in_other_words(qualifier: str, text: str, expected: bool) -> None:
    assert load_qualifiers().states(qualifier, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Concomitant antimicrobial treatment for CDAD", True),
        ("Prior or concomitant antimicrobial treatment for CDAD", False),
        ("Antimicrobial treatment for CDAD", False),
    ],
)
def test_concomitant_asks_about_now(text: str, expected: bool) -> None:
    assert load_qualifiers().present_only(text, "antimicrobial treatment") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("female patients have adequate birth-control method", True),
        ("Post-menopausal females are defined as amenorrhoeic for more than a year", True),
        ("Female patients with breast cancer", False),
        ("Men aged 18 to 70 years", False),
    ],
)
def test_sex_scope(text: str, expected: bool) -> None:
    assert load_qualifiers().sex_scoped(text) is expected


@pytest.mark.parametrize(
    ("text", "concept", "expected"),
    [
        (
            "Pregnant women of any age who do not sign the informed consent.",
            "pregnancy",
            "who do not",
        ),
        ("Patients with asthma who refuse inhaled steroids", "asthma", "who refuse"),
        ("Patients who do not have asthma", "asthma", None),  # before the concept
        ("Pregnant women", "pregnancy", None),
    ],
)
def test_restricting_clause_after_the_concept(text: str, concept: str, expected: str | None):
    assert load_qualifiers().restriction(text, concept) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Healthy volunteers", True),
        ("Healthy men and women", True),
        ("In good general health", True),
        ("Subject in good health, based on medical history and physical examination", True),
        ("Healthy subjects or subjects with well controlled underlying disease.", False),
        ("Healthy beyond pseudoachondroplasia associated complications,", False),
        ("Patients with healthy skin at the injection site", False),
    ],
)
def test_asks_for_a_healthy_person(text: str, expected: bool) -> None:
    assert load_qualifiers().asks_healthy(text) is expected


@pytest.mark.parametrize(
    ("text", "concept", "women_only"),
    [
        ("Pregnant or lactating", "pregnancy", True),  # the concept names the population
        ("History of ovarian cancer", "ovarian cancer", True),
        # a statement about women: every part of it
        ("Women of childbearing potential must use contraception", "contraception", True),
        ("A female is eligible to enter the study if she is:", None, True),
        # a cue elsewhere does not make the other parts women-only
        ("Men and women with early carotid atherosclerosis", "carotid atherosclerosis", False),
        (
            "No history of any medical condition that may interfere, including pregnancy",
            "medical condition",
            False,
        ),
        ("Alcohol intake over 21 units a week if male or 14 units if female", None, False),
        ("Males must use contraception", "contraception", False),
    ],
)
def test_population_of_a_criterion_part(text: str, concept: str | None, women_only: bool):
    found = populations(load_applicability(), text, concept)
    assert any(r.gender == "female" for r in found) is women_only


@pytest.mark.parametrize(
    ("text", "concept", "treatment", "expected"),
    [
        ("Concomitant antimicrobial treatment for CDAD.", "antimicrobial", True, "for cdad"),
        ("Metformin for at least 3 months", "metformin", True, None),  # how long, not what for
        ("Steroids for the duration of the study", "steroids", True, None),
        ("Hospitalized for pneumonia", "hospitalized", False, None),  # not a treatment
        (
            "Amyloidosis secondary to rheumatoid arthritis",
            "amyloidosis",
            False,
            "secondary to rheumatoid arthritis",
        ),
    ],
)
def test_trailer(text: str, concept: str, treatment: bool, expected: str | None) -> None:
    assert load_qualifiers().trailer(text, concept, treatment) == expected
