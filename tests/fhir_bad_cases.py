"""The FHIR validator cases (tests/fixtures/fhir_bad) as a table shared by the domain-level and
the gRPC-level bad-input tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fhir_bad"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "cases.json").read_text())["cases"]
PATIENT: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}


def bundle(*resources: Any, kind: str = "collection") -> str:
    return json.dumps(
        {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}
    )


def payload(case: dict[str, Any]) -> bytes | str:
    """The case file as sent: raw, wrapped as the Patient entry, or after a Patient entry."""
    raw = (FIXTURES / case["file"]).read_bytes()
    if case["wrap"] == "none":
        return raw
    resource = json.loads(raw)
    if case["wrap"] == "as-patient":
        return bundle(resource)
    return bundle(PATIENT, resource)
