"""Shared fixtures: the real sensor samples and small synthetic rasters."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of real sensor samples; skips the test when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real sensor samples not found at {REAL_DATA}")
    return REAL_DATA
