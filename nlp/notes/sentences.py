"""Sentence splitting for patient notes, as a spaCy component.

spaCy's `sentencizer` splits "0. An 8-year-old..." after "0." and joins a MIMIC-style problem
list ("Past Medical History:\\n- CAD\\n- DM2") into one sentence, which breaks both the
sentence-level evidence the matcher cites and ConText's scopes (a negation must not run from
one list item into the next). This splitter is line-aware: numbered notes keep their own
numbering (the criterion-annotation format cites sentences by it), list items and headers end
at their line, wrapped prose is re-joined, and prose sentences split at final punctuation that
is not an abbreviation. Rules are data: `nlp/notes/rules/sentences.yaml`.
"""

import re
from dataclasses import dataclass
from functools import cache

from spacy.language import Language
from spacy.tokens import Doc

from nlp.notes.schema import SentenceRules, load_notes_rules

SENTENCES_KEY = "trialmatch_note_sentences"


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence's `index` (its own number in numbered notes) and character span; `body_start`
    skips a numbering prefix so that shown evidence reads as the clinician wrote it."""

    index: int
    start: int
    end: int
    body_start: int

    def text(self, note: str) -> str:
        return note[self.body_start : self.end]


@dataclass(frozen=True, slots=True)
class _Compiled:
    abbreviations: frozenset[str]
    numbered: re.Pattern[str]
    list_item: re.Pattern[str]
    end: re.Pattern[str]


@cache
def _rules() -> _Compiled:
    r = load_notes_rules("sentences", SentenceRules)
    return _Compiled(
        frozenset(a.lower() for a in r.abbreviations),
        re.compile(r.numbered_line),
        re.compile(r.list_item),
        re.compile(r.end_punctuation),
    )


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, trimmed of surrounding whitespace."""
    out = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            start = pos + (len(line) - len(line.lstrip()))
            out.append((start, start + len(stripped)))
        pos += len(line) + 1
    return out


def _is_boundary(text: str, cut: int, rules: _Compiled) -> bool:
    """Whether final punctuation before `cut` really ends a sentence (not "Dr." or "A.")."""
    before = text[:cut].rstrip()
    word = re.search(r"(\S+)$", before)
    if word is None:
        return True
    token = word.group(1).rstrip("\"')]").rstrip(".!?").lower()
    if token in rules.abbreviations:
        return False
    return not (len(token) == 1 and token.isalpha())  # an initial: "Patient A. Smith"


def _split_block(text: str, start: int, end: int, rules: _Compiled) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for m in rules.end.finditer(text, start, end):
        if _is_boundary(text, m.start(), rules):
            spans.append((cursor, m.start()))
            cursor = m.end()
    spans.append((cursor, end))
    return [(s, e) for s, e in ((s, s + len(text[s:e].rstrip())) for s, e in spans) if e > s]


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of a note in order; see the module docstring for the rules."""
    rules = _rules()
    lines = _lines(text)
    if not lines:
        return []
    numbered = [rules.numbered.match(text[s:e]) for s, e in lines]
    if all(numbered):
        return [
            Sentence(int(m.group("number")), s, e, s + m.end())
            for (s, e), m in zip(lines, numbered, strict=True)
            if m is not None
        ]
    blocks: list[list[int]] = []
    for s, e in lines:
        previous = blocks[-1] if blocks else None
        continues = (
            previous is not None
            and text[previous[1] - 1] not in ".!?:;"
            and not rules.list_item.match(text[s:e])
        )
        if continues and previous is not None:
            previous[1] = e
        else:
            blocks.append([s, e])
    out: list[Sentence] = []
    for s, e in blocks:
        for a, b in _split_block(text, s, e, rules):
            out.append(Sentence(len(out), a, b, a))
    return out


def note_sentences(doc: Doc) -> list[Sentence]:
    return list(doc.user_data.get(SENTENCES_KEY, ()))


@Language.component("trialmatch_note_sentences")
def set_note_sentences(doc: Doc) -> Doc:
    """Sets `is_sent_start` on every token from `split_sentences` and keeps the sentences."""
    sentences = split_sentences(doc.text)
    doc.user_data[SENTENCES_KEY] = sentences
    starts = sorted(s.start for s in sentences)
    k = 0
    for token in doc:
        token.is_sent_start = False
    for token in doc:
        if k < len(starts) and token.idx >= starts[k] and not token.is_space:
            token.is_sent_start = True
            while k < len(starts) and starts[k] <= token.idx:
                k += 1
    if len(doc):
        doc[0].is_sent_start = True
    return doc
