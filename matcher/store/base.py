"""The one store contract both backends implement (embedded SQLite, Elasticsearch).

It is exactly what ingest, the trial registry, the matching engine and the embedding cache
call; retrievers are backend-specific (they know how their store searches) and are built
beside the store by services.providers. Contract tests run the same cases over every
implementation (tests/integration/test_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from matcher.model import PatientRecord, Trial
from matcher.search.base import PatientFilters, TrialFilters


class Store(Protocol):
    """Patients and trials (one document each), their search data, and cached vectors.

    Writes are idempotent per id; reads of one id are immediate after a write returns.
    Errors: NotFound for unknown ids, BackendUnavailable when the backend cannot be reached.
    """

    def upsert_patients(
        self, records: list[PatientRecord], texts: list[str], vectors: list[np.ndarray | None]
    ) -> None:
        """Stores all records or, on failure, leaves what was there before."""
        ...

    def get_patient(self, patient_id: str) -> PatientRecord: ...

    def get_patients(self, patient_ids: Iterable[str]) -> dict[str, PatientRecord]: ...

    def delete_patient(self, patient_id: str) -> None: ...

    def count_patients(self) -> int: ...

    def filter_patients(self, filters: PatientFilters) -> frozenset[str]:
        """Ids of every patient passing the hard filters."""
        ...

    def upsert_trial(self, trial: Trial, text: str, vector: np.ndarray | None) -> Trial:
        """Stores a trial; an existing id becomes the next version (amendment)."""
        ...

    def get_trial(self, trial_id: str) -> Trial: ...

    def get_trials(self, trial_ids: Iterable[str]) -> dict[str, Trial]: ...

    def list_trials(self, include_retired: bool = False, limit: int = 100) -> list[Trial]: ...

    def retire_trial(self, trial_id: str) -> Trial: ...

    def filter_trials(self, filters: TrialFilters) -> frozenset[str]: ...

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None: ...

    def close(self) -> None: ...
