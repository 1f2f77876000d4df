"""Inputs parse_bundle must refuse, and that the refusal says where.

Part 1 replays FHIR validator test cases (tests/fixtures/fhir_bad, see its README for the
source, and for the validator cases we deliberately accept). Part 2 is hand-made.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir_bad_cases import CASES, PATIENT, bundle, payload

from matcher.errors import InvalidInput, TooLarge
from matcher.fhir import parse_bundle


def reject(raw: bytes | str, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_bundle(raw, **kwargs)
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_validator_case_is_rejected_with_its_location(case: dict[str, Any]) -> None:
    error = reject(payload(case))
    assert error.path == case["expect_path"]
    for fragment in case["expect_message"]:
        assert fragment in str(error)


def test_validator_cases_are_otherwise_valid() -> None:
    """Guard against vacuous passes: the wrapping itself must be acceptable FHIR."""
    assert len(parse_bundle(bundle(PATIENT, {"resourceType": "Location", "id": "ok"}))) == 1


def condition(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Asthma"},
        **fields,
    }


@pytest.mark.parametrize(
    ("raw", "path", "fragments"),
    [
        (b"not json at all", "Bundle", ["not valid JSON", "line 1 column 1"]),
        (b'{"resourceType": "Bundle",\n "type": }', "Bundle", ["line 2 column 10"]),
        (b"\xff\xfe\x00garbage", "Bundle", ["not valid JSON"]),
        (b'{"resourceType": "Bundle", "type": "collection", "x": NaN}', "Bundle", ["NaN"]),
        (b"[1, 2]", "Bundle", ["JSON object", "list"]),
        (b'"Bundle"', "Bundle", ["JSON object", "str"]),
        (json.dumps(PATIENT), "Bundle.resourceType", ["'Patient'"]),
        (json.dumps({"resourceType": "Bundle"}), "Bundle.type", ["None"]),
        (bundle(PATIENT, kind="history"), "Bundle.type", ["'history'", "collection"]),
        (bundle(PATIENT, kind="batch-response"), "Bundle.type", ["batch-response"]),
        (
            json.dumps({"resourceType": "Bundle", "type": "batch", "entry": {"resource": {}}}),
            "Bundle.entry",
            ["array"],
        ),
        (
            json.dumps({"resourceType": "Bundle", "type": "batch", "timestamp": "yesterday"}),
            "Bundle.timestamp",
            ["yesterday"],
        ),
    ],
)
def test_bundle_level_rejections(raw: bytes | str, path: str, fragments: list[str]) -> None:
    error = reject(raw)
    assert error.path == path
    for fragment in fragments:
        assert fragment in str(error)


@pytest.mark.parametrize(
    ("resources", "path", "fragments"),
    [
        ([condition()], "Bundle.entry", ["no Patient"]),
        ([PATIENT, condition(code=None)], "Bundle.entry[1].resource(Condition).code", ["code"]),
        (
            [PATIENT, condition(code={"coding": [{"system": "http://snomed.info/sct"}]})],
            "Bundle.entry[1].resource(Condition).code",
            ["code is required"],
        ),
        (
            [{**PATIENT, "birthDate": "1970-13-45"}],
            "Bundle.entry[0].resource(Patient).birthDate",
            ["1970-13-45"],
        ),
        (
            [{**PATIENT, "birthDate": "2021-02-30"}],
            "Bundle.entry[0].resource(Patient).birthDate",
            ["2021-02-30"],
        ),
        (
            [PATIENT, {"resourceType": "Foo", "id": "x"}],
            "Bundle.entry[1].resource.resourceType",
            ["unknown resource type 'Foo'", "entry[1]"],
        ),
        (
            [PATIENT, {"resourceType": "Coding", "code": "x"}],
            "Bundle.entry[1].resource.resourceType",
            ["'Coding'"],
        ),
        ([PATIENT, {"id": "x"}], "Bundle.entry[1].resource.resourceType", ["no resourceType"]),
        (
            [
                PATIENT,
                {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                },
            ],
            "Bundle.entry[1].resource(MedicationRequest).medication[x]",
            ["medicationCodeableConcept"],
        ),
        (
            [
                PATIENT,
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "valueString": "a",
                    "valueBoolean": True,
                },
            ],
            "Bundle.entry[1].resource(Observation).value[x]",
            ["valueString"],
        ),
        (
            [
                PATIENT,
                {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "content": [{"attachment": {"contentType": "text/plain", "data": "@@@"}}],
                },
            ],
            "Bundle.entry[1].resource(DocumentReference).content[0].attachment.data",
            ["base64"],
        ),
        ([PATIENT, PATIENT], "Bundle.entry[1].resource(Patient).id", ["duplicate", "'p1'"]),
        (
            [
                PATIENT,
                {"resourceType": "Patient", "id": "p2"},
                condition(subject={"reference": "Patient/p9"}),
            ],
            "Bundle.entry[2].resource(Condition).subject.reference",
            ["does not resolve", "Patient/p9"],
        ),
    ],
)
def test_resource_level_rejections(
    resources: list[dict[str, Any]], path: str, fragments: list[str]
) -> None:
    resources = [{k: v for k, v in r.items() if v is not None} for r in resources]
    error = reject(bundle(*resources))
    assert error.path == path
    assert str(error).startswith(path + ": ")
    for fragment in fragments:
        assert fragment in str(error)


def test_error_at_a_late_entry_names_that_entry() -> None:
    observations = [
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": f"obs {i}"},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2012-09-10",
        }
        for i in range(12)
    ]
    observations[11]["effectiveDateTime"] = "2012-09-10T25:00:00Z"
    error = reject(bundle(PATIENT, *observations))
    assert error.path == "Bundle.entry[12].resource(Observation).effectiveDateTime"
    assert "2012-09-10T25:00:00Z" in str(error)


def test_several_errors_are_summarised() -> None:
    bad = {"resourceType": "Observation", "status": 7, "effectiveDateTime": "nope"}
    error = reject(bundle(PATIENT, bad))
    assert error.path.startswith("Bundle.entry[1].resource(Observation).")
    assert "more:" in str(error)


def test_entry_without_resource() -> None:
    raw = json.dumps(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": PATIENT},
                {"request": {"method": "DELETE", "url": "Condition/1"}},
            ],
        }
    )
    assert reject(raw).path == "Bundle.entry[1].resource"


def test_duplicate_full_url() -> None:
    raw = json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": "urn:uuid:1", "resource": PATIENT},
                {"fullUrl": "urn:uuid:1", "resource": condition()},
            ],
        }
    )
    error = reject(raw)
    assert error.path == "Bundle.entry[1].fullUrl"
    assert "urn:uuid:1" in str(error)


def test_max_entries() -> None:
    raw = bundle(PATIENT, condition(), condition())
    with pytest.raises(TooLarge) as caught:
        parse_bundle(raw, max_entries=2)
    assert "3 entries" in str(caught.value)
    assert "limit of 2" in str(caught.value)
    assert len(parse_bundle(raw, max_entries=3)[0].facts) == 2
