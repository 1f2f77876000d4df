"""Age and sex filled from parsed inclusions when the structured fields are silent."""

from __future__ import annotations

import pytest

from matcher.model import Category, Concept, Criterion, CriterionKind, Trial
from matcher.trials import fill_from_criteria


def age(text: str, comparator: str, value: float, high: float | None = None) -> Criterion:
    return Criterion(
        "c1",
        CriterionKind.INCLUSION,
        text,
        Category.DEMOGRAPHIC,
        Concept("age"),
        comparator=comparator,
        value=value,
        value_high=high,
    )


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (age("Age 18 to 75 years", "between", 18, 75), (18, 75)),
        (age("Aged 6 months or older", ">=", 0.5), (0.5, None)),
        (age("Neonates younger than 28 days", "<", 0.0767), (None, 0.0767)),
        # A duration misread as an age must not become a hard filter.
        (age("Less than 84 days from mastectomy", "<", 0.23), (None, None)),
        (age("Randomised within 12 weeks of surgery", "<=", 0.23), (None, None)),
    ],
)
def test_age_bounds(criterion: Criterion, expected: tuple[float | None, float | None]) -> None:
    trial = Trial("NCT00000001", criteria=[criterion])
    fill_from_criteria(trial)
    assert (trial.min_age_years, trial.max_age_years) == expected
