"""Thin gRPC servicers: proto -> domain -> one call -> proto. No business logic here."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc

from matcher.ingest import IngestService
from matcher.matching.engine import MatchingEngine
from matcher.trials import CriteriaParser, TrialService, trial_from_ctgov
from services import convert
from services.errors import mapped, status_for
from trialmatch.v1 import (
    criteria_pb2,
    criteria_pb2_grpc,
    ingest_pb2,
    ingest_pb2_grpc,
    matcher_pb2,
    matcher_pb2_grpc,
    trials_pb2,
    trials_pb2_grpc,
)

log = logging.getLogger("trialmatch.services")


class PatientIngestServicer(ingest_pb2_grpc.PatientIngestServicer):
    def __init__(self, ingest: IngestService) -> None:
        self._ingest = ingest

    @mapped
    def PushBundle(self, request, context):
        return convert.ingest_result_to_pb(self._ingest.push_bundle(request.bundle_json))

    def StreamBundles(self, request_iterator, context) -> Iterator[ingest_pb2.BundleAck]:
        # Errors are per bundle: each is acked with its status and the stream goes on.
        for index, request in enumerate(request_iterator):
            ack = ingest_pb2.BundleAck(index=index, label=request.label)
            try:
                ack.result.CopyFrom(
                    convert.ingest_result_to_pb(self._ingest.push_bundle(request.bundle_json))
                )
            except Exception as exc:
                code, message = status_for(exc)
                ack.error_code = code.name
                ack.error_message = message
            yield ack

    @mapped
    def DeletePatient(self, request, context):
        self._ingest.delete_patient(request.patient_id)
        return ingest_pb2.DeletePatientResponse(patient_id=request.patient_id)

    @mapped
    def GetPatient(self, request, context):
        record = self._ingest.get_patient(request.patient_id)
        return ingest_pb2.GetPatientResponse(patient=convert.patient_to_pb(record))


class TrialRegistryServicer(trials_pb2_grpc.TrialRegistryServicer):
    def __init__(self, trials: TrialService) -> None:
        self._trials = trials

    @mapped
    def SubmitTrial(self, request, context):
        source = request.WhichOneof("source")
        if source == "ctgov_json":
            trial = trial_from_ctgov(request.ctgov_json)
        else:
            trial = convert.trial_from_protocol(request.protocol)
        stored = self._trials.submit(trial)
        return trials_pb2.SubmitTrialResponse(trial=convert.trial_to_pb(stored))

    @mapped
    def GetTrial(self, request, context):
        return trials_pb2.GetTrialResponse(
            trial=convert.trial_to_pb(self._trials.get(request.trial_id))
        )

    @mapped
    def ListTrials(self, request, context):
        trials = self._trials.list(request.include_retired, request.limit)
        return trials_pb2.ListTrialsResponse(
            trials=[convert.trial_to_pb(t, with_criteria=False) for t in trials]
        )

    @mapped
    def RetireTrial(self, request, context):
        trial = self._trials.retire(request.trial_id)
        return trials_pb2.RetireTrialResponse(trial=convert.trial_to_pb(trial))


class CriteriaParserServicer(criteria_pb2_grpc.CriteriaParserServicer):
    def __init__(self, parser: CriteriaParser) -> None:
        self._parser = parser

    @mapped
    def ParseCriteria(self, request, context):
        criteria = self._parser.parse(request.text)
        return criteria_pb2.ParseCriteriaResponse(
            criteria=[convert.criterion_to_pb(c) for c in criteria]
        )


class MatcherServicer(matcher_pb2_grpc.MatcherServicer):
    def __init__(self, engine: MatchingEngine) -> None:
        self._engine = engine

    @mapped
    def RankPatients(self, request, context):
        f = request.filters
        ranking = self._engine.rank_patients(
            request.trial_id,
            request.limit,
            convert.index_date(request.index_date),
            genders=tuple(f.genders),
            postal_prefixes=tuple(f.postal_prefixes),
            verdicts=convert.verdicts(f.verdicts),
        )
        matches = ranking.matches
        return matcher_pb2.RankPatientsResponse(
            candidates=[convert.match_to_pb(m, i) for i, m in enumerate(matches, start=1)],
            considered=ranking.considered,
        )

    @mapped
    def RankTrials(self, request, context):
        ranking = self._engine.rank_trials(
            request.patient_id, request.limit, convert.index_date(request.index_date)
        )
        return matcher_pb2.RankTrialsResponse(
            candidates=[convert.match_to_pb(m, i) for i, m in enumerate(ranking.matches, start=1)],
            considered=ranking.considered,
        )

    def WatchCandidates(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "WatchCandidates is not implemented yet")

    def CohortReport(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "CohortReport is not implemented yet")
