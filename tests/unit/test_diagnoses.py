"""Diagnoses inferred by criteria sets (matcher/matching/diagnoses.py, nlp/rules/diagnoses.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from matcher.matching.diagnoses import Diagnoses, DiagnosisRule, DiagnosticCriterion
from matcher.model import Assertion, Fact, FactKind
from nlp.diagnoses import load_diagnoses
from nlp.rules_loader import RulesError

A = Assertion
WHEN = datetime(2021, 1, 1, tzinfo=UTC)


def finding(text: str, assertion: Assertion = A.PRESENT, sentence: int = 1, **kw: object) -> Fact:
    kind = kw.pop("kind", FactKind.CONDITION)
    return Fact(
        kind,  # type: ignore[arg-type]
        text,
        f"DocumentReference/n#s{sentence}",
        assertion=assertion,
        start=WHEN,
        **kw,  # type: ignore[arg-type]
    )


RULES = load_diagnoses()
LUPUS = [
    finding("thrombocytopenia", sentence=2),
    finding("anti-dsdna antibody", sentence=2),
    finding("antinuclear antibody positive", sentence=2),
    finding("proteinuria", sentence=3),
]
DEPRESSION = [
    finding("fatigue"),
    finding("hypersomnia"),
    finding("difficulty concentrating"),
    finding("anhedonia"),
    finding("excessive guilt"),
]


def names(facts: list[Fact]) -> set[str]:
    return {f.text for f in RULES.infer(facts)}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # ACR 1997: four of eleven criteria (haematologic, immunologic, ANA, renal)
        (LUPUS, {"systemic lupus erythematosus"}),
        # three are not enough; two findings of one criterion count once
        (LUPUS[:3], set()),
        ([*LUPUS[:3], finding("leukopenia")], set()),
        # a more specific form of a finding meets its criterion
        ([*LUPUS[:3], finding("severe proteinuria")], {"systemic lupus erythematosus"}),
        # only the patient's present findings count
        ([*LUPUS[:3], finding("proteinuria", A.FAMILY)], set()),
        ([*LUPUS[:3], finding("proteinuria", A.ABSENT)], set()),
        # a record that names the diagnosis, even to deny it, is not re-derived
        ([*LUPUS, finding("lupus", A.ABSENT)], set()),
        ([*LUPUS, finding("systemic lupus erythematosus")], set()),
        # DSM-5: five of nine, one of them depressed mood or anhedonia ...
        (DEPRESSION, {"major depressive disorder"}),
        ([*DEPRESSION[:3], finding("insomnia"), finding("excessive guilt")], set()),
        # ... and not in bipolar disorder, present or past
        ([*DEPRESSION, finding("bipolar disorder", A.HISTORICAL)], set()),
        # a drug class implies a state
        ([finding("immunosuppressant", kind=FactKind.MEDICATION)], {"immunodeficiency"}),
        ([finding("immunosuppressant", A.HISTORICAL, kind=FactKind.MEDICATION)], set()),
        # a member names its class, never the reverse
        ([finding("cytomegalovirus infection")], {"viral infection"}),
        ([finding("viral infection")], set()),
        # menstruation is childbearing potential, unless the uterus or ovaries are gone
        ([finding("menstruation")], {"childbearing potential"}),
        (
            [
                finding("menstruation"),
                finding("hysterectomy", A.HISTORICAL, kind=FactKind.PROCEDURE),
            ],
            set(),
        ),
        ([], set()),
    ],
)
def test_what_is_derived(facts: list[Fact], expected: set[str]) -> None:
    assert names(facts) == expected


def test_the_derived_fact_says_what_it_counted_and_points_at_the_first() -> None:
    (fact,) = RULES.infer(LUPUS)
    assert fact.kind == FactKind.CONDITION and fact.assertion == A.PRESENT
    # the first criterion met, in the set's order (renal disorder before haematologic)
    assert fact.source == "DocumentReference/n#s3"
    assert fact.value is None and not fact.codes
    assert "4 of 11 ACR 1997" in fact.value_text
    assert "renal disorder (proteinuria)" in fact.value_text
    (member,) = RULES.infer([finding("cytomegalovirus infection")])
    assert member.value_text == "cytomegalovirus infection is a viral infection"


def test_a_required_criterion_must_be_among_those_met() -> None:
    rule = DiagnosisRule(
        "x",
        "test",
        2,
        (DiagnosticCriterion("core", ("alpha",)), *(DiagnosticCriterion(c, (c,)) for c in "bcd")),
        required=("core",),
    )
    assert Diagnoses((rule,)).infer([finding("b"), finding("c"), finding("d")]) == []
    assert len(Diagnoses((rule,)).infer([finding("alpha"), finding("c")])) == 1


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            "diagnoses:\n- {name: x, source: s, at_least: 1, criteria: {a: [b]}, unles: [c]}",
            "unles",
        ),
        ("diagnoses:\n- {name: x, source: s, at_least: 3, criteria: {a: [b]}}", "at_least 3"),
        ("diagnoses:\n- {name: x, source: s, at_least: 1, criteria: {a: []}}", "no findings"),
        (
            "diagnoses:\n- {name: x, source: s, at_least: 1, criteria: {a: [b]}, required: [z]}",
            "required names no criterion",
        ),
        ("diagnoses: []\nclasses: {viral infection: []}", "no members"),
    ],
)
def test_the_loader_names_what_is_wrong(tmp_path, body: str, named: str) -> None:
    (tmp_path / "d.yaml").write_text(body)
    with pytest.raises(RulesError, match=named):
        load_diagnoses("d", tmp_path)
