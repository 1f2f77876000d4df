"""spaCy factories of the entity pipeline, registered by name so a config can assemble them.

`chia_rules` merges the rules of `nlp/rules/ner.yaml` into the statistical model's entities
(policy in `nlp.ner.rules`). `chia_coord` adds the entities of coordinated modifiers sharing a
head ("pleural or pericardial effusion", `nlp.ner.coord`, rules `nlp/rules/ner_coord.yaml`) to
the span group `doc.spans["chia_coord"]`: they overlap `doc.ents`, which must stay flat.
Neither keeps state of its own: the model's saved config names the rule file, and the rules are
read from the package when the pipeline is built.
"""

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.ner.coord import SPAN_GROUP, CompiledCoord, compile_coord, coordinated, load_coord_rules
from nlp.ner.rules import RULE_SOURCE, CompiledRule, Interval, compile_rules, load_ner_rules
from nlp.rules_loader import RULES_DIR


class ChiaRules:
    """Adds rule matches to `doc.ents` according to each rule's merge policy."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        if not self.rules:
            return doc
        from nlp.ner.rules import merge

        current: list[Interval] = sorted(
            (e.start, e.end, e.label_, e.kb_id_ == RULE_SOURCE) for e in doc.ents
        )
        for rule in self.rules:
            for a, b in rule.spans(doc.text):
                span = doc.char_span(a, b, alignment_mode="expand")
                if span is None or not len(span):
                    continue
                current = merge(current, (span.start, span.end, rule.label, True), rule.merge)
        doc.ents = [
            Span(doc, s, e, label=label, kb_id=RULE_SOURCE if ruled else "")
            for s, e, label, ruled in current
        ]
        return doc


def _rules_path(rules_file: str) -> Path:
    """A rules file named in the pipeline config: relative names live in nlp/rules/."""
    path = Path(rules_file)
    return path if path.is_absolute() else RULES_DIR / path


@Language.factory(
    "chia_rules",
    default_config={"rules_file": "ner.yaml", "only": None, "skip": []},
)
def make_chia_rules(
    nlp: Language, name: str, rules_file: str, only: list[str] | None, skip: list[str]
) -> ChiaRules:
    rules = compile_rules(
        load_ner_rules(_rules_path(rules_file)),
        only=set(only) if only is not None else None,
        skip=set(skip),
    )
    return ChiaRules(rules)


class ChiaCoord:
    """Writes the extra (overlapping) entities of coordinations to `doc.spans["chia_coord"]`."""

    def __init__(self, rules: list[CompiledCoord]) -> None:
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        spans: list[Span] = []
        if self.rules and doc.ents:
            flat = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for a, b, label in coordinated(doc.text, flat, self.rules):
                span = doc.char_span(a, b, label=label, alignment_mode="expand")
                if span is not None and len(span):
                    spans.append(span)
        doc.spans[SPAN_GROUP] = spans
        return doc


@Language.factory(
    "chia_coord",
    default_config={"rules_file": "ner_coord.yaml", "only": None, "skip": []},
)
def make_chia_coord(
    nlp: Language, name: str, rules_file: str, only: list[str] | None, skip: list[str]
) -> ChiaCoord:
    rules = compile_coord(
        load_coord_rules(_rules_path(rules_file)),
        only=set(only) if only is not None else None,
        skip=set(skip),
    )
    return ChiaCoord(rules)
