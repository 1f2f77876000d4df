"""What the evaluation commands share: the cached App, the fingerprint, common flags."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
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
    # Everything that shapes stored data: not where it is stored, how it is served, or how
    # matching weighs it (matching runs on every evaluation; tuning it must not re-prepare).
    settings = config.model_dump_json(exclude={"storage", "server", "matching"})
    app = build_app(config)
    return app, Manifest(cache_dir / "manifest.json"), code_fingerprint(settings)


def run_eval(
    args: argparse.Namespace,
    load: Callable[[], Any],
    default_cache: Path,
    evaluate: Callable[[Any, Any, date, Any, str], dict[str, Any]],
    print_report: Callable[[dict[str, Any]], None],
) -> int:
    """The frame every evaluation command shares: load the data (a data error exits 2), build
    the cached workspace, evaluate, stamp where the data and the workspace were and the total
    time, then print one JSON object or the report."""
    from matcher.evaluation.data import DataError

    started = time.perf_counter()
    when = index_date(args)
    try:
        data = load()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cache_dir = args.cache_dir or default_cache
    app, manifest, fingerprint = build_workspace(args, cache_dir)
    try:
        result = evaluate(app, data, when, manifest, fingerprint)
    finally:
        app.close()
    result["data"] = str(args.data)
    result["cache_dir"] = str(cache_dir)
    result["timings"]["total_seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 0


def report_console() -> Any:
    """A rich console; piped to a file it keeps tables wide instead of squeezing them to 80."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)
