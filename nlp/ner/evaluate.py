"""Score an entity pipeline on Chia docs with `nlp.chia.metrics` (used by train and eval)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nlp.chia.loader import ChiaDoc, Entity
from nlp.chia.metrics import Report, score

if TYPE_CHECKING:
    from spacy.language import Language


def predict(docs: Sequence[ChiaDoc], nlp: Language) -> list[tuple[list[Entity], list[Entity]]]:
    """(gold, predicted) per criterion, predicted offsets relative to the criterion line."""
    from nlp.ner.pipeline import extract_entities

    criteria = [c for d in docs for c in d.criteria]
    predicted = extract_entities((c.text for c in criteria), nlp=nlp)
    return [
        (list(c.entities), [Entity(e.type, ((e.start, e.end),), e.text) for e in ents])
        for c, ents in zip(criteria, predicted, strict=True)
    ]


def evaluate(docs: Sequence[ChiaDoc], model: Path | str | None = None) -> Report:
    from nlp.ner.pipeline import load_ner

    return score(predict(docs, load_ner(model)))
