"""Unit tables for the Chia entity metrics (strict / relaxed, one-to-one, micro)."""

from __future__ import annotations

import pytest

from nlp.chia.loader import Entity
from nlp.chia.metrics import Counts, max_matching, score


def E(label: str, *spans: tuple[int, int]) -> Entity:
    return Entity(label, tuple(spans))


# (gold, predicted, strict TP, relaxed TP)
MATCH_CASES = [
    pytest.param([E("Condition", (0, 8))], [E("Condition", (0, 8))], 1, 1, id="exact"),
    pytest.param([E("Condition", (0, 8))], [E("Condition", (0, 5))], 0, 1, id="overlap-only"),
    pytest.param([E("Condition", (0, 8))], [E("Condition", (8, 12))], 0, 0, id="touching"),
    pytest.param([E("Condition", (0, 8))], [], 0, 0, id="nothing-predicted"),
    pytest.param([], [E("Condition", (0, 8))], 0, 0, id="nothing-gold"),
    pytest.param(
        [E("Condition", (0, 8)), E("Condition", (12, 25))],
        [E("Condition", (0, 25))],
        0,
        1,
        id="one-long-prediction-matches-one-gold",
    ),
    pytest.param(
        [E("Condition", (0, 25))],
        [E("Condition", (0, 8)), E("Condition", (12, 25))],
        0,
        1,
        id="two-fragments-match-one-gold",
    ),
    pytest.param(
        [E("Condition", (0, 10)), E("Condition", (5, 20))],
        [E("Condition", (0, 6)), E("Condition", (15, 20))],
        0,
        2,
        id="augmenting-path-finds-both",
    ),
    pytest.param(
        [E("Condition", (0, 10)), E("Condition", (4, 10))],
        [E("Condition", (4, 10))],
        1,
        1,
        id="nested-gold-one-prediction",
    ),
    pytest.param(
        [E("Device", (0, 11), (16, 21))],
        [E("Device", (0, 21))],
        1,
        1,
        id="discontinuous-enclosing-span-is-strict",
    ),
    pytest.param(
        [E("Device", (0, 11), (16, 21))],
        [E("Device", (12, 14))],
        0,
        0,
        id="discontinuous-gap-is-not-overlap",
    ),
    pytest.param(
        [E("Device", (0, 11), (16, 21))],
        [E("Device", (16, 21))],
        0,
        1,
        id="discontinuous-fragment-is-relaxed",
    ),
]


@pytest.mark.parametrize(("gold", "pred", "strict", "relaxed"), MATCH_CASES)
def test_max_matching(gold, pred, strict, relaxed):
    assert max_matching(gold, pred, relaxed=False) == strict
    assert max_matching(gold, pred, relaxed=True) == relaxed


@pytest.mark.parametrize(
    ("tp", "predicted", "gold", "p", "r", "f1"),
    [
        (0, 0, 0, 0.0, 0.0, 0.0),
        (1, 2, 4, 0.5, 0.25, 1 / 3),
        (3, 3, 3, 1.0, 1.0, 1.0),
        (0, 5, 0, 0.0, 0.0, 0.0),
    ],
)
def test_counts_prf(tp, predicted, gold, p, r, f1):
    c = Counts(tp, predicted, gold)
    assert c.precision == pytest.approx(p)
    assert c.recall == pytest.approx(r)
    assert c.f1 == pytest.approx(f1)


def test_types_are_kept_apart_and_micro_sums_counts():
    gold = [E("Condition", (0, 8)), E("Drug", (10, 18)), E("Value", (20, 24))]
    pred = [E("Drug", (0, 8)), E("Drug", (10, 18)), E("Value", (20, 22)), E("Qualifier", (0, 3))]
    report = score([(gold, pred)], types=("Condition", "Drug", "Value"))
    assert report.counts["Condition"]["relaxed"] == Counts(0, 0, 1)
    assert report.counts["Drug"]["strict"] == Counts(1, 2, 1)
    assert report.counts["Value"]["strict"] == Counts(0, 1, 1)
    assert report.counts["Value"]["relaxed"] == Counts(1, 1, 1)
    # Qualifier is outside the evaluated types: neither counted nor an error.
    assert report.micro("strict") == Counts(1, 3, 3)
    assert report.micro("relaxed") == Counts(2, 3, 3)


def test_criteria_are_separate_units():
    # The same offsets in two different criteria never match each other.
    report = score(
        [([E("Condition", (0, 5))], []), ([], [E("Condition", (0, 5))])], types=("Condition",)
    )
    assert report.micro("relaxed") == Counts(0, 1, 1)
    assert report.criteria == 2


def test_json_shape():
    report = score([([E("Person", (0, 3))], [E("Person", (0, 3))])])
    out = report.to_json()
    assert set(out) == {"strict", "relaxed", "per_type", "criteria"}
    assert set(out["strict"]) == {"precision", "recall", "f1"}
    assert list(out["per_type"]) == [
        "Condition",
        "Drug",
        "Procedure",
        "Measurement",
        "Observation",
        "Person",
        "Value",
        "Temporal",
    ]
    assert out["per_type"]["Person"]["strict"]["f1"] == 1.0
    assert out["per_type"]["Drug"]["relaxed"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert out["criteria"] == 1
