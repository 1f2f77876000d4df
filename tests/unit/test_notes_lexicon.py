"""Lexicon loading (surface variants, curated over harvested) and the harvest script."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from nlp.notes.lexicon import lexicon_rules, surface_variants, term_of
from nlp.notes.schema import Lexicon, load_notes_rules

_TOOL = Path(__file__).resolve().parents[2] / "tools" / "build_note_lexicon.py"
_spec = importlib.util.spec_from_file_location("build_note_lexicon", _TOOL)
assert _spec is not None and _spec.loader is not None
harvest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harvest)  # a script, not an installed package
build, clean = harvest.build, harvest.clean


@pytest.mark.parametrize(
    ("phrase", "category", "expected"),
    [
        ("colon polyp", "finding", ["colon polyp", "colon polyps"]),
        (
            "Parkinson's disease",
            "condition",
            [
                "parkinson's disease",
                "parkinson disease",
                "parkinsons disease",
                "parkinson's diseases",
                "parkinson diseases",
                "parkinsons diseases",
            ],
        ),
        (
            "non-small cell lung cancer",
            "condition",
            [
                "non-small cell lung cancer",
                "non small cell lung cancer",
                "non-small cell lung cancers",
                "non small cell lung cancers",
            ],
        ),
        ("biopsy", "procedure", ["biopsy", "biopsies"]),
        ("metformin", "medication", ["metformin"]),  # drugs are not counted
        ("diabetes", "condition", ["diabetes"]),  # already ends in s
    ],
)
def test_surface_variants(phrase: str, category: str, expected: list[str]) -> None:
    assert surface_variants(phrase, category) == expected


def test_curated_terms_win_over_harvested() -> None:
    rules = lexicon_rules(("lexicon_core", "lexicon_harvested"))
    by_form = {}
    for rule in rules:
        by_form.setdefault((rule.literal, rule.pattern is not None), term_of(rule))
    # "diabetes" is harvested from trial conditions too; the curated concept name is kept
    assert by_form[("diabetes", False)].name == "diabetes mellitus"
    assert by_form[("HTN", True)].name == "hypertension"  # case-sensitive abbreviation
    assert ("htn", False) not in by_form  # ... and not matched in lower case
    literals = [(r.literal, r.pattern is not None) for r in rules]
    assert len(literals) == len(set(literals))  # each surface form once


def test_shipped_lexicons_are_valid() -> None:
    core = load_notes_rules("lexicon_core", Lexicon)
    harvested = load_notes_rules("lexicon_harvested", Lexicon)
    assert len(core.terms) > 300 and len(harvested.terms) > 1000
    assert all(t.name == t.name.lower() for t in harvested.terms)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pneumonia, Pneumocystis Carinii", "pneumocystis carinii pneumonia"),  # MeSH inversion
        ("  Breast   Cancer ", "breast cancer"),
        ("Antineoplaston therapy (Atengenal + Astugenal)", "antineoplaston therapy"),
    ],
)
def test_harvest_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_harvest_from_small_data(tmp_path: Path) -> None:
    (tmp_path / "synthea").mkdir()
    (tmp_path / "trec2021").mkdir()
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "38341003",
                                "display": "Hypertension",
                            }
                        ]
                    },
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "1",
                                "display": "History of x",
                            }
                        ]
                    },
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "medicationCodeableConcept": {
                        "coding": [
                            {
                                "system": "rxnorm",
                                "code": "2",
                                "display": "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet",
                            }
                        ]
                    },
                }
            },
        ],
    }
    (tmp_path / "synthea" / "p.json").write_text(json.dumps(bundle))
    trial = {
        "conditions": ["Hypertension", "Healthy", "Sickle Cell Anemia"],
        "interventions": ["Placebo", "cyclophosphamide", "radiation therapy", "GS-5885"],
    }
    (tmp_path / "trec2021" / "trials.jsonl").write_text(json.dumps(trial) + "\n")
    terms = {(t["name"], t["category"]): t.get("codes", []) for t in build(tmp_path)}
    assert terms == {
        ("hypertension", "condition"): [{"system": "http://snomed.info/sct", "code": "38341003"}],
        ("sickle cell anemia", "condition"): [],
        ("amoxicillin", "medication"): [],
        ("clavulanate", "medication"): [],
        ("cyclophosphamide", "medication"): [],
        ("radiation therapy", "procedure"): [],
    }
