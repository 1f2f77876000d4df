"""Entity-level precision / recall / F1, strict and relaxed, per type and micro-averaged.

Counting rules (pure functions; the unit tables in tests/unit/test_chia_metrics.py pin them):

- Units: entities are compared within one criterion (one Chia line) and one type.
- Strict: same type and same extent. The extent of a discontinuous entity is its enclosing span
  (first fragment start to last fragment end), the only contiguous span that can stand for it.
- Relaxed: same type and overlapping text (any fragment of one overlaps any fragment of the
  other by at least one character).
- One-to-one: a prediction matches at most one gold entity and vice versa (maximum bipartite
  matching), so one long predicted span over "diabetes or heart failure" recovers one of the
  two gold conditions, not both; TP is the same number for precision and recall.
- Every gold entity counts, nested and overlapping ones included: a tagger that cannot produce
  overlapping spans pays for them in recall (`nlp.ner.convert.non_overlapping` measures the
  ceiling).
- Micro average: TP, predicted and gold counts summed over the evaluated types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nlp.chia.loader import EVAL_TYPES, Entity

MODES: tuple[str, ...] = ("strict", "relaxed")


@dataclass(slots=True)
class Counts:
    tp: int = 0
    predicted: int = 0
    gold: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.predicted += other.predicted
        self.gold += other.gold

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def prf(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _overlaps(a: Entity, b: Entity) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.spans for s2, e2 in b.spans)


def _same_extent(a: Entity, b: Entity) -> bool:
    return a.start == b.start and a.end == b.end


def max_matching(gold: Sequence[Entity], pred: Sequence[Entity], relaxed: bool) -> int:
    """Size of a maximum one-to-one matching (Kuhn's augmenting paths; lists are short)."""
    edge = _overlaps if relaxed else _same_extent
    adj = [[j for j, p in enumerate(pred) if edge(g, p)] for g in gold]
    owner: list[int | None] = [None] * len(pred)

    def augment(i: int, seen: set[int]) -> bool:
        for j in adj[i]:
            if j in seen:
                continue
            seen.add(j)
            k = owner[j]
            if k is None or augment(k, seen):
                owner[j] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(len(gold)) if adj[i])


@dataclass(slots=True)
class Report:
    """Counts per type and mode; `to_json` gives the `trialmatch eval chia --json` shape."""

    types: tuple[str, ...] = EVAL_TYPES
    counts: dict[str, dict[str, Counts]] = field(default_factory=dict)
    criteria: int = 0

    def __post_init__(self) -> None:
        for t in self.types:
            self.counts.setdefault(t, {m: Counts() for m in MODES})

    def add(self, gold: Iterable[Entity], pred: Iterable[Entity]) -> None:
        """Count one criterion."""
        self.criteria += 1
        gold, pred = list(gold), list(pred)
        for t in self.types:
            g = [e for e in gold if e.type == t]
            p = [e for e in pred if e.type == t]
            for mode in MODES:
                tp = max_matching(g, p, relaxed=mode == "relaxed")
                self.counts[t][mode].add(Counts(tp, len(p), len(g)))

    def micro(self, mode: str, types: Sequence[str] | None = None) -> Counts:
        total = Counts()
        for t in types if types is not None else self.types:
            total.add(self.counts[t][mode])
        return total

    def to_json(self) -> dict:
        return {
            "strict": self.micro("strict").prf(),
            "relaxed": self.micro("relaxed").prf(),
            "per_type": {t: {m: self.counts[t][m].prf() for m in MODES} for t in self.types},
            "criteria": self.criteria,
        }


def score(
    pairs: Iterable[tuple[Iterable[Entity], Iterable[Entity]]],
    types: Sequence[str] = EVAL_TYPES,
) -> Report:
    """Score (gold, predicted) entity lists, one pair per criterion."""
    report = Report(types=tuple(types))
    for gold, pred in pairs:
        report.add(gold, pred)
    return report
