"""Elasticsearch plumbing shared by the store: settings, indices, error translation, bulk.

- Index definitions are JSON files (mappings/), created explicitly under versioned names
  behind aliases, lazily on first use, so a server can start while the node is down.
- Every client error that means "cannot reach it now" (connection refused or reset,
  timeouts, 429/502/503/504 after retries) becomes BackendUnavailable, which servicers map
  to UNAVAILABLE; anything else is a bug and surfaces as INTERNAL.
- Bulk writes use `helpers.streaming_bulk`: 429 rejections retried with exponential backoff,
  every failed item collected and raised (BulkRejected / BulkUnavailable), never dropped.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch, NotFoundError
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.helpers import streaming_bulk

from matcher.errors import BackendUnavailable, InvalidInput

log = logging.getLogger("trialmatch.elastic")

KINDS = ("patients", "trials", "embeddings")
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
Refresh = Literal["false", "wait_for", "true"]


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


class ElasticIndices:
    """A client, this deployment's index aliases, and the error and bulk policy around them."""

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
        self.aliases = {kind: f"{settings.index_prefix}-{kind}" for kind in KINDS}
        # what messages name: the URL without any user:password@ part
        parts = urlsplit(settings.url)
        self.where = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Translates 'cannot reach Elasticsearch now' into BackendUnavailable."""
        try:
            yield
        except (EsConnectionError, ConnectionTimeout) as exc:  # refused, reset, timeout, TLS
            raise BackendUnavailable(
                f"Elasticsearch at {self.where} is unreachable ({what}): {type(exc).__name__}"
            ) from exc
        except ApiError as exc:
            if exc.meta.status in RETRYABLE_STATUS:
                raise BackendUnavailable(
                    f"Elasticsearch at {self.where} answered {exc.meta.status} ({what})"
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
            # short and without retries: health must answer fast even when the node does not
            timeout = min(self.settings.request_timeout_s, 5.0)
            health = self._client.options(request_timeout=timeout, max_retries=0).cluster.health()
        if health.get("status") == "red":
            raise BackendUnavailable(f"Elasticsearch at {self.where} is red")
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


def _error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error.get("type", "") if isinstance(error, dict) else ""
