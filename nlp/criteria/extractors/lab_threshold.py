"""Lab and measurement thresholds ("serum creatinine > 1.5 mg/dL") -> LAB with value and unit."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import NUM, POSTFIX, Extractor, Prepared, compile_ci
from nlp.rules_loader import LabRules, load_rules

_R = load_rules("labs", LabRules)
_SYNONYMS = sorted(
    ((syn, name) for name, syns in _R.labs.items() for syn in syns),
    key=lambda pair: len(pair[0]),
    reverse=True,
)
_UNITS = [(compile_ci(rf"(?:{u.pattern})"), u.unit) for u in _R.units]
_UNIT_ALT = "|".join(f"(?:{u.pattern})" for u in _R.units)


class LabThresholdExtractor(Extractor):
    """Every lab name followed closely by a number yields one criterion (labs are additive)."""

    name: ClassVar[str] = "lab"
    category: ClassVar[Category] = Category.LAB
    names: ClassVar[re.Pattern[str]] = compile_ci(
        r"(?<![\w-])(?:" + "|".join(f"(?:{s})" for s, _ in _SYNONYMS) + r")(?![\w-])"
    )
    value: ClassVar[re.Pattern[str]] = compile_ci(
        rf"[^<>=⊒⊑\d.;]{{0,40}}?(?P<between>between\s*)?(?P<cmp>[<>]=?|=)?\s*(?P<v>{NUM})\s*"
        rf"(?P<u1>{_UNIT_ALT})?\s*(?:(?P<conn>-|to|and)\s*(?P<h>{NUM})\s*)?"
        rf"(?P<unit>{_UNIT_ALT})?\s*(?P<post>[⊒⊑])?"
    )

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.norm
        hits = list(self.names.finditer(text))
        out: list[Criterion] = []
        for n, hit in enumerate(hits):
            end = hits[n + 1].start() if n + 1 < len(hits) else len(text)
            m = self.value.match(text, hit.end(), end)
            if m is None or not (m.group("cmp") or m.group("unit") or m.group("u1")):
                continue
            out.append(self._criterion(p, _canonical(hit.group()), m))
        return out

    def _criterion(self, p: Prepared, lab: str, m: re.Match[str]) -> Criterion:
        unit = _canonical_unit(m.group("unit") or m.group("u1") or "")
        value = float(m.group("v"))
        ranged = m.group("h") and (m.group("conn") != "and" or m.group("between"))
        if ranged:
            return self.make(
                p, lab, comparator="between", value=value, value_high=float(m.group("h")), unit=unit
            )
        cmp = m.group("cmp") or POSTFIX.get(m.group("post") or "", "") or "="
        return self.make(p, lab, comparator=cmp, value=value, unit=unit)


def _canonical(found: str) -> str:
    for syn, name in _SYNONYMS:
        if re.fullmatch(syn, found, re.IGNORECASE):
            return name
    return found


def _canonical_unit(found: str) -> str:
    found = found.strip()
    for rx, unit in _UNITS:
        if rx.fullmatch(found):
            return unit
    return found
