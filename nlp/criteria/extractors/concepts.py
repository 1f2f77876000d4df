"""Concepts recognised by the NER (Condition, Drug, Procedure, ...) -> clinical criteria.

When the statistical NER found clinical spans in a segment's main clause, they are the
concepts: clean phrases ("heart failure", not "CVD is not required, but participant") with
exact offsets. Each becomes one criterion of the category its type maps to (data:
nlp/rules/concepts.yaml), negated when inside a negation scope, with the window linked to it,
and lists joined by "or" (or introduced by "e.g.") share an OR group unless negated. A segment
handled here is claimed, so the rule-based phrase extractors do not read it a second time.

Spans that are no concept (fragments, see `fragments.py`) are dropped or read with the noun
they share ("heart and lung dysfunction" -> "heart dysfunction", "lung dysfunction"). A span
that only qualifies an earlier head (`Prepared.dependents`: "No peripheral neuropathy with
weakness") yields no criterion of its own when its criterion would rule a patient out (an
exclusion, or negated): it would rule out everyone with weakness. It stays an entity of the
head's criterion. Requirements ("Peripheral neuropathy with weakness") keep both facets.
"""

from __future__ import annotations

import re
from itertools import count, pairwise
from typing import ClassVar

from matcher.model import Category, Criterion, CriterionKind, Entity
from nlp.criteria.analysis import Span
from nlp.criteria.extractors.base import EntityRef, Extractor, Prepared, compile_ci
from nlp.criteria.extractors.clinical import clean
from nlp.criteria.extractors.fragments import distribute, junk, modifier_of_next
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
    non_heads: ClassVar[re.Pattern[str]] = compile_ci(_R.non_heads)

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
        spans = [
            s
            for s in _repair(p.text, _drop_abbreviations(p.text, spans))
            if not junk(clean(s.text))
        ]
        if not spans:
            return []
        heads = p.dependents(spans, self._is_head)
        ruling_out_kind = p.segment.kind == CriterionKind.EXCLUSION
        by_span: dict[Span, Criterion] = {}
        out: list[Criterion] = []
        for members, conn in p.coordination(spans):
            made = []
            for s in members:
                crit = self._criterion(p, s)
                if crit is None:
                    continue
                if s in heads and (ruling_out_kind or crit.negated):
                    continue  # a qualifier of its head: added to the head's entities below
                by_span[s] = crit
                made.append(crit)
            if conn == "or" and len(made) > 1 and not any(c.negated for c in made):
                group = f"ner{next(_GROUPS)}"
                for crit in made:
                    crit.group = group
            out += made
        for span, head in heads.items():
            if span not in by_span and head in by_span:
                text = p.text[span.start : span.end]
                by_span[head].entities.append(Entity(span.type, text, span.start, span.end))
        return out

    def _is_head(self, span: Span) -> bool:
        """Can `span` be qualified ("neuropathy" can, "treatment" of "treatment with" not)?"""
        concept = clean(span.text)
        return not (self.generic.fullmatch(concept) or self.non_heads.fullmatch(concept))

    def _covered(self, p: Prepared, span: Span) -> bool:
        """Spans another extractor already turned into a criterion (pregnancy, consent)."""
        return any(e.start < span.end and span.start < e.end for c in p.found for e in c.entities)

    def _criterion(self, p: Prepared, span: Span) -> Criterion | None:
        concept = clean(span.text)
        if len(concept) < _R.min_chars or self.generic.fullmatch(concept) or junk(concept):
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


def _repair(text: str, spans: list[Span]) -> list[Span]:
    """Modifiers split off a shared noun read with it; other fragments are dropped later.

    "heart and" + "lung dysfunction" -> "heart dysfunction" (at "heart") + "lung
    dysfunction"; "surgical" before " or medical condition" with no such concept -> nothing.
    The repaired span keeps the modifier's offsets and carries the distributed reading as its
    text, which is what the criterion's concept is made from.
    """
    out: list[Span] = []
    for n, span in enumerate(spans):
        concept = clean(span.text)
        modifier = modifier_of_next(concept, text[span.end :])
        if modifier is None:
            out.append(span)
            continue
        following = spans[n + 1] if n + 1 < len(spans) else None
        shared = None
        if following is not None and following.type == span.type:
            gap = text[span.end : following.start]
            if re.fullmatch(r"\s*(?:(?:and/or|and|or|nor|&)\s+)?", gap, re.IGNORECASE):
                shared = distribute(modifier, clean(following.text))
        if shared is not None:
            at = span.start + text[span.start : span.end].lower().find(modifier.lower())
            at = max(at, span.start)
            out.append(Span(span.type, at, at + len(modifier), shared, span.source))
    return out
