import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from trialmatch.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PushBundleRequest(_message.Message):
    __slots__ = ("bundle_json", "label")
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    bundle_json: bytes
    label: str
    def __init__(self, bundle_json: _Optional[bytes] = ..., label: _Optional[str] = ...) -> None: ...

class PushBundleResponse(_message.Message):
    __slots__ = ("patient_ids", "fact_count", "note_count")
    PATIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    FACT_COUNT_FIELD_NUMBER: _ClassVar[int]
    NOTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    patient_ids: _containers.RepeatedScalarFieldContainer[str]
    fact_count: int
    note_count: int
    def __init__(self, patient_ids: _Optional[_Iterable[str]] = ..., fact_count: _Optional[int] = ..., note_count: _Optional[int] = ...) -> None: ...

class BundleAck(_message.Message):
    __slots__ = ("index", "label", "result", "error_code", "error_message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    label: str
    result: PushBundleResponse
    error_code: str
    error_message: str
    def __init__(self, index: _Optional[int] = ..., label: _Optional[str] = ..., result: _Optional[_Union[PushBundleResponse, _Mapping]] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class DeletePatientRequest(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class DeletePatientResponse(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class GetPatientRequest(_message.Message):
    __slots__ = ("patient_id", "purpose")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    purpose: str
    def __init__(self, patient_id: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class Fact(_message.Message):
    __slots__ = ("kind", "codes", "text", "value", "value_text", "unit", "start", "end", "status", "assertion", "source")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_TEXT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ASSERTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    codes: _containers.RepeatedCompositeFieldContainer[_common_pb2.Coding]
    text: str
    value: float
    value_text: str
    unit: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    status: str
    assertion: str
    source: str
    def __init__(self, kind: _Optional[str] = ..., codes: _Optional[_Iterable[_Union[_common_pb2.Coding, _Mapping]]] = ..., text: _Optional[str] = ..., value: _Optional[float] = ..., value_text: _Optional[str] = ..., unit: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[str] = ..., assertion: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class PatientRecord(_message.Message):
    __slots__ = ("patient_id", "birth_date", "gender", "race", "ethnicity", "postal_code", "deceased", "facts", "note_count")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    RACE_FIELD_NUMBER: _ClassVar[int]
    ETHNICITY_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    DECEASED_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    NOTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    birth_date: str
    gender: str
    race: str
    ethnicity: str
    postal_code: str
    deceased: bool
    facts: _containers.RepeatedCompositeFieldContainer[Fact]
    note_count: int
    def __init__(self, patient_id: _Optional[str] = ..., birth_date: _Optional[str] = ..., gender: _Optional[str] = ..., race: _Optional[str] = ..., ethnicity: _Optional[str] = ..., postal_code: _Optional[str] = ..., deceased: _Optional[bool] = ..., facts: _Optional[_Iterable[_Union[Fact, _Mapping]]] = ..., note_count: _Optional[int] = ...) -> None: ...

class GetPatientResponse(_message.Message):
    __slots__ = ("patient",)
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    patient: PatientRecord
    def __init__(self, patient: _Optional[_Union[PatientRecord, _Mapping]] = ...) -> None: ...
