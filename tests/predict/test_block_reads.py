"""Window outputs read strips of window rows at once: every window holds what a read of its
own window holds, in the block's order, for one date or two; other plans read tile by tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tests.embeddings.windows import BANDS, CRS, T
from tests.helpers import write_tif

from eoforge.geo.grid import make_grid
from eoforge.io import source_from_file
from eoforge.predict import EmbeddingSpec, OutputSpec
from eoforge.predict.blocks import (
    STRIP,
    SceneJob,
    block_inputs,
    read_groups,
    read_tile,
    read_tiles,
)
from eoforge.predict.plan import BlockPlan
from eoforge.predict.work import WorkStore

HEIGHT, WIDTH = 1100, 40


def _scene(path: Path) -> Path:
    """A 3-band float32 scene with distinct values everywhere and a nodata patch."""
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 1, (3, HEIGHT, WIDTH)).astype(np.float32)
    data[:, 500:530, 5:20] = -1  # invalid pixels, inside windows of two strips' rows
    return write_tif(path, data, T, CRS, nodata=-1, descriptions=BANDS)


def _job(tmp_path: Path, *, stride: int | None, dates: int = 1) -> SceneJob:
    source = source_from_file(_scene(tmp_path / "scene.tif"))
    grid = make_grid((HEIGHT, WIDTH), T, CRS)
    plan = BlockPlan(grid, 16, 0, 2048, 1, stride)
    spec = EmbeddingSpec(dim=3) if stride is not None else OutputSpec("values", names=("v",))
    inputs = tuple((source,) for _ in range(dates))
    return SceneJob(inputs, tuple(BANDS), grid, plan, spec, 4, WorkStore(tmp_path / "work"))


def _same_as_own_reads(job: SceneJob) -> int:
    """Compare every block's strip-read inputs with reads of each window; count the windows."""
    count = 0
    for block in job.plan.blocks:
        got = list(block_inputs(job, block))
        assert [g.tile for g in got] == list(block.tiles)
        for item in got:
            own = read_tile(job, item.tile)
            np.testing.assert_array_equal(item.image, own.image)  # NaN where invalid, too
            np.testing.assert_array_equal(item.invalid, own.invalid)
            count += 1
    return count


def test_strips_of_window_rows_hold_what_each_window_reads(tmp_path: Path) -> None:
    job = _job(tmp_path, stride=8)
    (block,) = job.plan.blocks
    groups = read_groups(job, block)
    rows_per_group = [len({t.window[0] for t in g}) for g in groups]
    # 136 rows of windows (every 8 px of 1100 - 16), 64 rows (512 px) per strip, whole rows
    assert rows_per_group == [STRIP // 8, STRIP // 8, 136 - 2 * (STRIP // 8)]
    assert all(len(g) == 4 * n for g, n in zip(groups, rows_per_group, strict=True))
    assert [t for g in groups for t in g] == list(block.tiles)
    assert _same_as_own_reads(job) == 136 * 4
    invalid = [i for i in block_inputs(job, block) if i.invalid.any()]
    assert invalid and all(np.isnan(i.image[:, i.invalid]).all() for i in invalid)
    # the reader thread yields the same inputs over several blocks, in order
    ahead = list(read_tiles(job, job.plan.blocks, ahead=1))
    assert [a.tile for a in ahead] == list(block.tiles)
    np.testing.assert_array_equal(ahead[300].image, read_tile(job, block.tiles[300]).image)


def test_two_dates_are_cut_from_one_strip_each(tmp_path: Path) -> None:
    job = _job(tmp_path, stride=16, dates=2)
    first = next(block_inputs(job, job.plan.blocks[0]))
    assert first.image.shape == (2, 3, 16, 16)
    assert _same_as_own_reads(job) == 68 * 2


def test_tiles_of_other_plans_are_read_one_by_one(tmp_path: Path) -> None:
    job = _job(tmp_path, stride=None)
    (block,) = job.plan.blocks
    assert read_groups(job, block) == [(t,) for t in block.tiles]
