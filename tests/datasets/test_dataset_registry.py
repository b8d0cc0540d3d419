"""The dataset registry: entries are complete and consistent; names are looked up kindly."""

from __future__ import annotations

import pytest

from eoforge.datasets import DatasetEntry, entries, get, register, unregister
from eoforge.datasets.layouts import PARSERS
from eoforge.errors import ConfigError
from eoforge.sensors import get_band

EXPECTED = {"eurosat-rgb", "eurosat-ms", "ucmerced", "levir-cd", "landcover-ai", "bigearthnet-s2"}


def test_the_first_datasets_are_registered() -> None:
    assert {e.name for e in entries()} >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_entries_are_complete(name: str) -> None:
    entry = get(name)
    for band in entry.bands:
        get_band(band)  # canonical eoforge names
    assert entry.trainable and entry.family and entry.data_kind
    assert entry.classes and [c.id for c in entry.classes] == list(range(len(entry.classes)))
    assert entry.citation and entry.licence and entry.homepage.startswith("http")
    for file in entry.files:
        assert file.url.startswith("https://")
        assert file.checksum is not None and file.checksum_source
        assert all(s in entry.splits for s in file.splits)
    assert any(f.extract for f in entry.files)


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.name)
def test_every_entry_is_consistent(entry: DatasetEntry) -> None:
    assert entry.layout in PARSERS
    for band in entry.bands:
        get_band(band)  # canonical eoforge names
    assert [c.id for c in entry.classes] == list(range(len(entry.classes))) or entry.task in (
        "self_supervised",
        "image_text",
        "super_resolution",
        "regression",
    )
    assert entry.citation and entry.licence and entry.homepage.startswith("http")
    assert entry.trainable or entry.later
    for file in entry.files:
        assert file.url.startswith("https://"), file.url
        # a checksum is either published (and its source named) or its absence explained
        assert file.checksum_source, f"{entry.name}/{file.filename}: say where the checksum is from"


def test_an_unknown_layout_is_refused_on_register() -> None:
    entry = get("ucmerced").model_copy(update={"name": "odd", "layout": "no_such_layout"})
    with pytest.raises(ConfigError, match="unknown layout 'no_such_layout'"):
        register(entry)
    with pytest.raises(ConfigError):
        get("odd")


def test_lookup_is_case_insensitive_and_suggests_close_names() -> None:
    assert get("EuroSAT-RGB").name == "eurosat-rgb"
    with pytest.raises(ConfigError) as info:
        get("eurosat")
    message = str(info.value)
    assert "Did you mean" in message and "eurosat-rgb" in message and "eurosat-ms" in message
    assert "eoforge datasets list" in message


def test_entries_not_trainable_today_say_what_is_missing() -> None:
    base = get("eurosat-rgb").model_dump()
    with pytest.raises(ValueError, match="must say what is missing"):
        DatasetEntry(**{**base, "name": "x", "trainable": False, "family": None})
    later = DatasetEntry(
        **{**base, "name": "x", "trainable": False, "task": "detection", "later": "issue X"}
    )
    assert later.trained_by == "later: issue X"
    detail = later.model_copy(update={"later": "object detection: no data kind reads boxes"})
    assert detail.trained_by_short == "later: object detection"


def test_register_and_unregister() -> None:
    entry = get("ucmerced").model_copy(update={"name": "my-ucmerced"})
    register(entry)
    try:
        assert get("my-ucmerced") is entry
        with pytest.raises(ConfigError, match="registered already"):
            register(entry)
    finally:
        unregister("my-ucmerced")
    with pytest.raises(ConfigError):
        get("my-ucmerced")
