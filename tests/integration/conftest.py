"""Elasticsearch integration fixtures: one real node per test session, unique index prefixes.

The node comes from tools/es_node.py, the script behind `make es-up`: $TRIALMATCH_ES_URL if
set (CI starts the node in .ci/run), else the running default node, else one started here
and stopped at the end (unless TRIALMATCH_ES_KEEP=1). Without a JDK 17+ and Maven (and
nothing cached) the Elasticsearch tests skip with that reason locally; with CI=true a skip
of any test marked `elasticsearch` is turned into a failure, so CI can never pass without
them.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


_LOADING = threading.Lock()


def load_module(path: Path, name: str) -> ModuleType:
    """Imports a file that is not on a package path (tools/, sibling test modules).

    Under a lock: the fault node starts in a thread at collection, and a second caller must not
    see the module in sys.modules before it has finished executing."""
    with _LOADING:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module


def es_node() -> ModuleType:
    return load_module(ROOT / "tools" / "es_node.py", "trialmatch_es_node")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and item.get_closest_marker("elasticsearch") is not None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI=true: Elasticsearch tests must run, not skip ({reason})"


_FAULT_NODE: dict[str, Any] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "es_url" in names or "fault_node" in names:
            item.add_marker(pytest.mark.elasticsearch)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if any("fault_node" in getattr(item, "fixturenames", ()) for item in session.items):
        # The fault tests stop a node of their own; it boots while the other tests run.
        name = f"fault-{os.getpid()}"
        thread = threading.Thread(target=_start_fault_node, args=(name,), daemon=True)
        _FAULT_NODE.update(name=name, thread=thread)
        thread.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stops the fault node even if no test reached its fixture (-x, -k, interrupted)."""
    if _FAULT_NODE:
        _FAULT_NODE["thread"].join()
        es_node().down(_FAULT_NODE["name"])


def _start_fault_node(name: str) -> None:
    node = es_node()
    try:
        _FAULT_NODE["url"] = node.up(name, heap="256m")[0]
    except Exception as exc:  # reported by the fixture, in the test that needs it
        _FAULT_NODE["error"] = exc


@dataclass(frozen=True)
class FaultNode:
    url: str
    stop: Callable[[], bool]  # SIGTERM, wait, delete its data: the node is gone


@pytest.fixture(scope="session")
def fault_node() -> Iterator[FaultNode]:
    """A second node, only for tests that stop it; deleted at the end of the session."""
    if not _FAULT_NODE:
        pytest.fail("the fault node was not started at collection")
    node = es_node()
    _FAULT_NODE["thread"].join()
    name = _FAULT_NODE["name"]
    try:
        error = _FAULT_NODE.get("error")
        if isinstance(error, node.Missing):
            pytest.skip(f"no Elasticsearch: {error}")
        if error is not None:
            raise error
        yield FaultNode(_FAULT_NODE["url"], lambda: node.down(name))
    finally:
        node.down(name)


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    url = os.environ.get("TRIALMATCH_ES_URL")
    if url:
        yield url.rstrip("/")
        return
    node = es_node()
    try:
        url, started = node.up("default")
    except node.Missing as exc:
        pytest.skip(f"no Elasticsearch: {exc} (install a JDK 17+ and Maven, or make es-up)")
    yield url
    if started and os.environ.get("TRIALMATCH_ES_KEEP") != "1":
        node.down("default")


@pytest.fixture(scope="session")
def es_prefix(es_url: str) -> Iterator[str]:
    """A prefix no other session uses; every index it names is deleted at the end."""
    prefix = f"tmtest-{os.getpid()}-{secrets.token_hex(3)}"
    yield prefix
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url)
    found = client.options(ignore_status=404).indices.get(index=f"{prefix}-*")
    for name in found.body if found.meta.status == 200 else {}:
        client.indices.delete(index=name)
    client.close()


@pytest.fixture(scope="session")
def es_settings(es_url: str, es_prefix: str) -> Callable[..., Any]:
    """ElasticSettings on a fresh index prefix for each call (each store starts empty)."""
    from matcher.store.elastic import ElasticSettings

    def factory(**overrides: Any) -> ElasticSettings:
        values: dict[str, Any] = {
            "url": es_url,
            "index_prefix": f"{es_prefix}-{next(_STORES)}",
            "refresh": "wait_for",
        }
        values.update(overrides)
        return ElasticSettings(**values)

    return factory


_STORES = itertools.count()


@pytest.fixture()
def es_store(es_settings) -> Iterator[Any]:
    from matcher.store.elastic import ElasticStore

    store = ElasticStore(es_settings())
    yield store
    store.drop()
    store.close()
