"""Faults of the Elasticsearch backend, each against a real node (or a real closed port).

- unreachable at start: `trialmatch serve --backend elasticsearch --es-url <closed port>`
  reports health NOT_SERVING with a clear log line, and calls answer UNAVAILABLE;
- a node stopped in the middle of a bundle stream: the next acks say UNAVAILABLE, the stream
  itself goes on, health turns NOT_SERVING (a second node, so the others are untouched);
- a bulk batch with one document the mapping refuses: reported by id, and the batch is
  rolled back (replaced documents restored, new ones removed);
- 429 rejections (a real read-only-allow-delete block): retried with backoff until the
  block lifts; still rejected after every retry -> UNAVAILABLE with the count.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from matcher.errors import BackendUnavailable, InvalidInput, NotFound
from matcher.model import Fact, FactKind, PatientRecord
from matcher.store.elastic import BulkRejected, BulkUnavailable, ElasticStore
from services.errors import status_for
from trialmatch.v1 import ingest_pb2, ingest_pb2_grpc, matcher_pb2, matcher_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT / "tests" / "fixtures" / "synthea"
MATCHER = "trialmatch.v1.Matcher"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def record(pid: str, text: str = "") -> PatientRecord:
    return PatientRecord(
        pid,
        date(1980, 1, 1),
        "female",
        facts=[Fact(FactKind.CONDITION, text or f"condition of {pid}", f"Condition/{pid}")],
    )


def unit(dim: int = 384) -> np.ndarray:
    v = np.ones(dim, dtype=np.float32)
    return v / np.linalg.norm(v)


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.strip())
    lines.put(None)


# --- unreachable at start (no node needed: a closed port) ---------------------------------


def test_serve_with_elasticsearch_unreachable_is_not_serving(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRIALMATCH_CONFIG"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    es_url = f"http://127.0.0.1:{free_port()}"
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "services.cli", "serve", "--address", "127.0.0.1:0",
                "--services", "ingest,matcher", "--backend", "elasticsearch", "--es-url", es_url,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )  # fmt: skip
        try:
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
            port = None
            while port is None:
                line = lines.get(timeout=90)
                if line is None:
                    pytest.fail(f"serve exited early; stderr:\n{stderr_path.read_text()}")
                if line.startswith("trialmatch listening on port "):
                    port = int(line.rsplit(" ", 1)[1])
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                health = health_pb2_grpc.HealthStub(channel)
                for service in ("", MATCHER):
                    reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
                with pytest.raises(grpc.RpcError) as err:
                    ingest_pb2_grpc.PatientIngestStub(channel).GetPatient(
                        ingest_pb2.GetPatientRequest(patient_id="p1"), timeout=30
                    )
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                assert es_url in err.value.details()
                with pytest.raises(grpc.RpcError) as err:
                    matcher_pb2_grpc.MatcherStub(channel).RankTrials(
                        matcher_pb2.RankTrialsRequest(patient_id="p1"), timeout=30
                    )
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    log = stderr_path.read_text()
    assert "backend unavailable, health NOT_SERVING" in log
    assert es_url in log


# --- a node stopped in the middle of a stream (a node of its own) --------------------------


@pytest.mark.slow
def test_node_stopped_mid_stream(fault_node, make_server, es_prefix: str) -> None:
    _, channel = make_server(
        server={"health_interval_s": 0.2},
        storage={
            "backend": "elasticsearch",
            "elasticsearch": {
                "url": fault_node.url,
                "index_prefix": f"{es_prefix}-fault",
                "refresh": "wait_for",
                "max_retries": 1,
            },
        },
    )
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(service=MATCHER)).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    paths = sorted(SYNTHEA.glob("*.json"))
    requests: queue.Queue[ingest_pb2.PushBundleRequest | None] = queue.Queue()

    def feed() -> Iterator[ingest_pb2.PushBundleRequest]:
        while (item := requests.get()) is not None:
            yield item

    acks = ingest_pb2_grpc.PatientIngestStub(channel).StreamBundles(feed())
    requests.put(ingest_pb2.PushBundleRequest(bundle_json=paths[0].read_bytes(), label="a"))
    first = next(acks)
    assert first.label == "a" and first.result.patient_ids and not first.error_code

    assert fault_node.stop()  # SIGTERM: the node shuts down and is gone
    for label, path in (("b", paths[1]), ("c", paths[2])):
        requests.put(ingest_pb2.PushBundleRequest(bundle_json=path.read_bytes(), label=label))
        ack = next(acks)
        assert (ack.label, ack.error_code) == (label, "UNAVAILABLE")
        assert "Elasticsearch" in ack.error_message
    requests.put(None)
    assert list(acks) == []  # the stream ended normally, after every bundle was acked
    with pytest.raises(grpc.RpcError) as err:
        matcher_pb2_grpc.MatcherStub(channel).RankTrials(
            matcher_pb2.RankTrialsRequest(patient_id=first.result.patient_ids[0])
        )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        status = health.Check(health_pb2.HealthCheckRequest(service=MATCHER)).status
        if status == health_pb2.HealthCheckResponse.NOT_SERVING:
            break
        time.sleep(0.1)
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING


# --- bulk failures on the shared node ---------------------------------------------------


def test_bulk_partial_failure_is_reported_and_rolled_back(es_store: ElasticStore) -> None:
    es_store.upsert_patients([record("a")], ["old text"], [unit()])
    batch = [record("a"), record("b"), record("c")]
    # "b" carries a 3-dimensional vector: the mapping (384) refuses that one document.
    with pytest.raises(BulkRejected) as err:
        es_store.upsert_patients(batch, ["new text", "bad", "new text"], [unit(), unit(3), unit()])
    assert isinstance(err.value, InvalidInput)
    assert [(f["_id"], f["status"]) for f in err.value.failures] == [("b", 400)]
    assert "1 of 3 patients not stored" in str(err.value) and "b: 400" in str(err.value)
    assert es_store.get_patient("a").to_dict() == record("a").to_dict()
    for missing in ("b", "c"):
        with pytest.raises(NotFound):
            es_store.get_patient(missing)
    assert es_store.bm25("patients", ["new"], [], 10) == []
    assert [i for i, _ in es_store.bm25("patients", ["old"], [], 10)] == ["a"]
    with pytest.raises(BulkRejected):  # one document alone: nothing to undo, nothing stored
        es_store.upsert_patients([record("d")], ["x"], [unit(5)])
    with pytest.raises(NotFound):
        es_store.get_patient("d")


def _block(store: ElasticStore, blocked: bool) -> None:
    """A real 429: the flood-stage disk block Elasticsearch answers TOO_MANY_REQUESTS to."""
    store._client.indices.put_settings(
        index=store.aliases["patients"],
        settings={"index.blocks.read_only_allow_delete": True if blocked else None},
    )


def test_429_is_retried_with_backoff_until_accepted(es_settings) -> None:
    store = ElasticStore(
        es_settings(bulk_max_retries=12, bulk_initial_backoff_s=0.1, bulk_max_backoff_s=0.5)
    )
    try:
        store.check()
        _block(store, True)
        done = threading.Event()
        errors: list[BaseException] = []

        def write() -> None:
            try:
                store.upsert_patients([record("r1"), record("r2")], ["x", "y"], [None, None])
            except BaseException as exc:
                errors.append(exc)
            done.set()

        threading.Thread(target=write, daemon=True).start()
        assert not done.wait(0.8), "the write returned while the index was blocked"
        _block(store, False)
        assert done.wait(20)
        assert errors == []
        assert set(store.get_patients(["r1", "r2"])) == {"r1", "r2"}
    finally:
        store.drop()
        store.close()


def test_429_after_every_retry_is_unavailable(es_settings) -> None:
    store = ElasticStore(es_settings(bulk_max_retries=2, bulk_initial_backoff_s=0.05))
    try:
        store.check()
        _block(store, True)
        with pytest.raises(BulkUnavailable) as err:
            store.upsert_patients([record("r1")], ["x"], [None])
        assert isinstance(err.value, BackendUnavailable)
        assert [f["status"] for f in err.value.failures] == [429]
        assert status_for(err.value)[0] == grpc.StatusCode.UNAVAILABLE
        _block(store, False)
        with pytest.raises(NotFound):
            store.get_patient("r1")
    finally:
        store.drop()
        store.close()


def test_health_follows_the_backend_both_ways(make_app) -> None:
    """The watch re-checks: NOT_SERVING while the check fails, SERVING once it passes."""
    from services.server import start_server

    reachable = threading.Event()

    def check() -> None:
        if not reachable.is_set():
            raise BackendUnavailable("Elasticsearch at http://nowhere is unreachable")

    app = make_app(server={"address": "127.0.0.1:0", "health_interval_s": 0.05})
    app.backend_check = check
    running = start_server(app, services=["matcher"])
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)

            def status() -> int:
                return health.Check(health_pb2.HealthCheckRequest(service=MATCHER)).status

            assert status() == health_pb2.HealthCheckResponse.NOT_SERVING  # before any call
            reachable.set()
            deadline = time.monotonic() + 10
            while status() != health_pb2.HealthCheckResponse.SERVING:
                assert time.monotonic() < deadline, "health never turned SERVING"
                time.sleep(0.05)
            reachable.clear()
            while status() != health_pb2.HealthCheckResponse.NOT_SERVING:
                assert time.monotonic() < deadline, "health never turned NOT_SERVING again"
                time.sleep(0.05)
    finally:
        running.stop(grace=0)
