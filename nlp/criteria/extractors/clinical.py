"""Shared phrase logic for the condition, medication and procedure extractors."""

from __future__ import annotations

import re
from itertools import count

from matcher.model import Criterion
from nlp.criteria.extractors.base import (
    Extractor,
    Prepared,
    compile_ci,
    is_negated,
    phrase_after,
    split_or,
    window_days,
)
from nlp.rules_loader import ClinicalRules, load_rules

RULES = load_rules("clinical", ClinicalRules)
STRIP = compile_ci(RULES.condition.strip_leading)
_LEAD_NEG = compile_ci(r"^(?:(?:no|not|without|never|none|must not have|free of)\s+)+")
_GROUPS = count(1)


def clean(phrase: str) -> str:
    phrase = _LEAD_NEG.sub("", phrase.strip())
    phrase = STRIP.sub("", phrase)
    return phrase.strip(" ,.;:-")


def head_phrase(text: str, start: int, head: re.Match[str], max_words: int = 5) -> str:
    """The words from `start` up to and including a head word ("major surgery")."""
    words = text[start : head.end()].split()[-max_words:]
    return clean(" ".join(words))


def criteria_for(
    ex: Extractor, p: Prepared, phrase: str, start: int, *, negated: bool | None = None
) -> list[Criterion]:
    """One criterion per OR alternative.

    Alternatives share a `group` (the model's OR), except under negation: "no A or B" means
    neither A nor B, so the negated alternatives are independent criteria that must all hold.
    """
    leading_negation = bool(_LEAD_NEG.match(phrase.strip()))
    phrase = clean(phrase)
    if not phrase:
        return []
    if negated is None:
        negated = leading_negation or is_negated(p.main[:start])
    neg = negated
    window = window_days(p.main)
    parts = [c for c in (clean(x) for x in split_or(phrase)) if c]
    group = f"or{next(_GROUPS)}" if len(parts) > 1 and not neg else ""
    return [ex.make(p, part, negated=neg, window_days=window, group=group) for part in parts]


__all__ = ["RULES", "clean", "criteria_for", "head_phrase", "phrase_after"]
