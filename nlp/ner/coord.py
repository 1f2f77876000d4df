"""Coordinated modifiers sharing a head: the extra entities a flat tagger cannot produce.

"pleural or pericardial effusion" holds two conditions in Chia: "pericardial effusion" and the
discontinuous "pleural ... effusion" (scored by its enclosing span, "pleural or pericardial
effusion"). A flat BIO tagger can only give the second; this step adds the first, from the
modifier before the conjunction to the end of the entity the tagger found. Comma lists ("pleural,
pericardial or peritoneal effusion") give one extra entity per listed modifier.

An extra entity is added only where the modifier words are not inside any other entity (a
modifier that is an entity of its own, as in "diabetes or heart failure", is a coordination of
whole entities, which the tagger already handles) and are not function words (`exclude`).

Extra entities OVERLAP the flat ones, so they are not written to `doc.ents`: the component
`chia_coord` puts them in the span group `doc.spans["chia_coord"]`, and `extract_entities`
returns them (source "coordination") unless asked for the flat sequence only.

Rules are data (`nlp/rules/ner_coord.yaml`, strict schema), read when the pipeline is built;
each was measured on the tune split with a train-only model (comments in the file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.ner.rules import selected
from nlp.rules_loader import RULES_DIR, Regex, StrictModel, load_rules_file

COORD_SOURCE = "coordination"
SPAN_GROUP = "chia_coord"
# A modifier word: starts with a letter ("type 1 or 2" is not expanded).
_WORD = r"[^\W\d_][\w-]*"

CharSpan = tuple[int, int, str]  # start, end (exclusive), label


class CoordRule(StrictModel):
    """Expand entities of `types` over "MOD <conjunction> <entity>" (and comma lists)."""

    name: str
    enabled: bool = True
    types: list[str]
    conjunctions: list[str]
    max_modifier_words: int = 1
    comma_lists: bool = False
    exclude: tuple[str, ...] = ()
    # if set, a modifier must match it (re.search, case-insensitive), e.g. adjective endings
    modifier: Regex = ""


class CoordRules(StrictModel):
    rules: list[CoordRule]


def load_coord_rules(path: Path | None = None) -> CoordRules:
    return load_rules_file(path or RULES_DIR / "ner_coord.yaml", CoordRules)


@dataclass(frozen=True, slots=True)
class CompiledCoord:
    name: str
    types: frozenset[str]
    # per modifier length (1, 2, ... words): "MOD , or " / "MOD , " ending the text before
    # an entity / before a listed modifier
    before_conj: tuple[re.Pattern[str], ...]
    before_comma: tuple[re.Pattern[str], ...]
    exclude: frozenset[str]
    modifier: re.Pattern[str] | None = None

    def _modifier(
        self, patterns: Sequence[re.Pattern[str]], text: str, end: int, spans: Sequence[CharSpan]
    ) -> int | None:
        """Start of the longest modifier ending `text[:end]` that is free (no function word,
        inside no entity)."""
        best = None
        for rx in patterns:
            m = rx.search(text, 0, end)
            if m is None:
                continue
            a = m.start("mod")
            if any(w in self.exclude for w in m.group("mod").lower().split()):
                continue
            if self.modifier is not None and not self.modifier.search(m.group("mod")):
                continue
            if any(s < end and a < e for s, e, _ in spans):
                continue
            best = a if best is None else min(best, a)
        return best

    def extra(self, text: str, spans: Sequence[CharSpan]) -> list[CharSpan]:
        """Extra (overlapping) spans for the flat `spans` of `text`; pure."""
        out: list[CharSpan] = []
        for start, end, label in spans:
            if label not in self.types:
                continue
            a = self._modifier(self.before_conj, text, start, spans)
            while a is not None:
                out.append((a, end, label))
                a = self._modifier(self.before_comma, text, a, spans)
        return out


def compile_coord(
    rules: CoordRules, only: set[str] | None = None, skip: set[str] | None = None
) -> list[CompiledCoord]:
    """Enabled rules (or exactly `only`), minus `skip`; names are checked against the file,
    types against the NER's labels."""
    from nlp.ner.convert import LABELS

    out = []
    for r in selected(rules.rules, only, skip, "coordination rule"):
        bad = sorted(set(r.types) - set(LABELS))
        if bad:
            raise ValueError(f"coordination rule {r.name}: unknown entity type(s) {bad}")
        if r.max_modifier_words < 1:
            raise ValueError(f"coordination rule {r.name}: max_modifier_words must be >= 1")
        # a word ("or") stands between spaces, a symbol ("/") may touch its neighbours
        conj = "|".join(
            rf"\s+{re.escape(c)}\s+" if c[-1].isalnum() else rf"\s*{re.escape(c)}\s*"
            for c in sorted(r.conjunctions, key=len, reverse=True)
        )
        start = r"(?:^|(?<=[\s(;,]))"
        mods = [
            rf"{start}(?P<mod>{_WORD}(?:\s+{_WORD}){{{k - 1}}})"
            for k in range(1, r.max_modifier_words + 1)
        ]
        out.append(
            CompiledCoord(
                r.name,
                frozenset(r.types),
                tuple(re.compile(rf"{m}(?:\s*,)?(?:{conj})$", re.IGNORECASE) for m in mods),
                tuple(re.compile(rf"{m}\s*,\s*$") for m in mods) if r.comma_lists else (),
                frozenset(w.lower() for w in r.exclude),
                re.compile(r.modifier, re.IGNORECASE) if r.modifier else None,
            )
        )
    return out


def coordinated(
    text: str, spans: Sequence[CharSpan], rules: Sequence[CompiledCoord]
) -> list[CharSpan]:
    """Extra spans of all rules, without duplicates or copies of a flat span, in text order."""
    flat = {(s, e, t) for s, e, t in spans}
    out: set[CharSpan] = set()
    for rule in rules:
        out.update(x for x in rule.extra(text, spans) if x not in flat)
    return sorted(out)
