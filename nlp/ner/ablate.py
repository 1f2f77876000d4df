"""Measure each NER rule on the tune split: `python -m nlp.ner.ablate --data DIR [--model M]`.

For every rule in `nlp/rules/ner.yaml` (enabled or not) it prints the change in micro strict
and relaxed F1 when the rule is added to the model alone, and when it is removed from the
enabled set, plus the change on the rule's own label (auxiliary labels such as Negation are
outside the micro average). A rule earns `enabled: true` only if it helps here. The model runs
once; the rules are re-applied to copies of its output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nlp.chia.loader import EVAL_TYPES, Entity
from nlp.chia.metrics import Report, score


def _score(gold: list[list[Entity]], docs: list, rules: list, types: tuple[str, ...]) -> Report:
    from nlp.ner.components import ChiaRules

    component = ChiaRules(rules)
    pairs = []
    for g, doc in zip(gold, docs, strict=True):
        out = component(doc.copy())
        pairs.append((g, [Entity(e.label_, ((e.start_char, e.end_char),)) for e in out.ents]))
    return score(pairs, types)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlp.ner.ablate", description=__doc__)
    ap.add_argument("--data", type=Path, required=True, help="Chia dev folder")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--split", default="tune", choices=("train", "tune"))
    args = ap.parse_args(argv)

    from nlp.chia.loader import load_dir
    from nlp.chia.split import split_of
    from nlp.ner.convert import LABELS
    from nlp.ner.pipeline import load_ner
    from nlp.ner.rules import compile_rules, load_ner_rules

    docs = [d for d in load_dir(args.data) if split_of(d.trial_id) == args.split]
    criteria = [c for d in docs for c in d.criteria]
    nlp = load_ner(args.model)
    disabled = [p for p in nlp.pipe_names if p in ("chia_rules", "chia_coord")]
    with nlp.select_pipes(disable=disabled):
        processed = list(nlp.pipe((c.text for c in criteria), batch_size=128))
    gold = [list(c.entities) for c in criteria]
    rules_file = load_ner_rules()
    every = compile_rules(rules_file, only={r.name for r in rules_file.rules})
    enabled = compile_rules(rules_file)
    types = tuple(LABELS)

    def summary(report: Report) -> tuple[float, float]:
        return (
            report.micro("strict", EVAL_TYPES).f1,
            report.micro("relaxed", EVAL_TYPES).f1,
        )

    base = _score(gold, processed, [], types)
    full = _score(gold, processed, enabled, types)
    b_s, b_r = summary(base)
    f_s, f_r = summary(full)
    print(f"{len(criteria)} criteria ({args.split})")
    print("micro F1 over the 8 evaluated types; label columns: the rule's own label")
    print(f"model only      strict {b_s:.4f} relaxed {b_r:.4f}")
    print(f"enabled rules   strict {f_s:.4f} relaxed {f_r:.4f}")
    print(
        f"{'rule':22} {'on':>3} {'+alone s':>9} {'+alone r':>9} {'-loo s':>8} {'-loo r':>8}"
        f"  label: {'+s':>7} {'+r':>7}"
    )
    for rule in every:
        alone = _score(gold, processed, [rule], types)
        a_s, a_r = summary(alone)
        on = any(r.name == rule.name for r in enabled)
        if on:
            loo = _score(gold, processed, [r for r in enabled if r.name != rule.name], types)
            l_s, l_r = summary(loo)
            loo_txt = f"{f_s - l_s:+8.4f} {f_r - l_r:+8.4f}"
        else:
            loo_txt = f"{'':8} {'':8}"
        lab_s = alone.counts[rule.label]["strict"].f1 - base.counts[rule.label]["strict"].f1
        lab_r = alone.counts[rule.label]["relaxed"].f1 - base.counts[rule.label]["relaxed"].f1
        print(
            f"{rule.name:22} {'yes' if on else 'no':>3} {a_s - b_s:+9.4f} {a_r - b_r:+9.4f} "
            f"{loo_txt}  {rule.label[:5]:5} {lab_s:+7.4f} {lab_r:+7.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
