"""Domain errors map to explicit gRPC codes; unexpected ones to INTERNAL, logged without data."""

from __future__ import annotations

import logging

import grpc
import pytest

from matcher.errors import BackendUnavailable, Forbidden, InvalidInput, NotFound, TooLarge
from services.errors import status_for


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InvalidInput("bad date", "Bundle.entry[0]"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFound("no patient p1"), grpc.StatusCode.NOT_FOUND),
        (Forbidden("sponsor role"), grpc.StatusCode.PERMISSION_DENIED),
        (TooLarge("bundle too large"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (BackendUnavailable("es down"), grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_domain_errors(exc: Exception, code: grpc.StatusCode) -> None:
    assert status_for(exc)[0] == code


def test_unexpected_error_is_internal_and_its_message_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise KeyError("patient Jane Doe born 1961-02-03")
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            code, message = status_for(exc)
    assert code == grpc.StatusCode.INTERNAL
    assert "KeyError" in message and "Jane" not in message
    assert "KeyError" in caplog.text and "test_errors.py" in caplog.text
    assert "Jane" not in caplog.text
