"""`settle`: what `trialmatch serve` does before listening (warm trial contexts, freeze them)."""

from __future__ import annotations

import gc

from matcher.model import Trial
from services.providers import settle

CRITERIA = (
    "Inclusion Criteria:\n- Type 2 diabetes\n- Age 18 years or older\n"
    "Exclusion Criteria:\n- Pregnancy"
)


def test_settle_warms_active_trials_and_freezes_them(make_app) -> None:
    app = make_app()
    for n in range(3):
        app.trials.submit(
            Trial(f"NCT0000000{n}", title=f"Diabetes study {n}", eligibility_text=CRITERIA)
        )
    app.trials.retire("NCT00000002")
    before = gc.get_freeze_count()
    try:
        assert settle(app) == 2  # retired trials are never matched, so not warmed
        assert gc.get_freeze_count() > before
        assert app.engine.warm() == 2  # idempotent: the same trials, served from the cache
    finally:
        gc.unfreeze()
