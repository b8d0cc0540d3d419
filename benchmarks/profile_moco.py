"""Where a MoCo-v2 training step spends its time: eoforge's PretrainTask vs TorchGeo's MoCoTask.

Both tasks are built as ``bench_ssl.py`` builds them (timm resnet18, 4 bands,
512-wide hidden layer, 128-wide projection, 4096-key queue, batch 32 of
64 x 64 px windows) and stepped by hand, stage by stage, on the same
standardised batch already in memory, alternating the two sides step by
step in one process. Stages (milliseconds per step, medians over steps):

* ``views``: eoforge's two ``grid_sample`` views; TorchGeo's two kornia pipelines.
* ``momentum``: the momentum update of the key encoder and its projection head.
* ``query_fwd``: encoder + projection head on the query view (autograd on).
* ``key_fwd``: the momentum encoder + head on the key view (no autograd).
* ``loss``: InfoNCE against the queue (TorchGeo's lightly ``NTXentLoss`` with
  its memory bank, which also enqueues).
* ``backward``: ``loss.backward()``.
* ``optim``: optimiser step and zeroing (eoforge fused AdamW; TorchGeo SGD).
* ``enqueue``: eoforge's queue push (TorchGeo's is inside ``loss``).
* ``extra``: TorchGeo's feature-std monitor (``.item()``); eoforge's loss metric.

With ``--pipeline``, both are also fitted on the benchmark's GeoTIFF as
``bench_ssl.py`` fits them (Lightning, one loader worker), alternating runs,
and each training step is split into ``data_wait`` (from the end of one step
to the start of the next: loading, collation, transfer, Lightning's
bookkeeping) and ``step`` (``training_step`` to the end of the step's hooks,
the optimiser included): medians over steady-state steps.

``eoforge_before`` is eoforge's step as it was before the MoCo step was reworked
(written out here), so one run shows before, after and TorchGeo side by side.
``--clock cpu`` times stages in process CPU time (with ``--threads 1``: the work
each stage does, robust to a machine shared with other jobs); ``wall`` as the
benchmark counts.

Run: ``python benchmarks/profile_moco.py [--steps N] [--threads N] [--clock wall|cpu]
[--pipeline] [--rounds N]``. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import Tensor

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling scripts of this folder, not modules of the package
from bench_ssl import (  # noqa: E402
    BATCH,
    HIDDEN,
    MEAN,
    PATCH,
    PROJECTION,
    QUEUE,
    STD,
    TEMPERATURE,
    THREADS,
    WARMUP,
    encoder_spec,
    eoforge_config,
    torchgeo_loader,
    torchgeo_task,
)
from bench_train import eo_train, make_geo, write_config  # noqa: E402
from eoforge.experiment import load_config  # noqa: E402
from eoforge.models import build_model  # noqa: E402
from eoforge.models.ssl import moco_loss  # noqa: E402
from eoforge.tasks.pretrain import PretrainTask, random_view  # noqa: E402

STAGES = ("views", "momentum", "query_fwd", "key_fwd", "loss", "backward", "optim", "enqueue")


class Stopwatch:
    """Milliseconds of named stages, one list per stage.

    Args:
        clock: ``wall`` (``perf_counter``) or ``cpu`` (the process's CPU time, all
            threads: on a shared machine, the work done rather than the turns waited).
    """

    def __init__(self, clock: str = "wall") -> None:
        self.clock = time.process_time if clock == "cpu" else time.perf_counter
        self.ms: dict[str, list[float]] = {}
        self._t = self.clock()

    def start(self) -> None:
        """Start the first stage's clock."""
        self._t = self.clock()

    def lap(self, name: str) -> None:
        """Close stage ``name`` (time since the previous lap) and start the next."""
        now = self.clock()
        self.ms.setdefault(name, []).append(1000 * (now - self._t))
        self._t = now

    def medians(self, warmup: int) -> dict[str, float]:
        """Median ms per stage over the steps after ``warmup``, and their sum as ``total``."""
        out = {k: round(statistics.median(v[warmup:]), 2) for k, v in self.ms.items()}
        out["total"] = round(sum(out.values()), 2)
        return out


def eoforge_task(before: bool = False) -> tuple[PretrainTask, torch.optim.Optimizer]:
    """eoforge's MoCo-v2 task as ``bench_ssl`` configures it, and its fused AdamW.

    Args:
        before: Keep the convolution kernels in the plain layout, as before the
            MoCo step was reworked (for :func:`eoforge_step_before`).
    """
    torch.manual_seed(0)
    task = PretrainTask(
        build_model(encoder_spec()),
        method="moco",
        temperature=TEMPERATURE["moco"],
        projection_dim=PROJECTION,
        hidden_dim=HIDDEN,
        queue_size=QUEUE,
        momentum=0.99,
        lr=0.001,
        weight_decay=0.0001,
        optimizer="adamw",
    ).train()
    if before:
        task.to(memory_format=torch.contiguous_format)
    params = [p for p in task.parameters() if p.requires_grad]
    if before:  # fused AdamW as torch gives it
        return task, torch.optim.AdamW(params, lr=0.001, weight_decay=0.0001, fused=True)
    config = task.configure_optimizers()
    return task, config["optimizer"] if isinstance(config, dict) else config


def eoforge_step(task: PretrainTask, opt: torch.optim.Optimizer, x: Tensor, w: Stopwatch) -> None:
    """One MoCo step of ``task`` on standardised ``x``, the stages of ``_moco`` timed."""
    assert task.queue is not None
    w.start()
    layout = task.channels_last
    a = random_view(x, task.views, channels_last=layout)
    b = random_view(x, task.views, channels_last=layout)
    w.lap("views")
    task.update_momentum()
    w.lap("momentum")
    query = task._project(a)
    w.lap("query_fwd")
    key = task.keys(b)
    w.lap("key_fwd")
    loss = moco_loss(query, key, task.queue.keys, task.temperature)
    w.lap("loss")
    loss.backward()  # type: ignore[no-untyped-call]
    w.lap("backward")
    opt.step()
    opt.zero_grad(set_to_none=True)
    w.lap("optim")
    task.queue.push(key)
    w.lap("enqueue")
    task._loss_mean("train").update(loss.detach(), weight=x.shape[0])
    w.lap("extra")


@torch.no_grad()
def _momentum_before(online: torch.nn.Module, target: torch.nn.Module, m: float) -> None:
    mine, theirs = list(target.parameters()), [p.detach() for p in online.parameters()]
    torch._foreach_mul_(mine, m)
    torch._foreach_add_(mine, theirs, alpha=1.0 - m)
    for buffer, source in zip(target.buffers(), online.buffers(), strict=True):
        buffer.copy_(source)


@torch.no_grad()
def _push_before(queue: Any, keys: Tensor) -> None:
    keys = F.normalize(keys.detach(), dim=1)
    start = int(queue.pointer)
    rows = (torch.arange(keys.shape[0]) + start) % queue.keys.shape[0]
    queue.keys[rows] = keys
    queue.pointer.fill_((start + keys.shape[0]) % queue.keys.shape[0])


def eoforge_step_before(
    task: PretrainTask, opt: torch.optim.Optimizer, x: Tensor, w: Stopwatch
) -> None:
    """eoforge's MoCo step as it was before this rework (plain-layout kernels, two-pass
    momentum update and a buffer loop, no_grad keys, views copied to channels-last in
    the encoder call, queue pointer read by the host), stages timed."""
    assert task.queue is not None and task.projector is not None
    assert task.momentum_encoder is not None and task.momentum_projector is not None
    w.start()
    a, b = random_view(x, task.views), random_view(x, task.views)
    w.lap("views")
    _momentum_before(task.model, task.momentum_encoder, task.momentum)
    _momentum_before(task.projector, task.momentum_projector, task.momentum)
    w.lap("momentum")
    query = task.projector(task.model(a.contiguous(memory_format=torch.channels_last)))
    w.lap("query_fwd")
    with torch.no_grad():
        cl = b.contiguous(memory_format=torch.channels_last)
        key = task.momentum_projector(task.momentum_encoder(cl))
    w.lap("key_fwd")
    q, k = F.normalize(query, dim=1), F.normalize(key, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ task.queue.keys.T], 1) / task.temperature
    loss = F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))
    w.lap("loss")
    loss.backward()  # type: ignore[no-untyped-call]
    w.lap("backward")
    opt.step()
    opt.zero_grad(set_to_none=True)
    w.lap("optim")
    _push_before(task.queue, key)
    w.lap("enqueue")
    task._loss_mean("train").update(loss.detach(), weight=x.shape[0])
    w.lap("extra")


def torchgeo_step(task: Any, opt: torch.optim.Optimizer, x: Tensor, w: Stopwatch) -> None:
    """One MoCoTask (v2) training step on standardised ``x``, as its ``training_step`` runs."""
    from lightly.models.utils import update_momentum

    w.start()
    with torch.no_grad():
        x1, x2 = task.augmentation1(x), task.augmentation2(x)
    w.lap("views")
    m = task.hparams["moco_momentum"]
    with torch.no_grad():
        update_momentum(task.backbone, task.backbone_momentum, m)
        update_momentum(task.projection_head, task.projection_head_momentum, m)
    w.lap("momentum")
    q, h1 = task.forward(x1)
    w.lap("query_fwd")
    with torch.no_grad():
        k = task.forward_momentum(x2)
    w.lap("key_fwd")
    loss = task.criterion(q, k)
    w.lap("loss")
    loss.backward()
    w.lap("backward")
    opt.step()
    opt.zero_grad(set_to_none=True)
    w.lap("optim")
    w.lap("enqueue")
    output = F.normalize(h1.detach(), dim=1)
    std = torch.mean(torch.std(output, dim=0), dim=0)
    task.avg_output_std = 0.9 * task.avg_output_std + 0.1 * std.item()
    w.lap("extra")


SIDES = ("eoforge", "eoforge_before", "torchgeo")


def profile(steps: int, clock: str, threads: int, warmup: int = 3) -> dict[str, Any]:
    """Per-stage medians (ms per step) of the three sides, rotating step by step."""
    torch.set_num_threads(threads)
    eo, eo_opt = eoforge_task()
    old, old_opt = eoforge_task(before=True)
    torch.manual_seed(0)
    tg = torchgeo_task("moco")
    tg.configure_models()  # done by Lightning's fit otherwise
    tg.configure_losses()
    tg.train()
    tg_opt = tg.configure_optimizers()["optimizer"]
    gen = torch.Generator().manual_seed(0)
    raw = 1750 + 800 * torch.randn(BATCH, 4, PATCH, PATCH, generator=gen)
    normalize_mean = torch.tensor(MEAN).view(1, -1, 1, 1)
    x = (raw - normalize_mean) / torch.tensor(STD).view(1, -1, 1, 1)
    watches = {who: Stopwatch(clock) for who in SIDES}
    steppers: dict[str, Callable[[Stopwatch], None]] = {
        "eoforge": lambda w: eoforge_step(eo, eo_opt, x, w),
        "eoforge_before": lambda w: eoforge_step_before(old, old_opt, x, w),
        "torchgeo": lambda w: torchgeo_step(tg, tg_opt, x, w),
    }
    for i in range(steps + warmup):
        for who in SIDES[i % 3 :] + SIDES[: i % 3]:
            steppers[who](watches[who])
    out: dict[str, Any] = {"clock": clock, "threads": threads}
    out.update({w: s.medians(warmup) for w, s in watches.items()})
    out["torchgeo_over_eoforge"] = round(out["torchgeo"]["total"] / out["eoforge"]["total"], 3)
    out["torchgeo_over_eoforge_before"] = round(
        out["torchgeo"]["total"] / out["eoforge_before"]["total"], 3
    )
    return out


class StepSplit(Callback):
    """Times of each training step's start and end (seconds, ``perf_counter``)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def on_train_batch_start(self, trainer: L.Trainer, module: Any, batch: Any, i: int) -> None:
        """Record the start of a step (its batch loaded and transferred)."""
        self.starts.append(time.perf_counter())

    def on_train_batch_end(
        self, trainer: L.Trainer, module: Any, outputs: Any, batch: Any, i: int
    ) -> None:
        """Record the end of a step."""
        self.ends.append(time.perf_counter())

    def medians(self, warmup: int) -> dict[str, float]:
        """Median ms of ``data_wait`` and ``step`` after ``warmup`` steps, and their sum."""
        wait = [1000 * (s - e) for s, e in zip(self.starts[1:], self.ends[:-1], strict=False)]
        step = [1000 * (e - s) for s, e in zip(self.starts, self.ends, strict=True)]
        out = {
            "data_wait": round(statistics.median(wait[warmup:]), 2),
            "step": round(statistics.median(step[warmup:]), 2),
        }
        out["total"] = round(out["data_wait"] + out["step"], 2)
        out["images_per_s"] = round(1000 * BATCH / out["total"], 2)
        return out


def fit_eoforge(config: Path, split: StepSplit) -> None:
    """``eoforge.experiment.train`` on ``config`` with ``split`` among its callbacks."""
    original = eo_train.callbacks

    def with_split(*args: Any, **kwargs: Any) -> list[Callback]:
        return [*original(*args, **kwargs), split]

    setattr(eo_train, "callbacks", with_split)  # noqa: B010 (patched for this run only)
    try:
        eo_train.train(load_config(config, []), progress=False)
    finally:
        setattr(eo_train, "callbacks", original)  # noqa: B010


def fit_torchgeo(image: Path, samples: int, split: StepSplit) -> None:
    """TorchGeo's MoCoTask fitted as ``bench_ssl`` fits it, ``split`` timing its steps."""
    L.seed_everything(0, verbose=False)
    L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        callbacks=[split],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    ).fit(torchgeo_task("moco"), train_dataloaders=torchgeo_loader(image, samples))


def pipeline(data: Path, work: Path, steps: int, rounds: int) -> dict[str, Any]:
    """``data_wait`` / ``step`` medians of both sides' real fits, runs alternating."""
    import logging
    import tempfile

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    torch.set_num_threads(THREADS)
    image, _ = make_geo(data / "geo", 2048)
    image = image.resolve()
    samples = steps * BATCH
    found: dict[str, list[dict[str, float]]] = {"eoforge": [], "torchgeo": []}
    with tempfile.TemporaryDirectory(prefix="profile_moco_", dir=work) as tmp:
        for r in range(rounds):
            order = ["eoforge", "torchgeo"] if r % 2 == 0 else ["torchgeo", "eoforge"]
            for who in order:
                split = StepSplit()
                if who == "eoforge":
                    raw = eoforge_config(
                        image, Path(tmp) / f"run{r}", "moco", "timm_encoder", samples
                    )
                    fit_eoforge(write_config(raw, Path(tmp) / f"moco{r}.yaml"), split)
                else:
                    fit_torchgeo(image, samples, split)
                found[who].append(split.medians(WARMUP))
    out: dict[str, Any] = {
        who: {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}
        for who, runs in found.items()
    }
    out["rounds"] = found
    out["ratio_images_per_s"] = round(
        out["eoforge"]["images_per_s"] / out["torchgeo"]["images_per_s"], 3
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads (stages)")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="stage clock (cpu: work done)"
    )
    parser.add_argument("--pipeline", action="store_true", help="also time the real fits")
    parser.add_argument("--rounds", type=int, default=2, help="alternating fits (--pipeline)")
    parser.add_argument("--data", type=Path, default=Path("benchmarks/.data/ssl"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    result = profile(args.steps, args.clock, args.threads)
    if args.pipeline:
        work = Path("benchmarks/.data")
        work.mkdir(parents=True, exist_ok=True)
        result["pipeline"] = pipeline(args.data, work, args.steps, args.rounds)
        for who in ("eoforge", "torchgeo"):
            print(f"pipeline {who}: {result['pipeline'][who]}", file=sys.stderr)
    names = [*STAGES, "extra", "total"]
    print(f"{'stage':<10}" + "".join(f"{w:>16}" for w in SIDES) + "  (ms/step)", file=sys.stderr)
    for name in names:
        print(f"{name:<10}" + "".join(f"{result[w][name]:16.2f}" for w in SIDES), file=sys.stderr)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
