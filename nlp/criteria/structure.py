"""The list structure of a textblock's items: exception children and alternatives.

Decisions (see split.py for the rest):
- The children of an exception line ("History of cancer, except:") are part of that
  criterion: as separate exclusions they would exclude exactly the patients the protocol
  lets in, so they are merged into the parent item.
- Items are alternatives (one OR group) when they are the children of "at least one of the
  following:" (or of "including:", "such as:"), or are joined by a stand-alone "OR" line or a
  trailing "... or". The children of "two or more of the following:" are one count group:
  a patient must meet that many of them, not all (SIRS, Jones, CABP symptom lists).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from matcher.model import CriterionKind, count_group
from nlp.criteria.text import COMMON
from nlp.rules_loader import HeadingRules, load_rules

_RULES = load_rules("headings", HeadingRules)
ANY_OF = re.compile(_RULES.any_of_parent, re.IGNORECASE)
COUNT_OF = re.compile(_RULES.count_parent, re.IGNORECASE)
LABEL_GAP = re.compile(_RULES.list_label_gap, re.IGNORECASE)
EXCEPTION_PARENT = re.compile(_RULES.exception_parent, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ListCue:
    """Where a statement says how many of a list it asks for ("two or more of the
    following"). `named` is true for "... of the following" cues, whose words before the cue
    may only name the list; "including:" and "such as:" cues list examples of what precedes."""

    count: int
    start: int
    end: int
    named: bool


def _number(word: str) -> int:
    if word.isdigit():
        return int(word)
    return int(COMMON.number_words.get(word.lower(), 0))


def list_cue(text: str) -> ListCue | None:
    """The first list cue of a statement, if any."""
    m = COUNT_OF.search(text)
    if m is not None:
        count = _number(m.group("count") or m.group("count_more"))
        if count:
            return ListCue(count, m.start(), m.end(), True)
    m = ANY_OF.search(text)
    if m is not None:
        return ListCue(1, m.start(), m.end(), "following" in m.group().lower())
    return None


@dataclass(slots=True)
class Item:
    """One list item being built: its kind, context, nesting and source spans."""

    kind: CriterionKind
    context: str
    uid: int
    marker_indent: int
    depth: int = 0
    parent_uid: int | None = None
    marker: str = ""
    alt_prev: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)


def item_text(text: str, item: Item) -> str:
    return " ".join(" ".join(text[a:b].split()) for a, b in item.spans)


def _descendants(items: list[Item], n: int) -> int:
    """How many items after items[n] descend from it (they follow it contiguously)."""
    family = {items[n].uid}
    count = 0
    for later in items[n + 1 :]:
        if later.parent_uid not in family:
            break
        family.add(later.uid)
        count += 1
    return count


def merge_exceptions(text: str, items: list[Item]) -> list[Item]:
    """Fold the children of "..., except:" lines into that line's item."""
    out: list[Item] = []
    n = 0
    while n < len(items):
        item = items[n]
        kids = _descendants(items, n) if EXCEPTION_PARENT.search(item_text(text, item)) else 0
        for child in items[n + 1 : n + 1 + kids]:
            item.spans.extend(child.spans)
        out.append(item)
        n += 1 + kids
    return out


def alternatives(text: str, items: list[Item]) -> dict[int, str]:
    """uid -> group for items that are alternatives of one another."""
    root: dict[int, int] = {}

    def find(uid: int) -> int:
        while root.get(uid, uid) != uid:
            uid = root[uid]
        return uid

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            root[max(ra, rb)] = min(ra, rb)

    members: set[int] = set()
    any_parents = list_heads(text, items)
    by_parent: dict[int, list[int]] = {}
    for prev, item in itertools.pairwise([None, *items]):
        if item.parent_uid in any_parents:
            by_parent.setdefault(item.parent_uid, []).append(item.uid)
        if item.alt_prev and prev is not None:
            union(prev.uid, item.uid)
            members.update((prev.uid, item.uid))
    for kids in by_parent.values():
        for kid in kids:
            union(kids[0], kid)
        members.update(kids)
    counts = {find(kids[0]): any_parents[parent] for parent, kids in by_parent.items()}
    return {uid: count_group(counts.get(find(uid), 1), f"s{find(uid)}") for uid in members}


def list_heads(text: str, items: list[Item]) -> dict[int, int]:
    """uid -> how many of its children a list head asks for ("at least one of the
    following:" -> 1, "two or more of the following:" -> 2), for heads that have children."""
    parents = {it.parent_uid for it in items}
    heads: dict[int, int] = {}
    for item in items:
        if item.uid in parents:
            cue = list_cue(item_text(text, item))
            if cue is not None:
                heads[item.uid] = cue.count
    return heads
