"""The strict rule loader names the file and the bad key, so rule edits fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.rules_loader import (
    RULES_DIR,
    AgeRules,
    ConsentRules,
    LabRules,
    RulesError,
    load_rules_file,
)


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "consent.yaml"
    path.write_text(
        "rules:\n  - {concept: informed consent, pattern: 'consent', weight: 2}\nnegation: 'no'\n"
    )
    with pytest.raises(RulesError) as err:
        load_rules_file(path, ConsentRules)
    assert str(path) in str(err.value)
    assert "unknown key 'weight'" in str(err.value)
    assert "rules.0" in str(err.value)


def test_missing_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "age.yaml"
    path.write_text("context: 'age'\nunits: {years: 'years'}\n")
    with pytest.raises(RulesError, match=r"age\.yaml: missing key 'blockers'"):
        load_rules_file(path, AgeRules)


def test_bad_regex_and_bad_yaml_are_rejected(tmp_path: Path) -> None:
    bad_regex = tmp_path / "labs.yaml"
    bad_regex.write_text("labs: {creatinine: ['creat(inine']}\nunits: []\n")
    with pytest.raises(RulesError, match=r"labs\.yaml: labs\.creatinine\.0"):
        load_rules_file(bad_regex, LabRules)
    not_yaml = tmp_path / "x.yaml"
    not_yaml.write_text("labs: [unclosed\n")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules_file(not_yaml, LabRules)
    with pytest.raises(RulesError, match="cannot read"):
        load_rules_file(tmp_path / "missing.yaml", LabRules)


def test_shipped_rules_are_valid() -> None:
    labs = load_rules_file(RULES_DIR / "labs.yaml", LabRules)
    assert "hba1c" in labs.labs["hemoglobin a1c"]
