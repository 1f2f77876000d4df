from __future__ import annotations

import pytest

from matcher.search.base import Hit
from matcher.search.fusion import reciprocal_rank_fusion, weighted_fusion


def hits(*ids: str) -> list[Hit]:
    return [Hit(i, float(len(ids) - n)) for n, i in enumerate(ids)]


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([hits("a", "b", "c"), hits("a", "b", "c")], ["a", "b", "c"]),
        ([hits("a", "b"), hits("b", "a")], ["a", "b"]),  # tie broken by id
        ([hits("a", "b", "c"), hits("c", "b")], ["c", "b", "a"]),  # found twice beats found once
        ([hits("x"), []], ["x"]),
        ([[], []], []),
    ],
)
def test_rrf_order(runs: list[list[Hit]], expected: list[str]) -> None:
    assert [h.id for h in reciprocal_rank_fusion(runs)] == expected


def test_rrf_score_is_sum_of_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([hits("a", "b"), hits("b")], k=60)
    assert fused[0] == Hit("b", pytest.approx(1 / 62 + 1 / 61))


@pytest.mark.parametrize(
    ("weights", "expected_first"),
    [((1.0, 0.0), "a"), ((0.0, 1.0), "c"), ((0.5, 0.5), "b")],
)
def test_weighted_fusion_follows_weights(weights: tuple[float, float], expected_first: str) -> None:
    bm25 = [Hit("a", 10.0), Hit("b", 9.0), Hit("c", 0.0)]
    cosine = [Hit("c", 0.9), Hit("b", 0.85), Hit("a", 0.1)]
    assert weighted_fusion([bm25, cosine], weights)[0].id == expected_first


def test_weighted_fusion_rejects_mismatched_weights() -> None:
    with pytest.raises(ValueError, match="2 runs but 1 weights"):
        weighted_fusion([[], []], [1.0])
