"""Ranking and classification metrics as pure functions over plain lists and dicts.

Conventions, chosen to match how TREC Clinical Trials runs are scored:
- A ranking is a list of document ids, best first; judgments map ids to graded labels
  (0 not relevant, 1 excluded, 2 eligible). Unjudged ids count as 0.
- NDCG uses the linear gain (gain = label) and the log2(rank + 1) discount; the ideal ranking
  is built from the judged labels of the same query, so a query whose judged documents are all
  0 has no ideal and scores 0 (it cannot be ranked well or badly).
- AUROC is the Mann-Whitney statistic: the probability that a random positive outscores a
  random negative, ties counting one half; undefined (None) without both classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int = 10) -> float:
    """Graded NDCG@k; the ideal ordering is the query's judged labels sorted descending."""
    if k <= 0:
        raise ValueError("k must be positive")
    ideal = dcg(sorted((float(v) for v in judgments.values() if v > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([float(max(judgments.get(d, 0), 0)) for d in ranking[:k]]) / ideal


def precision_at_k(
    ranking: Sequence[str], judgments: Mapping[str, int], k: int = 10, relevant: int = 2
) -> float:
    """Share of the top k positions holding a document labelled >= `relevant`.

    The denominator is k even when fewer than k documents were ranked (the TREC convention):
    an empty slot is not relevant.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    return sum(judgments.get(d, 0) >= relevant for d in ranking[:k]) / k


def auroc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float | None:
    """Mann-Whitney AUROC with ties as 1/2, by average ranks (O(n log n))."""
    n_pos, n_neg = len(positive_scores), len(negative_scores)
    if n_pos == 0 or n_neg == 0:
        return None
    labelled = sorted(
        [(s, 1) for s in positive_scores] + [(s, 0) for s in negative_scores], key=lambda x: x[0]
    )
    rank_sum = 0.0
    i = 0
    while i < len(labelled):
        j = i
        while j + 1 < len(labelled) and labelled[j + 1][0] == labelled[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1  # ranks are 1-based
        rank_sum += average_rank * sum(lab for _, lab in labelled[i : j + 1])
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def reciprocal_rank(ranking: Sequence[str], relevant: set[str] | frozenset[str]) -> float:
    """1 / position of the first relevant id; 0 when none is ranked."""
    for i, d in enumerate(ranking, start=1):
        if d in relevant:
            return 1.0 / i
    return 0.0


def mrr(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str] | frozenset[str]]) -> float:
    """Mean reciprocal rank over queries (0 for no queries)."""
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings but {len(relevant)} relevance sets")
    if not rankings:
        return 0.0
    return sum(reciprocal_rank(r, s) for r, s in zip(rankings, relevant, strict=True)) / len(
        rankings
    )


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values (None entries skipped); None if nothing is defined."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def prf(true_positives: int, predicted: int, gold: int) -> dict[str, float]:
    """Micro precision/recall/F1 from counts; 0 where a denominator is 0."""
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
