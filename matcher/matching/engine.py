"""RankPatients and RankTrials: hard filters -> hybrid candidates -> evaluate -> order."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from matcher.embeddings import Embedder
from matcher.errors import InvalidInput
from matcher.matching.concepts import PatientConcepts, concept_vectors
from matcher.matching.diagnoses import Diagnoses
from matcher.matching.evaluate import CriterionContext, CriterionEvaluator
from matcher.matching.rank import RankWeights, build_match, order
from matcher.model import (
    Criterion,
    CriterionResult,
    Match,
    PatientRecord,
    Sex,
    Trial,
    Verdict,
)
from matcher.profile import patient_index_text, patient_vector, trial_target_text, trial_vector
from matcher.search.base import Hit, PatientFilters, Query, Retriever, TrialFilters
from matcher.store.base import Store

MAX_LIMIT = 1000
CONTEXT_CACHE_TRIALS = 5000  # trials whose criterion contexts stay in memory (LRU)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    candidate_depth: int = 200  # candidates evaluated per request, before ordering
    weights: RankWeights = field(default_factory=RankWeights)


@dataclass(slots=True)
class Ranking:
    matches: list[Match]
    considered: int


def _fused_relevance(hits: list[Hit]) -> dict[str, float]:
    """Fused retrieval score relative to the best candidate of the request, in [0, 1]."""
    top = hits[0].score if hits and hits[0].score > 0 else 1.0
    return {h.id: h.score / top for h in hits}


def _min_max(scores: dict[str, float], ids: list[str]) -> dict[str, float]:
    if not scores:
        return dict.fromkeys(ids, 0.0)
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo
    return {i: ((scores[i] - lo) / span if span > 0 else 1.0) if i in scores else 0.0 for i in ids}


def best(matches: Iterable[Match], limit: int) -> list[Match]:
    """`order(list(matches))[:limit]`, holding few matches at a time.

    Why: a full-depth RankTrials evaluates ~800 trials of ~40 criteria each. Kept to the end,
    those results outlived the young garbage collections, and each request moved ~100,000
    objects into the oldest generation, so every two or three requests Python collected the
    whole heap (the warm caches: ~900,000 objects, ~0.5 s). Pruned as they come, the losers
    die young. Same answer: `order` is a stable sort, so the head of a sorted prefix followed
    by the later matches, in arrival order, sorts exactly as all the matches would.
    """
    kept: list[Match] = []
    prune_at = limit + max(8, limit // 4)
    for match in matches:
        kept.append(match)
        if len(kept) >= prune_at:
            kept = order(kept)[:limit]
    return order(kept)[:limit]


def relevance(query: Query, hits: list[Hit], similarity: Retriever | None) -> dict[str, float]:
    """Relevance of each candidate in [0, 1] within the request.

    Fusion by rank (RRF) is right for *finding* candidates, but it throws away how close they
    are; ordering them needs the magnitude. So the candidates' cosine to the query vector,
    min-max scaled over the request, is the relevance (TREC 2021, 75 topics: NDCG@10 0.65
    from cosine against 0.59 from the fused rank); without a vector, the fused score is.
    """
    if similarity is None or query.vector is None or not hits:
        return _fused_relevance(hits)
    ids = [h.id for h in hits]
    scoped = Query(query.text, query.vector, query.filters, frozenset(ids))
    cosines = {h.id: h.score for h in similarity.search(scoped, len(ids))}
    return _min_max(cosines, ids)


class MatchingEngine:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        evaluator: CriterionEvaluator,
        patient_retriever: Retriever,
        trial_retriever: Retriever,
        config: EngineConfig,
        patient_similarity: Retriever | None = None,
        trial_similarity: Retriever | None = None,
        diagnoses: Diagnoses | None = None,
    ) -> None:
        self._store = store
        self._diagnoses = diagnoses or Diagnoses()
        self._embedder = embedder
        self._evaluator = evaluator
        self._patients = patient_retriever
        self._trials = trial_retriever
        self._config = config
        self._lock = threading.Lock()
        self._context_cache: OrderedDict[tuple[str, int], list[CriterionContext]] = OrderedDict()
        self._trial_cache: dict[str, Trial] = {}
        # One array per distinct criterion vector (see `_interned`), alive while a context is.
        self._vectors: weakref.WeakValueDictionary[
            tuple[str, tuple[int, ...], tuple[int, ...], bytes], np.ndarray
        ] = weakref.WeakValueDictionary()
        self._trials_generation: int | None = None
        self._patient_similarity = patient_similarity  # vector retrievers scoring relevance
        self._trial_similarity = trial_similarity

    @staticmethod
    def _check_limit(limit: int) -> int:
        if limit < 0 or limit > MAX_LIMIT:
            raise InvalidInput(f"limit must be between 0 (default, 10) and {MAX_LIMIT}", "limit")
        return limit or 10

    def warm(self, limit: int = CONTEXT_CACHE_TRIALS) -> int:
        """Decode up to `limit` active trials and build their criterion contexts now.

        Why: the first RankTrials over a large registry otherwise builds them inside a request;
        built at start-up they can also be frozen out of the garbage collector's walks (see
        services.providers.settle). Returns how many trials were prepared.
        """
        ids = sorted(self._store.filter_trials(TrialFilters()))[:limit]
        trials = self._get_trials(ids)
        for trial in trials.values():
            self._trial_contexts(trial)
        return len(trials)

    def _get_trials(self, trial_ids: list[str]) -> dict[str, Trial]:
        """Trials by id, kept decoded while the store is unchanged (stores with a generation
        counter say when; others are read every time)."""
        generation = getattr(self._store, "generation", None)
        if generation is None:
            return self._store.get_trials(trial_ids)
        with self._lock:
            if generation != self._trials_generation:
                self._trial_cache.clear()
                self._trials_generation = generation
            found = {t: self._trial_cache[t] for t in trial_ids if t in self._trial_cache}
        missing = [t for t in trial_ids if t not in found]
        if missing:
            loaded = self._store.get_trials(missing)
            with self._lock:
                if generation == self._trials_generation and len(self._trial_cache) < 50_000:
                    self._trial_cache.update(loaded)
            found.update(loaded)
        return found

    def _trial_contexts(self, trial: Trial) -> list[CriterionContext]:
        """A stored trial's contexts, computed once per trial version (requests repeat them)."""
        key = (trial.trial_id, trial.version)
        with self._lock:
            found = self._context_cache.get(key)
            if found is not None:
                self._context_cache.move_to_end(key)
                return found
        contexts = self._contexts(trial.criteria, tuple(trial.conditions))
        with self._lock:
            self._context_cache[key] = contexts
            while len(self._context_cache) > CONTEXT_CACHE_TRIALS:
                self._context_cache.popitem(last=False)
        return contexts

    def _interned(self, vector: np.ndarray) -> np.ndarray:
        """The one array holding this vector's value. The same criterion text recurs across
        trials ("pregnant or breastfeeding"), and PatientConcepts memoises a request's concept
        matches by the vector's identity (hashing its bytes on every call costs more than the
        memo saves), so equal vectors must be one object for the memo to see them as one."""
        key = (vector.dtype.str, vector.shape, vector.strides, vector.tobytes())
        with self._lock:
            found = self._vectors.get(key)
            if found is None:
                self._vectors[key] = found = vector
        return found

    def _contexts(
        self, criteria: list[Criterion], conditions: tuple[str, ...] = ()
    ) -> list[CriterionContext]:
        texts = {c.id: c.match_text for c in criteria}
        vectors = {
            key: self._interned(vector)
            for key, vector in concept_vectors(self._embedder, texts).items()
        }
        return [self._evaluator.context(c, vectors.get(c.id), conditions) for c in criteria]

    def _concepts(self, record: PatientRecord) -> PatientConcepts:
        return PatientConcepts(record, self._embedder, self._diagnoses.infer(record.facts))

    def evaluate_criteria(
        self, patient_id: str, criteria: list[Criterion], index_date: date | None = None
    ) -> list[CriterionResult]:
        """Evaluates criteria that belong to no stored trial (criterion-level evaluation)."""
        record = self._store.get_patient(patient_id)
        patient = self._concepts(record)
        when = index_date or date.today()
        return [self._evaluator.evaluate(ctx, patient, when) for ctx in self._contexts(criteria)]

    def _evaluate(
        self,
        trial: Trial,
        contexts: list[CriterionContext],
        patient: PatientConcepts,
        relevance: float,
        index_date: date,
    ) -> Match:
        results = [self._evaluator.evaluate(ctx, patient, index_date) for ctx in contexts]
        return build_match(
            trial.trial_id, patient.record.patient_id, relevance, results, self._config.weights
        )

    def rank_patients(
        self,
        trial_id: str,
        limit: int = 10,
        index_date: date | None = None,
        genders: tuple[str, ...] = (),
        postal_prefixes: tuple[str, ...] = (),
        verdicts: frozenset[Verdict] = frozenset(),
        patient_ids: frozenset[str] | None = None,
    ) -> Ranking:
        """`patient_ids`, when given, restricts the candidates (re-ranking a known set)."""
        limit = self._check_limit(limit)
        index_date = index_date or date.today()
        trial = self._store.get_trial(trial_id)
        sex = () if trial.sex == Sex.ALL else (trial.sex.value,)
        if genders:
            sex = tuple(g for g in genders if not sex or g in sex)
            if not sex:  # the requested genders and the trial's sex exclude each other
                return Ranking([], 0)
        filters = PatientFilters(
            index_date, trial.min_age_years, trial.max_age_years, sex, postal_prefixes
        )
        allowed = self._store.filter_patients(filters)
        if patient_ids is not None:
            allowed &= patient_ids
        query = Query(
            trial_target_text(trial), trial_vector(trial, self._embedder), filters, allowed
        )
        depth = max(limit, self._config.candidate_depth)
        hits = self._patients.search(query, depth)
        scores = relevance(query, hits, self._patient_similarity)
        records = self._store.get_patients([h.id for h in hits])
        contexts = self._trial_contexts(trial)
        matches = (
            self._evaluate(
                trial,
                contexts,
                self._concepts(records[h.id]),
                scores[h.id],
                index_date,
            )
            for h in hits
            if h.id in records
        )
        wanted = (m for m in matches if not verdicts or m.verdict in verdicts)
        return Ranking(best(wanted, limit), len(allowed))

    def rank_trials(
        self,
        patient_id: str,
        limit: int = 10,
        index_date: date | None = None,
        trial_ids: frozenset[str] | None = None,
    ) -> Ranking:
        """`trial_ids`, when given, restricts the candidates (re-ranking a known set)."""
        limit = self._check_limit(limit)
        index_date = index_date or date.today()
        record = self._store.get_patient(patient_id)
        months = record.months_at(index_date)
        filters = TrialFilters(None if months is None else months / 12, record.gender)
        allowed = self._store.filter_trials(filters)
        if trial_ids is not None:
            allowed &= trial_ids
        patient = self._concepts(record)
        query = Query(
            patient_index_text(record), patient_vector(record, self._embedder), filters, allowed
        )
        depth = max(limit, self._config.candidate_depth)
        hits = self._trials.search(query, depth)
        scores = relevance(query, hits, self._trial_similarity)
        trials = self._get_trials([h.id for h in hits])
        matches = (
            self._evaluate(
                trials[h.id],
                self._trial_contexts(trials[h.id]),
                patient,
                scores[h.id],
                index_date,
            )
            for h in hits
            if h.id in trials
        )
        return Ranking(best(matches, limit), len(allowed))
