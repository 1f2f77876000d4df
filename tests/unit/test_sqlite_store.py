"""Embedded store: atomic upserts, filters at the index date, BM25 and vector retrieval."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.errors import NotFound
from matcher.model import Fact, FactKind, PatientRecord, Sex, Trial
from matcher.search.base import PatientFilters, Query, TrialFilters
from matcher.search.embedded import NumpyVectorRetriever, SqliteBm25Retriever, fts_query
from matcher.store.sqlite import SqliteStore


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


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture()
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "db.sqlite3")
    yield s
    s.close()


@pytest.fixture()
def people(store: SqliteStore) -> SqliteStore:
    rows = [
        (record("born-1970-06-01", "1970-06-01"), "type 2 diabetes hypertension", unit(1, 0)),
        (record("born-1970-06-02", "1970-06-02", "male"), "asthma", unit(0, 1)),
        (record("born-2010", "2010-01-01"), "asthma otitis media", unit(0.7, 0.7)),
        (record("dead", "1950-01-01", deceased=True), "diabetes", unit(1, 0.1)),
        (record("boston", "1980-01-01", postal="02110"), "obesity", unit(0.2, 1)),
    ]
    store.upsert_patients([r for r, _, _ in rows], [t for _, t, _ in rows], [v for _, _, v in rows])
    return store


INDEX = date(2020, 6, 1)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # 50th birthday exactly on the index date counts; one day later does not
        (PatientFilters(INDEX, min_age_years=50), {"born-1970-06-01"}),
        (PatientFilters(INDEX, max_age_years=49), {"born-1970-06-02", "born-2010", "boston"}),
        (
            PatientFilters(INDEX, min_age_years=18, max_age_years=50),
            {"born-1970-06-01", "born-1970-06-02", "boston"},
        ),
        (PatientFilters(INDEX, genders=("male",)), {"born-1970-06-02"}),
        (PatientFilters(INDEX, postal_prefixes=("021",)), {"boston"}),
        (PatientFilters(INDEX, include_deceased=True, min_age_years=60), {"dead"}),
    ],
)
def test_patient_filters(people: SqliteStore, filters: PatientFilters, expected: set[str]) -> None:
    assert people.filter_patients(filters) == expected


def test_bm25_ranks_and_respects_filters(people: SqliteStore) -> None:
    bm25 = SqliteBm25Retriever(people, "patients")
    hits = bm25.search(Query("asthma"), 10)
    assert {h.id for h in hits} == {"born-1970-06-02", "born-2010"}
    adults = bm25.search(Query("asthma", filters=PatientFilters(INDEX, min_age_years=18)), 10)
    assert [h.id for h in adults] == ["born-1970-06-02"]
    assert bm25.search(Query("the of and"), 10) == []  # stopwords only: no query, no error
    assert bm25.search(Query('"; DROP TABLE patients; --'), 10) == []  # quoted, not parsed


def test_vector_retriever_orders_by_cosine_and_sees_writes(people: SqliteStore) -> None:
    vectors = NumpyVectorRetriever(people, "patients")
    hits = vectors.search(Query(vector=unit(1, 0), filters=PatientFilters(INDEX)), 2)
    assert [h.id for h in hits] == ["born-1970-06-01", "born-2010"]  # the deceased is filtered
    assert hits[0].score == pytest.approx(1.0)
    people.upsert_patients([record("new", "1990-01-01")], ["x"], [unit(1, 0.01)])
    hits = vectors.search(Query(vector=unit(1, 0.01)), 1)
    assert hits[0].id == "new"  # the cached matrix was refreshed by the write


def test_upsert_replaces_and_a_failed_batch_stores_nothing(people: SqliteStore) -> None:
    people.upsert_patients([record("boston", "1980-01-01")], ["renamed"], [None])
    assert people.count_patients() == 5
    assert SqliteBm25Retriever(people, "patients").search(Query("obesity"), 5) == []
    with pytest.raises(ValueError):  # texts and records of different lengths: nothing written
        people.upsert_patients(
            [record("a", "1990-01-01"), record("b", "1990-01-01")], ["t"], [None, None]
        )
    with pytest.raises(NotFound):
        people.get_patient("a")
    assert people.count_patients() == 5


def test_delete(people: SqliteStore) -> None:
    people.delete_patient("boston")
    with pytest.raises(NotFound):
        people.get_patient("boston")
    assert SqliteBm25Retriever(people, "patients").search(Query("obesity"), 5) == []
    with pytest.raises(NotFound):
        people.delete_patient("boston")


def test_trials_versions_filters_and_retire(store: SqliteStore) -> None:
    store.upsert_trial(Trial("T1", min_age_years=18, max_age_years=65), "diabetes", None)
    store.upsert_trial(Trial("T2", sex=Sex.FEMALE), "pregnancy", None)
    assert store.upsert_trial(Trial("T1", min_age_years=18), "diabetes", None).version == 2
    assert store.filter_trials(TrialFilters(age_years=70, gender="male")) == {"T1"}
    assert store.filter_trials(TrialFilters(age_years=30, gender="female")) == {"T1", "T2"}
    store.retire_trial("T1")
    assert store.filter_trials(TrialFilters(age_years=30, gender="female")) == {"T2"}
    assert store.get_trial("T1").retired
    assert [t.trial_id for t in store.list_trials()] == ["T2"]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Type 2 diabetes", '"type" OR "diabetes"'),
        ("HbA1c > 7%", '"hba1c"'),
        ('quote " and paren (x)', '"quote" OR "paren"'),
    ],
)
def test_fts_query(text: str, query: str) -> None:
    assert fts_query(text) == query


def test_same_data_in_memory() -> None:
    s = SqliteStore(":memory:")
    s.upsert_patients([record("m", "1990-01-01")], ["memory"], [None])
    assert s.get_patient("m").patient_id == "m"
