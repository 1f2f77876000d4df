"""The first, rule-based criteria parser: split, run extractors, never drop a segment.

It sits behind the `CriteriaParser` protocol so that the planned spaCy NER pipeline can replace
it without touching the services layer.

Decisions:
- A segment with several facets yields several criteria with the same span ("Men and women
  aged 18-65 with type 2 diabetes" -> age, sex, condition), because the matcher evaluates one
  facet per criterion.
- OR lists become one criterion per alternative sharing a `group`; negated lists ("no A or B")
  become independent negated criteria (De Morgan), see `extractors/clinical.py`.
- A segment nothing recognises becomes one OTHER criterion with its full text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import COMMON, Extractor, Prepared
from nlp.criteria.split import Segment, split_criteria

_DEFINITION = re.compile("|".join(f"(?:{c})" for c in COMMON.definition_cues), re.I)


class RuleBasedParser:
    """Applies extractors in priority order; see the registry for how that order is chosen."""

    def __init__(self, extractors: Sequence[Extractor]) -> None:
        self.extractors = list(extractors)

    def parse(self, text: str, *, id_prefix: str = "c") -> list[Criterion]:
        out: list[Criterion] = []
        groups: dict[str, str] = {}
        for segment in split_criteria(text):
            for crit in self.parse_segment(segment):
                crit.id = f"{id_prefix}{len(out) + 1}"
                if crit.group:
                    crit.group = groups.setdefault(crit.group, f"{id_prefix}g{len(groups) + 1}")
                out.append(crit)
        return out

    def parse_segment(self, segment: Segment) -> list[Criterion]:
        prepared = Prepared(segment)
        claimed = False
        for extractor in self.extractors:
            if extractor.exclusive and claimed:
                continue
            found = extractor.extract(prepared)
            prepared.found.extend(found)
            claimed = claimed or (extractor.exclusive and bool(found))
        if prepared.found:
            return _group_definitions(segment, prepared.found)
        return [
            Criterion(
                id="",
                kind=segment.kind,
                text=segment.text,
                category=Category.OTHER,
                span_start=segment.start,
                span_end=segment.end,
            )
        ]


def _group_definitions(segment: Segment, found: list[Criterion]) -> list[Criterion]:
    """"X, as determined by lab A or lab B": one OR group of X, A and B, not X and A and B."""
    conditions = [c for c in found if c.category == Category.CONDITION and not c.negated]
    labs = [c for c in found if c.category == Category.LAB]
    if not conditions or not labs or not _DEFINITION.search(segment.text):
        return found
    group = f"def{segment.start}"
    for crit in [*conditions, *labs]:
        crit.group = group
    return found
