"""A stand-in for the criteria NER model in parser tests (our own interface, not spaCy's)."""

from __future__ import annotations

import re
from collections.abc import Sequence


class FixedNer:
    """Stands in for the model: labels every occurrence of the given phrases."""

    def __init__(self, phrases: dict[str, str]) -> None:
        self.phrases = phrases
        self.calls: list[int] = []

    def __call__(self, texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            found = [
                (label, m.start(), m.end())
                for phrase, label in self.phrases.items()
                for m in re.finditer(re.escape(phrase), text, re.IGNORECASE)
            ]
            out.append(sorted(found, key=lambda t: t[1]))
        return out
