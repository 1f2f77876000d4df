"""Client-side helpers shared by the CLI commands and the demo."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from trialmatch.v1 import (
    ingest_pb2,
    ingest_pb2_grpc,
    matcher_pb2_grpc,
    trials_pb2,
    trials_pb2_grpc,
)

SERVER_ENV = "TRIALMATCH_SERVER"
DEFAULT_SERVER = "127.0.0.1:50051"
MAX_MESSAGE = 64 * 1024 * 1024


def default_server() -> str:
    return os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(
        address,
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.max_receive_message_length", MAX_MESSAGE),
        ],
    )


@dataclass(slots=True)
class Stubs:
    ingest: ingest_pb2_grpc.PatientIngestStub
    trials: trials_pb2_grpc.TrialRegistryStub
    matcher: matcher_pb2_grpc.MatcherStub

    @classmethod
    def connect(cls, ch: grpc.Channel) -> Stubs:
        return cls(
            ingest_pb2_grpc.PatientIngestStub(ch),
            trials_pb2_grpc.TrialRegistryStub(ch),
            matcher_pb2_grpc.MatcherStub(ch),
        )


def bundle_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every *.json under given folders, in a stable order."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return out


def bundle_requests(files: list[Path]) -> Iterator[ingest_pb2.PushBundleRequest]:
    """Reads lazily so a large folder streams without being held in memory."""
    for path in files:
        yield ingest_pb2.PushBundleRequest(bundle_json=path.read_bytes(), label=str(path))


def stream_bundles(
    stub: ingest_pb2_grpc.PatientIngestStub, files: list[Path], timeout: float | None = None
) -> Iterator[ingest_pb2.BundleAck]:
    yield from stub.StreamBundles(bundle_requests(files), timeout=timeout)


def trial_requests(path: Path) -> Iterator[trials_pb2.SubmitTrialRequest]:
    """A JSONL file of ClinicalTrials.gov-style records, or one JSON record/object."""
    text = path.read_text("utf-8")
    stripped = text.strip()
    if stripped.startswith("{") and "\n{" not in stripped:
        yield trials_pb2.SubmitTrialRequest(ctgov_json=stripped)
        return
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{line_no}: not JSON: {exc}") from exc
        yield trials_pb2.SubmitTrialRequest(ctgov_json=line)
