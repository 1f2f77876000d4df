"""Readers for the benchmark files: TREC-style folders and criterion-annotation JSONL.

A TREC-style folder (the layout of `trec2021/` and `sigir/`) holds `queries.jsonl`
(`{"_id", "text"}`), `qrels.tsv` (`query-id  corpus-id  score`, header line) and
`trials.jsonl` (ClinicalTrials.gov fields, one trial per line). Only judged pairs whose trial
has text are evaluated ("covered" pairs); everything else in qrels is ignored and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.evaluation.topics import Topic

LABELS = (
    "included",
    "not included",
    "excluded",
    "not excluded",
    "not enough information",
    "not applicable",
)


class DataError(ValueError):
    """A benchmark file that is missing or not in the expected format (names file and line)."""


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not JSON: {exc}") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object")
            yield n, row


@dataclass(slots=True)
class TrecData:
    topics: list[Topic]
    trials: dict[str, dict[str, Any]]  # nct id -> raw record, in file order
    qrels: dict[str, dict[str, int]]  # topic id -> trial id -> label, covered pairs only
    uncovered_pairs: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return sum(len(v) for v in self.qrels.values())


def read_qrels(path: Path) -> list[tuple[str, str, int]]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    out: list[tuple[str, str, int]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").split("\t")
            if not line.strip() or (n == 1 and parts[0] == "query-id"):
                continue
            if len(parts) != 3:
                raise DataError(f"{path}:{n}: expected 3 tab-separated columns")
            try:
                out.append((parts[0], parts[1], int(parts[2])))
            except ValueError:
                raise DataError(f"{path}:{n}: score {parts[2]!r} is not an integer") from None
    return out


def load_trec(folder: Path, limit_topics: int | None = None) -> TrecData:
    """Topics with at least one covered judged pair, in file order (optionally the first N)."""
    folder = Path(folder)
    trials: dict[str, dict[str, Any]] = {}
    for n, row in _jsonl(folder / "trials.jsonl"):
        nct = row.get("nct_id")
        if not isinstance(nct, str) or not nct:
            raise DataError(f"{folder / 'trials.jsonl'}:{n}: no nct_id")
        trials[nct] = row
    qrels: dict[str, dict[str, int]] = {}
    uncovered = 0
    for topic_id, trial_id, label in read_qrels(folder / "qrels.tsv"):
        if trial_id in trials:
            qrels.setdefault(topic_id, {})[trial_id] = label
        else:
            uncovered += 1
    topics: list[Topic] = []
    for n, row in _jsonl(folder / "queries.jsonl"):
        topic_id, text = row.get("_id"), row.get("text")
        if not isinstance(topic_id, str) or not isinstance(text, str):
            raise DataError(f"{folder / 'queries.jsonl'}:{n}: expected string _id and text")
        if topic_id in qrels:
            topics.append(Topic(topic_id, text))
    if limit_topics is not None:
        topics = topics[:limit_topics]
    kept = {t.topic_id for t in topics}
    qrels = {k: v for k, v in qrels.items() if k in kept}
    used = {tid for judged in qrels.values() for tid in judged}
    # Every trial with text stays in the corpus (BM25 statistics, RankPatients), but with
    # --limit-topics only the judged ones are submitted, which keeps quick runs quick.
    if limit_topics is not None:
        trials = {k: v for k, v in trials.items() if k in used}
    return TrecData(topics, trials, qrels, uncovered)


@dataclass(frozen=True, slots=True)
class CriterionPair:
    annotation_id: str
    patient_id: str
    note: str
    trial_id: str
    criterion_type: str  # inclusion | exclusion
    criterion_text: str
    label: str  # one of LABELS
    sentences: frozenset[int]


def _sentence_ids(raw: Any, where: str) -> frozenset[int]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise DataError(f"{where}: expert_sentences must be a list of integers")
    return frozenset(value)


def load_criterion_pairs(path: Path, limit: int | None = None) -> list[CriterionPair]:
    pairs: list[CriterionPair] = []
    for n, row in _jsonl(Path(path)):
        where = f"{path}:{n}"
        try:
            kind = row["criterion_type"]
            label = row["expert_eligibility"]
            pair = CriterionPair(
                annotation_id=str(row.get("annotation_id", n)),
                patient_id=str(row["patient_id"]),
                note=str(row["note"]),
                trial_id=str(row.get("trial_id", "")),
                criterion_type=kind,
                criterion_text=str(row["criterion_text"]),
                label=label,
                sentences=_sentence_ids(row.get("expert_sentences"), where),
            )
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc}") from None
        except json.JSONDecodeError:
            raise DataError(f"{where}: expert_sentences is not a JSON list") from None
        if kind not in ("inclusion", "exclusion"):
            raise DataError(f"{where}: criterion_type {kind!r} is not inclusion/exclusion")
        if label not in LABELS:
            raise DataError(f"{where}: unknown label {label!r}")
        pairs.append(pair)
        if limit is not None and len(pairs) >= limit:
            break
    return pairs
