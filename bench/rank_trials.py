"""RankTrials latency: one patient against 1,000 real trials on the embedded backend.

The store holds the first N trials of a trials.jsonl (TREC 2021 by default), parsed and
embedded once and cached in --cache-dir (the criterion vectors too), and a few TREC topics
ingested as FHIR bundles. Timed: `MatchingEngine.rank_trials(patient, limit=10)` in-process
(no gRPC), warm (each patient ranked once before the clock starts, so the model, the SQLite
pages and the vector matrix are loaded; then the caches are settled as `trialmatch serve`
settles them before listening, services.providers.settle), at two candidate depths: the
default (200) and one covering every trial (all are evaluated). Reported: p50/p95/max per
call, the garbage collections during the timed calls (a full one walks what is not frozen)
and, with --profile, the functions where the time goes (cProfile, cumulative), in the JSON.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/rank_trials.py [--data ../shared/data/trec2021]
        [--trials 1000] [--patients 8] [--repeat 3] [--profile]

A first run embeds ~20,000 criterion texts (minutes on two cores); --seed-cache DIR reads
vectors already computed by `trialmatch eval trec` (its workspace store) instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import json
import os
import platform
import pstats
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

INDEX = date(2021, 1, 1)


class ReadOnlyVectors:
    """Another store's embedding cache, read but never written (seeding a fresh store)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def cached_vectors(self, keys: list[str]) -> dict[str, Any]:
        return self._store.cached_vectors(keys)

    def cache_vectors(self, items: dict[str, Any]) -> None:
        return None


def build(args: argparse.Namespace, depth: int) -> Any:
    """An App on the benchmark store whose embedder also reads the seed workspace's vectors."""
    from matcher.embeddings import CachedEmbedder, SentenceTransformerEmbedder
    from matcher.store.sqlite import SqliteStore
    from services.config import load_config
    from services.providers import build_app

    config = load_config(
        overrides={
            "storage": {"data_dir": str(args.cache_dir)},
            "matching": {"candidate_depth": depth},
        }
    )
    model: Any = SentenceTransformerEmbedder(
        config.embedding.model_path, config.embedding.batch_size
    )
    seed_db = args.seed_cache / "trialmatch.sqlite3" if args.seed_cache else None
    if seed_db is not None and seed_db.is_file():
        model = CachedEmbedder(model, ReadOnlyVectors(SqliteStore(seed_db)))
    # A second connection to the benchmark's own SQLite file (WAL) holds its vector cache.
    own = SqliteStore(Path(args.cache_dir) / "trialmatch.sqlite3")
    return build_app(config, embedder=CachedEmbedder(model, own))


def prepare(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    from matcher.evaluation.data import load_trec
    from matcher.evaluation.workspace import (
        Manifest,
        code_fingerprint,
        ingest_topics,
        submit_trials,
        warm_criteria_vectors,
    )

    data = load_trec(args.data)
    records = dict(itertools.islice(data.trials.items(), args.trials))
    manifest = Manifest(args.cache_dir / "manifest.json")
    fingerprint = code_fingerprint(app.config.model_dump_json(exclude={"storage", "server"}))
    # Topics spread over the file, so that patients differ in age, sex and problems.
    topics = data.topics[:: max(1, len(data.topics) // args.patients)][: args.patients]
    trials = submit_trials(app, records, manifest, fingerprint)
    patients = ingest_topics(app, topics, INDEX, manifest, fingerprint)
    embed_seconds = warm_criteria_vectors(app, list(records))
    return {
        "trial_ids": list(records),
        "patient_ids": [t.topic_id for t in topics],
        "prepare": {
            "trials": trials.to_dict(),
            "patients": patients.to_dict(),
            "embed_criteria_seconds": round(embed_seconds, 2),
        },
    }


def _p95_ms(ordered: list[float]) -> float:
    return round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1)


class GcClock:
    """Collections the garbage collector ran, per generation, and the CPU time they took: a
    full collection walks every object the warm caches hold, so it shows in the tail."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.cpu_seconds = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.collections[info["generation"]] += 1
            self.cpu_seconds[info["generation"]] += time.process_time() - self._start


def time_calls(app: Any, patients: list[str], repeat: int) -> dict[str, Any]:
    from matcher.evaluation.topics import fhir_id
    from services.providers import settle

    for pid in patients:  # warm-up: model, pages, vector matrix, per-text caches
        app.engine.rank_trials(fhir_id(pid), limit=10, index_date=INDEX)
    settle(app)  # what `trialmatch serve` does before listening (matching.warm_on_start)
    seconds, cpu, considered = [], [], []
    clock = GcClock()
    gc.callbacks.append(clock)
    try:
        for _ in range(repeat):
            for pid in patients:
                t0, c0 = time.perf_counter(), time.process_time()
                ranking = app.engine.rank_trials(fhir_id(pid), limit=10, index_date=INDEX)
                seconds.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                considered.append(ranking.considered)
    finally:
        gc.callbacks.remove(clock)
    ordered = sorted(seconds)
    return {
        "calls": len(seconds),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": _p95_ms(ordered),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
        # CPU time of this process per call: what the call costs without other load (the
        # engine is single-threaded apart from the embedder, which is idle when all is cached).
        "cpu_p50_ms": round(statistics.median(cpu) * 1000, 1),
        "cpu_p95_ms": _p95_ms(sorted(cpu)),
        "trials_passing_hard_filters_mean": round(statistics.fmean(considered), 1),
        "gc_collections_by_generation": clock.collections,
        "gc_cpu_ms_by_generation": [round(s * 1000, 1) for s in clock.cpu_seconds],
        "gc_tracked_objects_at_end": len(gc.get_objects()),
    }


def profile(app: Any, patients: list[str], top: int = 25) -> tuple[list[dict[str, Any]], str]:
    from matcher.evaluation.topics import fhir_id

    prof = cProfile.Profile()
    prof.enable()
    for pid in patients:
        app.engine.rank_trials(fhir_id(pid), limit=10, index_date=INDEX)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (file, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(file).name}:{line}:{func}",
                "calls": calls,
                "self_s": round(tottime, 4),
                "cumulative_s": round(cumtime, 4),
                "cumulative_share": round(cumtime / total, 3) if total else 0.0,
            }
        )
    rows.sort(key=lambda r: -r["cumulative_s"])
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
    return rows[:top], text.getvalue()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "trec2021")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--patients", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "bench" / "rank_trials")
    ap.add_argument(
        "--seed-cache",
        type=Path,
        default=ROOT / "var" / "eval" / "trec2021",
        help="a workspace whose embedding cache is read (default: eval trec's)",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile one pass per depth")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rank_trials.json")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    app = build(args, depth=200)
    setup = prepare(app, args)
    setup["prepare"]["seconds"] = round(time.perf_counter() - t0, 2)
    app.close()
    result: dict[str, Any] = {
        "data": str(args.data),
        "trials": len(setup["trial_ids"]),
        "patients": setup["patient_ids"],
        "limit": 10,
        "cpu_count": os.cpu_count(),
        # The machine is shared: a high load average means the latencies are pessimistic.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "prepare": setup["prepare"],
        "depths": {},
    }
    for depth in (200, len(setup["trial_ids"])):
        app = build(args, depth)
        timing = time_calls(app, setup["patient_ids"], args.repeat)
        timing["candidate_depth"] = depth
        if args.profile:
            top, text = profile(app, setup["patient_ids"])
            timing["profile_top"] = top
            timing["profile_text"] = text.splitlines()
        result["depths"][str(depth)] = timing
        app.close()
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["target_ms"] = 1000
    deepest = result["depths"][str(len(setup["trial_ids"]))]
    result["meets_target_at_full_depth"] = deepest["p95_ms"] < result["target_ms"]
    result["meets_target_at_full_depth_cpu"] = deepest["cpu_p95_ms"] < result["target_ms"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "depths"}
    summary["depths"] = {
        d: {k: v for k, v in t.items() if not k.startswith("profile")}
        for d, t in result["depths"].items()
    }
    print(json.dumps(summary, indent=2))
    return result


if __name__ == "__main__":
    main()
