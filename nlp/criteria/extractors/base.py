"""Shared machinery for the rule-based extractors: text normalisation, clauses, negation.

Each extractor lives in its own module and only declares its patterns and an `extract` hook;
everything that must behave identically across extractors (what counts as a comparator, how a
negation cue scopes, where an "unless" clause starts, how a window is converted to days) lives
here, so that a fix to, say, "no more than" applies to ages, labs and performance status alike.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from matcher.model import Category, Concept, Criterion
from nlp.criteria.split import Segment
from nlp.rules_loader import CommonRules, load_rules

COMMON = load_rules("common", CommonRules)
NUM = r"\d+(?:\.\d+)?"
POST_GE, POST_LE = "⊒", "⊑"  # postfix comparators ("18 or older") after normalisation
_POSTFIX_SYMBOL = {">=": POST_GE, "<=": POST_LE}
POSTFIX = {POST_GE: ">=", POST_LE: "<="}


def _alternation(phrases: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


_POSTFIX_RE = [
    (re.compile(rf"(?<![a-z])(?:{c.phrase})(?![a-z])"), f" {_POSTFIX_SYMBOL[c.symbol]} ")
    for c in COMMON.postfix_comparators
]
_PREFIX_RE = [
    (re.compile(rf"(?<![a-z<>=])(?:{c.phrase})(?![a-z=])"), f" {c.symbol} ")
    for c in COMMON.comparators
]
_NUMBER_WORDS = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, COMMON.number_words), key=len, reverse=True)) + r")\b"
)
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?![\d])")
_NEGATION = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.negation_cues)})(?![\w])", re.I)
_EXCEPTION = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.exception_cues)})(?![\w])", re.I)
_STOPS = re.compile(
    rf"\s(?:{_alternation(COMMON.phrase_stops)})(?![\w])|[.;:(\[]|,\s*(?:and|or)\s*$", re.I
)
_WINDOWS = [re.compile(p, re.I) for p in COMMON.window_patterns]
_UNIT_DAYS = {k[0]: v for k, v in COMMON.time_units.items()}  # d, w, m, y
_OR_SPLIT = re.compile(r",?\s+(?:and/)?or\s+", re.I)
_ROMAN_OR_SHORT = re.compile(r"^(?:[ivx]+|\w{1,2}|\d+[a-z]?)$", re.I)


def normalize(text: str) -> str:
    """Lower-case, turn comparator phrases into symbols and number words into digits.

    Numeric extractors then match one canonical shape ("age >= 18 years") instead of every
    English paraphrase; postfix comparators become distinct symbols because "18 or older"
    binds to the number before it, not after.
    """
    out = text.lower().replace("–", "-").replace("—", "-").replace("×", "x")
    out = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), out)
    out = _NUMBER_WORDS.sub(lambda m: f"{COMMON.number_words[m.group(1)]:g}", out)
    for rx, symbol in _POSTFIX_RE:
        out = rx.sub(symbol, out)
    for rx, symbol in _PREFIX_RE:
        out = rx.sub(symbol, out)
    return " ".join(out.split())


def main_clause(text: str) -> str:
    """The text before an exception clause: "No X unless Y" must not let Y shape X."""
    m = _EXCEPTION.search(text)
    return text[: m.start()] if m and m.start() > 0 else text


def is_negated(prefix: str) -> bool:
    """Does a negation cue occur in the clause text that precedes a concept?"""
    return _NEGATION.search(prefix) is not None


def window_days(text: str) -> float | None:
    """The look-back window ("within the last 6 months") in days, if the text states one."""
    for rx in _WINDOWS:
        m = rx.search(text)
        if m:
            n = float(m.groupdict().get("n") or 1)
            return round(n * _UNIT_DAYS[m.group("unit")[0].lower()], 2)
    return None


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


@dataclass
class Prepared:
    """A segment plus the derived texts every extractor needs, computed once."""

    segment: Segment
    found: list[Criterion] = field(default_factory=list)

    @cached_property
    def norm(self) -> str:
        return normalize(self.segment.text)

    @cached_property
    def main(self) -> str:
        return main_clause(self.segment.text)

    @cached_property
    def norm_main(self) -> str:
        return normalize(self.main)


class Extractor(ABC):
    """One recogniser. `exclusive` ones compete for the segment's single clinical concept."""

    name: ClassVar[str]
    category: ClassVar[Category]
    exclusive: ClassVar[bool] = False

    @abstractmethod
    def extract(self, p: Prepared) -> list[Criterion]:
        """Criteria found in the segment (ids and groups are assigned by the parser)."""

    def make(self, p: Prepared, concept: str | None, **fields: Any) -> Criterion:
        seg = p.segment
        return Criterion(
            id="",
            kind=seg.kind,
            text=seg.text,
            category=self.category,
            concept=Concept(concept) if concept else None,
            span_start=seg.start,
            span_end=seg.end,
            **fields,
        )


def compile_ci(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)
