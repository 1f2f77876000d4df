"""Evaluation regression on the committed subset (tests/fixtures/eval, see its README).

Both evaluations run at the domain level on a fresh store in tmp (nothing is cached outside
it) with the real parser, engine and embedding model, and every figure they produce is checked
against the floors in tests/fixtures/eval/thresholds.yaml. The floors are data: when the
matcher improves, raise them there. Relations ("the system is not worse than BM25 minus a
tolerance") are data too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from matcher.evaluation.criteria import evaluate_criteria
from matcher.evaluation.data import load_criterion_pairs, load_trec
from matcher.evaluation.trec import evaluate_trec
from matcher.evaluation.workspace import Manifest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
INDEX = date(2021, 1, 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Relation(_Strict):
    metric: str
    at_least: str  # another metric of the same result
    tolerance: float = 0.0


class Floors(_Strict):
    minimum: dict[str, float]  # dotted path into the result -> floor
    relations: list[Relation] = []


class Thresholds(_Strict):
    trec: Floors
    criteria: Floors


def _thresholds() -> Thresholds:
    data = yaml.safe_load((FIXTURES / "thresholds.yaml").read_text(encoding="utf-8"))
    return Thresholds.model_validate(data)


def _get(result: dict[str, Any], path: str) -> float:
    value: Any = result
    for part in path.split("."):
        value = value[part]
    assert isinstance(value, int | float), f"{path} is {value!r}, not a number"
    return float(value)


def _check(result: dict[str, Any], floors: Floors) -> list[str]:
    failures = []
    for path, floor in floors.minimum.items():
        if _get(result, path) < floor:
            failures.append(f"{path} = {_get(result, path):.4f} < floor {floor}")
    for rel in floors.relations:
        value, other = _get(result, rel.metric), _get(result, rel.at_least)
        if value < other - rel.tolerance:
            failures.append(
                f"{rel.metric} = {value:.4f} < {rel.at_least} ({other:.4f}) - {rel.tolerance}"
            )
    return failures


def test_thresholds_file_is_strict():
    with pytest.raises(ValueError):
        Thresholds.model_validate({"trec": {"minimum": {}, "typo": 1}, "criteria": {"minimum": {}}})
    assert _thresholds().trec.minimum, "no TREC floor at all would make the test vacuous"


def test_trec_subset(make_app):
    data = load_trec(FIXTURES / "trec")
    assert (len(data.topics), data.pairs) == (3, 30)
    result = evaluate_trec(make_app(), data, INDEX, Manifest(None), "regression")
    assert result["rejected"] == {}
    assert set(result["per_topic"]) == {t.topic_id for t in data.topics}
    assert sum(sum(row.values()) for row in result["verdicts_by_label"].values()) == 30
    failures = _check(result, _thresholds().trec)
    assert not failures, failures


def test_criteria_subset(make_app, tmp_path):
    pairs = load_criterion_pairs(FIXTURES / "criteria.jsonl")
    dump = tmp_path / "pairs.jsonl"
    with dump.open("w", encoding="utf-8") as fh:
        result = evaluate_criteria(make_app(), pairs, INDEX, Manifest(None), "regression", dump=fh)
    assert result["pairs"] == len(pairs) == 42
    assert sum(sum(row.values()) for row in result["confusion"].values()) == 42
    assert len(dump.read_text(encoding="utf-8").splitlines()) == 42
    failures = _check(result, _thresholds().criteria)
    assert not failures, failures
