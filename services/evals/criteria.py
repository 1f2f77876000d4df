"""`trialmatch eval criteria`: criterion-level accuracy against expert labels.

    trialmatch eval criteria --data ../shared/data/criterion_annotations/dev.jsonl [--json]
        [--closed-world-exclusions] [--dump pairs.jsonl]

Each note is ingested once as a FHIR Bundle (cached in --cache-dir); each criterion is parsed
and evaluated by the engine. Both the open-world accuracy and the closed-world one (an
exclusion with no evidence in the note counts as "not excluded") are reported; the flag picks
the labels used for the confusion matrix and the dump.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from services.evals.common import add_common_flags, report_console, run_eval


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "criteria",
        help="criterion-level accuracy, confusion matrix and evidence F1 vs expert labels",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, required=True, help="criterion-annotation JSONL file")
    p.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    p.add_argument(
        "--closed-world-exclusions",
        action="store_true",
        help="label an UNKNOWN exclusion 'not excluded' in the confusion matrix and the dump",
    )
    p.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="write one JSON line per pair: labels, parsed criteria, reasons, evidence",
    )
    add_common_flags(p, "var/eval/criteria-<file name>")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from matcher.evaluation.criteria import evaluate_criteria
    from matcher.evaluation.data import load_criterion_pairs
    from matcher.evaluation.report import LineProgress

    def evaluate(app: Any, pairs: Any, when: Any, manifest: Any, fingerprint: str) -> Any:
        with contextlib.ExitStack() as stack:
            dump = None
            if args.dump is not None:
                args.dump.parent.mkdir(parents=True, exist_ok=True)
                dump = stack.enter_context(args.dump.open("w", encoding="utf-8"))
            return evaluate_criteria(
                app,
                pairs,
                when,
                manifest,
                fingerprint,
                closed_world=args.closed_world_exclusions,
                dump=dump,
                progress=LineProgress(),
            )

    return run_eval(
        args,
        lambda: load_criterion_pairs(args.data, args.limit),
        Path("var/eval") / f"criteria-{args.data.stem}",
        evaluate,
        print_report,
    )


def print_report(result: dict[str, Any]) -> None:
    from rich.table import Table

    from matcher.evaluation.data import LABELS

    console = report_console()
    headline = Table(title=f"{result['data']}: {result['pairs']} pairs, {result['patients']} notes")
    for col in ("accuracy", "closed world", "majority baseline", "evidence F1 (P / R)"):
        headline.add_column(col, justify="right")
    ev = result["evidence"]
    headline.add_row(
        f"{result['accuracy']:.3f}",
        f"{result['accuracy_closed_world']:.3f}",
        f"{result['majority_baseline']:.3f}",
        f"{ev['f1']:.3f} ({ev['precision']:.3f} / {ev['recall']:.3f})",
    )
    console.print(headline)

    short = {
        "included": "incl",
        "not included": "not incl",
        "excluded": "excl",
        "not excluded": "not excl",
        "not enough information": "no info",
        "not applicable": "n/a",
    }
    confusion = Table(title=f"gold (rows) x predicted (columns), {result['policy']}")
    confusion.add_column("gold")
    for label in LABELS:
        confusion.add_column(short[label], justify="right")
    confusion.add_column("total", justify="right")
    for gold in LABELS:
        row = result["confusion"][gold]
        cells = [
            f"[bold green]{row[p]}[/bold green]" if p == gold and row[p] else str(row[p])
            for p in LABELS
        ]
        confusion.add_row(gold, *cells, str(sum(row.values())))
    console.print(confusion)
    console.print(
        f"by type: {result['by_type']}; majority labels {result['majority_labels']}\n"
        f"outcomes: {result['outcomes']}\nparsed categories: {result['parsed_categories']}\n"
        f"timings {result['timings']}; cache {result['cache_dir']}"
    )
