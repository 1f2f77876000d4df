"""Patient-note NLP speed: notes through the whole nlp/notes pipeline, one at a time.

Ingest extracts facts from every note of a bundle, so the figure that matters is the time per
note (the brief: well under 100 ms for a TREC admission note). The notes are the 75 TREC 2021
and 58 SIGIR topics (free prose, 1 to 40 sentences) plus the 44 distinct criterion-annotation
notes (numbered sentences). The one-off pipeline build (spaCy + medspaCy import, a few
thousand lexicon and ConText rules) is reported separately: it is paid once per process.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/note_facts.py [--data ../shared/data]
        [--repeat 3] [--out bench/results/note_facts.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from matcher.model import Note  # noqa: E402


def load_notes(data: Path) -> dict[str, list[Note]]:
    sets: dict[str, list[Note]] = {}
    for name in ("trec2021", "sigir"):
        with (data / name / "queries.jsonl").open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        sets[name] = [Note(f"DocumentReference/{r['_id']}", r["text"]) for r in rows]
    seen: dict[str, str] = {}
    with (data / "criterion_annotations" / "dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                seen.setdefault(row["patient_id"], row["note"])
    sets["criterion_notes"] = [Note(f"DocumentReference/{k}", v) for k, v in seen.items()]
    return sets


def run(data: Path, repeat: int) -> dict[str, Any]:
    start = time.perf_counter()
    from nlp.notes import NoteFactExtractor

    extractor = NoteFactExtractor()
    build_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "pipeline": extractor.components,
        "pipeline_build_seconds": round(build_s, 2),
    }
    for name, notes in load_notes(data).items():
        extractor.extract(notes[0])  # first-call allocations out of the timing
        per_note: list[float] = []
        facts: list[int] = []
        assertions: Counter[str] = Counter()
        for _ in range(repeat):
            for note in notes:
                t = time.perf_counter()
                found = extractor.extract(note)
                per_note.append((time.perf_counter() - t) * 1000)
                facts.append(len(found))
                assertions.update(f.assertion.value for f in found)
        chars = [len(n.text) for n in notes]
        per_note.sort()
        result[name] = {
            "notes": len(notes),
            "mean_chars": round(statistics.mean(chars)),
            "max_chars": max(chars),
            "ms_per_note_mean": round(statistics.mean(per_note), 2),
            "ms_per_note_p50": round(per_note[len(per_note) // 2], 2),
            "ms_per_note_p95": round(per_note[int(len(per_note) * 0.95)], 2),
            "ms_per_note_max": round(per_note[-1], 2),
            "notes_per_s": round(1000 / statistics.mean(per_note), 1),
            "facts_per_note": round(statistics.mean(facts), 1),
            "assertions": dict(sorted((k, v // repeat) for k, v in assertions.items())),
        }
    result["repeat"] = repeat
    result["machine"] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "note_facts.json")
    args = parser.parse_args(argv)
    result = run(args.data, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
