"""``eoforge train`` through the real entry point: one-line errors with exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from eoforge.cli.main import main

CONFIG = {
    "data": {
        "kind": "class_folder",
        "root": "ROOT",
        "bands": ["S2.B02", "S2.B03", "S2.B04"],
    },
    "model": {"arch": "timm_classifier", "backbone": "resnet18"},
    "task": {"kind": "classification"},
    "trainer": {"max_epochs": 1, "output_dir": "OUT"},
}


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["eoforge", *args])
    monkeypatch.setenv("COLUMNS", "300")
    try:
        main()
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0


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
