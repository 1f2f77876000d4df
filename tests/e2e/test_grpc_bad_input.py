"""The FHIR validator cases again, through the real gRPC server: status code, message, and
nothing stored (the store stays empty after every rejection)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from fhir_bad_cases import CASES, payload

from trialmatch.v1 import ingest_pb2, ingest_pb2_grpc, matcher_pb2, matcher_pb2_grpc


@pytest.fixture(scope="module")
def server_channel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Any
):
    from matcher.embeddings import CachedEmbedder
    from services.config import load_config
    from services.providers import build_app
    from services.server import start_server

    config = load_config(
        overrides={
            "server": {"address": "127.0.0.1:0"},
            "storage": {"data_dir": str(tmp_path_factory.mktemp("bad"))},
        }
    )
    app = build_app(config, embedder=CachedEmbedder(embedder))
    running = start_server(app)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    yield app, channel
    channel.close()
    running.stop(0)
    app.close()


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_validator_case_over_grpc(server_channel, case: dict[str, Any]) -> None:
    app, channel = server_channel
    raw = payload(case)
    stub = ingest_pb2_grpc.PatientIngestStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.PushBundle(
            ingest_pb2.PushBundleRequest(bundle_json=raw.encode() if isinstance(raw, str) else raw)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(case["expect_path"])
    for fragment in case["expect_message"]:
        assert fragment in err.value.details()
    assert app.store.count_patients() == 0


def test_unknown_ids_are_not_found(server_channel) -> None:
    _, channel = server_channel
    with pytest.raises(grpc.RpcError) as err:
        matcher_pb2_grpc.MatcherStub(channel).RankTrials(
            matcher_pb2.RankTrialsRequest(patient_id="no-such-patient")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-patient" in err.value.details()
