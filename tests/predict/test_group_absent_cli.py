"""``eoforge predict`` with a bundle trained on input groups, on a scene lacking one group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from tests.helpers import run_cli, write_tif
from tests.models.fusion_specs import two_group_spec

from eoforge.classes import ClassInfo
from eoforge.models import Bundle, Normalization, build_model, save_bundle
from eoforge.predict.runner import run

S2 = ["S2.B04", "S2.B08"]
S1 = ["S1.VV"]


def _bundle(folder: Path) -> Path:
    spec = two_group_spec(S2, S1, 2, reference="s2")
    torch.manual_seed(0)
    info = Bundle(
        task="segmentation",
        model=spec,
        bands=[*S2, *S1],
        normalization=Normalization(mean=[0.1, 0.3, -15.0], std=[0.1, 0.1, 5.0]),
        gsd=10.0,
        patch_size=32,
        classes=[
            ClassInfo(id=0, name="a", color="#000000"),
            ClassInfo(id=1, name="b", color="#ffffff"),
        ],
    )
    return save_bundle(folder, build_model(spec).eval(), info)


def _s2_scene(folder: Path) -> Path:
    """A 64 px folder holding the S2 group's bands only (no S1 raster)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    data = rng.uniform(0.05, 0.4, (2, 64, 64)).astype(np.float32)
    write_tif(
        folder / "s2.tif",
        data,
        Affine(10, 0, 600_000, 0, -10, 5_700_000),
        "EPSG:32631",
        descriptions=S2,
    )
    return folder


def test_a_scene_without_a_group_is_predicted_and_the_group_named(tmp_path: Path) -> None:
    bundle, scene = _bundle(tmp_path / "bundle"), _s2_scene(tmp_path / "scene")
    [result] = run(bundle, scene, tmp_path / "out")
    assert result.absent_groups == ("s1",)
    with rasterio.open(result.paths["classes"]) as ds:
        classes = ds.read(1)
    assert classes.shape == (64, 64) and set(np.unique(classes)) <= {0, 1}  # every pixel


@pytest.mark.slow
def test_the_command_line_says_the_prediction_is_degraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, scene = _bundle(tmp_path / "bundle"), _s2_scene(tmp_path / "scene")
    code = run_cli(["predict", str(bundle), str(scene), "--out", str(tmp_path / "o")], monkeypatch)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "degraded: input group(s) s1 absent from the scene" in printed
    assert list((tmp_path / "o").glob("*_classes.tif"))
