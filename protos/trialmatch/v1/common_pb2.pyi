from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CriterionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CRITERION_KIND_UNSPECIFIED: _ClassVar[CriterionKind]
    CRITERION_KIND_INCLUSION: _ClassVar[CriterionKind]
    CRITERION_KIND_EXCLUSION: _ClassVar[CriterionKind]

class CriterionCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CRITERION_CATEGORY_UNSPECIFIED: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_DEMOGRAPHIC: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_CONDITION: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_MEDICATION: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_PROCEDURE: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_LAB: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_BIOMARKER: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_PERFORMANCE_STATUS: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_PREGNANCY: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_CONSENT: _ClassVar[CriterionCategory]
    CRITERION_CATEGORY_OTHER: _ClassVar[CriterionCategory]

class Sex(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEX_UNSPECIFIED: _ClassVar[Sex]
    SEX_ALL: _ClassVar[Sex]
    SEX_MALE: _ClassVar[Sex]
    SEX_FEMALE: _ClassVar[Sex]
CRITERION_KIND_UNSPECIFIED: CriterionKind
CRITERION_KIND_INCLUSION: CriterionKind
CRITERION_KIND_EXCLUSION: CriterionKind
CRITERION_CATEGORY_UNSPECIFIED: CriterionCategory
CRITERION_CATEGORY_DEMOGRAPHIC: CriterionCategory
CRITERION_CATEGORY_CONDITION: CriterionCategory
CRITERION_CATEGORY_MEDICATION: CriterionCategory
CRITERION_CATEGORY_PROCEDURE: CriterionCategory
CRITERION_CATEGORY_LAB: CriterionCategory
CRITERION_CATEGORY_BIOMARKER: CriterionCategory
CRITERION_CATEGORY_PERFORMANCE_STATUS: CriterionCategory
CRITERION_CATEGORY_PREGNANCY: CriterionCategory
CRITERION_CATEGORY_CONSENT: CriterionCategory
CRITERION_CATEGORY_OTHER: CriterionCategory
SEX_UNSPECIFIED: Sex
SEX_ALL: Sex
SEX_MALE: Sex
SEX_FEMALE: Sex

class Coding(_message.Message):
    __slots__ = ("system", "code", "display")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    system: str
    code: str
    display: str
    def __init__(self, system: _Optional[str] = ..., code: _Optional[str] = ..., display: _Optional[str] = ...) -> None: ...

class Concept(_message.Message):
    __slots__ = ("text", "codes")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    text: str
    codes: _containers.RepeatedCompositeFieldContainer[Coding]
    def __init__(self, text: _Optional[str] = ..., codes: _Optional[_Iterable[_Union[Coding, _Mapping]]] = ...) -> None: ...

class Criterion(_message.Message):
    __slots__ = ("id", "kind", "text", "category", "concept", "negated", "comparator", "value", "value_high", "value_text", "unit", "window_days", "group", "span_start", "span_end", "duration_days", "entities")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CONCEPT_FIELD_NUMBER: _ClassVar[int]
    NEGATED_FIELD_NUMBER: _ClassVar[int]
    COMPARATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_HIGH_FIELD_NUMBER: _ClassVar[int]
    VALUE_TEXT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SPAN_START_FIELD_NUMBER: _ClassVar[int]
    SPAN_END_FIELD_NUMBER: _ClassVar[int]
    DURATION_DAYS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: CriterionKind
    text: str
    category: CriterionCategory
    concept: Concept
    negated: bool
    comparator: str
    value: float
    value_high: float
    value_text: str
    unit: str
    window_days: float
    group: str
    span_start: int
    span_end: int
    duration_days: float
    entities: _containers.RepeatedCompositeFieldContainer[CriterionEntity]
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[CriterionKind, str]] = ..., text: _Optional[str] = ..., category: _Optional[_Union[CriterionCategory, str]] = ..., concept: _Optional[_Union[Concept, _Mapping]] = ..., negated: _Optional[bool] = ..., comparator: _Optional[str] = ..., value: _Optional[float] = ..., value_high: _Optional[float] = ..., value_text: _Optional[str] = ..., unit: _Optional[str] = ..., window_days: _Optional[float] = ..., group: _Optional[str] = ..., span_start: _Optional[int] = ..., span_end: _Optional[int] = ..., duration_days: _Optional[float] = ..., entities: _Optional[_Iterable[_Union[CriterionEntity, _Mapping]]] = ...) -> None: ...

class CriterionEntity(_message.Message):
    __slots__ = ("type", "text", "start", "end")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    start: int
    end: int
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...
