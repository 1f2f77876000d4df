"""Elasticsearch backend pieces that need no node: filter DSL, analysis text, config, tools.

The DSL is checked against hand-computed dates; the analysis text against SQLite FTS5's own
unicode61 tokenizer (read back through fts5vocab), which is the claim that makes BM25 see
the same terms in both backends. Queries against a real node are in tests/integration.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from matcher.search.base import PatientFilters, Query, TrialFilters
from matcher.search.elastic import filter_clauses
from matcher.store.elastic import (
    ElasticSettings,
    ElasticStore,
    analysis_text,
    index_definition,
    patient_filter_clauses,
    trial_filter_clauses,
)
from services.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
INDEX = date(2020, 6, 1)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (PatientFilters(INDEX), [{"bool": {"must_not": [{"term": {"deceased": True}}]}}]),
        (PatientFilters(INDEX, include_deceased=True), []),
        (
            PatientFilters(INDEX, min_age_years=50, include_deceased=True),
            [{"range": {"birth_date": {"lte": "1970-06-01"}}}],
        ),
        (
            PatientFilters(INDEX, min_age_years=18, max_age_years=65, include_deceased=True),
            [{"range": {"birth_date": {"lte": "2002-06-01", "gt": "1954-06-01"}}}],
        ),
        (
            PatientFilters(date(2024, 2, 29), min_age_years=1, include_deceased=True),
            [{"range": {"birth_date": {"lte": "2023-02-28"}}}],
        ),
        (
            PatientFilters(INDEX, genders=("female",), include_deceased=True),
            [{"terms": {"gender": ["female"]}}],
        ),
        (
            PatientFilters(INDEX, postal_prefixes=("021", "10%"), include_deceased=True),
            [
                {
                    "bool": {
                        "should": [
                            {"prefix": {"postal_code": {"value": "021", "case_insensitive": True}}},
                            {"prefix": {"postal_code": {"value": "10", "case_insensitive": True}}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            ],
        ),
    ],
)
def test_patient_filter_dsl(filters: PatientFilters, expected: list) -> None:
    assert patient_filter_clauses(filters) == expected


def test_trial_filter_dsl() -> None:
    assert trial_filter_clauses(TrialFilters()) == [{"term": {"retired": False}}]
    assert trial_filter_clauses(TrialFilters(include_retired=True, gender="other")) == []
    clauses = trial_filter_clauses(TrialFilters(age_years=30.5, gender="male"))
    assert clauses[-1] == {"terms": {"sex": ["all", "male"]}}
    low, high = clauses[1]["bool"]["should"], clauses[2]["bool"]["should"]
    assert low[0] == {"range": {"min_age": {"lte": 30.5}}}
    assert high[0] == {"range": {"max_age": {"gte": 30.5}}}
    assert low[1] == {"bool": {"must_not": [{"exists": {"field": "min_age"}}]}}  # no limit


def _fts5_terms(text: str) -> list[str]:
    """The distinct terms SQLite FTS5 (unicode61, diacritics removed) indexes for `text`."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
    return sorted(r[0] for r in conn.execute("SELECT term FROM v"))


@pytest.mark.parametrize(
    "text",
    [
        "Type 2 diabetes mellitus (disorder)",
        "Alzheimer's disease; Sjögren's syndrome",
        "HbA1c 7.5% — COVID-19, e-cigarette",
        "Body mass index (BMI) [Ratio]: 30.47 kg/m2",
        "naïve T-cell_count ÉCOG 0/1",
    ],
)
def test_analysis_text_has_the_terms_fts5_has(text: str) -> None:
    assert sorted(set(analysis_text(text).split())) == _fts5_terms(text)


def test_filter_clauses_send_ids_only_when_they_narrow_the_filters() -> None:
    store = ElasticStore(ElasticSettings(url="http://127.0.0.1:9"))  # never contacted
    filters = PatientFilters(INDEX, genders=("male",))
    answer = store._remember(filters, frozenset({"a", "b"}))
    exact = filter_clauses(store, "patients", Query("x", None, filters, answer))
    assert exact == patient_filter_clauses(filters)
    narrowed = filter_clauses(store, "patients", Query("x", None, filters, answer & {"a"}))
    assert narrowed == [*patient_filter_clauses(filters), {"ids": {"values": ["a"]}}]
    only_ids = filter_clauses(store, "patients", Query("x", allowed=frozenset({"b", "a"})))
    assert only_ids == [{"ids": {"values": ["a", "b"]}}]
    assert filter_clauses(store, "trials", Query("x", filters=TrialFilters())) == [
        {"term": {"retired": False}}
    ]


@pytest.mark.parametrize("kind", ["patients", "trials", "embeddings"])
def test_index_definitions_are_strict_and_versioned(kind: str) -> None:
    definition = index_definition(kind)
    assert definition["mappings"]["dynamic"] == "strict"
    assert definition["mappings"]["_meta"] == {"kind": kind, "version": definition["version"]}
    if kind != "embeddings":
        vector = definition["mappings"]["properties"]["vector"]
        assert (vector["dims"], vector["similarity"]) == (384, "cosine")
        assert definition["mappings"]["properties"]["text"]["type"] == "text"


def test_config_selects_elasticsearch_and_reads_yaml_booleans(tmp_path: Path) -> None:
    file = tmp_path / "tm.yaml"
    file.write_text(
        "storage:\n  backend: elasticsearch\n  elasticsearch:\n"
        "    url: http://es:9200\n    refresh: false\n    bulk_chunk_size: 100\n"
    )
    config = load_config(file)
    assert config.storage.backend == "elasticsearch"
    es = config.storage.elasticsearch
    assert (es.url, es.refresh, es.bulk_chunk_size, es.index_prefix) == (
        "http://es:9200",
        "false",
        100,
        "trialmatch",
    )
    assert ElasticSettings(**es.model_dump()).refresh == "false"
    file.write_text("storage:\n  elasticsearch:\n    urll: http://es:9200\n")
    with pytest.raises(ConfigError, match="urll"):
        load_config(file)
    file.write_text("storage:\n  elasticsearch:\n    index_prefix: Has Spaces\n")
    with pytest.raises(ConfigError, match="index_prefix"):
        load_config(file)


def _es_node():
    spec = importlib.util.spec_from_file_location("es_node_unit", ROOT / "tools" / "es_node.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_es_node_finds_a_jdk_or_says_what_is_missing(tmp_path: Path, monkeypatch) -> None:
    node = _es_node()
    fake = tmp_path / "jdk-11"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "java").write_text("")
    (fake / "release").write_text('JAVA_VERSION="11.0.2"\n')
    monkeypatch.setenv("ES_JAVA_HOME", str(fake))
    with pytest.raises(node.Missing, match="17"):
        node.find_java()
    (fake / "release").write_text('JAVA_VERSION="21.0.1"\n')
    assert node.find_java() == fake
    with pytest.raises(node.NodeError):
        node.run_dir("../escape")
    monkeypatch.setenv("TRIALMATCH_ES_CACHE", str(tmp_path / "cache"))
    assert node.running_url("nothing-here") is None
    assert node.main(["url", "--name", "nothing-here"]) == 1
