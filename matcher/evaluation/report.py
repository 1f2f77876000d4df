"""Progress reporting for long evaluation runs, without tying domain code to a terminal.

A run in a terminal shows a rich progress bar; a run logging to a file (the first, slow,
run in the background) gets one plain line per phase step at most every few seconds, so
the log says where it is without growing by thousands of lines.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class LineProgress:
    """`progress(phase, done, total)` that prints at most every `every` seconds per phase."""

    def __init__(self, stream: TextIO | None = None, every: float = 10.0) -> None:
        self._stream = stream  # None: whatever sys.stderr is when a line is printed
        self._every = every
        self._last: dict[str, float] = {}
        self._start = time.perf_counter()

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last.get(phase, 0.0) < self._every:
            return
        self._last[phase] = now
        stream = self._stream or sys.stderr
        print(f"[{now - self._start:7.1f}s] {phase}: {done}/{total}", file=stream, flush=True)
