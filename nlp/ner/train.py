"""Train the Chia NER: `python -m nlp.ner.train --data ../shared/data` (`make train-ner`).

One reproducible command: it splits Chia by trial (`nlp.chia.split`), fine-tunes the MiniLM
tagger (`nlp.ner.tagger`, loop in `nlp.ner.finetune`; fixed seed, CPU), saves the pipeline
(criteria tokenizer, `minilm_ner` as "ner", `chia_rules`, `chia_coord`) into the package, and
prints the held-out score of the shipped pipeline (model + rules).

Two recipes:
- `--select` (experiments): train on the train part and score the tune part after every
  epoch; this is how the learning rate, the epoch count and the rules were chosen.
- default (what ships): train on train + tune for the fixed number of epochs chosen that way
  (`--epochs`) and ship the last state. The held-out part is never trained or tuned on.

`--arch cnn` trains the previous model instead (spaCy CNN tok2vec with static vectors
distilled from MiniLM, `nlp/ner/config.cfg`, `--steps`), e.g. to compare.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

CONFIG = Path(__file__).with_name("config.cfg")
MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "chia_ner"
MAX_MODEL_MB = 30.0
# The MiniLM recipe, chosen on the tune part (`--select`).
DEFAULT_EPOCHS = 4
DEFAULT_LR = 1e-4
# Decoding settings (`outside_bias`, per-label `label_bias`) are the `minilm_ner` factory's
# defaults (nlp/ner/tagger.py, chosen on the tune part with a train-only model): `assemble`
# builds the tagger from them, so the shipped config.cfg carries the same values.


def _parse_set(values: list[str]) -> dict[str, object]:
    """`--set components.tok2vec.model.encode.width=192` → spaCy config overrides."""
    out: dict[str, object] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def dir_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def prepare(data: Path, work: Path) -> dict[str, int]:
    """Write train/tune/heldout DocBins; returns criteria per part."""
    import spacy

    import nlp.ner.tokenizer  # noqa: F401  (registers the tokenizer)
    from nlp.chia.loader import load_dir
    from nlp.chia.split import SPLITS, split_of
    from nlp.ner.convert import write_docbin
    from nlp.ner.tokenizer import build_tokenizer

    blank = spacy.blank("en")
    blank.tokenizer = build_tokenizer(blank)
    docs = load_dir(data)
    counts = {}
    for part in SPLITS:
        crit = [c for d in docs if split_of(d.trial_id) == part for c in d.criteria]
        counts[part] = write_docbin(blank, crit, work / f"{part}.spacy")
    both = [c for d in docs if split_of(d.trial_id) in ("train", "tune") for c in d.criteria]
    counts["train+tune"] = write_docbin(blank, both, work / "train_tune.spacy")
    return counts


def train(
    config: Path, work: Path, overrides: dict[str, object], output: Path | None = None
) -> Path:
    from spacy.cli.train import train as spacy_train

    import nlp.ner.tokenizer  # noqa: F401

    out = output or work / "output"
    if out.exists():
        shutil.rmtree(out)
    settings = {
        "paths.train": str(work / "train.spacy"),
        "paths.dev": str(work / "tune.spacy"),
        **overrides,
    }
    spacy_train(config, out, overrides=settings, use_gpu=-1)
    return out


def ship(best: Path, target: Path) -> float:
    """Save the trained pipeline, plus the rules component, into the package.

    Only what inference needs is written (spaCy's `model-best` holds no optimizer state); a
    pipeline over the size budget is refused.
    """
    import spacy

    import nlp.ner.components  # registers our spaCy factories
    import nlp.ner.tokenizer  # noqa: F401

    pipeline = spacy.load(best)
    if "chia_rules" not in pipeline.pipe_names:
        pipeline.add_pipe("chia_rules", last=True)
    return ship_pipeline(
        pipeline,
        target,
        "Entities of eligibility criteria (trialmatch); trained on the train part of Chia dev, "
        "static vectors distilled from all-MiniLM-L6-v2",
        version="1.0.0",
        derived="vectors derived",
    )


def chia_dir(data: Path) -> Path:
    """`--data` may be the shared data root or the Chia folder itself."""
    return data if any(data.glob("*.ann")) else data / "chia" / "dev"


def uses_vectors(config: Path, overrides: dict[str, object]) -> bool:
    from spacy.util import load_config

    key = "components.tok2vec.model.embed.include_static_vectors"
    if key in overrides:
        return bool(overrides[key])
    cfg = load_config(config, interpolate=False)
    return bool(cfg["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"])


def ship_pipeline(
    pipeline,
    target: Path,
    description: str,
    version: str = "2.1.0",
    derived: str = "encoder fine-tuned",
) -> float:
    """Write a pipeline into the package (staged, then swapped in); refuses one over budget.

    `derived` says what of all-MiniLM-L6-v2 the model carries (CNN: distilled vectors; tagger:
    the fine-tuned encoder), for the licence line."""
    pipeline.meta.update(
        {
            "name": "chia_ner",
            "version": version,
            "description": description,
            "license": f"CC-BY-4.0 (trained on Chia, Kury et al. 2020); {derived} "
            "from all-MiniLM-L6-v2 (Apache-2.0)",
            "sources": [
                {"name": "Chia", "license": "CC BY 4.0"},
                {"name": "all-MiniLM-L6-v2", "license": "Apache-2.0"},
            ],
        }
    )
    staging = target.with_name(target.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    pipeline.to_disk(staging)
    size = dir_size_mb(staging)
    if size > MAX_MODEL_MB:
        shutil.rmtree(staging)
        raise SystemExit(f"model is {size:.1f} MB, over the {MAX_MODEL_MB:.0f} MB budget")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return size


def run_tagger(args: argparse.Namespace, chia: Path) -> Path | None:
    """The MiniLM recipe; returns the shipped model folder (None with --no-ship)."""
    from nlp.chia.loader import load_dir
    from nlp.chia.split import split_of
    from nlp.ner.finetune import Settings, assemble, train

    settings = Settings(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    docs = load_dir(chia)
    parts = ("train",) if args.select else ("train", "tune")
    criteria = [c for d in docs if split_of(d.trial_id) in parts for c in d.criteria]
    tune = [d for d in docs if split_of(d.trial_id) == "tune"] if args.select else None
    print(f"{len(criteria)} training criteria from {'+'.join(parts)}", flush=True)
    model, history = train(criteria, settings, tune_docs=tune, log=lambda m: print(m, flush=True))
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "tagger_history.json").write_text(json.dumps(history, indent=1) + "\n")
    if args.no_ship:
        return None
    size = ship_pipeline(
        assemble(model, quantize=False),
        args.out,
        "Entities of eligibility criteria (trialmatch): all-MiniLM-L6-v2 fine-tuned as a "
        f"BIO tagger on the {'+'.join(parts)} part(s) of Chia dev, plus rules",
    )
    print(f"shipped {args.out} ({size:.1f} MB)", flush=True)
    return args.out


def run_cnn(args: argparse.Namespace, chia: Path) -> Path:
    """The previous recipe (spaCy CNN + distilled static vectors); returns the model folder."""
    overrides = _parse_set(args.set)
    if uses_vectors(args.config, overrides):
        vectors = args.vectors or args.work / "vectors"
        if args.vectors is None:
            from nlp.ner.vectors import build as build_vectors

            root = args.data.parent.parent if chia == args.data else args.data
            n = build_vectors(root, vectors, dims=96, min_count=2, max_words=20000)
            print(f"{n} static vectors in {vectors}", flush=True)
        overrides["paths.vectors"] = str(vectors)
    counts = prepare(chia, args.work)
    print(f"criteria per part: {counts}", flush=True)
    if not args.select:
        overrides.update(
            {
                "paths.train": str(args.work / "train_tune.spacy"),
                "training.max_steps": args.steps,
                "training.patience": 0,
            }
        )
    output = train(args.config, args.work, overrides)
    best = output / ("model-best" if args.select else "model-last")
    if args.no_ship:
        return best
    size = ship(best, args.out)
    print(f"shipped {args.out} ({size:.1f} MB)", flush=True)
    return args.out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlp.ner.train", description=__doc__)
    ap.add_argument("--data", type=Path, required=True, help="shared data root (or Chia folder)")
    ap.add_argument("--arch", choices=("minilm", "cnn"), default="minilm")
    ap.add_argument("--work", type=Path, default=Path("build/ner"), help="scratch folder")
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="where the model is shipped")
    ap.add_argument("--no-ship", action="store_true", help="train and score, do not ship")
    ap.add_argument(
        "--select", action="store_true", help="train on train only, score tune per epoch"
    )
    ap.add_argument("--seed", type=int, default=13)
    mini = ap.add_argument_group("minilm")
    mini.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="final recipe epochs")
    mini.add_argument("--lr", type=float, default=DEFAULT_LR)
    mini.add_argument("--batch-size", type=int, default=32)
    cnn = ap.add_argument_group("cnn")
    cnn.add_argument("--config", type=Path, default=CONFIG)
    cnn.add_argument("--set", action="append", default=[], help="spaCy config override K=V")
    cnn.add_argument("--vectors", type=Path, default=None, help="reuse built static vectors")
    cnn.add_argument("--steps", type=int, default=2500, help="steps of the final recipe")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    chia = chia_dir(args.data)
    model = run_tagger(args, chia) if args.arch == "minilm" else run_cnn(args, chia)
    if model is None or args.select:
        print(f"done in {time.monotonic() - t0:.0f} s", flush=True)
        return 0

    from nlp.chia.loader import load_dir
    from nlp.chia.split import split_of
    from nlp.ner.evaluate import evaluate

    held = [d for d in load_dir(chia) if split_of(d.trial_id) == "heldout"]
    report = evaluate(held, model)
    print(json.dumps({"heldout": report.to_json()}, indent=1))
    print(f"done in {time.monotonic() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
