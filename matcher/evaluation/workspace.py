"""A persistent evaluation workspace: topics ingested and trials submitted once, reused after.

Evaluation runs are re-run many times while the matcher is tuned, and the expensive part of a
fresh run is not ranking but preparing: parsing ~1,400 trials and embedding ~30,000 criterion
texts. The workspace is an ordinary embedded store in a cache folder plus a manifest that
records, per patient and per trial, a fingerprint of its input *and of the code and rules
that turned it into stored data* (nlp/, FHIR normalisation, ingest, profile, trial parsing,
configuration). An entry is redone only when its fingerprint changes, so editing a parser rule
re-parses every trial on the next run (seconds), while evaluator/ranker changes (the lead's
tuning loop) reuse everything. Vectors are cached by text in the store, so re-parsing does not
re-embed unchanged texts either.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from matcher.embeddings import Embedder
from matcher.errors import InvalidInput
from matcher.evaluation.topics import Topic, fhir_id, topic_bundle_bytes
from matcher.ingest import IngestService
from matcher.matching.engine import MatchingEngine
from matcher.store.base import Store
from matcher.trials import CriteriaParser, TrialService, trial_from_ctgov

ROOT = Path(__file__).resolve().parent.parent.parent
# What turns benchmark input into stored patients and trials (not what ranks them).
PREPARATION_CODE = (
    "nlp",
    "matcher/fhir",
    "matcher/ingest.py",
    "matcher/profile.py",
    "matcher/trials.py",
    "matcher/model.py",
    "matcher/embeddings.py",
    "matcher/evaluation/topics.py",
)
_HASHED_BYTES = 4 * 1024 * 1024  # larger files (trained models) are fingerprinted by size+mtime
MANIFEST_VERSION = 1


class Workbench(Protocol):
    """The parts of an App an evaluation uses (services.providers.App satisfies it)."""

    store: Store
    embedder: Embedder
    parser: CriteriaParser
    ingest: IngestService
    trials: TrialService
    engine: MatchingEngine


def _files(paths: Iterable[str]) -> list[Path]:
    out: list[Path] = []
    for rel in paths:
        p = ROOT / rel
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(
                f for f in sorted(p.rglob("*")) if f.is_file() and "__pycache__" not in f.parts
            )
    return out


def code_fingerprint(extra: str = "", paths: Iterable[str] = PREPARATION_CODE) -> str:
    """sha1 over the preparation code and rules (plus `extra`, e.g. the configuration)."""
    h = hashlib.sha1(extra.encode("utf-8"))
    for f in _files(paths):
        h.update(str(f.relative_to(ROOT)).encode())
        stat = f.stat()
        if stat.st_size > _HASHED_BYTES:
            h.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            h.update(f.read_bytes())
    return h.hexdigest()


def _digest(*parts: str) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(slots=True)
class PrepStats:
    done: int = 0
    reused: int = 0
    rejected: dict[str, str] = field(default_factory=dict)  # id -> reason
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "reused": self.reused,
            "rejected": len(self.rejected),
            "seconds": round(self.seconds, 2),
        }


class Manifest:
    """id -> fingerprint of what is stored, per table, in a JSON file beside the store."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self.data: dict[str, dict[str, str]] = {"patients": {}, "trials": {}}
        if path is not None and path.is_file():
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if loaded.get("version") == MANIFEST_VERSION:
                self.data = {k: dict(loaded.get(k, {})) for k in ("patients", "trials")}

    def save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, **self.data}), encoding="utf-8")
        os.replace(tmp, self._path)


def ingest_topics(
    bench: Workbench,
    topics: list[Topic],
    index_date: date,
    manifest: Manifest,
    fingerprint: str,
) -> PrepStats:
    """Each topic as a FHIR Bundle through IngestService.push_bundle (the real ingest path)."""
    t0 = time.perf_counter()
    stats = PrepStats()
    seen = manifest.data["patients"]
    present = set(bench.store.get_patients([fhir_id(t.topic_id) for t in topics]))
    for topic in topics:
        pid = fhir_id(topic.topic_id)
        key = _digest(fingerprint, index_date.isoformat(), topic.text)
        if pid in present and seen.get(pid) == key:
            stats.reused += 1
            continue
        try:
            bench.ingest.push_bundle(topic_bundle_bytes(topic, index_date))
        except InvalidInput as exc:
            stats.rejected[topic.topic_id] = str(exc)
            continue
        seen[pid] = key
        stats.done += 1
    manifest.save()
    stats.seconds = time.perf_counter() - t0
    return stats


def submit_trials(
    bench: Workbench,
    records: Mapping[str, dict[str, Any]],
    manifest: Manifest,
    fingerprint: str,
    progress: Any = None,
) -> PrepStats:
    """Each ClinicalTrials.gov record through TrialService.submit (parse + store + embed)."""
    t0 = time.perf_counter()
    stats = PrepStats()
    seen = manifest.data["trials"]
    present = set(bench.store.get_trials(list(records)))
    for n, (trial_id, record) in enumerate(records.items(), start=1):
        key = _digest(fingerprint, json.dumps(record, sort_keys=True))
        if trial_id in present and seen.get(trial_id) == key:
            stats.reused += 1
        else:
            try:
                bench.trials.submit(trial_from_ctgov(record))
            except InvalidInput as exc:
                stats.rejected[trial_id] = str(exc)
            else:
                seen[trial_id] = key
                stats.done += 1
                if stats.done % 200 == 0:
                    manifest.save()
        if progress is not None:
            progress(n, len(records))
    manifest.save()
    stats.seconds = time.perf_counter() - t0
    return stats


def warm_criteria_vectors(bench: Workbench, trial_ids: list[str], batch: int = 2048) -> float:
    """Embeds every stored trial's criterion concept texts up front (cached in the store).

    Ranking would embed them lazily anyway; doing it in large batches first is faster and
    makes the ranking phase's timing mean something.
    """
    t0 = time.perf_counter()
    texts: dict[str, None] = {}
    for trial in bench.store.get_trials(trial_ids).values():
        for c in trial.criteria:
            texts.setdefault(c.match_text, None)
    pending = list(texts)
    for start in range(0, len(pending), batch):
        bench.embedder.encode(pending[start : start + batch])
    return time.perf_counter() - t0
