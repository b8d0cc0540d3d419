"""The Ultralytics YOLO side of the detection benchmark: oriented YOLO, offline, on eoforge's chips.

* :func:`write_yolo_split`: the chips eoforge trains on (a prepared split cut by
  :class:`~eoforge.data.detection.DetectionChipDataset`: ``patch_size``,
  ``stride``, ``min_visible``, ``keep_empty`` as the recipe says) written as a
  YOLO-OBB dataset: ``images/<n>.png`` (RGB uint8) and ``labels/<n>.txt``, one
  line ``class_id x1 y1 x2 y2 x3 y3 x4 y4`` per object (corners of the chip's
  oriented box, fractions of the chip side, clipped to 0..1: Ultralytics refuses
  a whole label file with a corner beyond 1.01, while eoforge keeps a box that
  crosses the chip's edge whole). :func:`yolo_obb_line` writes one line; the
  reader is :func:`eoforge.datasets.layouts.objects.from_yolo_obb_line`.
* :func:`train_yolo`: ``YOLO(<model>.yaml).train(...)`` (random init, its own
  optimizer choice and augmentations) in a child process, timed (wall, CPU).
* :func:`yolo_predictions`: the trained model's detections on chips, as eoforge
  oriented boxes ``(cx, cy, w, h, angle)`` (Ultralytics' corners through
  :func:`eoforge.boxes.corners_to_oriented`), for
  :func:`eoforge.evaluate.detection_metrics.detection_scores`.
* :func:`yolo_tile_speed`: Ultralytics' own ``predict`` on tiles held in memory.

Offline: every Ultralytics process gets :func:`offline_env` (its settings folder
``YOLO_CONFIG_DIR`` in a temporary folder, ``YOLO_OFFLINE=1``: no online check,
hence no event upload and no hub; ``YOLO_AUTOINSTALL=false`` and
``ULTRALYTICS_SKIP_REQUIREMENTS_CHECKS=1``: no pip; HTTP(S) proxies pointing at a
closed local port, so any request fails at once) and :data:`SETTINGS` (no sync,
no logger integrations); training passes ``plots=False`` (no font download),
``amp=False`` (no AMP check, which downloads a model on GPUs) and
``project=`` a temporary folder.

Run alone (the child process of :func:`train_yolo`)::

    python benchmarks/peers_detect.py train DATA_YAML OUT_JSON --model yolo11n-obb.yaml \\
        --epochs 10 --batch 8 --imgsz 256 --project DIR
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from eoforge.boxes import corners_to_oriented, oriented_to_corners
from eoforge.data.detection import DetectionChipDataset

THREADS = 2
CLOSED_PORT = "http://127.0.0.1:9"
"""A proxy that refuses connections: any HTTP(S) request of the process fails at once."""

SETTINGS = {
    "sync": False,
    "clearml": False,
    "comet": False,
    "dvc": False,
    "mlflow": False,
    "raytune": False,
    "tensorboard": False,
    "wandb": False,
    "vscode_msg": False,
    "openvino_msg": False,
}
"""Ultralytics settings: no analytics, no logger integrations, no hints."""


def offline_env(config_dir: Path, threads: int = THREADS) -> dict[str, str]:
    """Environment variables that keep an Ultralytics process offline and in ``config_dir``."""
    return {
        "YOLO_CONFIG_DIR": str(config_dir),
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "false",
        "ULTRALYTICS_SKIP_REQUIREMENTS_CHECKS": "1",
        "http_proxy": CLOSED_PORT,
        "https_proxy": CLOSED_PORT,
        "HTTP_PROXY": CLOSED_PORT,
        "HTTPS_PROXY": CLOSED_PORT,
        "no_proxy": "",
        "NO_PROXY": "",
        "OMP_NUM_THREADS": str(threads),
    }


def yolo_obb_line(class_id: int, corners: Sequence[float], size: tuple[int, int]) -> str:
    """One YOLO-OBB label line: ``class_id`` and the corners as fractions of the image, clipped.

    Args:
        class_id: Index of the class.
        corners: ``(x1, y1, ..., x4, y4)`` pixels of the image.
        size: ``(width, height)`` of the image, pixels.

    Returns:
        ``"class_id x1 y1 ... y4"`` with coordinates in 0..1 (6 decimals).
    """
    width, height = size
    values = [
        min(max(float(v) / (width if i % 2 == 0 else height), 0.0), 1.0)
        for i, v in enumerate(corners)
    ]
    return " ".join([str(int(class_id)), *(f"{v:.6f}" for v in values)])


def write_yolo_split(chips: DetectionChipDataset, folder: Path) -> dict[str, int]:
    """Write the chips of an oriented dataset as a YOLO-OBB split (``images/``, ``labels/``).

    Args:
        chips: Oriented chips (``oriented=True``) of uint8 RGB images.
        folder: The split folder to fill.

    Returns:
        ``{"images": n, "objects": m, "clipped": k}``: ``k`` objects had a corner outside the chip.
    """
    if not chips.oriented:
        raise ValueError("write_yolo_split needs oriented chips (oriented=True)")
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    objects = clipped = 0
    for index, chip in enumerate(chips.chips):
        sample = chips[index]
        height, width = int(sample["size"][0]), int(sample["size"][1])
        pixels = sample["image"][:, :height, :width].numpy()
        Image.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0).astype(np.uint8))).save(
            folder / "images" / f"{index:05d}.png"
        )
        corners = oriented_to_corners(torch.as_tensor(chip.boxes, dtype=torch.float64))
        lines = []
        for label, ring in zip(chip.labels.tolist(), corners.reshape(-1, 8).tolist(), strict=True):
            xs, ys = ring[0::2], ring[1::2]
            clipped += min(xs) < 0 or min(ys) < 0 or max(xs) > width or max(ys) > height
            lines.append(yolo_obb_line(label, ring, (width, height)))
        (folder / "labels" / f"{index:05d}.txt").write_text("".join(f"{x}\n" for x in lines))
        objects += len(lines)
    return {"images": len(chips), "objects": objects, "clipped": clipped}


def write_data_yaml(path: Path, train: Path, val: Path, classes: Sequence[str]) -> Path:
    """Ultralytics' dataset file for two split folders (absolute paths)."""
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(classes))
    path.write_text(
        f"train: {train.resolve()}/images\nval: {val.resolve()}/images\nnames:\n{names}"
    )
    return path


def train_yolo(
    data_yaml: Path,
    project: Path,
    *,
    model: str,
    epochs: int,
    batch: int,
    imgsz: int,
    threads: int = THREADS,
) -> dict[str, Any]:
    """Train YOLO from its YAML in a child process (offline); time it.

    Returns:
        The child's JSON (``weights``, ``yolo_map50``, ``yolo_map50_95``, ``args``)
        plus ``wall_s`` and ``cpu_s`` (user + system of the child).
    """
    project = project.resolve()  # Ultralytics puts a relative project under its runs/<task>/
    out = project / "train.json"
    command = [
        sys.executable, __file__, "train", str(data_yaml), str(out), "--model", model,
        "--epochs", str(epochs), "--batch", str(batch), "--imgsz", str(imgsz),
        "--project", str(project), "--threads", str(threads),
    ]  # fmt: skip
    env = {**os.environ, **offline_env(project / "settings", threads)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"YOLO training failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result.update({"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)})
    return result


def load_yolo(weights: Path, config_dir: Path) -> Any:
    """The trained model, in this process, with the offline environment set first."""
    os.environ.update(offline_env(config_dir))
    # imported here: Ultralytics reads its environment (settings folder, offline) at import
    from ultralytics import YOLO

    return YOLO(str(weights), task="obb")


def yolo_training_threads() -> int:
    """Torch threads Ultralytics trains with on this machine's CPU.

    Its ``select_device`` calls ``torch.set_num_threads(NUM_THREADS)`` for CPU training,
    ``NUM_THREADS = min(8, max(1, cpu_count - 1))`` whatever the caller set: one thread
    on a 2-core machine. Call after :func:`load_yolo` (the offline environment is set).
    """
    # imported here: Ultralytics reads its environment (settings folder, offline) at import
    from ultralytics.utils import NUM_THREADS

    return int(NUM_THREADS)


def yolo_predictions(
    model: Any, images: Sequence[np.ndarray], *, imgsz: int, conf: float, max_det: int
) -> list[dict[str, np.ndarray]]:
    """Detections of ``images`` (``[H, W, 3]`` uint8 RGB) as eoforge oriented boxes.

    Returns:
        Per image ``boxes`` float32 ``[N, 5]`` ``(cx, cy, w, h, angle)`` pixels
        (eoforge's convention), ``scores`` float32 ``[N]`` and ``labels`` int64 ``[N]``.
    """
    found = []
    for image in images:
        # Ultralytics takes numpy images as BGR (OpenCV's order)
        result = model.predict(
            np.ascontiguousarray(image[..., ::-1]), imgsz=imgsz, conf=conf, max_det=max_det,
            device="cpu", verbose=False,
        )[0]  # fmt: skip
        corners = result.obb.xyxyxyxy.to(torch.float64).reshape(-1, 4, 2)
        found.append(
            {
                "boxes": corners_to_oriented(corners).numpy().astype(np.float32),
                "scores": result.obb.conf.numpy().astype(np.float32),
                "labels": result.obb.cls.numpy().astype(np.int64),
            }
        )
    return found


def yolo_tile_speed(
    model: Any, tiles: Sequence[np.ndarray], *, imgsz: int, batch: int
) -> dict[str, Any]:
    """Ultralytics' ``predict`` (letterbox, forward, rotated NMS) on ``[H, W, 3]`` BGR tiles.

    Returns:
        ``tile_mpix_per_s`` (tile pixels per second), ``seconds`` and ``boxes``.
    """
    model.predict(tiles[0], imgsz=imgsz, device="cpu", verbose=False)  # warm-up
    start = time.perf_counter()
    boxes = 0
    for i in range(0, len(tiles), batch):
        results = model.predict(
            list(tiles[i : i + batch]), imgsz=imgsz, batch=batch, device="cpu", verbose=False
        )
        boxes += sum(len(r.obb) for r in results)
    seconds = time.perf_counter() - start
    pixels = sum(t.shape[0] * t.shape[1] for t in tiles)
    return {
        "tile_mpix_per_s": round(pixels / 1e6 / seconds, 4),
        "seconds": round(seconds, 2),
        "boxes": boxes,
    }


def _train_main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    # imported here: the parent set YOLO_CONFIG_DIR and the offline switches for this process
    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS as YOLO_SETTINGS

    YOLO_SETTINGS.update(SETTINGS)
    model = YOLO(args.model, task="obb")
    options: Mapping[str, Any] = {
        "data": args.data,
        "epochs": args.epochs,
        "batch": args.batch,
        "imgsz": args.imgsz,
        "device": "cpu",
        "workers": 0,
        "project": str(args.project),
        "name": "train",
        "exist_ok": True,
        "pretrained": False,
        "amp": False,
        "plots": False,
        "seed": 0,
        "val": True,
        "verbose": False,
    }
    model.train(**options)
    trainer = model.trainer
    metrics = {k: float(v) for k, v in trainer.metrics.items()}
    result = {
        "weights": str(trainer.last),
        "yolo_map50": metrics.get("metrics/mAP50(B)"),
        "yolo_map50_95": metrics.get("metrics/mAP50-95(B)"),
        "args": {k: v for k, v in vars(trainer.args).items() if isinstance(v, int | float | str)},
        "optimizer": type(trainer.optimizer).__name__,
        "lr0_used": trainer.optimizer.param_groups[0].get("initial_lr"),
        "ultralytics": __import__("ultralytics").__version__,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command line of the child process (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("data")
    train.add_argument("out")
    train.add_argument("--model", default="yolo11n-obb.yaml")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--imgsz", type=int, default=256)
    train.add_argument("--project", type=Path, required=True)
    train.add_argument("--threads", type=int, default=THREADS)
    _train_main(parser.parse_args(argv))


if __name__ == "__main__":
    main()
