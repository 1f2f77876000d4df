"""What of a patient or trial is indexed and embedded, in one place for both backends.

Retrieval text is the patient's problem list (conditions, procedures, medications, coded
observation values and notes); trials are indexed on what they target (title, conditions,
interventions, inclusion concepts) because exclusion text describes whom they do *not* want.
"""

from __future__ import annotations

import numpy as np

from matcher.embeddings import Embedder, mean_vector
from matcher.model import Assertion, CriterionKind, FactKind, PatientRecord, Trial

PROBLEM_KINDS = (FactKind.CONDITION, FactKind.PROCEDURE, FactKind.MEDICATION, FactKind.NOTE_MENTION)
NOTE_CHARS = 2000


def patient_concepts(record: PatientRecord) -> list[str]:
    """Distinct concept texts the patient has (not negated), in first-seen order."""
    seen: dict[str, None] = {}
    for fact in record.facts:
        if fact.assertion in (Assertion.ABSENT, Assertion.FAMILY, Assertion.HYPOTHETICAL):
            continue
        if fact.kind in PROBLEM_KINDS:
            seen.setdefault(fact.text.strip(), None)
        elif fact.kind == FactKind.OBSERVATION and fact.value_text:
            seen.setdefault(f"{fact.text}: {fact.value_text}".strip(), None)
    return [t for t in seen if t]


def patient_index_text(record: PatientRecord) -> str:
    parts = patient_concepts(record)
    parts.extend(note.text[:NOTE_CHARS] for note in record.notes)
    return "\n".join(parts)


def patient_embedding_texts(record: PatientRecord) -> list[str]:
    """Condition-first texts: the problems a trial would target, then notes if nothing coded."""
    conditions = [
        f.text
        for f in record.facts
        if f.kind == FactKind.CONDITION and f.assertion == Assertion.PRESENT
    ]
    texts = list(dict.fromkeys(conditions)) or patient_concepts(record)[:64]
    if not texts:
        texts = [note.text[:NOTE_CHARS] for note in record.notes]
    return texts


def trial_target_text(trial: Trial) -> str:
    inclusion = [
        c.concept.text if c.concept else c.text
        for c in trial.criteria
        if c.kind == CriterionKind.INCLUSION and c.category.value != "demographic"
    ]
    return "\n".join([trial.title, *trial.conditions, *trial.interventions, *inclusion])


def trial_embedding_text(trial: Trial) -> str:
    return ". ".join([trial.title, *trial.conditions])


def patient_vector(record: PatientRecord, embedder: Embedder) -> np.ndarray | None:
    """The vector stored for a patient and used as its query: both sides must agree."""
    texts = patient_embedding_texts(record)
    return mean_vector(embedder.encode(texts)) if texts else None


def trial_vector(trial: Trial, embedder: Embedder) -> np.ndarray:
    """The vector stored for a trial and used as its query (cached by text, so cheap twice)."""
    return embedder.encode([trial_embedding_text(trial)])[0]
