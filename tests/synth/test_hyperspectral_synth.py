"""The hyperspectral granule is reproducible, and its options are checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from eoforge.errors import BandNotFoundError, ConfigError
from eoforge.synth.hyperspectral import HyperspectralOptions, generate_hyperspectral


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_options_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    options = HyperspectralOptions(height=32, width=32, bands=40, plumes=1, seed=5)
    a = generate_hyperspectral(tmp_path / "a", options)
    b = generate_hyperspectral(tmp_path / "b", options)
    for key in ("radiance", "enhancement", "plumes"):
        assert _digest(a[key]) == _digest(b[key]), key
    c = generate_hyperspectral(
        tmp_path / "c", HyperspectralOptions(height=32, width=32, bands=40, plumes=1, seed=6)
    )
    assert _digest(c["radiance"]) != _digest(a["radiance"])


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="too small"):
        HyperspectralOptions(height=8, width=8)
    with pytest.raises(ConfigError, match="not an imaging spectrometer"):
        generate_hyperspectral(tmp_path / "s2", HyperspectralOptions(sensor="S2"))
    with pytest.raises(BandNotFoundError, match="unknown sensor"):
        generate_hyperspectral(tmp_path / "xx", HyperspectralOptions(sensor="XX"))
    assert not list(tmp_path.iterdir())  # refused before anything is written
