"""Evaluation metrics against values computed by hand (shown in each row's comment)."""

from __future__ import annotations

import math

import pytest

from matcher.evaluation.metrics import (
    auroc,
    mean,
    mrr,
    ndcg_at_k,
    precision_at_k,
    prf,
    reciprocal_rank,
)

L2 = math.log2

NDCG_CASES = [
    # perfect order: DCG equals the ideal
    (["a", "b", "c"], {"a": 2, "b": 1, "c": 0}, 10, 1.0),
    # reversed: DCG = 0/1 + 1/log2(3) + 2/log2(4) = 0.6309 + 1 ; IDCG = 2 + 1/log2(3) = 2.6309
    (["c", "b", "a"], {"a": 2, "b": 1, "c": 0}, 10, (1 / L2(3) + 2 / L2(4)) / (2 + 1 / L2(3))),
    # cut at k=1: only the first position counts; ideal@1 = 2
    (["b", "a"], {"a": 2, "b": 1}, 1, 0.5),
    # unjudged ids gain 0; the ideal comes from the judged labels only
    (["x", "a"], {"a": 2}, 10, (2 / L2(3)) / 2),
    # nothing relevant judged: no ideal, score 0
    (["a", "b"], {"a": 0, "b": 0}, 10, 0.0),
    # the eligible trial outside the top k contributes nothing, but stays in the ideal
    (["c", "b", "a"], {"a": 2, "b": 0, "c": 0}, 2, 0.0),
    # label 1 alone: DCG 1/log2(3) at rank 2 over the ideal 1
    (["b", "a"], {"a": 1, "b": 0}, 10, 1 / L2(3)),
]


@pytest.mark.parametrize(("ranking", "judgments", "k", "expected"), NDCG_CASES)
def test_ndcg_at_k(ranking, judgments, k, expected):
    assert ndcg_at_k(ranking, judgments, k) == pytest.approx(expected)


PRECISION_CASES = [
    (["a", "b", "c"], {"a": 2, "b": 1, "c": 2}, 3, 2, 2 / 3),
    # label 1 (excluded) is not relevant for P@k of eligibility
    (["b"], {"b": 1}, 1, 2, 0.0),
    # fewer than k ranked: the empty slots count as not relevant
    (["a"], {"a": 2}, 10, 2, 0.1),
    # relevant=1 counts excluded and eligible
    (["a", "b", "c", "d"], {"a": 2, "b": 1, "c": 0}, 4, 1, 0.5),
]


@pytest.mark.parametrize(("ranking", "judgments", "k", "relevant", "expected"), PRECISION_CASES)
def test_precision_at_k(ranking, judgments, k, relevant, expected):
    assert precision_at_k(ranking, judgments, k, relevant) == pytest.approx(expected)


@pytest.mark.parametrize("k", [0, -1])
def test_cutoffs_must_be_positive(k):
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a": 1}, k)
    with pytest.raises(ValueError):
        precision_at_k(["a"], {"a": 1}, k)


AUROC_CASES = [
    ([3.0, 4.0], [1.0, 2.0], 1.0),  # every positive above every negative
    ([1.0, 2.0], [3.0, 4.0], 0.0),
    ([1.0], [1.0], 0.5),  # a tie counts one half
    # pairs: (2>1) (2=2 half) (2<3) | (4>1) (4>2) (4>3) -> (1 + .5 + 0 + 3) / 6
    ([2.0, 4.0], [1.0, 2.0, 3.0], 4.5 / 6),
    # all tied: 0.5 whatever the sizes
    ([0.0, 0.0, 0.0], [0.0, 0.0], 0.5),
    # ties inside one class do not matter: positives {5, 5}, negatives {1, 6}:
    # 5>1 twice, 5<6 twice -> 2/4
    ([5.0, 5.0], [1.0, 6.0], 0.5),
]


@pytest.mark.parametrize(("pos", "neg", "expected"), AUROC_CASES)
def test_auroc(pos, neg, expected):
    assert auroc(pos, neg) == pytest.approx(expected)


@pytest.mark.parametrize(("pos", "neg"), [([], [1.0]), ([1.0], []), ([], [])])
def test_auroc_undefined_without_both_classes(pos, neg):
    assert auroc(pos, neg) is None


def test_auroc_equals_pairwise_definition_on_a_larger_table():
    pos = [0.9, 0.8, 0.8, 0.4, 0.1]
    neg = [0.85, 0.8, 0.3, 0.3, 0.05, 0.0]
    pairwise = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
    assert auroc(pos, neg) == pytest.approx(pairwise)


RR_CASES = [
    (["a", "b", "c"], {"a"}, 1.0),
    (["a", "b", "c"], {"c", "b"}, 0.5),
    (["a", "b", "c"], {"z"}, 0.0),
    ([], {"a"}, 0.0),
]


@pytest.mark.parametrize(("ranking", "relevant", "expected"), RR_CASES)
def test_reciprocal_rank(ranking, relevant, expected):
    assert reciprocal_rank(ranking, relevant) == pytest.approx(expected)


def test_mrr_averages_reciprocal_ranks():
    # 1/1, 1/3 and 0 -> (1 + 1/3 + 0) / 3
    rankings = [["a", "b"], ["x", "y", "a"], ["x"]]
    relevant = [{"a"}, {"a"}, {"a"}]
    assert mrr(rankings, relevant) == pytest.approx((1 + 1 / 3) / 3)
    assert mrr([], []) == 0.0
    with pytest.raises(ValueError):
        mrr([["a"]], [])


@pytest.mark.parametrize(
    ("values", "expected"), [([1.0, None, 3.0], 2.0), ([None], None), ([], None)]
)
def test_mean_skips_undefined(values, expected):
    assert mean(values) == expected


@pytest.mark.parametrize(
    ("tp", "predicted", "gold", "expected"),
    [
        (2, 4, 2, {"precision": 0.5, "recall": 1.0, "f1": 2 / 3}),
        (0, 0, 3, {"precision": 0.0, "recall": 0.0, "f1": 0.0}),
        (3, 3, 6, {"precision": 1.0, "recall": 0.5, "f1": 2 / 3}),
    ],
)
def test_prf(tp, predicted, gold, expected):
    assert prf(tp, predicted, gold) == pytest.approx(expected)
