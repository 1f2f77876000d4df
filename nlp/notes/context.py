"""medspaCy ConText and Sectionizer, built from our rule files, as named spaCy factories.

ConText starts from medspaCy's own English rules (read from the installed package, so upgrades
bring their fixes) minus the few we replace, plus `context.yaml`; the Sectionizer gets only our
`sections.yaml`, because medspaCy's default section list fires on words that open ordinary
sentences in admission notes. Both read the same span group as the target matchers, so lexicon,
measurement and NER mentions all receive modifiers and sections.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from medspacy.context import ConText, ConTextRule
from medspacy.section_detection import Sectionizer, SectionRule
from spacy.language import Language
from spacy.tokens import Span

from nlp.notes.schema import (
    NOTES_RULES_DIR,
    AssertionName,
    ContextRules,
    DefaultOverride,
    SectionRules,
    load_notes_rules,
)
from nlp.rules_loader import RulesError


def _rule(spec: Any) -> ConTextRule:
    return ConTextRule(
        literal=spec.literal,
        category=spec.category,
        pattern=spec.pattern,
        direction=spec.direction,
        max_scope=spec.max_scope,
        allowed_types=set(spec.allowed_types) if spec.allowed_types else None,
        excluded_types=set(spec.excluded_types) if spec.excluded_types else None,
    )


def _narrow(rule: ConTextRule, override: DefaultOverride) -> None:
    if override.max_scope is not None:
        rule.max_scope = override.max_scope
    if override.allowed_types is not None:
        rule.allowed_types = {t.upper() for t in override.allowed_types}
    if override.excluded_types is not None:
        rule.excluded_types = {t.upper() for t in override.excluded_types}


@Language.factory(
    "trialmatch_note_context", default_config={"rules": "context", "span_group": "note_targets"}
)
def make_context(nlp: Language, name: str, rules: str, span_group: str) -> ConText:
    spec = load_notes_rules(rules, ContextRules)
    context = ConText(
        nlp,
        name=name,
        rules=None,
        input_span_type="group",
        span_group_name=span_group,
        prune_on_target_overlap=spec.prune_on_target_overlap,
    )
    if spec.use_default_rules:
        defaults = ConTextRule.from_json(context.DEFAULT_RULES_FILEPATH)
        overrides = {o.literal: o for o in spec.default_overrides}
        unknown = (set(spec.drop_default) | set(overrides)) - {r.literal for r in defaults}
        if unknown:
            raise RulesError(
                f"{NOTES_RULES_DIR / rules}.yaml: drop_default/default_overrides name rules "
                f"medspaCy does not have: {sorted(unknown)}"
            )
        kept = [r for r in defaults if r.literal not in spec.drop_default]
        for rule in kept:
            override = overrides.get(rule.literal)
            if override is not None:
                _narrow(rule, override)
        context.add(kept)
    context.add([_rule(r) for r in spec.rules])
    return context


@dataclass(frozen=True, slots=True)
class SectionPolicy:
    """What being inside a section means for a mention (from `sections.yaml`)."""

    assertion: AssertionName | None
    kind_overrides: dict[str, str]


@cache
def section_policies(rules: str = "sections") -> dict[str, SectionPolicy]:
    spec = load_notes_rules(rules, SectionRules)
    return {s.category: SectionPolicy(s.assertion, dict(s.kind_overrides)) for s in spec.sections}


def _title_pattern(nlp: Language, title: str, colon: bool) -> list[dict[str, Any]]:
    pattern: list[dict[str, Any]] = [{"LOWER": t.lower_} for t in nlp.tokenizer(title)]
    if colon:
        pattern.append({"ORTH": ":"})
    return pattern


@Language.factory(
    "trialmatch_note_sections",
    default_config={"rules": "sections", "span_group": "note_targets"},
)
def make_sectionizer(nlp: Language, name: str, rules: str, span_group: str) -> Sectionizer:
    spec = load_notes_rules(rules, SectionRules)
    sectionizer = Sectionizer(
        nlp,
        name=name,
        rules=None,
        require_start_line=spec.require_start_line,
        input_span_type="group",
        span_group_name=span_group,
        span_attrs=None,  # section -> assertion is applied by the fact builder (precedence)
    )
    sectionizer.add(
        [
            SectionRule(
                literal=title,
                category=section.category,
                pattern=_title_pattern(nlp, title, spec.require_colon),
            )
            for section in spec.sections
            for title in section.titles
        ]
    )
    return sectionizer


def section_of(span: Span) -> str | None:
    """The section category the span's first token lies in (None outside any section)."""
    token = span[0]
    if not token.has_extension("section_category"):
        return None
    category = token._.section_category
    return str(category) if category else None
