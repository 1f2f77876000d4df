"""Concept matching between a criterion's concept and a patient's facts.

Order of evidence, strongest first: shared codes, lexical match after normalisation and
synonym expansion, then embedding similarity above a calibrated threshold. Each patient's
distinct fact texts are embedded once (cached by text) into a matrix, so a criterion costs
one matrix-vector product per patient.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from matcher.embeddings import Embedder
from matcher.model import Code, Fact, PatientRecord

_PAREN = re.compile(
    r"\((?:disorder|finding|procedure|situation|morphologic abnormality|"
    r"qualifier value|observable entity|regime/therapy|substance)\)"
)
_TOKEN = re.compile(r"[a-z0-9]+")
STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "on",
        "with",
        "without",
        "for",
        "to",
        "or",
        "by",
        "at",
        "from",
        "any",
        "history",
        "diagnosis",
        "diagnosed",
        "known",
        "prior",
        "previous",
        "current",
        "currently",
        "patient",
        "patients",
        "subject",
        "subjects",
        "who",
        "has",
        "have",
        "had",
        "is",
        "are",
        "be",
        "been",
        "documented",
        "confirmed",
        "clinical",
        "evidence",
        "active",
        "chronic",
        "acute",
    ]
)

# Head nouns that name a kind of problem: optional when the rest of the phrase says it all
# ("Alzheimer's" is "Alzheimer disease"), required when it does not ("liver disease" is not
# "liver cancer", "respiratory disease" is not "respiratory rate").
HEADS = frozenset(["disease", "diseases", "disorder", "disorders", "condition", "finding"])

# Words too unspecific to carry a match on their own ("Chronic pain" is not "chest pain").
GENERIC = frozenset(
    [
        "pain",
        "injury",
        "infection",
        "failure",
        "syndrome",
        "lesion",
        "mass",
        "fracture",
        "sprain",
        "ulcer",
        "deficiency",
        "insufficiency",
        "abnormality",
        "type",
        "stage",
        "grade",
        "1",
        "2",
        "3",
        "4",
        "i",
        "ii",
        "iii",
        "iv",
    ]
)


def normalise(text: str) -> str:
    return _PAREN.sub(" ", text.lower()).replace("-", " ")


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def content_tokens(text: str) -> frozenset[str]:
    return frozenset(_stem(t) for t in _TOKEN.findall(normalise(text)) if t not in STOP)


@dataclass(slots=True)
class ConceptHit:
    fact: Fact
    score: float
    how: str  # "code", "lexical", "semantic", or "general" (the fact is less specific)


class Synonyms:
    """Bidirectional synonym/abbreviation groups (data, see nlp/vocab/synonyms.yaml)."""

    def __init__(self, groups: Iterable[Iterable[str]] = ()) -> None:
        self._by_term: dict[str, list[str]] = {}
        for group in groups:
            terms = [normalise(t).strip() for t in group]
            for term in terms:
                self._by_term.setdefault(term, []).extend(t for t in terms if t != term)
        self._memo: dict[str, list[str]] = {}  # criteria texts repeat across requests

    def variants(self, text: str) -> list[str]:
        """The text plus every variant obtained by replacing one known term inside it."""
        found = self._memo.get(text)
        if found is None:
            found = self._variants(text)
            if len(self._memo) < 200_000:
                self._memo[text] = found
        return found

    def _variants(self, text: str) -> list[str]:
        base = normalise(text).strip()
        out = [base]
        padded = f" {base} "
        for term, alternatives in self._by_term.items():
            if f" {term} " in padded:
                out.extend(padded.replace(f" {term} ", f" {alt} ").strip() for alt in alternatives)
        return list(dict.fromkeys(out))


def _names(concept: frozenset[str], fact: frozenset[str]) -> bool:
    """Whether a fact with these tokens names the concept (or a more specific form of it)."""
    core = concept - HEADS
    if not core or not core <= fact:
        return False
    return concept <= fact or not (fact - core - HEADS)


class PatientConcepts:
    """A patient's facts indexed for concept matching (built once per patient per request)."""

    def __init__(self, record: PatientRecord, embedder: Embedder) -> None:
        self.record = record
        self._embedder = embedder
        self._texts: list[str] = []
        self._facts_by_text: dict[str, list[Fact]] = {}
        for fact in record.facts:
            key = fact.text.strip()
            if key:
                if key not in self._facts_by_text:
                    self._texts.append(key)
                self._facts_by_text.setdefault(key, []).append(fact)
        self._tokens = [content_tokens(t) for t in self._texts]
        self._matrix: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = self._embedder.encode(self._texts)
        return self._matrix

    def facts_for(self, text: str) -> list[Fact]:
        return self._facts_by_text.get(text, [])

    def match(
        self,
        concept_codes: list[Code],
        variant_tokens: list[frozenset[str]],
        concept_vector: np.ndarray | None,
        threshold: float,
        kinds: frozenset[str] | None = None,
    ) -> list[ConceptHit]:
        """Facts of the given kinds that mean the concept, best first.

        `variant_tokens` are the content tokens of the concept's synonym variants, computed
        once per criterion (the evaluator's context), since a criterion meets many patients.
        """
        hits: dict[int, ConceptHit] = {}
        codes = {(c.system, c.code) for c in concept_codes}
        for i, text in enumerate(self._texts):
            facts = [f for f in self._facts_by_text[text] if kinds is None or f.kind in kinds]
            if not facts:
                continue
            if codes and any((c.system, c.code) in codes for f in facts for c in f.codes):
                hits[i] = ConceptHit(facts[0], 1.0, "code")
                continue
            fact_tokens = self._tokens[i]
            if fact_tokens and any(_names(vt, fact_tokens) for vt in variant_tokens):
                hits[i] = ConceptHit(facts[0], 0.95, "lexical")
            elif (fact_tokens - GENERIC - HEADS) and any(
                fact_tokens - HEADS <= vt and len(vt - fact_tokens - HEADS) <= 2
                for vt in variant_tokens
            ):
                # The fact is a less specific name of the concept ("lymphoma" for "Hodgkin
                # lymphoma"): its absence rules the concept out, its presence does not
                # establish it (the evaluator treats "general" hits accordingly).
                hits[i] = ConceptHit(facts[0], 0.85, "general")
        if concept_vector is not None and self._texts:
            sims = self.matrix @ concept_vector
            for i in np.flatnonzero(sims >= threshold):
                if int(i) in hits:
                    continue
                facts = [
                    f
                    for f in self._facts_by_text[self._texts[i]]
                    if kinds is None or f.kind in kinds
                ]
                if facts:
                    hits[int(i)] = ConceptHit(facts[0], float(sims[i]), "semantic")
        ordered = sorted(hits.values(), key=lambda h: -h.score)
        # Every fact behind a matched text is evidence (e.g. each recorded HbA1c value).
        out: list[ConceptHit] = []
        for hit in ordered:
            out.extend(
                ConceptHit(f, hit.score, hit.how)
                for f in self._facts_by_text[hit.fact.text.strip()]
                if kinds is None or f.kind in kinds
            )
        return out

    def best_similarity(self, vector: np.ndarray) -> tuple[str, float] | None:
        if not self._texts:
            return None
        sims = self.matrix @ vector
        i = int(np.argmax(sims))
        return self._texts[i], float(sims[i])


def concept_vectors(embedder: Embedder, texts: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Embeds a trial's concept texts once per request (keyed by criterion id)."""
    keys = list(texts)
    if not keys:
        return {}
    matrix = embedder.encode([texts[k] for k in keys])
    return dict(zip(keys, matrix, strict=True))
