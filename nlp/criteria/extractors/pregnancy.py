"""Pregnancy, breastfeeding, childbearing potential and contraception -> PREGNANCY.

Concepts: "pregnancy", "breastfeeding" (alternatives of one another: "pregnant or
breastfeeding"), "contraception" (a requirement to use it) and "childbearing potential"
(the population word alone, e.g. an exclusion of "women of childbearing potential").
Negation is the pregnancy-specific kind ("non-pregnant", "negative pregnancy test", "not
pregnant or nursing"), which the generic cue list deliberately lacks because "non-small
cell" is not a negation; a negated pair is two independent negated criteria (De Morgan).
"""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import EntityRef, Extractor, Prepared, compile_ci
from nlp.rules_loader import PregnancyRules, load_rules

_R = load_rules("pregnancy", PregnancyRules)


class PregnancyExtractor(Extractor):
    name: ClassVar[str] = "pregnancy"
    category: ClassVar[Category] = Category.PREGNANCY
    exclusive: ClassVar[bool] = True
    pregnancy: ClassVar[re.Pattern[str]] = compile_ci(_R.pregnancy)
    lactation: ClassVar[re.Pattern[str]] = compile_ci(_R.lactation)
    contraception: ClassVar[re.Pattern[str]] = compile_ci(_R.contraception)
    childbearing: ClassVar[re.Pattern[str]] = compile_ci(_R.childbearing)
    negation: ClassVar[re.Pattern[str]] = compile_ci(_R.negation)

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        found = [
            (concept, m)
            for concept, rx in (("pregnancy", self.pregnancy), ("breastfeeding", self.lactation))
            if (m := rx.search(text))
        ]
        if found:
            cue = self.negation.search(text)
            negated = cue is not None
            group = f"preg{p.segment.start}" if len(found) > 1 and not negated else ""
            out = []
            for concept, m in found:
                refs: list[EntityRef] = [("Condition", *m.span())]
                if cue is not None:
                    refs.append(("Negation", *cue.span()))
                out.append(self.make(p, concept, negated=negated, group=group, refs=refs))
            return out
        if m := self.contraception.search(text):
            return [self.make(p, "contraception", refs=[("Procedure", *m.span())])]
        if m := self.childbearing.search(text):
            return [self.make(p, "childbearing potential", refs=[("Observation", *m.span())])]
        return []
