"""Multi-input samples: one footprint, each group read on its own grid from real GeoTIFFs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from eoforge.data import RandomGeoSampler, collate
from eoforge.data.datasets import GeoDataset
from eoforge.data.multi_input import (
    InputSource,
    MultiInputDataset,
    _nearest,
    check_overlap,
    group_grid,
)
from eoforge.data.windows import Window, regions_from_sources
from eoforge.errors import ConfigError
from eoforge.geo.grid import is_pixel_aligned, make_grid
from eoforge.io.source import source_from_file

UTM31 = "EPSG:32631"
X0, Y0 = 730_000.0, 5_000_000.0
Writer = Callable[..., Path]


@pytest.fixture()
def groups(tif: Writer) -> list[InputSource]:
    """s2 (10 m, 64 x 96 px: B02 = row, B03 = column), s1 (20 m, left 480 m only), dsm (5 m)."""
    rows, cols = np.indices((64, 96), dtype=np.float32)
    s2 = source_from_file(
        tif("s2.tif", np.stack([rows, cols]), from_origin(X0, Y0, 10, 10), UTM31),
        bands=["S2.B02", "S2.B03"],
    )
    r20, c20 = np.indices((32, 24), dtype=np.float32)
    s1 = source_from_file(
        tif("s1.tif", 100 * r20 + c20, from_origin(X0, Y0, 20, 20), UTM31), bands=["S1.VV"]
    )
    dsm = source_from_file(
        tif("dsm.tif", np.full((32, 32), 7.0, np.float32), from_origin(X0, Y0, 5, 5), UTM31),
        bands=["DEM.dsm"],
    )
    return [
        InputSource("s2", [s2], ["S2.B02", "S2.B03"], 10.0),
        InputSource("s1", [s1], ["S1.VV"], 20.0),
        InputSource("dsm", [dsm], ["DEM.dsm"], 5.0),
    ]


def footprint(row: int, col: int, size: int = 8, res: float = 20.0) -> Window:
    """A ``size`` px window at ``res`` whose corner is s2 pixel (row, col)."""
    corner = from_origin(X0 + 10 * col, Y0 - 10 * row, res, res)
    return Window(make_grid((size, size), corner, UTM31))


def test_each_group_is_read_on_its_own_grid_pixel_exact(groups: list[InputSource]) -> None:
    sample = MultiInputDataset(groups, "dsm")[footprint(4, 6)]  # 160 m square
    s2, s1, dsm = (sample["inputs"][n] for n in ("s2", "s1", "dsm"))
    assert s2["image"].shape == (2, 16, 16) and s1["image"].shape == (1, 8, 8)
    assert dsm["image"].shape == (1, 32, 32)
    rows, cols = np.indices((16, 16))
    assert torch.equal(s2["image"][0], torch.from_numpy(rows + 4.0).float())
    assert torch.equal(s2["image"][1], torch.from_numpy(cols + 6.0).float())
    r20, c20 = np.indices((8, 8))
    assert torch.equal(s1["image"][0], torch.from_numpy(100.0 * (r20 + 2) + c20 + 3).float())
    # the dsm covers 160 m from the corner: rows/cols 0-31 of 5 m; this footprint starts at
    # 40 m down / 60 m right, so 24 of its 32 rows and 20 of its columns hold data
    assert int(dsm["valid"].sum()) == 24 * 20 and bool(dsm["image"][0, 0, 0] == 7.0)
    assert all(bool(p) for p in sample["present"].values())
    assert sample["valid"].shape == (32, 32) and bool(sample["valid"].all())  # s2 covers it
    assert sample["transform"][0] == 5.0 and sample["transform"][2] == X0 + 60


def test_a_group_no_raster_covers_is_zeros_invalid_and_absent(groups: list[InputSource]) -> None:
    sample = MultiInputDataset(groups, "s2")[footprint(0, 64)]  # x 640-800 m: no s1, no dsm
    for name in ("s1", "dsm"):
        group = sample["inputs"][name]
        assert not bool(sample["present"][name])
        assert not bool(group["valid"].any()) and not bool(group["image"].any())
    assert bool(sample["present"]["s2"]) and bool(sample["valid"].all())
    # a footprint half on s1 (it ends at x 480 m) is present, half valid
    half = MultiInputDataset(groups, "s2")[footprint(0, 40)]
    assert bool(half["present"]["s1"]) and int(half["inputs"]["s1"]["valid"].sum()) == 8 * 4


def test_labels_are_read_on_the_label_grid_and_batches_keep_the_groups(
    groups: list[InputSource], tif: Writer
) -> None:
    classes = np.indices((64, 96))[1].astype(np.uint8) % 3
    label_path = tif("label.tif", classes, from_origin(X0, Y0, 10, 10), UTM31)
    labels = GeoDataset(None, groups[0].sources, ["S2.B02"], label=label_path)
    dataset = MultiInputDataset(groups, "s2", labels)
    batch = collate([dataset[footprint(0, 0)], dataset[footprint(16, 8)]])
    assert batch["inputs"]["s2"]["image"].shape == (2, 2, 16, 16)
    assert batch["inputs"]["s1"]["valid"].shape == (2, 8, 8)
    assert batch["present"]["dsm"].tolist() == [True, False]  # the dsm ends at 160 m
    assert batch["mask"].shape == (2, 16, 16)
    assert torch.equal(batch["mask"][1, 0], torch.arange(8, 24) % 3)
    assert len(batch["crs"]) == 2 and batch["transform"][1][2] == X0 + 80


def test_windows_on_the_coarsest_lattice_read_every_group_aligned(
    groups: list[InputSource],
) -> None:
    regions = regions_from_sources(groups[0].sources)
    sampler = RandomGeoSampler(regions, 8, 12, res=20.0, seed=3)
    for window in sampler.epoch_windows(0):
        for group in groups[:2]:
            file_grid = group.sources[0].grid()
            assert is_pixel_aligned(file_grid, group_grid(window.grid, group.gsd))


def test_a_footprint_that_is_not_whole_pixels_of_a_group_is_refused() -> None:
    grid: GeoBox = make_grid((3, 3), from_origin(X0, Y0, 10, 10), UTM31)
    with pytest.raises(ConfigError, match=r"1\.5x1\.5 px at gsd 20"):
        group_grid(grid, 20.0)


def test_a_group_overlapping_no_labelled_scene_is_an_error(
    groups: list[InputSource], tif: Writer
) -> None:
    far = tif("far.tif", np.ones((8, 8), np.float32), from_origin(X0 + 50_000, Y0, 20, 20), UTM31)
    moved = InputSource("s1", [source_from_file(far, bands=["S1.VV"])], ["S1.VV"], 20.0)
    regions = regions_from_sources(groups[0].sources)
    check_overlap(groups, regions, "data.train")  # partial cover is fine
    with pytest.raises(ConfigError) as caught:
        check_overlap([groups[0], moved], regions, "data.train")
    message = str(caught.value)
    assert "input group 's1' does not overlap the labelled scenes anywhere" in message
    assert "far.tif" in message and "data.inputs.s1.scenes" in message


def test_the_reference_must_be_a_group(groups: list[InputSource]) -> None:
    with pytest.raises(ConfigError, match="'s3' is not an input group"):
        MultiInputDataset(groups, "s3")


@pytest.mark.parametrize(
    ("size", "target"),
    [((64, 64), (128, 128)), ((512, 512), (128, 128)), ((3, 5), (12, 5)), ((100, 7), (30, 21))],
)
def test_nearest_resize_matches_torch(size: tuple[int, int], target: tuple[int, int]) -> None:
    """The numpy fast path (whole-number reductions, power-of-two enlargements) and the
    general one both give exactly torch's nearest resize of a valid mask."""
    mask = torch.from_numpy(np.random.default_rng(3).random(size) > 0.5)
    want = F.interpolate(mask[None, None].float(), size=target, mode="nearest")[0, 0] > 0.5
    got = _nearest(mask, target)
    assert got.dtype == torch.bool
    assert torch.equal(got, want)
