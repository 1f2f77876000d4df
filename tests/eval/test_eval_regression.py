"""Evaluation regression on the committed subset (tests/fixtures/eval, see its README).

Both evaluation commands run in-process through the CLI (`--json`) on a workspace in tmp
(nothing is cached outside it) with the real parser, note NLP, engine and embedding model, and
every figure they produce is checked against the floors in tests/fixtures/eval/thresholds.yaml.
The floors are data: when the matcher improves, raise them there. Relations ("the system is
not worse than BM25 minus a tolerance") are data too.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from matcher.evaluation.data import load_criterion_pairs, load_trec
from services import cli

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


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Runs `trialmatch ...` in-process and returns the JSON it printed."""
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_trec_subset(tmp_path, capsys):
    data = load_trec(FIXTURES / "trec")
    assert (len(data.topics), data.pairs) == (3, 30)
    result = _cli_json(
        capsys,
        *("eval", "trec", "--data", str(FIXTURES / "trec"), "--json"),
        *("--cache-dir", str(tmp_path / "ws"), "--index-date", INDEX.isoformat()),
    )
    # the JSON the issue asks for (extra keys are allowed)
    for system in ("system", "bm25", "embedding"):
        assert {"ndcg@10", "p@10", "auroc", "rank_patients_mrr"} <= set(result[system])
    assert 0 <= result["system"]["auroc_ranking"] <= 1  # the ranking order's, beside it
    assert (result["topics"], result["pairs"]) == (3, 30)
    assert result["rejected"] == {}
    assert set(result["per_topic"]) == {t.topic_id for t in data.topics}
    assert sum(sum(row.values()) for row in result["verdicts_by_label"].values()) == 30
    failures = _check(result, _thresholds().trec)
    assert not failures, failures


def test_criteria_subset(tmp_path, capsys):
    dump = tmp_path / "pairs.jsonl"
    result = _cli_json(
        capsys,
        *("eval", "criteria", "--data", str(FIXTURES / "criteria.jsonl"), "--json"),
        *("--cache-dir", str(tmp_path / "ws"), "--dump", str(dump)),
    )
    assert {"accuracy", "majority_baseline", "evidence_f1", "confusion", "pairs"} <= set(result)
    assert result["pairs"] == len(load_criterion_pairs(FIXTURES / "criteria.jsonl")) == 42
    assert sum(sum(row.values()) for row in result["confusion"].values()) == 42
    rows = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 42
    assert {"gold", "predicted", "parsed", "results", "predicted_sentences"} <= set(rows[0])
    assert sum(r["correct"] for r in rows) == round(result["accuracy"] * 42)
    failures = _check(result, _thresholds().criteria)
    assert not failures, failures


def test_check_reports_floors_and_relations():
    floors = Floors(
        minimum={"system.ndcg@10": 0.5},
        relations=[Relation(metric="system.ndcg@10", at_least="bm25.ndcg@10", tolerance=0.05)],
    )
    assert _check({"system": {"ndcg@10": 0.6}, "bm25": {"ndcg@10": 0.64}}, floors) == []
    failures = _check({"system": {"ndcg@10": 0.4}, "bm25": {"ndcg@10": 0.5}}, floors)
    assert len(failures) == 2 and "floor 0.5" in failures[0] and "bm25" in failures[1]
