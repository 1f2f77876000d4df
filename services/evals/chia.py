"""`trialmatch eval chia`: entity extraction scored against Chia (strict and relaxed F1).

Reads a folder of Chia `.txt`/`.ann` pairs (CRLF offset quirk corrected by the loader), runs
the shipped entity pipeline (statistical NER + rules) on every criterion line and prints
precision / recall / F1 per entity type and micro-averaged over the eight evaluated types.
`--split heldout` keeps only the trials of the held-out part of the deterministic split (the
part the shipped model was neither trained nor tuned on) when DIR is the whole Chia dev set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chia", help="NER precision/recall/F1 on Chia (.txt/.ann pairs)")
    p.add_argument("--data", type=Path, required=True, help="folder of Chia .txt/.ann pairs")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    p.add_argument("--model", type=Path, default=None, help="spaCy pipeline (default: shipped)")
    p.add_argument(
        "--split",
        choices=("all", "train", "tune", "heldout"),
        default="all",
        help="only the trials of one part of the split by trial id (default: every file)",
    )
    p.add_argument(
        "--no-rules", action="store_true", help="statistical model only (no rule components)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nlp.chia.loader import ChiaFormatError, load_dir
    from nlp.chia.split import split_of
    from nlp.ner.evaluate import predict
    from nlp.ner.pipeline import load_ner

    try:
        docs = load_dir(args.data)
    except ChiaFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.split != "all":
        docs = [d for d in docs if split_of(d.trial_id) == args.split]
    if not docs:
        print(f"error: no Chia .txt/.ann pairs in {args.data} ({args.split})", file=sys.stderr)
        return 2
    try:
        nlp = load_ner(args.model)
    except (FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from nlp.chia.metrics import score

    rules = [name for name in ("chia_rules", "chia_coord") if name in nlp.pipe_names]
    if args.no_rules and rules:
        with nlp.select_pipes(disable=rules):
            report = score(predict(docs, nlp))
    else:
        report = score(predict(docs, nlp))
    result = report.to_json()
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(result, report, len(docs))
    return 0


def _print_table(result: dict, report, files: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Chia NER: {result['criteria']} criteria in {files} files",
        caption="S = strict (same type, exact span); R = relaxed (same type, overlapping)",
    )
    table.add_column("type", no_wrap=True, min_width=11)
    table.add_column("gold", justify="right")
    for mode in ("S", "R"):
        for col in ("P", "R", "F1"):
            table.add_column(f"{mode}-{col}", justify="right", no_wrap=True)

    def row(name: str, gold: int, scores: dict, style: str | None = None) -> None:
        cells = [
            f"{scores[m][k]:.3f}"
            for m in ("strict", "relaxed")
            for k in ("precision", "recall", "f1")
        ]
        table.add_row(name, str(gold), *cells, style=style)

    for t, scores in result["per_type"].items():
        row(t, report.counts[t]["strict"].gold, scores)
    row(
        "micro",
        report.micro("strict").gold,
        {"strict": result["strict"], "relaxed": result["relaxed"]},
        style="bold",
    )
    Console().print(table)
