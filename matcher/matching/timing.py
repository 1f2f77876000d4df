"""When a fact holds against the index date: note dates, stated onsets, look-back windows,
and ages in the unit a limit is stated in. Pure functions of a fact (or age) and the index
date, kept apart from the evaluator that applies them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from matcher.ages import age_step
from matcher.matching.units import compare
from matcher.model import Assertion, Fact


def aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def index_end(index_date: date) -> datetime:
    return datetime(index_date.year, index_date.month, index_date.day, 23, 59, tzinfo=UTC)


def known_at(fact: Fact, index_date: date) -> bool:
    """Facts recorded after the index date were not known then; undated facts count."""
    start = aware(fact.start)
    return start is None or start <= index_end(index_date)


def undated(fact: Fact) -> bool:
    """A note's fact whose sentence says nothing of when (its date is the note's)."""
    return bool(fact.sentence) and fact.end is None


def onset_known(fact: Fact) -> bool:
    """Whether the fact says since when it holds: a coded onset, or a note's "for 2 days"
    (not an event the note dates, "seen two weeks ago for fever", which says nothing of how
    long it lasted)."""
    if fact.start is None or undated(fact):
        return False
    return not (fact.sentence and fact.start == fact.end)


def in_window(fact: Fact, index_date: date, window_days: float | None) -> bool:
    """Whether the fact overlaps [index - window, index]."""
    if window_days is None:
        return True
    if fact.assertion == Assertion.HISTORICAL and fact.start is None and fact.end is None:
        return False  # "history of MI", undated: past, so no evidence it falls in the window
    window_start = index_end(index_date) - timedelta(days=window_days)
    start, end = aware(fact.start), aware(fact.end)
    last = end or start
    return last is None or last >= window_start or (end is None and fact.status == "active")


def age_in_unit_of(limit: float, months: int) -> float:
    """Completed age in the unit the limit is stated in: whole years for "65", months for
    "6 months" (0.5), so "<= 65" admits 65 years 3 months and ">= 0.5" admits 7 months."""
    return float(months // 12) if age_step(limit) == 1.0 else months / 12


def age_satisfies(
    months: int, comparator: str, low: float | None, high: float | None
) -> bool | None:
    if low is None:
        return None
    if comparator == "between":
        if high is None:
            return None
        return age_in_unit_of(low, months) >= low and age_in_unit_of(high, months) <= high
    return compare(age_in_unit_of(low, months), comparator, low, None)


def lasted(fact: Fact, index_date: date, days: float) -> bool:
    """Whether the fact was already recorded `days` before the index date. A note's date is
    when it was written, so the onset may be earlier: only a coded onset, or one the note
    states ("for 2 days": the fact then ends on the note's date), can show too short."""
    start = aware(fact.start)
    return start is not None and start <= index_end(index_date) - timedelta(days=days)
