"""Domain <-> protobuf conversion: the only place that knows both shapes."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from matcher.errors import InvalidInput
from matcher.ingest import IngestResult
from matcher.model import (
    Category,
    Code,
    Criterion,
    CriterionKind,
    Fact,
    Match,
    Outcome,
    PatientRecord,
    Sex,
    Trial,
    Verdict,
)
from trialmatch.v1 import common_pb2, ingest_pb2, matcher_pb2, trials_pb2

KIND_TO_PB = {
    CriterionKind.INCLUSION: common_pb2.CRITERION_KIND_INCLUSION,
    CriterionKind.EXCLUSION: common_pb2.CRITERION_KIND_EXCLUSION,
}
CATEGORY_TO_PB = {
    Category.DEMOGRAPHIC: common_pb2.CRITERION_CATEGORY_DEMOGRAPHIC,
    Category.CONDITION: common_pb2.CRITERION_CATEGORY_CONDITION,
    Category.MEDICATION: common_pb2.CRITERION_CATEGORY_MEDICATION,
    Category.PROCEDURE: common_pb2.CRITERION_CATEGORY_PROCEDURE,
    Category.LAB: common_pb2.CRITERION_CATEGORY_LAB,
    Category.BIOMARKER: common_pb2.CRITERION_CATEGORY_BIOMARKER,
    Category.PERFORMANCE_STATUS: common_pb2.CRITERION_CATEGORY_PERFORMANCE_STATUS,
    Category.PREGNANCY: common_pb2.CRITERION_CATEGORY_PREGNANCY,
    Category.CONSENT: common_pb2.CRITERION_CATEGORY_CONSENT,
    Category.OTHER: common_pb2.CRITERION_CATEGORY_OTHER,
}
SEX_TO_PB = {
    Sex.ALL: common_pb2.SEX_ALL,
    Sex.MALE: common_pb2.SEX_MALE,
    Sex.FEMALE: common_pb2.SEX_FEMALE,
}
SEX_FROM_PB = {v: k for k, v in SEX_TO_PB.items()} | {common_pb2.SEX_UNSPECIFIED: Sex.ALL}
VERDICT_TO_PB = {
    Verdict.ELIGIBLE: matcher_pb2.VERDICT_ELIGIBLE,
    Verdict.POSSIBLY_ELIGIBLE: matcher_pb2.VERDICT_POSSIBLY_ELIGIBLE,
    Verdict.INELIGIBLE: matcher_pb2.VERDICT_INELIGIBLE,
}
VERDICT_FROM_PB = {v: k for k, v in VERDICT_TO_PB.items()}
OUTCOME_TO_PB = {
    Outcome.MET: matcher_pb2.OUTCOME_MET,
    Outcome.NOT_MET: matcher_pb2.OUTCOME_NOT_MET,
    Outcome.UNKNOWN: matcher_pb2.OUTCOME_UNKNOWN,
    Outcome.NOT_APPLICABLE: matcher_pb2.OUTCOME_NOT_APPLICABLE,
}


def _codes(codes: list[Code]) -> list[common_pb2.Coding]:
    return [common_pb2.Coding(system=c.system, code=c.code, display=c.display) for c in codes]


def _ts(when: datetime | None) -> Timestamp | None:
    if when is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def criterion_to_pb(c: Criterion) -> common_pb2.Criterion:
    msg = common_pb2.Criterion(
        id=c.id,
        kind=KIND_TO_PB[c.kind],
        text=c.text,
        category=CATEGORY_TO_PB[c.category],
        negated=c.negated,
        comparator=c.comparator,
        value_text=c.value_text,
        unit=c.unit,
        group=c.group,
        span_start=c.span_start,
        span_end=c.span_end,
    )
    if c.concept is not None:
        msg.concept.CopyFrom(common_pb2.Concept(text=c.concept.text, codes=_codes(c.concept.codes)))
    if c.value is not None:
        msg.value = c.value
    if c.value_high is not None:
        msg.value_high = c.value_high
    if c.window_days is not None:
        msg.window_days = c.window_days
    if c.duration_days is not None:
        msg.duration_days = c.duration_days
    msg.entities.extend(
        common_pb2.CriterionEntity(type=e.type, text=e.text, start=e.start, end=e.end)
        for e in c.entities
    )
    return msg


def trial_to_pb(t: Trial, with_criteria: bool = True) -> trials_pb2.Trial:
    protocol = trials_pb2.TrialProtocol(
        trial_id=t.trial_id,
        title=t.title,
        phase=t.phase,
        status=t.status,
        conditions=t.conditions,
        interventions=t.interventions,
        sex=SEX_TO_PB[t.sex],
        sites=t.sites,
        eligibility_text=t.eligibility_text,
    )
    if t.min_age_years is not None:
        protocol.min_age_years = t.min_age_years
    if t.max_age_years is not None:
        protocol.max_age_years = t.max_age_years
    if t.healthy_volunteers is not None:
        protocol.healthy_volunteers = t.healthy_volunteers
    criteria = [criterion_to_pb(c) for c in t.criteria] if with_criteria else []
    return trials_pb2.Trial(
        protocol=protocol, version=t.version, criteria=criteria, retired=t.retired
    )


def trial_from_protocol(p: trials_pb2.TrialProtocol) -> Trial:
    return Trial(
        trial_id=p.trial_id.strip(),
        title=p.title,
        phase=p.phase,
        status=p.status,
        conditions=list(p.conditions),
        interventions=list(p.interventions),
        min_age_years=p.min_age_years if p.HasField("min_age_years") else None,
        max_age_years=p.max_age_years if p.HasField("max_age_years") else None,
        sex=SEX_FROM_PB.get(p.sex, Sex.ALL),
        healthy_volunteers=p.healthy_volunteers if p.HasField("healthy_volunteers") else None,
        sites=list(p.sites),
        eligibility_text=p.eligibility_text,
    )


def fact_to_pb(f: Fact) -> ingest_pb2.Fact:
    msg = ingest_pb2.Fact(
        kind=f.kind.value,
        codes=_codes(f.codes),
        text=f.text,
        value_text=f.value_text,
        unit=f.unit,
        status=f.status,
        assertion=f.assertion.value,
        source=f.source,
        start=_ts(f.start),
        end=_ts(f.end),
    )
    if f.value is not None:
        msg.value = f.value
    return msg


def patient_to_pb(r: PatientRecord) -> ingest_pb2.PatientRecord:
    return ingest_pb2.PatientRecord(
        patient_id=r.patient_id,
        birth_date=r.birth_date.isoformat() if r.birth_date else "",
        gender=r.gender,
        race=r.race,
        ethnicity=r.ethnicity,
        postal_code=r.postal_code,
        deceased=r.deceased,
        facts=[fact_to_pb(f) for f in r.facts],
        note_count=len(r.notes),
    )


def ingest_result_to_pb(r: IngestResult) -> ingest_pb2.PushBundleResponse:
    return ingest_pb2.PushBundleResponse(
        patient_ids=r.patient_ids, fact_count=r.fact_count, note_count=r.note_count
    )


def match_to_pb(m: Match, rank: int) -> matcher_pb2.Candidate:
    return matcher_pb2.Candidate(
        trial_id=m.trial_id,
        patient_id=m.patient_id,
        verdict=VERDICT_TO_PB[m.verdict],
        score=m.score,
        relevance=m.relevance,
        inclusions_met=m.inclusions_met,
        inclusions_total=m.inclusions_total,
        rank=rank,
        eligibility=m.eligibility,
        criteria=[
            matcher_pb2.CriterionResult(
                criterion=criterion_to_pb(r.criterion),
                outcome=OUTCOME_TO_PB[r.outcome],
                reason=r.reason,
                evidence=[
                    matcher_pb2.Evidence(source=e.source, text=e.text, score=e.score)
                    for e in r.evidence
                ],
            )
            for r in m.results
        ],
    )


def index_date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not an ISO 8601 date (YYYY-MM-DD)", "index_date") from exc


def verdicts(values: list[int]) -> frozenset[Verdict]:
    unknown = [v for v in values if v not in VERDICT_FROM_PB]
    if unknown:
        raise InvalidInput(f"unknown verdict value(s) {unknown}", "filters.verdicts")
    return frozenset(VERDICT_FROM_PB[v] for v in values)
