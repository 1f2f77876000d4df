"""Rank fusion as pure functions over hit lists (client-side, so both backends share it)."""

from __future__ import annotations

from collections.abc import Sequence

from matcher.search.base import Hit


def reciprocal_rank_fusion(runs: Sequence[Sequence[Hit]], k: int = 60) -> list[Hit]:
    """RRF (Cormack et al. 2009): robust to incomparable score scales of BM25 and cosine."""
    scores: dict[str, float] = {}
    for run in runs:
        for rank, hit in enumerate(run, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (k + rank)
    return sorted((Hit(i, s) for i, s in scores.items()), key=lambda h: (-h.score, h.id))


def weighted_fusion(runs: Sequence[Sequence[Hit]], weights: Sequence[float]) -> list[Hit]:
    """Weighted sum of min-max normalised scores; a missing hit contributes 0 for that run."""
    if len(runs) != len(weights):
        raise ValueError(f"{len(runs)} runs but {len(weights)} weights")
    scores: dict[str, float] = {}
    for run, weight in zip(runs, weights, strict=True):
        if not run:
            continue
        hi = max(h.score for h in run)
        lo = min(h.score for h in run)
        span = hi - lo
        for hit in run:
            norm = (hit.score - lo) / span if span > 0 else 1.0
            scores[hit.id] = scores.get(hit.id, 0.0) + weight * norm
    return sorted((Hit(i, s) for i, s in scores.items()), key=lambda h: (-h.score, h.id))
