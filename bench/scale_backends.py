"""Both backends at 10,000 patients, same data, one run: ingest bundles/s, RankPatients p50/p95.

The population. 10,000 FHIR R4 transaction bundles are derived from the 35 Synthea bundles
(`../shared/data/synthea`) with a seeded generator, so every run sees the same data and no
two patients are copies:
  * a base patient is drawn at random; its Patient gets a new id, name-free demographics
    (birth date shifted back by 0-15 years, with every clinical date shifted by the same
    offset so ages at diagnosis stay true; gender drawn 50/50; a random 5-digit postal code);
  * clinical resources are kept (Condition, Observation, Procedure, MedicationRequest,
    Immunization, AllergyIntolerance) and everything administrative dropped (Claim,
    ExplanationOfBenefit, Encounter, CarePlan, Organization, ...);
  * conditions are sub-sampled (each kept with p = 0.7) and mixed with 0-3 conditions of
    another random base patient; procedures, medications and immunisations are sub-sampled
    (p = 0.6); observations keep the latest 1-2 of each code for a random 80% of codes, and
    every numeric value is jittered (x N(1, 0.08));
  * every resource gets a new id and fullUrl (uuid5 of the seed and position).
Texts come from Synthea's vocabulary, so the condition texts that make a patient's vector
recur across patients; the embedding cache (memory, then the store) turns most of the
MiniLM work into look-ups. The figures say how many texts were really embedded.

Per backend: a fresh store (a temporary SQLite file; an Elasticsearch index prefix of its
own on the node of `make es-up`, started here if needed), a real gRPC server in-process, the
bundles pushed one by one with `PushBundle` (generation happens outside the clock; each
call is timed), then the trials submitted, the Elasticsearch indices refreshed once, one
warm-up pass, and `RankPatients` (limit 10, fixed index date) timed for every trial, several
rounds. Retrieval alone (filters + BM25 + kNN + fusion, no criteria evaluation) is timed too,
because it is the only part that differs between the backends. Candidate overlap (Jaccard of
the fused top-200) shows how close the backends' candidate sets stay at this size. Read it
with the ties in mind: a patient's vector depends only on its set of condition texts, and
drawn from 35 bases many patients share one (1,518 distinct sets among the first 3,000), so
a top-200 cut often falls inside a group of equal scores that each backend orders its own
way; there a Jaccard below 1 says "different members of a tie", not "a different ranking".

    nice -n 10 .venv/bin/python bench/scale_backends.py [--data ../shared/data/synthea]
        [--trials ../shared/data/trec2021/trials.jsonl] [--patients 10000] [--es-url URL]
        [--out bench/results/scale_backends.json]
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import grpc  # noqa: E402

from matcher.embeddings import CachedEmbedder, SentenceTransformerEmbedder  # noqa: E402
from matcher.profile import trial_target_text, trial_vector  # noqa: E402
from matcher.search.base import PatientFilters, Query  # noqa: E402
from services.config import load_config  # noqa: E402
from services.providers import App, build_app, build_retrievers  # noqa: E402
from services.server import start_server  # noqa: E402
from trialmatch.v1 import (  # noqa: E402
    ingest_pb2,
    ingest_pb2_grpc,
    matcher_pb2,
    matcher_pb2_grpc,
    trials_pb2,
    trials_pb2_grpc,
)

CLINICAL = ("Condition", "Observation", "Procedure", "MedicationRequest", "Immunization",
            "AllergyIntolerance")  # fmt: skip
DATE_KEYS = ("onsetDateTime", "abatementDateTime", "recordedDate", "effectiveDateTime",
             "issued", "authoredOn", "performedDateTime", "occurrenceDateTime", "start", "end",
             "deceasedDateTime")  # fmt: skip
INDEX_DATE = "2021-01-01"
NAMESPACE = uuid.UUID("6f1c1d1e-2a52-4c1b-9d7e-5b0c8a3f9e11")


# --- the synthetic population --------------------------------------------------------------


def _shift(value: str, days: int) -> str:
    """Shifts an ISO date or date-time string by `days`, keeping its precision and zone."""
    if len(value) == 10:
        return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
    if len(value) in (4, 7):  # year or year-month precision: leave it
        return value
    moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(days=days)
    text = moved.isoformat()
    return text.replace("+00:00", "Z") if value.endswith("Z") else text


def _shift_dates(node: Any, days: int) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in DATE_KEYS and isinstance(value, str):
                node[key] = _shift(value, days)
            else:
                _shift_dates(value, days)
    elif isinstance(node, list):
        for item in node:
            _shift_dates(item, days)


def _jitter(node: Any, rng: random.Random) -> None:
    if isinstance(node, dict):
        quantity = node.get("valueQuantity")
        if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
            quantity["value"] = round(quantity["value"] * rng.gauss(1.0, 0.08), 2)
        for value in node.values():
            _jitter(value, rng)
    elif isinstance(node, list):
        for item in node:
            _jitter(item, rng)


class Base:
    """One Synthea patient reduced to its clinical resources, grouped for sampling."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        resources = [e["resource"] for e in bundle["entry"]]
        self.patient = next(r for r in resources if r["resourceType"] == "Patient")
        self.by_type: dict[str, list[dict]] = {t: [] for t in CLINICAL}
        for resource in resources:
            if resource["resourceType"] in self.by_type:
                self.by_type[resource["resourceType"]].append(resource)
        latest: dict[str, list[dict]] = {}
        for obs in sorted(
            self.by_type["Observation"], key=lambda o: o.get("effectiveDateTime", ""), reverse=True
        ):
            code = json.dumps(obs.get("code", {}).get("coding", []), sort_keys=True)
            latest.setdefault(code, []).append(obs)
        self.observations_by_code = [group[:2] for group in latest.values()]


def population(bases: list[Base], n: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """(patient id, bundle JSON) for n synthetic patients; deterministic for a seed."""
    rng = random.Random(seed)
    for i in range(n):
        base = rng.choice(bases)
        donor = rng.choice(bases)
        days = -rng.randint(0, 15 * 365)
        patient = copy.deepcopy(base.patient)
        pid = str(uuid.uuid5(NAMESPACE, f"{seed}/{i}/Patient"))
        patient["id"] = pid
        for key in ("name", "telecom", "identifier", "text", "extension"):
            patient.pop(key, None)
        patient["gender"] = rng.choice(("male", "female"))
        for address in patient.get("address", []):
            address["postalCode"] = f"{rng.randint(1000, 99999):05d}"
        picked: list[dict] = [r for r in base.by_type["Condition"] if rng.random() < 0.7]
        picked += rng.sample(
            donor.by_type["Condition"], min(rng.randint(0, 3), len(donor.by_type["Condition"]))
        )
        for kind in ("Procedure", "MedicationRequest", "Immunization"):
            picked += [r for r in base.by_type[kind] if rng.random() < 0.6]
        picked += base.by_type["AllergyIntolerance"]
        for group in base.observations_by_code:
            if rng.random() < 0.8:
                picked += group[: rng.randint(1, 2)]
        entries = [{"fullUrl": f"urn:uuid:{pid}", "resource": patient,
                    "request": {"method": "PUT", "url": f"Patient/{pid}"}}]  # fmt: skip
        for j, original in enumerate(picked):
            resource = copy.deepcopy(original)
            rid = str(uuid.uuid5(NAMESPACE, f"{seed}/{i}/{j}"))
            resource["id"] = rid
            for ref_key in ("subject", "patient"):
                if ref_key in resource:
                    resource[ref_key] = {"reference": f"urn:uuid:{pid}"}
            resource.pop("encounter", None)
            _jitter(resource, rng)
            request = {"method": "POST", "url": resource["resourceType"]}
            entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": resource, "request": request})
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        _shift_dates(bundle, days)
        yield pid, json.dumps(bundle, separators=(",", ":")).encode()


# --- one backend ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def build(backend: str, tmp: str, es_url: str, prefix: str, embedder: CachedEmbedder) -> App:
    storage: dict[str, Any] = {"backend": backend, "data_dir": tmp}
    if backend == "elasticsearch":
        storage["elasticsearch"] = {"url": es_url, "index_prefix": prefix}
    config = load_config(overrides={"server": {"address": "127.0.0.1:0"}, "storage": storage})
    return build_app(config, embedder)


def retrieval_seconds(app: App, trial_ids: list[str], rounds: int) -> tuple[list, dict]:
    """Filters + hybrid retrieval as the engine does them, without criteria evaluation."""
    times, candidates = [], {}
    index = date.fromisoformat(INDEX_DATE)
    patients = build_retrievers(app.store).patients
    patients.search(Query("warm up", filters=PatientFilters(index)), 1)  # load matrices
    for _ in range(rounds):
        for trial_id in trial_ids:
            trial = app.store.get_trial(trial_id)
            start = time.perf_counter()
            sex = () if trial.sex.value == "all" else (trial.sex.value,)
            filters = PatientFilters(index, trial.min_age_years, trial.max_age_years, sex)
            allowed = app.store.filter_patients(filters)
            query = Query(
                trial_target_text(trial), trial_vector(trial, app.embedder), filters, allowed
            )
            hits = patients.search(query, app.config.matching.candidate_depth)
            times.append(time.perf_counter() - start)
            candidates[trial_id] = {h.id for h in hits}
    return times, candidates


def run_backend(
    backend: str,
    bundles: list[tuple[str, bytes]],
    args: argparse.Namespace,
    trials: list[str],
    embedder: CachedEmbedder,
    es_url: str,
) -> tuple[dict[str, Any], dict[str, set[str]]]:
    prefix = f"bench-{os.getpid()}-{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="tm-scale-") as tmp:
        app = build(backend, tmp, es_url, prefix, embedder)
        running = start_server(app)
        try:
            ch = grpc.insecure_channel(
                f"127.0.0.1:{running.port}",
                options=[("grpc.max_send_message_length", 64 * 1024 * 1024)],
            )
            ingest = ingest_pb2_grpc.PatientIngestStub(ch)
            push_times: list[float] = []
            rejected: list[str] = []
            facts = 0
            size = 0
            embedded_before = embedder_calls(embedder)
            for pid, packed in bundles:
                raw = zlib.decompress(packed)
                size += len(raw)
                start = time.perf_counter()
                try:
                    reply = ingest.PushBundle(
                        ingest_pb2.PushBundleRequest(bundle_json=raw, label=pid), timeout=120
                    )
                    facts += reply.fact_count
                except grpc.RpcError as exc:
                    rejected.append(f"{pid}: {exc.code().name}: {exc.details()}")
                push_times.append(time.perf_counter() - start)
                if len(push_times) % 1000 == 0:
                    print(f"  {backend}: {len(push_times)} bundles", file=sys.stderr, flush=True)
            texts_embedded = embedder_calls(embedder) - embedded_before
            registry = trials_pb2_grpc.TrialRegistryStub(ch)
            trial_ids = []
            for record in trials:
                reply = registry.SubmitTrial(trials_pb2.SubmitTrialRequest(ctgov_json=record))
                trial_ids.append(reply.trial.protocol.trial_id)
            if hasattr(app.store, "refresh"):
                app.store.refresh()  # writes used the default refresh policy ("false")
            matcher = matcher_pb2_grpc.MatcherStub(ch)

            def rank(trial_id: str) -> tuple[float, matcher_pb2.RankPatientsResponse]:
                start = time.perf_counter()
                reply = matcher.RankPatients(
                    matcher_pb2.RankPatientsRequest(
                        trial_id=trial_id, limit=10, index_date=INDEX_DATE
                    ),
                    timeout=600,
                )
                return time.perf_counter() - start, reply

            warmup = [rank(t)[0] for t in trial_ids]  # concept vectors, matrices, caches
            rank_times: list[float] = []
            considered = {}
            for _ in range(args.rounds):
                for trial_id in trial_ids:
                    seconds, reply = rank(trial_id)
                    rank_times.append(seconds)
                    considered[trial_id] = reply.considered
            retrieval, candidates = retrieval_seconds(app, trial_ids, args.rounds)
            stored = app.store.count_patients()
            ch.close()
        finally:
            running.stop(grace=0)
            if hasattr(app.store, "drop") and not args.keep:
                app.store.drop()
            app.close()
    total = sum(push_times)
    return {
        "patients_stored": stored,
        "bundles": len(push_times),
        "bundle_megabytes": round(size / 1e6, 1),
        "facts_stored": facts,
        "rejected": len(rejected),
        "rejected_detail": rejected[:10],
        "texts_embedded_during_ingest": texts_embedded,
        "ingest_seconds": round(total, 1),
        "ingest_bundles_per_s": round(len(push_times) / total, 1),
        "push_bundle_latency": latency(push_times),
        "rank_patients_first_call": latency(warmup),
        "rank_patients": latency(rank_times),
        "retrieval_only": latency(retrieval),
        "considered_per_trial": considered,
    }, candidates


class CountingEmbedder:
    """Counts texts that reach MiniLM (cache misses), to report the real embedding work."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.dim = inner.dim
        self._inner = inner
        self.texts = 0

    def encode(self, texts: list[str]):
        self.texts += len(texts)
        return self._inner.encode(texts)


def embedder_calls(embedder: CachedEmbedder) -> int:
    return embedder._inner.texts  # type: ignore[attr-defined]


def _node_info(url: str) -> dict[str, Any]:
    """What the node measured against says of itself (version, JVM heap), not what we assume."""
    from elasticsearch import Elasticsearch

    nodes = Elasticsearch(url).nodes.info(metric="jvm")["nodes"].values()
    return {
        "url": url,
        "versions": sorted({n["version"] for n in nodes}),
        "heap_max_bytes": [n["jvm"]["mem"]["heap_max_in_bytes"] for n in nodes],
    }


def es_node_url() -> str:
    spec = importlib.util.spec_from_file_location("es_node", ROOT / "tools" / "es_node.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.up("default")[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "synthea")
    parser.add_argument(
        "--trials", type=Path, default=ROOT.parent / "shared" / "data" / "trec2021" / "trials.jsonl"
    )
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--trial-count", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20211)
    parser.add_argument("--backends", default="embedded,elasticsearch")
    parser.add_argument("--es-url", default=os.environ.get("TRIALMATCH_ES_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the Elasticsearch indices")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "scale_backends.json"
    )
    args = parser.parse_args()

    bases = [Base(json.loads(p.read_bytes())) for p in sorted(args.data.glob("*.json"))]
    if not bases:
        raise SystemExit(f"no *.json bundles in {args.data}")
    trials = select_trials(args.trials, args.trial_count)
    start = time.perf_counter()
    # Generated once, kept zlib-compressed (~10x smaller), and unpacked outside the clock.
    bundles = [
        (pid, zlib.compress(raw, 1)) for pid, raw in population(bases, args.patients, args.seed)
    ]
    generate_seconds = time.perf_counter() - start
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    es_url = ""
    if "elasticsearch" in backends:
        es_url = args.es_url or es_node_url()

    # One embedder for both backends: the model loads once; each backend still fills its
    # own store's cache, but texts already in memory are not embedded again.
    counting = CountingEmbedder(SentenceTransformerEmbedder())
    start = time.perf_counter()
    counting.encode(["warm up"])
    model_load = time.perf_counter() - start
    results: dict[str, Any] = {}
    candidates: dict[str, dict[str, set[str]]] = {}
    for backend in backends:
        print(f"{backend}: {args.patients} patients", file=sys.stderr, flush=True)
        embedder = CachedEmbedder(counting, memory=200_000)
        results[backend], candidates[backend] = run_backend(
            backend, bundles, args, trials, embedder, es_url
        )
    overlap = {}
    if len(candidates) == 2:
        a, b = candidates.values()
        overlap = {t: round(len(a[t] & b[t]) / max(1, len(a[t] | b[t])), 3) for t in a}
    out = {
        "patients": args.patients,
        "seed": args.seed,
        "source_bundles": len(bases),
        "trials": len(trials),
        "rank_rounds": args.rounds,
        "index_date": INDEX_DATE,
        "model_load_seconds": round(model_load, 2),
        "generate_seconds": round(generate_seconds, 1),
        "backends": results,
        "candidate_jaccard_top200": overlap,
        "elasticsearch": _node_info(es_url) if es_url else {},
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


def select_trials(path: Path, count: int) -> list[str]:
    """The first `count` trials with eligibility text, as ClinicalTrials.gov JSON records."""
    chosen = []
    with path.open() as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("eligibility_criteria", "").strip():
                chosen.append(line.strip())
            if len(chosen) >= count:
                break
    return chosen


if __name__ == "__main__":
    sys.exit(main())
