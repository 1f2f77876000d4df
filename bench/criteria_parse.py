"""Benchmark the rule-based criteria parser over a trials.jsonl file.

Reports throughput (criteria/s, trials/s) and the category distribution, in particular the
share of criteria left OTHER, which is the headroom for the planned NER pipeline.

    .venv/bin/python bench/criteria_parse.py --data /work/shared/data/trec2021/trials.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from nlp.criteria import build_parser, split_criteria


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/trec2021/trials.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/criteria_parse.json"))
    args = ap.parse_args(argv)

    texts = [
        (row["nct_id"], row.get("eligibility_criteria") or "")
        for row in map(json.loads, args.data.read_text(encoding="utf-8").splitlines())
    ]
    parser = build_parser()
    t0 = time.perf_counter()
    segments = sum(len(split_criteria(t)) for _, t in texts)
    t_split = time.perf_counter() - t0
    categories: Counter[str] = Counter()
    t0 = time.perf_counter()
    for nct, text in texts:
        for crit in parser.parse(text, id_prefix=f"{nct}-"):
            categories[crit.category.value] += 1
    elapsed = time.perf_counter() - t0
    total = sum(categories.values())
    result: dict[str, object] = {
        "data": str(args.data),
        "trials": len(texts),
        "segments": segments,
        "criteria": total,
        "split_seconds": round(t_split, 3),
        "parse_seconds": round(elapsed, 3),
        "criteria_per_second": round(total / elapsed, 1),
        "trials_per_second": round(len(texts) / elapsed, 1),
        "categories": dict(categories.most_common()),
        "category_share": {k: round(v / total, 4) for k, v in categories.most_common()},
        "other_share": round(categories["other"] / total, 4) if total else 0.0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
