"""The one search contract every retriever implements: `search(query, k) -> hits`.

BM25, vectors and their hybrid all take the same `Query` and return ranked `Hit`s, so the
hybrid is plain composition and fusion is a pure function over hit lists (see fusion.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class PatientFilters:
    """Hard filters on patients: the trial's age range at the index date, its sex, alive."""

    index_date: date
    min_age_years: float | None = None
    max_age_years: float | None = None
    genders: tuple[str, ...] = ()  # FHIR administrative genders accepted; empty: any
    postal_prefixes: tuple[str, ...] = ()
    include_deceased: bool = False


@dataclass(frozen=True, slots=True)
class TrialFilters:
    """Hard filters on trials for one patient: age within the trial's range, sex accepted."""

    age_years: float | None = None  # completed months of age, in years (11 months = 0.9167)
    gender: str = ""
    include_retired: bool = False


@dataclass(slots=True)
class Query:
    text: str = ""
    vector: np.ndarray | None = None
    filters: PatientFilters | TrialFilters | None = None
    # Ids allowed after hard filters; None means "all that pass `filters`".
    allowed: frozenset[str] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float


class Retriever(Protocol):
    def search(self, query: Query, k: int) -> list[Hit]: ...
