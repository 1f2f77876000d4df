"""Bundle ingest: FHIR JSON -> PatientRecords -> one atomic upsert with text and vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from matcher.embeddings import Embedder
from matcher.errors import TooLarge
from matcher.fhir import parse_bundle
from matcher.model import Fact, Note, PatientRecord
from matcher.profile import patient_index_text, patient_vector
from matcher.store.base import Store


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_bundle_bytes: int = 64 * 1024 * 1024
    max_entries: int = 20_000


@dataclass(frozen=True, slots=True)
class IngestResult:
    patient_ids: list[str]
    fact_count: int
    note_count: int


class NoteFactExtractor(Protocol):
    """Free-text notes -> facts (with assertions and `Note.source#sN` sources); implemented in
    nlp/notes, injected by services/providers.py so that matcher/ never imports the NLP."""

    def extract_many(self, notes: Sequence[Note]) -> list[list[Fact]]: ...


class IngestService:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        limits: IngestLimits,
        note_facts: NoteFactExtractor | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._limits = limits
        self._note_facts = note_facts

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
        if self._note_facts is not None:
            self._add_note_facts(records)
        texts = [patient_index_text(r) for r in records]
        vectors = [patient_vector(r, self._embedder) for r in records]
        self._store.upsert_patients(records, texts, vectors)

    def _add_note_facts(self, records: list[PatientRecord]) -> None:
        """Facts read from notes join the record's facts (and so the index and the matcher).
        Facts an earlier extraction left on the record are replaced, never doubled."""
        assert self._note_facts is not None
        notes = [(r, n) for r in records for n in r.notes]
        if not notes:
            return
        for record in records:
            prefixes = tuple(f"{n.source}#" for n in record.notes)
            if prefixes:
                record.facts = [f for f in record.facts if not f.source.startswith(prefixes)]
        extracted = self._note_facts.extract_many([n for _, n in notes])
        for (record, _), facts in zip(notes, extracted, strict=True):
            record.facts.extend(facts)

    def get_patient(self, patient_id: str) -> PatientRecord:
        return self._store.get_patient(patient_id)

    def delete_patient(self, patient_id: str) -> None:
        self._store.delete_patient(patient_id)
