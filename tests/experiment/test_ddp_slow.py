"""``eoforge train --devices 2 --strategy ddp`` on CPU: two processes, eoforge samplers
sharded by rank (Lightning's sampler replacement is off), one bundle. ``pytest -m slow``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.experiment.helpers import segmentation_config, write_config

from eoforge.models import read_bundle_json

EOFORGE = Path(sys.executable).with_name("eoforge")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_process_ddp_training_exports_one_bundle(tiny_scene: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "ddp.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    # --debug: Lightning's notes (which name the DDP members) are hidden otherwise
    command = [str(EOFORGE), "--debug", "train", str(config), "--devices", "2", "--strategy", "ddp"]
    done = subprocess.run(
        [*command, "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MEMBER: 1/2" in done.stdout + done.stderr  # Lightning started two processes
    bundle = read_bundle_json(tmp_path / "run" / "bundle")
    assert 0.0 <= bundle.metrics["val/miou"] <= 1.0
