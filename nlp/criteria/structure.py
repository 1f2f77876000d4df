"""The list structure of a textblock's items: exception children and alternatives.

Decisions (see split.py for the rest):
- The children of an exception line ("History of cancer, except:") are part of that
  criterion: as separate exclusions they would exclude exactly the patients the protocol
  lets in, so they are merged into the parent item.
- Items are alternatives (one OR group) when they are the children of "at least one of the
  following:" (or of "including:", "such as:"), or are joined by a stand-alone "OR" line or a
  trailing "... or".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from matcher.model import CriterionKind
from nlp.rules_loader import HeadingRules, load_rules

_RULES = load_rules("headings", HeadingRules)
ANY_OF = re.compile(_RULES.any_of_parent, re.IGNORECASE)
EXCEPTION_PARENT = re.compile(_RULES.exception_parent, re.IGNORECASE)


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
    any_parents = {it.uid for it in items if ANY_OF.search(item_text(text, it))}
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
    return {uid: f"s{find(uid)}" for uid in members}
