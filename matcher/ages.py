"""Ages against limits stated in years, months or days (one place for stores and evaluator)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def years_before(day: date, years: float) -> date:
    """The date `years` before `day`, in calendar months when `years` is a whole number of
    months (18 years, 6 months; a day past a month's end falls back to its last day), else in
    days ("28 Days" = 0.0767 years).

    Age filters compare birth dates with it, so an age limit needs no per-row arithmetic.
    """
    months = years * 12
    if abs(months - round(months)) > 1e-6:
        return day - timedelta(days=round(years * 365.25))
    year, month = divmod(day.year * 12 + day.month - 1 - round(months), 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def age_step(limit: float) -> float:
    """The resolution an age limit is stated in: "65 years" covers 65 until the 66th birthday,
    "6 months" covers the sixth month until the seventh."""
    if limit == int(limit):
        return 1.0
    months = limit * 12
    return 1 / 12 if abs(months - round(months)) < 1e-6 else 1 / 365.25


def age_upper_bound(day: date, max_age: float) -> date:
    """Patients born after this date are at most `max_age` (in the limit's own unit) on `day`."""
    return years_before(day, max_age + age_step(max_age))
