"""Errors of the criteria pipeline's configuration."""

from __future__ import annotations

from matcher.errors import TrialmatchError


class UnknownExtractor(TrialmatchError):
    """The parser configuration names an extractor or setting that does not exist."""
