"""Elasticsearch query pieces that need no node: analysis text and hard filters as DSL.

Pure functions, so they are unit-tested against hand-computed values (and, for the analysis
text, against SQLite FTS5's tokenizer) without a cluster.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from matcher.ages import age_upper_bound, years_before
from matcher.search.base import PatientFilters, TrialFilters

_ALNUM = re.compile(r"[^\W_]+")
HIT_FIELDS = ["hits.hits._id", "hits.hits._score"]  # filter_path of a search for ids+scores


def analysis_text(text: str) -> str:
    """The alphanumeric runs of `text`, lower-cased, diacritics removed, space-separated.

    These are the terms SQLite FTS5's unicode61 tokenizer makes; written this way, the
    standard analyzer finds exactly the same terms, so BM25 sees the same vocabulary in
    both backends (the integ-test distribution has no word-delimiter or folding filters).
    """
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(m.group(0).lower() for m in _ALNUM.finditer(folded))


# --- filters as query DSL (pure; the retrievers put them in `bool.filter` and `knn.filter`) --


def patient_filter_clauses(filters: PatientFilters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if not filters.include_deceased:
        clauses.append({"bool": {"must_not": [{"term": {"deceased": True}}]}})
    birth: dict[str, str] = {}
    if filters.min_age_years is not None:
        # age >= min  <=>  born on or before index_date - min years
        birth["lte"] = years_before(filters.index_date, filters.min_age_years).isoformat()
    if filters.max_age_years is not None:
        # age <= max (in the limit's unit)  <=>  born after index_date - (max + one step)
        birth["gt"] = age_upper_bound(filters.index_date, filters.max_age_years).isoformat()
    if birth:
        clauses.append({"range": {"birth_date": birth}})
    if filters.genders:
        clauses.append({"terms": {"gender": list(filters.genders)}})
    if filters.postal_prefixes:
        prefixes = [
            {"prefix": {"postal_code": {"value": p.replace("%", ""), "case_insensitive": True}}}
            for p in filters.postal_prefixes
        ]
        clauses.append({"bool": {"should": prefixes, "minimum_should_match": 1}})
    return clauses


def trial_filter_clauses(filters: TrialFilters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if not filters.include_retired:
        clauses.append({"term": {"retired": False}})
    if filters.age_years is not None:
        age = filters.age_years
        # A whole-year limit holds until the next birthday: 65 admits 65 years 3 months.
        for field, accepted in (
            ("min_age", [{"range": {"min_age": {"lte": age}}}]),
            (
                "max_age",
                [
                    {"range": {"max_age": {"gte": age}}},
                    {"term": {"max_age": float(int(age))}},
                ],
            ),
        ):
            clauses.append(
                {
                    "bool": {
                        "should": [
                            *accepted,
                            {"bool": {"must_not": [{"exists": {"field": field}}]}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
    if filters.gender in ("male", "female"):
        clauses.append({"terms": {"sex": ["all", filters.gender]}})
    return clauses


def hits_of(found: Any) -> list[dict[str, Any]]:
    """Hits of a response trimmed by filter_path (which drops `hits` when there are none)."""
    return found.get("hits", {}).get("hits", [])
