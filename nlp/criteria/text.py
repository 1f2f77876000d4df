"""Canonical criterion text with a map back to the original characters.

Numeric rules match one canonical shape ("age >= 18 years", "platelets >= 100000 /mm3")
instead of every English paraphrase ("at least", "no less than", "100,000", "eighteen"), but
every value, window and concept they find must still point at the exact source characters. So
each rewrite keeps, per output character, the original start and end it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from nlp.rules_loader import CommonRules, load_rules

COMMON = load_rules("common", CommonRules)
POST_GE, POST_LE = "⊒", "⊑"  # postfix comparators ("18 or older") after normalisation
_POSTFIX_SYMBOL = {">=": POST_GE, "<=": POST_LE}
POSTFIX = {POST_GE: ">=", POST_LE: "<="}

_POSTFIX_RE = [
    (re.compile(rf"(?<![a-z])(?:{c.phrase})(?![a-z])"), f" {_POSTFIX_SYMBOL[c.symbol]} ")
    for c in COMMON.postfix_comparators
]
_PREFIX_RE = [
    (re.compile(rf"(?<![a-z<>=])(?:{c.phrase})(?![a-z=])"), f" {c.symbol} ")
    for c in COMMON.comparators
]
_NUMBER_WORDS = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, COMMON.number_words), key=len, reverse=True)) + r")\b"
)
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?![\d])")
# "BMI ≥18,5 and ≤27,5": a decimal comma, read only right after a comparator ("ECOG 0,1" is a
# list, "100,000" a thousands separator).
_DECIMAL_COMMA = re.compile(r"([<>=≥≤]\s*)(\d{1,3}),(\d{1,2})(?![\d,])")
_DASHES = re.compile(r"[–—−]")
_SPACES = re.compile(r"\s+")
# Comparator signs glued to a word ("age≥ 40") and "+" glued to a time unit ("6 months+").
_GLUED_SIGNS = re.compile(r"[≥≤≧≦]|(?:(?<=year)|(?<=years)|(?<=month)|(?<=months))\+")
# "greater than or equal to (≥) 18": the sign restated in brackets.
_RESTATED = re.compile(r"([<>]=?)\s*\(\s*\1\s*\)")


@dataclass(frozen=True, slots=True)
class NormText:
    """`text` plus, per character, where it starts and ends in the original."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original offsets of text[a:b]."""
        if b <= a:
            pos = self.starts[a] if a < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return pos, pos
        return self.starts[a], self.ends[b - 1]


def _sub(norm: NormText, rx: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> NormText:
    """re.sub that carries the offset maps along: a replacement spans its whole match."""
    text, starts, ends = norm.text, norm.starts, norm.ends
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    last = 0
    for m in rx.finditer(text):
        a, b = m.span()
        out.append(text[last:a])
        new_starts.extend(starts[last:a])
        new_ends.extend(ends[last:a])
        r = repl(m)
        if r:
            lo = starts[a] if a < len(starts) else (ends[-1] if ends else 0)
            hi = ends[b - 1] if b > a else lo
            out.append(r)
            new_starts.extend([lo] * len(r))
            new_ends.extend([hi] * len(r))
        last = b
    if last == 0 and not out:
        return norm
    out.append(text[last:])
    new_starts.extend(starts[last:])
    new_ends.extend(ends[last:])
    return NormText("".join(out), tuple(new_starts), tuple(new_ends))


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def normalize_map(text: str) -> NormText:
    """Lower-case, comparator phrases as symbols, number words as digits, one space.

    Postfix comparators become distinct symbols because "18 or older" binds to the number
    before it, not after.
    """
    n = len(text)
    norm = NormText(_lower(text), tuple(range(n)), tuple(range(1, n + 1)))
    norm = _sub(norm, _DASHES, lambda m: "-")
    norm = _sub(norm, re.compile("×"), lambda m: "x")
    norm = _sub(norm, _GLUED_SIGNS, lambda m: f" {m.group()} ")
    norm = _sub(norm, _DECIMAL_COMMA, lambda m: f"{m.group(1)}{m.group(2)}.{m.group(3)}")
    norm = _sub(norm, _THOUSANDS, lambda m: m.group(1) + m.group(2).replace(",", ""))
    norm = _sub(norm, _NUMBER_WORDS, lambda m: f"{COMMON.number_words[m.group(1)]:g}")
    for rx, symbol in _POSTFIX_RE:
        norm = _sub(norm, rx, lambda m, s=symbol: s)
    for rx, symbol in _PREFIX_RE:
        norm = _sub(norm, rx, lambda m, s=symbol: s)
    norm = _sub(norm, _SPACES, lambda m: " ")
    norm = _sub(norm, _RESTATED, lambda m: m.group(1))
    lead = len(norm.text) - len(norm.text.lstrip(" "))
    end = len(norm.text.rstrip(" "))
    return NormText(norm.text[lead:end], norm.starts[lead:end], norm.ends[lead:end])


def normalize(text: str) -> str:
    return normalize_map(text).text


@dataclass
class Clauses:
    """Where the main clause ends and which spans are conditional ("for patients with ...").

    "No X unless Y": Y must not shape X, and "Creatinine <= 1.5 x ULN or CrCl >= 60 for
    patients with creatinine > 1.5 x ULN": the last threshold is a condition, not a rule.
    """

    text: str

    @cached_property
    def main_end(self) -> int:
        m = _EXCEPTION.search(self.text)
        return m.start() if m and m.start() > 0 else len(self.text)

    @cached_property
    def conditional(self) -> list[tuple[int, int]]:
        spans = []
        for m in _CONDITIONAL.finditer(self.text):
            stop = _CLAUSE_END.search(self.text, m.end())
            spans.append((m.start(), stop.start() if stop else len(self.text)))
        return spans

    def in_main(self, a: int, b: int) -> bool:
        return b <= self.main_end and not any(s <= a < e for s, e in self.conditional)


def _alternation(phrases: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


_EXCEPTION = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.exception_cues)})(?![\w])", re.I)
_CONDITIONAL = re.compile(rf"(?<![\w-])(?:{_alternation(COMMON.conditional_cues)})(?![\w])", re.I)
_CLAUSE_END = re.compile(r"[;)\]]|,\s|\.(?:\s|$)")
