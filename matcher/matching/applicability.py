"""Who a criterion can apply to: a pregnancy exclusion says nothing about a man or a child.

The cue lists are data (nlp/rules/applicability.yaml); this module only decides, so that the
evaluator can answer NOT_APPLICABLE instead of UNKNOWN for criteria outside a patient's group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from matcher.model import PatientRecord


@dataclass(frozen=True, slots=True)
class ApplicabilityRule:
    """Criteria mentioning any cue apply only to patients of `gender` and at least `min_age`."""

    name: str
    cues: tuple[str, ...]
    gender: str = ""  # FHIR administrative gender the criterion is about; "" for any
    min_age: float | None = None

    def mentioned_in(self, text: str) -> bool:
        lowered = text.lower()
        return any(cue in lowered for cue in self.cues)

    def excludes(self, record: PatientRecord, index_date: date) -> bool:
        """Whether the patient is outside the population (for a criterion mentioning a cue)."""
        if self.gender and record.gender and record.gender not in (self.gender, "unknown"):
            return True
        if self.min_age is not None:
            age = record.age_at(index_date)
            return age is not None and age < self.min_age
        return False


def populations(rules: tuple[ApplicabilityRule, ...], text: str) -> tuple[ApplicabilityRule, ...]:
    """The rules a criterion's text invokes: computed once per criterion, not per patient."""
    return tuple(r for r in rules if r.mentioned_in(text))


def not_applicable(
    rules: tuple[ApplicabilityRule, ...], record: PatientRecord, index_date: date
) -> ApplicabilityRule | None:
    """The first of a criterion's population rules that leaves this patient out, if any."""
    return next((r for r in rules if r.excludes(record, index_date)), None)


@dataclass(frozen=True, slots=True)
class Qualifiers:
    """Severity/control words ("uncontrolled") that a bare concept match does not establish."""

    phrases: tuple[str, ...] = ()
    window_chars: int = 30

    def before(self, text: str, concept: str) -> str | None:
        """The qualifier standing just before `concept` in `text` (or inside it), if any."""
        lowered, target = text.lower(), concept.lower()
        at = lowered.find(target)
        scope = target if at < 0 else lowered[max(0, at - self.window_chars) : at] + target
        return next((q for q in self.phrases if re.search(rf"\b{re.escape(q)}\b", scope)), None)
