"""What the evaluation commands share: the cached App, the fingerprint, common flags."""

from __future__ import annotations

import argparse
import shutil
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_INDEX_DATE = "2021-01-01"
WORKSPACE_FILES = ("trialmatch.sqlite3", "manifest.")  # prefixes of what a workspace holds


def add_common_flags(p: argparse.ArgumentParser, default_cache: str) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"workspace store reused across runs (default {default_cache})",
    )
    p.add_argument(
        "--refresh",
        action="store_true",
        help="empty the workspace first (everything is re-ingested, re-parsed, re-embedded)",
    )
    p.add_argument(
        "--index-date",
        default=DEFAULT_INDEX_DATE,
        help=f"ISO date for ages (from the notes) and time windows (default {DEFAULT_INDEX_DATE})",
    )
    p.add_argument("--config", help="YAML configuration file (default $TRIALMATCH_CONFIG)")


def index_date(args: argparse.Namespace) -> date:
    try:
        return date.fromisoformat(args.index_date)
    except ValueError:
        raise SystemExit(f"--index-date {args.index_date!r} is not an ISO date") from None


def build_workspace(args: argparse.Namespace, cache_dir: Path) -> tuple[Any, Any, str]:
    """(App on the workspace store, its Manifest, the preparation fingerprint)."""
    from matcher.evaluation.workspace import Manifest, code_fingerprint
    from services.config import load_config
    from services.providers import build_app

    if args.refresh and cache_dir.exists():
        foreign = [f.name for f in cache_dir.iterdir() if not f.name.startswith(WORKSPACE_FILES)]
        if foreign:  # never delete a folder that is not a workspace
            raise SystemExit(f"--refresh: {cache_dir} holds other files ({', '.join(foreign)})")
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    config = load_config(args.config, {"storage": {"data_dir": str(cache_dir)}})
    # Everything that shapes stored data except where it is stored and how it is served.
    settings = config.model_dump_json(exclude={"storage", "server"})
    app = build_app(config)
    return app, Manifest(cache_dir / "manifest.json"), code_fingerprint(settings)
