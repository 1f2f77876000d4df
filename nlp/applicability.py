"""Loads the evaluator's population and qualifier rules (nlp/rules/applicability.yaml,
qualifiers.yaml) strictly."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from matcher.matching.applicability import ApplicabilityRule
from nlp.rules_loader import RULES_DIR, load_rules_file


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    cues: list[str] = Field(min_length=1)
    gender: str = ""
    min_age: float | None = None


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[_Rule] = Field(min_length=1)


@cache
def load_applicability() -> tuple[ApplicabilityRule, ...]:
    parsed = load_rules_file(RULES_DIR / "applicability.yaml", _Rules)
    return tuple(
        ApplicabilityRule(r.name, tuple(c.lower() for c in r.cues), r.gender, r.min_age)
        for r in parsed.rules
    )


class _Qualifiers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_chars: int = Field(gt=0)
    qualifiers: list[str] = Field(min_length=1)


@cache
def load_qualifiers() -> tuple[int, tuple[str, ...]]:
    """(window in characters, qualifier phrases) from nlp/rules/qualifiers.yaml."""
    parsed = load_rules_file(RULES_DIR / "qualifiers.yaml", _Qualifiers)
    return parsed.window_chars, tuple(q.lower() for q in parsed.qualifiers)
