"""MoCo pretraining with two DDP processes on CPU: every rank's keys enter the queue.

``pytest -m slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.experiment.helpers import write_config
from tests.experiment.test_pretrain_geo import pretrain_config

from eoforge.models import read_bundle_json

EOFORGE = Path(sys.executable).with_name("eoforge")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_process_moco_gathers_keys_of_both_ranks(tiny_scene: Path, tmp_path: Path) -> None:
    raw = pretrain_config(tiny_scene, tmp_path / "run", "moco", queue_size=64)
    config = write_config(tmp_path / "ddp.yaml", raw)  # 16 windows: 1 step of 8 per rank
    # plain DDP: the SAR and DEM band vectors that S2 inputs leave unused still get (zero)
    # gradients, as its reducer requires
    strategy = "ddp"
    command = [str(EOFORGE), "train", str(config), "--devices", "2", "--strategy", strategy]
    done = subprocess.run(
        [*command, "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 2  # 2 epochs x 1 step
    # each step enqueued 8 keys from each of the 2 ranks
    assert int(state["state_dict"]["queue.pointer"]) == 2 * 2 * 8
    assert read_bundle_json(tmp_path / "run" / "bundle").task == "embedding"
