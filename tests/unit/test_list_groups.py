"""Lists that ask for some of their items: "at least one of", "two or more of the following".

A requirement met by any two of four SIRS signs must not be read as all four (that fails
nearly every septic patient), and the words that describe the list ("the following clinical
symptoms of pneumonia") are not a requirement of their own.
"""

from __future__ import annotations

import pytest
from fixed_ner import FixedNer

from matcher.matching.rank import at_least, grouped
from matcher.model import (
    Category,
    Concept,
    Criterion,
    CriterionKind,
    CriterionResult,
    Outcome,
    count_group,
    group_prefix,
    required_count,
)
from nlp.criteria import build_parser
from nlp.criteria.split import split_criteria
from nlp.criteria.structure import list_cue

MET, NOT, UNK, NA = Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("outcomes", "count", "expected"),
    [
        ([MET, MET, NOT], 2, MET),
        ([MET, NOT, NOT], 2, NOT),
        ([MET, UNK, NOT], 2, UNK),
        ([MET, UNK, UNK, NOT], 3, UNK),
        ([MET, NOT, NOT, UNK], 3, NOT),  # one left that could hold: too few
        ([NA, NA], 2, NA),
        ([MET, NA, NOT], 2, NOT),  # a part that does not apply does not count
        ([MET], 2, UNK),  # fewer items read than asked for: the list was not read whole
        ([MET, MET], 1, MET),
        ([NOT, NOT], 1, NOT),
    ],
)
def test_at_least_counts_what_holds(outcomes: list[Outcome], count: int, expected: Outcome) -> None:
    assert at_least(outcomes, count) == expected


def _part(outcome: Outcome, group: str, span: tuple[int, int]) -> CriterionResult:
    crit = Criterion(
        "c",
        CriterionKind.INCLUSION,
        "x",
        Category.CONDITION,
        Concept("x"),
        group=group,
        span_start=span[0],
        span_end=span[1],
    )
    return CriterionResult(crit, outcome, "")


def test_a_count_group_counts_each_line_once() -> None:
    group = count_group(2, "g1")
    # two facets of one line ("WBC > 12,000 or < 4,000") both hold: still one line
    a, b = (0, 10), (11, 20)
    one_line = [_part(MET, group, a), _part(MET, group, a), _part(NOT, group, b)]
    assert grouped(one_line, CriterionKind.INCLUSION) == [NOT]
    two_lines = [_part(MET, group, a), _part(NOT, group, a), _part(MET, group, b)]
    assert grouped(two_lines, CriterionKind.INCLUSION) == [MET]


def test_count_group_names_keep_their_count() -> None:
    assert count_group(1, "g1") == "g1"
    name = count_group(3, "g1")
    assert required_count(name) == 3 and group_prefix(name) == "atleast3:"
    assert required_count("g1") == 1 and group_prefix("g1") == ""


@pytest.mark.parametrize(
    ("text", "count", "named"),
    [
        ("SIRS - two or more of the following", 2, True),
        ("at least 2 of the following SIRS criteria:", 2, True),
        ("Three or more of the following CAD risk factors:", 3, True),
        ("Patients with at least one of the following:", 1, True),
        ("History of cardiovascular disease including:", 1, False),
        ("Two or more symptoms of acute appendicitis", 0, False),  # not "of the following"
        ("Diabetes for at least 2 years", 0, False),
    ],
)
def test_list_cues(text: str, count: int, named: bool) -> None:
    cue = list_cue(text)
    if not count:
        assert cue is None
        return
    assert cue is not None
    assert (cue.count, cue.named) == (count, named)


@pytest.fixture(scope="module")
def parser():
    parser = build_parser({"ner": "off"})
    parser.nlp.get_pipe("ner").source = FixedNer(
        {
            "pneumonia": "Condition",
            "cough": "Condition",
            "purulent sputum": "Condition",
            "dyspnea": "Condition",
            "fever": "Condition",
            "SIRS": "Condition",
            "cardiovascular disease": "Condition",
            "myocardial infarction": "Condition",
            "stroke": "Condition",
            "appendicitis": "Condition",
            "infiltrate": "Condition",
            "temperature": "Measurement",
        }
    )
    return parser


def _concepts(parts: list[Criterion]) -> list[str]:
    return [c.concept.text.lower() for c in parts if c.concept]


def test_an_inline_list_is_a_count_group_without_its_description(parser) -> None:
    text = (
        "Inclusion Criteria:\n- Exhibit at least two of the following clinical symptoms of "
        "pneumonia: cough, purulent sputum (new or worse), dyspnea, fever"
    )
    parts = parser.parse(text)
    assert _concepts(parts) == ["cough", "purulent sputum", "dyspnea", "fever"]
    assert {required_count(c.group) for c in parts} == {2} and len({c.group for c in parts}) == 1
    # each item is its own line, pointing at its own words
    assert [text[c.span_start : c.span_end].strip(" ,") for c in parts][:2] == [
        "cough",
        "purulent sputum (new or worse)",
    ]


def test_a_list_heads_children_are_a_count_group_and_its_name_no_requirement(parser) -> None:
    text = (
        "Inclusion Criteria:\n- Pneumonia\n- SIRS - two or more of the following\n"
        "    - Temperature > 38 C\n    - Heart rate > 90 bpm\n    - Respiratory rate > 20/min"
    )
    parts = parser.parse(text)
    assert _concepts(parts) == ["pneumonia", "temperature", "heart rate", "respiratory rate"]
    assert parts[0].group == ""
    assert {required_count(c.group) for c in parts[1:]} == {2}


def test_what_the_cue_does_not_name_stays_a_requirement(parser) -> None:
    # joined by "and", the infiltrate is asked for besides the list
    parts = parser.parse(
        "Inclusion Criteria:\n- A new infiltrate and two or more of the following: fever, cough"
    )
    assert [(c.concept.text.lower(), required_count(c.group)) for c in parts if c.concept] == [
        ("infiltrate", 1),
        ("fever", 2),
        ("cough", 2),
    ]
    assert parts[0].group == ""
    # examples listed after "including:" leave the condition they illustrate in place
    parts = parser.parse(
        "Exclusion Criteria:\n- History of cardiovascular disease including:\n"
        "    - myocardial infarction\n    - stroke"
    )
    assert _concepts(parts) == ["cardiovascular disease", "myocardial infarction", "stroke"]
    # a count without a list is not a list
    parts = parser.parse("Inclusion Criteria:\n- Two or more symptoms of appendicitis")
    assert _concepts(parts) == ["appendicitis"] and parts[0].group == ""


def test_the_splitter_marks_list_heads() -> None:
    segs = split_criteria(
        "Inclusion Criteria:\n- Two or more of the following:\n    - fever\n    - cough\n"
        "- Age over 18"
    )
    assert [(s.text, s.heads) for s in segs] == [
        ("Two or more of the following:", 2),
        ("fever", 0),
        ("cough", 0),
        ("Age over 18", 0),
    ]
    assert required_count(segs[1].group) == 2 and segs[1].group == segs[2].group
    assert not segs[3].group
