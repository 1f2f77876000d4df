"""The rendered Kustomize trees, once per session (rendering: k8s_support.py)."""

from __future__ import annotations

import pytest
from k8s_support import TREES, Manifest, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    return {name: render(path) for name, path in TREES.items()}
