"""Diagnoses a record implies by a published criteria set without naming them.

Case notes often describe a disease by its findings and leave the name to the reader: a
young woman with thrombocytopenia, a positive ANA, anti-dsDNA and protein in her urine has
lupus by the ACR classification criteria, and a student with anhedonia, fatigue, hypersomnia,
poor concentration and guilt meets DSM-5 criterion A for a major depressive episode. A
coordinator reading the record would count them, so the matcher does, with rules kept as data
(`nlp/rules/diagnoses.yaml`): a rule names the diagnosis, its criteria (each met by any of
some finding names) and how many must be met. The derived fact says which criteria it
counted, so the evidence stays checkable, and points at the sentence of the first of them.

Only the patient's own present findings count (not family history, negated or hypothetical
ones). Nothing is derived when the record already names the diagnosis in any assertion: a
stated diagnosis, or its denial, is the clinician's word and outranks a count of findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from matcher.matching.concepts import content_tokens, names_concept
from matcher.model import Assertion, Fact, FactKind

_COUNTED_KINDS = frozenset({FactKind.CONDITION, FactKind.OBSERVATION, FactKind.MEDICATION})
# A past hysterectomy or bipolar disorder rules an inference out as much as a current one.
_RULING_OUT_ASSERTIONS = frozenset({Assertion.PRESENT, Assertion.HISTORICAL})


@dataclass(frozen=True, slots=True)
class DiagnosticCriterion:
    """One criterion of a set, met by a present fact naming any of `findings` (or a more
    specific form of one: "severe thrombocytopenia" meets "thrombocytopenia")."""

    label: str
    findings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DiagnosisRule:
    name: str
    source: str  # the criteria set, quoted in the evidence
    at_least: int
    criteria: tuple[DiagnosticCriterion, ...]
    # At least one of the counted criteria must be one of these (DSM-5: depressed mood or
    # anhedonia); empty when any criterion will do.
    required: tuple[str, ...] = ()
    # Diagnoses or procedures, present or past, that rule the inference out ("bipolar
    # disorder" for a depressive episode, "hysterectomy" for childbearing potential).
    unless: tuple[str, ...] = ()
    # Other names of the diagnosis: the record naming one of them names the diagnosis.
    aliases: tuple[str, ...] = ()
    # A class rule ("viral infection"): any one member named is the class, said plainly.
    is_class: bool = False
    # Every content word of the findings: a fact sharing none cannot meet a criterion, so
    # most of a record is skipped at the cost of one set test (this runs per patient per
    # request, and RankPatients meets hundreds of patients).
    vocabulary: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        words = [content_tokens(n) for c in self.criteria for n in c.findings]
        object.__setattr__(self, "vocabulary", frozenset().union(*words))


def _names(fact: Fact, names: Iterable[str]) -> bool:
    tokens = content_tokens(fact.text)
    return bool(tokens) and any(names_concept(content_tokens(n), tokens) for n in names)


def _meets(criterion: DiagnosticCriterion, facts: list[Fact]) -> Fact | None:
    for fact in facts:
        if _names(fact, criterion.findings):
            return fact
    return None


def _derive(rule: DiagnosisRule, facts: list[Fact], present: list[Fact]) -> Fact | None:
    relevant = [f for f in present if not content_tokens(f.text).isdisjoint(rule.vocabulary)]
    if len(relevant) < rule.at_least:
        return None
    met: list[tuple[str, Fact]] = []
    for criterion in rule.criteria:
        fact = _meets(criterion, relevant)
        if fact is not None:
            met.append((criterion.label, fact))
    if len(met) < rule.at_least:
        return None
    if rule.required and not any(label in rule.required for label, _ in met):
        return None
    if any(_names(f, (rule.name, *rule.aliases)) for f in facts):
        return None
    if rule.unless and any(
        _names(f, rule.unless) for f in facts if f.assertion in _RULING_OUT_ASSERTIONS
    ):
        return None
    first = met[0][1]
    dates = [f.start for _, f in met if f.start is not None]
    counted = ", ".join(f"{label} ({fact.text})" for label, fact in met)
    how = (
        f"{first.text} is a {rule.name}"
        if rule.is_class
        else (
            f"inferred: {len(met)} of {len(rule.criteria)} {rule.source} criteria "
            f"(at least {rule.at_least}): {counted}"
        )
    )
    return replace(
        first,
        kind=FactKind.CONDITION,
        text=rule.name,
        codes=[],
        value=None,
        unit="",
        comparator="",
        status="",
        start=max(dates) if dates else None,
        end=None,
        value_text=how,
    )


def class_rule(name: str, members: Iterable[str]) -> DiagnosisRule:
    """A rule met by any one named member: "cytomegalovirus infection" is a "viral
    infection", so a criterion asking for the class is met by the record naming a member."""
    return DiagnosisRule(
        name, "class", 1, (DiagnosticCriterion("member", tuple(members)),), is_class=True
    )


@dataclass(frozen=True, slots=True)
class Diagnoses:
    """The rules the engine infers by, with the words any of them can use, gathered once."""

    rules: tuple[DiagnosisRule, ...] = ()
    vocabulary: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        words = frozenset().union(*(r.vocabulary for r in self.rules))
        object.__setattr__(self, "vocabulary", words)

    def infer(self, facts: list[Fact]) -> list[Fact]:
        """The diagnoses the rules derive from `facts` that the facts do not name themselves."""
        present = [
            f
            for f in facts
            if f.assertion == Assertion.PRESENT
            and f.kind in _COUNTED_KINDS
            and not content_tokens(f.text).isdisjoint(self.vocabulary)
        ]
        if not present:
            return []
        derived = (_derive(rule, facts, present) for rule in self.rules)
        return [fact for fact in derived if fact is not None]
