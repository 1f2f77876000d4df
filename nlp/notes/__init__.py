"""Patient-note NLP: free text -> facts with ConText assertions, and age/sex from prose.

The pipeline (`pipeline.yaml`, on `spacy.blank("en")`): line-aware sentences -> lexicon
mentions (medspaCy TargetMatcher; curated + harvested vocabularies) -> lab values and vitals
with units -> optional statistical mentions (Chia NER) -> sections (medspaCy Sectionizer) ->
ConText (medspaCy defaults + ours) -> facts whose `source` is `<note source>#s<sentence>`.
Every vocabulary, pattern and mapping is YAML under `nlp/notes/rules/`, loaded strictly.

`demographics` is light (regex over YAML rules) and imported eagerly; the spaCy/medspaCy
pipeline is imported only when first used, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nlp.notes.demographics import demographics

if TYPE_CHECKING:
    from nlp.notes.pipeline import NoteFactExtractor, extract_note_facts

__all__ = ["NoteFactExtractor", "demographics", "extract_note_facts"]


def __getattr__(name: str) -> Any:
    if name in ("NoteFactExtractor", "extract_note_facts"):
        from nlp.notes import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
