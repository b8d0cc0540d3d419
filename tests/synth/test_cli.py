"""The ``eoforge synth`` command."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from eoforge.cli import ui
from eoforge.cli.synth import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Root: fresh console state, as ``eoforge``'s own root sets it (not ``--quiet``)."""
        ui.configure()

    return app


def test_synth_command_writes_and_summarises(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "synth",
            "--out",
            str(tmp_path / "s"),
            "--size",
            "256",
            "--dates",
            "1",
            "--sensors",
            "s2,s1",
            "--no-vectors",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Scene written to" in result.output
    assert (tmp_path / "s/stac/collection.json").is_file()
    assert (tmp_path / "s/s2/20240701/S2.B04.tif").is_file()


def test_synth_help_has_examples() -> None:
    result = CliRunner().invoke(_app(), ["synth", "--help"])
    assert result.exit_code == 0
    assert "eoforge synth --out demo" in result.output


def test_bad_sensor_lists_valid_ones(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["synth", "--out", str(tmp_path / "x"), "--sensors", "modis"]
    )
    assert result.exit_code != 0
    assert "dsm, l8, s1, s2, vhr" in str(result.exception)
