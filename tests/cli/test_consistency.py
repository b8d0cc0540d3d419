"""Every ``eoforge`` sub-command behaves alike: help, examples, one-line errors, --quiet, --debug.

Runs the real entry point, in-process through :func:`eoforge.cli.main.main`
and as ``python -m eoforge.cli.main`` in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.cli.test_info import run_main

from eoforge.cli.main import COMMANDS, DEBUG_HINT

Run = tuple[int, str, str]


def cli(args: list[str], capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch) -> Run:
    return run_main(args, capsys, mp)


def subprocess_cli(args: list[str], cwd: Path, columns: int = 200) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "eoforge.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "COLUMNS": str(columns)},
    )
    return done.returncode, done.stdout, done.stderr


def one_line(err: str) -> str:
    """The single line of ``err``; fails when there is more than one."""
    lines = [line.rstrip() for line in err.strip().splitlines()]
    assert len(lines) == 1, err
    return lines[0]


def test_help_lists_every_command_on_one_line(tmp_path: Path) -> None:
    code, out, _ = subprocess_cli(["--help"], tmp_path, columns=80)
    assert code == 0
    panel = out[out.index("Commands") :].splitlines()[1:]
    rows = [line.strip("│ ").rstrip() for line in panel if line.startswith("│")]
    names = [row.split()[0] for row in rows]
    assert names == list(COMMANDS)  # no continuation lines, in the order of the work
    for row in rows:
        summary = row.split(maxsplit=1)[1]
        assert summary.endswith(".") and "..." not in summary, row
    assert "--quiet" in out and "--debug" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_examples(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli([command, "--help"], capsys, monkeypatch)
    assert code == 0
    assert "Examples:" in out and f"eoforge {command}" in out


@pytest.fixture
def wrong_paths(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Per command: arguments with one wrong path, and the path the message must name."""
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    nope = tmp_path / "nope"
    return {
        "info": (["info", str(nope / "scene.tif")], "scene.tif"),
        "index": (["index", str(nope), "-o", str(tmp_path / "c.parquet")], str(nope)),
        "synth": (["synth", "--out", str(a_file), "--size", "64"], str(a_file)),
        "train": (["train", str(nope / "config.yaml")], "config.yaml"),
        "evaluate": (["evaluate", str(nope), str(tmp_path)], str(nope)),
        "predict": (["predict", str(nope), str(tmp_path)], str(nope)),
        "report": (["report", str(nope)], str(nope)),
        "demo": (["demo", "--out", str(a_file), "--fast"], str(a_file)),
    }


@pytest.mark.parametrize(
    "command", ["info", "index", "synth", "train", "evaluate", "predict", "report", "demo"]
)
def test_wrong_path_gives_one_line_with_a_fix(
    command: str,
    wrong_paths: dict[str, tuple[list[str], str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args, path = wrong_paths[command]
    code, _, err = cli(args, capsys, monkeypatch)
    line = one_line(err)
    assert code != 0
    assert line.startswith("error: ") and path in line and "Fix: " in line
    assert "Traceback" not in err


def test_models_takes_no_path_and_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(["models", "nope.tif"], capsys, monkeypatch)
    assert code == 2 and "Usage: eoforge models" in err and "nope.tif" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info"], "Missing argument"),
        (["info", "scene.tif", "--bogus"], "No such option"),
        (["synth", "--out", "x", "--size", "big"], "Invalid value for '--size'"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_exit_2_with_usage(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = cli(args, capsys, monkeypatch)
    assert code == 2
    assert "Usage: eoforge" in err and message in err and "Traceback" not in err


def test_unexpected_os_error_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    code, _, err = cli(["synth", "--out", str(blocker / "scene")], capsys, monkeypatch)
    line = one_line(err)
    assert code == 1
    assert str(blocker) in line and "not a folder" in line and line.endswith(DEBUG_HINT)


def _write_config(tmp_path: Path, bands: list[str]) -> Path:
    (tmp_path / "chips" / "a").mkdir(parents=True)
    config = {
        "data": {"kind": "class_folder", "root": str(tmp_path / "chips"), "bands": bands},
        "model": {"arch": "timm_classifier", "backbone": "resnet18"},
        "task": {"kind": "classification"},
        "trainer": {"max_epochs": 1, "output_dir": str(tmp_path / "run")},
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_wrong_band_name_suggests_close_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write_config(tmp_path, ["S2.B02", "S2.B03", "S2.B99"])
    code, _, err = cli(["train", str(config)], capsys, monkeypatch)
    line = one_line(err)
    assert code == 2
    assert str(config) in line and "unknown band 'S2.B99'" in line
    assert "Did you mean S2.B09" in line and "S2.B04" in line  # close match, then the valid names


def test_wrong_bare_band_name_suggests_qualified_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write_config(tmp_path, ["S2.B02", "nri"])
    code, _, err = cli(["train", str(config)], capsys, monkeypatch)
    line = one_line(err)
    assert code == 2 and "'nri'" in line and "Did you mean S2.nir" in line


MALFORMED = "data:\n  kind: class_folder\n  bands: [S2.B02, S2.B03\nmodel:\n  arch: x\n"


def test_malformed_yaml_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(MALFORMED)
    code, _, err = cli(["train", str(config)], capsys, monkeypatch)
    line = one_line(err)
    assert code == 2 and str(config) in line and re.search(r"line \d+", line)
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_the_same_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(MALFORMED)
    code, _, plain = cli(["train", str(config)], capsys, monkeypatch)
    assert code == 2 and "Traceback" not in plain
    code, _, err = cli(["--debug", "train", str(config)], capsys, monkeypatch)
    assert code == 2
    assert "Traceback (most recent call last)" in err and "read_yaml" in err
    assert err.strip().splitlines()[-1] == plain.strip()


def test_module_entry_point_one_line_error_and_debug(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tif"
    code, out, err = subprocess_cli(["info", str(missing)], tmp_path)
    assert code == 2 and out == ""
    assert str(missing) in one_line(err) and "Traceback" not in err
    code, _, debug_err = subprocess_cli(["--debug", "info", str(missing)], tmp_path)
    assert code == 2 and "Traceback (most recent call last)" in debug_err
    assert debug_err.strip().splitlines()[-1] == err.strip()


def test_quiet_hides_progress_and_tables_but_keeps_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["synth", "--size", "64", "--sensors", "s2", "--dates", "1", "--seed", "1"]
    code, out, err = cli([*base, "--out", str(tmp_path / "loud")], capsys, monkeypatch)
    assert code == 0, err
    assert "100.0%" in out and "Scene written to" in out
    code, out, err = cli(["--quiet", *base, "--out", str(tmp_path / "q")], capsys, monkeypatch)
    assert code == 0, err
    (line,) = out.strip().splitlines()
    root = tmp_path / "q"
    assert re.fullmatch(r"wrote \d+ files to .*", line)
    assert line.endswith(f"files to {root} (STAC: {root / 'stac' / 'collection.json'})")
    assert err == ""


def test_quiet_keeps_what_a_read_only_command_shows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(["-q", "models"], capsys, monkeypatch)
    assert code == 0 and "fc_siam_diff" in out and "architectures; nothing written" in out
