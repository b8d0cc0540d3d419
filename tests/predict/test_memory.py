"""The allocator settings: tensors reuse heap pages instead of being faulted in afresh,
in this process (CLI runs) and in the worker threads of eoforge's local Dask cluster."""

from __future__ import annotations

import ctypes.util
import os
import platform
import subprocess
import sys

import pytest

from eoforge.predict.executors import WORKER_ALLOCATOR, local_cluster

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or ctypes.util.find_library("c") is None,
    reason="glibc allocator settings",
)

# Tensors of 72 MB, allocated, written and freed in turn in the main thread (where
# `eoforge predict` runs the model): 5 to warm up (the first two or three are faulted
# in even when tuned: the heap grows while PyTorch's thread pool starts), then 15 whose
# minor page faults it prints.
_PROBE = """
import resource, sys
if sys.argv[1] == "tuned":
    from eoforge.predict.memory import tune_allocator
    assert tune_allocator()
import torch
def tensors(n):
    for _ in range(n):
        a = torch.empty(18_000_000)
        a.fill_(1.0)
        del a
def run():
    tensors(5)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tensors(15)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
run()
"""

PAGES = 18_000_000 * 4 // 4096  # pages of one 72 MB tensor


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1])


def test_tuned_allocator_reuses_pages_of_freed_tensors() -> None:
    default, tuned = _faults("default"), _faults("tuned")
    assert default > 12 * PAGES  # every tensor faulted in afresh
    assert tuned < 2 * PAGES  # the heap's pages reused


def _worker_probe() -> tuple[dict[str, str], bool, int]:
    import resource

    import dask.config
    import torch

    initial = open("/proc/self/environ", "rb").read().split(b"\0")  # noqa: SIM115
    env = dict(item.decode().split("=", 1) for item in initial if b"=" in item)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        a = torch.empty(18_000_000)
        a.fill_(1.0)
        del a
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return (
        {k: env.get(k, "") for k in WORKER_ALLOCATOR},
        bool(dask.config.get("distributed.worker.profile.enabled")),
        faults,
    )


def test_local_cluster_workers_start_with_the_allocator_settings() -> None:
    from distributed import Client

    with local_cluster(1) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        env, profiling, _ = client.submit(_worker_probe, pure=False).result()
        # the task ran in a worker thread: its tensors came from the reused heap
        _, _, faults = client.submit(_worker_probe, pure=False).result()
        workers = client.scheduler_info()["workers"]
    assert env == WORKER_ALLOCATOR
    assert not profiling
    assert faults < 2 * PAGES
    assert [w["nthreads"] for w in workers.values()] == [1]


def test_local_cluster_leaves_this_process_environment_as_it_was() -> None:
    before = dict(os.environ)
    with local_cluster(1):
        assert dict(os.environ) == before  # Dask's nanny set the workers' variables here
    assert not {k for k in os.environ if k.startswith("MALLOC_")} - set(before)
