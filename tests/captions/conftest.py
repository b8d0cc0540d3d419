"""Small synthetic scenes shared by the caption tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.synth import generate_scene


@pytest.fixture(scope="session")
def flood_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """256 px, 3 dates (the river floods on the middle one), labels and vectors."""
    out = tmp_path_factory.mktemp("captions") / "flood"
    return generate_scene(out, size=256, sensors="s2", dates=3, seed=1, clouds=0.0).root


@pytest.fixture(scope="session")
def town_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """384 px, 1 date, another seed: another river, town and fields."""
    out = tmp_path_factory.mktemp("captions") / "town"
    return generate_scene(out, size=384, sensors="s2", dates=1, seed=5, clouds=0.0).root
