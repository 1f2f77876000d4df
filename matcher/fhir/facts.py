"""Validated FHIR resources -> `Fact`s.

Extraction reads the plain JSON dicts, not the fhir.resources models: the models have already
vouched for types and cardinality, and walking dicts is several times cheaper than attribute
access on pydantic objects, which matters at thousands of entries per bundle.

Assertion policy (what the matcher sees as "the patient has X"):
- `entered-in-error` anywhere means the statement was never true: no fact at all.
- verification `refuted`, procedure/immunization `not-done`, medication `not-taken` -> ABSENT,
  so exclusion criteria can use them as explicit negatives.
- verification `unconfirmed`/`provisional`/`differential` -> POSSIBLE.
- clinical status `resolved`/`inactive`/`remission` and medication `stopped`/`completed`
  -> HISTORICAL: true once, not now.
- FamilyMemberHistory conditions -> FAMILY, never a condition of the patient.
The raw FHIR status is kept in `Fact.status` so callers can apply a stricter policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matcher.errors import InvalidInput
from matcher.fhir.dates import parse_datetime
from matcher.model import Assertion, Code, Fact, FactKind

JSON = dict[str, Any]
Resolver = Callable[[str], JSON | None]
"""Looks a reference string up among the bundle's resources (for Medication, Device)."""

_HISTORICAL_CLINICAL = frozenset({"resolved", "inactive", "remission"})
_POSSIBLE_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})
_HISTORICAL_MEDICATION = frozenset({"stopped", "completed"})
_ABSENT_STATUS = frozenset({"not-done", "not-taken"})
ENTERED_IN_ERROR = "entered-in-error"


def codes_of(concept: JSON | None) -> list[Code]:
    """Every coding that carries a code: matching may key on any of the code systems."""
    if not concept:
        return []
    return [
        Code(c.get("system", ""), c["code"], c.get("display", ""))
        for c in concept.get("coding", ())
        if c.get("code")
    ]


def text_of(concept: JSON | None) -> str:
    """Human text of a CodeableConcept: `text`, else the first display, else the first code."""
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding", ())
    for coding in codings:
        if coding.get("display"):
            return str(coding["display"])
    for coding in codings:
        if coding.get("code"):
            return str(coding["code"])
    return ""


def status_code(concept: JSON | None) -> str:
    """The first coded value of a status CodeableConcept (clinicalStatus, verificationStatus)."""
    if not concept:
        return ""
    for coding in concept.get("coding", ()):
        if coding.get("code"):
            return str(coding["code"])
    return str(concept.get("text", ""))


def _time(resource: JSON, stem: str, path: str) -> tuple[Any, Any]:
    """Start and end of a choice element `stem[x]` given as dateTime, Period, date or instant."""
    for suffix in ("DateTime", "Date", "Instant"):
        key = stem + suffix
        if key in resource:
            return parse_datetime(resource[key], f"{path}.{key}"), None
    period = resource.get(stem + "Period")
    if period:
        key = f"{path}.{stem}Period"
        return (
            parse_datetime(period.get("start"), f"{key}.start"),
            parse_datetime(period.get("end"), f"{key}.end"),
        )
    return None, None


def _assertion_from_status(status: str, *, historical: frozenset[str] = frozenset()) -> Assertion:
    """ABSENT for `not-done`/`not-taken`; HISTORICAL for the given finished statuses."""
    if status in _ABSENT_STATUS:
        return Assertion.ABSENT
    if status in historical:
        return Assertion.HISTORICAL
    return Assertion.PRESENT


def _required_concept(resource: JSON, key: str, path: str) -> JSON:
    concept = resource.get(key)
    if not concept or not (concept.get("text") or codes_of(concept)):
        raise InvalidInput(f"{key} is required (a code or text) to make a fact", f"{path}.{key}")
    return concept  # type: ignore[no-any-return]


def condition(resource: JSON, source: str, path: str) -> list[Fact]:
    """A Condition; refuted ones are kept as ABSENT so exclusions can see them."""
    clinical = status_code(resource.get("clinicalStatus"))
    verification = status_code(resource.get("verificationStatus"))
    if verification == ENTERED_IN_ERROR:
        return []
    concept = _required_concept(resource, "code", path)
    if verification == "refuted":
        assertion = Assertion.ABSENT
    elif verification in _POSSIBLE_VERIFICATION:
        assertion = Assertion.POSSIBLE
    elif clinical in _HISTORICAL_CLINICAL:
        assertion = Assertion.HISTORICAL
    else:
        assertion = Assertion.PRESENT
    start, _ = _time(resource, "onset", path)
    abated_start, abated_end = _time(resource, "abatement", path)
    return [
        Fact(
            kind=FactKind.CONDITION,
            text=text_of(concept),
            source=source,
            codes=codes_of(concept),
            start=start,
            end=abated_end or abated_start,
            status=clinical,
            assertion=assertion,
        )
    ]


def family_history(resource: JSON, source: str, path: str) -> list[Fact]:
    """FamilyMemberHistory conditions become FAMILY facts: relevant to criteria, not diagnoses."""
    if resource.get("status") == ENTERED_IN_ERROR:
        return []
    relation = text_of(resource.get("relationship"))
    facts = []
    for i, item in enumerate(resource.get("condition", ())):
        concept = _required_concept(item, "code", f"{path}.condition[{i}]")
        text = text_of(concept)
        facts.append(
            Fact(
                kind=FactKind.CONDITION,
                text=f"{text} ({relation})" if relation else text,
                source=source,
                codes=codes_of(concept),
                status=str(resource.get("status", "")),
                assertion=Assertion.FAMILY,
            )
        )
    return facts


def _observation_value(holder: JSON, fact: Fact) -> None:
    """Copy whichever value[x] is present onto `fact` (numeric into value, else value_text)."""
    if "valueQuantity" in holder:
        quantity = holder["valueQuantity"]
        if quantity.get("value") is not None:
            fact.value = float(quantity["value"])
        fact.unit = str(quantity.get("code") or quantity.get("unit") or "")
        if quantity.get("comparator"):
            fact.value_text = str(quantity["comparator"])
    elif "valueCodeableConcept" in holder:
        fact.value_text = text_of(holder["valueCodeableConcept"])
    elif "valueString" in holder:
        fact.value_text = str(holder["valueString"])
    elif "valueBoolean" in holder:
        fact.value_text = "true" if holder["valueBoolean"] else "false"
    elif "valueInteger" in holder:
        fact.value = float(holder["valueInteger"])
    elif "valueRange" in holder:
        low = holder["valueRange"].get("low", {})
        high = holder["valueRange"].get("high", {})
        if low.get("value") is not None:
            fact.value = float(low["value"])
        fact.unit = str(low.get("code") or low.get("unit") or high.get("code") or "")
        fact.value_text = f"{low.get('value', '')}-{high.get('value', '')}"
    elif "valueRatio" in holder:
        num = holder["valueRatio"].get("numerator", {})
        den = holder["valueRatio"].get("denominator", {})
        fact.value_text = f"{num.get('value', '')}/{den.get('value', '')}"
    else:
        for key in ("valueDateTime", "valueTime", "valuePeriod"):
            if key in holder:
                fact.value_text = str(holder[key])
                break
        else:
            if "dataAbsentReason" in holder:
                fact.value_text = text_of(holder["dataAbsentReason"])


def observation(resource: JSON, source: str, path: str) -> list[Fact]:
    """An Observation plus one fact per component (blood pressure's systolic/diastolic...)."""
    status = str(resource.get("status", ""))
    if status == ENTERED_IN_ERROR:
        return []
    concept = _required_concept(resource, "code", path)
    start, end = _time(resource, "effective", path)
    main = Fact(
        kind=FactKind.OBSERVATION,
        text=text_of(concept),
        source=source,
        codes=codes_of(concept),
        start=start,
        end=end,
        status=status,
    )
    _observation_value(resource, main)
    facts = [main]
    for i, component in enumerate(resource.get("component", ())):
        sub = _required_concept(component, "code", f"{path}.component[{i}]")
        fact = Fact(
            kind=FactKind.OBSERVATION,
            text=text_of(sub),
            source=source,
            codes=codes_of(sub),
            start=start,
            end=end,
            status=status,
        )
        _observation_value(component, fact)
        facts.append(fact)
    return facts


def diagnostic_report(resource: JSON, source: str, path: str) -> list[Fact]:
    """Only a report's `conclusion` is a fact; its results are Observations of their own."""
    status = str(resource.get("status", ""))
    if status == ENTERED_IN_ERROR or not resource.get("conclusion"):
        return []
    start, end = _time(resource, "effective", path)
    concept = resource.get("code")
    codes = codes_of(concept)
    for conclusion_code in resource.get("conclusionCode", ()):
        codes.extend(codes_of(conclusion_code))
    return [
        Fact(
            kind=FactKind.OBSERVATION,
            text=text_of(concept),
            source=source,
            codes=codes,
            value_text=str(resource["conclusion"]),
            start=start,
            end=end,
            status=status,
        )
    ]


def medication(resource: JSON, source: str, path: str, resolve: Resolver) -> list[Fact]:
    """MedicationRequest/MedicationStatement/MedicationAdministration (medication[x] 1..1)."""
    status = str(resource.get("status", ""))
    if status == ENTERED_IN_ERROR:
        return []
    concept = resource.get("medicationCodeableConcept")
    text = text_of(concept)
    codes = codes_of(concept)
    if concept is None:
        reference = resource.get("medicationReference")
        if not reference:
            raise InvalidInput(
                "medication[x] is required (medicationCodeableConcept or medicationReference)",
                f"{path}.medication[x]",
            )
        target = resolve(str(reference.get("reference", "")))
        if target is not None and target.get("resourceType") == "Medication":
            text, codes = text_of(target.get("code")), codes_of(target.get("code"))
        text = text or str(reference.get("display", ""))
    if not (text or codes):
        raise InvalidInput("medication has neither code nor text", f"{path}.medication[x]")
    if resource.get("resourceType") == "MedicationRequest":
        start = parse_datetime(resource.get("authoredOn"), f"{path}.authoredOn")
        end = None
    else:
        start, end = _time(resource, "effective", path)
    return [
        Fact(
            kind=FactKind.MEDICATION,
            text=text,
            source=source,
            codes=codes,
            start=start,
            end=end,
            status=status,
            assertion=_assertion_from_status(status, historical=_HISTORICAL_MEDICATION),
        )
    ]


def procedure(resource: JSON, source: str, path: str) -> list[Fact]:
    status = str(resource.get("status", ""))
    if status == ENTERED_IN_ERROR:
        return []
    concept = _required_concept(resource, "code", path)
    start, end = _time(resource, "performed", path)
    return [
        Fact(
            kind=FactKind.PROCEDURE,
            text=text_of(concept),
            source=source,
            codes=codes_of(concept),
            start=start,
            end=end,
            status=status,
            assertion=_assertion_from_status(status),
        )
    ]


def allergy(resource: JSON, source: str, path: str) -> list[Fact]:
    verification = status_code(resource.get("verificationStatus"))
    if verification == ENTERED_IN_ERROR:
        return []
    clinical = status_code(resource.get("clinicalStatus"))
    concept = _required_concept(resource, "code", path)
    start, end = _time(resource, "onset", path)
    if start is None:
        start = parse_datetime(resource.get("recordedDate"), f"{path}.recordedDate")
    if verification == "refuted":
        assertion = Assertion.ABSENT
    elif verification == "unconfirmed":
        assertion = Assertion.POSSIBLE
    elif clinical in _HISTORICAL_CLINICAL:
        assertion = Assertion.HISTORICAL
    else:
        assertion = Assertion.PRESENT
    return [
        Fact(
            kind=FactKind.ALLERGY,
            text=text_of(concept),
            source=source,
            codes=codes_of(concept),
            start=start,
            end=end,
            status=clinical,
            assertion=assertion,
        )
    ]


def immunization(resource: JSON, source: str, path: str) -> list[Fact]:
    status = str(resource.get("status", ""))
    if status == ENTERED_IN_ERROR:
        return []
    concept = _required_concept(resource, "vaccineCode", path)
    start, _ = _time(resource, "occurrence", path)
    return [
        Fact(
            kind=FactKind.IMMUNIZATION,
            text=text_of(concept),
            source=source,
            codes=codes_of(concept),
            start=start,
            status=status,
            assertion=_assertion_from_status(status),
        )
    ]


def _device_text(device: JSON) -> tuple[str, list[Code]]:
    concept = device.get("type")
    text = text_of(concept)
    for name in device.get("deviceName", ()):
        if name.get("name"):
            text = text or str(name["name"])
    return text, codes_of(concept)


def device(resource: JSON, source: str, path: str, resolve: Resolver) -> list[Fact]:
    """Device (with a patient) or DeviceUseStatement (device resolved inside the bundle)."""
    status = str(resource.get("status", ""))
    if status == ENTERED_IN_ERROR:
        return []
    start = end = None
    if resource.get("resourceType") == "Device":
        text, codes = _device_text(resource)
    else:
        reference = resource.get("device", {})
        target = resolve(str(reference.get("reference", "")))
        text, codes = _device_text(target) if target else ("", [])
        text = text or str(reference.get("display", ""))
        start, end = _time(resource, "timing", path)
    if not (text or codes):
        return []  # an unnamed device tells a matcher nothing
    return [
        Fact(
            kind=FactKind.DEVICE,
            text=text,
            source=source,
            codes=codes,
            start=start,
            end=end,
            status=status,
        )
    ]


def extract(resource: JSON, source: str, path: str, resolve: Resolver) -> list[Fact]:
    """Facts of one resource; resource types that carry no patient facts yield none."""
    kind = resource["resourceType"]
    if kind in _SIMPLE:
        return _SIMPLE[kind](resource, source, path)
    if kind in _MEDICATION_TYPES:
        return medication(resource, source, path, resolve)
    if kind in ("Device", "DeviceUseStatement"):
        return device(resource, source, path, resolve)
    return []


_SIMPLE: dict[str, Callable[[JSON, str, str], list[Fact]]] = {
    "Condition": condition,
    "Observation": observation,
    "Procedure": procedure,
    "AllergyIntolerance": allergy,
    "Immunization": immunization,
    "DiagnosticReport": diagnostic_report,
    "FamilyMemberHistory": family_history,
}
_MEDICATION_TYPES = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationAdministration"}
)
