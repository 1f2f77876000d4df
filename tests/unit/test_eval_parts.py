"""The pure parts of the evaluation commands: outcome combination, label mapping, evidence
sentences, the majority baseline, the BM25 baseline and the hard-filter completion rule."""

from __future__ import annotations

import math

import pytest

from matcher.evaluation.baselines import Bm25, ranking, tokens
from matcher.evaluation.criteria import (
    NoteSentences,
    combine,
    evidence_sentences,
    label_for,
    majority_baseline,
)
from matcher.evaluation.data import CriterionPair, TrecData
from matcher.evaluation.topics import Topic
from matcher.evaluation.trec import TrecRun, complete_ranking, score_run
from matcher.model import Category, Criterion, CriterionKind, CriterionResult, Evidence, Outcome

INC, EXC = CriterionKind.INCLUSION, CriterionKind.EXCLUSION
M, N, U, NA = Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


def _results(kind: CriterionKind, *parts: tuple[Outcome, str]) -> list[CriterionResult]:
    return [
        CriterionResult(Criterion(f"c{i}", kind, "t", group=group), outcome, "")
        for i, (outcome, group) in enumerate(parts)
    ]


COMBINE_CASES = [
    # inclusions: every part must hold
    (INC, [(M, ""), (M, "")], M),
    (INC, [(M, ""), (U, "")], U),
    (INC, [(M, ""), (U, ""), (N, "")], N),
    (INC, [(NA, ""), (M, "")], M),
    (INC, [(NA, "")], NA),
    # an OR group holds if any alternative holds
    (INC, [(N, "g"), (M, "g")], M),
    (INC, [(N, "g"), (N, "g"), (M, "")], N),
    # exclusions: any part applying excludes
    (EXC, [(N, ""), (M, "")], M),
    (EXC, [(N, ""), (U, "")], U),
    (EXC, [(N, ""), (N, "")], N),
    (EXC, [(NA, ""), (N, "")], N),
    (EXC, [], NA),
]


@pytest.mark.parametrize(("kind", "parts", "expected"), COMBINE_CASES)
def test_combine(kind, parts, expected):
    assert combine(_results(kind, *parts), kind) == expected


LABEL_CASES = [
    (M, "inclusion", False, "included"),
    (N, "inclusion", False, "not included"),
    (U, "inclusion", True, "not enough information"),  # closed world is for exclusions only
    (NA, "inclusion", False, "not applicable"),
    (M, "exclusion", False, "excluded"),
    (N, "exclusion", False, "not excluded"),
    (U, "exclusion", False, "not enough information"),
    (U, "exclusion", True, "not excluded"),
    (NA, "exclusion", True, "not applicable"),
]


@pytest.mark.parametrize(("outcome", "kind", "closed", "expected"), LABEL_CASES)
def test_label_for(outcome, kind, closed, expected):
    assert label_for(outcome, kind, closed) == expected


LAB, COND = Category.LAB, Category.CONDITION
CLOSED_WORLD_CATEGORY_CASES = [
    ([LAB], "not enough information"),  # a note's silence about a lab value is not absence
    ([LAB, LAB], "not enough information"),
    ([LAB, COND], "not excluded"),  # the condition part would have been documented
    ([COND], "not excluded"),
    ([], "not excluded"),
]


@pytest.mark.parametrize(("categories", "expected"), CLOSED_WORLD_CATEGORY_CASES)
def test_closed_world_by_category(categories, expected):
    assert label_for(U, "exclusion", True, categories) == expected
    assert label_for(U, "exclusion", False, categories) == "not enough information"


def test_closed_world_keeps_an_open_qualifier_open():
    # the note shows the excluded condition; only "severe" or "uncontrolled" is open
    assert label_for(U, "exclusion", True, [COND], open_qualifier=True) == (
        "not enough information"
    )
    assert label_for(U, "exclusion", True, [COND], open_qualifier=False) == "not excluded"


NOTE = "0. A 45-year-old man presents with chest pain.\n1. He has diabetes.\n2. He denies smoking."


def _with_evidence(*sources: str) -> list[CriterionResult]:
    return [CriterionResult(Criterion("c1", INC, "t"), M, "", [Evidence(s, "") for s in sources])]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (["DocumentReference/n#s2"], {2}),
        # a character span inside sentence 1 ("He has diabetes.")
        ([f"DocumentReference/n#{NOTE.index('diabetes')}-{NOTE.index('diabetes') + 8}"], {1}),
        # a span across the end of sentence 0 and the start of sentence 1
        ([f"DocumentReference/n#{NOTE.index('pain')}-{NOTE.index('has')}"], {0, 1}),
        # demographic evidence points at the sentence stating the age
        (["Patient/p1"], {0}),
        (["Condition/9"], set()),
        (["DocumentReference/n#s1", "DocumentReference/n#s1", "Patient/p1"], {0, 1}),
    ],
)
def test_evidence_sentences(sources, expected):
    assert evidence_sentences(_with_evidence(*sources), NOTE) == expected


def test_note_sentences_use_the_note_numbering():
    spans = NoteSentences.of("3. first\n7. second").spans
    assert [n for n, _, _ in spans] == [3, 7]
    assert NoteSentences.of("no numbering").spans == ((0, 0, 12),)


def _pair(kind: str, label: str) -> CriterionPair:
    return CriterionPair("1", "p", "", "t", kind, "x", label, frozenset())


def test_majority_baseline_is_per_criterion_type():
    pairs = [
        _pair("inclusion", "included"),
        _pair("inclusion", "not enough information"),
        _pair("inclusion", "not enough information"),
        _pair("exclusion", "not excluded"),
    ]
    accuracy, labels = majority_baseline(pairs)
    assert labels == {"exclusion": "not excluded", "inclusion": "not enough information"}
    assert accuracy == pytest.approx(3 / 4)


def test_bm25_matches_the_okapi_formula():
    docs = {"d1": "diabetes diabetes insulin", "d2": "asthma inhaler", "d3": "diabetes diet"}
    bm25 = Bm25(docs, k1=1.2, b=0.75)
    # "diabetes": n=3, df=2 -> idf = ln(1 + (3 - 2 + .5) / (2 + .5)) = ln(1.6)
    # d1: tf=2, |d|=3, avgdl=7/3 -> 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / (7/3)))
    idf = math.log(1.6)
    expected = idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / (7 / 3)))
    assert bm25.score("diabetes", "d1") == pytest.approx(expected)
    assert bm25.score("diabetes", "d2") == 0.0
    # a term repeated in the query counts once per occurrence
    assert bm25.score("diabetes diabetes", "d1") == pytest.approx(2 * expected)
    assert ranking(bm25.scores("diabetes insulin", ["d2", "d3", "d1"])) == ["d1", "d3", "d2"]


def test_tokens_drop_stopwords_and_case():
    assert tokens("The patient HAS type-2 Diabetes, and a BMI of 32.5") == [
        "patient",
        "type",
        "2",
        "diabetes",
        "bmi",
        "32.5",
    ]


def test_ties_are_ranked_by_id():
    assert ranking({"b": 1.0, "a": 1.0, "c": 2.0}) == ["c", "a", "b"]


def test_filtered_candidates_go_last_tied():
    order, scores = complete_ranking(["t3", "t1", "zz"], ["t1", "t2", "t3", "t4"])
    assert order == ["t3", "t1", "t2", "t4"]  # returned first, the rest by id; unknown ids dropped
    assert scores["t3"] > scores["t1"] > scores["t2"] == scores["t4"]


def test_auroc_is_of_the_eligibility_estimate_and_the_ranking_one_is_reported_beside_it():
    data = TrecData(topics=[Topic("q1", "note")], qrels={"q1": {"a": 2, "b": 1, "c": 1}}, trials={})
    ranked = {"b": 3.0, "a": 2.0, "c": 1.0}  # relevance put an excluded trial first
    run = TrecRun(
        trials_for={"q1": ["b", "a", "c"]},
        scores_for={"q1": ranked},
        eligibility_for={"q1": {"a": 1.5, "b": 0.4, "c": -1.0}},  # c was filtered
    )
    scored = score_run(run, data)
    assert scored["summary"]["auroc"] == 1.0 and scored["summary"]["auroc_ranking"] == 0.5
    topic = scored["per_topic"]["q1"]
    assert (topic["auroc"], topic["auroc_ranking"]) == (1.0, 0.5)
    # a run with only a ranking (the baselines) is scored on it
    baseline = score_run(TrecRun(scores_for={"q1": ranked}), data)["summary"]
    assert baseline["auroc"] == 0.5 and "auroc_ranking" not in baseline
