"""The gRPC end-to-end suite (tests/e2e/test_grpc_e2e.py) again, on the Elasticsearch backend.

The test functions are imported unchanged; only `make_app` differs: every app this module
builds stores in Elasticsearch (refresh "wait_for", so a search right after a write sees
it, as those tests expect of the embedded store). Ranking with evidence, updates, deletes,
rejected bundles, streams and the trial lifecycle thus have one definition for both
backends (ranking both ways and the hard filters run for both backends in
test_store_contract.py::test_rank_both_ways, so they are not repeated here).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _e2e_module() -> Any:
    name = "trialmatch_e2e_grpc_suite"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "e2e" / "test_grpc_e2e.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


_E2E = _e2e_module()
client = _E2E.client
loaded = _E2E.loaded
test_rank_patients_orders_by_verdict_and_explains = (
    _E2E.test_rank_patients_orders_by_verdict_and_explains
)
test_push_twice_updates_and_delete_really_deletes = (
    _E2E.test_push_twice_updates_and_delete_really_deletes
)
test_rejected_bundle_stores_nothing = _E2E.test_rejected_bundle_stores_nothing
test_stream_acks_each_bundle_and_survives_errors = (
    _E2E.test_stream_acks_each_bundle_and_survives_errors
)
test_trial_lifecycle_versions_and_retire = _E2E.test_trial_lifecycle_versions_and_retire

pytestmark = [pytest.mark.slow, pytest.mark.elasticsearch]


@pytest.fixture()
def make_app(es_settings, embedder) -> Iterator[Callable[..., Any]]:
    """Like the root conftest's make_app, with storage.backend = elasticsearch."""
    from matcher.embeddings import CachedEmbedder
    from services.config import load_config
    from services.providers import build_app

    apps = []

    def factory(**overrides: Any):
        settings = es_settings()
        storage = overrides.setdefault("storage", {})
        storage["backend"] = "elasticsearch"
        storage["elasticsearch"] = {
            "url": settings.url,
            "index_prefix": settings.index_prefix,
            "refresh": "wait_for",
            **storage.get("elasticsearch", {}),
        }
        app = build_app(load_config(overrides=overrides), embedder=CachedEmbedder(embedder))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.store.drop()
        app.close()


def test_health_is_serving_when_elasticsearch_answers(make_server) -> None:
    running, channel = make_server()
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "trialmatch.v1.Matcher", "trialmatch.v1.PatientIngest"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert running.watch is not None and running.watch.probe()
