"""Concept texts that are pieces of a phrase, not concepts (data: nlp/rules/concepts.yaml).

Every concept becomes a facet the matcher evaluates on its own, and in a ruling-out criterion
a facet too broad to mean anything ("heart", "surgical", "symptoms of") rules patients out on
a word. So a concept is rejected when
- it ends in a preposition, determiner or conjunction: the NER cut it mid-phrase ("symptoms
  of", "heart and"); a stripped "cancer of" would be broader than what was written;
- it is made only of such words or of word prefixes ("co" of "co-existing") or adverbs
  ("surgically");
- it is a bare adjective or noun modifier before "and/or" that shares the next noun ("surgical
  or medical condition", "heart and lung dysfunction"): it reads as that noun with the
  modifier ("heart dysfunction") when the next concept names it, else it is nothing.
"""

from __future__ import annotations

import re

from nlp.rules_loader import ConceptRules, load_rules

_R = load_rules("concepts", ConceptRules)
_WORD = rf"(?:{_R.dangling})"
_TAIL = re.compile(rf"\s+{_WORD}$", re.IGNORECASE)
_CONJ_TAIL = re.compile(r"\s+(?:and/or|and|or|nor|&)$", re.IGNORECASE)
_FRAGMENT = re.compile(rf"{_WORD}|(?:{_R.fragments})", re.IGNORECASE)
_ADJECTIVE = re.compile(_R.shared_head_adjective, re.IGNORECASE)
# The modifier after the conjunction, then its noun: "surgical| or medical condition", not
# "hexobarbital| and phenytoin" (a list of nouns).
_CONJ_AFTER = re.compile(
    rf"[ \t]*(?:and/or|and|or|nor|&)\s+(?:{_R.shared_head_adjective})\s+\w", re.IGNORECASE
)


def junk(concept: str) -> bool:
    """A concept text that ends mid-phrase or has no content word of its own."""
    words = concept.split()
    if not words:
        return True
    return bool(_TAIL.search(concept)) or all(_FRAGMENT.fullmatch(w) for w in words)


def modifier_of_next(concept: str, after: str) -> str | None:
    """The modifier itself when `concept` only modifies a noun shared with what follows.

    "heart and" (the NER kept the conjunction) -> "heart"; "surgical" followed by " or
    medical condition" -> "surgical"; "diabetes" followed by " or heart failure" and
    "hexobarbital" by " and phenytoin" -> None (nouns, and not cut before their
    conjunction, name concepts of their own).
    """
    conj = _CONJ_TAIL.search(concept)
    if conj is not None:
        return concept[: conj.start()].strip() or None
    if len(concept.split()) == 1 and _ADJECTIVE.fullmatch(concept) and _CONJ_AFTER.match(after):
        return concept
    return None


def distribute(modifier: str, following: str | None) -> str | None:
    """ "heart" + "lung dysfunction" -> "heart dysfunction"; None when there is no shared noun."""
    if following is None or len(following.split()) < 2:
        return None
    return f"{modifier} {following.split()[-1]}"
