"""Verdicts and ordering as pure functions of criterion results and relevance."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.model import (
    COHORT_GROUP,
    COUNT_GROUP,
    DEFINITION_GROUP,
    VALUE_GROUPS,
    Category,
    CriterionKind,
    CriterionResult,
    Match,
    Outcome,
    Verdict,
    required_count,
)

TIER = {Verdict.ELIGIBLE: 2, Verdict.POSSIBLY_ELIGIBLE: 1, Verdict.INELIGIBLE: 0}


def any_of(outcomes: list[Outcome]) -> Outcome:
    """An OR group: any MET satisfies it; all NOT_MET fails it; otherwise unknown."""
    if Outcome.MET in outcomes:
        return Outcome.MET
    relevant = [o for o in outcomes if o != Outcome.NOT_APPLICABLE]
    if not relevant:
        return Outcome.NOT_APPLICABLE
    if all(o == Outcome.NOT_MET for o in relevant):
        return Outcome.NOT_MET
    return Outcome.UNKNOWN


def all_of(outcomes: list[Outcome]) -> Outcome:
    """An AND: any NOT_MET fails it; any unknown leaves it unknown (NOT_APPLICABLE parts
    count for nothing)."""
    if Outcome.NOT_MET in outcomes:
        return Outcome.NOT_MET
    if Outcome.UNKNOWN in outcomes:
        return Outcome.UNKNOWN
    if all(o == Outcome.NOT_APPLICABLE for o in outcomes):
        return Outcome.NOT_APPLICABLE
    return Outcome.MET


def at_least(outcomes: list[Outcome], count: int) -> Outcome:
    """ "At least `count` of the following": MET once that many hold; NOT_MET once too few
    are left that could; NOT_APPLICABLE parts count for nothing. A list parsed into fewer
    lines than it asks for was not read whole, so it stays open unless enough hold."""
    met = outcomes.count(Outcome.MET)
    if met >= count:
        return Outcome.MET
    relevant = [o for o in outcomes if o != Outcome.NOT_APPLICABLE]
    if not relevant:
        return Outcome.NOT_APPLICABLE
    if len(outcomes) >= count and met + relevant.count(Outcome.UNKNOWN) < count:
        return Outcome.NOT_MET
    return Outcome.UNKNOWN


def defined(condition: list[Outcome], values: list[Outcome]) -> Outcome:
    """A condition and the values that define it: any MET establishes it; values that are all
    known and all fail rule it out, even where the record is silent about the condition."""
    parts = condition + values
    if Outcome.MET not in parts and values and all(o == Outcome.NOT_MET for o in values):
        return Outcome.NOT_MET
    return any_of(parts)


def narrowed(condition: list[Outcome], values: list[Outcome]) -> Outcome:
    """A condition and the values that narrow it: a known value decides; the condition
    shown without one is not yet the narrower condition."""
    by_value = any_of(values)
    if by_value in (Outcome.MET, Outcome.NOT_MET):
        return by_value
    by_condition = any_of(condition)
    if by_condition == Outcome.NOT_MET:
        return Outcome.NOT_MET
    if by_condition == by_value == Outcome.NOT_APPLICABLE:
        return Outcome.NOT_APPLICABLE
    return Outcome.UNKNOWN


def grouped(results: Iterable[CriterionResult], kind: CriterionKind) -> list[Outcome]:
    """One outcome per criterion or OR group of the given kind (a cohort group is an OR of
    its lines, each the AND of its facets; a count group is `at_least` of its lines; a
    definition group is `defined`, a narrowed one `narrowed`)."""
    groups: dict[str, list[Outcome]] = {}
    lines: dict[str, dict[tuple[int, int], list[Outcome]]] = {}
    valued: dict[str, tuple[list[Outcome], list[Outcome]]] = {}  # condition, values
    singles: list[Outcome] = []
    for r in results:
        c = r.criterion
        if c.kind != kind:
            continue
        if c.group.startswith(VALUE_GROUPS):
            parts = valued.setdefault(c.group, ([], []))
            parts[c.category == Category.LAB].append(r.outcome)
        elif c.group.startswith((COHORT_GROUP, COUNT_GROUP)):
            lines.setdefault(c.group, {}).setdefault((c.span_start, c.span_end), []).append(
                r.outcome
            )
        elif c.group:
            groups.setdefault(c.group, []).append(r.outcome)
        else:
            singles.append(r.outcome)
    counted: list[Outcome] = []
    for group, by_line in lines.items():
        if group.startswith(COHORT_GROUP):
            groups[group] = [all_of(v) for v in by_line.values()]
        else:  # a line's facets are alternatives ("WBC > 12,000 or < 4,000"): it counts once
            counted.append(at_least([any_of(v) for v in by_line.values()], required_count(group)))
    return (
        singles
        + counted
        + [any_of(v) for v in groups.values()]
        + [
            (defined if group.startswith(DEFINITION_GROUP) else narrowed)(condition, values)
            for group, (condition, values) in valued.items()
        ]
    )


def verdict(results: list[CriterionResult]) -> Verdict:
    return _verdict(
        grouped(results, CriterionKind.INCLUSION), grouped(results, CriterionKind.EXCLUSION)
    )


def _verdict(inclusions: list[Outcome], exclusions: list[Outcome]) -> Verdict:
    """The verdict from grouped outcomes (one per criterion or OR group)."""
    if Outcome.NOT_MET in inclusions or Outcome.MET in exclusions:
        return Verdict.INELIGIBLE
    if all(o in (Outcome.MET, Outcome.NOT_APPLICABLE) for o in inclusions):
        return Verdict.ELIGIBLE
    return Verdict.POSSIBLY_ELIGIBLE


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How much eligibility moves a candidate against relevance (which lies in [0, 1]).

    Verdicts come from imperfect NLP, so tiers are soft: a verdict step is worth
    `tier_weight` of relevance, and each requirement left open costs a little (see below).
    Tuned on TREC 2021's even topics, checked on the odd ones (session of 22 November 2026,
    sum of even AUROC and NDCG@10 over a grid): from tiers 0.3 and no open-requirement cost to
    0.4 / 0.15 / 0.03, eligible-vs-excluded AUROC went even 0.597 -> 0.628, odd 0.717 ->
    0.740, and NDCG@10 even 0.717 -> 0.728, odd 0.674 -> 0.710. A tier weight of 10 gives
    strict tiers (eligible › possibly eligible › ineligible).
    """

    tier_weight: float = 0.4
    inclusion_weight: float = 0.1  # times the share of inclusions MET
    # Each requirement left UNKNOWN is one more chance to fail once a coordinator checks it,
    # so a trial that leaves many open is less likely to take the patient than one that
    # leaves few; the log keeps a 40-criterion protocol from sinking by its length alone.
    unknown_weight: float = 0.15  # times ln(1 + inclusion requirements UNKNOWN)
    unknown_exclusion_weight: float = 0.03  # times ln(1 + exclusion requirements UNKNOWN)
    # An exclusion left UNKNOWN *with* evidence ("record shows hypertension, not whether it is
    # uncontrolled") is a near miss: riskier than one the record says nothing about.
    partial_exclusion_weight: float = 0.0  # times ln(1 + such exclusions)
    # The eligibility estimate (Match.eligibility) leaves relevance out: among trials that all
    # target the patient's problem, which will take them? One verdict step is worth 1, plus
    # these weights on the same counts. Chosen on TREC 2021's even topics for the AUROC of
    # eligible vs excluded, checked on the odd ones (22 November 2026): even 0.741, odd 0.737,
    # where the ranking order, which also weighs relevance, gives 0.616 / 0.746.
    eligibility_inclusion_weight: float = 0.7  # times the share of inclusions MET
    eligibility_unknown_weight: float = 0.025  # times ln(1 + inclusions UNKNOWN)
    eligibility_unknown_exclusion_weight: float = 0.09  # times ln(1 + exclusions UNKNOWN)


def build_match(
    trial_id: str,
    patient_id: str,
    relevance: float,
    results: list[CriterionResult],
    weights: RankWeights = RankWeights(),
) -> Match:
    # Counted as the verdict counts them: an OR group of alternatives is one requirement.
    all_inclusions = grouped(results, CriterionKind.INCLUSION)
    exclusions = grouped(results, CriterionKind.EXCLUSION)
    v = _verdict(all_inclusions, exclusions)
    inclusions = [o for o in all_inclusions if o != Outcome.NOT_APPLICABLE]
    met = sum(o == Outcome.MET for o in inclusions)
    fraction = met / len(inclusions) if inclusions else 0.0
    open_inclusions = sum(o == Outcome.UNKNOWN for o in inclusions)
    open_exclusions = sum(o == Outcome.UNKNOWN for o in exclusions)
    near_misses = (
        sum(
            r.criterion.kind == CriterionKind.EXCLUSION
            and r.outcome == Outcome.UNKNOWN
            and bool(r.evidence)
            for r in results
        )
        if weights.partial_exclusion_weight
        else 0  # off by default: not counted on every candidate of every request
    )
    score = (
        relevance
        + weights.tier_weight * TIER[v]
        + weights.inclusion_weight * fraction
        - weights.unknown_weight * math.log1p(open_inclusions)
        - weights.unknown_exclusion_weight * math.log1p(open_exclusions)
        - weights.partial_exclusion_weight * math.log1p(near_misses)
    )
    eligibility = (
        TIER[v]
        + weights.eligibility_inclusion_weight * fraction
        - weights.eligibility_unknown_weight * math.log1p(open_inclusions)
        - weights.eligibility_unknown_exclusion_weight * math.log1p(open_exclusions)
    )
    return Match(
        trial_id,
        patient_id,
        v,
        round(score, 6),
        round(relevance, 6),
        met,
        len(inclusions),
        results,
        round(eligibility, 6),
    )


def order(matches: list[Match]) -> list[Match]:
    """Best score first; the verdict tier, then MET inclusions, break exact ties."""
    return sorted(
        matches,
        key=lambda m: (-m.score, -TIER[m.verdict], -m.inclusions_met, m.trial_id, m.patient_id),
    )
