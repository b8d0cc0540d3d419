"""data.inputs: named input groups on their own grids, validated with precise messages."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.experiment.helpers import CLASSES, write_config

from eoforge.errors import ConfigError
from eoforge.experiment import load_config
from eoforge.experiment.config import GeoData, reference_group, whole_pixels

S2 = {"bands": ["S2.B02", "S2.B03", "S2.B04", "S2.B08"], "gsd": 10}
S1 = {"bands": ["S1.VV", "S1.VH"], "gsd": 20}
DSM = {"bands": ["DSM"], "gsd": 2.5}


def groups_config(scene: Path, **inputs: Any) -> dict[str, Any]:
    """A fusion experiment on ``scene`` with the given input groups."""
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene)], "label": {"band": "landcover"}},
            "inputs": copy.deepcopy(inputs or {"s2": S2, "s1": S1}),
            "classes": copy.deepcopy(CLASSES),
            "patch_size": 40,
        },
        "model": {"arch": "fusion_unet", "backbone": "tu-resnet10t"},
        "task": {"kind": "segmentation"},
        "trainer": {"accelerator": "cpu", "output_dir": str(scene / "run")},
    }


def _error(tmp_path: Path, config: dict[str, Any], overrides: list[str] | None = None) -> str:
    path = write_config(tmp_path / "c.yaml", config)
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides or [])
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "Fix: " in message and "\n" not in message
    return message


def test_groups_load_with_canonical_names_and_the_finest_as_label_grid(tmp_path: Path) -> None:
    config = groups_config(tmp_path, s2=S2, s1=S1, dsm=DSM)
    loaded = load_config(write_config(tmp_path / "c.yaml", config))
    data = loaded.data
    assert isinstance(data, GeoData) and data.inputs is not None
    assert data.bands == []
    assert data.inputs["dsm"].bands == ["DEM.dsm"]  # 'DSM' is the registry's DEM.dsm
    assert list(data.inputs) == ["s2", "s1", "dsm"]  # config order is model order
    assert reference_group(data.inputs, data.label_grid) == "dsm"
    assert reference_group(data.inputs, "s1") == "s1"
    assert data.inputs["s1"].resampling == "bilinear" and data.inputs["s1"].scenes is None


def test_single_stack_configs_are_unchanged(tmp_path: Path) -> None:
    config = groups_config(tmp_path)
    del config["data"]["inputs"]
    config["data"]["bands"] = ["S2.red", "S2.B08"]
    config["model"]["arch"] = "unet"
    loaded = load_config(write_config(tmp_path / "c.yaml", config))
    assert isinstance(loaded.data, GeoData)
    assert loaded.data.bands == ["S2.B04", "S2.B08"] and loaded.data.inputs is None


@pytest.mark.parametrize(
    ("group", "key", "words"),
    [
        ({"bands": ["S2.B99"], "gsd": 10}, "data.inputs.s1.bands[0]", "unknown band 'S2.B99'"),
        ({"bands": [], "gsd": 10}, "data.inputs.s1.bands", "the group lists no bands"),
        ({"bands": ["S1.VV"], "gsd": 0}, "data.inputs.s1.gsd", "gsd must be a pixel size > 0"),
        ({"bands": ["S1.VV"], "gsd": -10}, "data.inputs.s1.gsd", "(got -10.0)"),
        ({"bands": ["S1.VV"]}, "data.inputs.s1.gsd", "Field required"),
        ({"bands": ["S1.VV", "S1.VV"], "gsd": 10}, "data.inputs.s1.bands", "listed twice"),
        ({"bands": ["S1.VV"], "gsd": 10, "res": 3}, "data.inputs.s1.res", "unknown key"),
    ],
)
def test_bad_groups_name_the_group_key(
    tmp_path: Path, group: dict[str, Any], key: str, words: str
) -> None:
    message = _error(tmp_path, groups_config(tmp_path, s2=S2, s1=group))
    assert f": {key}: " in message and words in message


def test_a_patch_that_is_not_whole_pixels_of_a_group_names_it_and_the_fix(tmp_path: Path) -> None:
    # 40 px at 2.5 m = 100 m: 10 px of s2, but 3.33 px of a 30 m group
    config = groups_config(tmp_path, s2=S2, dsm=DSM, l8={"bands": ["L8.B4"], "gsd": 30})
    message = _error(tmp_path, config)
    assert "data.patch_size: 40 px at 2.5 (the label grid, group 'dsm')" in message
    assert "is 100 units across, 3.33333 px of group 'l8' at gsd 30" in message
    assert "use data.patch_size a multiple of 12" in message  # 12 x 2.5 m = 30 m
    assert whole_pixels(12 * 2.5, 30) == 1 and whole_pixels(40 * 2.5, 30) is None


def test_val_patch_size_is_checked_too(tmp_path: Path) -> None:
    message = _error(tmp_path, groups_config(tmp_path), ["data.val_patch_size=25"])
    assert "data.val_patch_size: 25 px at 10 (the label grid, group 's2')" in message
    assert "12.5 px of group 's1' at gsd 20" in message
    assert "data.val_patch_size a multiple of 2" in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"bands": ["S2.B02"]}, "data.bands and data.inputs are both given"),
        ({"inputs": {}}, "data.inputs names no group"),
        ({"inputs": None}, "data.bands: missing or empty"),
        ({"label_grid": "dsm"}, "data.label_grid: 'dsm' is not a group of data.inputs (s2, s1)"),
        ({"windows_per_read": 4}, "data.windows_per_read: several windows per read are not"),
        ({"inputs": {"s2": S2, "1x": S1}}, "group name '1x' must start with a letter"),
        ({"inputs": {"a": S2, "b": {"bands": ["S2.B04"], "gsd": 20}}}, "S2.B04 is in groups"),
    ],
)
def test_inconsistent_data_sections(tmp_path: Path, change: dict[str, Any], words: str) -> None:
    config = groups_config(tmp_path)
    config["data"].update(copy.deepcopy(change))
    if config["data"]["inputs"] is None:
        del config["data"]["inputs"]
    assert words in _error(tmp_path, config)


def test_groups_need_a_fusion_architecture_and_back(tmp_path: Path) -> None:
    message = _error(tmp_path, groups_config(tmp_path), ["model.arch=unet"])
    assert "model.arch: 'unet' takes one stack of bands" in message and "fusion_unet" in message
    config = groups_config(tmp_path)
    del config["data"]["inputs"]
    config["data"]["bands"] = ["S2.B02"]
    assert "takes several input groups, but data.inputs is not given" in _error(tmp_path, config)


def test_location_input_is_refused_with_groups(tmp_path: Path) -> None:
    config = groups_config(tmp_path)
    config["model"]["location"] = {"bundle": str(tmp_path)}
    message = _error(tmp_path, config)
    assert "model.location: not taken by networks of input groups yet" in message
