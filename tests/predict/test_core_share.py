"""The model runs on one thread fewer while the reader thread decodes local files, on all
of them otherwise, and the caller's thread count is given back after a run."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tests.embeddings.windows import BANDS, CRS, T, embedding_bundle, write_scene

from eoforge.embeddings import embed
from eoforge.geo.grid import make_grid
from eoforge.io import source_from_file
from eoforge.predict import EmbeddingSpec
from eoforge.predict.blocks import SceneJob, read_tiles
from eoforge.predict.cores import CoreShare, decodes_locally
from eoforge.predict.plan import BlockPlan
from eoforge.predict.work import WorkStore


def test_one_thread_fewer_while_a_read_runs() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        cores = CoreShare()
        assert cores.threads == 3 and cores.pace() == 3
        _timed(cores, read_s=0.02, batch_s=0.02, n=1)  # reads as long as batches
        release = threading.Event()
        with ThreadPoolExecutor(1) as pool:
            read = pool.submit(release.wait, 10)
            cores.track(read)
            assert cores.busy and cores.pace() == 2 and torch.get_num_threads() == 2
            release.set()
            read.result()
        assert not cores.busy and cores.pace() == 3 and torch.get_num_threads() == 3
        done: Future[None] = Future()
        done.set_result(None)
        cores.track(done)  # already done: counted and uncounted at once
        assert not cores.busy
        cores.track(pending := Future())
        cores.pace()
        cores.close()
        assert torch.get_num_threads() == 3
        pending.set_result(None)
        # one thread, or switched off: the count is never touched
        torch.set_num_threads(1)
        one = CoreShare()
        one.track(waiting := Future())
        assert one.pace() == 1
        off = CoreShare(4, enabled=False)
        off.track(waiting)
        assert off.pace() == 1 and torch.get_num_threads() == 1
        waiting.set_result(None)
    finally:
        torch.set_num_threads(before)


def _timed(cores: CoreShare, read_s: float, batch_s: float, n: int = 3) -> None:
    """``n`` reads of ``read_s`` seconds each, then ``n`` batch marks ``batch_s`` apart."""
    with ThreadPoolExecutor(1) as pool:
        for _ in range(n):
            read = pool.submit(time.sleep, read_s)
            cores.track(read)
            read.result()
    for _ in range(n + 1):
        cores.batch_done()
        time.sleep(batch_s)


def test_reads_much_shorter_than_a_batch_keep_every_thread() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        short = CoreShare()
        assert not short.worth_it  # nothing timed yet: every thread to the model
        _timed(short, read_s=0.001, batch_s=0.05)
        assert not short.worth_it
        short.track(pending := Future())
        assert short.busy and short.pace() == 2  # a read runs, but it is not worth a core
        pending.set_result(None)
        long = CoreShare(min_share=0.25)
        _timed(long, read_s=0.05, batch_s=0.05)
        assert long.worth_it
        long.track(waiting := Future())
        assert long.pace() == 1
        waiting.set_result(None)
        long.close()
    finally:
        torch.set_num_threads(before)


def test_the_first_batch_keeps_every_thread_and_long_reads_share_after_it() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cores = CoreShare()
        assert cores.pace() == 2  # the run paces just before its first batch starts
        with ThreadPoolExecutor(1) as pool:
            cores.track(read := pool.submit(time.sleep, 0.05))
            assert cores.busy and cores.pace() == 2  # nothing timed yet: no sharing
            read.result()
            time.sleep(0.05)  # the first batch
            cores.batch_done()
            cores.track(pending := pool.submit(time.sleep, 0.2))
            assert cores.busy and cores.worth_it and cores.pace() == 1  # a read ~ a batch
            pending.result()
            assert cores.pace() == 2
        cores.close()
    finally:
        torch.set_num_threads(before)


def test_the_reader_marks_its_reads_and_local_files_decode_here(tmp_path: Path) -> None:
    path = write_scene(tmp_path / "scene.tif")
    source = source_from_file(path)
    assert decodes_locally(((source,),))
    far = "/vsicurl/https://example.org/scene.tif"
    assets = {k: dataclasses.replace(a, path=far) for k, a in source.assets.items()}
    assert not decodes_locally(((dataclasses.replace(source, assets=assets),),))
    grid = make_grid((64, 96), T, CRS)
    plan = BlockPlan(grid, 16, 0, 2048, 1, 16)
    job = SceneJob(
        ((source,),), tuple(BANDS), grid, plan, EmbeddingSpec(dim=3), 4, WorkStore(tmp_path / "w")
    )

    class Watch(CoreShare):
        reads = 0

        def track(self, read: Future[Any]) -> None:
            super().track(read)
            Watch.reads += 1
            assert self.busy or read.done()

    items = list(read_tiles(job, plan.blocks, cores=Watch(2)))
    assert len(items) == 4 * 6 and Watch.reads == 1  # one strip of 4 window rows
    assert np.isfinite(items[0].image).all()


def test_a_run_gives_back_the_callers_threads(tmp_path: Path) -> None:
    bundle = embedding_bundle(tmp_path / "bundle")
    scene = write_scene(tmp_path / "in" / "scene.tif")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        embed(bundle, scene, tmp_path / "out", batch=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
