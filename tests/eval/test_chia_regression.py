"""The shipped Chia NER on the committed held-out sample (tests/fixtures/chia, see its README).

The floors are data (tests/fixtures/chia/thresholds.yaml), set a little below what the shipped
model scores on this sample: a model or rule change that loses entity quality fails here, and
a better model raises them there.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from nlp.chia.loader import EVAL_TYPES, load_dir
from nlp.ner.evaluate import evaluate
from nlp.ner.pipeline import MODEL_DIR, extract_entities, load_ner

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "chia"


class Floors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strict_f1: float
    relaxed_f1: float
    max_model_mb: float
    # Types the model emits but may miss on this small sample, each with the reason.
    weak_types: dict[str, str] = {}


@pytest.fixture(scope="module")
def floors() -> Floors:
    raw = yaml.safe_load((SAMPLE / "thresholds.yaml").read_text(encoding="utf-8"))
    return Floors.model_validate(raw)


@pytest.fixture(scope="module")
def report():
    return evaluate(load_dir(SAMPLE))


def test_micro_f1_stays_above_floors(report, floors: Floors):
    strict, relaxed = report.micro("strict"), report.micro("relaxed")
    assert strict.gold > 250  # the sample is what the README says it is
    assert strict.f1 >= floors.strict_f1, report.to_json()
    assert relaxed.f1 >= floors.relaxed_f1, report.to_json()


def test_every_evaluated_type_is_predicted(report, floors: Floors):
    # A label the model silently lost would hide inside a still-passable micro average.
    assert set(floors.weak_types) <= set(EVAL_TYPES)
    for t in EVAL_TYPES:
        counts = report.counts[t]["relaxed"]
        if counts.gold >= 5:
            assert counts.predicted > 0, t
            if t not in floors.weak_types:
                assert counts.tp > 0, t


def test_shipped_model_is_small_and_complete(floors: Floors):
    size = sum(f.stat().st_size for f in MODEL_DIR.rglob("*") if f.is_file()) / 1e6
    assert size < floors.max_model_mb
    nlp = load_ner()
    assert nlp.pipe_names[-3:] == ["ner", "chia_rules", "chia_coord"]
    assert set(EVAL_TYPES) <= set(nlp.get_pipe("ner").labels)


def test_extract_entities_api():
    texts = ["Women aged 18 to 65 years with type 2 diabetes", "", "No prior chemotherapy"]
    found = extract_entities(texts)
    assert len(found) == 3 and found[1] == []
    for text, entities in zip(texts, found, strict=True):
        for e in entities:
            assert text[e.start : e.end] == e.text
            assert e.source in ("model", "rule", "coordination")
    assert any(e.type == "Condition" and "diabetes" in e.text for e in found[0])


def test_coordinated_modifiers_overlap_only_when_asked():
    text = "Known pleural or pericardial effusion"
    nested, flat = extract_entities([text])[0], extract_entities([text], nested=False)[0]
    assert all(e.source != "coordination" for e in flat)
    assert [e for e in nested if e.source != "coordination"] == flat
    assert [(e.start, e.end) for e in nested] == sorted((e.start, e.end) for e in nested)
    for a, b in itertools.pairwise(flat):
        assert a.end <= b.start  # the flat sequence never overlaps


def test_eval_command_json_shape(capsys, report):
    from services.cli import main

    assert main(["eval", "chia", "--data", str(SAMPLE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"strict", "relaxed", "per_type", "criteria"}
    for block in (out["strict"], out["relaxed"]):
        assert set(block) == {"precision", "recall", "f1"}
    assert set(out["per_type"]) == set(EVAL_TYPES)
    for scores in out["per_type"].values():
        assert set(scores) == {"strict", "relaxed"}
        assert set(scores["strict"]) == {"precision", "recall", "f1"}
    assert out["criteria"] == report.criteria
    assert out["strict"]["f1"] == pytest.approx(report.micro("strict").f1, abs=1e-4)


def test_eval_command_table_and_errors(capsys, tmp_path):
    from services.cli import main

    assert main(["eval", "chia", "--data", str(SAMPLE), "--split", "heldout"]) == 0
    assert "micro" in capsys.readouterr().out
    assert main(["eval", "chia", "--data", str(tmp_path)]) == 2
    assert "no Chia" in capsys.readouterr().err
    assert main(["eval", "chia", "--data", str(SAMPLE), "--model", str(tmp_path)]) == 2
    assert main(["eval", "chia", "--data", str(SAMPLE), "--split", "train"]) == 2


def test_model_loads_once():
    assert load_ner() is load_ner(MODEL_DIR) is load_ner(str(MODEL_DIR))
