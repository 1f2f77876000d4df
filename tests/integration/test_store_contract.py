"""One contract, every backend: the same cases run on the embedded and Elasticsearch stores.

Covers what ingest, the registry and the engine rely on: atomic upserts that replace,
deletes, hard filters at the index date, BM25 and kNN retrieval (filtered), trial versions
and retirement, the embedding cache, and ranking both ways through the engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.errors import NotFound
from matcher.model import Fact, FactKind, PatientRecord, Sex, Trial, Verdict
from matcher.search.base import PatientFilters, Query, Retriever, TrialFilters
from matcher.store.base import Store

SYNTHEA = Path(__file__).parent.parent / "fixtures" / "synthea"
CLEMENTE = "d78af07c-9cb9-4f31-9b11-c45a28f2eec8"
INDEX = date(2020, 6, 1)
DIM = 384


@dataclass
class Backend:
    name: str
    store: Store
    bm25: Retriever
    vectors: Retriever
    trial_bm25: Retriever
    trial_vectors: Retriever


BACKENDS = ["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]


def open_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh, empty store of the named backend with its BM25 and vector retrievers."""
    if name == "embedded":
        from matcher.search.embedded import NumpyVectorRetriever, SqliteBm25Retriever
        from matcher.store.sqlite import SqliteStore

        store: Any = SqliteStore(tmp_path / "contract.sqlite3")
        request.addfinalizer(store.close)
        bm25, vectors = SqliteBm25Retriever, NumpyVectorRetriever
    else:
        from matcher.search.elastic import ElasticBm25Retriever, ElasticKnnRetriever
        from matcher.store.elastic import ElasticStore

        store = ElasticStore(request.getfixturevalue("es_settings")())
        request.addfinalizer(store.close)  # finalizers run last-in first-out: drop, close
        request.addfinalizer(store.drop)
        bm25, vectors = ElasticBm25Retriever, ElasticKnnRetriever
    return Backend(
        name,
        store,
        bm25(store, "patients"),
        vectors(store, "patients"),
        bm25(store, "trials"),
        vectors(store, "trials"),
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return open_backend(request.param, request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_people(request: pytest.FixtureRequest, tmp_path_factory) -> Backend:
    """PEOPLE in one store per backend for read-only tests (index creation costs ~1 s)."""
    backend = open_backend(request.param, request, tmp_path_factory.mktemp("people"))
    store_people(backend)
    return backend


def unit(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def record(
    pid: str, birth: str, gender: str = "female", deceased: bool = False, postal: str = "10001"
) -> PatientRecord:
    return PatientRecord(
        pid,
        date.fromisoformat(birth),
        gender,
        postal_code=postal,
        deceased=deceased,
        facts=[Fact(FactKind.CONDITION, f"condition of {pid}", f"Condition/{pid}")],
    )


PEOPLE = [
    (record("born-1970-06-01", "1970-06-01"), "Type 2 diabetes; hypertension", unit(1, 0)),
    (record("born-1970-06-02", "1970-06-02", "male"), "Asthma", unit(0, 1)),
    (record("born-2010", "2010-01-01"), "asthma, otitis media (disorder)", unit(0.7, 0.7)),
    (record("dead", "1950-01-01", deceased=True), "diabetes", unit(1, 0.1)),
    (record("boston", "1980-01-01", postal="02110"), "Obesity; Sjögren's", unit(0.2, 1)),
]


def store_people(backend: Backend) -> None:
    backend.store.upsert_patients(
        [r for r, _, _ in PEOPLE], [t for _, t, _ in PEOPLE], [v for _, _, v in PEOPLE]
    )


@pytest.fixture()
def people(backend: Backend) -> Backend:
    store_people(backend)
    return backend


def ids(hits) -> list[str]:
    return [h.id for h in hits]


def test_ingest_reads_back_whole_records(people: Backend) -> None:
    store = people.store
    assert store.count_patients() == 5
    original = PEOPLE[4][0]
    assert store.get_patient("boston").to_dict() == original.to_dict()
    found = store.get_patients(["boston", "dead", "nobody"])
    assert set(found) == {"boston", "dead"}
    assert found["dead"].deceased
    assert store.get_patients([]) == {}
    with pytest.raises(NotFound, match="nobody"):
        store.get_patient("nobody")


def test_upsert_replaces_text_vector_and_fields(people: Backend) -> None:
    store = people.store
    store.upsert_patients([record("boston", "1985-01-01", "male")], ["eczema"], [unit(0, 0, 1)])
    assert store.count_patients() == 5
    assert store.get_patient("boston").gender == "male"
    assert people.bm25.search(Query("obesity"), 5) == []
    assert ids(people.bm25.search(Query("eczema"), 5)) == ["boston"]
    assert ids(people.vectors.search(Query(vector=unit(0, 0, 1)), 1)) == ["boston"]
    assert people.store.filter_patients(PatientFilters(INDEX, genders=("male",))) == {
        "born-1970-06-02",
        "boston",
    }


def test_a_batch_that_cannot_be_written_stores_nothing(people: Backend) -> None:
    with pytest.raises(ValueError):  # texts and records of different lengths
        people.store.upsert_patients(
            [record("a", "1990-01-01"), record("b", "1990-01-01")], ["t"], [None, None]
        )
    with pytest.raises(NotFound):
        people.store.get_patient("a")
    assert people.store.count_patients() == 5


def test_delete_removes_record_text_and_vector(people: Backend) -> None:
    people.store.delete_patient("boston")
    with pytest.raises(NotFound):
        people.store.get_patient("boston")
    assert people.bm25.search(Query("obesity"), 5) == []
    assert "boston" not in ids(people.vectors.search(Query(vector=unit(0.2, 1)), 10))
    assert people.store.count_patients() == 4
    with pytest.raises(NotFound):
        people.store.delete_patient("boston")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # the 50th birthday on the index date counts; one day later does not
        (PatientFilters(INDEX, min_age_years=50), {"born-1970-06-01"}),
        (PatientFilters(INDEX, max_age_years=49), {"born-1970-06-02", "born-2010", "boston"}),
        (
            PatientFilters(INDEX, min_age_years=18, max_age_years=50),
            {"born-1970-06-01", "born-1970-06-02", "boston"},
        ),
        (
            PatientFilters(INDEX, min_age_years=11),
            {"born-1970-06-01", "born-1970-06-02", "boston"},
        ),
        (PatientFilters(INDEX, min_age_years=10, max_age_years=10), {"born-2010"}),
        (PatientFilters(INDEX, genders=("male",)), {"born-1970-06-02"}),
        (PatientFilters(INDEX, genders=("-none-",)), set()),
        (PatientFilters(INDEX, postal_prefixes=("021",)), {"boston"}),
        (
            PatientFilters(INDEX, postal_prefixes=("021", "100")),
            {"born-1970-06-01", "born-1970-06-02", "born-2010", "boston"},
        ),
        (PatientFilters(INDEX, include_deceased=True, min_age_years=60), {"dead"}),
    ],
)
def test_patient_filters(
    shared_people: Backend, filters: PatientFilters, expected: set[str]
) -> None:
    assert shared_people.store.filter_patients(filters) == expected


def test_bm25_matches_terms_ranks_and_filters(people: Backend) -> None:
    hits = people.bm25.search(Query("asthma"), 10)
    assert set(ids(hits)) == {"born-1970-06-02", "born-2010"}
    assert all(h.score > 0 for h in hits)
    # the shorter document with the same term frequency scores higher (length norm)
    assert ids(hits)[0] == "born-1970-06-02"
    adults = people.bm25.search(
        Query("asthma", filters=PatientFilters(INDEX, min_age_years=18)), 10
    )
    assert ids(adults) == ["born-1970-06-02"]
    allowed = people.bm25.search(Query("asthma", allowed=frozenset({"born-2010"})), 10)
    assert ids(allowed) == ["born-2010"]
    assert people.bm25.search(Query("asthma", allowed=frozenset()), 10) == []
    assert people.bm25.search(Query("the of and"), 10) == []  # stopwords only: no query
    assert people.bm25.search(Query('"; DROP TABLE patients; --'), 10) == []
    # punctuation, case and diacritics are normalised the same way in both backends
    assert ids(people.bm25.search(Query("SJOGREN"), 10)) == ["boston"]
    assert ids(people.bm25.search(Query("disorder"), 10)) == ["born-2010"]
    assert people.bm25.search(Query("asthma"), 1) == hits[:1]


def test_knn_orders_by_cosine_and_filters(people: Backend) -> None:
    hits = people.vectors.search(Query(vector=unit(1, 0), filters=PatientFilters(INDEX)), 2)
    assert ids(hits) == ["born-1970-06-01", "born-2010"]  # the deceased is filtered out
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[1].score == pytest.approx(float(unit(1, 0) @ unit(0.7, 0.7)), abs=1e-4)
    men = people.vectors.search(
        Query(vector=unit(1, 0), filters=PatientFilters(INDEX, genders=("male",))), 5
    )
    assert ids(men) == ["born-1970-06-02"]
    people.store.upsert_patients([record("new", "1990-01-01")], ["x"], [unit(1, 0.01)])
    assert ids(people.vectors.search(Query(vector=unit(1, 0.01)), 1)) == ["new"]
    assert people.vectors.search(Query(vector=None), 5) == []


def test_trials_versions_filters_list_and_retire(backend: Backend) -> None:
    store = backend.store
    t1 = store.upsert_trial(Trial("T1", min_age_years=18, max_age_years=65), "diabetes", unit(1))
    assert t1.version == 1
    store.upsert_trial(Trial("T2", sex=Sex.FEMALE, title="Pregnancy"), "pregnancy", unit(0, 1))
    amended = store.upsert_trial(Trial("T1", min_age_years=18), "type 2 diabetes", unit(1))
    assert amended.version == 2 and store.get_trial("T1").version == 2
    assert store.get_trial("T1").max_age_years is None
    assert store.filter_trials(TrialFilters(age_years=70, gender="male")) == {"T1"}
    assert store.filter_trials(TrialFilters(age_years=30, gender="female")) == {"T1", "T2"}
    assert store.filter_trials(TrialFilters(age_years=10)) == {"T2"}
    assert [t.trial_id for t in store.list_trials()] == ["T1", "T2"]  # newest first
    assert ids(backend.trial_bm25.search(Query("diabetes"), 5)) == ["T1"]
    assert ids(backend.trial_vectors.search(Query(vector=unit(0, 1)), 1)) == ["T2"]
    assert store.retire_trial("T1").retired
    assert store.get_trial("T1").retired
    assert store.filter_trials(TrialFilters(age_years=30, gender="female")) == {"T2"}
    assert store.filter_trials(TrialFilters(include_retired=True)) == {"T1", "T2"}
    assert [t.trial_id for t in store.list_trials()] == ["T2"]
    assert {t.trial_id for t in store.list_trials(include_retired=True)} == {"T1", "T2"}
    assert set(store.get_trials(["T1", "T2", "T9"])) == {"T1", "T2"}
    with pytest.raises(NotFound):
        store.get_trial("T9")
    with pytest.raises(NotFound):
        store.retire_trial("T9")


def test_embedding_cache_keeps_the_first_vector(backend: Backend) -> None:
    first, second = unit(1, 2, 3), unit(3, 2, 1)
    backend.store.cache_vectors({"k1": first})
    backend.store.cache_vectors({"k1": second, "k2": second})
    found = backend.store.cached_vectors(["k1", "k2", "k3"])
    assert set(found) == {"k1", "k2"}
    np.testing.assert_array_equal(found["k1"], first)
    assert found["k1"].dtype == np.float32
    assert backend.store.cached_vectors([]) == {}


# --- ranking both ways through the engine (real embedder, parser and evaluator) ----------

OBESITY = {
    "trial_id": "TM-OBESITY-1",
    "brief_title": "Weight management in adult men with obesity",
    "conditions": ["Obesity"],
    "gender": "Male",
    "eligibility_criteria": "Inclusion Criteria:\n- Men aged 18 to 60 years\n"
    "- Body mass index >= 30 kg/m2\nExclusion Criteria:\n- Type 1 diabetes\n",
}
WOMEN = {
    "trial_id": "TM-WOMEN-1",
    "brief_title": "Osteoporosis in postmenopausal women",
    "conditions": ["Osteoporosis"],
    "gender": "Female",
    "minimum_age": "50 Years",
    "eligibility_criteria": "Inclusion Criteria:\n- Postmenopausal women\n- Osteoporosis\n",
}


@pytest.fixture()
def app_factory(
    request: pytest.FixtureRequest, tmp_path: Path, embedder
) -> Iterator[Callable[[str], Any]]:
    from matcher.embeddings import CachedEmbedder
    from services.config import load_config
    from services.providers import build_app

    apps = []

    def factory(name: str) -> Any:
        storage: dict[str, Any] = {"backend": name, "data_dir": str(tmp_path / "store")}
        if name == "elasticsearch":
            settings = request.getfixturevalue("es_settings")(refresh="true")
            storage["elasticsearch"] = {
                "url": settings.url,
                "index_prefix": settings.index_prefix,
                "refresh": "true",
            }
        app = build_app(load_config(overrides={"storage": storage}), CachedEmbedder(embedder))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        if hasattr(app.store, "drop"):
            app.store.drop()
        app.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", BACKENDS)
def test_rank_both_ways(app_factory, name: str) -> None:
    from matcher.trials import trial_from_ctgov

    app = app_factory(name)
    for path in sorted(SYNTHEA.glob("*.json")):
        app.ingest.push_bundle(path.read_bytes())
    for record in (OBESITY, WOMEN):
        app.trials.submit(trial_from_ctgov(json.dumps(record)))
    ranking = app.engine.rank_patients("TM-OBESITY-1", limit=10, index_date=date(2020, 1, 1))
    assert ranking.considered == 3
    assert ranking.matches[0].patient_id == CLEMENTE
    assert ranking.matches[0].verdict == Verdict.ELIGIBLE
    assert [m.verdict for m in ranking.matches[1:]] == [Verdict.INELIGIBLE] * 2
    women = app.engine.rank_patients("TM-WOMEN-1", index_date=date(2020, 1, 1))
    assert women.considered == 0 and women.matches == []
    trials = app.engine.rank_trials(CLEMENTE, index_date=date(2020, 1, 1))
    assert [m.trial_id for m in trials.matches] == ["TM-OBESITY-1"]  # sex filters the other
    assert trials.matches[0].verdict == Verdict.ELIGIBLE
