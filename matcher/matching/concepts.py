"""Concept matching between a criterion's concept and a patient's facts.

Order of evidence, strongest first: shared codes, lexical match after normalisation and
synonym expansion, then embedding similarity above a calibrated threshold. Each patient's
distinct fact texts are embedded once (cached by text) into a matrix, so a criterion costs
one matrix-vector product per patient, and a concept that recurs within a request (the same
criterion in many trials) costs it once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from matcher.embeddings import Embedder
from matcher.matching.derived import derived_facts
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
# ("Alzheimer's" is "Alzheimer disease", "immunodeficiency state" is immunodeficiency),
# required when it does not ("liver disease" is not "liver cancer", "respiratory disease" is
# not "respiratory rate").
HEADS = frozenset(
    ["disease", "diseases", "disorder", "disorders", "condition", "finding", "state", "states"]
)

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


# An abbreviation restating the words before it ("multiple sclerosis (MS)") adds no
# specificity; a possessive ("Parkinson's disease") is the same name as "Parkinson disease".
_ABBREVIATION = re.compile(r"\s*\((?:[A-Z][A-Za-z0-9-]*[A-Z0-9]s?)\)")
_POSSESSIVE = re.compile(r"(?<=[a-z])['’]s\b")


def normalise(text: str) -> str:
    text = _POSSESSIVE.sub("", _ABBREVIATION.sub(" ", text).lower())
    return _PAREN.sub(" ", text).replace("-", " ")


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


@functools.lru_cache(maxsize=1 << 16)
def content_tokens(text: str) -> frozenset[str]:
    """The text's stemmed content words. Cached: criterion texts, their synonym variants and
    a trial's conditions recur across trials, and one shared set per text keeps the contexts
    cache (tens of thousands of criteria) small for the garbage collector."""
    return frozenset(_stem(t) for t in _TOKEN.findall(normalise(text)) if t not in STOP)


@dataclass(slots=True)
class ConceptHit:
    fact: Fact
    score: float
    # "code", "lexical", "semantic", "general" (the fact is less specific), or "record" (a
    # fact cited for what the whole record shows, as a condition against "healthy")
    how: str


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


def names_concept(concept: frozenset[str], fact: frozenset[str]) -> bool:
    """Whether a fact with these tokens names the concept (or a more specific form of it)."""
    core = concept - HEADS
    if not core or not core <= fact:
        return False
    return concept <= fact or not (fact - core - HEADS)


KindsKey = frozenset[str] | None
# What decides a `match` answer, as one flat tuple: codes, the vector (by identity: the
# object pins the array, so its id is not reused while the answer is kept), threshold,
# kinds, then the variant tokens.
MatchKey = tuple[object, ...]
_NO_CODES: frozenset[tuple[str, str]] = frozenset()


class PatientConcepts:
    """A patient's facts indexed for concept matching (built once per patient per request).

    A request meets tens of thousands of criteria (RankTrials at full depth: ~25,000), but
    far fewer distinct concepts, and each concept shares a token with few of the patient's
    texts. So the index is built once here, and `match` visits only the texts that could
    match (an inverted index from token and from code to text), with its answers memoised
    for the life of this object, which is one request.
    """

    def __init__(
        self, record: PatientRecord, embedder: Embedder, inferred: Iterable[Fact] = ()
    ) -> None:
        """`inferred`: facts the caller derived from the record by rules it holds (the
        diagnoses of `matcher.matching.diagnoses`), matched like the record's own."""
        self.record = record
        self._embedder = embedder
        self._texts: list[str] = []
        self._facts_by_text: dict[str, list[Fact]] = {}
        for fact in [*record.facts, *derived_facts(record), *inferred]:
            key = fact.text.strip()
            if key:
                if key not in self._facts_by_text:
                    self._texts.append(key)
                self._facts_by_text.setdefault(key, []).append(fact)
        self._tokens = [content_tokens(t) for t in self._texts]
        # Per text: its tokens other than head nouns (what a "general" match compares) and
        # whether any of them is specific (a "general" match needs one).
        self._loose = [tokens - HEADS for tokens in self._tokens]
        self._specific = [bool(tokens - GENERIC - HEADS) for tokens in self._tokens]
        # Non-head token -> texts holding it, ascending: a lexical match needs every core
        # (non-head) token of a variant in the text, a general one every non-head token of
        # the text in a variant, so either shares a non-head token with the variant.
        self._by_token: dict[str, list[int]] = {}
        for i, loose in enumerate(self._loose):
            for token in loose:
                self._by_token.setdefault(token, []).append(i)
        # (system, code) -> texts with a fact carrying it, ascending.
        self._by_code: dict[tuple[str, str], list[int]] = {}
        for i, text in enumerate(self._texts):
            codes = {(c.system, c.code) for f in self._facts_by_text[text] for c in f.codes}
            for code in codes:
                self._by_code.setdefault(code, []).append(i)
        self._of_kinds: dict[KindsKey, dict[int, list[Fact]]] = {}
        # Memoised answers as tuples (no hit, the common answer, is the shared empty tuple:
        # a request's memo outlives young garbage collections, so it allocates little), and
        # the vectors they were computed for, by id, pinned so that ids stay unique.
        self._memo: dict[MatchKey, tuple[ConceptHit, ...]] = {}
        self._best: dict[int, tuple[str, float]] = {}
        self._pinned: dict[int, np.ndarray | None] = {}
        self._matrix: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = self._embedder.encode(self._texts)
        return self._matrix

    def facts_for(self, text: str) -> list[Fact]:
        return self._facts_by_text.get(text, [])

    def _facts_of_kinds(self, kinds: KindsKey) -> dict[int, list[Fact]]:
        """Text index -> its facts of these kinds, for texts with any (a handful of kinds
        sets exist, one per criterion category, so each is filtered once per patient)."""
        found = self._of_kinds.get(kinds)
        if found is None:
            found = {}
            for i, text in enumerate(self._texts):
                facts = [f for f in self._facts_by_text[text] if kinds is None or f.kind in kinds]
                if facts:
                    found[i] = facts
            self._of_kinds[kinds] = found
        return found

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
        The same concept recurs across a request's trials, so answers are memoised; each
        call gets its own list.
        """
        codes = frozenset((c.system, c.code) for c in concept_codes) if concept_codes else _NO_CODES
        key: MatchKey = (codes, id(concept_vector), threshold, kinds, *variant_tokens)
        hits = self._memo.get(key)
        if hits is None:
            self._pinned[id(concept_vector)] = concept_vector
            hits = self._memo[key] = self._match(
                codes, variant_tokens, concept_vector, threshold, kinds
            )
        return list(hits)

    def _candidates(
        self, codes: frozenset[tuple[str, str]], variant_tokens: list[frozenset[str]]
    ) -> list[int]:
        """Texts that could match by code, lexically or as "general", ascending (the order
        the evaluation of every text would visit them in, which ties in scores keep)."""
        found: set[int] = set()
        for code in codes:
            found.update(self._by_code.get(code, ()))
        by_token = self._by_token
        for tokens in variant_tokens:
            for token in tokens:
                texts = by_token.get(token)  # head nouns are not indexed
                if texts:
                    found.update(texts)
        return sorted(found)

    def _match(
        self,
        codes: frozenset[tuple[str, str]],
        variant_tokens: list[frozenset[str]],
        concept_vector: np.ndarray | None,
        threshold: float,
        kinds: KindsKey,
    ) -> tuple[ConceptHit, ...]:
        eligible = self._facts_of_kinds(kinds)
        hits: dict[int, ConceptHit] = {}
        for i in self._candidates(codes, variant_tokens):
            facts = eligible.get(i)
            if facts is None:
                continue
            if codes and any((c.system, c.code) in codes for f in facts for c in f.codes):
                hits[i] = ConceptHit(facts[0], 1.0, "code")
                continue
            fact_tokens = self._tokens[i]
            if fact_tokens and any(names_concept(vt, fact_tokens) for vt in variant_tokens):
                hits[i] = ConceptHit(facts[0], 0.95, "lexical")
            elif self._specific[i] and any(
                self._loose[i] <= vt and len(vt - fact_tokens - HEADS) <= 2 for vt in variant_tokens
            ):
                # The fact is a less specific name of the concept ("lymphoma" for "Hodgkin
                # lymphoma"): its absence rules the concept out, its presence does not
                # establish it (the evaluator treats "general" hits accordingly).
                hits[i] = ConceptHit(facts[0], 0.85, "general")
        # Only texts with facts of the kinds, not matched already, can match semantically:
        # without any (no lab results for a lab criterion), the product is not needed.
        if concept_vector is not None and any(i not in hits for i in eligible):
            sims = self.matrix @ concept_vector
            scores = sims.tolist()  # the same values as Python floats
            for i in (sims >= threshold).nonzero()[0].tolist():  # compared in the array's dtype
                if i in hits:
                    continue
                facts = eligible.get(i)
                if facts:
                    hits[i] = ConceptHit(facts[0], scores[i], "semantic")
        ordered = sorted(hits.items(), key=lambda item: -item[1].score)
        # Every fact behind a matched text is evidence (e.g. each recorded HbA1c value).
        return tuple(ConceptHit(f, hit.score, hit.how) for i, hit in ordered for f in eligible[i])

    def best_similarity(self, vector: np.ndarray) -> tuple[str, float] | None:
        """The patient's text most similar to the vector (memoised like `match`)."""
        if not self._texts:
            return None
        best = self._best.get(id(vector))
        if best is None:
            self._pinned[id(vector)] = vector
            sims = self.matrix @ vector
            i = int(np.argmax(sims))
            best = self._best[id(vector)] = (self._texts[i], float(sims[i]))
        return best


def concept_vectors(embedder: Embedder, texts: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Embeds a trial's concept texts once per request (keyed by criterion id)."""
    keys = list(texts)
    if not keys:
        return {}
    matrix = embedder.encode([texts[k] for k in keys])
    return dict(zip(keys, matrix, strict=True))
