"""Loads the criteria sets the matcher infers diagnoses by (nlp/rules/diagnoses.yaml)
strictly: a misspelt key, an empty criterion or a count the set cannot reach fails at start-up
naming the rule."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, model_validator

from matcher.matching.diagnoses import Diagnoses, DiagnosisRule, DiagnosticCriterion, class_rule
from nlp.rules_loader import RULES_DIR, StrictModel, load_rules


class _Rule(StrictModel):
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    at_least: int = Field(ge=1)
    criteria: dict[str, list[str]] = Field(min_length=1)
    required: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> _Rule:
        if self.at_least > len(self.criteria):
            raise ValueError(
                f"{self.name}: at_least {self.at_least} of only {len(self.criteria)} criteria"
            )
        empty = [label for label, findings in self.criteria.items() if not findings]
        if empty:
            raise ValueError(f"{self.name}: criteria with no findings: {empty}")
        unknown = [label for label in self.required if label not in self.criteria]
        if unknown:
            raise ValueError(f"{self.name}: required names no criterion: {unknown}")
        return self


class _Rules(StrictModel):
    diagnoses: list[_Rule]
    classes: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _members(self) -> _Rules:
        empty = [name for name, members in self.classes.items() if not members]
        if empty:
            raise ValueError(f"classes with no members: {empty}")
        return self


@cache
def load_diagnoses(name: str = "diagnoses", rules_dir: Path = RULES_DIR) -> Diagnoses:
    parsed = load_rules(name, _Rules, rules_dir)
    sets: tuple[DiagnosisRule, ...] = tuple(
        DiagnosisRule(
            rule.name,
            rule.source,
            rule.at_least,
            tuple(
                DiagnosticCriterion(label, tuple(findings))
                for label, findings in rule.criteria.items()
            ),
            tuple(rule.required),
            tuple(rule.unless),
            tuple(rule.aliases),
        )
        for rule in parsed.diagnoses
    )
    return Diagnoses(sets + tuple(class_rule(n, m) for n, m in parsed.classes.items()))
