"""Where blocks run: in this process (I/O overlapped with the model) or on a Dask cluster.

Both executors run the same block functions (:mod:`.blocks`) and record the
same journal, so their outputs are identical and either can resume the other.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from eoforge.errors import ConfigError
from eoforge.io.gdal_env import streaming_block_cache
from eoforge.predict.blocks import (
    SceneJob,
    block_inputs,
    compute_block,
    input_pixels,
    read_tiles,
)
from eoforge.predict.bundle import BundleModel
from eoforge.predict.cog_tiles import parallel_encoding
from eoforge.predict.cores import CoreShare, decodes_locally
from eoforge.predict.plan import Block
from eoforge.predict.types import Predictor, Progress
from eoforge.predict.work import Journal

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

Model = Predictor | BundleModel
"""A predictor function, or a picklable bundle recipe that workers build once."""


def _predictor(model: Model) -> Predictor:
    return model.build() if isinstance(model, BundleModel) else model


def dependencies(job: SceneJob) -> dict[str, list[Block]]:
    """Block name → blocks to be stored before it can be finalised (its output kind says)."""
    return {b.name: job.kind.dependencies(job.plan, b) for b in job.plan.blocks}


def run_local(job: SceneJob, model: Model, journal: Journal, progress: Progress | None) -> None:
    """Run every unfinished block in this process, in row-major order.

    A reader thread decodes the next tiles while the model runs, and a writer
    thread stores and finalises the previous blocks, so the model does not wait
    on I/O. A block is finalised as soon as every block it depends on is stored.
    """
    predictor = _predictor(model)
    done = journal.done()
    blocks = job.plan.blocks
    deps = dependencies(job)
    users: dict[str, list[Block]] = {b.name: [] for b in blocks}
    for b in blocks:
        for d in deps[b.name]:
            users[d.name].append(b)
    to_compute = [b for b in blocks if f"computed {b.name}" not in done]
    stored = {b.name for b in blocks if f"computed {b.name}" in done}
    finals = {b.name for b in blocks if f"final {b.name}" in done}
    submitted = set(finals)
    total = input_pixels(job, blocks)
    finished = [total - input_pixels(job, to_compute)]
    # decoding local files takes a core: the model runs on one thread fewer meanwhile
    cores = CoreShare(enabled=decodes_locally(job.inputs))
    reader = read_tiles(job, to_compute, cores=cores)

    def tick(pixels: int) -> None:
        cores.batch_done()
        cores.pace()  # for the next batch
        finished[0] += pixels
        if progress is not None:
            progress(finished[0], total)

    def store(block: Block, state: object) -> None:
        job.kind.store(job.work, job.plan, block, state)
        journal.add(f"computed {block.name}")

    def final(block: Block) -> None:
        job.kind.finalize(job.work, job.plan, block)
        journal.add(f"final {block.name}")
        finals.add(block.name)
        for d in deps[block.name]:
            if all(u.name in finals for u in users[d.name]):
                job.kind.release(job.work, d)

    def ready() -> list[Block]:
        return [
            b
            for b in blocks
            if b.name not in submitted and all(d.name in stored for d in deps[b.name])
        ]

    if progress is not None:
        progress(finished[0], total)
    futures: list[Future[None]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="eoforge-write") as writer:
        try:
            for block in [None, *to_compute]:
                if block is not None:
                    tiles = itertools.islice(reader, len(block.tiles))
                    cores.pace()
                    state = compute_block(job, predictor, block, tiles, tick)
                    _wait_until(futures, MAX_PENDING_WRITES - 1)
                    futures.append(writer.submit(store, block, state))
                    stored.add(block.name)  # the writer runs its tasks in order
                for b in ready():
                    submitted.add(b.name)
                    futures.append(writer.submit(final, b))
                _wait_until(futures, 2 * MAX_PENDING_WRITES)
        finally:
            reader.close()
            cores.close()
        with parallel_encoding(torch.get_num_threads()):  # the model is done: its cores encode
            for f in futures:
                f.result()


MAX_PENDING_WRITES = 1
"""Blocks the model may run ahead of the writer: bounds memory when writing is the slower side."""


def _wait_until(futures: list[Future[None]], pending: int) -> None:
    """Drop finished futures (raising their errors); block until at most ``pending`` remain."""
    while True:
        for f in [f for f in futures if f.done()]:
            f.result()
            futures.remove(f)
        if len(futures) <= pending:
            return
        futures[0].result()


@dataclass(frozen=True)
class DaskOptions:
    """Where to run: an existing scheduler address, or a local cluster of ``workers``.

    Attributes:
        scheduler: ``tcp://host:port`` of a running scheduler (the output folder
            must then be on storage every worker sees; start its workers with
            :data:`WORKER_ALLOCATOR` in their environment for full speed on CPUs).
        workers: Processes of a local cluster (one thread each) when no scheduler is given.
        connect_timeout: Seconds to wait for ``scheduler`` to answer (None: Dask's
            ``distributed.comm.timeouts.connect``, 30 s unless configured).
    """

    scheduler: str | None = None
    workers: int = 2
    connect_timeout: float | None = None


def _dask_compute(job: SceneJob, model: Model, block: Block) -> str:
    # the optional `dask` extra: imported only when Dask runs
    from distributed import get_worker

    threads = max(1, get_worker().state.nthreads)
    torch.set_num_threads(threads)
    # Parallelism comes from the workers: a read-ahead thread per task would only
    # compete with the other workers for the same cores.
    tiles = block_inputs(job, block)
    with streaming_block_cache():  # a worker process's own GDAL cache, as in predict_scene
        state = compute_block(job, _predictor(model), block, tiles)
    job.kind.store(job.work, job.plan, block, state)
    job.work.journal.add(f"computed {block.name}")
    return block.name


def _dask_finalize(job: SceneJob, block: Block, *after: str) -> str:
    job.kind.finalize(job.work, job.plan, block)
    job.work.journal.add(f"final {block.name}")
    return block.name


WORKER_ALLOCATOR = {
    "MALLOC_ARENA_MAX": "1",
    "MALLOC_MMAP_MAX_": "0",
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
}
"""glibc settings for worker processes, read when a process starts.

A task runs in a worker thread, whose own malloc arena would serve every tensor
over 64 MB with a fresh ``mmap`` (faulted in and zeroed by the kernel on each
forward pass, ~40 % of a U-Net's time on the CPU); one arena without mmap reuses
the heap. Set them in the environment of the workers of a cluster of your own:
tasks leave the allocator of workers they did not start as it is.
"""


def local_cluster(workers: int) -> LocalCluster:
    """A local cluster of ``workers`` single-thread processes set up for inference.

    Worker processes start with :data:`WORKER_ALLOCATOR` (variables already in the
    environment win), the statistical profiler off, slower event-loop ticks and no
    dashboard. Dask's nanny sets a worker's variables in this process's environment
    before spawning it; they are taken out again once the workers run, so processes
    this one starts later keep the environment it had.

    Args:
        workers: Worker processes (one thread each).

    Returns:
        The started cluster; close it (or use it as a context manager) when done.
    """
    # the optional `dask` extra: imported only when Dask runs
    import dask.config
    from distributed import LocalCluster

    settings: dict[str, object] = {
        f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ALLOCATOR.items()
    }
    # Fewer wake-ups of the event loops: the statistical profiler samples every
    # worker's stack 100 times a second and each process checks its loop 50 times
    # a second, preempting the model on every core.
    settings |= {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "500ms",
        "distributed.admin.system-monitor.interval": "2s",
        "distributed.worker.memory.monitor-interval": "500ms",
    }
    before = dict(os.environ)
    try:
        with dask.config.set(settings):
            return LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
    finally:
        for key in set(os.environ) - set(before):
            del os.environ[key]
        os.environ.update(before)


def run_dask(
    job: SceneJob,
    model: Model,
    journal: Journal,
    progress: Progress | None,
    options: DaskOptions,
    client: Client | None = None,
) -> None:
    """Run every unfinished block as Dask tasks: compute all, then finalise each.

    Each finalise task waits for the compute tasks of the blocks that reach into
    its block. Workers build the model once per process from a :class:`BundleModel`.
    """
    # the optional `dask` extra: imported only when Dask runs
    from distributed import Client

    owned: list[Any] = []
    if client is None:
        if options.scheduler:
            client = _connect(options.scheduler, options.connect_timeout)
        else:
            cluster = local_cluster(options.workers)
            owned.append(cluster)
            client = Client(cluster)  # type: ignore[no-untyped-call]
        owned.insert(0, client)
    try:
        _submit_all(client, job, model, journal, progress)
    finally:
        for item in owned:
            item.close()


def _connect(address: str, timeout: float | None) -> Client:
    # the optional `dask` extra: imported only when Dask runs
    from distributed import Client

    kwargs = {} if timeout is None else {"timeout": timeout}
    try:
        return Client(address, **kwargs)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address!r} ({exc}).",
            fix="check the address and port (`dask scheduler` prints them), that this machine"
            " may connect there, or use --workers N for a local cluster.",
        ) from exc


def _submit_all(
    client: Client,
    job: SceneJob,
    model: Model,
    journal: Journal,
    progress: Progress | None,
) -> None:
    # the optional `dask` extra: imported only when Dask runs
    from distributed import as_completed

    done = journal.done()
    blocks = job.plan.blocks
    deps = dependencies(job)
    pixels = {b.name: input_pixels(job, [b]) for b in blocks}
    total = sum(pixels.values())
    finished = sum(pixels[b.name] for b in blocks if f"computed {b.name}" in done)
    computes = {
        b.name: client.submit(_dask_compute, job, model, b, pure=False)
        for b in blocks
        if f"computed {b.name}" not in done
    }
    finals = [
        client.submit(
            _dask_finalize,
            job,
            b,
            *[computes[d.name] for d in deps[b.name] if d.name in computes],
            pure=False,
        )
        for b in blocks
        if f"final {b.name}" not in done
    ]
    if progress is not None:
        progress(finished, total)
    for future in as_completed(list(computes.values())):  # type: ignore[no-untyped-call]
        finished += pixels[future.result()]
        if progress is not None:
            progress(finished, total)
    for future in finals:
        future.result()
