"""Unit tables for the NER's pieces that need no trained model: training targets, tokenizer,
the rules' merge policy and their strict loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from nlp.chia.loader import Criterion, Entity
from nlp.ner.convert import Candidate, candidates, non_overlapping, to_doc
from nlp.ner.rules import compile_rules, load_ner_rules, merge
from nlp.ner.tokenizer import build_tokenizer
from nlp.rules_loader import RulesError


@pytest.fixture(scope="module")
def blank():
    nlp = spacy.blank("en")
    nlp.tokenizer = build_tokenizer(nlp)
    return nlp


def C(label: str, start: int, end: int, weight: float = 1.0) -> Candidate:
    return Candidate(label, start, end, weight)


@pytest.mark.parametrize(
    ("cands", "chosen"),
    [
        ([], []),
        ([C("A", 0, 5)], [C("A", 0, 5)]),
        # Two nested entities beat their container.
        (
            [C("A", 0, 30), C("A", 0, 10), C("A", 15, 30)],
            [C("A", 0, 10), C("A", 15, 30)],
        ),
        # A heavier span beats a lighter overlapping one.
        ([C("A", 0, 10, 1.0), C("Q", 5, 8, 0.6)], [C("A", 0, 10, 1.0)]),
        # Touching spans do not overlap.
        ([C("A", 0, 5), C("B", 5, 9)], [C("A", 0, 5), C("B", 5, 9)]),
        # Chain: picks the best total, not the first.
        (
            [C("A", 0, 4), C("B", 3, 8, 1.5), C("A", 7, 10)],
            [C("A", 0, 4), C("A", 7, 10)],
        ),
    ],
)
def test_non_overlapping(cands, chosen):
    assert non_overlapping(cands) == chosen


def test_candidates_weights_and_labels():
    ents = [
        Entity("Condition", ((0, 5),)),
        Entity("Qualifier", ((0, 3),)),
        Entity("Device", ((0, 3), (6, 9))),
        Entity("Mood", ((0, 3),)),
    ]
    got = candidates(ents)
    assert [(c.label, c.start, c.end) for c in got] == [
        ("Condition", 0, 5),
        ("Qualifier", 0, 3),
        ("Device", 0, 9),
    ]
    assert got[0].weight > got[1].weight
    assert got[2].weight < got[1].weight


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("age>18 years", ">18 years"),
        ("ALT<2.5X ULN", "ALT"),
        ("ejection fraction(EF)<40%", "EF"),
        ("1)Women of childbearing potential", "Women"),
        ("serum creatinine=1.5 mg/dl", "mg"),
        ("agents(warfarin", "warfarin"),
    ],
)
def test_tokenizer_splits_where_chia_cuts(blank, text, span):
    start = text.index(span)
    assert blank.make_doc(text).char_span(start, start + len(span)) is not None


def test_to_doc_targets(blank):
    text = "history of chemotherapy or diabetes"
    crit = Criterion(
        "d",
        "NCT0",
        0,
        0,
        text,
        (
            Entity("Temporal", ((0, 7),)),
            Entity("Procedure", ((16, 23),)),  # "therapy" inside one token: widened
            Entity("Condition", ((27, 35),)),
            Entity("Condition", ((11, 35),)),  # container of two: loses to them
        ),
    )
    doc = to_doc(blank, crit)
    assert [(e.label_, e.text) for e in doc.ents] == [
        ("Temporal", "history"),
        ("Condition", "diabetes"),
    ]
    # "therapy" needs 5 more characters to align: too many, so its token is missing, not O.
    missing = [t.text for t in doc if t.ent_iob_ == ""]
    assert missing == ["chemotherapy"]


Iv = tuple[int, int, str, bool]


@pytest.mark.parametrize(
    ("current", "rule", "policy", "expected"),
    [
        # nothing there: every policy adds
        ([], (0, 2, "Value", True), "fill", [(0, 2, "Value", True)]),
        ([], (0, 2, "Value", True), "extend", [(0, 2, "Value", True)]),
        # fill: the model wins any overlap
        ([(1, 3, "Value", False)], (0, 2, "Value", True), "fill", [(1, 3, "Value", False)]),
        # extend: union with same-label spans
        (
            [(1, 3, "Value", False), (5, 6, "Drug", False)],
            (0, 2, "Value", True),
            "extend",
            [(0, 3, "Value", True), (5, 6, "Drug", False)],
        ),
        # extend: the model wins against another label
        ([(1, 3, "Drug", False)], (0, 2, "Value", True), "extend", [(1, 3, "Drug", False)]),
        # extend: a union that would swallow a neighbour is refused
        (
            [(0, 2, "Value", False), (3, 5, "Drug", False)],
            (1, 4, "Value", True),
            "extend",
            [(0, 2, "Value", False), (3, 5, "Drug", False)],
        ),
        # override: the rule wins
        (
            [(1, 3, "Drug", False), (4, 6, "Value", False), (8, 9, "Drug", False)],
            (0, 5, "Value", True),
            "override",
            [(0, 5, "Value", True), (8, 9, "Drug", False)],
        ),
    ],
)
def test_merge_policy(current: list[Iv], rule: Iv, policy, expected: list[Iv]):
    assert merge(current, rule, policy) == expected


def test_shipped_rules_load_and_match():
    every = load_ner_rules()
    rules = {r.name: r for r in compile_rules(every, only={r.name for r in every.rules})}
    text = "Men or women aged 18 to 65 years within the last 6 months prior to screening"
    found = {(r.label, text[a:b]) for r in rules.values() for a, b in r.spans(text)}
    assert ("Person", "women") in found
    assert any(label == "Temporal" and "6 months" in span for label, span in found)


def test_rules_file_is_strict(tmp_path: Path):
    bad = tmp_path / "ner.yaml"
    bad.write_text("rules:\n  - name: x\n    label: Value\n    merge: fill\n    pattern: ['a']\n")
    with pytest.raises(RulesError, match="unknown key 'pattern'"):
        load_ner_rules(bad)
    bad.write_text("rules:\n  - name: x\n    label: Value\n    merge: wins\n    patterns: ['a']\n")
    with pytest.raises(RulesError, match="merge"):
        load_ner_rules(bad)
    bad.write_text("rules:\n  - name: x\n    label: Value\n    merge: fill\n    patterns: ['(']\n")
    with pytest.raises(RulesError, match="invalid regex"):
        load_ner_rules(bad)


def test_unknown_rule_name_is_an_error():
    with pytest.raises(ValueError, match="nope"):
        compile_rules(load_ner_rules(), skip={"nope"})


def test_error_breakdown_classes():
    from nlp.ner.evaluate import error_breakdown

    gold = [
        Entity("Condition", ((0, 5),)),  # exact
        Entity("Condition", ((10, 20),)),  # boundary only
        Entity("Drug", ((30, 35),)),  # predicted as another type
        Entity("Drug", ((40, 45),)),  # nothing there
    ]
    pred = [
        Entity("Condition", ((0, 5),)),
        Entity("Condition", ((12, 20),)),
        Entity("Procedure", ((30, 35),)),
        Entity("Drug", ((50, 55),)),  # overlaps no gold entity
    ]
    rows = error_breakdown([(gold, pred)], ("Condition", "Drug", "Procedure"))
    assert rows["Condition"] == {
        "gold": 2,
        "strict": 1,
        "relaxed_only": 1,
        "confused": 0,
        "missed": 0,
        "spurious": 0,
    }
    assert rows["Drug"] == {
        "gold": 2,
        "strict": 0,
        "relaxed_only": 0,
        "confused": 1,
        "missed": 1,
        "spurious": 1,
    }
    assert rows["Procedure"]["spurious"] == 0  # it overlaps a (Drug) gold entity
