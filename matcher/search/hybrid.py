"""Hybrid retrieval by composition: run each retriever, fuse with a pure function."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matcher.search.base import Hit, Query, Retriever
from matcher.search.fusion import reciprocal_rank_fusion

Fusion = Callable[[Sequence[Sequence[Hit]]], list[Hit]]


class HybridRetriever:
    def __init__(
        self,
        retrievers: Sequence[Retriever],
        fusion: Fusion = reciprocal_rank_fusion,
        depth: int = 200,
    ) -> None:
        self._retrievers = list(retrievers)
        self._fusion = fusion
        self._depth = depth  # each run goes deeper than k so fusion sees overlapping tails

    def search(self, query: Query, k: int) -> list[Hit]:
        depth = max(k, self._depth)
        runs = [r.search(query, depth) for r in self._retrievers]
        return self._fusion(runs)[:k]
