"""Small providers that build the domain objects from configuration (dependency injection).

Nothing heavy happens here until asked: the embedding model loads on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matcher.embeddings import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from matcher.ingest import IngestLimits, IngestService
from matcher.matching.engine import EngineConfig, MatchingEngine
from matcher.matching.evaluate import CriterionEvaluator, EvaluatorConfig
from matcher.search.embedded import NumpyVectorRetriever, SqliteBm25Retriever
from matcher.search.hybrid import HybridRetriever
from matcher.store.sqlite import SqliteStore
from matcher.trials import CriteriaParser, TrialService
from services.config import Config


@dataclass(slots=True)
class App:
    """Everything the servicers need, built once per process."""

    config: Config
    store: SqliteStore
    embedder: Embedder
    parser: CriteriaParser
    ingest: IngestService
    trials: TrialService
    engine: MatchingEngine

    def close(self) -> None:
        self.store.close()


def build_store(config: Config) -> SqliteStore:
    data_dir = config.storage.data_dir
    if data_dir == ":memory:":
        return SqliteStore(":memory:")
    return SqliteStore(Path(data_dir) / "trialmatch.sqlite3")


def build_embedder(config: Config, store: SqliteStore) -> Embedder:
    inner = SentenceTransformerEmbedder(config.embedding.model_path, config.embedding.batch_size)
    return CachedEmbedder(inner, store)


def build_parser(config: Config) -> CriteriaParser:
    from nlp.criteria import build_parser as build_criteria_parser

    return build_criteria_parser()


def build_evaluator(config: Config) -> CriterionEvaluator:
    from nlp.vocab import load_synonyms, load_units

    return CriterionEvaluator(
        load_synonyms(),
        load_units(),
        EvaluatorConfig(config.matching.concept_threshold, config.matching.other_threshold),
    )


def build_app(config: Config, embedder: Embedder | None = None) -> App:
    store = build_store(config)
    embedder = embedder or build_embedder(config, store)
    parser = build_parser(config)
    ingest = IngestService(
        store, embedder, IngestLimits(config.ingest.max_bundle_bytes, config.ingest.max_entries)
    )
    trials = TrialService(store, parser, embedder)
    patient_bm25 = SqliteBm25Retriever(store, "patients")
    trial_bm25 = SqliteBm25Retriever(store, "trials")
    patient_vec = NumpyVectorRetriever(store, "patients")
    trial_vec = NumpyVectorRetriever(store, "trials")
    engine = MatchingEngine(
        store,
        embedder,
        build_evaluator(config),
        HybridRetriever([patient_bm25, patient_vec]),
        HybridRetriever([trial_bm25, trial_vec]),
        EngineConfig(config.matching.candidate_depth),
    )
    return App(config, store, embedder, parser, ingest, trials, engine)
