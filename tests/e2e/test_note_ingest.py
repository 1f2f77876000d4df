"""A note enters the way an EHR sends it (FHIR Bundle: Patient + DocumentReference with a
base64 text/plain attachment) and comes out as facts whose sources name the sentence.

Domain level through `App.ingest`, then once over real gRPC on a port-0 server, where the
matcher must also use the note facts: a negated mention rules the patient out of nothing,
a present one meets an inclusion, each with the DocumentReference sentence as evidence.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from matcher.model import Assertion, FactKind
from matcher.profile import patient_embedding_texts, patient_index_text
from trialmatch.v1 import (
    ingest_pb2,
    ingest_pb2_grpc,
    matcher_pb2,
    matcher_pb2_grpc,
    trials_pb2,
    trials_pb2_grpc,
)

# sigir-20141 (SIGIR 2016 topics), as numbered sentences like the criterion annotations
NOTE = (
    "0. A 58-year-old African-American woman presents to the ER with episodic pressing/burning "
    "anterior chest pain that began two days earlier for the first time in her life.\n"
    "1. She is known to have hypertension and obesity.\n"
    "2. She denies smoking, diabetes, hypercholesterolemia, or a family history of heart "
    "disease.\n"
    "3. Her HbA1c was 5.4% last week."
)
PATIENT = "sigir-20141"
DOC = "DocumentReference/note-1"


def bundle(note: str = NOTE, content_type: str = "text/plain; charset=utf-8") -> bytes:
    data = base64.b64encode(note.encode("utf-8")).decode("ascii")
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{PATIENT}",
                    "resource": {
                        "resourceType": "Patient",
                        "id": PATIENT,
                        "gender": "female",
                        "birthDate": "1963-05-01",
                    },
                },
                {
                    "fullUrl": "urn:uuid:note-1",
                    "resource": {
                        "resourceType": "DocumentReference",
                        "id": "note-1",
                        "status": "current",
                        "subject": {"reference": f"Patient/{PATIENT}"},
                        "date": "2021-06-01T10:00:00Z",
                        "content": [{"attachment": {"contentType": content_type, "data": data}}],
                    },
                },
            ],
        }
    ).encode("utf-8")


def note_facts(facts):
    return {(f.text, f.assertion, f.source) for f in facts if f.source.startswith(DOC)}


def test_ingest_reads_note_facts_with_sentence_sources(make_app) -> None:
    app = make_app()
    result = app.ingest.push_bundle(bundle())
    assert result.patient_ids == [PATIENT] and result.note_count == 1
    record = app.ingest.get_patient(PATIENT)  # as stored, read back from SQLite
    assert record.notes[0].source == DOC
    assert {
        ("anterior chest pain", Assertion.PRESENT, f"{DOC}#s0"),  # the note's kind of it
        ("hypertension", Assertion.PRESENT, f"{DOC}#s1"),
        ("obesity", Assertion.PRESENT, f"{DOC}#s1"),
        ("body mass index", Assertion.PRESENT, f"{DOC}#s1"),  # obesity states BMI >= 30
        ("smoking", Assertion.ABSENT, f"{DOC}#s2"),
        ("diabetes mellitus", Assertion.ABSENT, f"{DOC}#s2"),
        ("hyperlipidemia", Assertion.ABSENT, f"{DOC}#s2"),
        ("heart disease", Assertion.FAMILY, f"{DOC}#s2"),
        ("hemoglobin a1c", Assertion.PRESENT, f"{DOC}#s3"),
    } == note_facts(record.facts)
    a1c = next(f for f in record.facts if f.text == "hemoglobin a1c")
    assert (a1c.kind, a1c.value, a1c.unit) == (FactKind.OBSERVATION, 5.4, "%")
    assert a1c.sentence == "Her HbA1c was 5.4% last week."
    assert a1c.start == datetime(2021, 6, 1, 10, 0, tzinfo=UTC)
    assert result.fact_count == len(record.facts)


def test_index_text_keeps_what_the_patient_has(make_app) -> None:
    app = make_app()
    app.ingest.push_bundle(bundle())
    record = app.ingest.get_patient(PATIENT)
    text = patient_index_text(record).lower()
    assert "hypertension" in text and "chest pain" in text
    # the sentence that denies them is not indexed as if present
    assert "diabetes" not in text and "smoking" not in text and "heart disease" not in text
    # the note itself is embedded, without the sentence that denies diabetes
    embedded = " ".join(patient_embedding_texts(record)).lower()
    assert "hypertension" in embedded and "diabetes" not in embedded


def test_reingest_does_not_double_note_facts(make_app) -> None:
    app = make_app()
    app.ingest.push_bundle(bundle())
    first = app.ingest.get_patient(PATIENT).facts
    app.ingest.push_bundle(bundle())
    again = app.ingest.get_patient(PATIENT)
    assert len(again.facts) == len(first)
    app.ingest.store_records([again])  # an already-extracted record stored again
    assert len(app.ingest.get_patient(PATIENT).facts) == len(first)


def test_notes_can_be_switched_off(make_app) -> None:
    app = make_app(nlp={"notes": {"enabled": False}})
    app.ingest.push_bundle(bundle())
    record = app.ingest.get_patient(PATIENT)
    assert record.notes and not note_facts(record.facts)


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8"])
def test_plain_text_attachment_is_read(make_app, content_type: str) -> None:
    app = make_app()
    app.ingest.push_bundle(bundle("He denies fever.", content_type))
    record = app.ingest.get_patient(PATIENT)
    assert record.notes[0].text == "He denies fever."
    assert note_facts(record.facts) == {("fever", Assertion.ABSENT, f"{DOC}#s0")}


TRIAL = trials_pb2.TrialProtocol(
    trial_id="TM-CHEST-1",
    title="Chest pain evaluation in hypertensive adults",
    conditions=["Chest pain"],
    eligibility_text=(
        "Inclusion Criteria:\n- Hypertension\n- HbA1c below 6.5%\n"
        "Exclusion Criteria:\n- Diabetes mellitus\n"
    ),
)


def test_grpc_ingest_and_match_on_note_facts(make_server) -> None:
    _, channel = make_server()
    ingest = ingest_pb2_grpc.PatientIngestStub(channel)
    ack = ingest.PushBundle(ingest_pb2.PushBundleRequest(bundle_json=bundle(), label="sigir"))
    assert list(ack.patient_ids) == [PATIENT]
    record = ingest.GetPatient(ingest_pb2.GetPatientRequest(patient_id=PATIENT)).patient
    by_text = {f.text: f for f in record.facts if f.source.startswith(DOC)}
    assert by_text["diabetes mellitus"].assertion == "absent"
    assert by_text["diabetes mellitus"].source == f"{DOC}#s2"
    assert by_text["heart disease"].assertion == "family"
    assert (by_text["hemoglobin a1c"].value, by_text["hemoglobin a1c"].unit) == (5.4, "%")

    trials_pb2_grpc.TrialRegistryStub(channel).SubmitTrial(
        trials_pb2.SubmitTrialRequest(protocol=TRIAL)
    )
    ranked = matcher_pb2_grpc.MatcherStub(channel).RankPatients(
        matcher_pb2.RankPatientsRequest(trial_id="TM-CHEST-1", index_date="2021-07-01")
    )
    (candidate,) = ranked.candidates
    rows = {row.criterion.text: row for row in candidate.criteria}
    hypertension = rows["Hypertension"]
    assert hypertension.outcome == matcher_pb2.OUTCOME_MET
    assert hypertension.evidence[0].source == f"{DOC}#s1"
    a1c = rows["HbA1c below 6.5%"]  # a value read from the note, compared with its unit
    assert a1c.outcome == matcher_pb2.OUTCOME_MET
    assert a1c.evidence[0].source == f"{DOC}#s3"
    diabetes = rows["Diabetes mellitus"]  # an exclusion the note denies: not met
    assert diabetes.outcome == matcher_pb2.OUTCOME_NOT_MET
    assert diabetes.evidence[0].source == f"{DOC}#s2"
    assert candidate.verdict == matcher_pb2.VERDICT_ELIGIBLE
