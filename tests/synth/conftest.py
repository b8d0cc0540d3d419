"""One small scene shared by the synth tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.synth import SceneManifest, SynthOptions, generate_scene

SMALL = SynthOptions(size=384, seed=7, dates=6, clouds=0.3)


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> SceneManifest:
    return generate_scene(tmp_path_factory.mktemp("synth") / "scene", SMALL)


@pytest.fixture(scope="session")
def scene_root(scene: SceneManifest) -> Path:
    return scene.root
