"""Age filled from parsed inclusions when the structured fields are silent.

The text goes through the criteria parser (rules only) and `fill_from_criteria`, so a duration
the parser took for an age would show up here as a bogus hard filter.
"""

from __future__ import annotations

import pytest

from matcher.model import Trial
from matcher.trials import fill_from_criteria
from nlp.criteria import build_parser


@pytest.fixture(scope="module")
def parser():
    return build_parser({"ner": "off"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Age 18 to 75 years", (18, 75)),
        ("Aged 6 months or older", (0.5, None)),
        ("Infants younger than 28 days", (None, 0.0767)),
        # A duration misread as an age must not become a hard filter.
        ("Less than 84 days from mastectomy", (None, None)),
        ("Randomised within 12 weeks of surgery", (None, None)),
        ("Patients may receive up to four weeks of tamoxifen therapy", (None, None)),
        ("Patients have fever more than one week", (None, None)),
    ],
)
def test_age_bounds(parser, text: str, expected: tuple[float | None, float | None]) -> None:
    trial = Trial("NCT00000001", criteria=parser.parse(f"Inclusion Criteria:\n- {text}"))
    fill_from_criteria(trial)
    assert (trial.min_age_years, trial.max_age_years) == expected
