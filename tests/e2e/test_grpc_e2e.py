"""In-process gRPC end to end on a port-0 server: ingest -> submit -> rank, with real parts.

Patients are three real Synthea bundles (tests/fixtures/synthea, see its README); the
trials are written here so that the expected verdicts can be checked by hand:
Clemente Kreiger (male, born 1984, latest BMI 30.47 in 2018, obesity), Agustin Fonseca
(male, born 1994, latest BMI 28.30) and Louis Miller (male, born 1979, latest BMI 27.79).
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from trialmatch.v1 import (
    common_pb2,
    ingest_pb2,
    ingest_pb2_grpc,
    matcher_pb2,
    matcher_pb2_grpc,
    trials_pb2,
    trials_pb2_grpc,
)

SYNTHEA = Path(__file__).parent.parent / "fixtures" / "synthea"
CLEMENTE = "d78af07c-9cb9-4f31-9b11-c45a28f2eec8"
AGUSTIN = "27de96c6-6910-4f0f-8f10-00ce6090f447"
LOUIS = "ba55f379-b944-44f3-a58a-14b95a623c1b"
INDEX_DATE = "2020-01-01"

OBESITY_TRIAL = trials_pb2.TrialProtocol(
    trial_id="TM-OBESITY-1",
    title="Weight management in adult men with obesity",
    conditions=["Obesity"],
    eligibility_text=(
        "Inclusion Criteria:\r\n"
        "  - Men aged 18 to 60 years\r\n"
        "  - Body mass index >= 30 kg/m2\r\n"
        "Exclusion Criteria:\r\n"
        "  - Type 1 diabetes\r\n"
        "  - History of myocardial infarction within the last 6 months\r\n"
    ),
)
WOMEN_TRIAL = trials_pb2.TrialProtocol(
    trial_id="TM-WOMEN-1",
    title="Osteoporosis in postmenopausal women",
    conditions=["Osteoporosis"],
    sex=common_pb2.SEX_FEMALE,
    min_age_years=50,
    eligibility_text="Inclusion Criteria:\n- Postmenopausal women\n- Osteoporosis\n",
)
SINUS_TRIAL = trials_pb2.TrialProtocol(
    trial_id="TM-SINUS-1",
    title="Chronic rhinosinusitis in adults",
    conditions=["Chronic sinusitis"],
    eligibility_text="Inclusion Criteria:\n- Adults 18 years or older\n- Chronic sinusitis\n",
)


class Client:
    def __init__(self, channel: grpc.Channel) -> None:
        self.ingest = ingest_pb2_grpc.PatientIngestStub(channel)
        self.trials = trials_pb2_grpc.TrialRegistryStub(channel)
        self.matcher = matcher_pb2_grpc.MatcherStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)


def push(client: Client, path: Path) -> ingest_pb2.PushBundleResponse:
    return client.ingest.PushBundle(
        ingest_pb2.PushBundleRequest(bundle_json=path.read_bytes(), label=path.name)
    )


@pytest.fixture()
def client(make_server) -> Client:
    _, channel = make_server()
    return Client(channel)


@pytest.fixture()
def loaded(client: Client) -> Client:
    for path in sorted(SYNTHEA.glob("*.json")):
        push(client, path)
    for protocol in (OBESITY_TRIAL, WOMEN_TRIAL, SINUS_TRIAL):
        client.trials.SubmitTrial(trials_pb2.SubmitTrialRequest(protocol=protocol))
    return client


def outcomes(candidate: matcher_pb2.Candidate) -> dict[str, int]:
    return {row.criterion.text: row.outcome for row in candidate.criteria}


def test_rank_patients_orders_by_verdict_and_explains(loaded: Client) -> None:
    response = loaded.matcher.RankPatients(
        matcher_pb2.RankPatientsRequest(trial_id="TM-OBESITY-1", limit=10, index_date=INDEX_DATE)
    )
    assert response.considered == 3
    ranked = [c.patient_id for c in response.candidates]
    assert ranked[0] == CLEMENTE
    assert set(ranked) == {CLEMENTE, AGUSTIN, LOUIS}
    top = response.candidates[0]
    assert top.verdict == matcher_pb2.VERDICT_ELIGIBLE
    assert (top.inclusions_met, top.inclusions_total) == (3, 3)  # age, sex, BMI
    bmi = next(r for r in top.criteria if "Body mass index" in r.criterion.text)
    assert bmi.outcome == matcher_pb2.OUTCOME_MET
    assert bmi.criterion.category == common_pb2.CRITERION_CATEGORY_LAB
    assert bmi.evidence[0].source == "Observation/07abe538-e0ad-437a-bd7a-05249bb4eac0"
    assert "30.47" in bmi.reason
    # Missing data is UNKNOWN, never MET: nothing in the record speaks of type 1 diabetes.
    assert outcomes(top)["Type 1 diabetes"] == matcher_pb2.OUTCOME_UNKNOWN
    for other in response.candidates[1:]:
        assert other.verdict == matcher_pb2.VERDICT_INELIGIBLE
        row = next(r for r in other.criteria if "Body mass index" in r.criterion.text)
        assert row.outcome == matcher_pb2.OUTCOME_NOT_MET
        assert row.evidence and row.evidence[0].source.startswith("Observation/")
    assert [c.rank for c in response.candidates] == [1, 2, 3]
    # the eligibility estimate reaches the API: the eligible patient above the ineligible ones
    assert all(top.eligibility > other.eligibility for other in response.candidates[1:])


def test_hard_filters_and_verdict_filter(loaded: Client) -> None:
    women = loaded.matcher.RankPatients(
        matcher_pb2.RankPatientsRequest(trial_id="TM-WOMEN-1", index_date=INDEX_DATE)
    )
    assert women.considered == 0 and not women.candidates
    eligible_only = loaded.matcher.RankPatients(
        matcher_pb2.RankPatientsRequest(
            trial_id="TM-OBESITY-1",
            index_date=INDEX_DATE,
            filters=matcher_pb2.PatientFilters(verdicts=[matcher_pb2.VERDICT_ELIGIBLE]),
        )
    )
    assert [c.patient_id for c in eligible_only.candidates] == [CLEMENTE]


def test_rank_trials_for_a_patient(loaded: Client) -> None:
    response = loaded.matcher.RankTrials(
        matcher_pb2.RankTrialsRequest(patient_id=CLEMENTE, index_date=INDEX_DATE)
    )
    ids = [c.trial_id for c in response.candidates]
    assert "TM-WOMEN-1" not in ids  # sex and age filters exclude it
    assert ids[0] == "TM-OBESITY-1"
    assert response.candidates[0].verdict == matcher_pb2.VERDICT_ELIGIBLE
    sinus = response.candidates[ids.index("TM-SINUS-1")]
    assert sinus.verdict == matcher_pb2.VERDICT_POSSIBLY_ELIGIBLE


def test_push_twice_updates_and_delete_really_deletes(client: Client) -> None:
    path = SYNTHEA / "clemente_kreiger.json"
    first = push(client, path)
    second = push(client, path)
    assert list(first.patient_ids) == list(second.patient_ids) == [CLEMENTE]
    assert first.fact_count == second.fact_count > 0
    stored = client.ingest.GetPatient(ingest_pb2.GetPatientRequest(patient_id=CLEMENTE)).patient
    assert len(stored.facts) == first.fact_count  # replaced, not duplicated
    assert stored.gender == "male" and stored.birth_date == "1984-07-02"
    client.ingest.DeletePatient(ingest_pb2.DeletePatientRequest(patient_id=CLEMENTE))
    with pytest.raises(grpc.RpcError) as err:
        client.ingest.GetPatient(ingest_pb2.GetPatientRequest(patient_id=CLEMENTE))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        client.ingest.DeletePatient(ingest_pb2.DeletePatientRequest(patient_id=CLEMENTE))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_rejected_bundle_stores_nothing(client: Client) -> None:
    bundle = json.loads((SYNTHEA / "clemente_kreiger.json").read_text())
    # Break one Condition deep inside an otherwise valid bundle.
    index = next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Condition"
    )
    del bundle["entry"][index]["resource"]["code"]
    with pytest.raises(grpc.RpcError) as err:
        client.ingest.PushBundle(
            ingest_pb2.PushBundleRequest(bundle_json=json.dumps(bundle).encode())
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"entry[{index}]" in err.value.details() and "code" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        client.ingest.GetPatient(ingest_pb2.GetPatientRequest(patient_id=CLEMENTE))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_stream_acks_each_bundle_and_survives_errors(client: Client) -> None:
    paths = sorted(SYNTHEA.glob("*.json"))
    requests = [
        ingest_pb2.PushBundleRequest(bundle_json=paths[0].read_bytes(), label="a"),
        ingest_pb2.PushBundleRequest(bundle_json=b"{not json", label="broken"),
        ingest_pb2.PushBundleRequest(
            bundle_json=json.dumps({"resourceType": "Patient", "id": "x"}).encode(), label="nb"
        ),
        ingest_pb2.PushBundleRequest(bundle_json=paths[1].read_bytes(), label="b"),
    ]
    acks = list(client.ingest.StreamBundles(iter(requests)))
    assert [a.index for a in acks] == [0, 1, 2, 3]
    assert [a.label for a in acks] == ["a", "broken", "nb", "b"]
    assert acks[0].result.patient_ids and acks[3].result.patient_ids
    assert acks[1].error_code == "INVALID_ARGUMENT" and "JSON" in acks[1].error_message
    assert acks[2].error_code == "INVALID_ARGUMENT" and "Bundle" in acks[2].error_message


def test_oversize_message_is_resource_exhausted(make_server) -> None:
    _, channel = make_server(server={"max_message_bytes": 100_000})
    client = Client(channel)
    with pytest.raises(grpc.RpcError) as err:
        push(client, SYNTHEA / "clemente_kreiger.json")  # 224 kB
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_oversize_bundle_by_config_is_resource_exhausted(make_server) -> None:
    _, channel = make_server(ingest={"max_bundle_bytes": 100_000})
    with pytest.raises(grpc.RpcError) as err:
        push(Client(channel), SYNTHEA / "clemente_kreiger.json")
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit is 100000" in err.value.details()


@pytest.mark.parametrize(
    ("call", "code", "words"),
    [
        (
            lambda c: c.matcher.RankPatients(matcher_pb2.RankPatientsRequest(trial_id="NCT0")),
            grpc.StatusCode.NOT_FOUND,
            "NCT0",
        ),
        (
            lambda c: c.matcher.RankTrials(matcher_pb2.RankTrialsRequest(patient_id="nobody")),
            grpc.StatusCode.NOT_FOUND,
            "nobody",
        ),
        (
            lambda c: c.trials.GetTrial(trials_pb2.GetTrialRequest(trial_id="NCT404")),
            grpc.StatusCode.NOT_FOUND,
            "NCT404",
        ),
        (
            lambda c: c.trials.SubmitTrial(
                trials_pb2.SubmitTrialRequest(protocol=trials_pb2.TrialProtocol(trial_id="bad id!"))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "trial_id",
        ),
        (
            lambda c: c.trials.SubmitTrial(trials_pb2.SubmitTrialRequest(ctgov_json="{oops")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "ctgov_json",
        ),
        (
            lambda c: c.trials.SubmitTrial(
                trials_pb2.SubmitTrialRequest(
                    ctgov_json=json.dumps({"nct_id": "NCT1", "minimum_age": "eighteen"})
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "minimum_age",
        ),
        (
            lambda c: c.matcher.RankPatients(
                matcher_pb2.RankPatientsRequest(trial_id="TM-OBESITY-1", index_date="01/02/2020")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "index_date",
        ),
        (
            lambda c: c.matcher.RankPatients(
                matcher_pb2.RankPatientsRequest(trial_id="TM-OBESITY-1", limit=5000)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "limit",
        ),
        (
            lambda c: next(
                iter(
                    c.matcher.WatchCandidates(
                        matcher_pb2.WatchCandidatesRequest(trial_id="TM-OBESITY-1")
                    )
                )
            ),
            grpc.StatusCode.UNIMPLEMENTED,
            "not implemented",
        ),
    ],
)
def test_errors_map_to_status_codes(loaded: Client, call, code, words: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        call(loaded)
    assert err.value.code() == code
    assert words in err.value.details()


def test_trial_lifecycle_versions_and_retire(loaded: Client) -> None:
    amended = loaded.trials.SubmitTrial(trials_pb2.SubmitTrialRequest(protocol=OBESITY_TRIAL))
    assert amended.trial.version == 2
    ctgov = loaded.trials.SubmitTrial(
        trials_pb2.SubmitTrialRequest(
            ctgov_json=json.dumps(
                {
                    "nct_id": "NCT00000001",
                    "brief_title": "A trial from ClinicalTrials.gov",
                    "conditions": ["Hypertension"],
                    "minimum_age": "18 Years",
                    "maximum_age": "N/A",
                    "gender": "All",
                    "eligibility_criteria": "Inclusion Criteria:\r\n\r\n  -  Hypertension\r\n\r\n"
                    "Exclusion Criteria:\r\n\r\n  -  Pregnancy\r\n",
                }
            )
        )
    ).trial
    assert ctgov.protocol.min_age_years == 18 and not ctgov.protocol.HasField("max_age_years")
    kinds = [(c.kind, c.text) for c in ctgov.criteria]
    assert kinds == [
        (common_pb2.CRITERION_KIND_INCLUSION, "Hypertension"),
        (common_pb2.CRITERION_KIND_EXCLUSION, "Pregnancy"),
    ]
    loaded.trials.RetireTrial(trials_pb2.RetireTrialRequest(trial_id="TM-SINUS-1"))
    listed = loaded.trials.ListTrials(trials_pb2.ListTrialsRequest()).trials
    assert "TM-SINUS-1" not in {t.protocol.trial_id for t in listed}
    assert len(listed) == 3
    ranked = loaded.matcher.RankTrials(matcher_pb2.RankTrialsRequest(patient_id=CLEMENTE))
    assert "TM-SINUS-1" not in {c.trial_id for c in ranked.candidates}


def test_health_and_reflection_on_a_subset_server(make_server) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    _, channel = make_server(services=["criteria"])
    health = health_pb2_grpc.HealthStub(channel)
    ok = health.Check(health_pb2.HealthCheckRequest(service="trialmatch.v1.CriteriaParser"))
    assert ok.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as err:
        health.Check(health_pb2.HealthCheckRequest(service="trialmatch.v1.Matcher"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    reply = next(
        stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    )
    names = {s.name for s in reply.list_services_response.service}
    assert {"trialmatch.v1.CriteriaParser", "grpc.health.v1.Health"} <= names
    assert "trialmatch.v1.Matcher" not in names
    with pytest.raises(grpc.RpcError) as err:
        matcher_pb2_grpc.MatcherStub(channel).RankTrials(
            matcher_pb2.RankTrialsRequest(patient_id="x")
        )
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
