from trialmatch.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrialProtocol(_message.Message):
    __slots__ = ("trial_id", "title", "phase", "status", "conditions", "interventions", "min_age_years", "max_age_years", "sex", "healthy_volunteers", "sites", "eligibility_text")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_AGE_YEARS_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_YEARS_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_VOLUNTEERS_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_TEXT_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    title: str
    phase: str
    status: str
    conditions: _containers.RepeatedScalarFieldContainer[str]
    interventions: _containers.RepeatedScalarFieldContainer[str]
    min_age_years: float
    max_age_years: float
    sex: _common_pb2.Sex
    healthy_volunteers: bool
    sites: _containers.RepeatedScalarFieldContainer[str]
    eligibility_text: str
    def __init__(self, trial_id: _Optional[str] = ..., title: _Optional[str] = ..., phase: _Optional[str] = ..., status: _Optional[str] = ..., conditions: _Optional[_Iterable[str]] = ..., interventions: _Optional[_Iterable[str]] = ..., min_age_years: _Optional[float] = ..., max_age_years: _Optional[float] = ..., sex: _Optional[_Union[_common_pb2.Sex, str]] = ..., healthy_volunteers: _Optional[bool] = ..., sites: _Optional[_Iterable[str]] = ..., eligibility_text: _Optional[str] = ...) -> None: ...

class SubmitTrialRequest(_message.Message):
    __slots__ = ("protocol", "ctgov_json")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    CTGOV_JSON_FIELD_NUMBER: _ClassVar[int]
    protocol: TrialProtocol
    ctgov_json: str
    def __init__(self, protocol: _Optional[_Union[TrialProtocol, _Mapping]] = ..., ctgov_json: _Optional[str] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("protocol", "version", "criteria", "retired")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    RETIRED_FIELD_NUMBER: _ClassVar[int]
    protocol: TrialProtocol
    version: int
    criteria: _containers.RepeatedCompositeFieldContainer[_common_pb2.Criterion]
    retired: bool
    def __init__(self, protocol: _Optional[_Union[TrialProtocol, _Mapping]] = ..., version: _Optional[int] = ..., criteria: _Optional[_Iterable[_Union[_common_pb2.Criterion, _Mapping]]] = ..., retired: _Optional[bool] = ...) -> None: ...

class SubmitTrialResponse(_message.Message):
    __slots__ = ("trial",)
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    trial: Trial
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...

class GetTrialRequest(_message.Message):
    __slots__ = ("trial_id",)
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    def __init__(self, trial_id: _Optional[str] = ...) -> None: ...

class GetTrialResponse(_message.Message):
    __slots__ = ("trial",)
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    trial: Trial
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...

class ListTrialsRequest(_message.Message):
    __slots__ = ("include_retired", "limit")
    INCLUDE_RETIRED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    include_retired: bool
    limit: int
    def __init__(self, include_retired: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class ListTrialsResponse(_message.Message):
    __slots__ = ("trials",)
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    def __init__(self, trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ...) -> None: ...

class RetireTrialRequest(_message.Message):
    __slots__ = ("trial_id",)
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    def __init__(self, trial_id: _Optional[str] = ...) -> None: ...

class RetireTrialResponse(_message.Message):
    __slots__ = ("trial",)
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    trial: Trial
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...
