"""Conditions ("history of myocardial infarction", "no prior stroke") -> CONDITION."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.criteria.extractors.clinical import RULES, clean, criteria_for, floor, phrase_after

_C = RULES.condition


class ConditionExtractor(Extractor):
    """Cue phrases ("diagnosis of", "patients with") introduce the concept.

    Without a cue, a short segment naming a disease head word ("Vancomycin allergy") is taken
    whole, but only when no other extractor structured the segment, so that lab lines and age
    lines are not re-read as diseases.
    """

    name: ClassVar[str] = "condition"
    category: ClassVar[Category] = Category.CONDITION
    exclusive: ClassVar[bool] = True
    competes: ClassVar[bool] = True
    cues: ClassVar[list[re.Pattern[str]]] = [compile_ci(rf"\b(?:{c})\s+") for c in _C.cues]
    heads: ClassVar[re.Pattern[str]] = compile_ci(_C.head_words)

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        hits = [
            m
            for rx in self.cues
            for m in rx.finditer(text)
            if p.clauses.in_main(m.start(), m.end()) and not p.is_claimed(_At(m.end()))
        ]
        for cue in sorted(hits, key=lambda m: m.start()):
            phrase = phrase_after(text, cue.end())
            if phrase and self.heads.search(phrase):
                return criteria_for(self, p, phrase, cue.start())
        for cue in sorted(hits, key=lambda m: m.start()):
            phrase = phrase_after(text, cue.end())
            if phrase:
                return criteria_for(self, p, phrase, cue.start())
        claimed = [e for c in p.found for e in c.entities]
        if any(c.category not in _BARE_ALONGSIDE for c in p.found):
            # A disease named before a lab line's values: "Severe kidney failure (eGFR<15)".
            first = min((e.start for e in claimed), default=0)
            bare = phrase_after(text[:first], 0, _C.max_bare_words)
            if not bare or not self.heads.search(bare):
                return []
            return criteria_for(self, p, bare, len(text) - len(text.lstrip()))
        start = max((e.end for e in claimed), default=floor(p, len(text)))
        if not self.heads.search(text, start):
            return []
        bare = phrase_after(text, start, _C.max_bare_words)
        offset = start + len(text[start:]) - len(text[start:].lstrip())
        return criteria_for(self, p, bare, offset) if clean(bare) else []


class _At:
    """A zero-width position, for `Prepared.is_claimed`."""

    def __init__(self, pos: int) -> None:
        self.start, self.end = pos, pos + 1


# Criteria a bare disease phrase may follow: "HER2-negative breast cancer", "Adults aged
# 18-65, type 2 diabetes"; lab lines are never re-read as diseases.
_BARE_ALONGSIDE = frozenset({Category.BIOMARKER, Category.DEMOGRAPHIC})
