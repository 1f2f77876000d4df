"""Concepts recognised by the NER (Condition, Drug, Procedure, ...) -> clinical criteria.

When the statistical NER found clinical spans in a segment's main clause, they are the
concepts: clean phrases ("heart failure", not "CVD is not required, but participant") with
exact offsets. Each becomes one criterion of the category its type maps to (data:
nlp/rules/concepts.yaml), negated when inside a negation scope, with the window linked to it,
and lists joined by "or" (or introduced by "e.g.") share an OR group unless negated. A segment
handled here is claimed, so the rule-based phrase extractors do not read it a second time.
"""

from __future__ import annotations

import re
from itertools import count, pairwise
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.analysis import Span
from nlp.criteria.extractors.base import EntityRef, Extractor, Prepared, compile_ci
from nlp.criteria.extractors.clinical import clean
from nlp.rules_loader import ConceptRules, load_rules

_R = load_rules("concepts", ConceptRules)
_GROUPS = count(1)


class ConceptExtractor(Extractor):
    name: ClassVar[str] = "concepts"
    category: ClassVar[Category] = Category.CONDITION
    exclusive: ClassVar[bool] = False
    claims: ClassVar[bool] = True
    categories: ClassVar[dict[str, Category]] = {
        t: Category(c) for t, c in _R.type_categories.items()
    }
    generic: ClassVar[re.Pattern[str]] = compile_ci(_R.generic)
    events: ClassVar[frozenset[str]] = frozenset(_R.event_types)
    reserved: ClassVar[re.Pattern[str]] = compile_ci(_R.reserved)

    def extract(self, p: Prepared) -> list[Criterion]:
        spans = [
            s
            for s in p.spans
            if s.type in self.categories
            and p.clauses.in_main(s.start, s.end)
            and not p.is_claimed(s)
            and not self._covered(p, s)
            and not self.reserved.search(s.text)
        ]
        spans = _drop_abbreviations(p.text, spans)
        if not spans:
            return []
        out: list[Criterion] = []
        for members, conn in p.coordination(spans):
            made = [c for s in members if (c := self._criterion(p, s)) is not None]
            if conn == "or" and len(made) > 1 and not any(c.negated for c in made):
                group = f"ner{next(_GROUPS)}"
                for crit in made:
                    crit.group = group
            out += made
        return out

    def _covered(self, p: Prepared, span: Span) -> bool:
        """Spans another extractor already turned into a criterion (pregnancy, consent)."""
        return any(e.start < span.end and span.start < e.end for c in p.found for e in c.entities)

    def _criterion(self, p: Prepared, span: Span) -> Criterion | None:
        concept = clean(span.text)
        if len(concept) < _R.min_chars or self.generic.fullmatch(concept):
            return None
        negated = p.negated(span.start, span.end)
        refs: list[EntityRef] = [(span.type, span.start, span.end)]
        cue = p.negation_cue(span.start, span.end)
        if negated and cue:
            refs.append(("Negation", *cue))
        timing = p.timing(span.start, span.end, event=span.type in self.events)
        if timing.span is not None:
            refs.append(("Temporal", *timing.span))
        return self.make(
            p,
            " ".join(concept.split()),
            category=self.categories[span.type],
            negated=negated != timing.flips_negation,
            window_days=timing.window_days,
            duration_days=timing.duration_days,
            refs=refs,
        )


def _drop_abbreviations(text: str, spans: list[Span]) -> list[Span]:
    """ "T2DM (type 2 diabetes mellitus)" or "type 2 diabetes mellitus (T2DM)" is one concept:
    keep the longer spelling."""
    ordered = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):  # nested spans: the longest
        if not ordered or span.start >= ordered[-1].end:
            ordered.append(span)
    drop: set[int] = set()
    for n, (a, b) in enumerate(pairwise(ordered)):
        gap = text[a.end : b.start]
        closes = text[b.end : b.end + 2].lstrip().startswith(")")
        if a.type == b.type and gap.strip() == "(" and closes:
            drop.add(n + 1 if len(b.text) < len(a.text) else n)
    return [s for n, s in enumerate(ordered) if n not in drop]
