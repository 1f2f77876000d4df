"""Strict schemas for the note-NLP rule files under `nlp/notes/rules/`.

The files are edited by people who know clinical wording rather than Python, so every model
forbids unknown keys and compiles its regexes at load time (via `nlp.rules_loader`): a typo
fails at start-up naming the file and key instead of silently matching nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field

from nlp.rules_loader import Regex, StrictModel, load_rules

NOTES_RULES_DIR = Path(__file__).parent / "rules"

SexName = Literal["male", "female"]
AssertionName = Literal["present", "absent", "possible", "historical", "family", "hypothetical"]
FactKindName = Literal[
    "condition", "medication", "procedure", "observation", "allergy", "device", "note-mention"
]
# Mention labels the pipeline puts on spans; lexicon categories are their lower-case forms.
Category = Literal["condition", "finding", "medication", "procedure", "device", "lab", "other"]


# --- demographics.yaml ------------------------------------------------------------------


class AgeUnit(StrictModel):
    pattern: Regex
    years: float = Field(gt=0)


class DemographicRules(StrictModel):
    age_patterns: list[Regex] = Field(min_length=1)
    short_form_case_sensitive: Regex
    short_form_window: int = Field(gt=0)
    decade_pattern: Regex
    decade_words: dict[str, int]
    decade_offsets: dict[Literal["early", "mid", "late", "none"], int]
    units: list[AgeUnit] = Field(min_length=1)
    other_person: Regex
    other_person_after: Regex
    person_nouns: dict[SexName, Regex]
    noun_window_words: int = Field(ge=0)
    pronouns: dict[SexName, Regex]
    cues: dict[SexName, Regex]


# --- lexicon_*.yaml ---------------------------------------------------------------------


class CodeRef(StrictModel):
    system: str
    code: str


class LexiconTerm(StrictModel):
    """One concept: `name` is the normalised fact text; the other forms are what notes say."""

    name: str = Field(min_length=1)
    category: Category
    synonyms: list[str] = Field(default_factory=list)  # matched case-insensitively
    abbreviations: list[str] = Field(default_factory=list)  # matched case-sensitively
    codes: list[CodeRef] = Field(default_factory=list)
    assertion: AssertionName | None = None  # e.g. "afebrile" asserts fever absent


class Lexicon(StrictModel):
    terms: list[LexiconTerm]


# --- context.yaml -----------------------------------------------------------------------


_TEXT_ATTRS = frozenset({"LOWER", "ORTH", "TEXT", "NORM", "LEMMA"})


def _check_token_pattern(pattern: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Text attributes must hold strings: YAML reads unquoted no/on/off as booleans, which
    spaCy would reject only when the pipeline is built, far from the line to fix."""
    for i, token in enumerate(pattern or ()):
        for attr, value in token.items():
            if attr not in _TEXT_ATTRS:
                continue
            values = value.get("IN", []) if isinstance(value, dict) else [value]
            bad = [v for v in values if not isinstance(v, str)]
            if bad:
                raise ValueError(
                    f'token {i} {attr}: {bad!r} is not text (quote words like "no" in YAML)'
                )
    return pattern


TokenPattern = Annotated[list[dict[str, Any]] | None, AfterValidator(_check_token_pattern)]


class ContextRuleSpec(StrictModel):
    literal: str = Field(min_length=1)
    category: str = Field(min_length=1)
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
    pattern: TokenPattern = None
    max_scope: int | None = Field(None, gt=0)
    allowed_types: list[str] | None = None
    excluded_types: list[str] | None = None


class DefaultOverride(StrictModel):
    """Narrows one of medspaCy's default rules, named by its literal."""

    literal: str
    max_scope: int | None = Field(None, gt=0)
    allowed_types: list[str] | None = None
    excluded_types: list[str] | None = None


class ContextRules(StrictModel):
    use_default_rules: bool
    # A modifier word inside a mention is part of what the mention says ("no longer enjoys"
    # is anhedonia), not a cue for the mentions after it.
    prune_on_target_overlap: bool = False
    drop_default: list[str] = Field(default_factory=list)
    default_overrides: list[DefaultOverride] = Field(default_factory=list)
    rules: list[ContextRuleSpec]


# --- sections.yaml ----------------------------------------------------------------------


class SectionSpec(StrictModel):
    category: str = Field(min_length=1)
    titles: list[str] = Field(min_length=1)
    assertion: AssertionName | None = None
    kind_overrides: dict[Category, FactKindName] = Field(default_factory=dict)


class SectionRules(StrictModel):
    require_start_line: bool
    require_colon: bool
    sections: list[SectionSpec]


# --- measurements.yaml ------------------------------------------------------------------


class UnitSpec(StrictModel):
    pattern: Regex
    unit: str


class ComparatorSpec(StrictModel):
    phrase: Regex
    symbol: Literal["<", "<=", ">", ">=", "="]


class ImpliedUnit(StrictModel):
    unit: str
    min: float | None = None
    max: float | None = None


class MeasurementSpec(StrictModel):
    name: str = Field(min_length=1)
    patterns: list[Regex] = Field(min_length=1)
    units: list[str] = Field(default_factory=list)  # accepted canonical units; empty: any
    implied_units: list[ImpliedUnit] = Field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    pair: tuple[str, str] | None = None  # "150/95": names of the two component values
    value_first: bool = False  # also "25% eosinophils", "165 cm tall"
    codes: list[CodeRef] = Field(default_factory=list)


class ImpliedMeasurement(StrictModel):
    """A finding word that states a bound on a vital sign ("tachycardic": heart rate > 100)."""

    pattern: Regex
    name: str = Field(min_length=1)
    comparator: Literal["<", "<=", ">", ">="]
    value: float
    unit: str = ""


class MeasurementRules(StrictModel):
    units: list[UnitSpec]
    comparators: list[ComparatorSpec]
    reject_after: Regex
    fillers: list[Regex]
    max_fillers: int = Field(ge=0)
    copulas: Regex
    intensifiers: Regex
    coordination: Regex
    qualifiers: dict[str, Regex]
    measurements: list[MeasurementSpec]
    implied: list[ImpliedMeasurement] = Field(default_factory=list)


# --- sentences.yaml ---------------------------------------------------------------------


class SentenceRules(StrictModel):
    abbreviations: list[str]
    numbered_line: Regex
    list_item: Regex
    end_punctuation: Regex


# --- pipeline.yaml ----------------------------------------------------------------------


class ComponentSpec(StrictModel):
    name: str
    factory: str
    config: dict[str, Any] = Field(default_factory=dict)
    optional: bool = False  # skipped (not an error) when its resources are unavailable


class PipelineRules(StrictModel):
    components: list[ComponentSpec] = Field(min_length=1)
    span_group: str
    fact_kinds: dict[Category, FactKindName]
    context_assertions: dict[str, AssertionName]
    assertion_precedence: list[AssertionName]
    ignored_assertions: dict[Category, list[AssertionName]] = Field(default_factory=dict)
    narrowing_modifiers: list[str] = Field(default_factory=list)
    max_note_chars: int = Field(gt=0)


M = TypeVar("M", bound=BaseModel)


def load_notes_rules(name: str, model: type[M], rules_dir: Path = NOTES_RULES_DIR) -> M:
    """The project's cached strict loader, defaulting to the notes' rule folder."""
    return load_rules(name, model, rules_dir)


class DurationRules(StrictModel):
    """nlp/notes/rules/durations.yaml: phrases saying how long a finding lasted or how long
    ago an event was; {n} takes digits or a number word, {unit} a time unit."""

    numbers: dict[str, float] = Field(default_factory=dict)
    lasting: list[str] = Field(min_length=1)
    ago: list[str] = Field(default_factory=list)
