"""`trialmatch eval ...`: one module per benchmark, each registering its own subcommand.

A module exposes `register(sub)`, which adds its parser and sets `run(args) -> int` as the
parser's `func`. Modules import their heavy dependencies inside `run`, so `trialmatch --help`
stays fast.
"""

from __future__ import annotations

import argparse
import importlib

EVALS = ("chia", "trec", "criteria")


def register_all(sub: argparse._SubParsersAction) -> None:
    for name in EVALS:
        importlib.import_module(f"services.evals.{name}").register(sub)
