"""Experiment configs: YAML, overrides, classes, one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.experiment.helpers import segmentation_config, write_config

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError, MissingFileError
from eoforge.experiment import load_config
from eoforge.experiment.classes import (
    config_classes,
    legend_classes,
    mask_colour_classes,
    read_legend,
)
from eoforge.experiment.config import ClassRule, Legend


def test_overrides_set_nested_keys_and_list_items(tiny_scene: Path, tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    config = load_config(
        path, ["trainer.max_epochs=5", "data.bands[1]=S2.red", "optim.scheduler=null"]
    )
    assert config.trainer.max_epochs == 5
    assert config.data.bands[1] == "S2.B04"  # aliases become canonical names
    assert config.optim.scheduler is None


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ("data.bands[2]=S2.B99", "data.bands[2]", "unknown band 'S2.B99'"),
        ("model.arch=segformer9000", "model.arch", "unknown architecture 'segformer9000'"),
        ("trainer.max_epochs=many", "trainer.max_epochs", "valid integer"),
        ("data.train.images=/no/such/scene", "data.train.images[0]", "does not exist"),
        ("trainer.max_epoch=3", "trainer.max_epoch", "unknown key"),
        ("data.kind=tiles", "data.kind", "does not match"),
        ("model.arch=fc_siam_diff", "model.arch", "does not serve task 'segmentation'"),
        ("task.kind=change", "task.kind", "cannot be trained on data.kind 'geo'"),
    ],
)
def test_invalid_values_name_file_key_and_fix(
    tiny_scene: Path, tmp_path: Path, override: str, key: str, words: str
) -> None:
    path = write_config(tmp_path / "c.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, [override])
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ")
    assert words in message and "Fix: " in message and "\n" not in message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_bad_override_syntax(tiny_scene: Path, tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(path, ["trainer.max_epochs"])


def test_legend_classes_merge_by_name_and_keep_colours(tiny_scene: Path) -> None:
    entries = read_legend(Legend(path=tiny_scene), None)
    merged = legend_classes(
        entries, ["nodata"], [ClassRule(name="water"), ClassRule(name="built", values=["road", 8])]
    )
    assert merged.names == ["water", "built"]
    assert merged.values == ((1,), (9, 8))
    assert merged.colors[0] == "#2673ca"  # the legend's water colour
    table = merged.lookup(255)
    assert table is not None and table[1] == 0 and table[9] == table[8] == 1 and table[0] == 255
    every = legend_classes(entries, ["nodata"], None)
    assert len(every.names) == 11 and "nodata" not in every.names
    assert all(isinstance(c, ClassInfo) for c in every.infos())
    assert every.infos()[0].description  # legend descriptions are kept


def test_class_rules_keep_the_yaml_keys_and_normalise_colours(
    tiny_scene: Path, tmp_path: Path
) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "run")
    del raw["data"]["legend"]
    raw["data"]["classes"] = [
        {"name": "low", "values": [1, 4], "color": [255, 0, 16]},
        {"name": "high", "values": [3], "color": "0AF"},
        {"name": "rest"},
    ]
    config = load_config(write_config(tmp_path / "c.yaml", raw))
    assert config.data.classes is not None
    classes = config_classes(config.data.classes)
    assert classes.infos() == [
        ClassInfo(id=0, name="low", color="#ff0010"),
        ClassInfo(id=1, name="high", color="#00aaff"),
        ClassInfo(id=2, name="rest", color="#2ca02c"),  # the palette's third colour
    ]
    table = classes.lookup(255)
    assert table is not None and list(table[:5]) == [255, 0, 2, 1, 0]  # "rest": its position


def test_a_bad_class_colour_names_the_key(tiny_scene: Path, tmp_path: Path) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "run")
    raw["data"]["classes"][1]["color"] = "green-ish"
    path = write_config(tmp_path / "c.yaml", raw)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: data.classes[1].color: ")
    assert "'green-ish' is not a colour. Fix: write \"#rrggbb\"" in message and "\n" not in message


def test_mask_colours_take_one_colour_or_several_and_only_image_mask_reads_them() -> None:
    one = ClassRule.model_validate({"name": "water", "mask_color": [0, 0, 255]})
    assert one.mask_color == ["#0000ff"]
    several = ClassRule.model_validate({"name": "void", "mask_color": ["#9B9B9B", "#000"]})
    assert several.mask_color == ["#9b9b9b", "#000000"]
    with pytest.raises(ConfigError, match=r"data.classes\[0\].mask_color: only image_mask"):
        config_classes([one])
    classes, table = mask_colour_classes([one, several], ["#123456"], 255)
    assert table == {"#0000ff": 0, "#9b9b9b": 1, "#000000": 1, "#123456": 255}
    assert classes.colors == ["#0000ff", "#9b9b9b"]
    with pytest.raises(ConfigError, match=r"data.ignore_colors: #0000ff is listed already"):
        mask_colour_classes([one], ["#0000FF"], 255)


def test_the_accelerator_defaults_to_auto(tiny_scene: Path, tmp_path: Path) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "run")
    del raw["trainer"]["accelerator"]
    assert load_config(write_config(tmp_path / "c.yaml", raw)).trainer.accelerator == "auto"
