"""Strict loader for the YAML rule files under `nlp/rules/`.

Rules are data so that clinicians can extend vocabularies without touching code, which makes a
typo in a key the most likely failure. Every model therefore forbids unknown keys and every
regex is compiled at load time, and the error names the file and the offending key, so that a
bad edit fails at start-up with a message that points at the line to fix instead of silently
matching nothing.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from matcher.errors import TrialmatchError

RULES_DIR = Path(__file__).parent / "rules"


class RulesError(TrialmatchError):
    """A rule file is missing, not YAML, or does not have the expected structure."""


def _check_regex(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regex {value!r}: {exc}") from exc
    return value


Regex = Annotated[str, AfterValidator(_check_regex)]


class StrictModel(BaseModel):
    """Base of every rule-file schema: unknown keys are errors, loaded rules are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HeadingSection(StrictModel):
    kind: Literal["inclusion", "exclusion"]
    inline: bool = False
    patterns: list[Regex]


class HeadingRules(StrictModel):
    sections: list[HeadingSection]
    heading_qualifier: Regex
    subheading_max_words: int
    subheading_max_chars: int
    any_of_parent: Regex
    count_parent: Regex
    list_label_gap: Regex
    exception_parent: Regex
    inline_labels: list[Regex]
    sentence_split_min_chars: int
    sentence_min_chars: int
    glued_list_min_chars: int
    glued_list_min_statements: int


class PhraseSymbol(StrictModel):
    phrase: Regex
    symbol: Literal["<", "<=", ">", ">=", "="]


def _check_template(value: str) -> str:
    """A regex once its {N} (number) and {UNIT} (time unit) placeholders are filled in."""
    _check_regex(value.replace("{N}", "(?P<n>1)").replace("{UNIT}", "(?P<unit>d)"))
    return value


class TemporalRule(StrictModel):
    kind: Literal["lookback", "since", "duration", "future"]
    pattern: Annotated[str, AfterValidator(_check_template)]


class ModifierConnector(StrictModel):
    """A word that makes the clinical span after it a qualifier of the one before it."""

    pattern: Regex
    # Head entity types the connector qualifies; empty: any ("for" only follows treatments).
    after_types: list[str] = []


class CommonRules(StrictModel):
    comparators: list[PhraseSymbol]
    postfix_comparators: list[PhraseSymbol]
    number_words: dict[str, float]
    time_units: dict[Literal["day", "week", "month", "year"], float]
    temporal: list[TemporalRule]
    negation_cues: list[Regex]
    exception_cues: list[Regex]
    conditional_cues: list[Regex]
    pseudo_negations: list[Regex]
    post_negation_cues: list[Regex]
    negation_terminators: list[Regex]
    phrase_stops: list[Regex]
    status_negation: Regex
    definition_cues: list[Regex]
    definition_inline_cues: list[Regex] = []
    modifier_connectors: list[ModifierConnector]
    list_breaks: Regex
    deontic_negations: list[Regex]


class AgeRules(StrictModel):
    context: Regex
    blockers: Regex
    definitions: Regex
    units: dict[Literal["years", "months", "weeks", "days"], Regex]


class SexRule(StrictModel):
    value: Literal["all", "male", "female"]
    pattern: Regex


class SexRules(StrictModel):
    rules: list[SexRule]
    single_sex_shapes: list[Regex]
    blockers: Regex


class LabRules(StrictModel):
    labs: dict[str, list[Regex]]
    scale_stopwords: Regex


class PerformanceRules(StrictModel):
    scales: dict[str, list[Regex]]
    default_scale: str
    anchor: Regex


class PregnancyRules(StrictModel):
    pregnancy: Regex
    lactation: Regex
    contraception: Regex
    childbearing: Regex
    negation: Regex


class BiomarkerDef(StrictModel):
    name: str
    hgnc: str
    symbol: str
    status_required: bool = False
    patterns: list[Regex]


class BiomarkerStatus(StrictModel):
    value: str
    patterns: list[Regex]


class BiomarkerCombination(StrictModel):
    pattern: Regex
    markers: list[str]
    value: str


class BiomarkerRules(StrictModel):
    markers: list[BiomarkerDef]
    statuses: list[BiomarkerStatus]
    combinations: list[BiomarkerCombination]
    reach: int


class ConceptRules(StrictModel):
    type_categories: dict[str, Literal["condition", "medication", "procedure"]]
    event_types: list[str]
    generic: Regex
    min_chars: int
    reserved: Regex
    non_heads: Regex
    dangling: Regex
    fragments: Regex
    shared_head_adjective: Regex


class ConsentRule(StrictModel):
    concept: str
    pattern: Regex


class ConsentRules(StrictModel):
    rules: list[ConsentRule]
    negation: Regex
    subordinate: Regex


class ConditionRules(StrictModel):
    cues: list[Regex]
    strip_leading: Regex
    head_words: Regex
    max_bare_words: int


class MedicationRules(StrictModel):
    strong_cues: Regex
    cues: list[Regex]
    blockers: Regex
    drug_words: Regex


class ProcedureRules(StrictModel):
    words: Regex
    cues: list[Regex]


class ClinicalRules(StrictModel):
    condition: ConditionRules
    medication: MedicationRules
    procedure: ProcedureRules


M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<top level>"


def _describe(exc: ValidationError) -> str:
    """One line per problem, phrased around keys because that is what a rule author edits."""
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        if err["type"] == "extra_forbidden":
            parent = _location(loc[:-1])
            lines.append(f"unknown key {loc[-1]!r} at {parent}")
        elif err["type"] == "missing":
            lines.append(f"missing key {loc[-1]!r} at {_location(loc[:-1])}")
        else:
            lines.append(f"{_location(loc)}: {err['msg']}")
    return "; ".join(lines)


def load_rules_file(path: Path, model: type[M]) -> M:
    """Read and validate one rule file; any problem raises RulesError naming `path`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rule file ({exc})") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RulesError(f"{path}: {_describe(exc)}") from exc


@cache
def load_rules(name: str, model: type[M], rules_dir: Path = RULES_DIR) -> M:
    """Cached by (name, model, dir) so that building many parsers re-reads nothing."""
    return load_rules_file(rules_dir / f"{name}.yaml", model)
