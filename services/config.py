"""Configuration: pydantic-validated defaults, one YAML file named by $TRIALMATCH_CONFIG."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_VAR = "TRIALMATCH_CONFIG"
SERVICE_NAMES = ("ingest", "trials", "criteria", "matcher")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    address: str = "127.0.0.1:50051"
    services: list[Literal["ingest", "trials", "criteria", "matcher"]] = Field(
        default_factory=lambda: list(SERVICE_NAMES)
    )
    workers: int = Field(8, ge=1, le=256)
    max_message_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    grace_seconds: float = Field(10, ge=0)
    # how often health re-checks a backend that must be reachable (Elasticsearch)
    health_interval_s: float = Field(5, gt=0)


class ElasticsearchConfig(_Strict):
    """The Elasticsearch backend (storage.backend: elasticsearch); see matcher/store/elastic.py."""

    url: str = "http://127.0.0.1:9200"
    index_prefix: str = Field("trialmatch", pattern=r"^[a-z0-9][a-z0-9_.-]{0,100}$")
    # false: searchable within 1 s (gets are real-time); wait_for: visible before the ack
    refresh: Literal["false", "wait_for", "true"] = "false"
    request_timeout_s: float = Field(30, gt=0)
    max_retries: int = Field(2, ge=0)
    bulk_chunk_size: int = Field(500, ge=1)
    bulk_max_retries: int = Field(5, ge=0)
    bulk_initial_backoff_s: float = Field(0.5, ge=0)
    bulk_max_backoff_s: float = Field(10, ge=0)
    replicas: int = Field(0, ge=0)

    @field_validator("refresh", mode="before")
    @classmethod
    def _yaml_bool(cls, value: object) -> object:
        """YAML reads an unquoted `refresh: false` as a boolean; it means the string."""
        return str(value).lower() if isinstance(value, bool) else value


class StorageConfig(_Strict):
    backend: Literal["embedded", "elasticsearch"] = "embedded"
    data_dir: str = "./var/trialmatch"
    elasticsearch: ElasticsearchConfig = ElasticsearchConfig()


class IngestConfig(_Strict):
    max_bundle_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    max_entries: int = Field(20_000, ge=1)


class EmbeddingConfig(_Strict):
    model_path: str | None = None
    batch_size: int = Field(64, ge=1)


class MatchingConfig(_Strict):
    candidate_depth: int = Field(200, ge=1)
    concept_threshold: float = Field(0.78, gt=0, le=1)
    other_threshold: float = Field(0.80, gt=0, le=1)
    # Soft verdict tiers: one tier step is worth this much relevance (which spans [0, 1]).
    tier_weight: float = Field(0.4, ge=0)
    inclusion_weight: float = Field(0.1, ge=0)
    # Cost of each requirement left UNKNOWN, times ln(1 + count): inclusions, exclusions.
    unknown_weight: float = Field(0.15, ge=0)
    unknown_exclusion_weight: float = Field(0.03, ge=0)
    # ... and of each exclusion left UNKNOWN with evidence (a near miss), times ln(1 + count).
    partial_exclusion_weight: float = Field(0.0, ge=0)
    # The eligibility estimate (relevance left out): a verdict step is 1, plus these weights.
    eligibility_inclusion_weight: float = Field(0.7, ge=0)
    eligibility_unknown_weight: float = Field(0.025, ge=0)
    eligibility_unknown_exclusion_weight: float = Field(0.09, ge=0)
    # `trialmatch serve`: build the trials' criterion contexts before listening and freeze
    # them out of the garbage collector's full walks (services.providers.settle).
    warm_on_start: bool = True


class NotesConfig(_Strict):
    """Facts from free-text notes at ingest (nlp/notes: medspaCy ConText); built on first note."""

    enabled: bool = True
    ner: bool = False  # also take mentions from the Chia NER model (nlp/ner) if installed


class CriteriaConfig(_Strict):
    """The criteria pipeline (nlp/criteria/pipeline.yaml); `ner` overrides its NER setting:
    auto (the shipped Chia model when present, else rules alone), off, default (required), or
    a path to a spaCy model folder."""

    ner: str = "auto"


class NlpConfig(_Strict):
    notes: NotesConfig = NotesConfig()
    criteria: CriteriaConfig = CriteriaConfig()


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    ingest: IngestConfig = IngestConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    matching: MatchingConfig = MatchingConfig()
    nlp: NlpConfig = NlpConfig()


class ConfigError(ValueError):
    """A configuration file that does not parse or names unknown keys."""


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults <- file (argument, else $TRIALMATCH_CONFIG) <- overrides (from flags)."""
    data = _read_yaml(
        (resources.files("services") / "defaults.yaml").read_text("utf-8"), "defaults.yaml"
    )
    path = path or os.environ.get(ENV_VAR)
    if path:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        data = _merge(data, _read_yaml(file.read_text("utf-8"), str(path)))
    if overrides:
        data = _merge(data, overrides)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path or 'configuration'}: {problems}") from exc
