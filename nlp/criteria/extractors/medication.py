"""Medications and drug classes ("currently taking metformin", "prior chemotherapy")."""

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

_STRONG_MAX_WORDS = 6


class MedicationExtractor(Extractor):
    """A drug word must be present; a cue before it ("use of") widens the phrase.

    Allergies to and abuse of drugs are conditions, so the blockers hand those on.
    """

    name: ClassVar[str] = "medication"
    category: ClassVar[Category] = Category.MEDICATION
    exclusive: ClassVar[bool] = True
    competes: ClassVar[bool] = True
    drugs: ClassVar[re.Pattern[str]] = compile_ci(RULES.medication.drug_words)
    blockers: ClassVar[re.Pattern[str]] = compile_ci(RULES.medication.blockers)
    cues: ClassVar[re.Pattern[str]] = compile_ci(
        r"\b(?:" + "|".join(RULES.medication.cues) + r")\s+"
    )

    strong: ClassVar[re.Pattern[str]] = compile_ci(rf"\b(?:{RULES.medication.strong_cues})\s+")

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        drug = self.drugs.search(text)
        blocker = self.blockers.search(text)
        if blocker is not None and (drug is None or blocker.start() < drug.start()):
            return []  # "allergy to penicillin" is a condition; "... for allergies" is not
        if drug is None:
            cue = self.strong.search(text)
            phrase = phrase_after(text, cue.end(), _STRONG_MAX_WORDS) if cue else ""
            return criteria_for(self, p, phrase, cue.start()) if cue and phrase else []
        cue = cue_before(self.cues, text, drug)
        if cue is not None:
            phrase = phrase_after(text, cue.end()) or head_phrase(text, cue.end(), drug)
            return criteria_for(self, p, phrase, cue.start())
        start = floor(p, drug.start())
        return criteria_for(self, p, head_phrase(text, start, drug, 4), start)
