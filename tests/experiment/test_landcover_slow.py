"""Done-when check: the example land-cover config, trained on 2 CPU cores in under 10
minutes, reaches mIoU >= 0.75 on a synthetic scene of another seed and beats the
per-pixel forest trained on the same split. Run with ``pytest -m slow``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eoforge.experiment.evaluate import evaluate
from eoforge.synth import generate_scene

ROOT = Path(__file__).resolve().parents[2]
EOFORGE = Path(sys.executable).with_name("eoforge")


def _train(config: str, out: Path) -> float:
    start = time.perf_counter()
    command = [str(EOFORGE), "train", config, "--set", f"trainer.output_dir={out}"]
    command += ["--set", "trainer.accelerator=cpu"]  # the done-when figure is a CPU figure
    done = subprocess.run(
        [*command, "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_landcover_unet_beats_forest_on_an_unseen_scene(tmp_path: Path) -> None:
    seconds = _train("configs/landcover_synthetic.yaml", tmp_path / "unet")
    _train("configs/landcover_pixel_forest.yaml", tmp_path / "forest")
    unseen = tmp_path / "unseen"
    generate_scene(unseen, size=512, seed=7, sensors="s2", dates=1, clouds=0.0, vectors=False)
    unet = evaluate(tmp_path / "unet" / "bundle", unseen, tmp_path / "unet.json")
    forest = evaluate(tmp_path / "forest" / "bundle", unseen, tmp_path / "forest.json")
    print(f"unet mIoU {unet['miou']:.4f} in {seconds:.0f} s; forest mIoU {forest['miou']:.4f}")
    assert seconds < 600
    assert unet["miou"] >= 0.75
    assert unet["miou"] > forest["miou"]
