"""The optional statistical-mention hook: NER spans become ConText targets, lexicon wins on
overlap, and the pipeline builds without a model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from matcher.model import Assertion, FactKind, Note
from nlp.notes import NoteFactExtractor, ner_hook
from nlp.notes.pipeline import build_note_pipeline


@pytest.fixture()
def fake_chia(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sequence[str]]]:
    """Stands in for the Chia model: tags 'conus mass' and 'asthma' (and a label we ignore)."""
    calls: list[Sequence[str]] = []

    def source(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        calls.append(texts)
        out = []
        for text in texts:
            found = []
            for phrase, label in (("conus mass", "Condition"), ("asthma", "Condition")):
                at = text.find(phrase)
                if at >= 0:
                    found.append((at, at + len(phrase), label))
            at = text.find("Colorado")
            if at >= 0:
                found.append((at, at + len("Colorado"), "Location"))  # unmapped label
            out.append(found)
        return out

    monkeypatch.setitem(ner_hook._SOURCES, "chia", lambda: source)
    build_note_pipeline.cache_clear()
    yield calls
    build_note_pipeline.cache_clear()


def test_ner_spans_become_facts_with_context(fake_chia) -> None:
    extractor = NoteFactExtractor(optional=("ner",))
    assert "ner" in extractor.components
    note = Note(
        "DocumentReference/d",
        "MRI showed no spinal cord conus mass.\nHe has asthma. He was in Colorado.",
    )
    got = {(f.kind, f.text, f.assertion, f.source) for f in extractor.extract(note)}
    assert got == {
        (
            FactKind.PROCEDURE,
            "magnetic resonance imaging",
            Assertion.PRESENT,
            "DocumentReference/d#s0",
        ),
        (FactKind.CONDITION, "conus mass", Assertion.ABSENT, "DocumentReference/d#s0"),
        # the lexicon also knows asthma: its mention wins, the NER span is not doubled
        (FactKind.CONDITION, "asthma", Assertion.PRESENT, "DocumentReference/d#s1"),
    }
    assert fake_chia and list(fake_chia[0]) == [
        "MRI showed no spinal cord conus mass.",
        "He has asthma.",
        "He was in Colorado.",
    ]


def test_pipeline_builds_without_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable():
        raise ner_hook.MentionSourceUnavailable("no model in this checkout")

    monkeypatch.setitem(ner_hook._SOURCES, "chia", unavailable)
    build_note_pipeline.cache_clear()
    try:
        extractor = NoteFactExtractor(optional=("ner",))
        assert "ner" not in extractor.components
        (fact,) = extractor.extract(Note("DocumentReference/d", "No asthma."))
        assert (fact.text, fact.assertion) == ("asthma", Assertion.ABSENT)
    finally:
        build_note_pipeline.cache_clear()


def test_ner_is_off_unless_asked() -> None:
    assert "ner" not in NoteFactExtractor().components
