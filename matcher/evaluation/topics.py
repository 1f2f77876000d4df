"""Benchmark topics (a patient described in free text) as FHIR R4 Bundles.

TREC/SIGIR topics and the criterion-annotation notes are prose. To measure the system as an
EHR would use it, each becomes the Bundle an EHR would send: a Patient whose gender and
birthDate come from the note (the age is relative to a fixed index date, so that the engine's
`age_at(index_date)` gives back the stated age) and a DocumentReference carrying the note as a
base64 text/plain attachment. The bundle then goes through the real ingest path: fhir.resources
validation, normalisation and, when enabled, note NLP.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from matcher.ages import years_before
from nlp.notes import demographics

_NOT_ID = re.compile(r"[^A-Za-z0-9.-]+")
_NAMESPACE = uuid.UUID("5b0e0a5e-7a43-4c55-9a8e-2f0f1b6c9d01")  # fixed: stable fullUrls
NOTE_TYPE = {
    "coding": [
        {"system": "http://loinc.org", "code": "34117-2", "display": "History and physical note"}
    ],
    "text": "History and physical note",
}


@dataclass(frozen=True, slots=True)
class Topic:
    topic_id: str
    text: str


def fhir_id(raw: str) -> str:
    """A FHIR id (letters, digits, '-', '.', at most 64) derived from a dataset id."""
    cleaned = _NOT_ID.sub("-", raw).strip("-") or "topic"
    return cleaned[:64]


def birth_date_for_age(age_years: float, index_date: date) -> date:
    """A birth date at which a patient is `age_years` old on `index_date`."""
    return years_before(index_date, age_years)


def _full_url(kind: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{resource_id}')}"


def topic_bundle(topic: Topic, index_date: date) -> dict[str, Any]:
    """The FHIR R4 collection Bundle (as JSON) for one topic."""
    patient_id = fhir_id(topic.topic_id)
    age, gender = demographics(topic.text)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [{"system": "urn:trialmatch:eval:topic", "value": topic.topic_id}],
    }
    if gender in ("male", "female"):
        patient["gender"] = gender
    if age is not None:
        patient["birthDate"] = birth_date_for_age(age, index_date).isoformat()
    note_id = fhir_id(f"{patient_id}-note")
    document = {
        "resourceType": "DocumentReference",
        "id": note_id,
        "status": "current",
        "type": NOTE_TYPE,
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": f"{index_date.isoformat()}T00:00:00Z",
        "description": "Admission note",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(topic.text.encode("utf-8")).decode("ascii"),
                    "title": "Admission note",
                }
            }
        ],
    }
    return {
        "resourceType": "Bundle",
        "id": fhir_id(f"eval-{patient_id}"),
        "type": "collection",
        "entry": [
            {"fullUrl": _full_url("Patient", patient_id), "resource": patient},
            {"fullUrl": _full_url("DocumentReference", note_id), "resource": document},
        ],
    }


def topic_bundle_bytes(topic: Topic, index_date: date) -> bytes:
    return json.dumps(topic_bundle(topic, index_date), separators=(",", ":")).encode("utf-8")
