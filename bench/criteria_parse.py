"""Benchmark the criteria pipeline (segmenter + spaCy components) over a trials.jsonl file.

Reports end-to-end throughput (criteria/s, trials/s, through `parse_many`, i.e. `nlp.pipe`
batching, NER included when the pipeline has one), the segmenter's own speed, and the
category distribution, in particular the share of criteria left OTHER.

    .venv/bin/python bench/criteria_parse.py --data ../shared/data/trec2021/trials.jsonl
    .venv/bin/python bench/criteria_parse.py --ner off   # rules alone
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

from nlp.criteria import build_parser, split_criteria


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/trec2021/trials.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/criteria_parse.json"))
    ap.add_argument("--ner", default=None, help="auto | off | default | PATH (pipeline.yaml)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N trials")
    ap.add_argument("--chunk", type=int, default=64, help="trials per parse_many call")
    args = ap.parse_args(argv)

    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    if args.limit:
        rows = rows[: args.limit]
    texts = [(row["nct_id"], row.get("eligibility_criteria") or "") for row in rows]
    t0 = time.perf_counter()
    parser = build_parser({"ner": args.ner} if args.ner else None)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    segments = sum(len(split_criteria(t)) for _, t in texts)
    t_split = time.perf_counter() - t0
    categories: Counter[str] = Counter()
    structured_segments = 0
    t0 = time.perf_counter()
    for n in range(0, len(texts), args.chunk):
        chunk = texts[n : n + args.chunk]
        results = parser.parse_many([t for _, t in chunk], id_prefixes=[f"{i}-" for i, _ in chunk])
        for criteria in results:
            spans: dict[tuple[int, int], bool] = {}
            for crit in criteria:
                categories[crit.category.value] += 1
                key = (crit.span_start, crit.span_end)
                spans[key] = spans.get(key, False) or crit.category.value != "other"
            structured_segments += sum(spans.values())
    elapsed = time.perf_counter() - t0
    total = sum(categories.values())
    result: dict[str, object] = {
        "data": str(args.data),
        "ner": parser.uses_ner,
        "cpus": os.cpu_count(),
        "trials": len(texts),
        "segments": segments,
        "criteria": total,
        "build_seconds": round(t_build, 3),
        "split_seconds": round(t_split, 3),
        "parse_seconds": round(elapsed, 3),
        "criteria_per_second": round(total / elapsed, 1),
        "segments_per_second": round(segments / elapsed, 1),
        "trials_per_second": round(len(texts) / elapsed, 1),
        "categories": dict(categories.most_common()),
        "category_share": {k: round(v / total, 4) for k, v in categories.most_common()},
        "other_share": round(categories["other"] / total, 4) if total else 0.0,
        "structured_segment_share": round(structured_segments / segments, 4) if segments else 0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
