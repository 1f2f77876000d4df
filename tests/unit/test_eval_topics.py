"""Topic -> FHIR Bundle -> real validation and normalisation (fhir.resources R4B) round trip.

The notes are real topic openings (TREC 2021, SIGIR 2016 and the criterion-annotation notes):
the age the engine computes at the index date must be the age the note states, the gender the
one it names, and the note must arrive as a DocumentReference note of the Patient.
"""

from __future__ import annotations

from datetime import date

import pytest

from matcher.evaluation.topics import Topic, birth_date_for_age, fhir_id, topic_bundle_bytes
from matcher.fhir import parse_bundle
from matcher.model import PatientRecord

INDEX = date(2021, 1, 1)

CASES = [
    (
        "trec-20211",
        "Patient is a 45-year-old man with a history of anaplastic astrocytoma.",
        45,
        "male",
    ),
    ("trec-20212", "48 M with a h/o HTN hyperlipidemia, bicuspid aortic valve.", 48, "male"),
    ("sigir-20141", "A 58-year-old African-American woman presents to the ER.", 58, "female"),
    ("sigir-20142", "0. An 8-year-old male presents in March to the ER with fever.", 8, "male"),
    # an infant: whole years 1, the rest in days
    ("t-infant", "An 18-month-old girl is brought in by her mother.", 1, "female"),
    # no age, no sex stated: the Patient has neither, and that is valid FHIR
    ("t-none", "Fever and cough for two days.", None, ""),
]


@pytest.mark.parametrize(("topic_id", "text", "age", "gender"), CASES)
def test_topic_bundle_round_trip(topic_id, text, age, gender):
    records = parse_bundle(topic_bundle_bytes(Topic(topic_id, text), INDEX))
    assert len(records) == 1
    record = records[0]
    assert record.patient_id == fhir_id(topic_id)
    assert record.age_at(INDEX) == age
    assert record.gender == gender
    assert [n.text for n in record.notes] == [text]
    assert record.notes[0].source == f"DocumentReference/{fhir_id(topic_id + '-note')}"


@pytest.mark.parametrize(
    ("age", "index", "born"),
    [
        (45, date(2021, 1, 1), date(1976, 1, 1)),
        (1.5, date(2021, 1, 1), date(2019, 7, 1)),  # 18 calendar months: 18 months old
        (4, date(2020, 2, 29), date(2016, 2, 29)),
        (3, date(2020, 2, 29), date(2017, 2, 28)),  # no 29 February in 2017
        (0.25, date(2021, 1, 1), date(2020, 10, 1)),  # 3 calendar months
    ],
)
def test_birth_date_for_age(age, index, born):
    assert birth_date_for_age(age, index) == born
    assert PatientRecord("p", born).months_at(index) == round(age * 12)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("trec-20211", "trec-20211"), ("a b/c", "a-b-c"), ("x" * 70, "x" * 64), ("//", "topic")],
)
def test_fhir_id(raw, expected):
    assert fhir_id(raw) == expected


def test_topic_ingest_through_the_service(make_app):
    """The same bundle through IngestService (validation, storage, index text and vector)."""
    app = make_app()
    text = "A 58-year-old woman presents with chest pain. She denies smoking."
    result = app.ingest.push_bundle(topic_bundle_bytes(Topic("sigir-20141", text), INDEX))
    assert result.patient_ids == ["sigir-20141"]
    stored = app.store.get_patient("sigir-20141")
    assert (stored.age_at(INDEX), stored.gender) == (58, "female")
    assert stored.notes[0].text == text
