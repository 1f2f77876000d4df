"""Durations a note states ("cough for 2 days", "an MI 2 years earlier") and the fact dates
they give. Wording from SIGIR / TREC 2021 topics (ids in comments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from matcher.model import Assertion, Note
from nlp.notes import NoteFactExtractor
from nlp.notes.durations import AGO, LASTING, find_durations, nearest

NOTE_DATE = datetime(2021, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # sigir-20142
        ("fever up to 39 C, dyspnea and cough for 2 days.", [("for 2 days", 2.0, LASTING)]),
        # sigir-20152
        (
            "four days of non-productive cough and one day of fever.",
            [("four days of", 4.0, LASTING), ("one day of", 1.0, LASTING)],
        ),
        # sigir-201430
        (
            "an uncomplicated myocardial infarction 2 years earlier and a transient ischemic "
            "attack 6 months ago.",
            [("2 years earlier", 730.5, AGO), ("6 months ago", 182.64, AGO)],
        ),
        # sigir-201519
        (
            "She has smoked 1 to 2 packs per days for the past 47 years.",
            [("for the past 47 years", 47 * 365.25, LASTING)],
        ),
        ("over the past 3 months", [("over the past 3 months", 91.32, LASTING)]),
        ("a week ago", [("a week ago", 7.0, AGO)]),
        # an age is not a span of time the note dates anything by
        ("A boy 3 years of age", []),
        ("An 8-year-old male", []),
        ("over the last few weeks", []),  # no number: nothing to date by
    ],
)
def test_find_durations(text: str, expected: list[tuple[str, float, str]]) -> None:
    found = [(text[d.start : d.end], round(d.days, 2), d.kind) for d in find_durations(text)]
    assert found == [(p, pytest.approx(days, abs=0.01), k) for p, days, k in expected]


def test_nearest_phrase_wins() -> None:
    text = "four days of non-productive cough and one day of fever."
    found = find_durations(text)
    cough, fever = text.index("cough"), text.index("fever")
    assert nearest(found, cough, cough + 5).days == 4.0
    assert nearest(found, fever, fever + 5).days == 1.0
    assert nearest([], 0, 1) is None


@pytest.mark.parametrize(
    ("text", "mention", "days"),
    [
        ("Over the past 3 months, he has had fatigue.", "fatigue", 91.32),  # opens the text
        ("3. Over the past 3 months, he has had fatigue.", "fatigue", 91.32),  # numbered note
        ("He has had fatigue over the past 3 months.", "fatigue", 91.32),
        ("Dyspnea for 2 days and a rash.", "rash", None),  # dates what precedes it only
    ],
)
def test_direction(text: str, mention: str, days: float | None) -> None:
    at = text.index(mention)
    found = nearest(find_durations(text), at, at + len(mention))
    assert (round(found.days, 2) if found else None) == days


@pytest.fixture(scope="module")
def extractor() -> NoteFactExtractor:
    return NoteFactExtractor()


def dates(extractor: NoteFactExtractor, text: str) -> dict[str, tuple[datetime | None, ...]]:
    facts = extractor.extract(Note("DocumentReference/n1", text, NOTE_DATE))
    return {f.text: (f.start, f.end, f.assertion) for f in facts}


def test_a_lasting_finding_starts_before_the_note_and_holds_on_its_date(extractor) -> None:
    got = dates(
        extractor,
        "A 62 yo male presents with four days of non-productive cough and one day of fever.",
    )
    cough = got["non productive cough"]
    assert cough == (NOTE_DATE - timedelta(days=4), NOTE_DATE, Assertion.PRESENT)
    assert got["fever"] == (NOTE_DATE - timedelta(days=1), NOTE_DATE, Assertion.PRESENT)


def test_an_event_is_dated_when_it_happened(extractor) -> None:
    got = dates(extractor, "He had a myocardial infarction 2 years earlier.")
    when = NOTE_DATE - timedelta(days=730.5)
    start, end, _ = got["myocardial infarction"]
    assert (start, end) == (when, when)


def test_without_a_duration_the_note_date_stays_the_start(extractor) -> None:
    got = dates(extractor, "He denies fever. He has a cough.")
    assert got["cough"][:2] == (NOTE_DATE, None)
    assert got["fever"][2] == Assertion.ABSENT and got["fever"][1] is None
