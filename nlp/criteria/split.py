"""Segment a ClinicalTrials.gov eligibility textblock into one piece of text per criterion.

The splitter is deliberately separate from the parser: the later spaCy NER pipeline will replace
the parser but still needs the same segments, and the offsets let a UI highlight the source text
of every criterion. It works line by line because the registry's textblocks are laid out by
lines (bullets, hanging indents, blank-line paragraphs); a flattened single-line variant is
handled by splitting at inline headings and inline bullets first.

Decisions:
- Nested bullets are emitted as their own segments (a sub-bullet is usually a criterion in its
  own right, e.g. lab limits under "Hepatic:"), with `depth` and `parent` (the index of the
  parent segment in the returned list) so that a consumer can re-attach them; the parent line
  ("... at least one of the following:") is kept as a segment too.
- Headings ("Inclusion Criteria:", "Patients must have:", "Excluded:") switch the kind and are
  not criteria; short sub-headings ("Disease characteristics:", "Hepatic:") become `context`.
- Text before any heading is inclusion. Nothing else is dropped: every other non-blank
  character ends up inside exactly one segment.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from matcher.model import CriterionKind
from nlp.rules_loader import HeadingRules, load_rules


@dataclass(frozen=True, slots=True)
class Segment:
    """One criterion's text, cleaned, with offsets into the original textblock."""

    kind: CriterionKind
    text: str
    start: int
    end: int
    depth: int = 0
    parent: int | None = None
    context: str = ""


_RULES = load_rules("headings", HeadingRules)
_MAIN_HEADINGS = [
    (CriterionKind(sec.kind), p) for sec in _RULES.sections if sec.inline for p in sec.patterns
]
_LINE_HEADINGS = [(CriterionKind(sec.kind), p) for sec in _RULES.sections for p in sec.patterns]
# Inline (mid-line) headings need their colon: "exclusion criteria" inside a sentence is prose.
_INLINE_RE = re.compile(
    r"(?<![\w])(?:"
    + "|".join(f"(?P<i{n}>{p})" for n, (_, p) in enumerate(_MAIN_HEADINGS))
    + r")\s*:\s*-?",
    re.IGNORECASE,
)
_EOL = r"|-?\s*$"
# Main headings may omit the colon at the end of a line; others ("Patients must have:") need it.
_LINE_HEADING_RE = [
    (kind, main, re.compile(rf"(?:{p})\s*(?::\s*-?\s*{_EOL if main else ''})", re.I))
    for kind, p in _LINE_HEADINGS
    for main in [(kind, p) in _MAIN_HEADINGS]
]
_MARKER = re.compile(
    r"(?:[-*•·▪●◦‣⁃–]+|o(?=\s)|\(?\d{1,2}[.)](?!\d)|\(\d{1,2}\)"
    r"|\(?(?:[a-zA-Z]|i{1,3}|iv|vi{0,3}|ix|x)[.)](?=\s))\s*"
)
_INLINE_BULLET = re.compile(r"\s(?:[-•*]|\(?\d{1,2}[.)]|\(\d{1,2}\))\s+(?=[^\W\d_]|[<>≥≤(])")
_TERMINAL = (".", ";", "!", "?", ":")
_WRAP_WIDTH = 60  # a line at least this long that ends mid-sentence was wrapped


@dataclass(slots=True)
class _Item:
    kind: CriterionKind
    context: str
    uid: int
    marker_indent: int
    depth: int = 0
    parent_uid: int | None = None
    marker: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for m in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n|$)", text):
        if m.start() == len(text) and not m.group():
            break
        yield m.start(), m.group().rstrip("\r\n")


def _is_subheading(body: str) -> bool:
    """A short label line: "Hepatic:", "Prior concurrent therapy:", "MAIN STUDY ENROLLMENT"."""
    if len(body) > _RULES.subheading_max_chars or len(body.split()) > _RULES.subheading_max_words:
        return False
    if body.endswith(":"):
        return True
    return len(body.split()) >= 2 and body.isupper() and not any(c.isdigit() for c in body)


def _heading_at(content: str) -> tuple[CriterionKind, bool, int] | None:
    """(kind, is_main, length of the heading) if `content` starts with a heading."""
    body = _MARKER.match(content)
    skip = body.end() if body and body.end() < len(content) else 0
    for kind, main, rx in _LINE_HEADING_RE:
        m = rx.match(content, skip)
        if m:
            return kind, main, m.end()
    return None


class _Splitter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.section = CriterionKind.INCLUSION
        self.kind = CriterionKind.INCLUSION
        self.context = ""
        self.item: _Item | None = None
        self.items: list[_Item] = []
        self.stack: list[tuple[int, int]] = []  # (marker indent, uid) of open list items
        self.blank = True
        self.prev_line = ""
        self.uid = 0

    # --- state changes ----------------------------------------------------------------
    def close(self) -> None:
        if self.item is not None and self.item.spans:
            self.items.append(self.item)
        self.item = None

    def heading(self, kind: CriterionKind, main: bool, label: str) -> None:
        self.close()
        self.stack.clear()
        self.kind = kind
        if main:
            self.section = kind
            self.context = ""
        else:
            self.context = label

    def subheading(self, label: str) -> None:
        self.close()
        self.stack.clear()
        self.kind = self.section
        self.context = label

    def new_item(self, indent: int, nested: bool) -> _Item:
        self.close()
        parent: int | None = None
        if nested:
            while self.stack and self.stack[-1][0] >= indent:
                self.stack.pop()
            parent = self.stack[-1][1] if self.stack else None
        else:
            self.stack.clear()
        self.uid += 1
        self.item = _Item(self.kind, self.context, self.uid, indent, len(self.stack), parent)
        if nested:
            self.stack.append((indent, self.uid))
        return self.item

    def add_span(self, start: int, end: int) -> None:
        raw = self.text[start:end]
        lead = len(raw) - len(raw.lstrip())
        trail = len(raw.rstrip())
        if trail > lead and self.item is not None:
            self.item.spans.append((start + lead, start + trail))

    # --- line handling ----------------------------------------------------------------
    def line(self, start: int, line: str) -> None:
        indent = len(line) - len(line.lstrip())
        content = line.strip()
        pos = start + indent
        pieces = self._inline_pieces(content, pos)
        flattened = len(pieces) > 1 or any(isinstance(p, tuple) and p[0] == "h" for p in pieces)
        for piece in pieces:
            if piece[0] == "h":
                _, kind, main, label = piece
                self.heading(kind, main, label)
                continue
            _, p_start, p_end, at_line_start = piece
            for b_start, b_end, first in self._bullets(p_start, p_end, flattened):
                self.piece(b_start, b_end, indent, at_line_start and first)
        self.prev_line = line
        self.blank = False

    def _inline_pieces(self, content: str, pos: int) -> list[tuple]:
        pieces: list[tuple] = []
        head = _heading_at(content)
        offset = 0
        if head is not None:
            kind, main, length = head
            label = re.sub(r"^[^\w]+|[\s:\-]+$", "", content[:length])
            pieces.append(("h", kind, main, label))
            offset = length
        at_start = offset == 0
        for m in _INLINE_RE.finditer(content, offset):
            if m.start() > offset:
                pieces.append(("t", pos + offset, pos + m.start(), at_start))
            kind = next(k for n, (k, _) in enumerate(_MAIN_HEADINGS) if m.group(f"i{n}"))
            pieces.append(("h", kind, True, m.group().rstrip(": -")))
            offset, at_start = m.end(), False
        if offset < len(content):
            pieces.append(("t", pos + offset, pos + len(content), at_start))
        return pieces

    def _bullets(self, start: int, end: int, flattened: bool) -> Iterator[tuple[int, int, bool]]:
        """Split a flattened run "- a - b" at its inline bullets (never inside "18 - 65")."""
        raw = self.text[start:end]
        # The bullet must be followed by a word, so "18 - 65" is never cut.
        cuts = [m.start() + 1 for m in _INLINE_BULLET.finditer(raw)]
        starts_bulleted = _MARKER.match(raw.lstrip()) is not None
        if not cuts or not (flattened or (starts_bulleted and len(cuts) >= 2)):
            yield start, end, True
            return
        bounds = [0, *cuts, len(raw)]
        for n, (a, b) in enumerate(itertools.pairwise(bounds)):
            yield start + a, start + b, n == 0

    def piece(self, start: int, end: int, indent: int, at_line_start: bool) -> None:
        raw = self.text[start:end]
        marker = _MARKER.match(raw)
        has_marker = marker is not None and marker.end() > 0
        body_start = start + (marker.end() if has_marker and marker else 0)
        body = self.text[body_start:end].strip()
        wrapped = not (self.blank or self.item is None) and self._continues(body, indent)
        if not has_marker and at_line_start and not wrapped and _is_subheading(body):
            self.subheading(body.rstrip(": "))
            return
        if has_marker or not at_line_start or self.item is None or self.blank:
            if not body and not has_marker:
                return
            item = self.new_item(indent, nested=has_marker or at_line_start)
            item.marker = marker.group().strip() if has_marker and marker else ""
        elif not wrapped:
            self.new_item(indent, nested=True)
        self.add_span(body_start, end)

    def _continues(self, body: str, indent: int) -> bool:
        """Is this unbulleted line the wrapped continuation of the current criterion?"""
        assert self.item is not None
        if not self.item.spans or not body or body[0].islower() or body[0] in "([,;&/-–":
            return True
        prev = self.prev_line.rstrip()
        if prev.endswith(_TERMINAL):
            return False
        return len(prev) >= _WRAP_WIDTH or indent > self.item.marker_indent

    def finish(self) -> list[Segment]:
        self.close()
        index: dict[int, int] = {}
        out: list[Segment] = []
        for item in self.items:
            parent = index.get(item.parent_uid) if item.parent_uid is not None else None
            index[item.uid] = len(out)
            for spans in _enumerated(self.text, item):
                start, end = spans[0][0], spans[-1][1]
                text = " ".join(" ".join(self.text[a:b].split()) for a, b in spans)
                out.append(Segment(item.kind, text, start, end, item.depth, parent, item.context))
        return out


def _enumerated(text: str, item: _Item) -> list[list[tuple[int, int]]]:
    """Split a paragraph numbered inline, "(1) a ... (2) b ...", at its numbers.

    Only items that themselves start with number 1 qualify, and the numbers must run in
    sequence, so a stray "(2)" inside a sentence never cuts it.
    """
    first = re.fullmatch(r"\(?1([.)])", item.marker)
    if first is None:
        return [item.spans]
    close = re.escape(first.group(1))
    open_ = r"\(" if item.marker.startswith("(") else r"(?<![\w.])"
    cuts: list[int] = []
    n = 2
    for a, b in item.spans:
        pos = a
        while m := re.compile(rf"{open_}{n}{close}(?:\s|$)").search(text, pos, b):
            cuts.append(m.start())
            pos, n = m.end(), n + 1
    if not cuts:
        return [item.spans]
    groups: list[list[tuple[int, int]]] = [[]]
    bounds = iter([*cuts, None])
    cut = next(bounds)
    for a, b in item.spans:
        while cut is not None and a <= cut < b:
            if cut > a and text[a:cut].strip():
                groups[-1].append((a, a + len(text[a:cut].rstrip())))
            groups.append([])
            nxt = re.match(r"\(?\d+[.)]\s*", text[cut:b])
            a = cut + (nxt.end() if nxt else 0)
            cut = next(bounds)
        if text[a:b].strip():
            groups[-1].append((a, b))
    return [g for g in groups if g]


def split_criteria(text: str) -> list[Segment]:
    """Split an eligibility textblock into criteria; see the module docstring for the rules."""
    splitter = _Splitter(text)
    for start, line in _lines(text):
        if any(c.isalnum() for c in line):
            splitter.line(start, line)
        else:
            splitter.blank = True
    return splitter.finish()
