"""Note vocabulary as medspaCy TargetRules, loaded from the lexicon YAML files.

There is no UMLS here, so mentions are found by dictionary: a hand-curated core
(`lexicon_core.yaml`: abbreviations, symptoms, drug classes) and terms harvested from public
data (`lexicon_harvested.yaml`, written by `tools/build_note_lexicon.py`). The loader adds the
surface variants notes actually use (plural, hyphen or space, possessive) so that the files can
list each concept once. Earlier files win when two name the same surface form, so curated
entries override harvested ones.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from medspacy.target_matcher import TargetMatcher, TargetRule
from spacy.language import Language

from nlp.notes.schema import Lexicon, LexiconTerm, load_notes_rules

_PLURAL_CATEGORIES = frozenset({"condition", "finding", "procedure", "device"})
_NO_PLURAL_ENDINGS = ("s", "x", "z", "ch", "sh", "ia", "ae", "um", "ing", "ism", "ed")


@dataclass(frozen=True, slots=True)
class TermInfo:
    """What a matched span means: kept on the rule's metadata for the fact builder."""

    name: str
    category: str
    codes: tuple[tuple[str, str], ...]
    assertion: str | None


def _plural(phrase: str) -> str | None:
    words = phrase.split(" ")
    last = words[-1]
    if not last.isalpha() or len(last) < 4 or last.endswith(_NO_PLURAL_ENDINGS):
        return None
    if last.endswith("y") and last[-2] not in "aeiou":
        words[-1] = last[:-1] + "ies"
    else:
        words[-1] = last + "s"
    return " ".join(words)


def surface_variants(phrase: str, category: str) -> list[str]:
    """Lower-case forms of one phrase: as written, hyphen/space swapped, possessive-free,
    and the plural of its last word for concepts that are counted ("polyps", "seizures")."""
    base = " ".join(phrase.lower().split())
    forms = [base, base.replace("-", " "), base.replace("'s ", " ").replace("' ", " ")]
    forms.append(base.replace("'s ", "s "))
    if category in _PLURAL_CATEGORIES:
        forms += [p for p in (_plural(f) for f in list(forms)) if p]
    return list(dict.fromkeys(f for f in forms if f))


def _term_rules(term: LexiconTerm, seen: set[tuple[str, bool]]) -> Iterator[TargetRule]:
    info = TermInfo(
        term.name,
        term.category,
        tuple((c.system, c.code) for c in term.codes),
        term.assertion,
    )
    label = term.category.upper()
    for phrase in [term.name, *term.synonyms]:
        for form in surface_variants(phrase, term.category):
            if (form, False) in seen:
                continue
            seen.add((form, False))
            yield TargetRule(form, label, metadata={"term": info})
    for abbreviation in term.abbreviations:
        key = (abbreviation, True)
        if key in seen:
            continue
        seen.add(key)
        pattern = [{"ORTH": part} for part in _split_abbreviation(abbreviation)]
        yield TargetRule(abbreviation, label, pattern=pattern, metadata={"term": info})


def _split_abbreviation(text: str) -> list[str]:
    """Token texts of an abbreviation as spaCy's English tokenizer splits it ("N/V")."""
    return [t.text for t in _tokenizer()(text)]


@cache
def _tokenizer():  # type: ignore[no-untyped-def]
    import spacy

    return spacy.blank("en").tokenizer


@cache
def lexicon_rules(files: tuple[str, ...]) -> tuple[TargetRule, ...]:
    """All rules of the named lexicon files, first file first; built once per process."""
    seen: set[tuple[str, bool]] = set()
    rules: list[TargetRule] = []
    for name in files:
        for term in load_notes_rules(name, Lexicon).terms:
            rules.extend(_term_rules(term, seen))
    return tuple(rules)


def term_of(rule: TargetRule | None) -> TermInfo | None:
    if rule is None or not rule.metadata:
        return None
    info = rule.metadata.get("term")
    return info if isinstance(info, TermInfo) else None


@Language.factory(
    "trialmatch_note_lexicon",
    default_config={"files": ["lexicon_core"], "span_group": "note_targets"},
)
def make_lexicon_matcher(
    nlp: Language, name: str, files: list[str], span_group: str
) -> TargetMatcher:
    """medspaCy's TargetMatcher writing into the span group ConText reads (overlaps pruned to
    the longest match, so "type 2 diabetes" beats "diabetes")."""
    matcher = TargetMatcher(
        nlp, name=name, result_type="group", span_group_name=span_group, prune=True
    )
    matcher.add(list(lexicon_rules(tuple(files))))
    return matcher
