"""Every layer is a function of (seed, position): blocks are independent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from eoforge.synth import SynthOptions, generate_scene, parse_sensors, raster_stream
from eoforge.synth.render.sensor_noise import tiled_draw
from eoforge.synth.scene_setup import SceneSetup
from eoforge.synth.world import parcels
from eoforge.synth.world.landcover import design, ground
from eoforge.synth.world.noise import fbm, value_noise
from eoforge.synth.world.sampling import Window
from eoforge.synth.write.cogs import BlockWriter


def test_grid_noise_equals_point_noise_bit_for_bit() -> None:
    x = (np.arange(300) * 7.3 + 11.0)[None, :]
    y = (np.arange(200) * 9.1 - 50.0)[:, None]
    gx, gy = np.broadcast_arrays(x, y)
    np.testing.assert_array_equal(
        value_noise(x, y, 123.0, 5), value_noise(gx.copy(), gy.copy(), 123.0, 5)
    )
    np.testing.assert_array_equal(
        fbm(x, y, 800.0, 9)[50:120, 30:250], fbm(x[:, 30:250], y[50:120], 800.0, 9)
    )


def test_ground_of_a_sub_block_equals_the_block() -> None:
    layout = design(11, 5120.0, 5120.0, 10.0)
    x = ((np.arange(512) + 0.5) * 10.0)[None, :]
    y = ((np.arange(512) + 0.5) * 10.0)[:, None]
    whole = ground(layout, x, y, 2, 4)
    part = ground(layout, x[:, 100:300], y[250:400], 2, 4)
    np.testing.assert_array_equal(whole.cls[250:400, 100:300], part.cls)
    np.testing.assert_array_equal(whole.height[250:400, 100:300], part.height)
    points = ground(layout, x[0, [5, 260, 480]], y[[7, 130, 500], 0], 2, 4)
    np.testing.assert_array_equal(points.cls, whole.cls[[7, 130, 500], [5, 260, 480]])


def test_tiled_draws_do_not_depend_on_the_window() -> None:
    big = tiled_draw(1, "s", 0, (0, 0, 512, 768), 256)
    small = tiled_draw(1, "s", 0, (256, 512, 256, 256), 256)
    np.testing.assert_array_equal(big[256:512, 512:768], small)
    assert abs(float(big.mean())) < 0.02 and abs(float(big.std()) - 1) < 0.02


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.tif"))
    }


# Each scene is a few blocks with a ragged last row and column against one block: 400 px in
# 256 px blocks; coarse grids (S2's 20/60 m, L8's 30 m) floor blocks to 768 px, hence 800 px.
@pytest.mark.parametrize(
    ("sensors", "size", "blocks"), [("s1,dsm", 400, (256, 1024)), ("s2,l8", 800, (768, 1536))]
)
def test_block_size_does_not_change_a_byte(
    tmp_path: Path, sensors: str, size: int, blocks: tuple[int, int]
) -> None:
    options = SynthOptions(
        size=size, dates=2, sensors=parse_sensors(sensors), vectors=False, seed=2
    )
    small = generate_scene(tmp_path / "small", options, block=blocks[0])
    large = generate_scene(tmp_path / "large", options, block=blocks[1])
    assert _digest(small.root) == _digest(large.root)


def test_a_crash_leaves_no_file_under_a_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = raster_stream.render_block

    def failing(setup: SceneSetup, writer: BlockWriter, window: Window, factors: list[int]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        original(setup, writer, window, factors)

    monkeypatch.setattr(raster_stream, "render_block", failing)
    options = SynthOptions(size=512, dates=1, sensors=("s1", "dsm"), vectors=False, block=256)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_scene(tmp_path / "s", options)
    leftovers = [p for p in (tmp_path / "s").rglob("*") if p.is_file()]
    assert leftovers == []


def test_far_blocks_need_block_sized_field_tables() -> None:
    # Field columns grow with distance at a different rate per row; a block
    # 300 km from the origin must still look up only its own fields.
    layout = design(0, 400_000.0, 400_000.0, 10.0)
    x = (300_000.0 + (np.arange(1024) + 0.5) * 10.0)[None, :]
    y = (200_000.0 + (np.arange(1024) + 0.5) * 10.0)[:, None]
    cells = parcels.locate(layout, x, y)
    local = cells.local_col()
    assert local.min() >= -1
    assert local.max() <= 1.5 * 10_240 / layout.fields.min_length + 2
