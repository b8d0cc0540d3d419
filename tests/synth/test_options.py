"""SynthOptions: the typed options of generate_scene, and its keyword form."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from pathlib import Path

import pytest

from eoforge.errors import ConfigError
from eoforge.synth import SynthFields, SynthOptions, generate_scene


def test_keyword_fields_are_the_option_fields() -> None:
    keys = SynthFields.__required_keys__ | SynthFields.__optional_keys__
    assert keys == {f.name for f in fields(SynthOptions)}


def test_replace_takes_comma_separated_sensors() -> None:
    changed = SynthOptions().replace(size=512, sensors="s1, s2")
    assert changed == SynthOptions(size=512, sensors=("s2", "s1"))


def test_validate_puts_sensors_in_canonical_order() -> None:
    assert SynthOptions(sensors=("vhr", "s1", "s2")).validate().sensors == ("s2", "s1", "vhr")


def test_unknown_keyword_is_a_config_error(tmp_path: Path) -> None:
    unknown: dict[str, object] = {"colour": 3}
    with pytest.raises(ConfigError, match="colour"):
        generate_scene(tmp_path / "x", **unknown)
    assert not (tmp_path / "x").exists()


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_keyword_form_is_the_options_form(tmp_path: Path) -> None:
    options = SynthOptions(size=64, seed=4, sensors=("s1",), dates=1, vectors=False)
    a = generate_scene(tmp_path / "a", options)
    b = generate_scene(tmp_path / "b", size=64, seed=4, sensors="s1", dates=1, vectors=False)
    assert a.options == b.options
    assert _digest(a.root) == _digest(b.root)
