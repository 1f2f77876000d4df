"""Explicit mapping of domain errors to gRPC status codes. UNKNOWN is never sent on purpose."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from matcher.errors import (
    BackendUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    TrialmatchError,
)

log = logging.getLogger("trialmatch.errors")

STATUS_BY_ERROR: dict[type[TrialmatchError], grpc.StatusCode] = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    BackendUnavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status and message a client sees for `exc`; unexpected errors become INTERNAL."""
    for cls, code in STATUS_BY_ERROR.items():
        if isinstance(exc, cls):
            return code, str(exc)
    # The type and where it happened, never the message: it may quote patient data.
    where = " <- ".join(
        f"{f.filename}:{f.lineno} {f.name}"
        for f in reversed(traceback.extract_tb(exc.__traceback__))
    )
    log.error("internal error %s at %s", type(exc).__name__, where)
    return grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__}); see server log"


F = TypeVar("F", bound=Callable[..., Any])


def mapped(method: F) -> F:
    """Wraps a unary servicer method so domain errors abort with their mapped status."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Exception as exc:
            code, message = status_for(exc)
            context.abort(code, message)

    return wrapper  # type: ignore[return-value]
