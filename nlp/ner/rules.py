"""Rules combined with the statistical NER: regex rules as data (`nlp/rules/ner.yaml`).

The statistical model is good at the open classes (conditions, drugs, procedures) and uneven
on closed, formulaic ones (ages and sex words, comparator + number + unit values, time
windows, negation cues), where a rule is both more precise and easier to fix. The component
`chia_rules` runs after `ner` and merges rule matches into `doc.ents`.

Merge policy, chosen per rule in the YAML (`merge:`), applied in file order:

- `fill`: the rule span is added only where the model found nothing (no overlap). The model
  wins every disagreement; the rule only adds recall.
- `extend`: where the rule span overlaps model spans of the same label, their union replaces
  them (boundary repair: "18 years" → "18 years or older"); where it overlaps nothing it is
  added; where it overlaps a span of another label, the model wins.
- `override`: the rule span replaces every model span it overlaps. The rule wins.

Rule spans are marked with `kb_id_ == "rule"` so that callers can tell where a mention came
from. The rules are read from the YAML when the pipeline is built (strict schema: unknown keys
are errors), not frozen into the model, so a rule can change without retraining; whether each
rule helps is measured on the tune split (`python -m nlp.ner.ablate`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from nlp.rules_loader import RULES_DIR, Regex, StrictModel, load_rules_file

Merge = Literal["fill", "extend", "override"]
RULE_SOURCE = "rule"


class NerRule(StrictModel):
    """Regexes for one label; a named group `span` narrows the entity inside the match."""

    name: str
    label: str
    merge: Merge
    enabled: bool = True
    case_sensitive: bool = False
    patterns: list[Regex]


class NerRules(StrictModel):
    rules: list[NerRule]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    label: str
    merge: Merge
    regexes: tuple[re.Pattern[str], ...]

    def spans(self, text: str) -> list[tuple[int, int]]:
        out = []
        for rx in self.regexes:
            for m in rx.finditer(text):
                start, end = m.span("span") if "span" in rx.groupindex else m.span()
                if end > start:
                    out.append((start, end))
        return out


def load_ner_rules(path: Path | None = None) -> NerRules:
    return load_rules_file(path or RULES_DIR / "ner.yaml", NerRules)


class _Named(Protocol):
    name: str
    enabled: bool


R = TypeVar("R", bound=_Named)


def selected(
    rules: Sequence[R], only: set[str] | None, skip: set[str] | None, what: str
) -> list[R]:
    """The rules a component runs: the enabled ones (or exactly `only`), minus `skip`. Names
    that the file does not define are an error, so a typo never silently disables a rule."""
    unknown = ((only or set()) | (skip or set())) - {r.name for r in rules}
    if unknown:
        raise ValueError(f"unknown {what} name(s): {', '.join(sorted(unknown))}")
    return [
        r
        for r in rules
        if (r.name in only if only is not None else r.enabled) and r.name not in (skip or set())
    ]


def compile_rules(
    rules: NerRules, only: set[str] | None = None, skip: set[str] | None = None
) -> list[CompiledRule]:
    """Enabled rules (or exactly `only`), minus `skip`; names are checked against the file."""
    out = []
    for r in selected(rules.rules, only, skip, "NER rule"):
        flags = 0 if r.case_sensitive else re.IGNORECASE
        out.append(
            CompiledRule(r.name, r.label, r.merge, tuple(re.compile(p, flags) for p in r.patterns))
        )
    return out


Interval = tuple[int, int, str, bool]  # token start, token end, label, from a rule


def merge(current: list[Interval], rule_span: Interval, policy: Merge) -> list[Interval]:
    """Apply one rule span to the current (non-overlapping, token-offset) entities.

    Pure: returns the new list, sorted, still non-overlapping.
    """
    start, end, label, _ = rule_span
    hits = [c for c in current if c[0] < end and start < c[1]]
    rest = [c for c in current if not (c[0] < end and start < c[1])]
    if not hits:
        return sorted([*rest, rule_span])
    if policy == "fill":
        return current
    if policy == "override":
        return sorted([*rest, rule_span])
    # extend
    if any(c[2] != label for c in hits):
        return current
    union = (min(start, *(c[0] for c in hits)), max(end, *(c[1] for c in hits)), label, True)
    if any(c[0] < union[1] and union[0] < c[1] for c in rest):
        return current
    return sorted([*rest, union])
