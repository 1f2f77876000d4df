"""Reference rankers computed on the same pairs in the same run as the system.

- Okapi BM25 (Robertson et al.; k1 = 1.2, b = 0.75, the Lucene-style non-negative idf), pure
  Python over the run's own corpus, so its statistics are those of the documents being ranked
  rather than of SQLite's FTS index (which the system itself uses for candidate retrieval).
- Plain embedding: cosine of MiniLM vectors of the whole note and the whole trial text,
  through the run's cached embedder (the model truncates long texts, as any plain use would).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from matcher.embeddings import Embedder

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
# A generic English stop list: the baseline must not carry our domain tuning.
STOPWORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself no nor not now of off on once only or "
    "other our ours ourselves out over own same she should so some such than that the their "
    "theirs them themselves then there these they this those through to too under until up "
    "very was we were what when where which while who whom why will with you your yours".split()
)


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def trial_text(record: Mapping[str, Any]) -> str:
    """What both baselines read of a trial: title, conditions and eligibility text."""
    title = record.get("brief_title") or record.get("official_title") or ""
    conditions = record.get("conditions") or []
    return "\n".join([title, "; ".join(conditions), record.get("eligibility_criteria") or ""])


class Bm25:
    """Okapi BM25 over a fixed corpus of (id, text); `scores(query, ids)` ranks a subset."""

    def __init__(self, docs: Mapping[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self._k1, self._b = k1, b
        self._tf: dict[str, Counter[str]] = {d: Counter(tokens(t)) for d, t in docs.items()}
        self._len = {d: sum(tf.values()) for d, tf in self._tf.items()}
        n = len(self._tf)
        self._avg = (sum(self._len.values()) / n) if n else 0.0
        df: Counter[str] = Counter()
        for tf in self._tf.values():
            df.update(tf.keys())
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def score(self, query: str, doc_id: str) -> float:
        return self.scores(query, [doc_id])[doc_id]

    def scores(self, query: str, doc_ids: Sequence[str]) -> dict[str, float]:
        terms = Counter(tokens(query))
        out: dict[str, float] = {}
        for d in doc_ids:
            tf, length = self._tf[d], self._len[d]
            norm = self._k1 * (1 - self._b + self._b * length / self._avg) if self._avg else 0.0
            total = 0.0
            for term, qtf in terms.items():
                f = tf.get(term, 0)
                if f:
                    total += qtf * self._idf[term] * f * (self._k1 + 1) / (f + norm)
            out[d] = total
        return out


def cosine_scores(
    embedder: Embedder, query: str, docs: Mapping[str, str], doc_ids: Sequence[str]
) -> dict[str, float]:
    """Cosine of the query's and each document's unit vectors (cached by text)."""
    if not doc_ids:
        return {}
    vectors = embedder.encode([query, *(docs[d] for d in doc_ids)])
    sims = vectors[1:] @ vectors[0]
    return {d: float(s) for d, s in zip(doc_ids, np.asarray(sims), strict=True)}


def ranking(scores: Mapping[str, float]) -> list[str]:
    """Ids by descending score; ties broken by id so every run orders the same way."""
    return sorted(scores, key=lambda d: (-scores[d], d))
