"""`services.config.load_config`: layering (defaults <- file <- overrides) and clear errors.

Operators find configuration mistakes only through these messages, so every error test checks
that the message names both the offending key and the file it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.config import ENV_VAR, Config, ConfigError, load_config


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own $TRIALMATCH_CONFIG must not leak into these tests."""
    monkeypatch.delenv(ENV_VAR, raising=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_from_packaged_yaml() -> None:
    config = load_config()
    assert isinstance(config, Config)
    assert config.server.address == "127.0.0.1:50051"
    assert config.server.services == ["ingest", "trials", "criteria", "matcher"]
    assert config.server.workers == 8
    assert config.server.max_message_bytes == 64 * 1024 * 1024
    assert config.storage.backend == "embedded"
    assert config.embedding.model_path is None
    assert config.matching.concept_threshold == pytest.approx(0.78)


@pytest.mark.parametrize(
    ("yaml_text", "section", "field", "expected"),
    [
        ("server:\n  workers: 3\n", "server", "workers", 3),
        ("server:\n  address: 0.0.0.0:6000\n", "server", "address", "0.0.0.0:6000"),
        ("server:\n  services: [criteria]\n", "server", "services", ["criteria"]),
        ("storage:\n  data_dir: /srv/tm\n", "storage", "data_dir", "/srv/tm"),
        ("embedding:\n  batch_size: 16\n", "embedding", "batch_size", 16),
        ("matching:\n  other_threshold: 0.5\n", "matching", "other_threshold", 0.5),
    ],
)
def test_file_named_by_env_var_overrides_defaults(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    yaml_text: str,
    section: str,
    field: str,
    expected: Any,
) -> None:
    monkeypatch.setenv(ENV_VAR, str(write(tmp_path, "tm.yaml", yaml_text)))
    config = load_config()
    assert getattr(getattr(config, section), field) == expected
    # Keys the file does not mention keep their defaults (deep merge, not replacement).
    assert config.storage.backend == "embedded"
    if (section, field) != ("server", "workers"):
        assert config.server.workers == 8


def test_explicit_path_beats_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = write(tmp_path, "env.yaml", "server:\n  workers: 3\n  grace_seconds: 1\n")
    explicit = write(tmp_path, "explicit.yaml", "server:\n  workers: 5\n")
    monkeypatch.setenv(ENV_VAR, str(env_file))
    config = load_config(explicit)
    assert config.server.workers == 5
    # The env file is not read at all, so its other keys do not sneak in either.
    assert config.server.grace_seconds == 10


def test_explicit_path_is_used_even_when_env_var_file_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.yaml"))
    assert load_config(write(tmp_path, "ok.yaml", "server:\n  workers: 2\n")).server.workers == 2


@pytest.mark.parametrize("via_env", [False, True])
def test_overrides_beat_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via_env: bool
) -> None:
    file = write(
        tmp_path,
        "tm.yaml",
        "server:\n  workers: 3\n  address: 0.0.0.0:6000\nstorage:\n  data_dir: /a\n",
    )
    if via_env:
        monkeypatch.setenv(ENV_VAR, str(file))
    config = load_config(
        None if via_env else file,
        {"server": {"workers": 7}, "storage": {"data_dir": ":memory:"}},
    )
    assert config.server.workers == 7
    assert config.storage.data_dir == ":memory:"
    assert config.server.address == "0.0.0.0:6000"  # the file still wins over the defaults


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("server:\n  adress: 0.0.0.0:1\n", "server.adress"),
        ("foo:\n", "foo"),
        ("foo: 1\n", "foo"),
        ("matching:\n  treshold: 0.5\n", "matching.treshold"),
    ],
)
def test_unknown_key_names_key_and_file(tmp_path: Path, yaml_text: str, key: str) -> None:
    path = write(tmp_path, "typo.yaml", yaml_text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert key in message
    assert str(path) in message


def test_unknown_key_via_env_var_names_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "env.yaml", "server:\n  adress: x\n")
    monkeypatch.setenv(ENV_VAR, str(path))
    with pytest.raises(ConfigError, match=r"server\.adress") as err:
        load_config()
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("server:\n  workers: 0\n", "server.workers"),
        ("server:\n  workers: many\n", "server.workers"),
        ("server:\n  services: [ingest, bogus]\n", "server.services"),
        ("storage:\n  backend: postgres\n", "storage.backend"),
        ("matching:\n  concept_threshold: 1.5\n", "matching.concept_threshold"),
    ],
)
def test_invalid_value_names_key_and_file(tmp_path: Path, yaml_text: str, key: str) -> None:
    path = write(tmp_path, "bad.yaml", yaml_text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert key in str(err.value)
    assert str(path) in str(err.value)


def test_invalid_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"server\.workers"):
        load_config(overrides={"server": {"workers": 0}})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="not found") as err:
        load_config(missing)
    assert str(missing) in str(err.value)


def test_missing_file_from_env_var_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.yaml"
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(ConfigError, match="not found") as err:
        load_config()
    assert str(missing) in str(err.value)


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("server: [unclosed\n", "not valid YAML"),
        ("server:\n  workers: 1\n bad-indent: x\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("just a string\n", "expected a mapping"),
    ],
)
def test_unparseable_yaml_is_a_clear_error(tmp_path: Path, yaml_text: str, words: str) -> None:
    path = write(tmp_path, "broken.yaml", yaml_text)
    with pytest.raises(ConfigError, match=words) as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "empty.yaml", "")) == load_config()


def test_config_is_frozen() -> None:
    """Servicers share one Config across threads; it must not be mutable after loading."""
    config = load_config()
    with pytest.raises(ValidationError, match="frozen"):
        config.server.workers = 2  # type: ignore[misc]
