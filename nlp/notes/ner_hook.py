"""Optional statistical mentions (the Chia NER of `nlp/ner/`) as extra ConText targets.

The lexicons only know what they list; a statistical NER finds the rest ("right anterior thigh
numbness"). It is optional: the pipeline works without it, and the component is left out when
no model is installed. Merge policy: lexicon and measurement mentions win over an NER span they
overlap (they carry a normalised name, codes and values); NER spans fill only the gaps.

A source is any callable mapping sentence texts to (start, end, label) offsets in each text,
registered by name so that the pipeline stays configurable from YAML and tests can plug in a
fake one.
"""

import re
from collections.abc import Callable, Sequence
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.notes.sentences import note_sentences

NER_KEY = "trialmatch_note_ner"
MentionSource = Callable[[Sequence[str]], list[list[tuple[int, int, str]]]]


class MentionSourceUnavailable(RuntimeError):
    """The named source cannot be loaded here (no model installed)."""


_SOURCES: dict[str, Callable[[], MentionSource]] = {}


def register_mention_source(name: str, loader: Callable[[], MentionSource]) -> None:
    """`loader` is called once, when a pipeline using `name` is built."""
    _SOURCES[name] = loader


def _entity_fields(entity: Any) -> tuple[int, int, str]:
    label = getattr(entity, "type", None) or getattr(entity, "label", None) or entity[2]
    return int(entity.start), int(entity.end), str(label)


def _chia_source() -> MentionSource:
    """Adapter over `nlp.ner` (`load_ner()`, `extract_entities(texts, nlp=...)`)."""
    try:
        from nlp.ner import extract_entities, load_ner

        model = load_ner()
    except (ImportError, OSError) as exc:  # no model shipped (yet) or not importable
        raise MentionSourceUnavailable(f"Chia NER not available: {exc}") from exc

    def source(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        found = extract_entities(list(texts), nlp=model, nested=False)  # one span per mention
        return [[_entity_fields(e) for e in entities] for entities in found]

    return source


register_mention_source("chia", _chia_source)


class NerMentions:
    """`skip` (a regex over the span text) and `min_chars` drop spans a criteria-trained model
    tags in notes that are not concepts ("her", "his abdomen", "vital signs")."""

    def __init__(
        self,
        source: MentionSource,
        labels: dict[str, str],
        span_group: str,
        skip: str = "",
        min_chars: int = 1,
    ) -> None:
        self._source = source
        self._labels = labels
        self._group = span_group
        self._skip = re.compile(skip, re.IGNORECASE) if skip else None
        self._min_chars = min_chars

    def _keep(self, text: str) -> bool:
        return len(text) >= self._min_chars and not (self._skip and self._skip.search(text))

    def __call__(self, doc: Doc) -> Doc:
        existing = list(doc.spans[self._group]) if self._group in doc.spans else []
        taken = [(s.start_char, s.end_char) for s in existing]
        sentences = note_sentences(doc)
        texts = [doc.text[s.start : s.end] for s in sentences]
        found: dict[tuple[int, int], str] = {}
        spans: list[Span] = []
        for sentence, entities in zip(sentences, self._source(texts), strict=True):
            for start, end, label in entities:
                category = self._labels.get(label)
                if category is None:
                    continue
                a, b = sentence.start + start, sentence.start + end
                span = doc.char_span(a, b, label=category.upper(), alignment_mode="expand")
                if span is None or not self._keep(span.text):  # as our tokens cut it
                    continue
                key = (span.start_char, span.end_char)
                if any(key[0] < e and s < key[1] for s, e in taken):
                    continue
                taken.append(key)
                found[key] = category
                spans.append(span)
        doc.user_data[NER_KEY] = found
        doc.spans[self._group] = existing + spans
        return doc


@Language.factory(
    "trialmatch_note_ner",
    default_config={
        "source": "chia",
        "labels": {},
        "span_group": "note_targets",
        "skip": "",
        "min_chars": 1,
    },
)
def make_ner_mentions(
    nlp: Language,
    name: str,
    source: str,
    labels: dict[str, str],
    span_group: str,
    skip: str,
    min_chars: int,
) -> NerMentions:
    if source not in _SOURCES:
        raise MentionSourceUnavailable(f"no mention source named {source!r}")
    return NerMentions(_SOURCES[source](), labels, span_group, skip, min_chars)
