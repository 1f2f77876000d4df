"""Age limits in years, months and days: birth-date bounds for filters, and the evaluator."""

from __future__ import annotations

from datetime import date

import pytest

from matcher.ages import age_step, age_upper_bound, years_before
from matcher.model import PatientRecord, Trial
from matcher.search.base import PatientFilters, TrialFilters
from matcher.store.sqlite import SqliteStore

INDEX = date(2021, 1, 31)


@pytest.mark.parametrize(
    ("years", "expected"),
    [
        (18, date(2003, 1, 31)),
        (0.5, date(2020, 7, 31)),
        (1 / 12, date(2020, 12, 31)),
        (28 / 365.25, date(2021, 1, 3)),
    ],
)
def test_years_before(years: float, expected: date) -> None:
    assert years_before(INDEX, years) == expected


def test_month_end_falls_back_to_the_last_day() -> None:
    assert years_before(date(2021, 3, 31), 1 / 12) == date(2021, 2, 28)


@pytest.mark.parametrize(("limit", "step"), [(65, 1.0), (0.5, 1 / 12), (28 / 365.25, 1 / 365.25)])
def test_age_step(limit: float, step: float) -> None:
    assert age_step(limit) == pytest.approx(step)
    assert age_upper_bound(INDEX, limit) == years_before(INDEX, limit + step)


def test_months_at() -> None:
    record = PatientRecord("p", date(2020, 2, 15))
    assert record.months_at(date(2021, 1, 14)) == 10
    assert record.months_at(date(2021, 1, 15)) == 11
    assert record.age_at(date(2021, 1, 15)) == 0.0


BIRTHS = {
    "newborn": date(2021, 1, 24),  # 1 week
    "five-months": date(2020, 8, 20),
    "eleven-months": date(2020, 2, 15),
    "adult-65y3m": date(1955, 10, 1),
    "adult-66": date(1954, 12, 1),
}


@pytest.fixture
def store() -> SqliteStore:
    s = SqliteStore(":memory:")
    records = [PatientRecord(pid, born) for pid, born in BIRTHS.items()]
    s.upsert_patients(records, ["x"] * len(records), [None] * len(records))
    for tid, low, high in [("infants", None, 0.5), ("older-infants", 0.5, 2.0), ("adults", 18, 65)]:
        s.upsert_trial(Trial(tid, min_age_years=low, max_age_years=high), "x", None)
    return s


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (None, 0.5, {"newborn", "five-months"}),
        (0.5, 2.0, {"eleven-months"}),
        (18, 65, {"adult-65y3m"}),
    ],
)
def test_filter_patients(
    store: SqliteStore, low: float | None, high: float | None, expected: set[str]
) -> None:
    assert store.filter_patients(PatientFilters(INDEX, low, high)) == expected


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ("newborn", {"infants"}),
        ("five-months", {"infants"}),
        ("eleven-months", {"older-infants"}),
        ("adult-65y3m", {"adults"}),
        ("adult-66", set()),
    ],
)
def test_filter_trials(store: SqliteStore, patient: str, expected: set[str]) -> None:
    months = PatientRecord(patient, BIRTHS[patient]).months_at(INDEX)
    assert months is not None
    assert store.filter_trials(TrialFilters(months / 12)) == expected
