"""`trialmatch eval trec`: re-rank each topic's judged trials; system vs BM25 vs embedding.

    trialmatch eval trec --data ../shared/data/trec2021 [--json] [--limit-topics N]

The first run on a dataset ingests the topics, parses the trials and embeds their criteria
(minutes on two cores); later runs reuse the workspace in --cache-dir and only rank.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from services.evals.common import add_common_flags, report_console, run_eval


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trec",
        help="TREC-style ranking: NDCG@10, P@10, AUROC, RankPatients MRR, with baselines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        help="folder with queries.jsonl, qrels.tsv, trials.jsonl",
    )
    p.add_argument("--limit-topics", type=int, default=None, help="only the first N topics")
    p.add_argument(
        "--skip-rank-patients",
        action="store_true",
        help="skip the RankPatients direction (its MRR is null); most of the ranking time",
    )
    add_common_flags(p, "var/eval/<data folder name>")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from matcher.evaluation.data import load_trec
    from matcher.evaluation.report import LineProgress
    from matcher.evaluation.trec import evaluate_trec

    return run_eval(
        args,
        lambda: load_trec(args.data, args.limit_topics),
        Path("var/eval") / args.data.resolve().name,
        lambda app, data, when, manifest, fingerprint: evaluate_trec(
            app,
            data,
            when,
            manifest,
            fingerprint,
            LineProgress(),
            rank_patients=not args.skip_rank_patients,
        ),
        print_report,
    )


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def print_report(result: dict[str, Any]) -> None:
    from rich.table import Table

    console = report_console()
    summary = Table(title=f"{result['data']}: {result['topics']} topics, {result['pairs']} pairs")
    # auroc: of the eligibility estimate (the system) or the ranking (baselines);
    # auroc_ranking: of the system's ranking order, for comparison with the baselines' auroc
    metrics = ("ndcg@10", "p@10", "auroc", "auroc_ranking", "rank_patients_mrr")
    summary.add_column("system")
    for m in metrics:
        summary.add_column(m, justify="right")
    for name in ("system", "bm25", "embedding"):
        summary.add_row(name, *(_fmt(result[name].get(m)) for m in metrics))
    console.print(summary)

    topics = Table(title="per topic (sorted by system - BM25 NDCG@10)")
    for col in ("topic", "judged", "elig", "excl", "system", "bm25", "embed", "Δ", "sys AUROC"):
        topics.add_column(col, justify="left" if col == "topic" else "right", no_wrap=True)
    rows = sorted(
        result["per_topic"].items(),
        key=lambda kv: kv[1]["system_ndcg@10"] - kv[1]["bm25_ndcg@10"],
    )
    for tid, row in rows:
        delta = row["system_ndcg@10"] - row["bm25_ndcg@10"]
        style = "red" if delta < 0 else ("green" if delta > 0 else "")
        topics.add_row(
            tid,
            str(row["judged"]),
            str(row["eligible"]),
            str(row["excluded"]),
            _fmt(row["system_ndcg@10"]),
            _fmt(row["bm25_ndcg@10"]),
            _fmt(row["embedding_ndcg@10"]),
            f"[{style}]{delta:+.3f}[/{style}]" if style else f"{delta:+.3f}",
            _fmt(row["system_auroc"]),
        )
    console.print(topics)

    verdicts = Table(title="judged label x system verdict (pairs)")
    verdicts.add_column("label")
    columns = ("eligible", "possibly_eligible", "ineligible", "filtered")
    for c in columns:
        verdicts.add_column(c, justify="right")
    names = {"0": "0 not relevant", "1": "1 excluded", "2": "2 eligible"}
    for label, counts in result["verdicts_by_label"].items():
        verdicts.add_row(names.get(label, label), *(str(counts[c]) for c in columns))
    console.print(verdicts)
    prep = result["prepare"]
    console.print(
        f"prepared: topics {prep['topics']}, trials {prep['trials']}; "
        f"timings {result['timings']}; cache {result['cache_dir']}"
    )
    if result["rejected"]:
        console.print(f"[yellow]rejected inputs[/yellow]: {result['rejected']}")
