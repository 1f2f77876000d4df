"""Load the shipped Chia NER and run it: the API the criteria and note pipelines call.

`load_ner()` reads the model from the package (`nlp/models/chia_ner`), offline, once per
process and path; nothing is loaded at import time. `extract_entities(texts)` runs the whole
entity pipeline (statistical NER + rules, see `nlp.ner.rules`) over many texts with
`nlp.pipe` batching and returns plain `Entity` values with offsets into each input text.

Entities: the flat sequence of `doc.ents` (model and rules, never overlapping) plus, unless
`nested=False`, the extra entities of coordinated modifiers (`doc.spans["chia_coord"]`,
source "coordination", see `nlp.ner.coord`), which OVERLAP flat ones ("pleural or pericardial
effusion" → "pericardial effusion" and "pleural or pericardial effusion"). A caller that needs a
flat sequence passes `nested=False` (or drops `source == "coordination"`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "chia_ner"


@dataclass(frozen=True, slots=True)
class Entity:
    """A recognised mention; `start`/`end` are character offsets (end exclusive)."""

    type: str
    start: int
    end: int
    text: str
    source: str = "model"  # "model", "rule" or "coordination" (overlaps a flat entity)


def load_ner(path: str | Path | None = None) -> Language:
    """The entity pipeline (tokenizer, ner, rules), cached per resolved path."""
    model = Path(path) if path is not None else MODEL_DIR
    return _load(str(model.resolve()))


@lru_cache(maxsize=4)
def _load(model: str) -> Language:
    import spacy

    import nlp.ner.components  # registers our spaCy factories
    import nlp.ner.tagger  # registers minilm_ner
    import nlp.ner.tokenizer  # noqa: F401  (registers the tokenizer)

    if not (Path(model) / "config.cfg").is_file():
        raise FileNotFoundError(f"no spaCy pipeline at {model} (run `make train-ner`)")
    return spacy.load(model)


def entities_of(doc: Doc, nested: bool = True) -> list[Entity]:
    """The pipeline's mentions in a processed doc, in text order (by start, then end); with
    `nested`, the overlapping entities of coordinations too."""
    from nlp.ner.coord import COORD_SOURCE, SPAN_GROUP

    out = [Entity(e.label_, e.start_char, e.end_char, e.text, _source(e)) for e in doc.ents]
    if nested and SPAN_GROUP in doc.spans and len(doc.spans[SPAN_GROUP]):
        out += [
            Entity(s.label_, s.start_char, s.end_char, s.text, COORD_SOURCE)
            for s in doc.spans[SPAN_GROUP]
        ]
        out.sort(key=lambda e: (e.start, e.end))
    return out


def _source(span) -> str:
    return "rule" if span.kb_id_ == "rule" else "model"


def extract_entities(
    texts: Iterable[str],
    nlp: Language | None = None,
    batch_size: int = 128,
    nested: bool = True,
) -> list[list[Entity]]:
    """One list of entities per input text, batched through `nlp.pipe`; `nested=False`: the
    flat (non-overlapping) sequence only."""
    pipeline = nlp if nlp is not None else load_ner()
    return [entities_of(doc, nested) for doc in pipeline.pipe(texts, batch_size=batch_size)]
