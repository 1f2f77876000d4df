"""The statistical NER as seen by the criteria pipeline: texts in, typed character spans out.

The model itself (trained on Chia) lives in `nlp.ner` and is owned elsewhere; this module is
the one seam between the two, so the criteria pipeline depends on a function
`texts -> [[(type, start, end), ...], ...]` and nothing else. `model` settings:
- "auto": use the shipped model when `nlp.ner` provides one, else run on rules alone;
- "off": rules alone;
- anything else: required; a path to a spaCy model folder, or "default" for the shipped model
  (failing loudly when missing, because a deployment that asked for it must not silently
  lose it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from matcher.errors import TrialmatchError

log = logging.getLogger(__name__)

EntitySource = Callable[[Sequence[str]], list[list[tuple[str, int, int]]]]


class NerUnavailable(TrialmatchError):
    """A required NER model could not be loaded."""


def load_entity_source(model: str = "auto", batch_size: int = 128) -> EntitySource | None:
    if model == "off":
        return None
    try:
        return _cached(model, batch_size)
    except NerUnavailable:
        if model == "auto":
            log.info("criteria NER unavailable; the criteria pipeline runs on rules alone")
            return None
        raise


@cache
def _cached(model: str, batch_size: int) -> EntitySource:
    try:
        import nlp.ner as ner_pkg
    except ImportError as exc:  # the NER package is optional at run time
        raise NerUnavailable(f"nlp.ner cannot be imported: {exc}") from exc
    path = None if model in ("auto", "default") else Path(model)
    try:
        language = ner_pkg.load_ner(path)
    except (OSError, ValueError) as exc:  # no model shipped yet, or an unreadable one
        raise NerUnavailable(f"the criteria NER cannot be loaded: {exc}") from exc

    def source(texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
        # The flat sequence only: the parser (`Prepared`, coordination, `doc.spans["ner"]`)
        # assumes non-overlapping spans, so the overlapping entities of coordinated modifiers
        # ("pleural or pericardial effusion", source "coordination") are left out; the parser
        # finds coordinations itself.
        found = ner_pkg.extract_entities(
            list(texts), nlp=language, batch_size=batch_size, nested=False
        )
        return [[(e.type, e.start, e.end) for e in entities] for entities in found]

    return source
