"""Consent and compliance ("able to give informed consent", "willing to comply") -> CONSENT."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.rules_loader import ConsentRules, load_rules

_R = load_rules("consent", ConsentRules)


class ConsentExtractor(Extractor):
    """Administrative criteria; "unable to consent" is the negated form."""

    name: ClassVar[str] = "consent"
    category: ClassVar[Category] = Category.CONSENT
    exclusive: ClassVar[bool] = True
    rules: ClassVar[list[tuple[str, re.Pattern[str]]]] = [
        (r.concept, compile_ci(r.pattern)) for r in _R.rules
    ]
    negation: ClassVar[re.Pattern[str]] = compile_ci(_R.negation)
    subordinate: ClassVar[re.Pattern[str]] = compile_ci(_R.subordinate)

    def extract(self, p: Prepared) -> list[Criterion]:
        for concept, rx in self.rules:
            m = rx.search(p.main)
            if m and self.subordinate.search(p.main[max(0, m.start() - 40) : m.start()]):
                m = None
            if m:
                cue = self.negation.search(p.main[: m.start()])
                refs = [("Observation", *m.span())]
                if cue:
                    refs.append(("Negation", *cue.span()))
                return [self.make(p, concept, negated=bool(cue), refs=refs)]
        return []
