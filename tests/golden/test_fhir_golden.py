"""Real Synthea bundles -> summaries compared with checked-in goldens.

The goldens were checked by hand against the raw bundles (see tests/fixtures/golden/README.md),
so a diff here means extraction changed, not just that the code disagrees with itself.
Regenerate after an intended change with:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden/test_fhir_golden.py
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from matcher.fhir import parse_bundle
from matcher.model import FactKind, PatientRecord

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BUNDLES = sorted((FIXTURES / "synthea").glob("*.json"))
LOINC = "http://loinc.org"
# The latest value of these observations is what trial criteria most often ask for.
TRACKED = {
    "bmi": "39156-5",
    "hba1c": "4548-4",
    "systolic_bp": "8480-6",
    "total_cholesterol": "2093-3",
    "smoking_status": "72166-2",
}


def _latest(record: PatientRecord, loinc: str) -> dict[str, Any] | None:
    matches = [
        f
        for f in record.facts
        if f.kind is FactKind.OBSERVATION
        and any(c.system == LOINC and c.code == loinc for c in f.codes)
    ]
    if not matches:
        return None
    fact = max(matches, key=lambda f: (f.start is not None, f.start))
    return {
        "text": fact.text,
        "value": None if fact.value is None else round(fact.value, 4),
        "unit": fact.unit,
        "value_text": fact.value_text,
        "source": fact.source,
        "start": fact.start.isoformat() if fact.start else None,
    }


def summarize(record: PatientRecord) -> dict[str, Any]:
    """What a reviewer can verify against the raw bundle by eye."""
    starts = [f.start for f in record.facts if f.start is not None]
    return {
        "patient_id": record.patient_id,
        "birth_date": record.birth_date.isoformat() if record.birth_date else None,
        "gender": record.gender,
        "race": record.race,
        "ethnicity": record.ethnicity,
        "postal_code": record.postal_code,
        "deceased": record.deceased,
        "deceased_date": record.deceased_date.isoformat() if record.deceased_date else None,
        "source_bundle": record.source_bundle,
        "facts_per_kind": dict(sorted(Counter(f.kind.value for f in record.facts).items())),
        "notes": len(record.notes),
        "conditions": sorted(
            {
                (f.text, f.assertion.value, f.status)
                for f in record.facts
                if f.kind is FactKind.CONDITION
            }
        ),
        "medications": sorted(
            {(f.text, f.status) for f in record.facts if f.kind is FactKind.MEDICATION}
        ),
        "latest": {name: _latest(record, code) for name, code in TRACKED.items()},
        "first_fact": min(starts).isoformat() if starts else None,
        "last_fact": max(starts).isoformat() if starts else None,
    }


def _jsonable(value: Any) -> Any:
    """Tuples as lists, so a freshly computed summary compares equal to one read from JSON."""
    return json.loads(json.dumps(value))


def test_fixtures_present() -> None:
    assert len(BUNDLES) >= 2


@pytest.mark.parametrize("path", BUNDLES, ids=[p.stem for p in BUNDLES])
def test_bundle_matches_golden(path: Path) -> None:
    records = parse_bundle(path.read_bytes())
    summary = _jsonable([summarize(r) for r in records])
    golden = FIXTURES / "golden" / f"{path.stem}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    assert golden.exists(), f"no golden for {path.name}; run with UPDATE_GOLDEN=1"
    assert summary == json.loads(golden.read_text())
    assert sum(len(r.facts) for r in records) > 0
