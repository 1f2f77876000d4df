"""Who may enrol by sex ("male or female", "postmenopausal women") -> DEMOGRAPHIC/sex."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.rules_loader import SexRules, load_rules

_R = load_rules("sex", SexRules)


class SexExtractor(Extractor):
    """Single-sex words only count in population shapes; reproductive texts never count.

    "Women of childbearing potential must use contraception" does not make a trial
    women-only, so such texts are blocked outright.
    """

    name: ClassVar[str] = "sex"
    category: ClassVar[Category] = Category.DEMOGRAPHIC
    rules: ClassVar[list[tuple[str, re.Pattern[str]]]] = [
        (r.value, compile_ci(r.pattern)) for r in _R.rules
    ]
    shapes: ClassVar[list[re.Pattern[str]]] = [compile_ci(s) for s in _R.single_sex_shapes]
    blockers: ClassVar[re.Pattern[str]] = compile_ci(_R.blockers)

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.norm
        if self.blockers.search(text):
            return []
        found = [(value, m) for value, rx in self.rules if (m := rx.search(text))]
        # "men aged 18-65 and postmenopausal women to age 65": both may enrol
        both = len({value for value, _ in found if value != "all"}) > 1
        for value, m in found:
            value = "all" if both else value
            if value == "all" or any(s.search(text) for s in self.shapes):
                ref = ("Person", *p.orig(*m.span()))
                return [self.make(p, "sex", value_text=value, refs=[ref])]
        return []
