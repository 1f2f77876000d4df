"""FHIR date/dateTime/instant strings -> timezone-aware Python values.

Matching compares fact times with index dates and look-back windows, so every datetime leaves
ingest timezone-aware: naive values would make comparisons raise (or silently mix zones).
FHIR permits partial dates (`2012`, `2012-09`) and dateTimes without a time; we anchor those at
the first instant they can denote (first day of the period, midnight UTC) because criteria such
as "diagnosed before 2013" then still evaluate, and the loss of precision is small next to the
windows trials use (months or years). The schema layer (fhir.resources) has already checked the
lexical form with FHIR's regexes; values that pass the regex yet name no real day (`2021-02-30`)
are caught here and reported with the element's path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from matcher.errors import InvalidInput


def parse_date(value: object, path: str) -> date | None:
    """A FHIR `date` (possibly partial) as a `date`; None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"expected a date string, got {_short(value)}", path)
    try:
        if len(value) == 4:
            return date(int(value), 1, 1)
        if len(value) == 7:
            return date(int(value[:4]), int(value[5:7]), 1)
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise InvalidInput(f"not a valid date {value!r}: {exc}", path) from None


def parse_datetime(value: object, path: str) -> datetime | None:
    """A FHIR `date`, `dateTime` or `instant` as an aware `datetime`; None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"expected a dateTime string, got {_short(value)}", path)
    if len(value) <= 10:
        day = parse_date(value, path)
        assert day is not None  # a str never parses to None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not a valid dateTime {value!r}: {exc}", path) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
