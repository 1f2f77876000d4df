"""Throughput of `parse_bundle` over a folder of real Synthea bundles.

Ingest latency is dominated by schema validation (fhir.resources/pydantic), so the figure that
matters is end to end: bytes in, PatientRecords out, for bundles of realistic size. Files are
read into memory before the clock starts so disk speed does not blur the number; one warm-up
parse keeps model-class import time out of the measurement.

    .venv/bin/python bench/ingest_normalize.py [--data ../shared/data/synthea]
        [--out bench/results/ingest_normalize.json] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from matcher.fhir import parse_bundle  # noqa: E402


def run(data_dir: Path, repeat: int) -> dict[str, float | int]:
    """Best-of-`repeat` wall time for parsing every bundle once (best, not mean: less noise)."""
    files = sorted(data_dir.glob("*.json"))
    if not files:
        raise SystemExit(f"no *.json bundles in {data_dir}")
    payloads = [f.read_bytes() for f in files]
    entries = sum(len(json.loads(p).get("entry", [])) for p in payloads)
    parse_bundle(payloads[0])  # warm-up: imports model classes, fills caches
    best = float("inf")
    patients = facts = 0
    for _ in range(repeat):
        start = time.perf_counter()
        records = [r for p in payloads for r in parse_bundle(p)]
        best = min(best, time.perf_counter() - start)
        patients = len(records)
        facts = sum(len(r.facts) for r in records)
    return {
        "bundles": len(payloads),
        "entries": entries,
        "patients": patients,
        "facts": facts,
        "megabytes": round(sum(len(p) for p in payloads) / 1e6, 2),
        "seconds": round(best, 3),
        "bundles_per_s": round(len(payloads) / best, 2),
        "entries_per_s": round(entries / best, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "synthea")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "ingest_normalize.json"
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.data, max(1, args.repeat))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
