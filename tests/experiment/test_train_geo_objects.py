"""Detection on georeferenced scenes: objects in map coordinates (a synthetic scene's
``vectors/objects.parquet``), training windows drawn around objects, validation on
overlapping tiles counting every object once, bad object layers as clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from tests.experiment.helpers import write_config

from eoforge.data.detection_windows import GROUP, ROW
from eoforge.errors import ConfigError, EoforgeError, NotGeoreferencedError
from eoforge.experiment import load_config, train
from eoforge.experiment.data import SKIPPED_LOG, build_data
from eoforge.experiment.train import min_visible
from eoforge.synth import generate_scene

CLASSES = ["ship", "plane", "small-vehicle"]


@pytest.fixture(scope="module")
def vhr_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic scene with its two 0.5 m RGB chips (harbour, airfield) and their objects."""
    out = tmp_path_factory.mktemp("vhr") / "seed0"
    generate_scene(out, size=128, seed=0, sensors="vhr", dates=1, clouds=0.0)
    return out


def _raw(scene: Path, out: Path, objects: Path | None = None, **data: Any) -> dict[str, Any]:
    layer = {"path": str(objects or scene / "vectors" / "objects.parquet"), "attribute": "label"}
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene / "vhr")], "objects": layer},
            "bands": ["RGB.red", "RGB.green", "RGB.blue"],
            "classes": [{"name": c} for c in CLASSES],
            "patch_size": 128,
            "samples_per_epoch": 8,
            "batch_size": 4,
            "stats_samples": 4,
            "val_fraction": 0.25,
            **data,
        },
        "model": {
            "arch": "fcos",
            "backbone": "resnet18",
            "options": {"fpn_channels": 32, "head_convs": 1, "score_thresh": 0.05},
        },
        "task": {"kind": "detection"},
        "optim": {"lr": 0.001},
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "checkpoint_every_n_steps": 0,
            "output_dir": str(out / "run"),
        },
    }


def _config(scene: Path, out: Path, objects: Path | None = None, **data: Any) -> Any:
    return load_config(write_config(out / "c.yaml", _raw(scene, out, objects, **data)))


# The training tests validate on 256 px tiles (64 px overlap): the 256-row validation strip of
# the two 1024 px chips in 10 tiles, where the 128 px default takes 66 (1.6x the pixels).
VAL_TILE = 256


def test_a_detector_trains_one_epoch_on_whole_scenes(vhr_scene: Path, tmp_path: Path) -> None:
    result = train(_config(vhr_scene, tmp_path, val_patch_size=VAL_TILE), progress=False)
    assert 0.0 <= result.metrics["val/map"] <= 1.0 and result.monitor == "val/map"
    assert np.isfinite(result.metrics["train/loss"])
    assert result.bundle is not None and result.bundle.exists()


def test_validation_tiles_count_every_object_once(vhr_scene: Path, tmp_path: Path) -> None:
    config = _config(vhr_scene, tmp_path, val_patch_size=256)
    data = build_data(config, tmp_path / "run")
    sampler = data.val_sampler()
    tiles = list(sampler)
    # the bottom quarter (256 rows) of both 1024 px chips, 256 px tiles with 64 px overlap
    assert len(tiles) == 2 * 5 and all(t.grid.shape == (256, 256) for t in tiles)
    counted: list[int] = []
    shown = 0
    frame = data.val.frame  # type: ignore[attr-defined]
    for tile in tiles:
        sample = data.val[tile]
        assert sample["difficult"].shape == sample["labels"].shape
        near = data.val.near(tile.grid)  # type: ignore[attr-defined]
        inside = near[shapely.intersects(near.geometry.array, shapely.box(*tile.grid.boundingbox))]
        owned = ~sample["difficult"]
        assert len(inside) == len(owned)
        counted += [int(r) for r in inside[ROW].to_numpy()[owned.numpy()]]
        shown += len(sample["labels"])
    # every object touching a validation tile is counted in exactly one tile
    in_val = {
        int(r)
        for t in tiles
        for r in data.val.near(t.grid)[ROW]  # type: ignore[attr-defined]
        if shapely.intersects(
            frame.geometry[frame[ROW] == r].iloc[0], shapely.box(*t.grid.boundingbox)
        )
    }
    assert sorted(counted) == sorted(set(counted)) and set(counted) == in_val
    assert len(in_val) > 0 and shown > len(in_val)  # the overlap shows some twice
    batch = data.val_collate([data.val[t] for t in tiles[:2]])
    assert batch["image"].shape == (2, 3, 256, 256) and len(batch["difficult"]) == 2


def test_training_windows_hold_their_objects(vhr_scene: Path, tmp_path: Path) -> None:
    data = build_data(_config(vhr_scene, tmp_path, detection={"background": 0.0}), tmp_path)
    sampler = data.train_sampler()
    draws = sampler.draws(0)  # type: ignore[attr-defined]
    assert draws.target_class.min() >= 0  # no background windows
    for i in range(len(draws.windows)):
        sample = data.train[draws.windows[i]]
        target = int(draws.target_class[i])
        assert target in sample["labels"].tolist()
        assert sample["image"].shape == (3, 128, 128) and sample["boxes"].shape[1] == 4
        boxes = sample["boxes"]
        assert bool((boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 128).all())
        assert "difficult" not in sample


def _layer(scene: Path, out: Path, change: Any, suffix: str = ".parquet") -> Path:
    frame = gpd.read_parquet(scene / "vectors" / "objects.parquet")
    frame = change(frame)
    path = out / f"objects{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver="GeoJSON")
    return path


def _with_degenerate(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame.copy()
    x, y = frame.geometry.iloc[3].centroid.coords[0]  # a polygon without area
    frame.loc[frame.index[3], "geometry"] = shapely.Polygon([(x, y), (x + 5, y), (x + 10, y)])
    return frame


def test_bad_object_layers_are_clear_errors(vhr_scene: Path, tmp_path: Path) -> None:
    cases: list[tuple[Any, str, type[EoforgeError], str]] = [
        (lambda f: f.rename(columns={"label": "kind"}), ".parquet", ConfigError, "no class column"),
        (
            lambda f: f.assign(label=np.where(np.arange(len(f)) == 2, "tank", f["label"])),
            ".parquet",
            ConfigError,
            "1 of an unknown class",
        ),
        (_with_degenerate, ".parquet", ConfigError, "1 of 101 objects cannot be boxes"),
        # a GeoJSON without its CRS member: UTM metres read as longitude/latitude
        (lambda f: f.set_crs(None, allow_override=True), ".geojson", NotGeoreferencedError,
         "not longitude/latitude"),
    ]  # fmt: skip
    for i, (change, suffix, kind, message) in enumerate(cases):
        folder = tmp_path / str(i)
        folder.mkdir()
        layer = _layer(vhr_scene, folder, change, suffix)
        with pytest.raises(kind, match=message) as info:
            build_data(_config(vhr_scene, folder, layer), folder / "run")
        assert str(layer) in str(info.value) and info.value.fix


def test_bad_objects_are_skipped_and_counted_when_asked(vhr_scene: Path, tmp_path: Path) -> None:
    layer = _layer(vhr_scene, tmp_path, _with_degenerate)
    config = _config(vhr_scene, tmp_path, layer, detection={"on_bad_file": "skip"})
    data = build_data(config, tmp_path / "run")
    assert len(data.train.frame) == 101 - 1  # type: ignore[attr-defined]
    log = (tmp_path / "run" / SKIPPED_LOG).read_text()
    assert str(layer) in log and "1 of 101 objects cannot be boxes" in log


def test_config_checks_for_detection_on_scenes(vhr_scene: Path, tmp_path: Path) -> None:
    raw = _raw(vhr_scene, tmp_path)
    del raw["data"]["train"]["objects"]
    with pytest.raises(ConfigError, match=r"data\.train\.objects: missing"):
        load_config(write_config(tmp_path / "a.yaml", raw))
    raw = _raw(vhr_scene, tmp_path, detection={"class_weights": [1, 2]})
    with pytest.raises(ConfigError, match="2 weights for 3 classes"):
        load_config(write_config(tmp_path / "b.yaml", raw))
    # turns by any angle keep the windows' own least visible share of an object
    raw = _raw(vhr_scene, tmp_path, detection={"min_visible": 0.3})
    raw["task"] = {"kind": "oriented_detection", "rotate": 0.5}
    raw["model"] = {"arch": "oriented_fcos", "backbone": "resnet18"}
    assert min_visible(load_config(write_config(tmp_path / "r.yaml", raw))) == 0.3
    raw = _raw(vhr_scene, tmp_path)
    raw["task"]["kind"] = "segmentation"
    raw["model"] = {"arch": "unet"}
    raw["data"]["train"]["label"] = {"band": "landcover"}
    with pytest.raises(ConfigError, match=r"data\.train\.objects: given, but task 'segmentation'"):
        load_config(write_config(tmp_path / "c.yaml", raw))


def test_paired_object_files_label_only_their_own_scenes(
    vhr_scene: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Two scenes of the same place (seeds 0 and 1): each file's objects show on its scene only."""
    other = tmp_path_factory.mktemp("vhr1") / "seed1"
    generate_scene(other, size=128, seed=1, sensors="vhr", dates=1, clouds=0.0)
    raw = _raw(vhr_scene, tmp_path, detection={"background": 0.0})
    scenes = [vhr_scene, other]
    raw["data"]["train"] = {
        "images": [str(s / "vhr") for s in scenes],
        "objects": {"path": [str(s / "vectors" / "objects.parquet") for s in scenes]},
    }
    data = build_data(load_config(write_config(tmp_path / "p.yaml", raw)), tmp_path / "run")
    train = data.train
    assert train.source_groups == [0, 0, 1, 1]  # type: ignore[attr-defined]
    frame = train.frame  # type: ignore[attr-defined]
    sampler = data.train_sampler()
    draws = sampler.draws(0)  # type: ignore[attr-defined]
    groups_seen = set()
    for i in range(len(draws.windows)):
        window = draws.windows[i]
        group = train.group_of(window)  # type: ignore[attr-defined]
        groups_seen.add(group)
        target_row = int(sampler.candidates.row[draws.target[i]])  # type: ignore[attr-defined]
        assert frame[GROUP].iloc[target_row] == group
        sample = train[window]
        shown = train.near(window.grid, group)  # type: ignore[attr-defined]
        assert set(shown[GROUP]) <= {group} and len(sample["labels"]) <= len(shown)
        # the image is the window's own scene, whatever the other scene holds there
        own = train.sources[window.sources[0]]  # type: ignore[attr-defined]
        assert all(f"/{scenes[group].name}/" in path for path in own.paths)
    assert groups_seen == {0, 1}
    # one file for two scenes is refused by the config, two files for one entry too
    raw["data"]["train"]["objects"]["path"] = raw["data"]["train"]["objects"]["path"] * 2
    with pytest.raises(ConfigError, match="4 objects files for 2 images entries"):
        load_config(write_config(tmp_path / "q.yaml", raw))


def test_an_oriented_detector_trains_on_whole_scenes(vhr_scene: Path, tmp_path: Path) -> None:
    raw = _raw(vhr_scene, tmp_path, detection={"background": 0.0}, val_patch_size=VAL_TILE)
    raw["task"]["kind"] = "oriented_detection"
    raw["model"]["arch"] = "oriented_fcos"
    config = load_config(write_config(tmp_path / "o.yaml", raw))
    data = build_data(config, tmp_path / "run")
    window = data.train_sampler().draws(0).windows[0]  # type: ignore[attr-defined]
    sample = data.train[window]
    assert sample["boxes"].shape[1] == 5 and len(sample["labels"]) >= 1
    result = train(config, progress=False)
    assert 0.0 <= result.metrics["val/map"] <= 1.0
