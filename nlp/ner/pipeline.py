"""Load the shipped Chia NER and run it: the API the criteria and note pipelines call.

`load_ner()` reads the model from the package (`nlp/models/chia_ner`), offline, once per
process and path; nothing is loaded at import time. `extract_entities(texts)` runs the whole
entity pipeline (statistical NER + rules, see `nlp.ner.rules`) over many texts with
`nlp.pipe` batching and returns plain `Entity` values with offsets into each input text.
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
    source: str = "model"  # "model" or "rule"


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


def entities_of(doc: Doc) -> list[Entity]:
    """The pipeline's mentions in a processed doc, in text order."""
    return [Entity(e.label_, e.start_char, e.end_char, e.text, _source(e)) for e in doc.ents]


def _source(span) -> str:
    return "rule" if span.kb_id_ == "rule" else "model"


def extract_entities(
    texts: Iterable[str],
    nlp: Language | None = None,
    batch_size: int = 128,
) -> list[list[Entity]]:
    """One list of entities per input text, batched through `nlp.pipe`."""
    pipeline = nlp if nlp is not None else load_ner()
    return [entities_of(doc) for doc in pipeline.pipe(texts, batch_size=batch_size)]

