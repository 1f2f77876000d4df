"""parse_bundle on small hand-written FHIR resources: one table per extraction rule."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from matcher.errors import InvalidInput
from matcher.fhir import ACCEPTED_BUNDLE_TYPES, parse_bundle
from matcher.model import Assertion, Code, FactKind, PatientRecord

PATIENT: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "gender": "female"}
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def bundle(*resources: dict[str, Any], kind: str = "collection", **extra: Any) -> str:
    """A Bundle whose entries get `urn:uuid:` fullUrls only when a resource has `_fullUrl`."""
    entries = []
    for resource in resources:
        resource = dict(resource)
        full_url = resource.pop("_fullUrl", None)
        entry: dict[str, Any] = {"resource": resource}
        if full_url:
            entry["fullUrl"] = full_url
        entries.append(entry)
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries, **extra})


def one(*resources: dict[str, Any]) -> PatientRecord:
    """The single record of a bundle made of PATIENT plus `resources`."""
    records = parse_bundle(bundle(PATIENT, *resources))
    assert len(records) == 1
    return records[0]


def concept(code: str, display: str, system: str = SNOMED) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def condition(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": concept("44054006", "Diabetes mellitus type 2"),
        **fields,
    }


def status(code: str) -> dict[str, Any]:
    return {"coding": [{"code": code}]}


@pytest.mark.parametrize(
    ("clinical", "verification", "expected"),
    [
        ("active", "confirmed", Assertion.PRESENT),
        ("recurrence", None, Assertion.PRESENT),
        (None, None, Assertion.PRESENT),
        ("resolved", "confirmed", Assertion.HISTORICAL),
        ("inactive", None, Assertion.HISTORICAL),
        ("remission", "confirmed", Assertion.HISTORICAL),
        ("active", "refuted", Assertion.ABSENT),
        ("resolved", "refuted", Assertion.ABSENT),
        ("active", "provisional", Assertion.POSSIBLE),
        ("active", "differential", Assertion.POSSIBLE),
        ("active", "unconfirmed", Assertion.POSSIBLE),
        ("active", "entered-in-error", None),
    ],
)
def test_condition_status_sets_assertion(
    clinical: str | None, verification: str | None, expected: Assertion | None
) -> None:
    fields: dict[str, Any] = {"onsetDateTime": "2015-03-01", "abatementDateTime": "2019-06-30"}
    if clinical:
        fields["clinicalStatus"] = status(clinical)
    if verification:
        fields["verificationStatus"] = status(verification)
    facts = one(condition(**fields)).facts
    if expected is None:
        assert facts == []
        return
    (fact,) = facts
    assert fact.assertion is expected
    assert fact.kind is FactKind.CONDITION
    assert fact.status == (clinical or "")
    assert fact.text == "Diabetes mellitus type 2"
    assert fact.codes == [Code(SNOMED, "44054006", "Diabetes mellitus type 2")]
    assert fact.source == "Condition/c1"
    assert fact.start == datetime(2015, 3, 1, tzinfo=UTC)
    assert fact.end == datetime(2019, 6, 30, tzinfo=UTC)


def observation(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": concept("4548-4", "Hemoglobin A1c", LOINC),
        "effectiveDateTime": "2020-01-02T03:04:05+00:00",
        **fields,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueQuantity": {"value": 7.2, "unit": "percent", "code": "%"}}, (7.2, "%", "")),
        ({"valueQuantity": {"value": 90, "unit": "mg/dL"}}, (90.0, "mg/dL", "")),
        ({"valueQuantity": {"value": 5, "comparator": "<", "code": "%"}}, (5.0, "%", "<")),
        ({"valueCodeableConcept": concept("266919005", "Never")}, (None, "", "Never")),
        ({"valueCodeableConcept": {"text": "Positive"}}, (None, "", "Positive")),
        ({"valueString": "trace"}, (None, "", "trace")),
        ({"valueBoolean": False}, (None, "", "false")),
        ({"valueInteger": 3}, (3.0, "", "")),
        (
            {"valueRange": {"low": {"value": 1, "code": "mg"}, "high": {"value": 2}}},
            (1.0, "mg", "1-2"),
        ),
        ({}, (None, "", "")),
    ],
)
def test_observation_value_kinds(
    value: dict[str, Any], expected: tuple[float | None, str, str]
) -> None:
    (fact,) = one(observation(**value)).facts
    assert (fact.value, fact.unit, fact.value_text) == expected
    assert fact.kind is FactKind.OBSERVATION
    assert fact.text == "Hemoglobin A1c"
    assert fact.status == "final"
    assert fact.start == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_observation_components_become_facts_with_the_parent_source() -> None:
    blood_pressure = observation(
        code={"coding": [{"system": LOINC, "code": "55284-4"}], "text": "Blood Pressure"},
        component=[
            {
                "code": concept("8480-6", "Systolic Blood Pressure", LOINC),
                "valueQuantity": {"value": 141, "unit": "mm[Hg]", "code": "mm[Hg]"},
            },
            {
                "code": concept("8462-4", "Diastolic Blood Pressure", LOINC),
                "valueQuantity": {"value": 88, "unit": "mmHg"},
            },
        ],
    )
    facts = one(blood_pressure).facts
    assert [(f.text, f.value, f.unit) for f in facts] == [
        ("Blood Pressure", None, ""),
        ("Systolic Blood Pressure", 141.0, "mm[Hg]"),
        ("Diastolic Blood Pressure", 88.0, "mmHg"),
    ]
    assert {f.source for f in facts} == {"Observation/o1"}
    assert facts[1].codes == [Code(LOINC, "8480-6", "Systolic Blood Pressure")]


def test_observation_entered_in_error_is_dropped() -> None:
    assert one(observation(status="entered-in-error", valueString="x")).facts == []


@pytest.mark.parametrize(
    ("onset", "expected"),
    [
        ({"onsetDateTime": "2012"}, datetime(2012, 1, 1, tzinfo=UTC)),
        ({"onsetDateTime": "2012-09"}, datetime(2012, 9, 1, tzinfo=UTC)),
        ({"onsetDateTime": "2012-09-10"}, datetime(2012, 9, 10, tzinfo=UTC)),
        ({"onsetDateTime": "2012-09-10T08:30:00Z"}, datetime(2012, 9, 10, 8, 30, tzinfo=UTC)),
        (
            {"onsetDateTime": "2012-09-10T08:30:00+02:00"},
            datetime(2012, 9, 10, 8, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ({"onsetPeriod": {"start": "2012-09"}}, datetime(2012, 9, 1, tzinfo=UTC)),
        ({}, None),
    ],
)
def test_dates_become_aware_datetimes(onset: dict[str, str], expected: datetime | None) -> None:
    (fact,) = one(condition(**onset)).facts
    assert fact.start == expected
    if fact.start is not None:
        assert fact.start.tzinfo is not None


@pytest.mark.parametrize(
    ("birth", "expected"),
    [("1970", date(1970, 1, 1)), ("1970-06", date(1970, 6, 1)), ("1970-06-15", date(1970, 6, 15))],
)
def test_partial_birth_dates(birth: str, expected: date) -> None:
    (record,) = parse_bundle(bundle({**PATIENT, "birthDate": birth}))
    assert record.birth_date == expected


RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"


def omb(url: str, display: str, part: str = "ombCategory") -> dict[str, Any]:
    """One coded sub-extension; `url` only documents which extension it belongs to."""
    return {
        "url": part,
        "valueCoding": {
            "system": "urn:oid:2.16.840.1.113883.6.238",
            "code": "x",
            "display": display,
        },
    }


@pytest.mark.parametrize(
    ("extension", "race", "ethnicity"),
    [
        (
            [
                {
                    "url": RACE,
                    "extension": [
                        omb(RACE, "Asian"),
                        {"url": "text", "valueString": "Asian (text)"},
                    ],
                },
                {"url": ETHNICITY, "extension": [omb(ETHNICITY, "Hispanic or Latino")]},
            ],
            "Asian (text)",
            "Hispanic or Latino",
        ),
        (
            [{"url": RACE, "extension": [omb(RACE, "White"), omb(RACE, "Asian")]}],
            "White, Asian",
            "",
        ),
        ([{"url": RACE, "extension": [omb(RACE, "Korean", "detailed")]}], "Korean", ""),
        ([{"url": "http://example.org/other", "valueString": "White"}], "", ""),
        ([], "", ""),
    ],
)
def test_us_core_race_and_ethnicity(extension: list[Any], race: str, ethnicity: str) -> None:
    patient = {**PATIENT, "extension": extension} if extension else PATIENT
    (record,) = parse_bundle(bundle(patient))
    assert (record.race, record.ethnicity) == (race, ethnicity)


@pytest.mark.parametrize(
    ("fields", "deceased", "when"),
    [
        ({"deceasedBoolean": True}, True, None),
        ({"deceasedBoolean": False}, False, None),
        (
            {"deceasedDateTime": "2020-05-06T07:08:09Z"},
            True,
            datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC),
        ),
        ({"deceasedDateTime": "2020"}, True, datetime(2020, 1, 1, tzinfo=UTC)),
        ({}, False, None),
    ],
)
def test_deceased(fields: dict[str, Any], deceased: bool, when: datetime | None) -> None:
    (record,) = parse_bundle(bundle({**PATIENT, **fields}))
    assert (record.deceased, record.deceased_date) == (deceased, when)


def test_demographics_and_provenance() -> None:
    patient = {
        **PATIENT,
        "birthDate": "1984-07-02",
        "address": [{"postalCode": "01887"}, {"postalCode": "99999"}],
    }
    (record,) = parse_bundle(bundle(patient, id="b-42"))
    assert (record.patient_id, record.gender, record.postal_code) == ("p1", "female", "01887")
    assert record.source_bundle == "b-42"
    (record,) = parse_bundle(bundle(patient, identifier={"value": "ident-7"}))
    assert record.source_bundle == "ident-7"


def medication_request(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2019-04-05T06:07:08+00:00",
        **fields,
    }


METFORMIN = concept("860975", "Metformin 500 MG", RXNORM)


@pytest.mark.parametrize(
    ("status_", "assertion"),
    [
        ("active", Assertion.PRESENT),
        ("stopped", Assertion.HISTORICAL),
        ("completed", Assertion.HISTORICAL),
        ("entered-in-error", None),
    ],
)
def test_medication_request(status_: str, assertion: Assertion | None) -> None:
    facts = one(medication_request(status=status_, medicationCodeableConcept=METFORMIN)).facts
    if assertion is None:
        assert facts == []
        return
    (fact,) = facts
    assert fact.kind is FactKind.MEDICATION
    assert (fact.text, fact.status, fact.assertion) == ("Metformin 500 MG", status_, assertion)
    assert fact.codes == [Code(RXNORM, "860975", "Metformin 500 MG")]
    assert fact.start == datetime(2019, 4, 5, 6, 7, 8, tzinfo=UTC)
    assert fact.source == "MedicationRequest/m1"


def test_medication_reference_resolves_in_bundle_contained_or_display() -> None:
    medication = {"resourceType": "Medication", "id": "med9", "code": METFORMIN}
    in_bundle = medication_request(medicationReference={"reference": "Medication/med9"})
    contained = medication_request(
        id="m2",
        contained=[{**medication, "id": "c"}],
        medicationReference={"reference": "#c"},
    )
    display = medication_request(id="m3", medicationReference={"display": "Aspirin"})
    facts = one(medication, in_bundle, contained, display).facts
    assert [(f.source, f.text) for f in facts] == [
        ("MedicationRequest/m1", "Metformin 500 MG"),
        ("MedicationRequest/m2", "Metformin 500 MG"),
        ("MedicationRequest/m3", "Aspirin"),
    ]
    assert facts[0].codes == facts[1].codes == [Code(RXNORM, "860975", "Metformin 500 MG")]


def test_medication_statement_not_taken_is_absent() -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "not-taken",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": METFORMIN,
        "effectivePeriod": {"start": "2018-01", "end": "2018-02-03"},
    }
    (fact,) = one(statement).facts
    assert fact.assertion is Assertion.ABSENT
    assert (fact.start, fact.end) == (
        datetime(2018, 1, 1, tzinfo=UTC),
        datetime(2018, 2, 3, tzinfo=UTC),
    )


def test_other_fact_kinds() -> None:
    subject = {"reference": "Patient/p1"}
    resources = [
        {
            "resourceType": "Procedure",
            "id": "pr1",
            "status": "not-done",
            "subject": subject,
            "code": concept("73761001", "Colonoscopy"),
            "performedPeriod": {"start": "2017-01-01", "end": "2017-01-02"},
        },
        {
            "resourceType": "Immunization",
            "id": "i1",
            "status": "completed",
            "patient": subject,
            "vaccineCode": concept("140", "Influenza", "http://hl7.org/fhir/sid/cvx"),
            "occurrenceDateTime": "2016-10-01",
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": subject,
            "clinicalStatus": status("active"),
            "code": concept("91936005", "Penicillin allergy"),
            "recordedDate": "2001-02-03",
        },
        {
            "resourceType": "FamilyMemberHistory",
            "id": "f1",
            "status": "completed",
            "patient": subject,
            "relationship": {"text": "mother"},
            "condition": [{"code": concept("254837009", "Breast cancer")}],
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "d1",
            "status": "final",
            "subject": subject,
            "code": {"text": "CT chest"},
            "conclusion": "No metastases",
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "d2",
            "status": "final",
            "subject": subject,
            "code": {"text": "CBC"},
        },
        {
            "resourceType": "Device",
            "id": "dev1",
            "patient": subject,
            "type": concept("14106009", "Cardiac pacemaker"),
        },
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "subject": subject,
            "class": {"code": "AMB"},
        },
    ]
    facts = one(*resources).facts
    summary = [(f.kind, f.source, f.text, f.assertion, f.value_text) for f in facts]
    assert summary == [
        (FactKind.PROCEDURE, "Procedure/pr1", "Colonoscopy", Assertion.ABSENT, ""),
        (FactKind.IMMUNIZATION, "Immunization/i1", "Influenza", Assertion.PRESENT, ""),
        (FactKind.ALLERGY, "AllergyIntolerance/a1", "Penicillin allergy", Assertion.PRESENT, ""),
        (
            FactKind.CONDITION,
            "FamilyMemberHistory/f1",
            "Breast cancer (mother)",
            Assertion.FAMILY,
            "",
        ),
        (
            FactKind.OBSERVATION,
            "DiagnosticReport/d1",
            "CT chest",
            Assertion.PRESENT,
            "No metastases",
        ),
        (FactKind.DEVICE, "Device/dev1", "Cardiac pacemaker", Assertion.PRESENT, ""),
    ]
    assert facts[0].end == datetime(2017, 1, 2, tzinfo=UTC)
    assert facts[2].start == datetime(2001, 2, 3, tzinfo=UTC)  # recordedDate without onset


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_document_reference_base64_text_becomes_note() -> None:
    document = {
        "resourceType": "DocumentReference",
        "id": "doc1",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "date": "2021-03-04T05:06:07Z",
        "description": "Discharge summary",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": b64("Patient denies chest pain. Café."),
                }
            },
            {"attachment": {"contentType": "application/pdf", "data": b64("%PDF")}},
            {"attachment": {"contentType": "text/plain", "url": "http://example.org/x"}},
        ],
    }
    record = one(document)
    assert record.facts == []
    (note,) = record.notes
    assert note.source == "DocumentReference/doc1"
    assert note.text == "Patient denies chest pain. Café."
    assert note.date == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert note.title == "Discharge summary"


XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def test_report_html_form_and_narratives() -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Pathology"},
        "issued": "2022-01-01T00:00:00Z",
        "presentedForm": [
            {"contentType": "text/html", "data": b64("<p>Adenocarcinoma &amp; margins clear</p>")}
        ],
    }
    authored = {
        **PATIENT,
        "text": {
            "status": "additional",
            "div": f"<div {XHTML}><p>Lives alone.</p><p>Smoker</p></div>",
        },
    }
    generated = {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">Generated by Synthea</div>',
    }
    (record,) = parse_bundle(bundle(authored, report, condition(text=generated)))
    assert [(n.source, n.text, n.title) for n in record.notes] == [
        ("Patient/p1", "Lives alone.\nSmoker", "Patient narrative"),
        ("DiagnosticReport/r1", "Adenocarcinoma & margins clear", "Pathology"),
    ]
    assert record.notes[1].date == datetime(2022, 1, 1, tzinfo=UTC)


def test_multi_patient_bundle_assigns_by_reference() -> None:
    anna = {"resourceType": "Patient", "id": "anna", "_fullUrl": "urn:uuid:aaaa-1"}
    bob = {
        "resourceType": "Patient",
        "id": "bob",
        "_fullUrl": "http://fhir.example.org/Patient/bob",
    }
    by_uuid = condition(id="c1", subject={"reference": "urn:uuid:aaaa-1"})
    by_type_id = condition(id="c2", subject={"reference": "Patient/bob"})
    by_url = condition(id="c3", subject={"reference": "http://other.example/fhir/Patient/anna"})
    versioned = observation(id="o1", subject={"reference": "Patient/bob/_history/2"})
    records = parse_bundle(bundle(anna, bob, by_uuid, by_type_id, by_url, versioned))
    assert [r.patient_id for r in records] == ["anna", "bob"]
    assert [f.source for f in records[0].facts] == ["Condition/c1", "Condition/c3"]
    assert [f.source for f in records[1].facts] == ["Condition/c2", "Observation/o1"]

    stray = condition(id="c4", subject={"reference": "Patient/nobody"})
    with pytest.raises(InvalidInput) as caught:
        parse_bundle(bundle(anna, bob, stray))
    assert caught.value.path == "Bundle.entry[2].resource(Condition).subject.reference"
    assert "Patient/nobody" in str(caught.value)


def test_single_patient_takes_unresolvable_references() -> None:
    record = one(condition(subject={"reference": "urn:uuid:not-in-bundle"}))
    assert [f.source for f in record.facts] == ["Condition/c1"]


def test_patient_id_fallbacks_are_stable() -> None:
    no_id = {"resourceType": "Patient", "_fullUrl": "urn:uuid:1234-abcd"}
    assert parse_bundle(bundle(no_id))[0].patient_id == "1234-abcd"
    by_identifier = {"resourceType": "Patient", "identifier": [{"value": "MRN-9"}]}
    assert parse_bundle(bundle(by_identifier))[0].patient_id == "MRN-9"
    bare = {"resourceType": "Patient", "gender": "male"}
    first, second = parse_bundle(bundle(bare))[0], parse_bundle(bundle(bare))[0]
    assert first.patient_id == second.patient_id
    assert first.patient_id.startswith("pat-")


@pytest.mark.parametrize("kind", sorted(ACCEPTED_BUNDLE_TYPES))
def test_accepted_bundle_types(kind: str) -> None:
    (record,) = parse_bundle(bundle(PATIENT, condition(), kind=kind))
    assert len(record.facts) == 1


def test_parsing_twice_gives_equal_records() -> None:
    raw = bundle(
        PATIENT,
        condition(clinicalStatus=status("active")),
        observation(valueQuantity={"value": 6.1, "code": "%"}),
    )
    first = parse_bundle(raw)
    second = parse_bundle(raw.encode("utf-8"))
    assert first == second
    assert [PatientRecord.from_dict(r.to_dict()) for r in first] == first
    assert len(first[0].facts) == 2
