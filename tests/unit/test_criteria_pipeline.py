"""The spaCy pipeline: assembly from config, the NER seam, relations, entities, the API shape.

NER-dependent behaviour (concept choice from recognised spans, relation linking over them)
is tested with a fixed entity source put in place of the model, so these tests pin the
pipeline's logic and not one training run; one test runs the shipped model when it exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixed_ner import FixedNer
from spacy.language import Language

from matcher.model import DEFINITION_GROUP, NARROWED_GROUP, Category, Criterion, Trial
from matcher.trials import fill_from_criteria
from nlp.criteria import UnknownExtractor, build_parser
from nlp.criteria.components import Relation
from nlp.criteria.pipeline import CriteriaPipeline, load_pipeline_config
from services.convert import criterion_to_pb

FIXTURES = json.loads((Path(__file__).parents[1] / "fixtures/criteria/textblocks.json").read_text())


PHRASES = {
    "diabetes": "Condition",
    "heart failure": "Condition",
    "myocardial infarction": "Condition",
    "autoimmune disease": "Condition",
    "lupus": "Condition",
    "rheumatoid arthritis": "Condition",
    "chemotherapy": "Drug",
    "metformin": "Drug",
    "insulin": "Drug",
    "surgery": "Procedure",
    "QTcF": "Measurement",
    "HbA1c": "Measurement",
    "treatment": "Procedure",
    "major surgery": "Procedure",
    "surgical incision": "Procedure",
}


@pytest.fixture(scope="module")
def rules_parser() -> CriteriaPipeline:
    return build_parser({"ner": "off"})


@pytest.fixture(scope="module")
def ner_parser() -> tuple[CriteriaPipeline, FixedNer]:
    parser = build_parser({"ner": "off"})
    fixed = FixedNer(PHRASES)
    parser.nlp.get_pipe("ner").source = fixed
    return parser, fixed


def _rows(criteria: list[Criterion]) -> list[tuple]:
    return [
        (
            c.category.value,
            c.concept.text if c.concept else None,
            c.negated,
            c.window_days,
            bool(c.group),
        )
        for c in criteria
    ]


def test_pipeline_is_assembled_from_config() -> None:
    config = load_pipeline_config()
    parser = build_parser({"ner": "off"})
    assert parser.nlp.pipe_names == [c.name for c in config.components]
    for c in config.components:
        assert Language.has_factory(c.factory)
    builder = parser.nlp.get_pipe("builder")
    assert [e.name for e in builder.builder.extractors] == list(
        next(c for c in config.components if c.name == "builder").config["extractors"]
    )
    assert not parser.uses_ner


def test_overrides_are_checked() -> None:
    assert [
        e.name
        for e in build_parser({"extractors": ["age"]}).nlp.get_pipe("builder").builder.extractors
    ] == ["age"]
    with pytest.raises(UnknownExtractor, match="nerr"):
        build_parser({"nerr": "off"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # negation scope over an OR list: two independent negated criteria
        (
            "No history of diabetes or heart failure",
            [
                ("condition", "diabetes", True, None, False),
                ("condition", "heart failure", True, None, False),
            ],
        ),
        # the window belongs to the concept it follows
        (
            "History of myocardial infarction within the last 6 months",
            [("condition", "myocardial infarction", False, 182.64, False)],
        ),
        # post-negation and a "since" window on an event
        (
            "At least 4 weeks since prior chemotherapy",
            [("medication", "chemotherapy", True, 28.0, False)],
        ),
        ("Prior chemotherapy is not allowed", [("medication", "chemotherapy", True, None, False)]),
        # examples introduced by "e.g." are alternatives of their head
        (
            "Autoimmune disease (e.g., lupus, rheumatoid arthritis)",
            [
                ("condition", "Autoimmune disease", False, None, True),
                ("condition", "lupus", False, None, True),
                ("condition", "rheumatoid arthritis", False, None, True),
            ],
        ),
        # an OR list of drugs is one group; generic spans ("treatment") are dropped
        (
            "Treatment with metformin or insulin",
            [
                ("medication", "metformin", False, None, True),
                ("medication", "insulin", False, None, True),
            ],
        ),
        # a recognised measurement takes the value after it (value <-> measurement)
        ("QTcF > 470 ms", [("lab", "qtcf", False, None, False)]),
        # an opening "since" window reaches the concept it governs, not a later clause
        (
            "At least 4 weeks from completion of major surgery and a healed surgical incision",
            [
                ("procedure", "major surgery", True, 28.0, False),
                ("procedure", "surgical incision", False, None, False),
            ],
        ),
        # NER concepts next to rule facets: both are kept
        (
            "Type 2 diabetes with HbA1c between 7% and 10%",
            [
                ("lab", "hemoglobin a1c", False, None, False),
                ("condition", "diabetes", False, None, False),
            ],
        ),
    ],
)
def test_ner_spans_become_concepts(
    ner_parser: tuple[CriteriaPipeline, FixedNer], text: str, expected: list[tuple]
) -> None:
    parser, _ = ner_parser
    got = parser.parse(text)
    assert _rows(got) == expected
    assert all(c.entities and text[c.entities[0].start : c.entities[0].end] for c in got)


def test_relations_are_linked(ner_parser: tuple[CriteriaPipeline, FixedNer]) -> None:
    parser, _ = ner_parser
    text = "No HbA1c > 10%, diabetes or heart failure within the last 3 months; lupus"
    (doc,) = parser.segment_docs(text)
    rel = {
        (r.label, text[r.head[0] : r.head[1]], text[r.tail[0] : r.tail[1]]) for r in doc._.relations
    }
    assert ("Has_value", "HbA1c", "> 10%") in rel
    assert ("Has_temporal", "diabetes", "within the last 3 months") in rel
    assert ("Has_temporal", "heart failure", "within the last 3 months") in rel
    assert ("Has_negation", "diabetes", "No") in rel
    assert ("OR", "diabetes", "heart failure") in rel
    assert not [r for r in rel if r[1] == "lupus" and r[0] != "OR"]
    assert all(isinstance(r, Relation) for r in doc._.relations)
    assert [s.label_ for s in doc.spans["values"]] == ["Value"]
    assert [s.text for s in doc.spans["temporal"]] == ["within the last 3 months"]


def test_batches_go_through_the_ner_together(ner_parser: tuple[CriteriaPipeline, FixedNer]) -> None:
    parser, fixed = ner_parser
    texts = [FIXTURES[n]["eligibility_criteria"] for n in sorted(FIXTURES)]
    fixed.calls.clear()
    together = parser.parse_many(texts, id_prefixes=[f"{n}-" for n in range(len(texts))])
    assert len(fixed.calls) < len(texts)  # batched, not one model call per criterion
    one_by_one = [parser.parse(t, id_prefix=f"{n}-") for n, t in enumerate(texts)]
    assert together == one_by_one


@pytest.mark.parametrize("nct", sorted(FIXTURES))
def test_entities_point_at_the_submitted_text(
    ner_parser: tuple[CriteriaPipeline, FixedNer], nct: str
) -> None:
    text = FIXTURES[nct]["eligibility_criteria"]
    criteria = ner_parser[0].parse(text)
    assert criteria
    for crit in criteria:
        assert crit.span_start < crit.span_end
        for e in crit.entities:
            assert crit.span_start <= e.start < e.end <= crit.span_end
            assert " ".join(text[e.start : e.end].split()) == e.text, (nct, e)


def test_other_criteria_carry_what_was_recognised(rules_parser: CriteriaPipeline) -> None:
    text = "Life expectancy of no less than 12 weeks, not assessed within the past 2 weeks"
    (crit,) = rules_parser.parse(text)
    assert crit.category is Category.OTHER and crit.concept is None
    assert [(e.type, e.text) for e in crit.entities] == [
        ("Value", "no less than 12"),
        ("Negation", "not"),
        ("Temporal", "within the past 2 weeks"),
    ]


def test_entities_and_duration_reach_the_api_and_the_store(rules_parser: CriteriaPipeline) -> None:
    parser = rules_parser
    text = "Inclusion Criteria:\r\n- Type 2 diabetes for at least 6 months\r\n"
    (crit,) = parser.parse(text)
    assert crit.duration_days == pytest.approx(182.64)
    msg = criterion_to_pb(crit)
    assert msg.HasField("duration_days") and msg.duration_days == pytest.approx(182.64)
    assert [(e.type, e.text) for e in msg.entities] == [
        ("Condition", "Type 2 diabetes"),
        ("Temporal", "for at least 6 months"),
    ]
    assert all(text[e.start : e.end] == e.text for e in msg.entities)
    back = Trial.from_dict(Trial("t1", criteria=[crit]).to_dict()).criteria[0]
    assert back == crit


def test_biomarker_codes_are_hgnc(rules_parser: CriteriaPipeline) -> None:
    parser = rules_parser
    (crit,) = parser.parse("HER2-positive")
    assert crit.category is Category.BIOMARKER and crit.value_text == "positive"
    assert crit.concept is not None
    assert [(c.system, c.code, c.display) for c in crit.concept.codes] == [
        ("http://www.genenames.org/geneId", "HGNC:3430", "ERBB2")
    ]


def test_shipped_ner_model_runs_in_the_pipeline() -> None:
    parser = build_parser({"ner": "default"})  # the shipped model must load: no fallback
    assert parser.uses_ner
    text = FIXTURES["NCT00256529"]["eligibility_criteria"]
    docs = parser.segment_docs(text)
    labels = {s.label_ for d in docs for s in d.spans["ner"]}
    assert labels & {"Condition", "Procedure", "Drug"}
    for crit in parser.parse(text):
        for e in crit.entities:
            assert " ".join(text[e.start : e.end].split()) == e.text


def test_and_or_between_recognised_concepts_is_an_or_group() -> None:
    parser = build_parser({"ner": "default"})
    text = "Inclusion Criteria:\n- Diagnosis of TB (and/or NTM for NIH clinical center subjects)"
    found = parser.parse(text)  # criterion annotations, NCT00341601
    assert [c.concept.text for c in found if c.concept] == ["TB", "NTM"]
    assert found[0].group and {c.group for c in found} == {found[0].group}


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("Inclusion Criteria:\n- Age 18-65\n- Women only", (18, 65, "female")),
        # cohorts stating different ranges: the widest is the safe hard filter
        (
            "Inclusion Criteria:\n- Age: 10 to 66\n- Age 66 to 70 if in excellent condition",
            (10, 70, "all"),
        ),
        # alternatives never set a bound
        (
            "Inclusion Criteria:\n- One of the following:\n  - Age 18 or older\n  - Age 12 to 17 "
            "with parental consent",
            (None, None, "all"),
        ),
    ],
)
def test_trial_age_and_sex_come_from_inclusions(
    rules_parser: CriteriaPipeline, text: str, bounds: tuple
) -> None:
    trial = Trial("t1", criteria=rules_parser.parse(text))
    fill_from_criteria(trial)
    assert (trial.min_age_years, trial.max_age_years, trial.sex.value) == bounds


@pytest.mark.parametrize(
    ("text", "narrowed"),
    [
        ("Exclusion Criteria:\n- Patients complaining abdominal pain with NRS <= 5", True),
        ("Exclusion Criteria:\n- Abdominal pain, NRS <= 5", False),  # not joined by "with"
        ("Inclusion Criteria:\n- Abdominal pain with NRS >= 4", False),  # a requirement: AND
    ],
)
def test_a_value_narrows_the_condition_before_it_in_an_exclusion(text: str, narrowed: bool) -> None:
    parser = build_parser({"ner": "off"})
    parser.nlp.get_pipe("ner").source = FixedNer(
        {"abdominal pain": "Condition", "NRS": "Measurement"}
    )
    parts = parser.parse(text)
    assert {c.category for c in parts} == {Category.CONDITION, Category.LAB}
    groups = {c.group for c in parts}
    if narrowed:
        assert len(groups) == 1 and groups.pop().startswith(NARROWED_GROUP)
    else:
        assert groups == {""}


def test_a_requirement_asking_for_a_concept_and_its_absence_makes_them_alternatives() -> None:
    parser = build_parser({"ner": "off"})
    parser.nlp.get_pipe("ner").source = FixedNer({"VT": "Condition", "syncope": "Condition"})
    parts = parser.parse("Inclusion Criteria:\n- VT with syncope, or VT without syncope")
    syncope = [c for c in parts if c.concept and c.concept.text == "syncope"]
    assert sorted(c.negated for c in syncope) == [False, True]
    assert syncope[0].group and syncope[0].group == syncope[1].group
    # an exclusion's "no X" stays its own (De Morgan) facet
    alone = parser.parse("Inclusion Criteria:\n- No syncope")
    assert [(c.negated, c.group) for c in alone] == [(True, "")]


@pytest.mark.parametrize(
    ("text", "defined"),
    [
        ("Diagnosis of acromegaly, defined by serum GH levels above 5 ug/L", True),
        ("Diagnosis of acromegaly, as defined by serum GH levels above 5 ug/L", True),
        ("Diagnosis of acromegaly and serum GH levels above 5 ug/L", False),
    ],
)
def test_defined_by_groups_a_condition_with_its_defining_value(text: str, defined: bool) -> None:
    parser = build_parser({"ner": "off"})
    parser.nlp.get_pipe("ner").source = FixedNer({"acromegaly": "Condition", "GH": "Measurement"})
    parts = parser.parse(f"Inclusion Criteria:\n- {text}")
    assert {c.category for c in parts} == {Category.CONDITION, Category.LAB}
    assert all(c.group.startswith(DEFINITION_GROUP) for c in parts) is defined
