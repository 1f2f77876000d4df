"""From one analysed segment to its criteria: run the extractors, never drop a segment.

Decisions:
- A segment with several facets yields several criteria with the same span ("Men and women
  aged 18-65 with type 2 diabetes" -> age, sex, condition), because the matcher evaluates one
  facet per criterion.
- OR lists become one criterion per alternative sharing a `group`; negated lists ("no A or B")
  become independent negated criteria (De Morgan). Segments that are alternatives of one
  another (children of "at least one of the following:", items joined by "OR") put all their
  criteria in one group.
- A segment nothing recognises becomes one OTHER criterion with its full text and everything
  that was recognised in it as entities.
- Entities are kept in segment-text offsets while extracting and mapped to exact offsets in
  the submitted text at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

from matcher.model import (
    DEFINITION_GROUP,
    NARROWED_GROUP,
    Category,
    Concept,
    Criterion,
    CriterionKind,
    Entity,
    count_group,
    group_prefix,
)
from nlp.criteria.analysis import Prepared
from nlp.criteria.extractors.base import Extractor
from nlp.criteria.split import Segment
from nlp.criteria.structure import LABEL_GAP as _LABEL_GAP
from nlp.criteria.structure import list_cue
from nlp.criteria.text import COMMON

_DEFINITION = re.compile("|".join(f"(?:{c})" for c in COMMON.definition_cues), re.I)
_INLINE_DEFINITION = re.compile(
    "|".join(f"(?:{c})" for c in COMMON.definition_inline_cues) or "(?!)", re.I
)
_STATUS_NEGATION = re.compile(COMMON.status_negation, re.I)
_TRIM = " \t,;:.-("
_ITEM_MARKER = re.compile(r"(?<![\w(])(?:\(?(?:[ivx]{1,4}|\d{1,2}|[a-h])\))(?=\s)", re.I)
_OR = re.compile(r"\bor\b", re.I)
_WITH = re.compile(r"\s*,?\s*with\s+(?:an?\s+|the\s+)?", re.I)
_AND = re.compile(r"\band\b(?!\s*/\s*or\b)|\bwith\b|;|\bplus\b", re.I)  # "and/or" is "or"


class CriteriaBuilder:
    """Applies extractors in priority order; see the registry for how that order is chosen."""

    def __init__(self, extractors: Sequence[Extractor]) -> None:
        self.extractors = list(extractors)

    def build_prepared(self, p: Prepared) -> list[Criterion]:
        claimed = False
        contest: list[list[Criterion]] = []
        for extractor in self.extractors:
            if extractor.exclusive and claimed:
                continue
            found = extractor.extract(p)
            if extractor.competes and not claimed:
                contest.append(found)  # decided below: the earliest concept wins
                continue
            p.found.extend(found)
            claimed = claimed or ((extractor.exclusive or extractor.claims) and bool(found))
        if not claimed and contest:
            p.found.extend(min(contest, key=_first_position))
        seg = p.segment
        found = read_list(seg, p.found)
        if not found and seg.heads:
            return []  # "Two or more of the following:": its children say what it asks
        if found:
            out = _group_contradictions(
                _group_alternatives(seg, _group_narrowing(seg, _group_definitions(seg, found)))
            )
        else:
            out = [
                Criterion(
                    id="",
                    kind=seg.kind,
                    text=seg.text,
                    category=Category.OTHER,
                    span_start=seg.start,
                    span_end=seg.end,
                    entities=recognised(p),
                )
            ]
        for crit in out:
            negate_status_word(crit)
            crit.entities = _to_source(seg, crit.entities)
            if seg.group:
                prefix = group_prefix(seg.group)
                crit.group = f"{prefix}seg:{seg.group[len(prefix) :]}"
        return out


def read_list(seg: Segment, found: list[Criterion]) -> list[Criterion]:
    """A statement that asks for N of a list ("at least two of the following clinical
    symptoms of pneumonia: cough, purulent sputum, dyspnea, fever").

    What the cue's own words name ("clinical symptoms of pneumonia", "the following") is the
    list's description, not a requirement, and neither is a name set off before the cue
    ("SIRS - two or more of the following"); both are dropped. The items after the colon are
    one count group (an OR group for one), each item one line with its own span, so "cough,
    fever" counts two and "WBC > 12,000 or < 4,000" one. A list head whose items are its child
    lines keeps only what precedes its cue; structure.py groups the children."""
    cue = list_cue(seg.text)
    if cue is None:
        return found
    colon = seg.text.find(":", cue.end)
    if colon < 0 and not seg.heads:
        return found  # "two or more symptoms of appendicitis": no list follows
    described = colon if colon >= 0 else len(seg.text)
    items = _list_items(seg.text, described + 1) if colon >= 0 and not seg.heads else []
    group = count_group(cue.count, f"list{seg.start}")
    out: list[Criterion] = []
    for crit in found:
        if not crit.entities:
            out.append(crit)
            continue
        # "SIRS - two or more of the following" reads as "SIRS >= 2": what lies inside the
        # description is not what the criterion is about
        outside = [e for e in crit.entities if not (e.start >= cue.start and e.end <= described)]
        if not outside:
            continue
        start = min(e.start for e in outside)
        end = max(e.end for e in outside)
        if end <= cue.start and cue.named and _LABEL_GAP.match(seg.text[end : cue.start]):
            continue
        item = next(((a, b) for a, b in items if a <= start < b), None)
        if item is not None:
            crit.group = group
            crit.span_start, crit.span_end = seg.source_span(*item)
        out.append(crit)
    return out


def _list_items(text: str, start: int) -> list[tuple[int, int]]:
    """The items of an inline list from `start`: cut at commas and semicolons outside
    parentheses and before item markers ("i)", "2)", "(b)")."""
    cuts = [start]
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and ch in ",;":
            cuts.append(i + 1)
    cuts += [m.start() for m in _ITEM_MARKER.finditer(text, start)]
    bounds = sorted({*cuts, len(text)})
    return [(a, b) for a, b in pairwise(bounds) if text[a:b].strip(" ,;")]


def negate_status_word(crit: Criterion) -> None:
    """ "Non-smoker" is the negation of "smoker": the concept a record can show."""
    if crit.concept is None:
        return
    m = _STATUS_NEGATION.match(crit.concept.text.strip())
    if m:
        crit.concept = Concept(m.group("word"), crit.concept.codes)
        crit.negated = not crit.negated


def _first_position(found: list[Criterion]) -> float:
    """Where a competing extractor's first concept starts; nothing found sorts last."""
    starts = [e.start for c in found for e in c.entities[:1]]
    return min(starts) if starts else (float("inf") if not found else 1e9)


def recognised(p: Prepared) -> list[Entity]:
    """Everything recognised in a segment (segment-text offsets), for OTHER criteria."""
    found = [(s.type, s.start, s.end) for s in p.spans]
    found += [("Value", q.start, q.end) for q in p.quantities]
    found += [("Temporal", w.start, w.end) for w in p.windows]
    found += [("Negation", a, b) for a, b, _, _ in p.negation_scopes]
    found.sort(key=lambda t: (t[1], -t[2]))
    return [Entity(t, p.text[a:b], a, b) for t, a, b in found if b > a]


def _to_source(seg: Segment, entities: list[Entity]) -> list[Entity]:
    out: list[Entity] = []
    seen: set[tuple[str, int, int]] = set()
    for e in entities:
        a, b = e.start, e.end
        while a < b and seg.text[a] in _TRIM:
            a += 1
        while b > a and seg.text[b - 1] in _TRIM + ")":
            if seg.text[b - 1] == ")" and seg.text[a:b].count("(") >= seg.text[a:b].count(")"):
                break
            b -= 1
        if b <= a:
            continue
        start, end = seg.source_span(a, b)
        key = (e.type, start, end)
        if key not in seen:
            seen.add(key)
            out.append(Entity(e.type, seg.text[a:b], start, end))
    return out


def _group_definitions(segment: Segment, found: list[Criterion]) -> list[Criterion]:
    """ "X, as determined by lab A or lab B": one definition group of X, A and B, not X and A
    and B (a value establishes the condition; so does the condition named). A value in
    parentheses or after "i.e." defines the one condition of an exclusion the same way
    ("uncontrolled hypertension (SBP > 180)"); in a requirement it more often narrows it
    ("OSA (AHI >= 15)": the diagnosis alone does not meet it), so there it stays a part."""
    free = [c for c in found if not c.group]
    conditions = [c for c in free if c.category == Category.CONDITION and not c.negated]
    labs = [c for c in free if c.category == Category.LAB]
    if not conditions or not labs:
        return found
    inline = (
        segment.kind == CriterionKind.EXCLUSION
        and len(conditions) == 1
        and _INLINE_DEFINITION.search(segment.text) is not None
    )
    if not inline and not _DEFINITION.search(segment.text):
        return found
    group = f"{DEFINITION_GROUP}{segment.start}"
    for crit in [*conditions, *labs]:
        crit.group = group
    return found


def _group_narrowing(segment: Segment, found: list[Criterion]) -> list[Criterion]:
    """ "Abdominal pain with NRS <= 5" in an exclusion: the value narrows the condition right
    before it, so the pain alone must not exclude (one narrowed group per condition)."""
    if segment.kind != CriterionKind.EXCLUSION:
        return found
    free = [c for c in found if not c.group and not c.negated and c.entities]
    conditions = [c for c in free if c.category == Category.CONDITION]
    for lab in (c for c in free if c.category == Category.LAB):
        at = min(e.start for e in lab.entities)
        before = [c for c in conditions if max(e.end for e in c.entities) <= at]
        if not before:
            continue
        end = max(max(e.end for e in c.entities) for c in before)
        condition = next(c for c in before if max(e.end for e in c.entities) == end)
        if _WITH.fullmatch(segment.text[end:at]):
            condition.group = lab.group = f"{NARROWED_GROUP}{segment.start}:{end}"
    return found


def _group_alternatives(segment: Segment, found: list[Criterion]) -> list[Criterion]:
    """ "A respiratory rate of at least 20/min or a PaCO2 of 32 mmHg or lower or mechanical
    ventilation": facets found by different extractors, joined only by "or", are one OR group.
    Lists one extractor finds are grouped by it; this joins what no one extractor saw whole."""
    free = [c for c in found if not c.group and not c.negated and c.entities]
    if len(free) < 2:
        return found
    free.sort(key=lambda c: min(e.start for e in c.entities))
    for a, b in pairwise(free):
        gap = segment.text[max(e.end for e in a.entities) : min(e.start for e in b.entities)]
        if not _OR.search(gap) or _AND.search(gap):
            return found
    for crit in free:
        crit.group = f"alt{segment.start}"
    return found


def _group_contradictions(found: list[Criterion]) -> list[Criterion]:
    """ "VT with syncope, or VT without syncope": a requirement cannot ask for a concept and
    for its absence at once, so a negated facet whose concept is also asked for is another
    alternative, in the group of the one asked for (or a new group of the two)."""
    asked: dict[str, Criterion] = {}
    for c in found:
        if c.concept and not c.negated and c.entities:
            key = c.concept.text.lower()
            if key not in asked or (c.group and not asked[key].group):
                asked[key] = c  # an alternative already in an OR group first
    for crit in found:
        if not (crit.negated and crit.concept and crit.kind == CriterionKind.INCLUSION):
            continue
        other = asked.get(crit.concept.text.lower())
        if other is None:
            continue
        other.group = other.group or f"alt{other.span_start}:{crit.concept.text.lower()}"
        crit.group = other.group
    return found


def assign_ids(per_segment: Iterable[list[Criterion]], id_prefix: str) -> list[Criterion]:
    """Number criteria in text order and turn group keys into per-trial group ids."""
    out: list[Criterion] = []
    groups: dict[str, str] = {}
    for criteria in per_segment:
        for crit in criteria:
            crit.id = f"{id_prefix}{len(out) + 1}"
            if crit.group:
                kind = group_prefix(crit.group)
                crit.group = groups.setdefault(crit.group, f"{kind}{id_prefix}g{len(groups) + 1}")
            out.append(crit)
    return out
