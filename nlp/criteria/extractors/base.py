"""Shared machinery for the extractors: the extractor contract, phrase cutting, OR splitting.

Each extractor lives in its own module and only declares its patterns (class attributes) and
an `extract` hook; everything that must behave identically across extractors (comparators,
negation scope, exception clauses, windows in days) lives in `text.py`, `analysis.py`,
`quantities.py` and `temporal.py`, so that a fix to, say, "no more than" applies to ages,
labs and performance status alike.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from matcher.model import Category, Concept, Criterion, Entity
from nlp.criteria.analysis import Prepared, Span
from nlp.criteria.quantities import NUM
from nlp.criteria.text import COMMON, POST_GE, POST_LE, POSTFIX, normalize

__all__ = [
    "COMMON",
    "NUM",
    "POSTFIX",
    "POST_GE",
    "POST_LE",
    "EntityRef",
    "Extractor",
    "Prepared",
    "Span",
    "compile_ci",
    "normalize",
    "phrase_after",
    "split_or",
]

# (type, start, end) in segment-text offsets: what a criterion was built from.
EntityRef = tuple[str, int, int]


def _alternation(phrases: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


_STOPS = re.compile(
    rf"\s(?:{_alternation(COMMON.phrase_stops)})(?![\w])|[.;:(\[]|,\s*(?:and|or)\s*$", re.I
)
_OR_SPLIT = re.compile(r",?\s+(?:and/)?or\s+", re.I)
_ROMAN_OR_SHORT = re.compile(r"^(?:[ivx]+[abc]?|\w|\d+[a-z]?)$", re.I)


def phrase_after(text: str, start: int, max_words: int = 12) -> str:
    """The concept phrase that starts at `start`, cut at the first stop word or punctuation."""
    rest = text[start:]
    m = _STOPS.search(rest)
    phrase = rest[: m.start()] if m else rest
    phrase = phrase.strip(" ,-")
    return phrase if 0 < len(phrase.split()) <= max_words else ""


def split_or(phrase: str) -> list[str]:
    """Split "A, B or C" into alternatives unless a part is too short to stand alone.

    "stage I, II, or IIIA" stays whole: its parts are qualifiers, not concepts.
    """
    alternatives = _OR_SPLIT.split(phrase)
    if len(alternatives) < 2:
        return [phrase]
    head = [q for a in alternatives[:-1] for q in a.split(",")]
    parts = [q.strip(" ,") for q in [*head, alternatives[-1]] if q.strip(" ,")]
    if len(parts) < 2 or any(_ROMAN_OR_SHORT.match(p) for p in parts):
        return [phrase]
    return parts


class Extractor(ABC):
    """One recogniser. `exclusive` ones compete for the segment's single clinical concept."""

    name: ClassVar[str]
    category: ClassVar[Category]
    exclusive: ClassVar[bool] = False  # skipped once the segment is claimed; claims it
    claims: ClassVar[bool] = False  # claims the segment when it finds something
    # Competing extractors (the rule-based condition/medication/procedure readers) all run;
    # the one whose concept starts earliest in the text keeps its criteria.
    competes: ClassVar[bool] = False

    @abstractmethod
    def extract(self, p: Prepared) -> list[Criterion]:
        """Criteria found in the segment (ids and groups are assigned by the parser)."""

    def make(
        self,
        p: Prepared,
        concept: str | Concept | None,
        *,
        refs: list[EntityRef] | None = None,
        category: Category | None = None,
        **fields: Any,
    ) -> Criterion:
        """A criterion over the whole segment.

        `refs` become its entities, in segment-text offsets until the parser maps them to the
        submitted text.
        """
        seg = p.segment
        if isinstance(concept, str):
            concept = Concept(concept) if concept else None
        entities = [Entity(t, seg.text[a:b], a, b) for t, a, b in refs or [] if b > a]
        return Criterion(
            id="",
            kind=seg.kind,
            text=seg.text,
            category=category or self.category,
            concept=concept,
            span_start=seg.start,
            span_end=seg.end,
            entities=entities,
            **fields,
        )


def compile_ci(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)
