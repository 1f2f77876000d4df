"""Verdicts and ordering as pure functions of criterion results and relevance."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How much eligibility moves a candidate against relevance (which lies in [0, 1]).

    Verdicts come from imperfect NLP, so tiers are soft: a verdict step is worth
    `tier_weight` of relevance. On TREC 2021 (tuned on even topics, checked on odd ones)
    0.3 kept NDCG@10 near the relevance-only ranking while raising eligible-vs-excluded
    AUROC (with the verdicts of November 2026: even topics 0.577 -> 0.636 over 0.2, odd
    0.699 -> 0.717; NDCG@10 even 0.699 -> 0.694, odd 0.677 -> 0.681); a weight of 10
    gives strict tiers (eligible › possibly eligible › ineligible).
    """

    tier_weight: float = 0.3
    inclusion_weight: float = 0.1  # times the share of inclusions MET
    # Each requirement left UNKNOWN is one more chance to fail once a coordinator checks it,
    # so a trial that leaves many open is less likely to take the patient than one that
    # leaves few; the log keeps a 40-criterion protocol from sinking by its length alone.
    unknown_weight: float = 0.0  # times ln(1 + inclusion requirements UNKNOWN)
    unknown_exclusion_weight: float = 0.0  # times ln(1 + exclusion requirements UNKNOWN)


def build_match(
    trial_id: str,
    patient_id: str,
    relevance: float,
    results: list[CriterionResult],
    weights: RankWeights = RankWeights(),
) -> Match:
    # Counted as the verdict counts them: an OR group of alternatives is one requirement.
    inclusions = [
        o for o in grouped(results, CriterionKind.INCLUSION) if o != Outcome.NOT_APPLICABLE
    ]
    met = sum(o == Outcome.MET for o in inclusions)
    v = verdict(results)
    fraction = met / len(inclusions) if inclusions else 0.0
    open_inclusions = sum(o == Outcome.UNKNOWN for o in inclusions)
    open_exclusions = sum(o == Outcome.UNKNOWN for o in grouped(results, CriterionKind.EXCLUSION))
    score = (
        relevance
        + weights.tier_weight * TIER[v]
        + weights.inclusion_weight * fraction
        - weights.unknown_weight * math.log1p(open_inclusions)
        - weights.unknown_exclusion_weight * math.log1p(open_exclusions)
    )
    return Match(
        trial_id, patient_id, v, round(score, 6), round(relevance, 6), met, len(inclusions), results
    )


def order(matches: list[Match]) -> list[Match]:
    """Best score first; the verdict tier, then MET inclusions, break exact ties."""
    return sorted(
        matches,
        key=lambda m: (-m.score, -TIER[m.verdict], -m.inclusions_met, m.trial_id, m.patient_id),
    )
