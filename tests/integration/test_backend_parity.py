"""Parity: the same Synthea patients and trials in both backends give the same answers.

Data: the three Synthea bundles of tests/fixtures/synthea, seven more of services/demo_data
and the five ClinicalTrials.gov records of services/demo_data/trials.jsonl (see their
READMEs), plus two hand-written trials. Both apps share one embedder, so vectors are equal
bit for bit; what may differ is only the backends' own work: filters, BM25, kNN, storage.
BM25 formulas differ slightly (FTS5 and Lucene use different idf), so BM25 is compared as
the set of documents matched, not by score; kNN is compared by order and cosine.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from matcher.search.base import PatientFilters, Query, TrialFilters
from matcher.search.elastic import ElasticBm25Retriever, ElasticKnnRetriever
from matcher.search.embedded import NumpyVectorRetriever, SqliteBm25Retriever
from matcher.search.hybrid import HybridRetriever

pytestmark = [pytest.mark.slow, pytest.mark.elasticsearch]

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = sorted((ROOT / "tests" / "fixtures" / "synthea").glob("*.json")) + [
    path  # Clemente Kreiger is in both folders: one copy
    for path in sorted((ROOT / "services" / "demo_data" / "bundles").glob("*.json"))
    if not path.name.startswith("Clemente_Kreiger")
]
TRIALS = ROOT / "services" / "demo_data" / "trials.jsonl"
INDEX_DATE = date(2020, 1, 1)
EXTRA_TRIALS = [
    {
        "nct_id": "TM-OBESITY-1",
        "brief_title": "Weight management in adult men with obesity",
        "conditions": ["Obesity"],
        "gender": "Male",
        "eligibility_criteria": "Inclusion Criteria:\n- Men aged 18 to 60 years\n"
        "- Body mass index >= 30 kg/m2\nExclusion Criteria:\n- Type 1 diabetes\n",
    },
    {
        "nct_id": "TM-SINUS-1",
        "brief_title": "Chronic rhinosinusitis in adults",
        "conditions": ["Chronic sinusitis"],
        "eligibility_criteria": "Inclusion Criteria:\n- Adults 18 years or older\n"
        "- Chronic sinusitis\n",
    },
]


@pytest.fixture(scope="module")
def apps(tmp_path_factory, embedder, es_settings) -> Any:
    """(embedded app, elasticsearch app), loaded with the same data."""
    from matcher.embeddings import CachedEmbedder
    from matcher.trials import trial_from_ctgov
    from services.config import load_config
    from services.providers import build_app

    shared = CachedEmbedder(embedder)
    settings = es_settings()
    embedded = build_app(
        load_config(overrides={"storage": {"data_dir": str(tmp_path_factory.mktemp("parity"))}}),
        shared,
    )
    elastic = build_app(
        load_config(
            overrides={
                "storage": {
                    "backend": "elasticsearch",
                    "elasticsearch": {
                        "url": settings.url,
                        "index_prefix": settings.index_prefix,
                        "refresh": "false",  # the default; one refresh before reading
                    },
                }
            }
        ),
        shared,
    )
    records = [json.loads(line) for line in TRIALS.read_text().splitlines() if line.strip()]
    for app in (embedded, elastic):
        for path in BUNDLES:
            app.ingest.push_bundle(path.read_bytes())
        for record in [*records, *EXTRA_TRIALS]:
            app.trials.submit(trial_from_ctgov(record))
    elastic.store.refresh()
    yield embedded, elastic
    elastic.store.drop()
    for app in (embedded, elastic):
        app.close()


def trial_ids(app: Any) -> list[str]:
    return sorted(t.trial_id for t in app.store.list_trials(limit=100))


def patient_ids(app: Any) -> list[str]:
    return sorted(app.store.filter_patients(PatientFilters(INDEX_DATE, include_deceased=True)))


def test_same_documents_stored(apps) -> None:
    embedded, elastic = apps
    assert len(patient_ids(embedded)) == len(BUNDLES)
    assert patient_ids(embedded) == patient_ids(elastic)
    assert trial_ids(embedded) == trial_ids(elastic)
    for pid in patient_ids(embedded):
        assert embedded.store.get_patient(pid).to_dict() == elastic.store.get_patient(pid).to_dict()
    for tid in trial_ids(embedded):
        assert embedded.store.get_trial(tid).to_dict() == elastic.store.get_trial(tid).to_dict()


def _trial_query(app: Any, trial_id: str) -> Query:
    from matcher.profile import trial_target_text, trial_vector

    trial = app.store.get_trial(trial_id)
    sex = () if trial.sex.value == "all" else (trial.sex.value,)
    filters = PatientFilters(INDEX_DATE, trial.min_age_years, trial.max_age_years, sex)
    return Query(trial_target_text(trial), trial_vector(trial, app.embedder), filters)


def test_same_candidates_per_trial(apps) -> None:
    embedded, elastic = apps
    for trial_id in trial_ids(embedded):
        query = _trial_query(embedded, trial_id)
        assert embedded.store.filter_patients(query.filters) == elastic.store.filter_patients(
            query.filters
        ), trial_id
        bm25_e = SqliteBm25Retriever(embedded.store, "patients").search(query, 100)
        bm25_s = ElasticBm25Retriever(elastic.store, "patients").search(query, 100)
        assert {h.id for h in bm25_e} == {h.id for h in bm25_s}, trial_id
        knn_e = NumpyVectorRetriever(embedded.store, "patients").search(query, 100)
        knn_s = ElasticKnnRetriever(elastic.store, "patients").search(query, 100)
        assert [h.id for h in knn_e] == [h.id for h in knn_s], trial_id
        for a, b in zip(knn_e, knn_s, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-4)
        hybrid_e = HybridRetriever(
            [
                SqliteBm25Retriever(embedded.store, "patients"),
                NumpyVectorRetriever(embedded.store, "patients"),
            ]
        ).search(query, 100)
        hybrid_s = HybridRetriever(
            [
                ElasticBm25Retriever(elastic.store, "patients"),
                ElasticKnnRetriever(elastic.store, "patients"),
            ]
        ).search(query, 100)
        assert {h.id for h in hybrid_e} == {h.id for h in hybrid_s}, trial_id


def _verdicts(ranking) -> dict[tuple[str, str], tuple]:
    return {
        (m.trial_id, m.patient_id): (
            m.verdict,
            tuple(
                (r.criterion.id, r.outcome, tuple(e.source for e in r.evidence)) for r in m.results
            ),
        )
        for m in ranking.matches
    }


def test_same_verdicts_ranking_patients(apps) -> None:
    embedded, elastic = apps
    compared = 0
    for trial_id in trial_ids(embedded):
        a = embedded.engine.rank_patients(trial_id, limit=1000, index_date=INDEX_DATE)
        b = elastic.engine.rank_patients(trial_id, limit=1000, index_date=INDEX_DATE)
        assert a.considered == b.considered, trial_id
        assert _verdicts(a) == _verdicts(b), trial_id
        compared += len(a.matches)
    assert compared >= len(BUNDLES)  # the comparison covered real candidates


def test_same_verdicts_ranking_trials(apps) -> None:
    embedded, elastic = apps
    for patient_id in patient_ids(embedded):
        a = embedded.engine.rank_trials(patient_id, limit=100, index_date=INDEX_DATE)
        b = elastic.engine.rank_trials(patient_id, limit=100, index_date=INDEX_DATE)
        assert a.considered == b.considered, patient_id
        assert _verdicts(a) == _verdicts(b), patient_id
        filters = TrialFilters(
            embedded.store.get_patient(patient_id).age_at(INDEX_DATE),
            embedded.store.get_patient(patient_id).gender,
        )
        assert embedded.store.filter_trials(filters) == elastic.store.filter_trials(filters)
