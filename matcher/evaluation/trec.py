"""TREC-style re-ranking evaluation of the matcher, with BM25 and embedding baselines.

Per topic, exactly its covered judged trials are re-ranked (`MatchingEngine.rank_trials`
restricted to them); per trial with an eligible judged topic, all topics of the dataset are
ranked (`rank_patients` restricted to them) for the reverse direction's MRR.

Hard filters and re-ranking: the engine never returns a trial that fails the patient's
hard filters (age outside the trial's range, sex not accepted), yet every judged trial needs a
place in the ranking. Such trials are placed after all returned ones, ordered by trial id, and
all get the same, lowest, score, so AUROC counts them as ties among themselves and as ranked
below everything the engine returned. They are ineligible by the trial's own structured
limits, which is a verdict, not a missing score. The same holds for filtered patients in the
reverse direction. System score = position in the engine's order (which is Match.score within
verdict tiers), so AUROC measures exactly the ordering a coordinator would see.

AUROC asks whether a judged eligible trial scores above a judged excluded one. Both are
relevant to the patient, so relevance only blurs that question; the engine answers it with
Match.eligibility (served as Candidate.eligibility: the verdict tier and the requirements met
and left open, relevance left out). The system's `auroc` is therefore computed on that
estimate, and `auroc_ranking` on the ranking order above (positions), so both are reported;
the baselines have one score each, their ranking. Filtered trials get the lowest value in
both.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from matcher.evaluation import baselines, metrics
from matcher.evaluation.data import TrecData
from matcher.evaluation.topics import fhir_id
from matcher.evaluation.workspace import (
    Manifest,
    Workbench,
    ingest_topics,
    submit_trials,
    warm_criteria_vectors,
)

SYSTEMS = ("system", "bm25", "embedding")
FILTERED = "filtered"  # the verdict column for candidates removed by hard filters
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class TrecRun:
    """One system's rankings: per topic (trials) and per trial (topics), best first."""

    trials_for: dict[str, list[str]] = field(default_factory=dict)
    scores_for: dict[str, dict[str, float]] = field(default_factory=dict)
    topics_for: dict[str, list[str]] = field(default_factory=dict)
    eligibility_for: dict[str, dict[str, float]] = field(default_factory=dict)


def complete_ranking(
    returned: Sequence[str], wanted: Sequence[str]
) -> tuple[list[str], dict[str, float]]:
    """Returned ids in order, then the missing ones by id; scores from positions (ties last)."""
    allowed = set(wanted)
    order = list(dict.fromkeys(d for d in returned if d in allowed))
    missing = sorted(allowed - set(order))
    scores = {d: float(len(order) - i) for i, d in enumerate(order)}
    scores.update({d: 0.0 for d in missing})
    return order + missing, scores


def score_run(run: TrecRun, data: TrecData) -> dict[str, Any]:
    """NDCG@10, P@10, AUROC (2 vs 1) averaged over topics; MRR over trials with an eligible."""
    ndcg, p10 = [], []
    auc: list[float | None] = []  # of the eligibility estimate where the run has one
    auc_ranking: list[float | None] = []
    per_topic: dict[str, dict[str, float | None]] = {}
    for topic in data.topics:
        judged = data.qrels[topic.topic_id]
        ranked = run.trials_for.get(topic.topic_id, [])
        n = metrics.ndcg_at_k(ranked, judged, 10)
        p = metrics.precision_at_k(ranked, judged, 10, relevant=2)
        a = _auroc(run.scores_for.get(topic.topic_id, {}), judged)
        ndcg.append(n)
        p10.append(p)
        auc_ranking.append(a)
        per_topic[topic.topic_id] = {"ndcg@10": n, "p@10": p, "auroc": a}
        if run.eligibility_for:
            e = _auroc(run.eligibility_for.get(topic.topic_id, {}), judged)
            auc.append(e)
            per_topic[topic.topic_id].update({"auroc": e, "auroc_ranking": a})
    eligible = _eligible_topics(data)
    trial_ids = sorted(eligible)
    mrr = metrics.mrr(
        [run.topics_for.get(t, []) for t in trial_ids], [eligible[t] for t in trial_ids]
    )
    summary = {
        "ndcg@10": _round(metrics.mean(ndcg)),
        "p@10": _round(metrics.mean(p10)),
        "auroc": _round(metrics.mean(auc if run.eligibility_for else auc_ranking)),
        "rank_patients_mrr": _round(mrr) if trial_ids and run.topics_for else None,
        "auroc_topics": sum(a is not None for a in auc_ranking),
    }
    if run.eligibility_for:
        summary["auroc_ranking"] = _round(metrics.mean(auc_ranking))
    return {"summary": summary, "per_topic": per_topic}


def _auroc(scores: Mapping[str, float], judged: Mapping[str, int]) -> float | None:
    """Eligible (2) against excluded (1), over the judged trials that have a score."""
    return metrics.auroc(
        [scores[d] for d, v in judged.items() if v == 2 and d in scores],
        [scores[d] for d, v in judged.items() if v == 1 and d in scores],
    )


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _eligible_topics(data: TrecData) -> dict[str, frozenset[str]]:
    """trial id -> the topics judged eligible (2) for it, over the evaluated topics."""
    out: dict[str, set[str]] = {}
    for topic_id, judged in data.qrels.items():
        for trial_id, label in judged.items():
            if label == 2:
                out.setdefault(trial_id, set()).add(topic_id)
    return {k: frozenset(v) for k, v in out.items()}


def run_system(
    bench: Workbench,
    data: TrecData,
    index_date: date,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
    rank_patients: bool = True,
) -> tuple[TrecRun, Counter[tuple[int, str]]]:
    """The engine's rankings in both directions, plus qrel label x verdict counts."""
    run = TrecRun()
    verdicts: Counter[tuple[int, str]] = Counter()
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    for n, topic in enumerate(data.topics, start=1):
        judged = data.qrels[topic.topic_id]
        ranking = bench.engine.rank_trials(
            fhir_id(topic.topic_id),
            limit=len(judged),
            index_date=index_date,
            trial_ids=frozenset(judged),
        )
        for m in ranking.matches:
            verdicts[(judged[m.trial_id], m.verdict.value)] += 1
        returned = {m.trial_id for m in ranking.matches}
        for trial_id, label in judged.items():
            if trial_id not in returned:
                verdicts[(label, FILTERED)] += 1
        order, scores = complete_ranking([m.trial_id for m in ranking.matches], list(judged))
        run.trials_for[topic.topic_id] = order
        run.scores_for[topic.topic_id] = scores
        eligibility = {m.trial_id: m.eligibility for m in ranking.matches}
        floor = min(eligibility.values(), default=0.0) - 1.0  # filtered: below all returned
        run.eligibility_for[topic.topic_id] = {d: eligibility.get(d, floor) for d in judged}
        if progress:
            progress("rank trials", n, len(data.topics))
    timings["rank_trials_seconds"] = time.perf_counter() - t0
    if rank_patients:
        t0 = time.perf_counter()
        run.topics_for = _rank_patients(bench, data, index_date, progress)
        timings["rank_patients_seconds"] = time.perf_counter() - t0
    return run, verdicts


def _rank_patients(
    bench: Workbench, data: TrecData, index_date: date, progress: Progress | None
) -> dict[str, list[str]]:
    """Per trial with an eligible judged topic: every topic of the run, best first."""
    topic_of = {fhir_id(t.topic_id): t.topic_id for t in data.topics}
    out: dict[str, list[str]] = {}
    patients = frozenset(topic_of)
    eligible = sorted(_eligible_topics(data))
    stored = set(bench.store.get_trials(eligible)) if eligible else set()
    for n, trial_id in enumerate(eligible, start=1):
        if trial_id in stored:
            ranking = bench.engine.rank_patients(
                trial_id, limit=len(patients), index_date=index_date, patient_ids=patients
            )
            returned = [topic_of[m.patient_id] for m in ranking.matches]
        else:
            returned = []
        out[trial_id], _ = complete_ranking(returned, list(topic_of.values()))
        if progress:
            progress("rank patients", n, len(eligible))
    return out


def run_baselines(bench: Workbench, data: TrecData) -> dict[str, TrecRun]:
    """BM25 and plain-embedding rankings of the same pairs, both directions."""
    trial_docs = {tid: baselines.trial_text(rec) for tid, rec in data.trials.items()}
    notes = {t.topic_id: t.text for t in data.topics}
    bm25_trials = baselines.Bm25(trial_docs)
    bm25_topics = baselines.Bm25(notes)
    runs = {"bm25": TrecRun(), "embedding": TrecRun()}
    for topic in data.topics:
        judged = list(data.qrels[topic.topic_id])
        for name, scores in (
            ("bm25", bm25_trials.scores(topic.text, judged)),
            ("embedding", baselines.cosine_scores(bench.embedder, topic.text, trial_docs, judged)),
        ):
            runs[name].trials_for[topic.topic_id] = baselines.ranking(scores)
            runs[name].scores_for[topic.topic_id] = scores
    topic_ids = list(notes)
    for trial_id in _eligible_topics(data):
        query = trial_docs[trial_id]
        runs["bm25"].topics_for[trial_id] = baselines.ranking(bm25_topics.scores(query, topic_ids))
        runs["embedding"].topics_for[trial_id] = baselines.ranking(
            baselines.cosine_scores(bench.embedder, query, notes, topic_ids)
        )
    return runs


def evaluate_trec(
    bench: Workbench,
    data: TrecData,
    index_date: date,
    manifest: Manifest,
    fingerprint: str,
    progress: Progress | None = None,
    rank_patients: bool = True,
) -> dict[str, Any]:
    """Prepare (cached), rank, score. Returns the JSON-ready result.

    `rank_patients=False` skips the reverse direction (most of the ranking time: every trial
    with an eligible topic against every topic) for quick tuning iterations; its MRR is None.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    topics = ingest_topics(bench, data.topics, index_date, manifest, fingerprint)
    trials = submit_trials(
        bench,
        data.trials,
        manifest,
        fingerprint,
        progress=(lambda n, total: progress("submit trials", n, total)) if progress else None,
    )
    timings["prepare_seconds"] = time.perf_counter() - t0
    timings["embed_criteria_seconds"] = warm_criteria_vectors(bench, list(data.trials))
    t0 = time.perf_counter()
    system, verdicts = run_system(bench, data, index_date, progress, timings, rank_patients)
    timings["system_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    runs = {"system": system, **run_baselines(bench, data)}
    timings["baselines_seconds"] = time.perf_counter() - t0
    scored = {name: score_run(runs[name], data) for name in SYSTEMS}
    per_topic = {}
    for topic in data.topics:
        tid = topic.topic_id
        labels = Counter(data.qrels[tid].values())
        row: dict[str, Any] = {"judged": sum(labels.values()), "eligible": labels[2]}
        row["excluded"] = labels[1]
        for name in SYSTEMS:
            for metric, value in scored[name]["per_topic"][tid].items():
                row[f"{name}_{metric}"] = _round(value)
        row["top10_system"] = [
            f"{d}:{data.qrels[tid][d]}" for d in runs["system"].trials_for[tid][:10]
        ]
        per_topic[tid] = row
    return {
        **{name: scored[name]["summary"] for name in SYSTEMS},
        "topics": len(data.topics),
        "pairs": data.pairs,
        "labels": dict(sorted(Counter(v for q in data.qrels.values() for v in q.values()).items())),
        "uncovered_pairs": data.uncovered_pairs,
        "verdicts_by_label": _verdict_table(verdicts),
        "prepare": {"topics": topics.to_dict(), "trials": trials.to_dict()},
        "rejected": {**topics.rejected, **trials.rejected},
        "index_date": index_date.isoformat(),
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "per_topic": per_topic,
    }


def _verdict_table(counts: Mapping[tuple[int, str], int]) -> dict[str, dict[str, int]]:
    """{qrel label: {verdict: count}}: how the engine's verdicts line up with judgments."""
    columns = ("eligible", "possibly_eligible", "ineligible", FILTERED)
    labels = sorted({label for label, _ in counts})
    return {str(lab): {c: counts.get((lab, c), 0) for c in columns} for lab in labels}
