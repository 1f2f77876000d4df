"""Elasticsearch backend: one document per patient and per trial, BM25 text and dense vectors.

Why it is built this way:
- Index definitions are JSON files (mappings/), created explicitly under versioned names
  behind aliases; `dynamic: strict` turns any undeclared field into an error.
- Writes go through `helpers.streaming_bulk` with the patient/trial id as `_id` (a re-push
  replaces), 429 rejections retried with exponential backoff, and every failed item collected
  and raised, never dropped. Elasticsearch has no multi-document transactions, so a batch
  that fails part-way is compensated: the documents it had replaced are written back and the
  new ones deleted, which gives the embedded backend's "all or nothing" per bundle.
- Refresh policy: the call returns only after Elasticsearch acknowledged every document
  (durable in its translog). Patient writes use the configured `refresh` ("false" by
  default: searchable within the index refresh interval of 1 s, readable by id at once,
  since gets are real-time; "wait_for" makes each write visible to search before it
  returns, at the cost of up to a refresh interval per request). Trial writes always refresh
  ("true"): they are rare, and a sponsor expects ListTrials to show a trial just submitted.
- Every client error that means "cannot reach it now" (connection refused or reset,
  timeouts, 429/502/503/504 after retries) becomes BackendUnavailable; servicers map it
  to UNAVAILABLE. Index creation is lazy, so a server can start while the node is down.
  That plumbing is in elastic_client.py; the pure query pieces are in elastic_query.py.
- The embedding cache is an index of its own (shared by every server replica), read with
  real-time multi-get.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError

from matcher.errors import BackendUnavailable, NotFound
from matcher.model import PatientRecord, Trial
from matcher.search.base import PatientFilters, TrialFilters
from matcher.store.elastic_client import (
    BulkRejected,
    BulkUnavailable,
    ElasticIndices,
    ElasticSettings,
    index_definition,
    log,
)
from matcher.store.elastic_query import (
    HIT_FIELDS,
    analysis_text,
    hits_of,
    patient_filter_clauses,
    trial_filter_clauses,
)

__all__ = [
    "BulkRejected",
    "BulkUnavailable",
    "ElasticSettings",
    "ElasticStore",
    "analysis_text",
    "index_definition",
    "patient_filter_clauses",
    "trial_filter_clauses",
]

PAGE = 10_000  # Elasticsearch's default max result window
MAX_KNN_CANDIDATES = 10_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _vector(vector: np.ndarray | None) -> list[float] | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tolist()


class ElasticStore(ElasticIndices):
    """The Store contract on an Elasticsearch cluster (see module docstring for the policy)."""

    def __init__(self, settings: ElasticSettings, client: Elasticsearch | None = None) -> None:
        super().__init__(settings, client)
        self._local = threading.local()  # per-thread last filter answer, see is_filter_result

    # --- patients --------------------------------------------------------------------

    def upsert_patients(
        self, records: list[PatientRecord], texts: list[str], vectors: list[np.ndarray | None]
    ) -> None:
        """Bulk-indexes the batch; on any failure, restores what the batch replaced."""
        rows = list(zip(records, texts, vectors, strict=True))
        if not rows:
            return
        index = self.aliases["patients"]
        ids = [record.patient_id for record in records]
        # One document is atomic by itself; several need their previous state to undo.
        previous = self._sources("patients", ids) if len(set(ids)) > 1 else None
        actions = [
            {"_op_type": "index", "_index": index, "_id": record.patient_id, "_source": source}
            for record, text, vector in rows
            for source in [self._patient_source(record, text, vector)]
        ]
        try:
            failures = self._bulk(actions, self.settings.refresh, "patient upsert")
        except BackendUnavailable:
            if previous is not None:
                self._undo("patients", previous, ids)
            raise
        if failures:
            if previous is not None:
                self._undo("patients", previous, ids)
            self._raise_failures(failures, len(actions), "patients")

    @staticmethod
    def _patient_source(record: PatientRecord, text: str, vector: np.ndarray | None) -> dict:
        source = {
            "patient_id": record.patient_id,
            "birth_date": record.birth_date.isoformat() if record.birth_date else None,
            "gender": record.gender,
            "postal_code": record.postal_code,
            "deceased": bool(record.deceased),
            "text": analysis_text(text),
            "doc": record.to_dict(),
            "updated_at": _now(),
        }
        if vector is not None:
            source["vector"] = _vector(vector)
        return source

    def _sources(self, kind: str, ids: list[str]) -> dict[str, dict | None]:
        """Real-time multi-get of whole `_source`s; None for ids not stored."""
        found = self._call("read", self._client.mget, index=self.aliases[kind], ids=ids)
        return {d["_id"]: (d["_source"] if d.get("found") else None) for d in found["docs"]}

    def _undo(self, kind: str, previous: dict[str, dict | None], ids: list[str]) -> None:
        """Best-effort compensation: puts back replaced documents, deletes new ones."""
        index = self.aliases[kind]
        actions: list[dict[str, Any]] = []
        for doc_id in dict.fromkeys(ids):
            source = previous.get(doc_id)
            if source is None:
                actions.append({"_op_type": "delete", "_index": index, "_id": doc_id})
            else:
                actions.append(
                    {"_op_type": "index", "_index": index, "_id": doc_id, "_source": source}
                )
        try:
            left = [
                f
                for f in self._bulk(actions, self.settings.refresh, "undo")
                if not (f["op"] == "delete" and f.get("status") == 404)
            ]
        except (BackendUnavailable, ApiError):
            left = actions
        if left:
            log.error("could not undo %d of %d writes of a failed batch", len(left), len(actions))

    def get_patient(self, patient_id: str) -> PatientRecord:
        return PatientRecord.from_dict(self._get("patients", patient_id, "patient")["doc"])

    def get_patients(self, patient_ids: Iterable[str]) -> dict[str, PatientRecord]:
        ids = list(dict.fromkeys(patient_ids))
        if not ids:
            return {}
        docs = self._docs("patients", ids)
        return {pid: PatientRecord.from_dict(doc) for pid, doc in docs.items()}

    def _get(self, kind: str, doc_id: str, what: str) -> dict:
        try:
            found = self._call("read", self._client.get, index=self.aliases[kind], id=doc_id)
        except NotFoundError as exc:
            raise NotFound(f"{what} {doc_id!r} not found") from exc
        return found["_source"]

    def _docs(self, kind: str, ids: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for start in range(0, len(ids), 1000):
            found = self._call(
                "read",
                self._client.mget,
                index=self.aliases[kind],
                ids=ids[start : start + 1000],
                source_includes=["doc"],
            )
            out.update({d["_id"]: d["_source"]["doc"] for d in found["docs"] if d.get("found")})
        return out

    def delete_patient(self, patient_id: str) -> None:
        try:
            self._call(
                "delete",
                self._client.delete,
                index=self.aliases["patients"],
                id=patient_id,
                refresh=self.settings.refresh,
            )
        except NotFoundError as exc:
            raise NotFound(f"patient {patient_id!r} not found") from exc

    def count_patients(self) -> int:
        return int(self._call("count", self._client.count, index=self.aliases["patients"])["count"])

    def filter_patients(self, filters: PatientFilters) -> frozenset[str]:
        return self._remember(
            filters, self._ids("patients", "patient_id", patient_filter_clauses(filters))
        )

    def _remember(
        self, filters: PatientFilters | TrialFilters, ids: frozenset[str]
    ) -> frozenset[str]:
        self._local.filtered = (filters, ids)
        return ids

    def is_filter_result(self, filters: PatientFilters | TrialFilters, ids: frozenset[str]) -> bool:
        """True if `ids` is this thread's last filter answer, unchanged, for `filters`.

        Lets a retriever search with the filters alone instead of shipping the id set.
        """
        last = getattr(self._local, "filtered", None)
        return last is not None and last[1] is ids and last[0] == filters

    def _ids(self, kind: str, key: str, clauses: list[dict[str, Any]]) -> frozenset[str]:
        """Every id matching the filter, paged with search_after on the id keyword.

        The id is read from the sort value (doc values) with stored fields and `_source`
        off and the response trimmed to it: ~10x less work than fetching `_id`s.
        """
        ids: list[str] = []
        after: list[Any] | None = None
        while True:
            extra = {"search_after": after} if after else {}
            found = self._call(
                "filter",
                self._client.search,
                index=self.aliases[kind],
                query={"bool": {"filter": clauses}},
                sort=[{key: "asc"}],
                size=PAGE,
                source=False,
                stored_fields="_none_",
                track_total_hits=False,
                filter_path=["hits.hits.sort"],
                **extra,
            )
            page = [h["sort"][0] for h in hits_of(found)]
            ids.extend(page)
            if len(page) < PAGE:
                return frozenset(ids)
            after = [page[-1]]

    # --- trials ----------------------------------------------------------------------

    def upsert_trial(self, trial: Trial, text: str, vector: np.ndarray | None) -> Trial:
        """Next version of the trial, with optimistic concurrency on the stored one."""
        index = self.aliases["trials"]
        for _attempt in range(5):
            found = self._call(
                "read",
                self._client.options(ignore_status=404).get,
                index=index,
                id=trial.trial_id,
                source_includes=["version"],
            )
            exists = bool(found.get("found"))
            trial.version = int(found["_source"]["version"]) + 1 if exists else 1
            guard: dict[str, Any] = (
                {"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}
                if exists
                else {"op_type": "create"}
            )
            try:
                self._call(
                    "trial upsert",
                    self._client.index,
                    index=index,
                    id=trial.trial_id,
                    document=self._trial_source(trial, text, vector),
                    refresh="true",
                    **guard,
                )
                return trial
            except ConflictError:
                continue  # amended concurrently: read the new version and try again
        raise BackendUnavailable(f"trial {trial.trial_id!r} is being amended concurrently")

    @staticmethod
    def _trial_source(trial: Trial, text: str, vector: np.ndarray | None) -> dict:
        source = {
            "trial_id": trial.trial_id,
            "version": trial.version,
            "retired": bool(trial.retired),
            "min_age": trial.min_age_years,
            "max_age": trial.max_age_years,
            "sex": trial.sex.value,
            "text": analysis_text(text),
            "doc": trial.to_dict(),
            "updated_at": _now(),
        }
        if vector is not None:
            source["vector"] = _vector(vector)
        return source

    def get_trial(self, trial_id: str) -> Trial:
        return Trial.from_dict(self._get("trials", trial_id, "trial")["doc"])

    def get_trials(self, trial_ids: Iterable[str]) -> dict[str, Trial]:
        ids = list(dict.fromkeys(trial_ids))
        if not ids:
            return {}
        return {tid: Trial.from_dict(doc) for tid, doc in self._docs("trials", ids).items()}

    def list_trials(self, include_retired: bool = False, limit: int = 100) -> list[Trial]:
        clauses = [] if include_retired else [{"term": {"retired": False}}]
        found = self._call(
            "list",
            self._client.search,
            index=self.aliases["trials"],
            query={"bool": {"filter": clauses}},
            sort=[{"updated_at": "desc"}, {"trial_id": "asc"}],
            size=min(limit, PAGE),
            source_includes=["doc"],
        )
        return [Trial.from_dict(h["_source"]["doc"]) for h in found["hits"]["hits"]]

    def retire_trial(self, trial_id: str) -> Trial:
        index = self.aliases["trials"]
        for _attempt in range(5):
            try:
                found = self._call("read", self._client.get, index=index, id=trial_id)
            except NotFoundError as exc:
                raise NotFound(f"trial {trial_id!r} not found") from exc
            trial = Trial.from_dict(found["_source"]["doc"])
            trial.retired = True
            try:
                self._call(
                    "retire",
                    self._client.update,
                    index=index,
                    id=trial_id,
                    doc={"retired": True, "doc": trial.to_dict(), "updated_at": _now()},
                    if_seq_no=found["_seq_no"],
                    if_primary_term=found["_primary_term"],
                    refresh="true",
                )
                return trial
            except ConflictError:
                continue
        raise BackendUnavailable(f"trial {trial_id!r} is being amended concurrently")

    def filter_trials(self, filters: TrialFilters) -> frozenset[str]:
        return self._remember(
            filters, self._ids("trials", "trial_id", trial_filter_clauses(filters))
        )

    # --- search primitives (used by matcher.search.elastic) ----------------------------

    def bm25(
        self, kind: str, terms: list[str], clauses: list[dict[str, Any]], k: int
    ) -> list[tuple[str, float]]:
        """BM25 over `text` for any of `terms`, restricted by filter clauses."""
        if kind not in ("patients", "trials"):
            raise ValueError(f"unknown index kind {kind!r}")
        found = self._call(
            "bm25",
            self._client.search,
            index=self.aliases[kind],
            query={
                "bool": {
                    "must": [{"match": {"text": {"query": " ".join(terms), "operator": "or"}}}],
                    "filter": clauses,
                }
            },
            size=min(k, PAGE),
            source=False,
            track_total_hits=False,
            filter_path=HIT_FIELDS,
        )
        return [(h["_id"], float(h["_score"])) for h in hits_of(found)]

    def knn(
        self, kind: str, vector: np.ndarray, clauses: list[dict[str, Any]], k: int
    ) -> list[tuple[str, float]]:
        """Approximate kNN on `vector`, filtered inside the graph search; cosine scores."""
        if kind not in ("patients", "trials"):
            raise ValueError(f"unknown index kind {kind!r}")
        k = min(k, MAX_KNN_CANDIDATES)
        knn: dict[str, Any] = {
            "field": "vector",
            "query_vector": _vector(vector),
            "k": k,
            "num_candidates": min(MAX_KNN_CANDIDATES, max(2 * k, 100)),
        }
        if clauses:
            knn["filter"] = clauses
        found = self._call(
            "knn",
            self._client.search,
            index=self.aliases[kind],
            knn=knn,
            size=k,
            source=False,
            track_total_hits=False,
            filter_path=HIT_FIELDS,
        )
        # Elasticsearch scores cosine as (1 + cos) / 2; hits carry the cosine itself.
        return [(h["_id"], 2.0 * float(h["_score"]) - 1.0) for h in hits_of(found)]

    # --- embedding cache -------------------------------------------------------------

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        found = self._call(
            "cache read", self._client.mget, index=self.aliases["embeddings"], ids=keys
        )
        return {
            d["_id"]: np.frombuffer(base64.b64decode(d["_source"]["vector"]), dtype=np.float32)
            for d in found["docs"]
            if d.get("found")
        }

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None:
        """Adds vectors never cached before; a failed cache write is logged, not fatal."""
        if not items:
            return
        index = self.aliases["embeddings"]
        actions = [
            {
                "_op_type": "create",
                "_index": index,
                "_id": key,
                "_source": {
                    "vector": base64.b64encode(
                        np.asarray(vector, dtype=np.float32).tobytes()
                    ).decode("ascii")
                },
            }
            for key, vector in items.items()
        ]
        failures = [
            f for f in self._bulk(actions, "false", "cache write") if f.get("status") != 409
        ]
        if failures:
            log.warning("%d of %d embedding cache writes failed", len(failures), len(actions))
