"""Procedures ("prior surgery", "undergoing hemodialysis") -> PROCEDURE."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.criteria.extractors.clinical import (
    RULES,
    criteria_for,
    cue_before,
    floor,
    head_phrase,
    phrase_after,
)


class ProcedureExtractor(Extractor):
    """A procedure word anchors the concept; a preceding cue ("undergoing") starts the phrase."""

    name: ClassVar[str] = "procedure"
    category: ClassVar[Category] = Category.PROCEDURE
    exclusive: ClassVar[bool] = True
    competes: ClassVar[bool] = True
    words: ClassVar[re.Pattern[str]] = compile_ci(RULES.procedure.words)
    cues: ClassVar[re.Pattern[str]] = compile_ci(
        r"\b(?:" + "|".join(RULES.procedure.cues) + r")\s+"
    )

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        head = self.words.search(text)
        if head is None:
            return []
        cue = cue_before(self.cues, text, head)
        if cue is not None:
            phrase = phrase_after(text, cue.end()) or head_phrase(text, cue.end(), head)
            return criteria_for(self, p, phrase, cue.start())
        start = floor(p, head.start())
        return criteria_for(self, p, head_phrase(text, start, head), start)
