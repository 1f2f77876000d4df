"""Segment a ClinicalTrials.gov eligibility textblock into one piece of text per criterion.

The splitter is separate from the parser because every consumer (rules, NER, a UI highlighting
the source) needs the same segments with exact offsets into the submitted text, `\\r\\n`
included. It works line by line because the registry's textblocks are laid out by lines
(bullets, hanging indents, blank-line paragraphs); flattened variants ("inclusion criteria: -
a - b exclusion criteria: ...", PDQ runs "Hepatic: Bilirubin ... Renal: Creatinine ...") are
cut at inline headings, bullets, labels and sentence starts (see `layout.py`).

Decisions:
- Nested bullets are their own segments (a sub-bullet is usually a criterion in its own right),
  with `depth` and `parent` (index of the parent segment in the returned list); the parent line
  is kept too.
- Segments that are alternatives share a `group`: the children of "at least one of the
  following:" and items joined by a stand-alone "OR" line or a trailing "... or".
- The children of an exception line ("History of cancer, except:") are part of that
  criterion, not criteria of their own: as separate exclusions they would exclude exactly the
  patients the protocol lets in. They are merged into the parent segment.
- Headings ("Inclusion Criteria:", "EXCLUSION CRITERIA - Donor:", "Patients must have:")
  switch the kind and are not criteria; short sub-headings ("Hepatic:") become `context`.
- Text before any heading is inclusion. Nothing else is dropped: every non-blank character
  other than headings, bullets and OR/AND connector lines is inside exactly one segment.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from matcher.model import CriterionKind
from nlp.criteria.layout import Flat, split_item
from nlp.criteria.structure import (
    EXCEPTION_PARENT,
    Item,
    alternatives,
    list_cue,
    list_heads,
    merge_exceptions,
)
from nlp.rules_loader import HeadingRules, load_rules


@dataclass(frozen=True, slots=True)
class Segment:
    """One criterion's text, cleaned of bullets and line wraps, mapped back to the source.

    `pieces` holds (offset in `text`, offset in the source) for every word, so that a span
    found in the cleaned text maps to exact source offsets (`source_span`).
    """

    kind: CriterionKind
    text: str
    start: int
    end: int
    depth: int = 0
    parent: int | None = None
    context: str = ""
    group: str = ""
    pieces: tuple[tuple[int, int], ...] = ()
    heads: int = 0  # a list head's count: how many of its children it asks for

    def source_offset(self, i: int) -> int:
        """Source offset of character `i` of `text` (inside the word that contains it)."""
        if not self.pieces:
            return self.start + i
        n = bisect.bisect_right(self.pieces, (i, float("inf"))) - 1
        tpos, spos = self.pieces[max(n, 0)]
        return spos + max(i - tpos, 0)

    def source_span(self, a: int, b: int) -> tuple[int, int]:
        """Source offsets of `text[a:b]` (b exclusive)."""
        if b <= a:
            start = self.source_offset(a)
            return start, start
        return self.source_offset(a), self.source_offset(b - 1) + 1


_RULES = load_rules("headings", HeadingRules)
_QUAL = _RULES.heading_qualifier
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
# Main headings may carry a qualifier ("- Donor", "for cohort B") and may omit the colon at the
# end of a line; the others ("Patients must have:") need their colon.
_LINE_HEADING_RE = [
    (
        kind,
        main,
        re.compile(
            rf"(?:{p})(?P<qual>{_QUAL if main else ''})\s*(?::\s*-?\s*{_EOL if main else ''})", re.I
        ),
    )
    for kind, p in _LINE_HEADINGS
    for main in [(kind, p) in _MAIN_HEADINGS]
]
_MARKER = re.compile(
    r"(?:[-*•·▪●◦‣⁃–]+|o(?=\s)|\(?\d{1,2}[.)](?!\d)|\(\d{1,2}\)"
    r"|\(?(?:[a-zA-Z]|i{1,3}|iv|vi{0,3}|ix|x)[.)](?=\s))\s*"
)
_INLINE_BULLET = re.compile(r"\s(?:[-•*]|\(?\d{1,2}[.)]|\(\d{1,2}\))\s+(?=[^\W\d_]|[<>≥≤(])")
_INLINE_SEMICOLON = re.compile(r";\s+(?=\S)")
_CONNECTOR = re.compile(r"[-\s*_=(]*(?P<word>or|and|and/or)[-\s*_=):]*", re.IGNORECASE)
_TRAILING_OR = re.compile(r"[\s;,]+(?:or|OR|Or)\s*$")
_LEADING_OR = re.compile(r"^(?:or|OR|Or)\s+")
_BANNER = re.compile(r"[-=*_#~]{2,}\s*(?P<label>[^-=*_#~:]{2,60}?)\s*:?\s*[-=*_#~]{2,}:?")
_LABEL_ANY = re.compile(r"(?<![\w/])(?:" + "|".join(_RULES.inline_labels) + r")\s*:", re.IGNORECASE)
_TERMINAL = (".", ";", "!", "?", ":")
_WRAP_SLACK = 10  # a wrapped line falls short of the wrap width by less than a long word
_WRAP_DEFAULT = 75  # registry textblocks wrap at 80-100 columns, indentation included


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
        return list_cue(body) is None and not EXCEPTION_PARENT.search(body)
    return len(body.split()) >= 2 and body.isupper() and not any(c.isdigit() for c in body)


def _heading_at(content: str) -> tuple[CriterionKind, bool, int, str] | None:
    """(kind, is_main, length, qualifier) if `content` starts with a heading."""
    body = _MARKER.match(content)
    skip = body.end() if body and body.end() < len(content) else 0
    for kind, main, rx in _LINE_HEADING_RE:
        m = rx.match(content, skip)
        if m:
            qual = re.sub(r"^[\s\-–—(]+|[\s)]+$", "", m.group("qual") or "")
            qual = re.sub(r"^(?:for|related to|specific to|applicable to|in|of)\s+", "", qual)
            return kind, main, m.end(), qual
    return None


class _Splitter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.section = CriterionKind.INCLUSION
        self.kind = CriterionKind.INCLUSION
        self.context = ""
        self.item: Item | None = None
        self.items: list[Item] = []
        self.stack: list[tuple[int, int]] = []  # (marker indent, uid) of open list items
        self.blank = True
        self.prev_line = ""
        self.uid = 0
        self.pending_alt = False
        self.wrap_width = _wrap_width(text)

    # --- state changes ----------------------------------------------------------------
    def close(self) -> None:
        if self.item is not None and self.item.spans:
            a, b = self.item.spans[-1]
            m = _TRAILING_OR.search(self.text, a, b)
            if m is not None and m.end() == b and m.start() > a:
                self.item.spans[-1] = (a, m.start())
                self.pending_alt = True
            self.items.append(self.item)
        self.item = None

    def heading(self, kind: CriterionKind, main: bool, label: str, qual: str = "") -> None:
        self.close()
        self.stack.clear()
        self.pending_alt = False
        self.kind = kind
        if main:
            self.section = kind
            self.context = qual
        else:
            self.context = label

    def subheading(self, label: str) -> None:
        self.close()
        self.stack.clear()
        self.pending_alt = False
        self.kind = self.section
        self.context = label

    def new_item(self, indent: int, nested: bool) -> Item:
        self.close()
        parent: int | None = None
        if nested:
            while self.stack and self.stack[-1][0] >= indent:
                self.stack.pop()
            parent = self.stack[-1][1] if self.stack else None
        else:
            self.stack.clear()
        self.uid += 1
        self.item = Item(self.kind, self.context, self.uid, indent, len(self.stack), parent)
        self.item.alt_prev, self.pending_alt = self.pending_alt, False
        if nested:
            self.stack.append((indent, self.uid))
        return self.item

    def add_span(self, start: int, end: int) -> None:
        raw = self.text[start:end]
        lead = len(raw) - len(raw.lstrip())
        trail = len(raw.rstrip())
        if trail > lead and self.item is not None:
            if not self.item.spans and _LEADING_OR.match(raw[lead:]) and self.items:
                self.item.alt_prev = True
            self.item.spans.append((start + lead, start + trail))

    # --- line handling ----------------------------------------------------------------
    def line(self, start: int, line: str) -> None:
        indent = len(line) - len(line.lstrip())
        content = line.strip()
        connector = _CONNECTOR.fullmatch(content)
        if connector is not None:
            self.close()
            self.pending_alt = connector.group("word").lower() != "and"
            self.blank = True
            return
        banner = _BANNER.fullmatch(content)
        if banner is not None:  # "--Disease Characteristics--", "** Cohort B **"
            self.subheading(banner.group("label"))
            self.blank = True
            return
        pos = start + indent
        pieces = self._inline_pieces(content, pos)
        flattened = len(pieces) > 1 or any(isinstance(p, tuple) and p[0] == "h" for p in pieces)
        for piece in pieces:
            if piece[0] == "h":
                _, kind, main, label, qual = piece
                self.heading(kind, main, label, qual)
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
            kind, main, length, qual = head
            label = re.sub(r"^[^\w]+|[\s:\-]+$", "", content[:length])
            pieces.append(("h", kind, main, label, qual))
            offset = length
        at_start = offset == 0
        for m in _INLINE_RE.finditer(content, offset):
            if m.start() > offset:
                pieces.append(("t", pos + offset, pos + m.start(), at_start))
            kind = next(k for n, (k, _) in enumerate(_MAIN_HEADINGS) if m.group(f"i{n}"))
            pieces.append(("h", kind, True, m.group().rstrip(": -"), ""))
            offset, at_start = m.end(), False
        if offset < len(content):
            pieces.append(("t", pos + offset, pos + len(content), at_start))
        return pieces

    def _bullets(self, start: int, end: int, flattened: bool) -> Iterator[tuple[int, int, bool]]:
        """Split a flattened run "- a - b" at its inline bullets (never inside "18 - 65").

        A flattened run without bullets ("inclusion criteria: a; b; c") is cut after its
        semicolons instead.
        """
        raw = self.text[start:end]
        # The bullet must be followed by a word, so "18 - 65" is never cut.
        cuts = _sequenced(raw, [m.start() + 1 for m in _INLINE_BULLET.finditer(raw)])
        starts_bulleted = _MARKER.match(raw.lstrip()) is not None
        if flattened and not cuts:
            cuts = [m.end() for m in _INLINE_SEMICOLON.finditer(raw)]
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
        if prev.endswith(":") and len(prev) >= self.wrap_width and _LABEL_ANY.search(prev):
            return True  # a wrapped PDQ run: "... 100,000/mm3 Hepatic:", "... 3 years except:"
        if prev.endswith(_TERMINAL):
            return False
        return len(prev) >= self.wrap_width or indent > self.item.marker_indent

    # --- structure --------------------------------------------------------------------
    def finish(self) -> list[Segment]:
        self.close()
        items = merge_exceptions(self.text, self.items)
        groups = alternatives(self.text, items)
        heads = list_heads(self.text, items)
        index: dict[int, int] = {}
        out: list[Segment] = []
        for item in items:
            parent = index.get(item.parent_uid) if item.parent_uid is not None else None
            index[item.uid] = len(out)
            flat = Flat.from_spans(self.text, item.spans)
            parts = split_item(flat, item.marker, _RULES)
            for n, part in enumerate(parts):
                group = groups.get(item.uid, "")
                if not group and (part.alt_prev or (n + 1 < len(parts) and parts[n + 1].alt_prev)):
                    run = n
                    while run > 0 and parts[run].alt_prev:
                        run -= 1
                    group = f"s{item.uid}.{run}"
                context = part.context or item.context
                out.append(
                    Segment(
                        item.kind,
                        part.text,
                        part.start,
                        part.end,
                        item.depth,
                        parent,
                        context,
                        group,
                        part.pieces,
                        heads.get(item.uid, 0) if n == len(parts) - 1 else 0,
                    )
                )
        return out


def _sequenced(raw: str, cuts: list[int]) -> list[int]:
    """Keep dash bullets, and numbered ones only when they count up: "(1) a (2) b" is a list,
    "score of Mild (2) or Moderate (3)" is not."""
    first = re.match(r"\s*\(?(\d{1,2})[.)]", raw)
    expected = int(first.group(1)) + 1 if first else 1
    out: list[int] = []
    for cut in cuts:
        number = re.match(r"\(?(\d{1,2})[.)]", raw[cut:])
        if number is None:
            out.append(cut)
        elif int(number.group(1)) == expected:
            out.append(cut)
            expected += 1
    return out


def _wrap_width(text: str) -> int:
    """The length from which a line ending mid-sentence counts as wrapped.

    Learnt from the text itself: lines followed by a lower-case continuation were certainly
    wrapped, so the shortest of them (less a word) is the block's wrap width. Without such
    evidence a block whose lines are one criterion each is not glued together.
    """
    lines = text.splitlines()
    continued = [
        len(a.rstrip())
        for a, b in itertools.pairwise(lines)
        if a.strip() and b.strip() and b.strip()[0].islower()
    ]
    if continued:
        return min(continued) - _WRAP_SLACK
    # Without such evidence, a wrapped block still shows several lines close to its width;
    # a block of one criterion per line has lengths all over the place and is not wrapped.
    lengths = [len(line.rstrip()) for line in lines if line.strip()]
    top = max(lengths, default=0)
    near = sum(n >= top - _WRAP_SLACK for n in lengths)
    return max(top - _WRAP_SLACK, _WRAP_DEFAULT) if near >= 3 and top <= 130 else 10**6


def split_criteria(text: str) -> list[Segment]:
    """Split an eligibility textblock into criteria; see the module docstring for the rules."""
    splitter = _Splitter(text)
    for start, line in _lines(text):
        if any(c.isalnum() for c in line):
            splitter.line(start, line)
        else:
            splitter.blank = True
    return splitter.finish()
