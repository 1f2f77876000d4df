"""Bundle ingest: FHIR JSON -> PatientRecords -> one atomic upsert with text and vectors."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.embeddings import Embedder
from matcher.errors import TooLarge
from matcher.fhir import parse_bundle
from matcher.model import PatientRecord
from matcher.profile import patient_index_text, patient_vector
from matcher.store.sqlite import SqliteStore


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_bundle_bytes: int = 64 * 1024 * 1024
    max_entries: int = 20_000


@dataclass(frozen=True, slots=True)
class IngestResult:
    patient_ids: list[str]
    fact_count: int
    note_count: int


class IngestService:
    def __init__(self, store: SqliteStore, embedder: Embedder, limits: IngestLimits) -> None:
        self._store = store
        self._embedder = embedder
        self._limits = limits

    def push_bundle(self, raw: bytes) -> IngestResult:
        """Validates everything before writing anything, so a rejected bundle stores nothing."""
        if len(raw) > self._limits.max_bundle_bytes:
            raise TooLarge(
                f"bundle is {len(raw)} bytes; the limit is {self._limits.max_bundle_bytes}"
            )
        records = parse_bundle(raw, max_entries=self._limits.max_entries)
        self.store_records(records)
        return IngestResult(
            patient_ids=[r.patient_id for r in records],
            fact_count=sum(len(r.facts) for r in records),
            note_count=sum(len(r.notes) for r in records),
        )

    def store_records(self, records: list[PatientRecord]) -> None:
        texts = [patient_index_text(r) for r in records]
        vectors = [patient_vector(r, self._embedder) for r in records]
        self._store.upsert_patients(records, texts, vectors)

    def get_patient(self, patient_id: str) -> PatientRecord:
        return self._store.get_patient(patient_id)

    def delete_patient(self, patient_id: str) -> None:
        self._store.delete_patient(patient_id)
