"""Retrievers of the Elasticsearch backend: BM25 on `text` and kNN on `vector`.

Hard filters travel inside each search (`bool.filter` for BM25, `knn.filter` for kNN) so the
node prunes before scoring, instead of the client shipping an id list. Fusion stays on the
client (HybridRetriever + matcher.search.fusion), exactly as in the embedded backend: the
integ-test distribution has no scripting, and one fusion function keeps the backends equal.
"""

from __future__ import annotations

from typing import Any

from matcher.search.base import Hit, PatientFilters, Query, TrialFilters
from matcher.search.embedded import query_terms
from matcher.store.elastic import ElasticStore, patient_filter_clauses, trial_filter_clauses

MAX_IDS_FILTER = 65_536  # Elasticsearch's default index.max_terms_count


def filter_clauses(store: ElasticStore, kind: str, query: Query) -> list[dict[str, Any]]:
    """The query's hard filters as DSL, plus its `allowed` ids where they narrow them.

    The engine passes both the filters and the ids it computed from them (to count the
    patients considered), sometimes narrowed further (re-ranking a known set). The id list
    is sent only when it is not exactly the store's answer to the same filters, so the
    common request carries no 10,000-id `terms` clause.
    """
    clauses: list[dict[str, Any]] = []
    if kind == "patients" and isinstance(query.filters, PatientFilters):
        clauses = patient_filter_clauses(query.filters)
    elif kind == "trials" and isinstance(query.filters, TrialFilters):
        clauses = trial_filter_clauses(query.filters)
    if query.allowed is not None and not (
        query.filters is not None and store.is_filter_result(query.filters, query.allowed)
    ):
        if len(query.allowed) > MAX_IDS_FILTER:
            raise ValueError(f"{len(query.allowed)} allowed ids; pass filters instead")
        clauses = [*clauses, {"ids": {"values": sorted(query.allowed)}}]
    return clauses


def _empty_allowed(query: Query) -> bool:
    return query.allowed is not None and not query.allowed


class ElasticBm25Retriever:
    def __init__(self, store: ElasticStore, kind: str) -> None:
        self._store = store
        self._kind = kind

    def search(self, query: Query, k: int) -> list[Hit]:
        terms = query_terms(query.text)
        if not terms or k <= 0 or _empty_allowed(query):
            return []
        found = self._store.bm25(
            self._kind, terms, filter_clauses(self._store, self._kind, query), k
        )
        return [Hit(i, s) for i, s in found]


class ElasticKnnRetriever:
    def __init__(self, store: ElasticStore, kind: str) -> None:
        self._store = store
        self._kind = kind

    def search(self, query: Query, k: int) -> list[Hit]:
        if query.vector is None or k <= 0 or _empty_allowed(query):
            return []
        found = self._store.knn(
            self._kind, query.vector, filter_clauses(self._store, self._kind, query), k
        )
        return [Hit(i, s) for i, s in found]
