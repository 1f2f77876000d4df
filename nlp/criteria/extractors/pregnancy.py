"""Pregnancy, lactation and contraception requirements -> PREGNANCY."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.rules_loader import PregnancyRules, load_rules

_R = load_rules("pregnancy", PregnancyRules)


class PregnancyExtractor(Extractor):
    """ "pregnancy" when the text names pregnancy or lactation, else "contraception".

    Negation is the pregnancy-specific kind ("non-pregnant", "negative pregnancy test"), which
    the generic cue list deliberately lacks because "non-small cell" is not a negation.
    """

    name: ClassVar[str] = "pregnancy"
    category: ClassVar[Category] = Category.PREGNANCY
    exclusive: ClassVar[bool] = True
    pregnancy: ClassVar[re.Pattern[str]] = compile_ci(_R.pregnancy)
    contraception: ClassVar[re.Pattern[str]] = compile_ci(_R.contraception)
    negation: ClassVar[re.Pattern[str]] = compile_ci(_R.negation)

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        if self.pregnancy.search(text):
            return [self.make(p, "pregnancy", negated=bool(self.negation.search(text)))]
        if self.contraception.search(text):
            return [self.make(p, "contraception")]
        return []
