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
- The embedding cache is an index of its own (shared by every server replica), read with
  real-time multi-get.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

import numpy as np
from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from matcher.errors import BackendUnavailable, InvalidInput, NotFound
from matcher.model import PatientRecord, Trial
from matcher.search.base import PatientFilters, TrialFilters
from matcher.store.base import years_before

log = logging.getLogger("trialmatch.elastic")

KINDS = ("patients", "trials", "embeddings")
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
PAGE = 10_000  # Elasticsearch's default max result window
MAX_KNN_CANDIDATES = 10_000
Refresh = Literal["false", "wait_for", "true"]
_ALNUM = re.compile(r"[^\W_]+")
HIT_FIELDS = ["hits.hits._id", "hits.hits._score"]


@dataclass(frozen=True, slots=True)
class ElasticSettings:
    url: str = "http://127.0.0.1:9200"
    index_prefix: str = "trialmatch"
    refresh: Refresh = "false"
    request_timeout_s: float = 30.0
    max_retries: int = 2  # transport retries on connection errors and timeouts
    bulk_chunk_size: int = 500
    bulk_max_retries: int = 5  # per document rejected with 429
    bulk_initial_backoff_s: float = 0.5
    bulk_max_backoff_s: float = 10.0
    replicas: int = 0


class BulkRejected(InvalidInput):
    """Elasticsearch refused documents (mapping conflict, bad value); nothing was kept."""

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        self.failures = failures
        super().__init__(message)


class BulkUnavailable(BackendUnavailable):
    """Documents still rejected as overloaded (429) or unreachable after every retry."""

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        self.failures = failures
        super().__init__(message)


def index_definition(kind: str) -> dict[str, Any]:
    """The JSON file for one index kind (mappings/{kind}.json)."""
    text = (resources.files("matcher.store") / "mappings" / f"{kind}.json").read_text("utf-8")
    return json.loads(text)


def analysis_text(text: str) -> str:
    """The alphanumeric runs of `text`, lower-cased and folded to ASCII, space-separated.

    These are the terms SQLite FTS5's unicode61 tokenizer makes; written this way, the
    standard analyzer finds exactly the same terms, so BM25 sees the same vocabulary in
    both backends (the integ-test distribution has no word-delimiter or folding filters).
    """
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(m.group(0).lower() for m in _ALNUM.finditer(folded))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _vector(vector: np.ndarray | None) -> list[float] | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tolist()


# --- filters as query DSL (pure; the retrievers put them in `bool.filter` and `knn.filter`) --


def patient_filter_clauses(filters: PatientFilters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if not filters.include_deceased:
        clauses.append({"bool": {"must_not": [{"term": {"deceased": True}}]}})
    birth: dict[str, str] = {}
    if filters.min_age_years is not None:
        # age >= min  <=>  born on or before index_date - min years
        birth["lte"] = years_before(filters.index_date, filters.min_age_years).isoformat()
    if filters.max_age_years is not None:
        # age <= max  <=>  born after index_date - (max + 1) years
        birth["gt"] = years_before(filters.index_date, filters.max_age_years + 1).isoformat()
    if birth:
        clauses.append({"range": {"birth_date": birth}})
    if filters.genders:
        clauses.append({"terms": {"gender": list(filters.genders)}})
    if filters.postal_prefixes:
        prefixes = [
            {"prefix": {"postal_code": {"value": p.replace("%", ""), "case_insensitive": True}}}
            for p in filters.postal_prefixes
        ]
        clauses.append({"bool": {"should": prefixes, "minimum_should_match": 1}})
    return clauses


def trial_filter_clauses(filters: TrialFilters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if not filters.include_retired:
        clauses.append({"term": {"retired": False}})
    if filters.age_years is not None:
        age = filters.age_years
        for field, op in (("min_age", "lte"), ("max_age", "gte")):
            clauses.append(
                {
                    "bool": {
                        "should": [
                            {"range": {field: {op: age}}},
                            {"bool": {"must_not": [{"exists": {"field": field}}]}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
    if filters.gender in ("male", "female"):
        clauses.append({"terms": {"sex": ["all", filters.gender]}})
    return clauses


class ElasticStore:
    """The Store contract on an Elasticsearch cluster (see module docstring for the policy)."""

    def __init__(self, settings: ElasticSettings, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self._client = client or Elasticsearch(
            settings.url,
            request_timeout=settings.request_timeout_s,
            max_retries=settings.max_retries,
            retry_on_timeout=True,
        )
        self._ready = False
        self._ready_lock = threading.Lock()
        self._local = threading.local()
        self.aliases = {kind: f"{settings.index_prefix}-{kind}" for kind in KINDS}

    # --- plumbing --------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Translates 'cannot reach Elasticsearch now' into BackendUnavailable."""
        try:
            yield
        except TransportError as exc:  # connection refused/reset, timeout, TLS
            raise BackendUnavailable(
                f"Elasticsearch at {self.settings.url} is unreachable ({what}): "
                f"{type(exc).__name__}"
            ) from exc
        except ApiError as exc:
            if exc.meta.status in RETRYABLE_STATUS:
                raise BackendUnavailable(
                    f"Elasticsearch at {self.settings.url} answered {exc.meta.status} ({what})"
                ) from exc
            if isinstance(exc, NotFoundError) and _error_type(exc) == "index_not_found_exception":
                self._ready = False  # someone deleted an index: recreate on the next call
                raise BackendUnavailable(
                    f"Elasticsearch index missing ({what}); it is recreated on the next call"
                ) from exc
            raise

    def _call(self, what: str, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        self._ensure_indices()
        with self._errors(what):
            return fn(**kwargs)

    def _ensure_indices(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with self._errors("creating indices"):
                for kind in KINDS:
                    self._ensure_index(kind)
            self._ready = True

    def _ensure_index(self, kind: str) -> None:
        definition = index_definition(kind)
        alias = self.aliases[kind]
        concrete = f"{alias}-v{definition['version']}"
        existing = self._alias_targets(alias)
        if existing:
            if existing != [concrete]:
                raise BackendUnavailable(
                    f"alias {alias} points to {existing}, this version expects {concrete}; "
                    "re-ingest into the new index and move the alias"
                )
            return
        settings = {**definition["settings"], "number_of_replicas": self.settings.replicas}
        try:
            self._client.indices.create(
                index=concrete,
                settings=settings,
                mappings=definition["mappings"],
                aliases={alias: {"is_write_index": True}},
                wait_for_active_shards="1",
            )
            log.info("created index %s (alias %s)", concrete, alias)
        except ApiError as exc:
            if _error_type(exc) != "resource_already_exists_exception":  # another replica won
                raise

    def _alias_targets(self, alias: str) -> list[str]:
        found = self._client.options(ignore_status=404).indices.get_alias(name=alias)
        return [] if found.meta.status == 404 else sorted(found.body)

    def check(self) -> None:
        """Raises BackendUnavailable unless the cluster answers and the indices exist."""
        with self._errors("health"):
            health = self._client.cluster.health(timeout="5s")
        if health.get("status") == "red":
            raise BackendUnavailable(f"Elasticsearch at {self.settings.url} is red")
        self._ensure_indices()

    def refresh(self) -> None:
        """Makes every acknowledged write searchable now (tests, benchmarks)."""
        self._call("refresh", self._client.indices.refresh, index=list(self.aliases.values()))

    def drop(self) -> None:
        """Deletes this store's indices (tests): concrete names, never wildcards."""
        with self._errors("drop"):
            for alias in self.aliases.values():
                for name in self._alias_targets(alias):
                    self._client.indices.delete(index=name)
        self._ready = False

    def close(self) -> None:
        self._client.close()

    def _bulk(self, actions: list[dict[str, Any]], refresh: Refresh, what: str) -> list[dict]:
        """Sends actions; returns the failed items (after 429 retries), raises if unreachable."""
        self._ensure_indices()
        failures: list[dict[str, Any]] = []
        with self._errors(what):
            for ok, item in streaming_bulk(
                self._client,
                actions,
                chunk_size=self.settings.bulk_chunk_size,
                max_retries=self.settings.bulk_max_retries,
                initial_backoff=self.settings.bulk_initial_backoff_s,
                max_backoff=self.settings.bulk_max_backoff_s,
                retry_on_status=(429,),
                raise_on_error=False,
                yield_ok=False,
                refresh=refresh,
            ):
                if not ok:
                    op, info = next(iter(item.items()))
                    failures.append({"op": op, **info})
        return failures

    def _raise_failures(self, failures: list[dict[str, Any]], total: int, what: str) -> None:
        described = "; ".join(
            f"{f.get('_id')}: {f.get('status')} {(f.get('error') or {}).get('type', '')}"
            for f in failures[:10]
        )
        message = f"{len(failures)} of {total} {what} not stored ({described})"
        log.warning("bulk %s", message)
        if any(f.get("status") in RETRYABLE_STATUS for f in failures):
            raise BulkUnavailable(message, failures)
        raise BulkRejected(message, failures)

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
        except BackendUnavailable:
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
            page = [h["sort"][0] for h in found.get("hits", {}).get("hits", [])]
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
        return [(h["_id"], float(h["_score"])) for h in _hits(found)]

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
        return [(h["_id"], 2.0 * float(h["_score"]) - 1.0) for h in _hits(found)]

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


def _hits(found: Any) -> list[dict[str, Any]]:
    """Hits of a response trimmed by filter_path (which drops `hits` when there are none)."""
    return found.get("hits", {}).get("hits", [])


def _error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error.get("type", "") if isinstance(error, dict) else ""
