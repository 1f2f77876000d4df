"""Criterion-level evaluation against expert labels (TrialGPT criterion annotations).

Each pair is a patient note and one criterion text. The note enters as a FHIR Bundle through
the real ingest path (one patient per `patient_id`, cached in the workspace); the criterion is
parsed by the configured criteria parser as a one-item inclusion or exclusion list; the engine's
evaluator judges the parsed criteria against the stored patient; the outcomes are combined into
one per pair and mapped to the experts' six labels.

Combining (the engine's own verdict semantics, see matcher.matching.rank): parts sharing a
group are alternatives (any MET satisfies the group); across parts, an inclusion holds only if
every part holds (any NOT_MET makes it NOT_MET, any UNKNOWN left makes it UNKNOWN) and an
exclusion applies if any part applies (any MET makes it MET).

Label policies:
- open world (default): UNKNOWN -> "not enough information" for both criterion types;
- closed world for exclusions (`closed_world=True`): the annotators' convention that a complete
  note with no sign of an exclusion condition means "not excluded", so an UNKNOWN exclusion
  becomes "not excluded". Both accuracies are always reported; the flag picks the labels used
  for the confusion matrix and the dump.

Evidence sentences: a note fact's source names its sentence (`DocumentReference/x#s3`, the
note's own numbering) or a character span (`DocumentReference/x#120-142`); demographic evidence
(`Patient/...`) points at the sentence stating the age (or sex).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from matcher.evaluation import metrics
from matcher.evaluation.data import LABELS, CriterionPair
from matcher.evaluation.topics import Topic, fhir_id
from matcher.evaluation.workspace import Manifest, Workbench, ingest_topics
from matcher.matching.rank import all_of, any_of, grouped
from matcher.model import Category, Criterion, CriterionKind, CriterionResult, Outcome

HEADINGS = {"inclusion": "Inclusion Criteria:", "exclusion": "Exclusion Criteria:"}
LABEL_OF = {
    "inclusion": {
        Outcome.MET: "included",
        Outcome.NOT_MET: "not included",
        Outcome.UNKNOWN: "not enough information",
        Outcome.NOT_APPLICABLE: "not applicable",
    },
    "exclusion": {
        Outcome.MET: "excluded",
        Outcome.NOT_MET: "not excluded",
        Outcome.UNKNOWN: "not enough information",
        Outcome.NOT_APPLICABLE: "not applicable",
    },
}
_NUMBERED = re.compile(r"^\s*(\d+)\.\s", re.M)
_SENTENCE_ANCHOR = re.compile(r"#s(\d+)$")
_CHAR_SPAN = re.compile(r"#(\d+)-(\d+)$")
Progress = Callable[[str, int, int], None]


def combine(results: list[CriterionResult], kind: CriterionKind) -> Outcome:
    """One outcome for all criteria parsed from one text (see the module docstring)."""
    parts = grouped(results, kind)
    return all_of(parts) if kind == CriterionKind.INCLUSION else any_of(parts)


# Parts about what a note states only when it was measured: silence about them is not absence.
UNDOCUMENTED_WHEN_ABSENT = frozenset({Category.LAB})


def label_for(
    outcome: Outcome,
    criterion_type: str,
    closed_world: bool = False,
    categories: Iterable[Category] = (),
    open_qualifier: bool = False,
) -> str:
    """The experts' label for an outcome.

    Closed world reads a note's silence about an exclusion as "not excluded", as the
    annotators do for conditions, drugs and procedures. It does not for an exclusion made only
    of lab thresholds: a note that gives no creatinine says nothing about it, and the
    annotators call that "not enough information" (criterion annotations, final run of
    22 November 2026: 14 of 18 such UNKNOWN exclusions, the majority in both patient halves).
    Nor when the note is not silent: it shows the excluded condition and leaves open only
    whether it is severe or uncontrolled (`open_qualifier`), which no reader can rule out.
    """
    if closed_world and criterion_type == "exclusion" and outcome == Outcome.UNKNOWN:
        kinds = set(categories)
        if not open_qualifier and (not kinds or not kinds <= UNDOCUMENTED_WHEN_ABSENT):
            return "not excluded"
    return LABEL_OF[criterion_type][outcome]


@dataclass(frozen=True, slots=True)
class NoteSentences:
    """Character spans of a numbered note's sentences ("0. ...\\n1. ..."), by number."""

    spans: tuple[tuple[int, int, int], ...]  # (number, start, end)

    @classmethod
    def of(cls, note: str) -> NoteSentences:
        starts = [(int(m.group(1)), m.start()) for m in _NUMBERED.finditer(note)]
        if not starts:
            return cls(((0, 0, len(note)),))
        ends = [s for _, s in starts[1:]] + [len(note)]
        return cls(tuple((n, s, e) for (n, s), e in zip(starts, ends, strict=True)))

    def overlapping(self, start: int, end: int) -> set[int]:
        return {n for n, s, e in self.spans if s < max(end, start + 1) and start < e}


def _demographic_sentences(note: str, sentences: NoteSentences) -> set[int]:
    """Where the note states the patient's age (the usual first-sentence introduction)."""
    from nlp.notes.demographics import find_age

    age = find_age(note)
    if age is not None:
        return sentences.overlapping(age.start, age.end)
    return {sentences.spans[0][0]} if sentences.spans else set()


def evidence_sentences(
    results: Iterable[CriterionResult], note: str, sentences: NoteSentences | None = None
) -> set[int]:
    """Note sentence numbers that the results' evidence points at."""
    sentences = sentences or NoteSentences.of(note)
    out: set[int] = set()
    for r in results:
        for ev in r.evidence:
            if m := _SENTENCE_ANCHOR.search(ev.source):
                out.add(int(m.group(1)))
            elif m := _CHAR_SPAN.search(ev.source):
                out |= sentences.overlapping(int(m.group(1)), int(m.group(2)))
            elif ev.source.startswith("Patient/"):
                out |= _demographic_sentences(note, sentences)
    return out


def parse_criterion(bench: Workbench, pair: CriterionPair) -> list[Criterion]:
    """The criterion text as a one-item list under its heading, every part of the given kind."""
    kind = CriterionKind(pair.criterion_type)
    text = f"{HEADINGS[pair.criterion_type]}\n- {pair.criterion_text.strip()}"
    criteria = bench.parser.parse(text, id_prefix=f"a{pair.annotation_id}-")
    if not criteria:  # the parser never drops text, but an empty criterion parses to nothing
        criteria = [Criterion(f"a{pair.annotation_id}-1", kind, pair.criterion_text)]
    for c in criteria:
        c.kind = kind  # a phrase inside the text must not turn it into the other kind
    return criteria


def majority_baseline(pairs: list[CriterionPair]) -> tuple[float, dict[str, str]]:
    """Accuracy of answering, per criterion type, that type's most common label in `pairs`."""
    by_type: dict[str, Counter[str]] = {}
    for p in pairs:
        by_type.setdefault(p.criterion_type, Counter())[p.label] += 1
    majority = {t: c.most_common(1)[0][0] for t, c in sorted(by_type.items())}
    correct = sum(p.label == majority[p.criterion_type] for p in pairs)
    return (correct / len(pairs) if pairs else 0.0), majority


def _patients(pairs: list[CriterionPair]) -> dict[str, Topic]:
    """One patient per (patient_id, note); a patient_id with two notes gets two patients."""
    topics: dict[str, Topic] = {}
    for p in pairs:
        key = _patient_key(p)
        topics.setdefault(key, Topic(key, p.note))
    return topics


def _patient_key(pair: CriterionPair) -> str:
    return f"{pair.patient_id}-{hashlib.sha1(pair.note.encode()).hexdigest()[:8]}"


def evaluate_criteria(
    bench: Workbench,
    pairs: list[CriterionPair],
    index_date: date,
    manifest: Manifest,
    fingerprint: str,
    closed_world: bool = False,
    dump: IO[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    topics = _patients(pairs)
    prep = ingest_topics(bench, list(topics.values()), index_date, manifest, fingerprint)
    prepare_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    correct = {"open": 0, "closed": 0}
    confusion: dict[str, Counter[str]] = {g: Counter() for g in LABELS}
    by_type: dict[str, Counter[str]] = {}
    tp = n_pred = n_gold = 0
    outcomes: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    parsed = [parse_criterion(bench, pair) for pair in pairs]
    # One batched embedding pass (cached by text) instead of a small one per pair.
    texts = {c.match_text: None for cs in parsed for c in cs}
    bench.embedder.encode(list(texts))
    for n, (pair, criteria) in enumerate(zip(pairs, parsed, strict=True), start=1):
        patient_key = _patient_key(pair)
        if patient_key in prep.rejected:
            results: list[CriterionResult] = []
        else:
            results = bench.engine.evaluate_criteria(fhir_id(patient_key), criteria, index_date)
        outcome = combine(results, CriterionKind(pair.criterion_type))
        open_label = label_for(outcome, pair.criterion_type, closed_world=False)
        closed_label = label_for(
            outcome,
            pair.criterion_type,
            closed_world=True,
            categories=[c.category for c in criteria],
            open_qualifier=any(r.outcome == Outcome.UNKNOWN and r.open_qualifier for r in results),
        )
        predicted = closed_label if closed_world else open_label
        correct["open"] += open_label == pair.label
        correct["closed"] += closed_label == pair.label
        confusion[pair.label][predicted] += 1
        stats = by_type.setdefault(pair.criterion_type, Counter())
        stats["pairs"] += 1
        stats["correct"] += predicted == pair.label
        outcomes[outcome.value] += 1
        categories.update(c.category.value for c in criteria)
        found = evidence_sentences(results, pair.note)
        tp += len(found & pair.sentences)
        n_pred += len(found)
        n_gold += len(pair.sentences)
        if dump is not None:
            dump.write(json.dumps(_dump_row(pair, criteria, results, outcome, predicted, found)))
            dump.write("\n")
        if progress:
            progress("criteria", n, len(pairs))
    total = len(pairs)
    baseline, majority = majority_baseline(pairs)
    evidence = metrics.prf(tp, n_pred, n_gold)
    return {
        "accuracy": round(correct["open"] / total, 4) if total else 0.0,
        "accuracy_closed_world": round(correct["closed"] / total, 4) if total else 0.0,
        "majority_baseline": round(baseline, 4),
        "majority_labels": majority,
        "evidence_f1": round(evidence["f1"], 4),
        "evidence": {k: round(v, 4) for k, v in evidence.items()},
        "policy": "closed-world exclusions" if closed_world else "open world",
        "confusion": {g: {p: confusion[g][p] for p in LABELS} for g in LABELS},
        "by_type": {
            t: {"pairs": c["pairs"], "accuracy": round(c["correct"] / c["pairs"], 4)}
            for t, c in sorted(by_type.items())
        },
        "outcomes": dict(outcomes.most_common()),
        "parsed_categories": dict(categories.most_common()),
        "pairs": total,
        "patients": len(topics),
        "prepare": prep.to_dict(),
        "rejected": prep.rejected,
        "index_date": index_date.isoformat(),
        "timings": {
            "prepare_seconds": round(prepare_seconds, 2),
            "evaluate_seconds": round(time.perf_counter() - t0, 2),
        },
    }


def _dump_row(
    pair: CriterionPair,
    criteria: list[Criterion],
    results: list[CriterionResult],
    outcome: Outcome,
    predicted: str,
    found: set[int],
) -> dict[str, Any]:
    return {
        "annotation_id": pair.annotation_id,
        "patient_id": pair.patient_id,
        "trial_id": pair.trial_id,
        "criterion_type": pair.criterion_type,
        "criterion_text": pair.criterion_text,
        "gold": pair.label,
        "predicted": predicted,
        "correct": predicted == pair.label,
        "outcome": outcome.value,
        "gold_sentences": sorted(pair.sentences),
        "predicted_sentences": sorted(found),
        "parsed": [_criterion_json(c) for c in criteria],
        "results": [
            {
                "criterion": r.criterion.id,
                "outcome": r.outcome.value,
                "reason": r.reason,
                "evidence": [
                    {"source": e.source, "text": e.text, "score": e.score} for e in r.evidence
                ],
            }
            for r in results
        ],
    }


def _criterion_json(c: Criterion) -> dict[str, Any]:
    """The parsed criterion without empty fields, so a dump line stays readable."""
    return {
        k: v
        for k, v in dataclasses.asdict(c).items()
        if v is not None and v is not False and v != "" and v != []
    }
