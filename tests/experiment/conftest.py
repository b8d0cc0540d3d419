"""Tiny synthetic scenes shared by the experiment tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.synth import generate_scene


@pytest.fixture(scope="session")
def tiny_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 128 px synthetic Sentinel-2 + DEM scene with land-cover labels (seed 0)."""
    out = tmp_path_factory.mktemp("scenes") / "seed0"
    generate_scene(out, size=128, seed=0, sensors="s2,dsm", dates=1, clouds=0.0, vectors=False)
    return out


@pytest.fixture(scope="session")
def other_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another 128 px synthetic scene (seed 5), for evaluation on unseen data."""
    out = tmp_path_factory.mktemp("scenes") / "seed5"
    generate_scene(out, size=128, seed=5, sensors="s2,dsm", dates=1, clouds=0.0, vectors=False)
    return out
