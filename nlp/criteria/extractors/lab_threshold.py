"""Lab and measurement thresholds ("serum creatinine > 1.5 mg/dL") -> LAB with value and unit.

Names come from the lab vocabulary (canonical name + synonyms, nlp/rules/labs.yaml), from the
NER's Measurement spans, and, for scales the vocabulary lacks ("QMG score >= 12", "MADRS of
>= 14"), from the words right before a compared value. Each name takes the first value after
it (value <-> measurement); names listed before a shared value take that value ("AST, ALT or
GGT <= 10 x ULN"); alternatives written with "or" share an OR group. Thresholds inside a
conditional clause ("... for patients with liver metastases") are conditions, not rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.analysis import Located, Span
from nlp.criteria.extractors.base import Extractor, Prepared, compile_ci
from nlp.criteria.quantities import Quantity
from nlp.rules_loader import LabRules, load_rules

_R = load_rules("labs", LabRules)
_SYNONYMS = sorted(
    ((syn, name) for name, syns in _R.labs.items() for syn in syns),
    key=lambda pair: len(pair[0]),
    reverse=True,
)
_VALUE_REACH = 40  # characters between a name and its value ("platelet count of at least")
_LIST_GAP = re.compile(r"^\s*(?:,|/|and/or|or|and|&)?\s*(?:,|/|and/or|or|and|&)?\s*$", re.I)
_OR_GAP = re.compile(r"^\W*(?:or|and/or)\b", re.I)
_COUNTED = re.compile(
    r"\s*(?!(?:at|in|on|for|by|during|within|and|or|as|per|is|are|was|on|measured|assessed|"
    r"determined|confirmed|points?|if|when|while|to|from|with|without|after|before|since|"
    r"prior to)\b)[A-Za-z]",
    re.I,
)
_BARE_RANGE = re.compile(
    r"\s*(?::|of|is|was|=)?\s*(?P<v>\d+(?:\.\d+)?)\s*[-–]\s*(?P<h>\d+(?:\.\d+)?)(?![\d.%/])"
)
_NAME_WORD = re.compile(r"[A-Za-z][\w+\-/']*|\([A-Za-z][\w+\-/]*\)")


_CRITERIA_COUNT = re.compile(r"\s*(?:[a-z-]+\s+){0,2}criteria\b", re.I)
_TIME_AFTER = re.compile(r"\s*(?:hours?|days?|weeks?|months?|years?)\b", re.I)
_TIMES_NORMAL = re.compile(
    r"\s*(?:x|×|times|fold)\s*(?:the\s+)?(?:upper\s+limit\s+of\s+)?(?:normal|uln)\b", re.I
)
# "Minimum weight of 40 kg": the bound word stands before the name, not before the value.
_LEAD_BOUND = re.compile(r"\b(minimum|at least|maximum|at most|up to)\s+(?:\w+\s+)?$", re.I)


@dataclass(slots=True)
class _Name:
    concept: str
    start: int  # segment-text offsets
    end: int
    source: str  # vocabulary | ner | scale


class LabThresholdExtractor(Extractor):
    """Every lab name followed closely by a value yields one criterion (labs are additive)."""

    name: ClassVar[str] = "lab"
    category: ClassVar[Category] = Category.LAB
    names: ClassVar[re.Pattern[str]] = compile_ci(
        r"(?<![\w-])(?:" + "|".join(f"(?:{s})" for s, _ in _SYNONYMS) + r")(?![\w-])"
    )
    scale_stop: ClassVar[re.Pattern[str]] = compile_ci(_R.scale_stopwords)

    def extract(self, p: Prepared) -> list[Criterion]:
        names = self._names(p)
        pairs = self._link(p, names)
        pairs += self._scales(p, [q for _, q in pairs], names)
        pairs.sort(key=lambda pair: pair[0].start)
        out: list[Criterion] = []
        group = ""
        for n, (name, loc) in enumerate(pairs):
            if n and _OR_GAP.match(p.text[max(pairs[n - 1][1].end, pairs[n - 1][0].end) :]):
                group = group or f"lab{p.segment.start}:{n}"
                out[-1].group = group
            else:
                group = ""
            crit = self._criterion(p, name, loc)
            crit.group = group
            out.append(crit)
        return out

    def _names(self, p: Prepared) -> list[_Name]:
        names = [
            _Name(_canonical(m.group()), *p.orig(*m.span()), "vocabulary")
            for m in self.names.finditer(p.norm)
        ]
        for span in p.spans:
            if span.type == "Measurement" and not any(
                n.start < span.end and span.start < n.end for n in names
            ):
                names.append(_Name(span.text.lower(), span.start, span.end, "ner"))
        names = [n for n in names if p.clauses.in_main(n.start, n.end) and not p.is_claimed(n)]
        return sorted(names, key=lambda n: n.start)

    def _link(self, p: Prepared, names: list[_Name]) -> list[tuple[_Name, Located]]:
        linked: list[tuple[_Name, Located | None]] = []
        for n, name in enumerate(names):
            stop = names[n + 1].start if n + 1 < len(names) else None
            loc = p.value_after(name.end, _VALUE_REACH, stop)
            if loc is not None and re.search(r"\d", p.text[name.end : loc.start]):
                loc = None
            if loc is None and (bare := _BARE_RANGE.match(p.text, name.end)):
                # "Platelets 100-200": a bare range right after a lab name is its range
                low, high = float(bare.group("v")), float(bare.group("h"))
                if low < high:
                    q = Quantity("between", low, high, "", -1, -1)
                    loc = Located(q, bare.start("v"), bare.end())
            if loc is not None and not p.clauses.in_main(loc.start, loc.end):
                loc = None
            if loc is not None and _TIME_AFTER.match(p.text, loc.end):
                loc = None  # "fever > 1 week": how long, not how high
            if loc is not None and _CRITERIA_COUNT.match(p.text, loc.end):
                loc = None  # "fulfil at least 4 criteria": a count of criteria, not a value
            linked.append((name, loc))
        # A name with no value of its own, listed before the next name, shares its value.
        for n in range(len(linked) - 2, -1, -1):
            name, loc = linked[n]
            nxt_name, nxt_loc = linked[n + 1]
            if (
                loc is None
                and nxt_loc is not None
                and _LIST_GAP.match(p.text[name.end : nxt_name.start])
            ):
                linked[n] = (name, nxt_loc)
        return [(name, loc) for name, loc in linked if loc is not None]

    def _scales(
        self, p: Prepared, used: list[Located], names: list[_Name]
    ) -> list[tuple[_Name, Located]]:
        """Compared values no name claimed: the words just before them name a scale."""
        out: list[tuple[_Name, Located]] = []
        for loc in p.quantities:
            q = loc.item
            assert isinstance(q, Quantity)
            if loc in used or q.comparator == "=" or p.is_claimed(loc):
                continue
            if any(n.start <= loc.start < n.end + _VALUE_REACH for n in names):
                continue
            if not p.clauses.in_main(loc.start, loc.end) or self._is_count(p, loc):
                continue
            name = self._scale_name(p, loc.start)
            if name is not None:
                out.append((name, loc))
        return out

    def _is_count(self, p: Prepared, loc: Located) -> bool:
        """ "> 2 prior regimens": a unitless number followed by a noun counts something."""
        q = loc.item
        assert isinstance(q, Quantity)
        return not q.unit and bool(_COUNTED.match(p.text[loc.end :]))

    def _scale_name(self, p: Prepared, start: int) -> _Name | None:
        """Up to four name words right before the value, skipping "of", "is", ":" or "="."""
        head = p.text[:start]
        link = re.search(r"(?:\s*(?:\b(?:of|is|was|at)\b|[:=]))*\s*$", head, re.I)
        pos = link.start() if link else len(head)
        picked: list[re.Match[str]] = []
        for w in reversed(list(_NAME_WORD.finditer(head, 0, pos))):
            if head[w.end() : pos].strip(" -") or self.scale_stop.fullmatch(w.group().strip("()")):
                break
            picked.insert(0, w)
            pos = w.start()
            if len(picked) == 4:
                break
        if not picked:
            return None
        if len(picked) > 1 and picked[-1].group().startswith("("):
            picked = picked[-1:]  # "Expanded Disability Status Scale (EDSS)" -> "edss"
        a, b = picked[0].start(), picked[-1].end()
        concept = " ".join(p.text[a:b].split()).strip("()").lower()
        return _Name(concept, a, b, "scale") if re.search(r"[a-z]{2}", concept) else None

    def _criterion(self, p: Prepared, name: _Name, loc: Located) -> Criterion:
        q = loc.item
        assert isinstance(q, Quantity)
        refs = [("Measurement", name.start, name.end), ("Value", loc.start, loc.end)]
        timing = p.timing(name.start, name.end, event=False)
        if timing.span is not None:
            refs.append(("Temporal", *timing.span))
        comparator, unit = q.comparator, q.unit
        if comparator == "=" and (lead := _LEAD_BOUND.search(p.text[: name.start])):
            comparator = ">=" if lead.group(1).lower() in ("minimum", "at least") else "<="
        if not unit and _TIMES_NORMAL.match(p.text, loc.end):
            unit = "x ULN"  # "AST > 3 times normal"
        fields = dict(comparator=comparator, value=q.value, unit=unit, refs=refs)
        if q.high is not None:
            fields["value_high"] = q.high
        return self.make(p, name.concept, window_days=timing.window_days, **fields)


def _canonical(found: str) -> str:
    for syn, name in _SYNONYMS:
        if re.fullmatch(syn, found, re.IGNORECASE):
            return name
    return found


__all__ = ["LabThresholdExtractor", "Span"]
