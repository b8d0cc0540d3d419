"""``eoforge train`` through the real entry point: its output, and one-line errors (exit 2)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.experiment.helpers import chip_config, write_config, write_random_chips
from tests.helpers import run_cli

CONFIG = {
    "data": {
        "kind": "class_folder",
        "root": "ROOT",
        "bands": ["S2.B02", "S2.B03", "S2.B04"],
    },
    "model": {"arch": "timm_classifier", "backbone": "resnet18"},
    "task": {"kind": "classification"},
    "trainer": {"max_epochs": 1, "accelerator": "cpu", "output_dir": "OUT"},
}
LIGHTNING_NOISE = ("litlogger", "LeafSpec", "on_after_batch_transfer", "GPU available")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.bands[2]=S2.B13", "data.bands[2]: unknown band 'S2.B13'"),
        ("model.arch=resnet_unet_9000", "model.arch: unknown architecture 'resnet_unet_9000'"),
        ("data.batch_size=lots", "data.batch_size: Input should be a valid integer"),
        ("data.root=missing_folder", "data.root: 'missing_folder' does not exist"),
    ],
)
def test_invalid_config_gives_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    override: str,
    expected: str,
) -> None:
    (tmp_path / "chips" / "a").mkdir(parents=True)
    config = {**CONFIG, "data": {**CONFIG["data"], "root": str(tmp_path / "chips")}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    code = run_cli(["train", str(path), "--set", override], monkeypatch)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"error: {path}: {expected}") and "Fix: " in err


def test_missing_config_file_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["train", str(tmp_path / "none.yaml")], monkeypatch)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "config file not found" in err and err.count("\n") == 0


def test_help_shows_examples(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["train", "--help"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "--resume" in out and "eoforge train configs/landcover_synthetic.yaml" in out


def run_subprocess(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """``python -m eoforge.cli.main ARGS`` (warnings reach stderr as for a user, not pytest)."""
    done = subprocess.run(
        [sys.executable, "-m", "eoforge.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_train_shows_one_bar_then_metrics_bundle_and_run_folder(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips")
    config = write_config(tmp_path / "c.yaml", chip_config(root, tmp_path / "run"))
    code, out, err = run_subprocess(["train", str(config)], tmp_path)
    assert code == 0, err
    for noise in LIGHTNING_NOISE:
        assert noise not in out + err
    assert "epoch 1/1" in out and "step 2/2" in out and "train loss" in out
    table = out[out.index("trained in") :]
    bundle = tmp_path / "run" / "bundle"
    for row in ("val/accuracy", "val/f1_macro", "val/kappa", "val/loss"):
        assert row in table
    assert re.search(rf"│ bundle +│ {re.escape(str(bundle))} +│", table)
    assert re.search(rf"│ run folder +│ {re.escape(str(tmp_path / 'run'))} +│", table)
    assert (bundle / "bundle.json").is_file()
    assert out.strip().splitlines()[-1].startswith(f"wrote bundle {bundle}, checkpoint ")


def test_debug_shows_lightning_notes(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips")
    config = write_config(tmp_path / "c.yaml", chip_config(root, tmp_path / "run"))
    code, out, err = run_subprocess(["--debug", "train", str(config)], tmp_path)
    assert code == 0, err
    assert "GPU available" in out + err and "epoch 1/1" in out


def test_quiet_prints_only_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_random_chips(tmp_path / "chips")
    config = write_config(tmp_path / "c.yaml", chip_config(root, tmp_path / "run"))
    code = run_cli(["--quiet", "train", str(config)], monkeypatch)
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == [
        f"wrote bundle {tmp_path / 'run' / 'bundle'}, "
        f"checkpoint {tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}, "
        f"logs {tmp_path / 'run' / 'logs' / 'version_0'}"
    ]


def test_corrupt_file_read_by_a_loader_worker_gives_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_random_chips(tmp_path / "chips")
    val = write_random_chips(tmp_path / "val", per_class=2)
    corrupt = val / "bright" / "chip_99.tif"
    corrupt.write_bytes(b"II*\x00 not a TIFF after all")
    raw = chip_config(root, tmp_path / "run", val_root=str(val), num_workers=2)
    config = write_config(tmp_path / "bad.yaml", raw)
    code = run_cli(["--quiet", "train", str(config)], monkeypatch)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"error: {corrupt}: cannot read the image") and err.count("\n") == 0
    assert err.endswith("Fix: check the file is a valid raster.")
    assert "Traceback" not in err and "DataLoader worker" not in err
