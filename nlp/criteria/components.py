"""The criteria pipeline's spaCy components, registered by name with `@Language.factory`.

Each criterion (segment) is one Doc; `doc._.segment` carries its offsets into the submitted
text. In order:
- `criteria_ner`: the statistical NER (optional, see `ner.py`) -> `doc._.ner` (exact
  character spans) and `doc.spans["ner"]`;
- `criteria_normalizer`: values (comparator, number, UCUM unit), temporal expressions (days,
  direction) and negation cues -> `doc.spans["values"|"temporal"|"negation"]`, and the
  shared analysis `doc._.prepared` the later components query;
- `criteria_relations`: Has_value, Has_temporal, Has_negation, OR and AND links between the
  recognised spans -> `doc._.relations`;
- `criteria_builder`: the extractor registry -> `doc._.criteria` (Criterion objects with
  source offsets), adding the links of rule-found concepts to `doc._.relations`.

Merge policy between the NER and the rules: values, temporal expressions and negation cues
are always the rules' (they come normalised: comparator, UCUM unit, days, scope); ages, sex,
performance status, biomarkers, labs from the vocabulary, pregnancy and consent are the
rules' too and claim their spans first; the NER's Condition/Drug/Procedure/Device spans then
are the concepts (a segment with any is not re-read by the rule-based phrase extractors), and
its Measurement spans name labs the vocabulary lacks when a value follows them. Without the
NER, the rule-based phrase extractors read the concept after a cue ("history of ...").
"""

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from matcher.model import CriterionKind
from nlp.criteria.analysis import Prepared, Span
from nlp.criteria.ner import EntitySource, load_entity_source
from nlp.criteria.parser import CriteriaBuilder
from nlp.criteria.registry import build_extractors
from nlp.criteria.split import Segment

for _name in ("segment", "ner", "prepared", "criteria", "relations"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)

CONCEPT_TYPES = frozenset(
    {"Condition", "Drug", "Procedure", "Measurement", "Observation", "Device", "Biomarker"}
)


@dataclass(frozen=True, slots=True)
class Relation:
    """A link between two spans of one criterion, in offsets of the submitted text."""

    label: str  # Has_value | Has_temporal | Has_negation | OR | AND
    head: tuple[int, int]
    tail: tuple[int, int]


def _segment(doc: Doc) -> Segment:
    seg = doc._.segment
    if seg is None:
        seg = Segment(CriterionKind.INCLUSION, doc.text, 0, len(doc.text))
        doc._.segment = seg
    return seg


def _span_group(doc: Doc, name: str, spans: Iterable[tuple[str, int, int]]) -> None:
    out = []
    for label, a, b in spans:
        span = doc.char_span(a, b, label=label, alignment_mode="expand")
        if span is not None:
            out.append(span)
    doc.spans[name] = out


class NerComponent:
    """Runs the NER over whole batches of criteria (one model call per batch)."""

    def __init__(self, source: EntitySource | None, batch_size: int) -> None:
        self.source = source
        self.batch_size = batch_size

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for batch in minibatch(docs, batch_size or self.batch_size):
            found = self.source([d.text for d in batch]) if self.source else [[]] * len(batch)
            for doc, entities in zip(batch, found, strict=True):
                doc._.ner = [Span(t, a, b, doc.text[a:b], "ner") for t, a, b in entities if b > a]
                _span_group(doc, "ner", entities)
                yield doc


@Language.factory("criteria_ner", default_config={"model": "auto", "batch_size": 128})
def make_ner(nlp: Language, name: str, model: str, batch_size: int) -> NerComponent:
    return NerComponent(load_entity_source(model, batch_size), batch_size)


class Normalizer:
    def __call__(self, doc: Doc) -> Doc:
        p = Prepared(_segment(doc), list(doc._.ner or []))
        doc._.prepared = p
        _span_group(doc, "values", [("Value", q.start, q.end) for q in p.quantities])
        _span_group(doc, "temporal", [("Temporal", w.start, w.end) for w in p.windows])
        _span_group(doc, "negation", [("Negation", a, b) for a, b, _, _ in p.negation_scopes])
        return doc


@Language.factory("criteria_normalizer")
def make_normalizer(nlp: Language, name: str) -> Normalizer:
    return Normalizer()


class Relations:
    def __call__(self, doc: Doc) -> Doc:
        p: Prepared = doc._.prepared or Prepared(_segment(doc))
        concepts = [s for s in p.spans if s.type in CONCEPT_TYPES]
        src = p.segment.source_span
        out: list[Relation] = []
        for s in concepts:
            out += _links(p, s)
        for members, conn in p.coordination([s for s in concepts if s.type != "Measurement"]):
            label = "OR" if conn == "or" else "AND"
            out += [
                Relation(label, src(a.start, a.end), src(b.start, b.end))
                for a, b in itertools.pairwise(members)
            ]
        doc._.relations = out
        return doc


def _links(p: Prepared, s: Span) -> list[Relation]:
    src = p.segment.source_span
    head = src(s.start, s.end)
    out: list[Relation] = []
    if s.type == "Measurement":
        loc = p.value_after(s.end, 40)
        if loc is not None:
            out.append(Relation("Has_value", head, src(loc.start, loc.end)))
    timing = p.timing(s.start, s.end, event=s.type in ("Drug", "Procedure", "Device"))
    if timing.span is not None:
        out.append(Relation("Has_temporal", head, src(*timing.span)))
    cue = p.negation_cue(s.start, s.end)
    if cue is not None:
        out.append(Relation("Has_negation", head, src(*cue)))
    return out


@Language.factory("criteria_relations")
def make_relations(nlp: Language, name: str) -> Relations:
    return Relations()


class Builder:
    def __init__(self, builder: CriteriaBuilder) -> None:
        self.builder = builder

    def __call__(self, doc: Doc) -> Doc:
        p: Prepared = doc._.prepared or Prepared(_segment(doc))
        criteria = self.builder.build_prepared(p)
        doc._.criteria = criteria
        relations = list(doc._.relations or [])
        known = {(r.label, r.head) for r in relations}
        for crit in criteria:
            if not crit.entities or crit.concept is None:
                continue
            head_entity = crit.entities[0]
            for e in crit.entities[1:]:
                label = {"Value": "Has_value", "Temporal": "Has_temporal"}.get(
                    e.type, "Has_negation" if e.type == "Negation" else ""
                )
                if not label:
                    continue
                head = (head_entity.start, head_entity.end)
                if (label, head) not in known:
                    relations.append(Relation(label, head, (e.start, e.end)))
                    known.add((label, head))
        doc._.relations = relations
        return doc


@Language.factory("criteria_builder", default_config={"extractors": None})
def make_builder(nlp: Language, name: str, extractors: list[str] | None) -> Builder:
    return Builder(CriteriaBuilder(build_extractors(extractors)))
