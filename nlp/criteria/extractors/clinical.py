"""Shared phrase logic for the rule-based condition, medication and procedure extractors.

These read a concept phrase after a cue ("history of", "treated with") when the NER found no
concept in the segment (see `concepts.py` for the NER path). The phrase is cut at stop words,
split at "or", stripped of cue and qualifier words, and located in the segment so that its
entity, negation scope and temporal window come from the same analysis as everything else.
"""

from __future__ import annotations

import re
from itertools import count

from matcher.model import Criterion
from nlp.criteria.extractors.base import (
    EntityRef,
    Extractor,
    Prepared,
    compile_ci,
    phrase_after,
    split_or,
)
from nlp.criteria.extractors.fragments import distribute, junk, modifier_of_next
from nlp.rules_loader import ClinicalRules, load_rules

RULES = load_rules("clinical", ClinicalRules)
STRIP = compile_ci(RULES.condition.strip_leading)
_LEAD_NEG = compile_ci(r"^(?:(?:no|not|without|never|none|must not have|free of)\s+)+")
_GROUPS = count(1)
# Which entity type a rule-found phrase is, per extractor category.
ENTITY_TYPE = {"condition": "Condition", "medication": "Drug", "procedure": "Procedure"}


_CROSS_REFERENCE = compile_ci(r"^(?:see|refer to|as per|per|as in|as described in)\b")
_TRAIL_STATUS = compile_ci(r"[\s-]+(?:negative|positive|seronegative|seropositive)$")


def clean(phrase: str) -> str:
    if _CROSS_REFERENCE.match(phrase.strip()):
        return ""
    phrase = _LEAD_NEG.sub("", phrase.strip())
    phrase = STRIP.sub("", phrase)
    phrase = _TRAIL_STATUS.sub("", phrase.strip(" ,.;:-"))
    return phrase.strip(" ,.;:-")


class _Range:
    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end


def floor(p: Prepared, pos: int) -> int:
    """Where a cue-less phrase ending at `pos` may start: after a time or value that opens the
    text ("At least 4 weeks since prior chemotherapy" -> "prior chemotherapy")."""
    ends = [loc.end for loc in (*p.windows, *p.quantities) if loc.end <= pos and loc.start < 3]
    return max(ends, default=0)


CUE_REACH = 40  # characters a cue ("undergoing", "treated with") may stand before its head word


def cue_before(cues: re.Pattern[str], text: str, head: re.Match[str]) -> re.Match[str] | None:
    """The first cue that ends within CUE_REACH characters before the head word, if any."""
    return next(
        (
            c
            for c in cues.finditer(text, 0, head.start() + 1)
            if head.start() - c.end() <= CUE_REACH
        ),
        None,
    )


def head_phrase(text: str, start: int, head: re.Match[str], max_words: int = 5) -> str:
    """The words from `start` up to and including a head word ("major surgery"), never
    reaching back over clause punctuation ("Note: Carboplatin" -> "Carboplatin")."""
    chunk = text[start : head.end()]
    cut = max((m.end() for m in re.finditer(r"[;:.,()\[\]]\s", chunk)), default=0)
    words = chunk[cut:].split()[-max_words:]
    return clean(" ".join(words))


def _cut_at_time(p: Prepared, phrase: str, start: int) -> str:
    """A phrase ends where a window or value begins ("diabetes of 10 years or longer")."""
    where = _locate(p.text, phrase, start)
    if where is None:
        return phrase
    a, b = where
    cuts = [loc.start for loc in (*p.windows, *p.quantities) if a < loc.start < b]
    if not cuts:
        return phrase
    return re.sub(r"\s+(?:of|for|with|at|in|and|or)$", "", p.text[a : min(cuts)].rstrip(" ,"))


def _locate(text: str, part: str, start: int) -> tuple[int, int] | None:
    at = text.find(part, start)
    if at < 0:
        at = text.lower().find(part.lower(), start)
    return (at, at + len(part)) if at >= 0 else None


def criteria_for(
    ex: Extractor, p: Prepared, phrase: str, start: int, *, negated: bool | None = None
) -> list[Criterion]:
    """One criterion per OR alternative of `phrase` (found at or after `start`).

    Alternatives share a `group` (the model's OR), except under negation: "no A or B" means
    neither A nor B, so the negated alternatives are independent criteria that must all hold.
    """
    phrase = _cut_at_time(p, phrase, start)
    if not clean(phrase):
        return []
    parts = [c for c in (clean(x) for x in split_or(clean(phrase))) if c]
    located = [_locate(p.text, part, start) for part in parts]
    event = ex.category.value != "condition"
    kind = ENTITY_TYPE.get(ex.category.value, "Condition")
    out: list[Criterion] = []
    for n, (part, where) in enumerate(zip(parts, located, strict=True)):
        a, b = where if where else (start, start)
        if where and (p.is_claimed(_Range(a, b)) or part.count("(") != part.count(")")):
            continue  # read already ("EGFR mutation") or cut mid-parenthesis
        modifier = modifier_of_next(part, p.text[b:] if where else "")
        if modifier is not None:  # "hepatic or renal failure" -> "hepatic failure"
            part = distribute(modifier, parts[n + 1] if n + 1 < len(parts) else None) or ""
        if not part or junk(part):
            continue
        neg = negated if negated is not None else p.negated(a, b)
        refs: list[EntityRef] = [(kind, a, b)] if where else []
        cue = p.negation_cue(a, b)
        if neg and cue:
            refs.append(("Negation", *cue))
        timing = p.timing(a, b, event=event)
        if timing.span is not None:
            refs.append(("Temporal", *timing.span))
        out.append(
            ex.make(
                p,
                part,
                negated=neg != timing.flips_negation,
                window_days=timing.window_days,
                duration_days=timing.duration_days,
                refs=refs,
            )
        )
    if len(out) > 1 and not any(c.negated for c in out):
        group = f"or{next(_GROUPS)}"
        for crit in out:
            crit.group = group
    return out


__all__ = ["RULES", "clean", "criteria_for", "floor", "head_phrase", "phrase_after"]
