"""The domain model shared by ingest, NLP, stores and matching.

Plain dataclasses (not protobuf, not pydantic) so that domain code stays free of gRPC and of
validation overhead on hot paths; `to_dict`/`from_dict` give the JSON that both backends store
as one document per patient or trial.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class FactKind(StrEnum):
    CONDITION = "condition"
    MEDICATION = "medication"
    PROCEDURE = "procedure"
    OBSERVATION = "observation"
    ALLERGY = "allergy"
    IMMUNIZATION = "immunization"
    DEVICE = "device"
    NOTE_MENTION = "note-mention"


class Assertion(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    POSSIBLE = "possible"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"


@dataclass(frozen=True, slots=True)
class Code:
    system: str
    code: str
    display: str = ""


@dataclass(slots=True)
class Fact:
    """One clinical statement about a patient, always traceable to its `source`.

    `source` is a FHIR reference (`Condition/123`) or, for facts read from a note, the note
    reference plus the sentence index (`DocumentReference/9#s3`); `sentence` then keeps that
    sentence's text so evidence can quote it without re-splitting the note. `comparator` is the
    stated bound of a value ("WBC > 12,000": `>`), empty when the value was stated exactly.
    """

    kind: FactKind
    text: str
    source: str
    codes: list[Code] = field(default_factory=list)
    value: float | None = None
    value_text: str = ""
    unit: str = ""
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""
    assertion: Assertion = Assertion.PRESENT
    sentence: str = ""
    comparator: str = ""


@dataclass(slots=True)
class Note:
    """Free text kept for NLP (DocumentReference/DiagnosticReport attachments, narratives)."""

    source: str
    text: str
    date: datetime | None = None
    title: str = ""


@dataclass(slots=True)
class PatientRecord:
    patient_id: str
    birth_date: date | None = None
    gender: str = ""  # FHIR administrative gender: male | female | other | unknown
    race: str = ""
    ethnicity: str = ""
    postal_code: str = ""
    deceased: bool = False
    deceased_date: datetime | None = None
    facts: list[Fact] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    source_bundle: str = ""  # Bundle.id or identifier, for provenance

    def age_at(self, when: date) -> float | None:
        """Age in whole years at `when` (an index date), or None without a birth date."""
        months = self.months_at(when)
        return None if months is None else float(months // 12)

    def months_at(self, when: date) -> int | None:
        """Completed months of age at `when`: the unit paediatric limits ("6 months") need."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        months = (when.year - born.year) * 12 + when.month - born.month
        return months - 1 if when.day < born.day else months

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatientRecord:
        return PatientRecord(
            patient_id=data["patient_id"],
            birth_date=_date(data.get("birth_date")),
            gender=data.get("gender", ""),
            race=data.get("race", ""),
            ethnicity=data.get("ethnicity", ""),
            postal_code=data.get("postal_code", ""),
            deceased=data.get("deceased", False),
            deceased_date=_datetime(data.get("deceased_date")),
            facts=[_fact(f) for f in data.get("facts", [])],
            notes=[
                Note(n["source"], n["text"], _datetime(n.get("date")), n.get("title", ""))
                for n in data.get("notes", [])
            ],
            source_bundle=data.get("source_bundle", ""),
        )


class CriterionKind(StrEnum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


class Category(StrEnum):
    DEMOGRAPHIC = "demographic"
    CONDITION = "condition"
    MEDICATION = "medication"
    PROCEDURE = "procedure"
    LAB = "lab"
    BIOMARKER = "biomarker"
    PERFORMANCE_STATUS = "performance_status"
    PREGNANCY = "pregnancy"
    CONSENT = "consent"
    OTHER = "other"


@dataclass(slots=True)
class Concept:
    text: str
    codes: list[Code] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Entity:
    """A span the criteria NLP recognised (Chia types: Condition, Drug, Value, Temporal, ...).

    Offsets point into the submitted eligibility text, like the criterion's own span, so that a
    client can highlight exactly what was read.
    """

    type: str
    text: str
    start: int
    end: int


# Groups whose names start with this are cohort lines ("Premenopausal women: aged 18-45",
# "Men: aged 18-70"): the facets of one line (one span) must hold together, and one line must.
COHORT_GROUP = "cohort:"
# Groups whose names start with this are a condition and the values that define it ("obese
# (BMI > 27)", "diabetes, as determined by HbA1c >= 6.5%"): any part MET establishes it, and
# when every defining value is known and fails, the condition does not hold even if the
# record does not say so (see matcher.matching.rank.grouped).
DEFINITION_GROUP = "def:"
# Groups whose names start with this are a condition and the values that narrow it, in an
# exclusion ("abdominal pain with NRS <= 5", "hypertension with SBP > 160"): a known value
# decides; without one, the condition ruled out still rules the group out, and the condition
# alone leaves it open (see matcher.matching.rank.narrowed).
NARROWED_GROUP = "with:"
# Both kinds group a condition with values about it; a group id keeps its prefix.
VALUE_GROUPS = (DEFINITION_GROUP, NARROWED_GROUP)
# Groups whose names start with this and a count are "at least N of the following" lists
# ("SIRS: two or more of the following: ..."): the group holds when N of its lines hold, each
# line counted once however many facets it has (see matcher.matching.rank.at_least).
COUNT_GROUP = "atleast"
_COUNT = re.compile(rf"^{COUNT_GROUP}(\d+):")


def count_group(count: int, key: str) -> str:
    """The name of an "at least `count` of" group; a count of one is a plain OR group."""
    return f"{COUNT_GROUP}{count}:{key}" if count > 1 else key


def group_prefix(group: str) -> str:
    """The part of a group name that says how its members combine (kept when renamed)."""
    m = _COUNT.match(group)
    if m:
        return m.group()
    return next((k for k in VALUE_GROUPS if group.startswith(k)), "")


def required_count(group: str) -> int:
    """How many lines of a group must hold: N for a count group, else one."""
    m = _COUNT.match(group)
    return int(m.group(1)) if m else 1


@dataclass(slots=True)
class Criterion:
    """One eligibility statement. Unstructurable text stays as category OTHER, never dropped.

    For demographic criteria `concept.text` is `age` or `sex`; `value`/`value_high` give the
    bound(s) and `unit` its unit (years, or the sex in `value_text`). `window_days` looks back
    from the index date ("within 6 months" = 182.6; "at least 4 weeks since X" is stated as
    negated X within 28 days); `duration_days` is how long the concept must already have been
    present ("diabetes for at least 1 year" = 365.25). `entities` are the recognised spans the
    criterion was built from (all of the segment's for OTHER criteria).
    """

    id: str
    kind: CriterionKind
    text: str
    category: Category = Category.OTHER
    concept: Concept | None = None
    negated: bool = False
    comparator: str = ""  # one of <, <=, >, >=, =, !=, between ("" when none)
    value: float | None = None
    value_high: float | None = None
    value_text: str = ""
    unit: str = ""
    window_days: float | None = None  # temporal window looking back from the index date
    group: str = ""  # criteria sharing a group are alternatives (OR); see COHORT_GROUP
    span_start: int = 0
    span_end: int = 0
    duration_days: float | None = None  # minimum time the concept has been present
    entities: list[Entity] = field(default_factory=list)

    @property
    def match_text(self) -> str:
        """What is matched and embedded for this criterion: its concept, else its text.

        Everything that embeds criteria (ranking, evaluation warm-up) must use this one
        text, or the embedding cache misses."""
        return self.concept.text if self.concept else self.text


class Sex(StrEnum):
    ALL = "all"
    MALE = "male"
    FEMALE = "female"


@dataclass(slots=True)
class Trial:
    trial_id: str
    title: str = ""
    version: int = 1
    phase: str = ""
    status: str = ""
    conditions: list[str] = field(default_factory=list)
    interventions: list[str] = field(default_factory=list)
    min_age_years: float | None = None
    max_age_years: float | None = None
    sex: Sex = Sex.ALL
    healthy_volunteers: bool | None = None
    sites: list[str] = field(default_factory=list)
    eligibility_text: str = ""
    criteria: list[Criterion] = field(default_factory=list)
    retired: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        fields = {f.name for f in dataclasses.fields(cls)} - {"criteria", "sex"}
        trial = Trial(**{k: v for k, v in data.items() if k in fields})
        trial.sex = Sex(data.get("sex", "all"))
        trial.criteria = [_criterion(c) for c in data.get("criteria", [])]
        return trial


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    POSSIBLY_ELIGIBLE = "possibly_eligible"
    INELIGIBLE = "ineligible"


class Outcome(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


@dataclass(slots=True)
class Evidence:
    source: str
    text: str
    score: float = 1.0


@dataclass(slots=True)
class CriterionResult:
    criterion: Criterion
    outcome: Outcome
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    # The qualifier ("severe", "uncontrolled") an UNKNOWN leaves open when the record shows
    # the concept itself: the patient may well be ruled out, unlike when the record is silent.
    open_qualifier: str = ""


@dataclass(slots=True)
class Match:
    """One (trial, patient) pair, evaluated: the unit both ranking directions return."""

    trial_id: str
    patient_id: str
    verdict: Verdict
    score: float
    relevance: float
    inclusions_met: int
    inclusions_total: int
    results: list[CriterionResult] = field(default_factory=list)
    # How likely the patient is eligible, from the criterion outcomes alone (not how relevant
    # the trial is): a relative score, higher is likelier, not a probability. See
    # matcher.matching.rank.RankWeights.
    eligibility: float = 0.0


# --- (de)serialisation helpers -----------------------------------------------------------


def _to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, StrEnum):
        return obj.value
    return obj


def _date(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def _datetime(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _codes(items: list[dict[str, str]] | None) -> list[Code]:
    return [Code(c["system"], c["code"], c.get("display", "")) for c in items or []]


def _fact(d: dict[str, Any]) -> Fact:
    return Fact(
        kind=FactKind(d["kind"]),
        text=d["text"],
        source=d["source"],
        codes=_codes(d.get("codes")),
        value=d.get("value"),
        value_text=d.get("value_text", ""),
        unit=d.get("unit", ""),
        start=_datetime(d.get("start")),
        end=_datetime(d.get("end")),
        status=d.get("status", ""),
        assertion=Assertion(d.get("assertion", "present")),
        sentence=d.get("sentence", ""),
        comparator=d.get("comparator", ""),
    )


def _criterion(d: dict[str, Any]) -> Criterion:
    concept = d.get("concept")
    return Criterion(
        id=d["id"],
        kind=CriterionKind(d["kind"]),
        text=d["text"],
        category=Category(d.get("category", "other")),
        concept=Concept(concept["text"], _codes(concept.get("codes"))) if concept else None,
        negated=d.get("negated", False),
        comparator=d.get("comparator", ""),
        value=d.get("value"),
        value_high=d.get("value_high"),
        value_text=d.get("value_text", ""),
        unit=d.get("unit", ""),
        window_days=d.get("window_days"),
        group=d.get("group", ""),
        span_start=d.get("span_start", 0),
        span_end=d.get("span_end", 0),
        duration_days=d.get("duration_days"),
        entities=[
            Entity(e["type"], e["text"], e["start"], e["end"]) for e in d.get("entities", [])
        ],
    )
