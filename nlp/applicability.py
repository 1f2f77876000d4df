"""Loads the evaluator's population and qualifier rules (nlp/rules/applicability.yaml,
qualifiers.yaml) strictly."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from matcher.matching.applicability import ApplicabilityRule, Qualifiers
from nlp.rules_loader import StrictModel, load_rules


class _Rule(StrictModel):
    name: str = Field(min_length=1)
    cues: list[str] = Field(min_length=1)
    gender: str = ""
    min_age: float | None = None
    subjects: list[str] = Field(default_factory=list)
    others: list[str] = Field(default_factory=list)


class _Rules(StrictModel):
    rules: list[_Rule] = Field(min_length=1)


def _lower(words: list[str]) -> tuple[str, ...]:
    return tuple(w.lower() for w in words)


@cache
def load_applicability() -> tuple[ApplicabilityRule, ...]:
    parsed = load_rules("applicability", _Rules)
    return tuple(
        ApplicabilityRule(
            r.name,
            _lower(r.cues),
            r.gender,
            r.min_age,
            frozenset(_lower(r.subjects)),
            frozenset(_lower(r.others)),
        )
        for r in parsed.rules
    )


class _Qualifiers(StrictModel):
    window_chars: int = Field(gt=0)
    qualifiers: list[str] = Field(min_length=1)
    governors: list[str] = Field(default_factory=list)
    fillers: list[str] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list)
    trailers: list[str] = Field(default_factory=list)
    methods: list[str] = Field(default_factory=list)
    current_words: list[str] = Field(default_factory=list)
    past_words: list[str] = Field(default_factory=list)
    permissions: list[str] = Field(default_factory=list)
    permission_blockers: list[str] = Field(default_factory=list)
    sex_scopes: list[str] = Field(default_factory=list)
    stated_by: dict[str, list[str]] = Field(default_factory=dict)
    list_cues: list[str] = Field(default_factory=list)
    restrictions: list[str] = Field(default_factory=list)
    treatment_trailers: list[str] = Field(default_factory=list)
    treatment_heads: list[str] = Field(default_factory=list)
    trailer_blockers: list[str] = Field(default_factory=list)
    healthy: list[str] = Field(default_factory=list)
    healthy_exceptions: list[str] = Field(default_factory=list)


@cache
def load_qualifiers() -> Qualifiers:
    q = load_rules("qualifiers", _Qualifiers)

    def longest_first(words: list[str]) -> tuple[str, ...]:
        # "related to" must win over "to" if both were listed.
        return tuple(sorted(_lower(words), key=len, reverse=True))

    return Qualifiers(
        phrases=_lower(q.qualifiers),
        window_chars=q.window_chars,
        governors=longest_first(q.governors),
        fillers=frozenset(_lower(q.fillers)),
        changes=_lower(q.changes),
        trailers=longest_first(q.trailers),
        methods=frozenset(_lower(q.methods)),
        current_words=_lower(q.current_words),
        past_words=_lower(q.past_words),
        permissions=_lower(q.permissions),
        permission_blockers=_lower(q.permission_blockers),
        sex_scopes=_lower(q.sex_scopes),
        stated_by={k.lower(): _lower(forms) for k, forms in q.stated_by.items()},
        list_cues=_lower(q.list_cues),
        restrictions=_lower(q.restrictions),
        treatment_trailers=_lower(q.treatment_trailers),
        treatment_heads=_lower(q.treatment_heads),
        trailer_blockers=frozenset(_lower(q.trailer_blockers)),
        healthy=_lower(q.healthy),
        healthy_exceptions=_lower(q.healthy_exceptions),
    )
