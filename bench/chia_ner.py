"""Throughput of the entity pipeline (criteria tokenizer, ner (MiniLM tagger), chia_rules).

Runs `nlp.ner.extract_entities` (the call the criteria parser makes, `nlp.pipe` batching) over
Chia criterion lines, a few rounds, and writes criteria/s and words/s to
bench/results/chia_ner.json. Threads are pinned to the number of cores asked for (default 2,
the target machine) before numpy/torch load, so the figure is comparable across machines.

    .venv/bin/python bench/chia_ner.py --data ../shared/data/chia/dev
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/chia/dev"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/chia_ner.json"))
    ap.add_argument("--model", type=Path, default=None, help="spaCy pipeline (default: shipped)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--limit", type=int, default=3000, help="criteria per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    from nlp.chia.loader import load_dir
    from nlp.ner.pipeline import extract_entities, load_ner

    texts = [c.text for d in load_dir(args.data) for c in d.criteria][: args.limit]
    t0 = time.perf_counter()
    nlp = load_ner(args.model)
    load_s = time.perf_counter() - t0
    extract_entities(texts[:64], nlp=nlp)  # warm-up
    rounds = []
    entities = 0
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        found = extract_entities(texts, nlp=nlp, batch_size=args.batch_size)
        rounds.append(time.perf_counter() - t0)
        entities = sum(map(len, found))
    best = min(rounds)
    words = sum(len(t.split()) for t in texts)
    result: dict[str, object] = {
        "benchmark": "chia_ner",
        "data": str(args.data),
        "model": str(args.model or "shipped"),
        "pipeline": nlp.pipe_names,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "criteria": len(texts),
        "words": words,
        "entities": entities,
        "load_s": round(load_s, 2),
        "rounds_s": [round(r, 3) for r in rounds],
        "criteria_per_s": round(len(texts) / best, 1),
        "criteria_per_s_median": round(len(texts) / sorted(rounds)[len(rounds) // 2], 1),
        "words_per_s": round(words / best, 1),
        "target_criteria_per_s": 200,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
