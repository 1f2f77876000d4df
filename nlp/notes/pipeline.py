"""The note pipeline, assembled from `pipeline.yaml`, and the extractor ingest is given.

`NoteFactExtractor` is what `services/providers.py` builds when `notes.enabled` is set and
hands to `IngestService` (which only knows the `matcher.ingest.NoteFactExtractor` protocol).
Building the pipeline imports spaCy and medspaCy and compiles a few thousand rules, so it
happens once, on first use, never at import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from functools import cache

import spacy
from spacy.language import Language

from matcher.model import Fact, Note
from nlp.notes import context as _context  # noqa: F401  (registers factories)
from nlp.notes import lexicon as _lexicon  # noqa: F401
from nlp.notes import measurements as _measurements  # noqa: F401
from nlp.notes import sentences as _sentences  # noqa: F401
from nlp.notes.context import section_policies
from nlp.notes.facts import doc_facts
from nlp.notes.ner_hook import NER_KEY, MentionSourceUnavailable
from nlp.notes.schema import PipelineRules, load_notes_rules

log = logging.getLogger(__name__)


@cache
def build_note_pipeline(
    rules: str = "pipeline", optional: frozenset[str] = frozenset()
) -> Language:
    """spaCy blank English plus the components `rules` lists, in order. Optional components
    are added only when named in `optional`, and skipped (logged) if unavailable."""
    spec = load_notes_rules(rules, PipelineRules)
    nlp = spacy.blank("en")
    for component in spec.components:
        if component.optional and component.name not in optional:
            continue
        config = dict(component.config)
        if "span_group" in (Language.get_factory_meta(component.factory).default_config or {}):
            config["span_group"] = spec.span_group
        try:
            nlp.add_pipe(component.factory, name=component.name, config=config)
        except MentionSourceUnavailable as exc:
            if not component.optional:
                raise
            log.warning("note pipeline: optional component %r left out: %s", component.name, exc)
    return nlp


def _sections_rules(spec: PipelineRules) -> str:
    for component in spec.components:
        if component.factory == "trialmatch_note_sections":
            return str(component.config.get("rules", "sections"))
    return "sections"


class NoteFactExtractor:
    """Note -> facts with assertions; see nlp/notes/__init__.py for the whole picture.

    `optional` names optional pipeline components to enable (e.g. `{"ner"}`). The spaCy
    pipeline is built on first use (`lazy=True`), so that a server whose patients have no
    notes never pays for importing medspaCy; `warm()` builds it ahead of traffic. Calls are
    serialised with a lock: gRPC serves ingest from a thread pool and the medspaCy components
    keep per-call state on themselves.
    """

    def __init__(
        self, rules: str = "pipeline", optional: Iterable[str] = (), *, lazy: bool = False
    ) -> None:
        self._rules = rules
        self._optional = frozenset(optional)
        self._spec = load_notes_rules(rules, PipelineRules)
        self._sections = section_policies(_sections_rules(self._spec))
        self._lock = threading.Lock()
        self._nlp: Language | None = None
        if not lazy:
            self.warm()

    def warm(self) -> None:
        with self._lock:
            self._build()

    def _build(self) -> Language:
        if self._nlp is None:
            self._nlp = build_note_pipeline(self._rules, self._optional)
        return self._nlp

    @property
    def components(self) -> list[str]:
        with self._lock:
            return list(self._build().pipe_names)

    def extract(self, note: Note) -> list[Fact]:
        return self.extract_many([note])[0]

    def extract_many(self, notes: Sequence[Note]) -> list[list[Fact]]:
        if not notes:
            return []
        texts = [n.text[: self._spec.max_note_chars] for n in notes]
        with self._lock:
            docs = list(self._build().pipe(texts))
        return [
            doc_facts(doc, note, self._spec, self._sections, doc.user_data.get(NER_KEY))
            for doc, note in zip(docs, notes, strict=True)
        ]


@cache
def default_extractor() -> NoteFactExtractor:
    return NoteFactExtractor()


def extract_note_facts(note: Note, extractor: NoteFactExtractor | None = None) -> list[Fact]:
    """Facts of one note with the default pipeline (lexicons, measurements, ConText)."""
    return (extractor or default_extractor()).extract(note)
