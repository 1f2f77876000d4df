"""Cut one list item (a paragraph) into criteria: inline numbering, PDQ label runs, sentences.

Works on the item's cleaned text (words joined by single spaces) with a word-level map back to
the source, so every cut keeps exact source offsets whatever line wrapping, indentation or
`\\r\\n` the source had.

- "(1) a ... (2) b ..." numbered inline: cut at the numbers, only when they run in sequence
  from the item's own marker "1", so a stray "(2)" inside a sentence never cuts.
- PDQ runs (old NCI protocols flattened to one paragraph: "Age: 18 and over Performance
  status: ECOG 0-2 Hepatic: Bilirubin no greater than 1.5 mg/dL Renal: ..."): cut at the
  known labels (they become the piece's context) and before a capitalised word that starts a
  new statement after a number, unit or lower-case word ("3500/mm3 Platelet count ...").
- Long paragraphs (prose protocols) are cut into sentences so that each criterion states one
  thing; short items are never sentence-split (a two-sentence bullet is usually one rule).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from nlp.rules_loader import HeadingRules


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of an item: cleaned text, source span, word map and optional label context.

    `alt_prev`: the piece began with "OR" (dropped from its text): it is an alternative of the
    piece before it ("Creatinine < 1.5 mg/dL OR Creatinine clearance >= 60 mL/min").
    """

    text: str
    start: int
    end: int
    pieces: tuple[tuple[int, int], ...]
    context: str = ""
    alt_prev: bool = False


@dataclass(frozen=True, slots=True)
class Flat:
    """An item's cleaned text and, per word, (offset in text, offset in source)."""

    text: str
    words: tuple[tuple[int, int], ...]

    @classmethod
    def from_spans(cls, source: str, spans: list[tuple[int, int]]) -> Flat:
        words: list[tuple[int, int]] = []
        chunks: list[str] = []
        pos = 0
        for a, b in spans:
            for m in re.finditer(r"\S+", source[a:b]):
                if chunks:
                    chunks.append(" ")
                    pos += 1
                words.append((pos, a + m.start()))
                chunks.append(m.group())
                pos += len(m.group())
        return cls("".join(chunks), tuple(words))

    def src(self, i: int) -> int:
        n = bisect.bisect_right(self.words, (i, float("inf"))) - 1
        tpos, spos = self.words[max(n, 0)]
        return spos + max(i - tpos, 0)

    def part(self, a: int, b: int, context: str = "") -> Part | None:
        """The stripped piece text[a:b], or None when it holds no letter or digit."""
        raw = self.text[a:b]
        lead = len(raw) - len(raw.lstrip())
        a, b = a + lead, a + len(raw.rstrip())
        if b <= a or not any(c.isalnum() for c in self.text[a:b]):
            return None
        lo = bisect.bisect_left(self.words, (a, -1))
        if lo >= len(self.words) or self.words[lo][0] != a:
            lo = max(lo - 1, 0)
        hi = bisect.bisect_left(self.words, (b, -1))
        pieces = tuple((max(t - a, 0), s + max(a - t, 0)) for t, s in self.words[lo:hi])
        return Part(self.text[a:b], self.src(a), self.src(b - 1) + 1, pieces, context)


def split_item(flat: Flat, marker: str, rules: HeadingRules) -> list[Part]:
    """All criteria in one item, in order (at least one unless the item is empty)."""
    out: list[Part] = []
    for a, b in _enumerated(flat.text, marker):
        for c, d, label in _glued(flat.text, _pdq(flat.text, a, b, rules), rules):
            for e, f in _sentences(flat.text, c, d, rules):
                code = _CODE.match(flat.text, e, f)
                e = code.end() if code else e
                while tag := _TAG.match(flat.text, e, f):
                    e, label = tag.end(), ": ".join(x for x in (label, tag.group("tag")) if x)
                alt = _LEADING_OR.match(flat.text, e, f)
                part = flat.part(alt.end() if alt and out else e, f, label)
                if part is not None:
                    out.append(replace(part, alt_prev=bool(alt and len(out))))
    return out


def _enumerated(text: str, marker: str) -> list[tuple[int, int]]:
    first = re.fullmatch(r"\(?1([.)])", marker)
    if first is None:
        return [(0, len(text))]
    close = re.escape(first.group(1))
    open_ = r"\(" if marker.startswith("(") else r"(?<![\w.])"
    cuts: list[tuple[int, int]] = []  # (number start, text start)
    n, pos = 2, 0
    while m := re.compile(rf"{open_}{n}{close}(?:\s|$)").search(text, pos):
        cuts.append((m.start(), m.end()))
        pos, n = m.end(), n + 1
    if not cuts:
        return [(0, len(text))]
    bounds = [(0, 0), *cuts]
    ends = [c[0] for c in cuts] + [len(text)]
    return [(start, end) for (_, start), end in zip(bounds, ends, strict=True)]


@cache
def _label_re(labels: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(sorted(labels, key=len, reverse=True))
    return re.compile(rf"(?<![\w/])(?P<label>{alternation})\s*:\s*", re.IGNORECASE)


# Item codes some protocols number criteria with: "E-13.", "I-12.", "4.1.1.".
_CODE = re.compile(r"\s*(?:[A-Z]{1,2}-?\d{1,2}\.|\d{1,2}(?:\.\d{1,2}){1,3}\.?)\s+(?=\S)")
# A leading tag that says which part of the study a criterion is for: context, not text.
_TAG = re.compile(
    r"\s*(?P<tag>(?:PRE-?|POST-?)?(?:REGISTRATION|RANDOMI[SZ]ATION|SCREENING|ENROLL?MENT)|Notes?|NOTES?|"
    r"(?i:cohort|part|arm|group|phase|step|substudy|sub-study) [A-Z0-9IVX]{1,4}):\s+(?=\S)"
)
_LEADING_OR = re.compile(r"\s*(?:OR|or|Or)\s+(?=\S)")
_UNIT_TOKEN = re.compile(
    r"^(?:\S*\d\S*|\S*/\S+|%|L|mL|dL|mg|g|kg|mm|cm|U|IU|ULN|LLN|Gy|Hg|mmHg|years?|months?|weeks?|days?)[.,;)]*$"
)
_NO_CUT_BEFORE = re.compile(r"^(?:ULN|LLN|x|X|IU|U|L|Hg|Gy|Grade|NCI|CTCAE|I{1,3}|IV|V)\b")
_STATUS = re.compile(r"^(?:negative|positive|seronegative|seropositive)\b", re.IGNORECASE)
_GLUE = re.compile(
    r"^(?:and|or|nor|with|without|of|to|the|a|an|no|not|than|by|for|in|at|on|from|per|"
    r"including|e\.g\.|i\.e\.|as|if|is|are|be|who|which|that|any|all|both|either|other)$",
    re.IGNORECASE,
)


def _pdq(text: str, a: int, b: int, rules: HeadingRules) -> Iterator[tuple[int, int, str]]:
    rx = _label_re(tuple(rules.inline_labels))
    hits = list(rx.finditer(text, a, b))
    if not hits or (len(hits) < 2 and hits[0].start() != a):
        yield a, b, ""
        return
    if hits[0].start() > a:
        yield from _statements(text, a, hits[0].start(), "")
    for n, hit in enumerate(hits):
        end = hits[n + 1].start() if n + 1 < len(hits) else b
        yield from _statements(text, hit.end(), end, hit.group("label").strip())


def _glued(
    text: str, pieces: Iterator[tuple[int, int, str]], rules: HeadingRules
) -> Iterator[tuple[int, int, str]]:
    """Cut long unlabelled pieces that are whole lists glued into one paragraph.

    Some registry exports join a protocol's bullet lines with spaces ("... are eligible
    Karnofsky performance status of >= 60% Patients - both males ..."): one "criterion" of
    2,000 characters whose parts then all share one verdict. Such a piece is cut where new
    statements start, but only when that yields many statements: in an ordinary long sentence
    one capitalised name ("treated Stage I cancer") would otherwise cut it wrongly.
    """
    for a, b, label in pieces:
        if label or b - a < rules.glued_list_min_chars:
            yield a, b, label
            continue
        cuts = list(_statements(text, a, b, label))
        if len(cuts) < rules.glued_list_min_statements:
            yield a, b, label
            continue
        yield from cuts


def _statements(text: str, a: int, b: int, label: str) -> Iterator[tuple[int, int, str]]:
    """Cut a PDQ label body before capitalised words that start a new statement."""
    tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text[a:b])]
    start = 0
    depth = 0
    for n, ((_, prev), (pos, tok)) in enumerate(itertools.pairwise(tokens)):
        depth += prev.count("(") - prev.count(")")
        nxt = tokens[n + 2][1] if n + 2 < len(tokens) else ""
        if depth > 0 or not _starts_statement(prev, tok, nxt):
            continue
        yield a + start, a + pos, label
        start = pos
    yield a + start, b, label


def _starts_statement(prev: str, tok: str, nxt: str) -> bool:
    if tok == "OR" and nxt[:1].isupper():
        return True  # "... since prior steroids OR Stable steroid dose ..." (an alternative)
    if not tok[0].isupper() or _NO_CUT_BEFORE.match(tok) or prev[-1] in ",;:(/-":
        return False
    if _GLUE.match(prev.strip(".,")):
        return False
    after_value = bool(_UNIT_TOKEN.match(prev)) or prev.endswith((")", "%"))
    if tok.isupper() or any(c.isdigit() for c in tok):
        # "30 L/min FEV1 at least 1.0 L", "No poorly controlled diabetes HIV negative";
        # never "No NYHA", "degenerative CNS disease" or "history of HIV".
        return after_value or (prev.islower() and bool(_STATUS.match(nxt)))
    # Never inside a name: "New York Heart Association", "Ann Arbor".
    return not (prev[0].isupper() and not after_value)


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z(])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|Dr|No|approx|al|St|Fig|Ref|min|max|incl|resp|mg|Inc|Ltd|Jr|Sr)"
    r"|\b[A-Z])\.$"
)


def _sentences(text: str, a: int, b: int, rules: HeadingRules) -> Iterator[tuple[int, int]]:
    if b - a < rules.sentence_split_min_chars:
        yield a, b
        return
    start = a
    depth = 0
    last = a
    for m in _SENTENCE_END.finditer(text, a, b):
        depth += text.count("(", last, m.start()) - text.count(")", last, m.start())
        last = m.start()
        if depth > 0 or _ABBREVIATION.search(text, max(a, m.start() - 8), m.start()):
            continue
        if m.start() - start < rules.sentence_min_chars:
            continue
        yield start, m.start()
        start = m.end()
    yield start, b
