"""A run killed mid-epoch (SIGKILL) resumes with --resume and ends as an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tests.experiment.helpers import segmentation_config, write_config
from tests.helpers import run_cli

from eoforge.experiment import load_config, train
from eoforge.models import read_bundle_json

EOFORGE = Path(sys.executable).with_name("eoforge")
STEPS_PER_EPOCH = 4


def _config(scene: Path, out: Path, tmp_path: Path) -> Path:
    raw = segmentation_config(scene, out, max_epochs=2, checkpoint_every_n_steps=3)
    raw["data"].update(samples_per_epoch=4 * STEPS_PER_EPOCH, batch_size=4, patch_size=96)
    return write_config(tmp_path / f"{out.name}.yaml", raw)


def _kill_after_first_checkpoint(config: Path, checkpoint: Path) -> None:
    command = [str(EOFORGE), "train", str(config), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not checkpoint.is_file():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL


def test_sigkilled_run_resumes_to_the_uninterrupted_metrics(
    tiny_scene: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    killed = _config(tiny_scene, tmp_path / "killed", tmp_path)
    checkpoint = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    _kill_after_first_checkpoint(killed, checkpoint)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert state["global_step"] == 3  # saved mid-epoch: batch 3 of 4 of the first epoch
    assert not (tmp_path / "killed" / "bundle").exists()

    # the resumed run: the real entry point in this process (only the killed run needs a
    # process of its own; a second one paid a fresh interpreter and imports)
    code = run_cli(["train", str(killed), "--resume", "--no-progress"], monkeypatch, 200)
    resumed = capsys.readouterr()
    assert code == 0, resumed.err
    assert "wrote bundle" in resumed.out

    straight = _config(tiny_scene, tmp_path / "straight", tmp_path)
    reference = train(load_config(straight), progress=False)
    metrics = read_bundle_json(tmp_path / "killed" / "bundle").metrics
    assert metrics == reference.metrics  # validation and last-epoch training metrics, exactly
