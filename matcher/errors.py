"""Domain errors. Servicers map each class to exactly one gRPC status; nothing here knows gRPC."""

from __future__ import annotations


class TrialmatchError(Exception):
    """Base class: every error the domain raises on purpose."""


class InvalidInput(TrialmatchError):
    """Input that can never succeed as sent (malformed FHIR, bad criteria text, bad limits).

    `path` names where: a FHIRPath-like location such as `Bundle.entry[3].resource.code`.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class NotFound(TrialmatchError):
    """An id that names nothing stored (patient, trial)."""


class Forbidden(TrialmatchError):
    """The caller's role may not do this (a sponsor reading patients, say)."""


class TooLarge(TrialmatchError):
    """The request exceeds a configured size limit (bundle bytes, entries, criteria)."""


class BackendUnavailable(TrialmatchError):
    """The store or index cannot be reached now; the same call may succeed later."""
