"""Coordinated modifiers sharing a head (`nlp.ner.coord`, component `chia_coord`): which
coordinations get the extra, overlapping entity and which do not."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from nlp.ner.coord import (
    COORD_SOURCE,
    SPAN_GROUP,
    CoordRules,
    compile_coord,
    coordinated,
    load_coord_rules,
)
from nlp.ner.pipeline import entities_of
from nlp.ner.tokenizer import build_tokenizer
from nlp.rules_loader import RulesError

RULE = {
    "name": "t",
    "types": ["Condition", "Drug"],
    "conjunctions": ["or", "and", "and/or", "/"],
    "max_modifier_words": 1,
    "comma_lists": True,
    "exclude": ["of", "with", "any"],
}


def rules(**kw):
    return compile_coord(CoordRules(rules=[{**RULE, **kw}]))


def ents(text: str, *found: tuple[str, str]) -> list[tuple[int, int, str]]:
    """(label, surface) pairs → character spans (first occurrence of each surface)."""
    out = []
    for label, surface in found:
        a = text.index(surface)
        out.append((a, a + len(surface), label))
    return out


def extras(text: str, found, **kw) -> list[tuple[str, str]]:
    return [(label, text[a:b]) for a, b, label in coordinated(text, found, rules(**kw))]


@pytest.mark.parametrize(
    ("text", "found", "expected"),
    [
        # Expanded: modifier + conjunction + the found entity.
        (
            "pleural or pericardial effusion",
            [("Condition", "pericardial effusion")],
            [("Condition", "pleural or pericardial effusion")],
        ),
        (
            "History of breast and ovarian cancer",
            [("Condition", "ovarian cancer")],
            [("Condition", "breast and ovarian cancer")],
        ),
        (
            "acute and/or chronic hepatitis",
            [("Condition", "chronic hepatitis")],
            [("Condition", "acute and/or chronic hepatitis")],
        ),
        (
            "Known (pleural or pericardial effusion)",
            [("Condition", "pericardial effusion")],
            [("Condition", "pleural or pericardial effusion")],
        ),
        # Comma lists: one extra per listed modifier.
        (
            "pleural, pericardial or peritoneal effusion",
            [("Condition", "peritoneal effusion")],
            [
                ("Condition", "pleural, pericardial or peritoneal effusion"),
                ("Condition", "pericardial or peritoneal effusion"),
            ],
        ),
        # A symbol conjunction may touch its neighbours.
        (
            "alcohol/substance abuse",
            [("Condition", "substance abuse")],
            [("Condition", "alcohol/substance abuse")],
        ),
        (
            "Known drug and/or alcohol abuse",
            [("Condition", "alcohol abuse")],
            [("Condition", "drug and/or alcohol abuse")],
        ),
        # Oxford comma.
        (
            "cardiac, renal, or hepatic failure",
            [("Condition", "hepatic failure")],
            [
                ("Condition", "cardiac, renal, or hepatic failure"),
                ("Condition", "renal, or hepatic failure"),
            ],
        ),
        # Another configured type.
        (
            "oral or intravenous steroids",
            [("Drug", "intravenous steroids")],
            [("Drug", "oral or intravenous steroids")],
        ),
    ],
)
def test_expands(text, found, expected):
    assert extras(text, ents(text, *found)) == sorted(expected, key=lambda x: text.index(x[1]))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Coordination of whole entities: the modifier is an entity already.
        ("diabetes or heart failure", [("Condition", "diabetes"), ("Condition", "heart failure")]),
        # The modifier is inside an entity of another type.
        ("no or minimal disease", [("Negation", "no"), ("Condition", "minimal disease")]),
        # A function word is no modifier.
        ("history of or current cancer", [("Condition", "current cancer")]),
        ("patients with or without cancer", [("Condition", "without cancer")]),
        # Digits are no modifier ("type 1 or 2 diabetes").
        ("type 1 or 2 diabetes", [("Condition", "2 diabetes")]),
        # A type the rule does not cover.
        ("open or laparoscopic surgery", [("Procedure", "laparoscopic surgery")]),
        # A conjunction the rule does not list, or none.
        ("pleural but not pericardial effusion", [("Condition", "pericardial effusion")]),
        ("pleural pericardial effusion", [("Condition", "pericardial effusion")]),
        # Nothing before the entity.
        ("pericardial effusion", [("Condition", "pericardial effusion")]),
        ("or pericardial effusion", [("Condition", "pericardial effusion")]),
    ],
)
def test_does_not_expand(text, found):
    assert extras(text, ents(text, *found)) == []


def test_comma_lists_off_and_longer_modifiers():
    text = "pleural, pericardial or peritoneal effusion"
    found = ents(text, ("Condition", "peritoneal effusion"))
    assert extras(text, found, comma_lists=False) == [
        ("Condition", "pericardial or peritoneal effusion")
    ]
    text = "Known deep vein or pulmonary embolism"
    found = ents(text, ("Condition", "pulmonary embolism"))
    assert extras(text, found) == [("Condition", "vein or pulmonary embolism")]
    # The longest free modifier wins; "Known" is one word too many for 2.
    assert extras(text, found, max_modifier_words=2) == [
        ("Condition", "deep vein or pulmonary embolism")
    ]
    # A longer modifier with a function word falls back to the shorter one.
    text = "history of stroke or cerebral ischemia"
    found = ents(text, ("Condition", "cerebral ischemia"))
    assert extras(text, found, max_modifier_words=3) == [
        ("Condition", "stroke or cerebral ischemia")
    ]


def test_shipped_rules_load():
    shipped = load_coord_rules()
    assert shipped.rules
    assert compile_coord(shipped, only={r.name for r in shipped.rules})


def test_rules_file_is_strict(tmp_path: Path):
    bad = tmp_path / "ner_coord.yaml"
    bad.write_text("rules:\n  - name: x\n    types: [Condition]\n    conjunction: [or]\n")
    with pytest.raises(RulesError, match="conjunction"):
        load_coord_rules(bad)
    with pytest.raises(ValueError, match="nope"):
        compile_coord(load_coord_rules(), skip={"nope"})
    with pytest.raises(ValueError, match="Conditon"):
        compile_coord(CoordRules(rules=[{**RULE, "types": ["Conditon"]}]))
    with pytest.raises(ValueError, match="max_modifier_words"):
        compile_coord(CoordRules(rules=[{**RULE, "max_modifier_words": 0}]))


@pytest.fixture(scope="module")
def pipeline():
    import nlp.ner.components  # registers chia_coord

    nlp = spacy.blank("en")
    nlp.tokenizer = build_tokenizer(nlp)
    nlp.add_pipe("chia_coord")
    return nlp


def _doc(pipeline, text: str, found: list[tuple[str, str]]):
    doc = pipeline.make_doc(text)
    spans = []
    for label, surface in found:
        a = text.index(surface)
        spans.append(doc.char_span(a, a + len(surface), label=label))
    doc.ents = spans
    return pipeline.get_pipe("chia_coord")(doc)


def test_component_writes_a_span_group_and_entities_of_returns_it(pipeline):
    text = "No pleural or pericardial effusion and no diabetes"
    doc = _doc(pipeline, text, [("Condition", "pericardial effusion"), ("Condition", "diabetes")])
    assert [s.text for s in doc.spans[SPAN_GROUP]] == ["pleural or pericardial effusion"]
    assert [e.text for e in doc.ents] == ["pericardial effusion", "diabetes"]  # still flat
    nested = entities_of(doc)
    assert [(e.text, e.source) for e in nested] == [
        ("pleural or pericardial effusion", COORD_SOURCE),
        ("pericardial effusion", "model"),
        ("diabetes", "model"),
    ]
    assert [e.start for e in nested] == sorted(e.start for e in nested)
    assert [e.text for e in entities_of(doc, nested=False)] == ["pericardial effusion", "diabetes"]


def test_component_on_a_doc_without_entities(pipeline):
    doc = _doc(pipeline, "pleural or pericardial effusion", [])
    assert list(doc.spans[SPAN_GROUP]) == []
    assert entities_of(doc) == []


def test_criteria_seam_asks_for_the_flat_sequence(monkeypatch):
    """The criteria parser needs non-overlapping spans: its NER seam passes nested=False."""
    import nlp.ner as ner_pkg
    from nlp.criteria import ner as seam

    calls = {}

    def fake_extract(texts, nlp=None, batch_size=128, nested=True):
        calls["nested"] = nested
        return [[] for _ in texts]

    monkeypatch.setattr(ner_pkg, "load_ner", lambda path=None: object())
    monkeypatch.setattr(ner_pkg, "extract_entities", fake_extract)
    seam._cached.cache_clear()
    try:
        source = seam.load_entity_source("default", 8)
        assert source(["pleural or pericardial effusion"]) == [[]]
    finally:
        seam._cached.cache_clear()
    assert calls["nested"] is False


def test_a_listed_entity_stops_the_list():
    text = "diabetes, renal or hepatic failure"
    found = ents(text, ("Condition", "diabetes"), ("Condition", "hepatic failure"))
    assert extras(text, found) == [("Condition", "renal or hepatic failure")]


def test_shipped_rule_table():
    rules_ = compile_coord(load_coord_rules())
    cases = {
        "pleural or pericardial effusion": ("pericardial effusion", 1),
        "diabetes or heart failure": ("heart failure", 0),  # "diabetes" is found too below
        "history of or current cancer": ("current cancer", 0),
    }
    for text, (surface, n) in cases.items():
        found = ents(text, ("Condition", surface))
        if text.startswith("diabetes"):
            found += ents(text, ("Condition", "diabetes"))
        assert len(coordinated(text, found, rules_)) == n, text
