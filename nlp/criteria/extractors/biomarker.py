"""Tumour biomarkers ("EGFR-mutated", "HER2-positive", "PD-L1 >= 50%") -> BIOMARKER.

A biomarker criterion is the marker as concept (with its HGNC gene code where it is one
gene), its status as `value_text` (positive, negative, mutated, wild-type, amplified,
overexpressed, rearranged) and, for expression levels, comparator/value/unit ("PD-L1
TPS >= 50%" -> >= 50 %). Markers listed together share the list's status ("EGFR, ALK or ROS1
alterations"), and "or" makes them alternatives unless negated. "EGFR" without a status word
is left to the lab extractor (it is also the estimated GFR).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import ClassVar

from matcher.model import Category, Code, Concept, Criterion
from nlp.criteria.analysis import Located
from nlp.criteria.extractors.base import EntityRef, Extractor, Prepared, compile_ci
from nlp.criteria.quantities import Quantity
from nlp.rules_loader import BiomarkerRules, load_rules

_R = load_rules("biomarkers", BiomarkerRules)
HGNC = "http://www.genenames.org/geneId"
_MARKERS = {m.name: m for m in _R.markers}
_LIST_GAP = re.compile(r"^\s*(?:,|/|and/or|or|and|&)?\s*(?:,|/|and/or|or|and|&)?\s*$", re.I)
_OR = re.compile(r"\b(?:or|and/or)\b|/", re.I)
_SCORE = re.compile(r"\b(?:tps|cps|score|h-score|ihc|allred|tumou?r proportion)\b", re.I)
_NEAR = 12  # a status this close after the marker is its own ("EGFR-mutated")


@dataclass(slots=True)
class _Hit:
    name: str
    start: int
    end: int
    status: str = ""
    status_span: tuple[int, int] | None = None
    value: Located | None = None


class BiomarkerExtractor(Extractor):
    name: ClassVar[str] = "biomarker"
    category: ClassVar[Category] = Category.BIOMARKER
    markers: ClassVar[list[tuple[str, re.Pattern[str]]]] = [
        (m.name, compile_ci(r"(?<![\w-])(?:" + "|".join(m.patterns) + r")(?![a-z0-9])"))
        for m in _R.markers
    ]
    statuses: ClassVar[list[tuple[str, re.Pattern[str]]]] = [
        (s.value, compile_ci("|".join(f"(?:{p})" for p in s.patterns))) for s in _R.statuses
    ]
    combinations: ClassVar[list[tuple[re.Pattern[str], list[str], str]]] = [
        (compile_ci(rf"\b(?:{c.pattern})\b"), c.markers, c.value) for c in _R.combinations
    ]
    anti: ClassVar[re.Pattern[str]] = compile_ci(r"(?:anti|non)[- ]?$")
    # A cheap pre-filter (no look-arounds): most criteria name no marker at all.
    any_marker: ClassVar[re.Pattern[str]] = compile_ci(
        r"\b(?:"
        + "|".join(p for m in _R.markers for p in m.patterns)
        + "|"
        + "|".join(c.pattern for c in _R.combinations)
        + ")"
    )

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.main
        if not self.any_marker.search(text):
            return []
        hits = self._hits(p, text)
        for n in range(len(hits) - 2, -1, -1):  # a list shares the status of its last marker
            hit, nxt = hits[n], hits[n + 1]
            if not (hit.status or hit.value) and _LIST_GAP.match(text[hit.end : nxt.start]):
                hit.status, hit.value = nxt.status, nxt.value
        for prev, hit in itertools.pairwise(hits):  # "mutation in BRCA1 or BRCA2"
            if not (hit.status or hit.value) and _LIST_GAP.match(text[prev.end : hit.start]):
                hit.status, hit.value = prev.status, prev.value
        out = [self._criterion(p, hit) for hit in hits if hit.status or hit.value]
        out += self._combinations(p, text)
        self._group(p, out)
        return out

    def _hits(self, p: Prepared, text: str) -> list[_Hit]:
        hits: list[_Hit] = []
        for name, rx in self.markers:
            for m in rx.finditer(text):
                if self.anti.search(text[: m.start()]) or any(
                    h.start < m.end() and m.start() < h.end for h in hits
                ):
                    continue
                hit = _Hit(name, m.start(), m.end())
                self._read_status(p, text, hit)
                if _MARKERS[name].status_required and not hit.status:
                    hit.status = ""
                    if not self._listed(text, hit, rx):
                        continue
                hits.append(hit)
        return sorted(hits, key=lambda h: h.start)

    def _listed(self, text: str, hit: _Hit, rx: re.Pattern[str]) -> bool:
        """A status-required marker may still be in a list that states the status once."""
        return bool(
            re.match(r"\s*(?:,|/|or|and|and/or)\s", text[hit.end :])
            or re.search(r"(?:,|/|\bor|\band|and/or)\s*$", text[: hit.start])
        )

    def _read_status(self, p: Prepared, text: str, hit: _Hit) -> None:
        """Status right after the marker, else right before it, else anywhere in reach."""
        after = self._first_status(text, hit.end, hit.end + _R.reach)
        if after is not None and after[1][0] - hit.end <= _NEAR:
            hit.status, hit.status_span = after
        else:
            lo = max(0, hit.start - _R.reach - 45)  # room for "mutation (deleterious) in"
            for value, rx in self.statuses:
                m = re.search(
                    rf"(?:{rx.pattern})(?:\s*\([^)]{{0,60}}\))?\s*(?:(?:for|of|in)(?:\s+the)?)?\s*$",
                    text[lo : hit.start],
                    re.I,
                )
                if m is not None and m.group().strip():
                    hit.status = value
                    hit.status_span = (lo + m.start(), lo + m.start() + len(m.group().rstrip()))
                    break
            if not hit.status and after is not None:
                hit.status, hit.status_span = after
        loc = p.value_after(hit.end, _R.reach)
        q = loc.item if loc is not None else None
        if (
            isinstance(q, Quantity)
            and loc is not None
            and (q.unit == "%" or _SCORE.search(text, hit.end, loc.start))
        ):
            hit.value = loc  # "PD-L1 >= 50%", "PD-L1 CPS >= 10"; never "at least one tumor"

    def _first_status(self, text: str, a: int, b: int) -> tuple[str, tuple[int, int]] | None:
        best: tuple[str, tuple[int, int]] | None = None
        window = text[a:b]
        for value, rx in self.statuses:
            m = rx.search(window)
            if m is None or re.search(r"[;.]", window[: m.start()]):
                continue
            if best is None or a + m.start() < best[1][0]:
                best = (value, (a + m.start(), a + m.end()))
        return best

    def _criterion(self, p: Prepared, hit: _Hit) -> Criterion:
        marker = _MARKERS[hit.name]
        codes = [Code(HGNC, marker.hgnc, marker.symbol)] if marker.hgnc else []
        refs: list[EntityRef] = [("Biomarker", hit.start, hit.end)]
        if hit.status_span and hit.status_span[0] >= 0:
            refs.append(("Qualifier", *hit.status_span))
        fields: dict[str, object] = {"value_text": hit.status}
        if hit.value is not None:
            q = hit.value.item
            assert isinstance(q, Quantity)
            refs.append(("Value", hit.value.start, hit.value.end))
            fields.update(comparator=q.comparator, value=q.value, unit=q.unit)
            if q.high is not None:
                fields["value_high"] = q.high
        cue = _real_cue(p, hit.start, hit.end, hit.status_span)
        if cue is not None:
            refs.append(("Negation", *cue))
        return self.make(
            p, Concept(marker.name, codes), negated=cue is not None, refs=refs, **fields
        )

    def _combinations(self, p: Prepared, text: str) -> list[Criterion]:
        out: list[Criterion] = []
        for rx, names, value in self.combinations:
            m = rx.search(text)
            if m is None:
                continue
            for name in names:
                marker = _MARKERS[name]
                codes = [Code(HGNC, marker.hgnc, marker.symbol)] if marker.hgnc else []
                crit = self.make(
                    p,
                    Concept(marker.name, codes),
                    value_text=value,
                    negated=_real_cue(p, m.start(), m.end(), m.span()) is not None,
                    refs=[("Biomarker", *m.span())],
                )
                out.append(crit)
        return out

    def _group(self, p: Prepared, out: list[Criterion]) -> None:
        """Markers joined by "or" are alternatives, unless negated (De Morgan)."""
        for n in range(1, len(out)):
            prev, cur = out[n - 1], out[n]
            if prev.negated or cur.negated or not prev.entities or not cur.entities:
                continue
            gap = p.text[prev.entities[0].end : cur.entities[0].start]
            if _OR.search(gap) and len(gap) < 40:
                prev.group = prev.group or f"bm{p.segment.start}:{n}"
                cur.group = prev.group


def _real_cue(
    p: Prepared, a: int, b: int, status: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The negation cue over a marker, unless the cue is the marker's own status word
    ("HER2-negative" states a status; "no known EGFR mutation" negates)."""
    for ca, cb, s, e in p.negation_scopes:
        if s <= a < e and not (status and ca < status[1] and status[0] < cb):
            return ca, cb
    return None
