"""Deterministic train / tune / held-out split of Chia by trial.

By trial, not by file or line, because a trial's inclusion and exclusion lists share wording and
annotator habits: a model that saw a trial's inclusions would be flattered on its exclusions.
The bucket comes from a hash of the trial id, so the split does not depend on which files are
present, on their order, or on the Python hash seed, and a trial never changes side.

The held-out part (20 % of trials) is read only for the final report and the committed
regression sample; rules and hyper-parameters are chosen on the tune part (10 %).
"""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "tune", "heldout"]
SPLITS: tuple[Split, ...] = ("train", "tune", "heldout")

# Percent of trials in each part, in bucket order.
_BOUNDS: tuple[tuple[Split, int], ...] = (("train", 70), ("tune", 80), ("heldout", 100))
_SALT = "trialmatch-chia-split-v1"


def bucket(trial_id: str) -> int:
    """0..99, stable across machines and Python versions."""
    digest = hashlib.sha256(f"{_SALT}:{trial_id.strip().upper()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def split_of(trial_id: str) -> Split:
    b = bucket(trial_id)
    for name, bound in _BOUNDS:
        if b < bound:
            return name
    raise AssertionError("bounds cover 0..99")
