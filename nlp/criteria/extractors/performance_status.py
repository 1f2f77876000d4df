"""Performance status ("ECOG 0-1", "Karnofsky >= 70%") -> PERFORMANCE_STATUS per scale."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion
from nlp.criteria.extractors.base import NUM, Extractor, Prepared, compile_ci
from nlp.rules_loader import PerformanceRules, load_rules

_R = load_rules("performance_status", PerformanceRules)
_PERCENT_SCALES = {"karnofsky", "lansky"}


class PerformanceStatusExtractor(Extractor):
    """One criterion per named scale; a bare "performance status 0-1" is the default scale."""

    name: ClassVar[str] = "performance_status"
    category: ClassVar[Category] = Category.PERFORMANCE_STATUS
    scales: ClassVar[list[tuple[str, re.Pattern[str]]]] = [
        (scale, compile_ci(r"\b(?:" + "|".join(syns) + r")\b")) for scale, syns in _R.scales.items()
    ]
    anchor: ClassVar[re.Pattern[str]] = compile_ci(_R.anchor)
    value: ClassVar[re.Pattern[str]] = compile_ci(
        rf"[^<>=\d;]{{0,45}}?(?P<cmp>[<>]=?|=)?\s*(?P<v>{NUM})\s*%?"
        rf"(?:\s*(?:-|to)\s*(?P<h>{NUM})\s*%?|(?P<list>(?:\s*(?:,|or|and)\s*{NUM})+))?"
    )

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.norm
        out: list[Criterion] = []
        for scale, rx in self.scales:
            for hit in rx.finditer(text):
                crit = self._read(p, scale, text, hit)
                if crit is not None:
                    out.append(crit)
                    break
        if not out and (hit := self.anchor.search(text)):
            crit = self._read(p, _R.default_scale, text, hit)
            out += [crit] if crit is not None else []
        return out

    def _read(self, p: Prepared, scale: str, text: str, hit: re.Match[str]) -> Criterion | None:
        m = self.value.match(text, hit.end())
        if m is None:
            return None
        refs = [("Measurement", *p.orig(*hit.span())), ("Value", *p.orig(m.start("v"), m.end()))]
        if m.group("cmp"):
            refs[1] = ("Value", *p.orig(m.start("cmp"), m.end()))
        unit = "%" if scale in _PERCENT_SCALES else ""
        low = float(m.group("v"))
        high = m.group("h") or None
        if m.group("list"):
            values = [low, *map(float, re.findall(NUM, m.group("list")))]
            low, high = min(values), str(max(values))
        if high is not None and not m.group("cmp"):
            return self.make(
                p,
                scale,
                comparator="between",
                value=low,
                value_high=float(high),
                unit=unit,
                refs=refs,
            )
        cmp = m.group("cmp") or "="
        return self.make(p, scale, comparator=cmp, value=low, unit=unit, refs=refs)
