"""PatientConcepts' index (token and code postings, kinds filters, memo) and the engine's
bounded ordering: each answers exactly as the plain computation it replaces.

The reference below is the loop `match` used to be (every fact text, per criterion, per
patient); the index only skips texts that cannot match, so the two must agree on every hit,
its score, its kind of match and its order.
"""

from __future__ import annotations

import random
from typing import Any, cast

import numpy as np
import pytest

from matcher.matching.concepts import (
    GENERIC,
    HEADS,
    ConceptHit,
    PatientConcepts,
    content_tokens,
    names_concept,
)
from matcher.matching.engine import EngineConfig, MatchingEngine, best
from matcher.matching.rank import order
from matcher.model import Code, Fact, FactKind, Match, PatientRecord, Verdict

SNOMED = "http://snomed.info/sct"
CONDITIONS = frozenset({FactKind.CONDITION, FactKind.NOTE_MENTION})
MEDICATIONS = frozenset({FactKind.MEDICATION})


class TableEmbedder:
    """A fake of our Embedder interface: a fixed unit vector per text (a random one, seeded
    by the text, for texts not in the table), so that tests choose which texts are close."""

    dim = 16

    def __init__(self, table: dict[str, np.ndarray] | None = None) -> None:
        self._table = dict(table or {})

    def vector(self, text: str) -> np.ndarray:
        if text not in self._table:
            seed = sum(ord(ch) * (i + 1) for i, ch in enumerate(text))
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._table[text] = v / np.linalg.norm(v)
        return self._table[text]

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, self.dim))


def axis(i: int, dim: int = TableEmbedder.dim) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


def fact(kind: FactKind, text: str, source: str, *codes: str) -> Fact:
    return Fact(kind, text, source, codes=[Code(SNOMED, c) for c in codes])


def reference_match(
    patient: PatientConcepts,
    facts: list[Fact],
    embedder: TableEmbedder,
    concept_codes: list[Code],
    variant_tokens: list[frozenset[str]],
    concept_vector: np.ndarray | None,
    threshold: float,
    kinds: frozenset[str] | None,
) -> list[ConceptHit]:
    """The former `PatientConcepts.match`: every distinct fact text, in order of appearance."""
    texts: list[str] = []
    by_text: dict[str, list[Fact]] = {}
    for f in facts:
        key = f.text.strip()
        if key:
            if key not in by_text:
                texts.append(key)
            by_text.setdefault(key, []).append(f)
    tokens = [content_tokens(t) for t in texts]
    hits: dict[int, ConceptHit] = {}
    codes = {(c.system, c.code) for c in concept_codes}
    for i, text in enumerate(texts):
        of_kind = [f for f in by_text[text] if kinds is None or f.kind in kinds]
        if not of_kind:
            continue
        if codes and any((c.system, c.code) in codes for f in of_kind for c in f.codes):
            hits[i] = ConceptHit(of_kind[0], 1.0, "code")
            continue
        ft = tokens[i]
        if ft and any(names_concept(vt, ft) for vt in variant_tokens):
            hits[i] = ConceptHit(of_kind[0], 0.95, "lexical")
        elif (ft - GENERIC - HEADS) and any(
            ft - HEADS <= vt and len(vt - ft - HEADS) <= 2 for vt in variant_tokens
        ):
            hits[i] = ConceptHit(of_kind[0], 0.85, "general")
    if concept_vector is not None and texts:
        sims = embedder.encode(texts) @ concept_vector
        for i in np.flatnonzero(sims >= threshold):
            if int(i) in hits:
                continue
            of_kind = [f for f in by_text[texts[i]] if kinds is None or f.kind in kinds]
            if of_kind:
                hits[int(i)] = ConceptHit(of_kind[0], float(sims[i]), "semantic")
    out: list[ConceptHit] = []
    for hit in sorted(hits.values(), key=lambda h: -h.score):
        out.extend(
            ConceptHit(f, hit.score, hit.how)
            for f in by_text[hit.fact.text.strip()]
            if kinds is None or f.kind in kinds
        )
    return out


def summary(hits: list[ConceptHit]) -> list[tuple[str, float, str]]:
    return [(h.fact.source, h.score, h.how) for h in hits]


# One patient for the table: texts chosen so that each way of matching has a case.
FACTS = [
    fact(FactKind.CONDITION, "Hodgkin lymphoma", "Condition/1"),
    fact(FactKind.CONDITION, "Type 2 diabetes mellitus", "Condition/2", "44054006"),
    fact(FactKind.NOTE_MENTION, "type 2 diabetes mellitus ", "DocumentReference/1#s0"),
    fact(FactKind.MEDICATION, "Metformin 500 MG Oral Tablet", "MedicationRequest/1"),
    fact(FactKind.CONDITION, "Lymphoma", "Condition/3"),
    fact(FactKind.CONDITION, "Heart attack", "Condition/4"),
    fact(FactKind.CONDITION, "Chronic pain", "Condition/5"),
    fact(FactKind.OBSERVATION, "Hemoglobin A1c", "Observation/1"),
    fact(FactKind.OBSERVATION, "Hemoglobin A1c", "Observation/2"),
]
# "Heart attack" sits on the first axis: a concept vector there meets it semantically.
TABLE = {"Heart attack": axis(0)}


def tokens_of(*texts: str) -> list[frozenset[str]]:
    return [content_tokens(t) for t in texts]


CASES = [
    # id, codes, variant texts, concept vector axis (None: no vector), kinds, expected hits
    pytest.param(
        ["44054006"],
        ["unrelated words"],
        None,
        None,
        [("Condition/2", 1.0, "code")],
        id="code-only-the-coded-fact",
    ),
    pytest.param(
        [],
        ["type 2 diabetes mellitus", "t2dm"],
        None,
        CONDITIONS,
        [
            ("Condition/2", 0.95, "lexical"),
            ("DocumentReference/1#s0", 0.95, "lexical"),
        ],
        id="lexical-every-fact-of-the-text",
    ),
    pytest.param(
        [],
        ["diabetes mellitus"],
        None,
        CONDITIONS,
        [
            ("Condition/2", 0.95, "lexical"),
            ("DocumentReference/1#s0", 0.95, "lexical"),
        ],
        id="lexical-more-specific-fact",
    ),
    pytest.param(
        [],
        ["Hodgkin lymphoma"],
        None,
        CONDITIONS,
        [("Condition/1", 0.95, "lexical"), ("Condition/3", 0.85, "general")],
        id="general-less-specific-fact",
    ),
    pytest.param(
        [],
        ["myocardial infarction"],
        0,
        CONDITIONS,
        [("Condition/4", 1.0, "semantic")],
        id="semantic-no-shared-token",
    ),
    pytest.param(
        [],
        ["myocardial infarction"],
        0,
        MEDICATIONS,
        [],
        id="semantic-kinds-filter-out",
    ),
    pytest.param(
        [],
        ["metformin"],
        None,
        CONDITIONS,
        [],
        id="lexical-kinds-filter-out",
    ),
    pytest.param(
        [],
        ["metformin"],
        None,
        MEDICATIONS,
        [("MedicationRequest/1", 0.95, "lexical")],
        id="lexical-medication",
    ),
    pytest.param(
        ["44054006"],
        ["diabetes"],
        None,
        frozenset({FactKind.NOTE_MENTION}),
        [("DocumentReference/1#s0", 0.95, "lexical")],
        id="code-on-a-fact-of-another-kind",
    ),
    pytest.param(
        [],
        ["hemoglobin a1c"],
        None,
        frozenset({FactKind.OBSERVATION}),
        [("Observation/1", 0.95, "lexical"), ("Observation/2", 0.95, "lexical")],
        id="every-value-of-a-lab",
    ),
    pytest.param(
        [],
        ["chest pain"],
        None,
        None,
        [],
        id="generic-word-alone-no-match",
    ),
    pytest.param(
        [],
        ["liver disease"],
        None,
        None,
        [],
        id="head-noun-alone-no-match",
    ),
]


@pytest.mark.parametrize(("codes", "variants", "vector_axis", "kinds", "expected"), CASES)
def test_match_table(
    codes: list[str],
    variants: list[str],
    vector_axis: int | None,
    kinds: frozenset[str] | None,
    expected: list[tuple[str, float, str]],
) -> None:
    embedder = TableEmbedder(TABLE)
    patient = PatientConcepts(PatientRecord("p1", facts=FACTS), embedder)
    concept_codes = [Code(SNOMED, c) for c in codes]
    vector = None if vector_axis is None else axis(vector_axis)
    args = (concept_codes, tokens_of(*variants), vector, 0.78, kinds)
    got = patient.match(*args)
    assert summary(got) == expected
    assert summary(got) == summary(reference_match(patient, FACTS, embedder, *args))
    assert summary(patient.match(*args)) == expected  # from the memo, the same


def test_memo_answers_are_independent_lists() -> None:
    patient = PatientConcepts(PatientRecord("p1", facts=FACTS), TableEmbedder(TABLE))
    args = ([], tokens_of("Hodgkin lymphoma"), None, 0.78, CONDITIONS)
    first = patient.match(*args)
    first.clear()
    assert len(patient.match(*args)) == 2


def test_equal_vectors_in_distinct_arrays_answer_alike() -> None:
    """The memo keys vectors by identity; equal values in another array are computed again,
    never confused with a different vector that happened to reuse an id."""
    patient = PatientConcepts(PatientRecord("p1", facts=FACTS), TableEmbedder(TABLE))
    tokens = tokens_of("myocardial infarction")
    for _ in range(3):
        assert summary(patient.match([], tokens, axis(0), 0.78, None)) == [
            ("Condition/4", 1.0, "semantic")
        ]
        assert patient.match([], tokens, axis(1), 0.78, None) == []


def test_best_similarity_memoised_by_vector() -> None:
    patient = PatientConcepts(PatientRecord("p1", facts=FACTS), TableEmbedder(TABLE))
    v = axis(0)
    assert patient.best_similarity(v) == ("Heart attack", 1.0)
    assert patient.best_similarity(v) == ("Heart attack", 1.0)
    assert PatientConcepts(PatientRecord("p2"), TableEmbedder()).best_similarity(v) is None


WORDS = [
    "lung",
    "cancer",
    "disease",
    "disorder",
    "pain",
    "chronic",
    "heart",
    "failure",
    "type",
    "2",
    "diabetes",
    "renal",
    "stage",
    "iv",
    "small",
    "cell",
    "carcinoma",
    "infection",
    "of",
    "the",
    "history",
]
KINDS = [FactKind.CONDITION, FactKind.NOTE_MENTION, FactKind.MEDICATION, FactKind.OBSERVATION]
KIND_FILTERS: list[frozenset[str] | None] = [None, CONDITIONS, MEDICATIONS, frozenset(KINDS[3:])]


@pytest.mark.parametrize("seed", range(6))
def test_index_agrees_with_every_text_loop(seed: int) -> None:
    """Random patients and concepts over a small vocabulary (heads, generic and stop words
    included), so that texts share tokens often: the index answers as the plain loop."""
    rng = random.Random(seed)
    facts = [
        fact(
            rng.choice(KINDS),
            " ".join(rng.sample(WORDS, rng.randint(1, 4))),
            f"Condition/{i}",
            *([str(rng.randint(1, 5))] if rng.random() < 0.3 else []),
        )
        for i in range(rng.randint(0, 25))
    ]
    embedder = TableEmbedder()
    patient = PatientConcepts(PatientRecord("p", facts=facts), embedder)
    for _ in range(150):
        variants = [
            " ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(rng.randint(1, 3))
        ]
        tokens = [t for t in tokens_of(*variants) if t]
        codes = [Code(SNOMED, str(rng.randint(1, 8)))] if rng.random() < 0.2 else []
        # Sometimes the vector of one of the patient's texts, so semantic hits happen too.
        if facts and rng.random() < 0.5:
            vector: np.ndarray | None = embedder.vector(rng.choice(facts).text.strip())
        else:
            vector = embedder.vector(variants[0]) if rng.random() < 0.8 else None
        args = (codes, tokens, vector, 0.78, rng.choice(KIND_FILTERS))
        expected = summary(reference_match(patient, facts, embedder, *args))
        assert summary(patient.match(*args)) == expected
        assert summary(patient.match(*args)) == expected


def _match(trial: str, score: float, verdict: Verdict = Verdict.POSSIBLY_ELIGIBLE) -> Match:
    return Match(trial, "p", verdict, score, score, 0, 0)


@pytest.mark.parametrize("limit", [1, 3, 10, 50, 1000])
def test_best_is_the_head_of_the_full_order(limit: int) -> None:
    """Pruning as matches arrive keeps exactly the head of the one sort, ties included."""
    rng = random.Random(limit)
    matches = [
        _match(f"NCT{i:05d}", rng.choice([0.1, 0.5, 0.5, 0.9]), rng.choice(list(Verdict)))
        for i in range(300)
    ]
    rng.shuffle(matches)
    assert best(iter(matches), limit) == order(matches)[:limit]
    assert best(iter([]), limit) == []


def test_interned_vectors_share_one_array() -> None:
    engine = MatchingEngine(
        cast(Any, None),
        TableEmbedder(),
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
        EngineConfig(),
    )
    a = np.arange(4, dtype=np.float32)
    b = np.arange(4, dtype=np.float32)
    c = np.arange(4, dtype=np.float32) + 1
    assert engine._interned(a) is a
    assert engine._interned(b) is a
    assert engine._interned(c) is c
    assert engine._interned(a.astype(np.float64)) is not a  # same values, other dtype
    del a, b  # no context holds the value any more: the next equal array is the one kept
    d = np.arange(4, dtype=np.float32)
    assert engine._interned(d) is d
