from trialmatch.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_ELIGIBLE: _ClassVar[Verdict]
    VERDICT_POSSIBLY_ELIGIBLE: _ClassVar[Verdict]
    VERDICT_INELIGIBLE: _ClassVar[Verdict]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_MET: _ClassVar[Outcome]
    OUTCOME_NOT_MET: _ClassVar[Outcome]
    OUTCOME_UNKNOWN: _ClassVar[Outcome]
    OUTCOME_NOT_APPLICABLE: _ClassVar[Outcome]
VERDICT_UNSPECIFIED: Verdict
VERDICT_ELIGIBLE: Verdict
VERDICT_POSSIBLY_ELIGIBLE: Verdict
VERDICT_INELIGIBLE: Verdict
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_MET: Outcome
OUTCOME_NOT_MET: Outcome
OUTCOME_UNKNOWN: Outcome
OUTCOME_NOT_APPLICABLE: Outcome

class Evidence(_message.Message):
    __slots__ = ("source", "text", "score")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    source: str
    text: str
    score: float
    def __init__(self, source: _Optional[str] = ..., text: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class CriterionResult(_message.Message):
    __slots__ = ("criterion", "outcome", "reason", "evidence")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    criterion: _common_pb2.Criterion
    outcome: Outcome
    reason: str
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    def __init__(self, criterion: _Optional[_Union[_common_pb2.Criterion, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., reason: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("trial_id", "patient_id", "verdict", "score", "relevance", "inclusions_met", "inclusions_total", "criteria", "rank", "eligibility")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RELEVANCE_FIELD_NUMBER: _ClassVar[int]
    INCLUSIONS_MET_FIELD_NUMBER: _ClassVar[int]
    INCLUSIONS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    patient_id: str
    verdict: Verdict
    score: float
    relevance: float
    inclusions_met: int
    inclusions_total: int
    criteria: _containers.RepeatedCompositeFieldContainer[CriterionResult]
    rank: int
    eligibility: float
    def __init__(self, trial_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., score: _Optional[float] = ..., relevance: _Optional[float] = ..., inclusions_met: _Optional[int] = ..., inclusions_total: _Optional[int] = ..., criteria: _Optional[_Iterable[_Union[CriterionResult, _Mapping]]] = ..., rank: _Optional[int] = ..., eligibility: _Optional[float] = ...) -> None: ...

class PatientFilters(_message.Message):
    __slots__ = ("verdicts", "genders", "postal_prefixes")
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    GENDERS_FIELD_NUMBER: _ClassVar[int]
    POSTAL_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    verdicts: _containers.RepeatedScalarFieldContainer[Verdict]
    genders: _containers.RepeatedScalarFieldContainer[str]
    postal_prefixes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, verdicts: _Optional[_Iterable[_Union[Verdict, str]]] = ..., genders: _Optional[_Iterable[str]] = ..., postal_prefixes: _Optional[_Iterable[str]] = ...) -> None: ...

class RankPatientsRequest(_message.Message):
    __slots__ = ("trial_id", "limit", "filters", "index_date")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    INDEX_DATE_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    limit: int
    filters: PatientFilters
    index_date: str
    def __init__(self, trial_id: _Optional[str] = ..., limit: _Optional[int] = ..., filters: _Optional[_Union[PatientFilters, _Mapping]] = ..., index_date: _Optional[str] = ...) -> None: ...

class RankPatientsResponse(_message.Message):
    __slots__ = ("candidates", "considered")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    considered: int
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., considered: _Optional[int] = ...) -> None: ...

class RankTrialsRequest(_message.Message):
    __slots__ = ("patient_id", "limit", "index_date")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    INDEX_DATE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    limit: int
    index_date: str
    def __init__(self, patient_id: _Optional[str] = ..., limit: _Optional[int] = ..., index_date: _Optional[str] = ...) -> None: ...

class RankTrialsResponse(_message.Message):
    __slots__ = ("candidates", "considered")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    considered: int
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., considered: _Optional[int] = ...) -> None: ...

class WatchCandidatesRequest(_message.Message):
    __slots__ = ("trial_id",)
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    def __init__(self, trial_id: _Optional[str] = ...) -> None: ...

class CandidateEvent(_message.Message):
    __slots__ = ("candidate",)
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    candidate: Candidate
    def __init__(self, candidate: _Optional[_Union[Candidate, _Mapping]] = ...) -> None: ...

class CohortReportRequest(_message.Message):
    __slots__ = ("trial_id",)
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    def __init__(self, trial_id: _Optional[str] = ...) -> None: ...

class CohortCount(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class CohortReportResponse(_message.Message):
    __slots__ = ("counts",)
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[CohortCount]
    def __init__(self, counts: _Optional[_Iterable[_Union[CohortCount, _Mapping]]] = ...) -> None: ...
