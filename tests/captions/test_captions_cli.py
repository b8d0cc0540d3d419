"""``eoforge captions`` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import run_cli

from eoforge.captions import read_captions, verify


def test_captions_command_writes_a_table(
    flood_scene: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "captions.parquet"
    args = ["captions", str(flood_scene), "--out", str(out), "--window", "64", "--per-window", "2"]
    args += ["--sentences", "4", "--seed", "5", "--change-dates", "2024-03-01,2024-07-01"]
    assert run_cli(args, monkeypatch) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (32 captions of 16 windows)" in printed
    table = read_captions(out)
    assert len(table) == 32 and table.meta.seed == 5 and table.meta.window_px == 64
    assert all(verify(table.frame["caption"].iloc[i], table.facts(i)).ok for i in range(32))
    assert all(len(c.split(". ")) >= 2 for c in table.frame["caption"])


def test_captions_command_without_vectors_and_one_date(
    flood_scene: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "c.parquet"
    args = ["captions", str(flood_scene), "--out", str(out), "--window", "128", "--no-vectors"]
    assert run_cli([*args, "--date", "2024-10-31"], monkeypatch) == 0
    table = read_captions(out)
    assert len(table) == 4 * 3 and "vectors" not in table.meta.labels
    assert all(table.facts(i).counts == () for i in range(len(table)))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--change-dates", "2024-03-01"], "--change-dates needs two dates, got 1"),
        (["--change-dates", "March,July"], "is not a list of dates"),
        (["--bounds", "1,2,3"], "is not four numbers"),
        (["--labels", "lulc"], "no labels/lulc_*.tif in this folder"),
    ],
)
def test_captions_command_names_bad_input(
    flood_scene: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    args = ["captions", str(flood_scene), "--out", str(tmp_path / "c.parquet"), *extra]
    assert run_cli(args, monkeypatch) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c.parquet").exists()


def test_captions_command_is_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["--help"], monkeypatch) == 0
    assert "captions" in capsys.readouterr().out
