"""Conditions ("history of myocardial infarction", "no prior stroke") -> CONDITION."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.criteria.extractors.clinical import RULES, clean, criteria_for, phrase_after

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
    cues: ClassVar[list[re.Pattern[str]]] = [compile_ci(rf"\b(?:{c})\s+") for c in _C.cues]
    heads: ClassVar[re.Pattern[str]] = compile_ci(_C.head_words)

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        hits = [m for rx in self.cues if (m := rx.search(text))]
        for cue in sorted(hits, key=lambda m: m.start()):
            phrase = phrase_after(text, cue.end())
            if phrase and self.heads.search(phrase):
                return criteria_for(self, p, phrase, cue.start())
        for cue in sorted(hits, key=lambda m: m.start()):
            phrase = phrase_after(text, cue.end())
            if phrase:
                return criteria_for(self, p, phrase, cue.start())
        if p.found or not self.heads.search(text):
            return []
        bare = phrase_after(text, 0, _C.max_bare_words)
        return criteria_for(self, p, bare, len(text) - len(text.lstrip())) if clean(bare) else []
