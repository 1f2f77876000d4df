"""Trial registry: protocols (structured or ClinicalTrials.gov records) -> parsed Trials."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Protocol

from matcher.embeddings import Embedder
from matcher.errors import InvalidInput
from matcher.model import COHORT_GROUP, Category, Criterion, CriterionKind, Sex, Trial
from matcher.profile import trial_target_text, trial_vector
from matcher.store.base import Store

TRIAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\s*$", re.I)
_AGE_UNIT_YEARS = {
    "year": 1.0,
    "month": 1 / 12,
    "week": 7 / 365.25,
    "day": 1 / 365.25,
    "hour": 1 / 8766,
    "minute": 1 / 525960,
}
MAX_ELIGIBILITY_CHARS = 100_000
# The OR groups that cohort lines are put in (see `fill_from_criteria`): age criteria of
# disjoint cohorts (with the sex each of those lines names), and sex criteria naming both sexes.
AGE_COHORTS = f"{COHORT_GROUP}age"
SEX_COHORTS = f"{COHORT_GROUP}sex"


class CriteriaParser(Protocol):
    def parse(self, text: str, *, id_prefix: str = "c") -> list[Criterion]: ...


def parse_ctgov_age(value: Any, field: str) -> float | None:
    """'18 Years' -> 18.0; 'N/A', '' and None -> None (no limit)."""
    if value is None or (isinstance(value, str) and value.strip().upper() in ("", "N/A", "NA")):
        return None
    if isinstance(value, int | float):
        return float(value)
    m = _AGE.match(str(value))
    if not m:
        raise InvalidInput(f"cannot read age {value!r} (expected e.g. '18 Years')", field)
    return round(float(m.group(1)) * _AGE_UNIT_YEARS[m.group(2).lower()], 4)


def parse_sex(value: Any, field: str = "gender") -> Sex:
    text = (value or "all").strip().lower()
    mapping = {"all": Sex.ALL, "both": Sex.ALL, "male": Sex.MALE, "female": Sex.FEMALE}
    if text not in mapping:
        raise InvalidInput(f"unknown sex {value!r} (expected All, Male or Female)", field)
    return mapping[text]


def trial_from_ctgov(record: dict[str, Any] | str) -> Trial:
    """A record in the shape of trec2021/trials.jsonl (ClinicalTrials.gov fields)."""
    if isinstance(record, str):
        try:
            record = json.loads(record)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not JSON: {exc}", "ctgov_json") from exc
    if not isinstance(record, dict):
        raise InvalidInput("expected a JSON object", "ctgov_json")
    trial_id = record.get("nct_id") or record.get("trial_id") or ""

    def strings(key: str) -> list[str]:
        value = record.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("expected a list of strings", f"ctgov_json.{key}")
        return value

    healthy = record.get("healthy_volunteers")
    if isinstance(healthy, str):
        healthy = healthy.strip().lower() in ("yes", "true", "accepts healthy volunteers")
    return Trial(
        trial_id=trial_id,
        title=record.get("brief_title") or record.get("official_title") or "",
        phase=record.get("phase") or "",
        status=record.get("overall_status") or "",
        conditions=strings("conditions"),
        interventions=strings("interventions"),
        min_age_years=parse_ctgov_age(record.get("minimum_age"), "ctgov_json.minimum_age"),
        max_age_years=parse_ctgov_age(record.get("maximum_age"), "ctgov_json.maximum_age"),
        sex=parse_sex(record.get("gender"), "ctgov_json.gender"),
        healthy_volunteers=healthy if isinstance(healthy, bool) else None,
        eligibility_text=record.get("eligibility_criteria") or "",
    )


def fill_from_criteria(trial: Trial) -> None:
    """Where the structured fields are silent, take age and sex from parsed inclusions.

    Ages feed a hard filter, so the widest range stated wins (cohorts of one protocol may
    state different ranges), and alternatives (criteria in an OR group) or negated criteria
    never set a bound. Age criteria that no one age satisfies together are cohorts: they
    become one OR group, so a patient who fits one cohort is not failed by the others. Sex
    criteria that name both sexes are cohort lines too ("Premenopausal women: aged 18-45",
    "Men: aged 18-70"): they never set the trial's sex, and join the age cohorts they share a
    line with (else one OR group of their own).
    """
    ranges: list[tuple[float, float]] = []  # per age criterion, unbounded sides as -inf/inf
    ages: list[Criterion] = []
    sexes: list[Criterion] = []
    for c in trial.criteria:
        if c.kind != CriterionKind.INCLUSION or c.category != Category.DEMOGRAPHIC or not c.concept:
            continue
        if c.group or c.negated:
            continue
        if c.concept.text == "age" and c.value is not None:
            low, high = -math.inf, math.inf
            if c.comparator in (">=", ">", "between"):
                low = c.value
            if c.comparator == "between" and c.value_high is not None:
                high = c.value_high
            elif c.comparator in ("<=", "<"):
                high = c.value
            ranges.append((low, high))
            ages.append(c)
        elif c.concept.text == "sex" and c.value_text in ("male", "female"):
            sexes.append(c)
    cohort_ages = _fill_ages(trial, ranges, ages)
    _fill_sexes(trial, sexes, cohort_ages)
    if (
        trial.min_age_years is not None
        and trial.max_age_years is not None
        and trial.min_age_years > trial.max_age_years
    ):
        trial.max_age_years = None  # contradictory statements: keep only the safe bound


def _fill_sexes(trial: Trial, sexes: list[Criterion], cohort_ages: list[Criterion]) -> None:
    named = {c.value_text for c in sexes}
    if len(named) == 1:
        if trial.sex == Sex.ALL:
            trial.sex = Sex(named.pop())
        return
    lines = {(c.span_start, c.span_end) for c in cohort_ages}
    for c in sexes:
        c.group = AGE_COHORTS if (c.span_start, c.span_end) in lines else SEX_COHORTS


def _fill_ages(
    trial: Trial, ranges: list[tuple[float, float]], ages: list[Criterion]
) -> list[Criterion]:
    """Sets the age bounds; returns the age criteria that became cohorts."""
    cohorts: list[Criterion] = []
    if ranges:
        lows, highs = [lo for lo, _ in ranges], [hi for _, hi in ranges]
        if max(lows) < min(highs):  # bounds that hold together: the widest stated ones
            lows = [lo for lo in lows if lo > -math.inf] or [-math.inf]
            highs = [hi for hi in highs if hi < math.inf] or [math.inf]
        else:  # no age satisfies them all ("Under 65 years: ..." and "Age 65-70 years: ..."):
            # cohorts, one of which the patient must fit, so only their union filters
            for c in ages:
                c.group = AGE_COHORTS
            cohorts = ages
        if trial.min_age_years is None and min(lows) > -math.inf:
            trial.min_age_years = min(lows)
        if trial.max_age_years is None and max(highs) < math.inf:
            trial.max_age_years = max(highs)
    return cohorts


class TrialService:
    def __init__(self, store: Store, parser: CriteriaParser, embedder: Embedder) -> None:
        self._store = store
        self._parser = parser
        self._embedder = embedder

    def submit(self, trial: Trial) -> Trial:
        if not TRIAL_ID.match(trial.trial_id or ""):
            raise InvalidInput(
                f"trial id {trial.trial_id!r} must be 1-64 letters, digits, '.', '_', ':' or '-'",
                "trial_id",
            )
        if len(trial.eligibility_text) > MAX_ELIGIBILITY_CHARS:
            raise InvalidInput(
                f"eligibility text has {len(trial.eligibility_text)} characters; the limit is "
                f"{MAX_ELIGIBILITY_CHARS}",
                "eligibility_text",
            )
        if (
            trial.min_age_years is not None
            and trial.max_age_years is not None
            and trial.min_age_years > trial.max_age_years
        ):
            raise InvalidInput("minimum age is above maximum age", "min_age_years")
        trial.criteria = self._parser.parse(trial.eligibility_text, id_prefix="c")
        fill_from_criteria(trial)
        return self._store.upsert_trial(
            trial, trial_target_text(trial), trial_vector(trial, self._embedder)
        )

    def get(self, trial_id: str) -> Trial:
        return self._store.get_trial(trial_id)

    def list(self, include_retired: bool = False, limit: int = 100) -> list[Trial]:
        if limit < 0 or limit > 10_000:
            raise InvalidInput("limit must be between 0 and 10000", "limit")
        return self._store.list_trials(include_retired, limit or 100)

    def retire(self, trial_id: str) -> Trial:
        return self._store.retire_trial(trial_id)
