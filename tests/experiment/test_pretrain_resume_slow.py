"""A MoCo pretraining run killed mid-epoch (SIGKILL) resumes to the uninterrupted run's state.

``pytest -m slow``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tests.experiment.helpers import write_config
from tests.experiment.test_pretrain_geo import pretrain_config

from eoforge.experiment import load_config, train

EOFORGE = Path(sys.executable).with_name("eoforge")


def _config(scene: Path, out: Path, tmp_path: Path) -> Path:
    raw = pretrain_config(scene, out, "moco")
    raw["data"]["samples_per_epoch"] = 32  # 4 steps of 8 per epoch
    raw["trainer"]["checkpoint_every_n_steps"] = 3
    return write_config(tmp_path / f"{out.name}.yaml", raw)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_killed_pretraining_resumes_to_the_uninterrupted_state(
    tiny_scene: Path, tmp_path: Path
) -> None:
    killed = _config(tiny_scene, tmp_path / "killed", tmp_path)
    checkpoint = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    process = subprocess.Popen(
        [str(EOFORGE), "train", str(killed), "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while not checkpoint.is_file():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert saved["global_step"] == 3  # batch 3 of 4 of the first epoch
    resumed = train(load_config(killed), resume=True, progress=False)
    straight = train(
        load_config(_config(tiny_scene, tmp_path / "straight", tmp_path)), progress=False
    )
    a = torch.load(straight.checkpoint, map_location="cpu", weights_only=True)  # type: ignore[arg-type]
    b = torch.load(resumed.checkpoint, map_location="cpu", weights_only=True)  # type: ignore[arg-type]
    assert a["global_step"] == b["global_step"] == 8
    for name, tensor in a["state_dict"].items():  # encoder, momentum copy, queue, pointer
        assert torch.allclose(tensor.float(), b["state_dict"][name].float(), atol=1e-6), name
    assert straight.metrics["val/loss"] == pytest.approx(resumed.metrics["val/loss"], rel=1e-5)
