"""Samplers under a real torch.distributed process group (gloo, 2 processes)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch.distributed as dist
import torch.multiprocessing as mp
from rasterio.transform import from_origin

from eoforge.data import GridGeoSampler, RandomGeoSampler, regions_from_sources
from eoforge.io.source import source_from_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, raster: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        regions = regions_from_sources([source_from_file(raster, bands=["S2.B02"])])
        random = RandomGeoSampler(regions, size=8, length=21, seed=5)  # rank from the group
        grid = GridGeoSampler(regions, size=16, overlap=4)
        record: dict[str, object] = {"rank": random.rank, "world": random.world_size}
        for epoch in (0, 1):
            random.set_epoch(epoch)
            record[f"random{epoch}"] = [list(w.grid.affine)[:6] for w in random]
        record["grid"] = [list(w.grid.affine)[:6] for w in grid]
        Path(out, f"rank{rank}.json").write_text(json.dumps(record))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(120)
def test_ranks_get_disjoint_equal_shards_of_the_same_epoch(tmp_path: Path) -> None:
    raster = tmp_path / "r.tif"
    with rasterio.open(
        raster,
        "w",
        driver="GTiff",
        width=64,
        height=48,
        count=1,
        dtype="uint16",
        crs="EPSG:32631",
        transform=from_origin(500000, 5600000, 10, 10),
    ) as dst:
        dst.write(np.ones((1, 48, 64), np.uint16))
    mp.spawn(_worker, args=(2, _free_port(), str(raster), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["rank"] for r in ranks] == [0, 1] and {r["world"] for r in ranks} == {2}
    single = RandomGeoSampler(
        regions_from_sources([source_from_file(raster, bands=["S2.B02"])]),
        size=8,
        length=21,
        seed=5,
        rank=0,
        world_size=1,
    )
    for epoch in (0, 1):
        a, b = ranks[0][f"random{epoch}"], ranks[1][f"random{epoch}"]
        assert len(a) == len(b) == 11  # ceil(21 / 2), padded by wrapping
        single.set_epoch(epoch)
        expected = [list(w.grid.affine)[:6] for w in single]
        interleaved = [w for pair in zip(a, b, strict=True) for w in pair]
        assert interleaved[:21] == expected  # together: the whole epoch, in order
    assert ranks[0]["random0"] != ranks[0]["random1"]  # set_epoch draws anew
    grid_all = ranks[0]["grid"] + ranks[1]["grid"]
    assert len(grid_all) == len({tuple(t) for t in grid_all})  # tiles not duplicated across ranks
