"""One segment, analysed once: values, temporal windows, negation scopes, recognised spans.

Extractors ask questions of a `Prepared` segment instead of re-reading its text: is this span
negated, which window belongs to it, which value follows it, which spans are listed together.
Offsets are into `segment.text` (the cleaned criterion); the parser maps them to the source.

Relations, and why they are decided this way:
- negation scope: a cue negates what follows it up to the end of its clause (punctuation,
  "but", an exception or a condition); a post cue ("is not allowed", "HIV negative")
  negates what precedes it. Comparator phrases are already symbols ("no more than" is "<="),
  so they never count as negation.
- temporal -> entity: the first window after the span in the same sentence (so "MI, stroke
  or angina within 6 months" distributes over the list), else a window that opens the
  sentence ("Within 6 months prior to screening: MI or stroke").
- value -> measurement: the first value after the name, before the next name; a name with
  no value of its own in a list ("AST, ALT or GGT <= 10 x ULN") takes the list's value.
- OR/AND: recognised spans of the clinical types joined only by connectors form a list; a
  list with "or" is one OR group, unless it is negated (De Morgan: "no A or B" = no A and
  no B, independent criteria).
- dependent -> head: a clinical span after a modifier connector ("with", "by", "on", "that",
  "for" after a treatment; data in common.yaml) that follows an earlier clinical head in the
  same clause only qualifies it ("No peripheral neuropathy with weakness"). Extractors keep
  it as an entity of the head's criterion; in a ruling-out criterion it must not become a
  facet of its own, which would rule out every patient with weakness.
- deontic negation: in an exclusion, "must not (have had)" restates the exclusion ("A
  subject must not have had any hospitalization for asthma"), so it is no negation cue there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from matcher.model import Criterion, CriterionKind
from nlp.criteria.quantities import Quantity, find_quantities
from nlp.criteria.split import Segment
from nlp.criteria.temporal import Window, find_windows
from nlp.criteria.text import COMMON, Clauses, NormText, normalize_map

_CLAIMING = frozenset({"Person", "Measurement", "Value", "Biomarker"})


@dataclass(frozen=True, slots=True)
class Span:
    """A recognised span in segment-text offsets (`source` is "ner" or "rule")."""

    type: str
    start: int
    end: int
    text: str
    source: str = "rule"


@dataclass(frozen=True, slots=True)
class Located:
    """A value or window with its span in segment-text offsets."""

    item: Quantity | Window
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Timing:
    """What a linked temporal expression means for one concept."""

    window_days: float | None = None
    duration_days: float | None = None
    flips_negation: bool = False
    span: tuple[int, int] | None = None


def _alternation(phrases: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


_CUES = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.negation_cues)})(?![\w])")
_PSEUDO = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.pseudo_negations)})(?![\w])")
_DEONTIC = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.deontic_negations)})(?![\w])")
_POST = re.compile(rf"(?:{_alternation(COMMON.post_negation_cues)})")
_STOP = re.compile(
    rf"[.;:]|\s(?:{_alternation(COMMON.negation_terminators)})(?![\w])"
    rf"|(?<![\w-])(?:{_alternation(COMMON.exception_cues)})(?![\w])"
    rf"|(?<![\w-])(?:{_alternation(COMMON.conditional_cues)})(?![\w])"
)
_SENTENCE = re.compile(r"[;]|\.(?:\s|$)")
_MODIFIER = re.compile(
    r"\s(?:for|due to|caused by|secondary to|to treat|in order to|used to|that|which)\s", re.I
)
_GOVERNS = re.compile(
    r"\s*(?:(?:the|any|a|an|last|prior|previous|most recent|recent|(?:completion|end|"
    r"discontinuation|last dose|start|initiation) of)\s+)*"
)
# An opening window stops reaching forward at a new clause ("At least 4 weeks from major
# surgery and a healed incision": the incision has no window).
_NEW_CLAUSE = re.compile(r"\band (?:a|an|the|have|has|be|is|are|must|should)\b|\b(?:must|should)\b")
_DIAGNOSED = re.compile(r"\bdiagnos\w*|\bonset\b", re.IGNORECASE)
_CONNECTOR = re.compile(
    r"^[\s,]*(?P<conn>and/or|or|and|nor|/|,|&)?[\s,]*(?:(?:other|any|severe|uncontrolled|active|"
    r"chronic|acute|significant|clinically significant|known|prior|previous|current|concurrent|"
    r"recent|history of|a|an|the|of|with)\s+){0,3}$",
    re.IGNORECASE,
)
_MODIFIER_CONNECTORS = [
    (re.compile(rf"(?<![\w-])(?:{c.pattern})(?![\w-])", re.I), frozenset(c.after_types))
    for c in COMMON.modifier_connectors
]
_LIST_BREAK = re.compile(COMMON.list_breaks, re.I)
_EXAMPLES = re.compile(
    r"^\s*[(\[,]?\s*(?:e\.g\.|eg\.?|i\.e\.|such as|including|for example)[,:]?\s*"
)
# "... or both" ending the list (not "or both lungs affected")
_OR_BOTH = re.compile(r"[\s,)]*(?:or|and/or)\s+(?:both|either)\s*(?:[.;,)]|$)", re.I)


@dataclass
class Prepared:
    """A segment plus everything derived from it, computed lazily and once."""

    segment: Segment
    spans: list[Span] = field(default_factory=list)  # from the NER and the entity rules
    found: list[Criterion] = field(default_factory=list)

    # --- text views -------------------------------------------------------------------
    @cached_property
    def text(self) -> str:
        return self.segment.text

    @cached_property
    def norm_map(self) -> NormText:
        return normalize_map(self.segment.text)

    @cached_property
    def norm(self) -> str:
        return self.norm_map.text

    @cached_property
    def clauses(self) -> Clauses:
        return Clauses(self.segment.text)

    @cached_property
    def main(self) -> str:
        return self.segment.text[: self.clauses.main_end]

    def orig(self, a: int, b: int) -> tuple[int, int]:
        """Segment-text span of norm[a:b]."""
        return self.norm_map.span(a, b)

    def is_claimed(self, span: object) -> bool:
        """Does `span` (anything with start/end) overlap what earlier extractors used?"""
        a, b = span.start, span.end  # type: ignore[attr-defined]
        return any(
            e.start < b and a < e.end for c in self.found for e in c.entities if e.type in _CLAIMING
        )

    # --- values and windows -----------------------------------------------------------
    @cached_property
    def windows(self) -> list[Located]:
        return [Located(w, *self.orig(w.start, w.end)) for w in find_windows(self.norm)]

    @cached_property
    def quantities(self) -> list[Located]:
        taken = [(w.item.start, w.item.end) for w in self.windows]
        return [
            Located(q, *self.orig(q.start, q.end))
            for q in find_quantities(self.norm)
            if not any(q.start < e and s < q.end for s, e in taken)
        ]

    def value_after(self, end: int, limit: int, stop: int | None = None) -> Located | None:
        """The first value starting within `limit` characters after `end`, before `stop`."""
        for loc in self.quantities:
            if loc.start < end:
                continue
            if loc.start - end > limit or (stop is not None and loc.start >= stop):
                return None
            gap = self.text[end : loc.start]
            if _SENTENCE.search(gap):
                return None
            return loc
        return None

    # --- negation ---------------------------------------------------------------------
    @cached_property
    def negation_scopes(self) -> list[tuple[int, int, int, int]]:
        """(cue start, cue end, scope start, scope end) in segment-text offsets."""
        norm = self.norm
        pseudo = [m.span() for m in _PSEUDO.finditer(norm)]
        if self.segment.kind == CriterionKind.EXCLUSION:
            pseudo += [m.span() for m in _DEONTIC.finditer(norm)]
        scopes = []
        for m in _CUES.finditer(norm):
            if any(s <= m.start() < e for s, e in pseudo):
                continue
            stop = _STOP.search(norm, m.end())
            end = stop.start() if stop else len(norm)
            cue = self.orig(*m.span())
            scopes.append(
                (
                    cue[0],
                    cue[1],
                    cue[1],
                    self.orig(end, end)[0] if end < len(norm) else len(self.text),
                )
            )
        for m in _POST.finditer(norm):
            if any(s <= m.start() < e for s, e in pseudo):
                continue
            cue = self.orig(*m.span())
            if m.group().lstrip("-").startswith(("negative", "free")):
                words = list(re.finditer(r"[\w+/-]+", self.text[: cue[0]]))[-4:]
                start = words[0].start() if words else cue[0]
                if m.group().startswith("-") and words:
                    start = words[-1].start()
                gap = re.search(r"[,;:(]\s*[^,;:(]*$", self.text[start : cue[0]])
                if gap:
                    start += gap.end() - len(gap.group().lstrip(",;:( "))
            else:
                before = list(re.finditer(r"[.;:]", self.text[: cue[0]]))
                start = before[-1].end() if before else 0
                # The subject is negated, not its modifiers: "Immunotherapy for the
                # treatment of allergies is not allowed" negates immunotherapy only.
                modifier = _MODIFIER.search(self.text, start, cue[0])
                if modifier is not None:
                    scopes.append((cue[0], cue[1], start, modifier.start()))
                    continue
            scopes.append((cue[0], cue[1], start, cue[0]))
        return scopes

    def negated(self, a: int, b: int) -> bool:
        return any(s <= a < e for _, _, s, e in self.negation_scopes)

    def negation_cue(self, a: int, b: int) -> tuple[int, int] | None:
        for ca, cb, s, e in self.negation_scopes:
            if s <= a < e:
                return ca, cb
        return None

    # --- time -------------------------------------------------------------------------
    def timing(self, a: int, b: int, *, event: bool) -> Timing:
        """The window that belongs to text[a:b].

        "since" windows mean "longer ago than": the parser states that as the negated concept
        within the window ("at least 6 months since prior stroke" = no stroke in 6 months),
        except after a diagnosis ("diagnosed at least 6 months ago"), where it is how long the
        condition has lasted. `event` (drugs, procedures) is kept for callers that need it.
        """
        loc = self._window_for(a, b)
        if loc is None:
            return Timing()
        w = loc.item
        assert isinstance(w, Window)
        span = (loc.start, loc.end)
        if w.days is None or w.kind == "future":
            return Timing(span=span)
        if w.kind == "lookback":
            return Timing(window_days=w.days, span=span)
        if w.kind == "since" and not _DIAGNOSED.search(self.text, max(0, loc.start - 25), loc.end):
            return Timing(window_days=w.days, flips_negation=True, span=span)
        return Timing(duration_days=w.days, span=span)

    def _window_for(self, a: int, b: int) -> Located | None:
        main_end = self.clauses.main_end
        for w in self.windows:  # "at least 4 weeks since prior chemotherapy"
            if w.end <= a and _GOVERNS.fullmatch(self.text[w.end : a]):
                return w
        after = [w for w in self.windows if w.start >= b and w.start < main_end]
        if after:
            w = after[0]
            if not _SENTENCE.search(self.text[b : w.start]):
                return w
        before = [w for w in self.windows if w.end <= a]
        if before:
            w = before[-1]
            lead = self.text[: w.start]
            sentence_start = max((m.end() for m in _SENTENCE.finditer(lead)), default=0)
            gap = self.text[w.end : a]
            if (
                not lead[sentence_start:].strip(" ,:-(")
                and not _SENTENCE.search(gap)
                and not _NEW_CLAUSE.search(gap)
            ):
                return w
        return None

    # --- lists ------------------------------------------------------------------------
    def coordination(self, spans: list[Span]) -> list[tuple[list[Span], str]]:
        """Group consecutive spans joined only by connectors: [(members, "or"|"and")]."""
        ordered = sorted(spans, key=lambda s: s.start)
        chains: list[tuple[list[Span], str]] = []
        for span in ordered:
            if chains:
                members, conn = chains[-1]
                gap = self.text[members[-1].end : span.start]
                m = _CONNECTOR.match(gap)
                example = _EXAMPLES.match(gap)
                if m or example:
                    word = (m.group("conn") or "," if m else "e.g.").lower()
                    if word in ("or", "and/or", "nor", "/", "e.g."):
                        conn = "or"
                    elif word in ("and", "&") and conn != "or":
                        conn = "and"
                    members.append(span)
                    chains[-1] = (members, conn)
                    continue
            chains.append(([span], ""))
        # "sepsis, pneumonia, or both": the list is an either-or whatever its commas say
        return [
            (
                members,
                "or" if len(members) > 1 and _OR_BOTH.match(self.text, members[-1].end) else conn,
            )
            for members, conn in chains
        ]

    # --- dependents -------------------------------------------------------------------
    def dependents(self, spans: list[Span], is_head: Callable[[Span], bool]) -> dict[Span, Span]:
        """Spans that only qualify an earlier clinical head of their clause -> that head.

        A span depends on the last head (or dependent) before it when the text between them
        holds a modifier connector and no list break ("Diabetes, prior treatment with
        bevacizumab": the comma starts a new item), or when it is listed with a dependent
        ("on chest x-ray, bone scan, and CT scan") and is of the dependent's type but not the
        head's ("No peripheral neuropathy with weakness or stroke": stroke, a condition like
        the head, may be an item of its own and stays one). Spans `is_head` rejects
        ("treatment" in "Prior treatment with bevacizumab") are neither heads nor dependents.
        """
        out: dict[Span, Span] = {}
        prev: Span | None = None
        for span in sorted(spans, key=lambda s: s.start):
            if prev is not None and prev.end <= span.start:
                gap = self.text[prev.end : span.start]
                root = out.get(prev, prev)
                listed = prev in out and _CONNECTOR.match(gap) is not None
                same_clause = not _SENTENCE.search(gap) and ":" not in gap
                if same_clause and (
                    _connects(gap, prev.type) or (listed and span.type == prev.type != root.type)
                ):
                    out[span] = root
            if span in out or is_head(span):
                prev = span
        return out


def _connects(gap: str, head_type: str) -> bool:
    """Does `gap` hold a modifier connector for a head of `head_type`, and no list break?"""
    for rx, after_types in _MODIFIER_CONNECTORS:
        m = rx.search(gap)
        if m is None or (after_types and head_type not in after_types):
            continue
        if not _LIST_BREAK.search(gap[: m.start()]) and not _LIST_BREAK.search(gap[m.end() :]):
            return True
    return False
