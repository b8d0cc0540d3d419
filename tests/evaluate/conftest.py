"""Fixtures of the evaluation tests: one small generated scene shared by the figure tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.synth import generate_scene


@pytest.fixture(scope="package")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 128 x 128 px synthetic scene: one S2 and one S1 date, labels and legend.json."""
    out = tmp_path_factory.mktemp("scene")
    generate_scene(out, size=128, seed=3, sensors="s2,s1", dates=1, clouds=0.0, vectors=False)
    return out
