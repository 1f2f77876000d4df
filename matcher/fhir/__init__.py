"""FHIR R4 ingest: `parse_bundle` turns a Bundle into PatientRecords (see `normalize`)."""

from matcher.fhir.normalize import ACCEPTED_BUNDLE_TYPES, parse_bundle

__all__ = ["ACCEPTED_BUNDLE_TYPES", "parse_bundle"]
