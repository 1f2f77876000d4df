"""FHIR R4 Bundle (JSON) -> one `PatientRecord` per Patient.

Pipeline, and why each step is where it is:

1. `json.loads` (stdlib): bad JSON is reported with line/column at path `Bundle`.
2. Bundle checks before any expensive work: `resourceType`, `type`, entry count
   (`max_entries` -> `TooLarge`), so an oversized or wrong payload is refused in microseconds.
3. Schema validation with fhir.resources 8.3.0 **R4B** models (R4B parses R4 data; there is no
   R4 package). Each entry's resource is validated with its own model class and the Bundle shell
   (without the resources) with `Bundle`: measured on the 35 Synthea bundles this is ~1.5x
   faster than validating the whole Bundle in one call, and it lets errors name the entry
   (`Bundle.entry[3].resource(Condition).code`). fhir.resources checks element names, JSON
   types, cardinality, required elements, primitive formats (dates, ids, base64); it does not
   check value sets, invariants (e.g. per-1 period order) or empty arrays.
4. Business rules the schema does not express (each an `InvalidInput` with a path): at least
   one Patient; Condition/Observation/Procedure/... need a code to become a fact; medication[x]
   is present; ids at most 64 characters; fullUrls and patient ids unique; dates real days.
5. Reference resolution: `fullUrl` (e.g. `urn:uuid:...`) and `Type/id` both index an entry;
   a fact-bearing resource goes to the Patient its `subject`/`patient` reference names. With
   exactly one Patient, resources whose reference does not resolve (or is absent) are given to
   it, which is what single-patient exports (Synthea) need; with several Patients that is
   ambiguous and rejected rather than guessed.

Accepted Bundle types: transaction, batch, collection, searchset, document — all carry current
resources. Rejected: history (several versions/deletes of one resource would double-count),
message (event semantics), transaction-response/batch-response (outcomes, not data).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel, ValidationError

from matcher.errors import InvalidInput, TooLarge
from matcher.fhir import facts as fact_rules
from matcher.fhir.patient import (
    attachment_notes,
    demographics,
    derive_patient_id,
    narrative_note,
)
from matcher.model import Fact, Note, PatientRecord

JSON = dict[str, Any]

ACCEPTED_BUNDLE_TYPES = frozenset({"transaction", "batch", "collection", "searchset", "document"})
MAX_ID_LENGTH = 64
_ABSTRACT_TYPES = frozenset({"Resource", "DomainResource"})
_PYDANTIC_UNION_TAGS = frozenset({"str", "int", "float", "bool", "decimal", "function-after"})
_MAX_REPORTED_ERRORS = 3
_CHOICE_NAME = re.compile(r"'([a-z][a-zA-Z]*?)[A-Z]\w*'")  # 'valueQuantity' -> value
_model_cache: dict[str, type[BaseModel]] = {}


def parse_bundle(raw: bytes | str, *, max_entries: int | None = None) -> list[PatientRecord]:
    """Validate a FHIR R4 Bundle and normalise it into one PatientRecord per Patient.

    Raises `InvalidInput` (with a FHIRPath-like `path`) for anything that can never succeed as
    sent and `TooLarge` when the bundle has more than `max_entries` entries.
    """
    document = _load_json(raw)
    entries = _check_bundle(document, max_entries)
    resources = [_validated_resource(entry, i) for i, entry in enumerate(entries)]
    index = _Index(entries, resources)
    source_bundle = _bundle_source(document)

    records: list[PatientRecord] = []
    record_of_entry: dict[int, PatientRecord] = {}
    patient_ids: set[str] = set()
    for i, resource in enumerate(resources):
        if resource["resourceType"] != "Patient":
            continue
        path = _entry_path(i, "Patient")
        patient_id = derive_patient_id(resource, str(entries[i].get("fullUrl", "")))
        if patient_id in patient_ids:  # two records with one id would overwrite in the store
            raise InvalidInput(f"duplicate Patient id {patient_id!r}", f"{path}.id")
        patient_ids.add(patient_id)
        record = demographics(resource, patient_id, source_bundle, path)
        note = narrative_note(resource, f"Patient/{patient_id}")
        if note is not None:
            record.notes.append(note)
        records.append(record)
        record_of_entry[i] = record
    if not records:
        raise InvalidInput("bundle contains no Patient resource", "Bundle.entry")

    for i, resource in enumerate(resources):
        kind = resource["resourceType"]
        if kind == "Patient":
            continue
        path = _entry_path(i, kind)
        source = _source(resource, str(entries[i].get("fullUrl", "")), i)
        found, notes = _facts_and_notes(resource, source, path, index)
        if not found and not notes:
            continue
        record = _owner(resource, path, index, record_of_entry)
        record.facts.extend(found)
        record.notes.extend(notes)
    return records


# --- steps ------------------------------------------------------------------------------


def _reject_constant(token: str) -> float:
    raise ValueError(f"{token} is not allowed in FHIR JSON")


def _load_json(raw: bytes | str) -> JSON:
    try:
        document = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "Bundle"
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"not valid JSON: {exc}", "Bundle") from None
    if not isinstance(document, dict):
        raise InvalidInput(
            f"expected a JSON object (a FHIR Bundle), got {type(document).__name__}", "Bundle"
        )
    return document


def _check_bundle(document: JSON, max_entries: int | None) -> list[Any]:
    """Bundle-level checks, cheapest first; returns the raw entry list."""
    kind = document.get("resourceType")
    if kind != "Bundle":
        raise InvalidInput(f"resourceType must be 'Bundle', got {kind!r}", "Bundle.resourceType")
    bundle_type = document.get("type")
    if bundle_type not in ACCEPTED_BUNDLE_TYPES:
        raise InvalidInput(
            f"Bundle.type {bundle_type!r} is not accepted; expected one of "
            f"{', '.join(sorted(ACCEPTED_BUNDLE_TYPES))}",
            "Bundle.type",
        )
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise InvalidInput("entry must be a JSON array", "Bundle.entry")
    if max_entries is not None and len(entries) > max_entries:
        raise TooLarge(f"bundle has {len(entries)} entries, more than the limit of {max_entries}")
    shell = dict(document)
    shell["entry"] = [
        {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
        for e in entries
    ]
    try:
        Bundle.model_validate(shell)
    except ValidationError as exc:
        raise _invalid(exc, "Bundle") from None
    return entries


def _model_for(kind: object, path: str) -> type[BaseModel]:
    if isinstance(kind, str) and kind in _model_cache:
        return _model_cache[kind]
    if not isinstance(kind, str) or not kind:
        raise InvalidInput("resource has no resourceType", f"{path}.resource.resourceType")
    try:
        model = get_fhir_model_class(kind)
    except (ValueError, KeyError, ImportError):
        model = None
    if model is None or not issubclass(model, Resource) or kind in _ABSTRACT_TYPES:
        raise InvalidInput(
            f"unknown resource type {kind!r} in {path.removeprefix('Bundle.')}",
            f"{path}.resource.resourceType",
        )
    _model_cache[kind] = model
    return model


def _validated_resource(entry: JSON, i: int) -> JSON:
    """The entry's resource after schema validation; the dict itself is what we extract from."""
    path = f"Bundle.entry[{i}]"
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        raise InvalidInput(
            "entry has no resource (only resources can be ingested)", f"{path}.resource"
        )
    kind = resource.get("resourceType")
    model = _model_for(kind, path)
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        raise _invalid(exc, _entry_path(i, str(kind))) from None
    resource_id = resource.get("id")
    if isinstance(resource_id, str) and len(resource_id) > MAX_ID_LENGTH:
        raise InvalidInput(
            f"id is {len(resource_id)} characters, FHIR allows at most {MAX_ID_LENGTH}",
            f"{_entry_path(i, str(kind))}.id",
        )
    return resource


class _Index:
    """fullUrl and `Type/id` -> entry, for resolving references inside the bundle."""

    def __init__(self, entries: list[JSON], resources: list[JSON]) -> None:
        self.resources = resources
        self.by_key: dict[str, int] = {}
        full_urls: set[str] = set()
        for i, (entry, resource) in enumerate(zip(entries, resources, strict=True)):
            full_url = entry.get("fullUrl")
            if full_url:
                if full_url in full_urls:
                    raise InvalidInput(
                        f"duplicate fullUrl {full_url!r}", f"Bundle.entry[{i}].fullUrl"
                    )
                full_urls.add(full_url)
                self.by_key[full_url] = i
            if resource.get("id"):
                self.by_key.setdefault(f"{resource['resourceType']}/{resource['id']}", i)

    def entry_of(self, reference: str) -> int | None:
        """Exact fullUrl, then without `/_history/n`, then the `Type/id` tail of a URL."""
        if not reference:
            return None
        found = self.by_key.get(reference)
        if found is not None:
            return found
        reference = reference.split("/_history/", 1)[0]
        found = self.by_key.get(reference)
        if found is not None:
            return found
        parts = reference.rstrip("/").split("/")
        return self.by_key.get(f"{parts[-2]}/{parts[-1]}") if len(parts) >= 2 else None

    def resource_of(self, reference: str, holder: JSON) -> JSON | None:
        """The resource a reference names: `#id` in `holder.contained`, else a bundle entry."""
        if reference.startswith("#"):
            for contained in holder.get("contained", ()):
                if f"#{contained.get('id')}" == reference:
                    return contained  # type: ignore[no-any-return]
            return None
        found = self.entry_of(reference)
        return None if found is None else self.resources[found]


def _facts_and_notes(
    resource: JSON, source: str, path: str, index: _Index
) -> tuple[list[Fact], list[Note]]:
    def resolve(reference: str) -> JSON | None:
        return index.resource_of(reference, resource)

    found = fact_rules.extract(resource, source, path, resolve)
    notes = attachment_notes(resource, source, path)
    if found or notes:
        note = narrative_note(resource, source)
        if note is not None:
            notes.append(note)
    return found, notes


def _owner(
    resource: JSON, path: str, index: _Index, record_of_entry: dict[int, PatientRecord]
) -> PatientRecord:
    """The patient a fact-bearing resource belongs to (see module docstring, step 5)."""
    key = "subject" if "subject" in resource else "patient"
    reference = str((resource.get(key) or {}).get("reference", ""))
    target = index.entry_of(reference)
    if target is not None and target in record_of_entry:
        return record_of_entry[target]
    if len(record_of_entry) == 1:
        return next(iter(record_of_entry.values()))
    if not reference:
        raise InvalidInput(
            "resource names no patient (subject/patient) and the bundle has several",
            f"{path}.{key}",
        )
    raise InvalidInput(
        f"reference {reference!r} does not resolve to a Patient in the bundle",
        f"{path}.{key}.reference",
    )


# --- small helpers ----------------------------------------------------------------------


def _entry_path(i: int, kind: str) -> str:
    return f"Bundle.entry[{i}].resource({kind})"


def _source(resource: JSON, full_url: str, i: int) -> str:
    """`Type/id` provenance; without an id, the fullUrl's uuid or tail, else the entry number."""
    kind = resource["resourceType"]
    if resource.get("id"):
        return f"{kind}/{resource['id']}"
    if full_url.startswith("urn:uuid:"):
        return f"{kind}/{full_url[len('urn:uuid:') :]}"
    parts = full_url.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == kind:
        return f"{kind}/{parts[-1]}"
    return f"{kind}/entry-{i}"


def _bundle_source(document: JSON) -> str:
    if document.get("id"):
        return str(document["id"])
    identifier = document.get("identifier")
    if isinstance(identifier, dict) and identifier.get("value"):
        return str(identifier["value"])
    return ""


def _invalid(exc: ValidationError, prefix: str) -> InvalidInput:
    """A pydantic error as InvalidInput: path of the first error, message of the first few."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    message = _describe(first)
    if len(errors) > 1:
        more = "; ".join(
            f"{_loc(e['loc']).lstrip('.') or '(resource)'}: {_describe(e)}"
            for e in errors[1:_MAX_REPORTED_ERRORS]
        )
        message += f" (and {len(errors) - 1} more: {more})"
    return InvalidInput(message, prefix + _loc(first["loc"]) + _choice_suffix(first))


def _choice_suffix(error: Any) -> str:
    """`.medication[x]` for a missing/duplicated choice element, which pydantic reports at the
    parent with the candidate names in the message ('medicationCodeableConcept', ...)."""
    stems = {m.group(1) for m in _CHOICE_NAME.finditer(str(error.get("msg", "")))}
    return f".{stems.pop()}[x]" if len(stems) == 1 else ""


def _loc(loc: tuple[int | str, ...]) -> str:
    out = []
    for part in loc:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier() and part not in _PYDANTIC_UNION_TAGS:
            out.append(f".{part}")
    return "".join(out)


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown element (not defined for this type in FHIR R4)"
    if kind == "missing":
        return "required element is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float):  # scalars only: echoing objects would be noise
        shown = repr(value)
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return message
