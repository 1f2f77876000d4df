"""Score an entity pipeline on Chia docs with `nlp.chia.metrics` (used by train and eval)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nlp.chia.loader import ChiaDoc, Entity
from nlp.chia.metrics import Report, score

if TYPE_CHECKING:
    from spacy.language import Language


def predict(docs: Sequence[ChiaDoc], nlp: Language) -> list[tuple[list[Entity], list[Entity]]]:
    """(gold, predicted) per criterion, predicted offsets relative to the criterion line."""
    from nlp.ner.pipeline import extract_entities

    criteria = [c for d in docs for c in d.criteria]
    predicted = extract_entities((c.text for c in criteria), nlp=nlp)
    return [
        (list(c.entities), [Entity(e.type, ((e.start, e.end),), e.text) for e in ents])
        for c, ents in zip(criteria, predicted, strict=True)
    ]


def evaluate(docs: Sequence[ChiaDoc], model: Path | str | None = None) -> Report:
    from nlp.ner.pipeline import load_ner

    return score(predict(docs, load_ner(model)))


def error_breakdown(
    pairs: Sequence[tuple[list[Entity], list[Entity]]], types: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Where relaxed misses come from, per gold type: found (same type overlaps), confused
    (only another type's prediction overlaps), boundary-only (found relaxed, not strict),
    missed (nothing overlaps); and spurious predictions (overlap no gold entity at all)."""
    out = {
        t: {"gold": 0, "strict": 0, "relaxed_only": 0, "confused": 0, "missed": 0, "spurious": 0}
        for t in types
    }
    for gold, pred in pairs:
        for g in gold:
            if g.type not in out:
                continue
            row = out[g.type]
            row["gold"] += 1
            over = [p for p in pred if any(a < d and c < b for a, b in g.spans for c, d in p.spans)]
            if any(p.type == g.type and (p.start, p.end) == (g.start, g.end) for p in over):
                row["strict"] += 1
            elif any(p.type == g.type for p in over):
                row["relaxed_only"] += 1
            elif over:
                row["confused"] += 1
            else:
                row["missed"] += 1
        for p in pred:
            if p.type in out and not any(
                a < d and c < b for g in gold for a, b in g.spans for c, d in p.spans
            ):
                out[p.type]["spurious"] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m nlp.ner.evaluate --data DIR --split tune`: scores plus the error breakdown."""
    import argparse
    import json

    from nlp.chia.loader import EVAL_TYPES, load_dir
    from nlp.chia.split import split_of
    from nlp.ner.pipeline import load_ner

    ap = argparse.ArgumentParser(prog="python -m nlp.ner.evaluate")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="tune", choices=("train", "tune", "heldout"))
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args(argv)
    docs = [d for d in load_dir(args.data) if split_of(d.trial_id) == args.split]
    pairs = predict(docs, load_ner(args.model))
    print(json.dumps(score(pairs).to_json()))
    rows = error_breakdown(pairs, EVAL_TYPES)
    cols = ["gold", "strict", "relaxed_only", "confused", "missed", "spurious"]
    print(f"{'type':12}" + "".join(f"{c:>13}" for c in cols))
    for t, row in rows.items():
        print(f"{t:12}" + "".join(f"{row[c]:>13}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
