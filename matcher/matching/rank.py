"""Verdicts and ordering as pure functions of criterion results and relevance."""

from __future__ import annotations

from collections.abc import Iterable

from matcher.model import CriterionKind, CriterionResult, Match, Outcome, Verdict

TIER = {Verdict.ELIGIBLE: 2, Verdict.POSSIBLY_ELIGIBLE: 1, Verdict.INELIGIBLE: 0}


def _combine(outcomes: list[Outcome]) -> Outcome:
    """An OR group: any MET satisfies it; all NOT_MET fails it; otherwise unknown."""
    if Outcome.MET in outcomes:
        return Outcome.MET
    relevant = [o for o in outcomes if o != Outcome.NOT_APPLICABLE]
    if not relevant:
        return Outcome.NOT_APPLICABLE
    if all(o == Outcome.NOT_MET for o in relevant):
        return Outcome.NOT_MET
    return Outcome.UNKNOWN


def grouped(results: Iterable[CriterionResult], kind: CriterionKind) -> list[Outcome]:
    """One outcome per criterion or OR group of the given kind."""
    groups: dict[str, list[Outcome]] = {}
    singles: list[Outcome] = []
    for r in results:
        if r.criterion.kind != kind:
            continue
        if r.criterion.group:
            groups.setdefault(r.criterion.group, []).append(r.outcome)
        else:
            singles.append(r.outcome)
    return singles + [_combine(v) for v in groups.values()]


def verdict(results: list[CriterionResult]) -> Verdict:
    inclusions = grouped(results, CriterionKind.INCLUSION)
    exclusions = grouped(results, CriterionKind.EXCLUSION)
    if Outcome.NOT_MET in inclusions or Outcome.MET in exclusions:
        return Verdict.INELIGIBLE
    if all(o in (Outcome.MET, Outcome.NOT_APPLICABLE) for o in inclusions):
        return Verdict.ELIGIBLE
    return Verdict.POSSIBLY_ELIGIBLE


def build_match(
    trial_id: str, patient_id: str, relevance: float, results: list[CriterionResult]
) -> Match:
    inclusions = [
        r
        for r in results
        if r.criterion.kind == CriterionKind.INCLUSION and r.outcome != Outcome.NOT_APPLICABLE
    ]
    met = sum(r.outcome == Outcome.MET for r in inclusions)
    v = verdict(results)
    fraction = met / len(inclusions) if inclusions else 0.0
    # Verdict tier dominates; relevance, then the share of inclusions met, break ties.
    score = TIER[v] + 0.6 * relevance + 0.4 * fraction
    return Match(
        trial_id, patient_id, v, round(score, 6), round(relevance, 6), met, len(inclusions), results
    )


def order(matches: list[Match]) -> list[Match]:
    return sorted(
        matches,
        key=lambda m: (-TIER[m.verdict], -m.score, -m.inclusions_met, m.trial_id, m.patient_id),
    )
