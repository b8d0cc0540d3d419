"""Whole scenes through the engine for multi-input bundles: each group on its own grid per tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from tests.helpers import write_tif
from tests.models.fusion_specs import two_group_spec

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError
from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.io.source import RasterSource
from eoforge.models import (
    Bundle,
    LoadedBundle,
    Normalization,
    build_model,
    save_bundle,
)
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.bundle import BundleModel, bundle_predictor
from eoforge.predict.groups import (
    GroupRead,
    fusion_predictor,
    group_reads,
    pack_groups,
    unpack_groups,
)
from eoforge.predict.runner import Products, run

CRS = "EPSG:32631"
X0, Y0 = 600_000.0, 5_700_000.0
S2 = ["S2.B04", "S2.B08"]
S1 = ["S1.VV"]


def _at(res: float) -> Affine:
    return Affine(res, 0, X0, 0, -res, Y0)


def _sources(
    tmp_path: Path, side: int = 128, s1_rows: int | None = None
) -> dict[str, RasterSource]:
    """s2 at 10 m (B04 = row * 1000 + column, B08 = 0.3), s1 at 20 m (VV = -row - column / 100;
    its first ``s1_rows`` rows only, when given) and a dsm at 5 m (row + column)."""
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float32)
    s2_data = np.stack([rows * 1000 + cols, rows * 0 + 0.3])
    s2 = write_tif(tmp_path / "s2.tif", s2_data, _at(10), CRS, descriptions=S2)
    half = side // 2
    r20, c20 = np.mgrid[0 : s1_rows or half, 0:half].astype(np.float32)
    s1 = write_tif(tmp_path / "s1.tif", (-r20 - c20 / 100)[None], _at(20), CRS, descriptions=S1)
    r5, c5 = np.mgrid[0 : 2 * side, 0 : 2 * side].astype(np.float32)
    dsm = write_tif(tmp_path / "dsm.tif", (r5 + c5)[None], _at(5), CRS, descriptions=["DEM.dsm"])
    return {
        "s2": source_from_file(s2),
        "s1": source_from_file(s1),
        "dsm": source_from_file(dsm),
    }


def _reads(sources: dict[str, RasterSource], names: tuple[str, ...]) -> list[GroupRead]:
    inputs = {
        "s2": {"bands": S2, "gsd": 10.0},
        "s1": {"bands": S1, "gsd": 20.0},
        "dsm": {"bands": ["DEM.dsm"], "gsd": 5.0},
    }
    chosen = {n: inputs[n] for n in names}
    return group_reads(chosen, "s2", {n: [sources[n]] for n in names})


def test_packing_is_lossless_for_coarser_and_finer_groups(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    reads = _reads(sources, ("s2", "s1", "dsm"))
    tile = make_grid((32, 32), Affine(10, 0, X0 + 320, 0, -10, Y0 - 640), CRS)
    image, invalid = pack_groups(reads, tile)
    assert image.shape == (2 + 1 + 4, 32, 32) and not invalid.any()  # the dsm as 2 x 2 = 4
    groups = unpack_groups(torch.from_numpy(image)[None], reads)
    assert groups["s2"].shape == (1, 2, 32, 32) and groups["s1"].shape == (1, 1, 16, 16)
    assert groups["dsm"].shape == (1, 1, 64, 64)
    r20, c20 = np.mgrid[32:48, 16:32].astype(np.float32)
    np.testing.assert_array_equal(groups["s1"][0, 0].numpy(), -r20 - c20 / 100)
    r5, c5 = np.mgrid[128:192, 64:128].astype(np.float32)
    np.testing.assert_array_equal(groups["dsm"][0, 0].numpy(), r5 + c5)


def test_the_engine_reads_each_group_on_its_grid_per_tile(tmp_path: Path) -> None:
    sources = _sources(tmp_path, s1_rows=40)  # s1 ends at row 80 of the 10 m grid
    reads = _reads(sources, ("s2", "s1"))

    def b04_and_vv(x: torch.Tensor) -> torch.Tensor:  # s2's B04 and s1 repeated to 10 m
        groups = unpack_groups(x, reads)
        vv = groups["s1"].repeat_interleave(2, dim=-1).repeat_interleave(2, dim=-2)
        return torch.cat([groups["s2"][:, :1], torch.nan_to_num(vv, nan=-9999.0)], dim=1)

    grid = make_grid((128, 128), Affine(10, 0, X0, 0, -10, Y0), CRS)
    out = predict_scene(
        b04_and_vv,
        sources["s2"],
        grid,
        S2,
        tmp_path / "out",
        spec=OutputSpec("values", names=("b04", "vv")),
        options=TilingOptions(64, 0, 2, 128, multiple=16),
        groups=reads,
    )["values"]
    with rasterio.open(out) as ds:
        assert ds.transform == grid.affine and ds.shape == (128, 128)
        got = ds.read()
    rows, cols = np.mgrid[0:128, 0:128].astype(np.float32)
    np.testing.assert_array_equal(got[0], rows * 1000 + cols)
    expected_vv = -(rows // 2) - (cols // 2) / 100
    np.testing.assert_allclose(got[1, :80], expected_vv[:80], atol=1e-5)
    assert (got[1, 80:] == -9999).all()  # no s1 below its last row: missing (NaN) there


def _fusion_bundle(tmp_path: Path) -> Path:
    return save_bundle(tmp_path / "bundle", *_fusion_parts())


def _fusion_parts() -> tuple[torch.nn.Module, Bundle]:
    spec = two_group_spec(S2, S1, 2, reference="s2")
    torch.manual_seed(0)
    bundle = Bundle(
        task="segmentation",
        model=spec,
        bands=[*S2, *S1],
        normalization=Normalization(mean=[60000.0, 0.3, -40.0], std=[40000.0, 0.1, 20.0]),
        gsd=10.0,
        patch_size=64,
        classes=[
            ClassInfo(id=0, name="a", color="#000000"),
            ClassInfo(id=1, name="b", color="#ffffff"),
        ],
    )
    return build_model(spec).eval(), bundle


def test_a_fusion_bundle_predicts_a_scene_as_on_the_whole_grid(tmp_path: Path) -> None:
    sources = _sources(tmp_path, side=64)
    reads = _reads(sources, ("s2", "s1"))
    folder = _fusion_bundle(tmp_path)
    predictor, loaded = bundle_predictor(folder)
    grid = make_grid((64, 64), Affine(10, 0, X0, 0, -10, Y0), CRS)
    out = predict_scene(
        BundleModel((str(folder),)),
        sources["s2"],
        grid,
        loaded.bundle.bands,
        tmp_path / "pred",
        spec=OutputSpec.from_bundle(loaded),
        options=TilingOptions(64, 0, 1, 64, multiple=32),
        groups=reads,
    )["classes"]
    with rasterio.open(out) as ds:
        classes = ds.read(1)
    image, _ = pack_groups(reads, grid)
    with torch.no_grad():
        direct = predictor(torch.from_numpy(image)[None]).argmax(dim=1)[0].numpy()
    assert classes.shape == (64, 64) and float((classes == direct).mean()) > 0.999
    with pytest.raises(ConfigError, match="predict alone"):
        BundleModel((str(folder),), tta=True).load()


def test_the_predictor_unpacks_standardises_and_marks_absent_groups() -> None:
    model, bundle = _fusion_parts()
    predict = fusion_predictor(LoadedBundle(model, bundle))
    generator = torch.Generator().manual_seed(0)
    s2 = torch.rand(2, 2, 32, 32, generator=generator) * 1000
    s1 = -torch.rand(2, 1, 16, 16, generator=generator) * 30
    s1[1] = float("nan")  # no s1 in the second tile
    s2[0, :, :4] = float("nan")  # a few invalid s2 rows in the first
    packed = torch.cat([s2, s1.repeat_interleave(2, -1).repeat_interleave(2, -2)], dim=1)
    with torch.no_grad():
        got = predict(packed)
        x2 = torch.nan_to_num(
            (s2 - torch.tensor([6e4, 0.3]).view(1, -1, 1, 1))
            / torch.tensor([4e4, 0.1]).view(1, -1, 1, 1)
        )
        x1 = torch.nan_to_num((s1 + 40.0) / 20.0)
        direct = torch.softmax(
            model({"s2": x2, "s1": x1}, {"s2": torch.tensor([True, True]),
                                         "s1": torch.tensor([True, False])}), dim=1
        )  # fmt: skip
    assert got.shape == (2, 2, 32, 32) and torch.allclose(got, direct, atol=1e-6)


def test_group_pixel_sizes_must_divide_the_label_grid_and_tiles() -> None:
    with pytest.raises(ConfigError, match="no whole factor"):
        group_reads(
            {"s2": {"bands": S2, "gsd": 10.0}, "l8": {"bands": ["L8.B4"], "gsd": 15.0}},
            "s2",
            {},
        )


def test_run_predicts_a_scene_folder_with_a_fusion_bundle(tmp_path: Path) -> None:
    scene = tmp_path / "scene"
    scene.mkdir()
    _sources(scene, side=64)  # s2 and s1 of one footprint: one scene
    folder = _fusion_bundle(tmp_path)
    [result] = run(folder, scene, tmp_path / "out", products=Products(probabilities=True))
    assert result.grid.shape == (64, 64) and abs(result.grid.resolution.x) == 10
    with rasterio.open(result.paths["classes"]) as ds:
        assert ds.shape == (64, 64) and ds.transform == _at(10)
        assert set(np.unique(ds.read(1)).tolist()) <= {0, 1}


def test_a_group_the_scene_lacks_is_absent_from_every_tile(tmp_path: Path) -> None:
    sources = _sources(tmp_path, side=64)
    inputs = {"s2": {"bands": S2, "gsd": 10.0}, "s1": {"bands": S1, "gsd": 20.0}}
    reads = group_reads(inputs, "s2", {"s2": [sources["s2"]]})  # no s1 in this scene
    image, invalid = pack_groups(reads, make_grid((32, 32), _at(10), CRS))
    assert np.isnan(image[2]).all() and np.isfinite(image[:2]).all() and not invalid.any()
    with pytest.raises(ConfigError, match="no raster holds the bands of any input group"):
        group_reads(inputs, "s2", {})
