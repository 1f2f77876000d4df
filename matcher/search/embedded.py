"""Retrievers of the embedded backend: FTS5 BM25 and brute-force cosine over stored vectors.

Brute force in NumPy is exact and, at <= ~100k x 384 float32 (150 MB), one matrix-vector
product per query; the matrix is cached per store generation so reads do not re-load it.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from matcher.search.base import Hit, PatientFilters, Query, TrialFilters
from matcher.store.sqlite import SqliteStore

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+|\d+[A-Za-z]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "to",
        "with",
        "without",
        "patient",
        "patients",
        "history",
        "diagnosis",
        "year",
        "years",
        "old",
        "must",
        "not",
        "no",
        "any",
        "other",
        "than",
    ]
)
MAX_TERMS = 64


def query_terms(text: str) -> list[str]:
    """The distinct content words of `text` (both backends query these same terms)."""
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and word not in seen:
            seen.append(word)
        if len(seen) >= MAX_TERMS:
            break
    return seen


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the distinct content words of `text`, each quoted (no syntax)."""
    return " OR ".join(f'"{w}"' for w in query_terms(text))


def _allowed(store: SqliteStore, table: str, query: Query) -> frozenset[str] | None:
    if query.allowed is not None:
        return query.allowed
    if isinstance(query.filters, PatientFilters) and table == "patients":
        return store.filter_patients(query.filters)
    if isinstance(query.filters, TrialFilters) and table == "trials":
        return store.filter_trials(query.filters)
    return None


class SqliteBm25Retriever:
    def __init__(self, store: SqliteStore, table: str) -> None:
        self._store = store
        self._table = table

    def search(self, query: Query, k: int) -> list[Hit]:
        match = fts_query(query.text)
        if not match or k <= 0:
            return []
        allowed = _allowed(self._store, self._table, query)
        # Over-fetch when filtering afterwards; FTS5 cannot join the filter cheaply.
        depth = k if allowed is None else k * 4 + 100
        hits = [Hit(i, s) for i, s in self._store.bm25(self._table, match, depth)]
        if allowed is not None:
            hits = [h for h in hits if h.id in allowed]
        return hits[:k]


class NumpyVectorRetriever:
    def __init__(self, store: SqliteStore, table: str) -> None:
        self._store = store
        self._table = table
        self._lock = threading.Lock()
        self._cached: tuple[int, list[str], np.ndarray, dict[str, int]] | None = None

    def _matrix(self) -> tuple[list[str], np.ndarray, dict[str, int]]:
        with self._lock:
            gen = self._store.generation
            if self._cached is None or self._cached[0] != gen:
                ids, matrix = self._store.vectors(self._table)
                self._cached = (gen, ids, matrix, {d: i for i, d in enumerate(ids)})
            return self._cached[1], self._cached[2], self._cached[3]

    def search(self, query: Query, k: int) -> list[Hit]:
        if query.vector is None or k <= 0:
            return []
        ids, matrix, row_of = self._matrix()
        if not ids:
            return []
        allowed = _allowed(self._store, self._table, query)
        if allowed is None:
            rows = np.arange(len(ids))
        else:
            # Only the allowed rows are scored: re-ranking a known candidate set (the engine's
            # relevance pass) then costs |allowed| dot products, not the whole matrix.
            rows = np.fromiter(sorted(row_of[i] for i in allowed if i in row_of), dtype=np.int64)
            if rows.size == 0:
                return []
        scores = matrix[rows] @ np.asarray(query.vector, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return [Hit(ids[rows[j]], float(scores[j])) for j in top]
