"""Fine-tune the MiniLM tagger (`nlp.ner.tagger`) on Chia: the training loop of `make train-ner`.

Targets are the same non-overlapping spans the CNN was trained on (`nlp.ner.convert.to_doc`:
weighted interval scheduling over nested gold, discontinuous entities as their enclosing span,
misaligned spans marked missing), as BIO tags at each token's first word piece. The word-piece
embedding matrix stays frozen (it ships with the installed package, not with the model).

CPU, fixed seed, AdamW with linear warm-up and decay, batches of similar length. With
`--select` the tune part is scored after every epoch (model alone and with the rules); the
final recipe trains on train + tune for the epoch count chosen that way.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.chia.loader import Criterion


@dataclass(slots=True)
class Settings:
    epochs: int = 4
    lr: float = 1e-4
    head_lr: float = 1e-3
    batch_size: int = 32
    warmup: float = 0.1
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    dropout: float = 0.1
    max_length: int = 128
    seed: int = 13
    threads: int = 1  # under CPU contention two torch threads spin-wait (10x slower)


def blank_pipeline():
    import spacy

    import nlp.ner.tokenizer  # noqa: F401  (registers the tokenizer)

    return spacy.blank(
        "en", config={"nlp": {"tokenizer": {"@tokenizers": "trialmatch.criteria_tokenizer.v1"}}}
    )


def token_tags(doc) -> list[str | None]:
    """BIO tag per token of a training doc (None where the gold is unknown)."""
    out: list[str | None] = []
    for t in doc:
        if t.ent_iob_ == "":
            out.append(None)
        elif t.ent_iob_ == "O":
            out.append("O")
        else:
            out.append(f"{t.ent_iob_}-{t.ent_type_}")
    return out


def encode(
    criteria: Sequence[Criterion], tokenizer, tags: Sequence[str], max_length: int
) -> list[tuple[list[int], list[int]]]:
    """(input ids, per-piece targets) per criterion."""
    from nlp.ner.convert import to_doc
    from nlp.ner.tagger import piece_targets

    nlp = blank_pipeline()
    index = {t: i for i, t in enumerate(tags)}
    out = []
    for c in criteria:
        doc = to_doc(nlp, c)
        if not len(doc):
            continue
        words = [t.text for t in doc]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        ids = [index[t] if t is not None else None for t in token_tags(doc)]
        out.append((enc["input_ids"], piece_targets(enc.word_ids(), ids)))
    return out


def batches(
    examples: Sequence[tuple[list[int], list[int]]], size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar-length examples (indices)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = size * 50
    out = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: len(examples[j][0]))
        out.extend(chunk[k : k + size] for k in range(0, len(chunk), size))
    rng.shuffle(out)
    return out


def collate(examples, idx):
    import torch

    from nlp.ner.tagger import IGNORE

    width = max(len(examples[j][0]) for j in idx)
    ids = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    target = torch.full((len(idx), width), IGNORE, dtype=torch.long)
    for row, j in enumerate(idx):
        x, y = examples[j]
        ids[row, : len(x)] = torch.tensor(x)
        mask[row, : len(x)] = 1
        target[row, : len(y)] = torch.tensor(y)
    return ids, mask, target


def score_on(criteria_docs, model, tagger_quantize: bool = False) -> dict[str, Any]:
    """Tune-part micro scores of the model alone and with the rules."""
    from nlp.chia.metrics import score
    from nlp.ner.evaluate import predict

    nlp = assemble(model, quantize=tagger_quantize)
    out = {}
    with nlp.select_pipes(disable=["chia_rules", "chia_coord"]):
        r = score(predict(criteria_docs, nlp))
    out["model"] = {"strict": r.micro("strict").f1, "relaxed": r.micro("relaxed").f1}
    r = score(predict(criteria_docs, nlp))
    out["rules"] = {"strict": r.micro("strict").f1, "relaxed": r.micro("relaxed").f1}
    out["per_type"] = r.to_json()["per_type"]
    model.train()
    return out


def assemble(model, quantize: bool = True):
    """The shipped pipeline around a trained model: tokenizer, ner (MiniLM), chia_rules,
    chia_coord."""
    import nlp.ner.components  # registers chia_rules
    import nlp.ner.tagger  # noqa: F401  (registers minilm_ner)

    pipeline = blank_pipeline()
    tagger = pipeline.add_pipe("minilm_ner", name="ner", config={"quantize": True})
    tagger.set_model(model, quantize=quantize)
    pipeline.add_pipe("chia_rules", last=True)
    pipeline.add_pipe("chia_coord", last=True)
    return pipeline


def train(
    train_criteria: Sequence[Criterion],
    settings: Settings,
    tune_docs=None,
    log=print,
    checkpoint: Path | None = None,
):
    """Fine-tune; returns the model after the last epoch (and scores per epoch if tune_docs)."""
    import torch

    from nlp.ner.tagger import IGNORE, build_model, load_tokenizer, tag_names

    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    tags = tag_names()
    tokenizer = load_tokenizer()
    examples = encode(train_criteria, tokenizer, tags, settings.max_length)
    model = build_model(len(tags), dropout=settings.dropout)
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    head = [p for n, p in model.named_parameters() if n.startswith("head.")]
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad or n.startswith("head."):
            continue
        (no_decay if p.ndim == 1 else decay).append(p)
    optim = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay, "lr": settings.lr},
            {"params": no_decay, "weight_decay": 0.0, "lr": settings.lr},
            {"params": head, "weight_decay": 0.0, "lr": settings.head_lr},
        ]
    )
    steps_per_epoch = -(-len(examples) // settings.batch_size)
    total = steps_per_epoch * settings.epochs
    warm = max(1, int(total * settings.warmup))

    def factor(step: int) -> float:
        return step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, factor)
    loss_fn = torch.nn.CrossEntropyLoss(
        ignore_index=IGNORE, label_smoothing=settings.label_smoothing
    )
    log(f"{len(examples)} examples, {steps_per_epoch} steps/epoch, {settings}")
    history = []
    model.train()
    t0 = time.monotonic()
    for epoch in range(1, settings.epochs + 1):
        running, n = 0.0, 0
        for idx in batches(examples, settings.batch_size, rng):
            ids, mask, target = collate(examples, idx)
            logits = model(ids, mask)
            loss = loss_fn(logits.view(-1, logits.shape[-1]), target.view(-1))
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            running += loss.item()
            n += 1
            if n % 50 == 0:
                log(
                    f"epoch {epoch} step {n}/{steps_per_epoch} loss {running / n:.4f} "
                    f"{time.monotonic() - t0:.0f} s"
                )
        row: dict[str, Any] = {"epoch": epoch, "loss": round(running / n, 4)}
        row["s"] = round(time.monotonic() - t0)
        if tune_docs is not None:
            row["tune"] = score_on(tune_docs, model)
            if checkpoint is not None:
                from nlp.ner.tagger import save_weights

                save_weights(model, checkpoint.with_name(f"{checkpoint.stem}-e{epoch}.safetensors"))
        history.append(row)
        log(json.dumps({k: v for k, v in row.items() if k != "tune"} | _brief(row)))
    model.eval()
    return model, history


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    if "tune" not in row:
        return {}
    t = row["tune"]
    return {
        "model": {k: round(v, 4) for k, v in t["model"].items()},
        "rules": {k: round(v, 4) for k, v in t["rules"].items()},
    }
