"""End-to-end ingest through the real gRPC server (StreamBundles) on the embedded backend.

`bench/ingest_normalize.py` times FHIR parsing alone; a user pushing bundles also pays for
gRPC framing, fact embedding (MiniLM on CPU) and the SQLite writes, so this measures the whole
path. Two passes over the same bundles on one server with a fresh temporary data dir:

* cold: empty store and empty embedding cache, so every fact text is embedded. The model
  load is kept out of this figure (it is paid once per process, not per bundle) by warming
  the embedder first; its time is reported on its own as `model_load_seconds`.
* warm: the same bundles pushed again, i.e. updates of existing patients whose fact
  embeddings all come from the cache: the steady-state cost of re-syncing a source.

Bundles are read into memory before the clock starts so disk speed does not blur the number.
Client and server share one process (and the GIL), which is slightly pessimistic compared
with a separate client.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ingest_grpc.py [--data ../shared/data/synthea]
        [--out bench/results/ingest_grpc.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from services.client import channel  # noqa: E402
from services.config import load_config  # noqa: E402
from services.providers import build_app  # noqa: E402
from services.server import start_server  # noqa: E402
from trialmatch.v1 import ingest_pb2, ingest_pb2_grpc  # noqa: E402


def push_all(
    stub: ingest_pb2_grpc.PatientIngestStub, payloads: list[tuple[str, bytes]]
) -> tuple[float, list[ingest_pb2.BundleAck]]:
    """Streams every bundle once; returns (wall seconds until the last ack, the acks)."""
    requests = (ingest_pb2.PushBundleRequest(bundle_json=b, label=name) for name, b in payloads)
    start = time.perf_counter()
    acks = list(stub.StreamBundles(requests))
    return time.perf_counter() - start, acks


def summarise(seconds: float, acks: list[ingest_pb2.BundleAck]) -> dict[str, Any]:
    rejected = [f"{a.label}: {a.error_code}: {a.error_message}" for a in acks if a.error_code]
    return {
        "seconds": round(seconds, 3),
        "bundles_per_s": round(len(acks) / seconds, 2) if seconds else None,
        "facts": sum(a.result.fact_count for a in acks if not a.error_code),
        "rejected": rejected,
    }


def cached_texts(data_dir: Path) -> int:
    """Distinct texts in the embedding cache: how much MiniLM work the cold pass really did."""
    with sqlite3.connect(data_dir / "trialmatch.sqlite3") as conn:
        return conn.execute("SELECT COUNT(*) FROM embedding_cache").fetchone()[0]


def run(data_dir: Path) -> dict[str, Any]:
    files = sorted(data_dir.glob("*.json"))
    if not files:
        raise SystemExit(f"no *.json bundles in {data_dir}")
    payloads = [(f.name, f.read_bytes()) for f in files]
    entries = sum(len(json.loads(b).get("entry", [])) for _, b in payloads)

    with tempfile.TemporaryDirectory(prefix="tm-bench-") as tmp:
        config = load_config(
            overrides={"server": {"address": "127.0.0.1:0"}, "storage": {"data_dir": tmp}}
        )
        app = build_app(config)
        running = start_server(app)
        try:
            start = time.perf_counter()
            app.embedder.encode(["warm up"])  # loads MiniLM; cost paid once per process
            model_load = time.perf_counter() - start

            with channel(f"127.0.0.1:{running.port}") as ch:
                stub = ingest_pb2_grpc.PatientIngestStub(ch)
                cold_s, cold_acks = push_all(stub, payloads)
                embedded = cached_texts(Path(tmp)) - 1  # minus the warm-up text
                warm_s, warm_acks = push_all(stub, payloads)
            patients = app.store.count_patients()
        finally:
            running.stop(grace=0)
            app.close()

    cold, warm = summarise(cold_s, cold_acks), summarise(warm_s, warm_acks)
    if warm["facts"] != cold["facts"]:  # a re-push must replace facts, never duplicate them
        raise SystemExit(f"warm pass stored {warm['facts']} facts, cold {cold['facts']}")
    return {
        "bundles": len(payloads),
        "entries": entries,
        "megabytes": round(sum(len(b) for _, b in payloads) / 1e6, 2),
        "patients_stored": patients,
        "facts_stored": cold["facts"],
        "texts_embedded_cold": embedded,
        "model_load_seconds": round(model_load, 3),
        "cold_seconds": cold["seconds"],
        "cold_bundles_per_s": cold["bundles_per_s"],
        "cold_entries_per_s": round(entries / cold_s, 1),
        "warm_seconds": warm["seconds"],
        "warm_bundles_per_s": warm["bundles_per_s"],
        "warm_entries_per_s": round(entries / warm_s, 1),
        "rejected": len(cold["rejected"]),
        "rejected_detail": cold["rejected"],
        "server_workers": config.server.workers,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "synthea")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest_grpc.json")
    args = parser.parse_args(argv)
    result = run(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
