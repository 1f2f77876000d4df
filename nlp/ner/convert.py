"""Chia criteria → spaCy training docs (DocBin), one doc per criterion line.

spaCy's NER predicts one non-overlapping sequence of contiguous spans, while Chia's gold keeps
nested, overlapping and discontinuous entities. The training target is therefore a choice:

- a discontinuous entity is trained as its enclosing span ("in-dwelling lines or ports" for
  Device "in-dwelling ... ports"), because that is the contiguous span that scores as a strict
  match (see `nlp.chia.metrics`), but with a lower weight than a contiguous one;
- overlapping entities are resolved by weighted interval scheduling (the set of
  non-overlapping spans with the largest total weight), so two nested conditions
  ("breast cancer" in "metastatic breast cancer or lymphoma") beat their container when that
  recovers more gold entities, and the evaluated types outweigh the auxiliary ones;
- a gold span whose edges fall inside a token (0.4 % with our tokenizer) is widened to whole
  tokens when that at most adds a few characters; otherwise its tokens are marked *missing*
  rather than "outside", so that an annotation slip does not teach the model a false negative.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from nlp.chia.loader import EVAL_TYPES, Criterion, Entity

AUX_TYPES: tuple[str, ...] = ("Device", "Negation", "Qualifier", "Multiplier")
LABELS: tuple[str, ...] = (*EVAL_TYPES, *AUX_TYPES)

_WEIGHT_EVAL = 1.0
_WEIGHT_AUX = 0.6
_DISCONTINUOUS_FACTOR = 0.7
_MAX_WIDENING = 3  # characters a misaligned span may grow by when snapped to tokens


@dataclass(frozen=True, slots=True)
class Candidate:
    label: str
    start: int
    end: int
    weight: float


def candidates(entities: Iterable[Entity], labels: Sequence[str] = LABELS) -> list[Candidate]:
    keep = set(labels)
    out = []
    for e in entities:
        if e.type not in keep:
            continue
        w = _WEIGHT_EVAL if e.type in EVAL_TYPES else _WEIGHT_AUX
        if e.discontinuous:
            w *= _DISCONTINUOUS_FACTOR
        out.append(Candidate(e.type, e.start, e.end, w))
    return out


def non_overlapping(cands: Sequence[Candidate]) -> list[Candidate]:
    """Weighted interval scheduling: the non-overlapping subset of largest total weight.

    Ties go to the earlier-ending, then shorter, span (deterministic).
    """
    order = sorted(set(cands), key=lambda c: (c.end, c.start, c.label))
    ends = [c.end for c in order]
    best = [0.0] * (len(order) + 1)
    take = [False] * len(order)
    prev = [0] * len(order)
    for i, c in enumerate(order):
        prev[i] = bisect.bisect_right(ends, c.start, 0, i)  # spans ending at or before start
        with_c = best[prev[i]] + c.weight
        take[i] = with_c > best[i] + 1e-9
        best[i + 1] = with_c if take[i] else best[i]
    chosen = []
    i = len(order) - 1
    while i >= 0:
        if take[i]:
            chosen.append(order[i])
            i = prev[i] - 1
        else:
            i -= 1
    return sorted(chosen, key=lambda c: c.start)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Gold spans sometimes start or end on a space; tokens never do."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def to_doc(nlp: Language, criterion: Criterion, labels: Sequence[str] = LABELS) -> Doc:
    doc = nlp.make_doc(criterion.text)
    spans: list[Span] = []
    missing: list[Span] = []
    text = criterion.text
    for c in non_overlapping(candidates(criterion.entities, labels)):
        start, end = _trim(text, c.start, c.end)
        if start >= end:
            continue
        span = doc.char_span(start, end, label=c.label)
        if span is None:
            wide = doc.char_span(start, end, label=c.label, alignment_mode="expand")
            if wide is not None and len(wide.text) - (end - start) <= _MAX_WIDENING:
                span = wide
            elif wide is not None:
                missing.append(wide)
        if span is not None:
            spans.append(span)
    # Widened spans can touch a neighbour: keep the first of any overlapping pair.
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    taken = {i for s in kept for i in range(s.start, s.end)}
    unknown: list[Span] = []
    for span in sorted(missing, key=lambda s: (s.start, s.end)):
        if any(i in taken for i in range(span.start, span.end)):
            continue
        unknown.append(span)
        taken.update(range(span.start, span.end))
    missing = unknown
    doc.set_ents(kept, missing=missing, default="outside")
    return doc


def write_docbin(
    nlp: Language, criteria: Iterable[Criterion], path: Path, labels: Sequence[str] = LABELS
) -> int:
    db = DocBin(store_user_data=False)
    n = 0
    for c in criteria:
        db.add(to_doc(nlp, c, labels))
        n += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(path)
    return n
