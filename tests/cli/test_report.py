"""``eoforge report RUN_DIR``: writes report.html and its figures, or says what to run first."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from eoforge.cli import report
from eoforge.cli.main import main


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    report.register(app)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps typer from flattening the group
        """Nothing."""

    return app


def _write_run(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.json").write_text(
        json.dumps(
            {
                "miou": 0.625,
                "overall_accuracy": 0.9,
                "class_names": ["water", "forest"],
                "confusion_matrix": [[90, 10], [5, 95]],
                "per_class": [
                    {"id": 1, "name": "water", "iou": 0.6, "f1": 0.75},
                    {"id": 2, "name": "forest", "iou": 0.65, "f1": 0.79},
                ],
            }
        )
    )
    manifest = {
        "title": "cli run",
        "metrics": "evaluation.json",
        "stages": [{"name": "predict", "seconds": 2.0}],
        "prediction": {"megapixels": 4.0, "seconds": 2.0},
        "commands": [{"step": "Predict", "command": "eoforge predict bundle scene"}],
    }
    (folder / "run.json").write_text(json.dumps(manifest))
    return folder


def test_report_command_writes_html_and_prints_paths(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "run")
    result = CliRunner().invoke(_app(), ["report", str(run)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert f"wrote {run / 'report.html'}" in result.output
    assert f"figures in {run / 'report'}" in result.output
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "<h2>Reproduce on your own data</h2>" in html
    assert "eoforge predict bundle scene" in html
    assert "2.00 MP/s" in html  # throughput derived from megapixels and seconds
    assert (run / "report" / "confusion_matrix.png").is_file()


def test_report_help_has_examples() -> None:
    result = CliRunner().invoke(_app(), ["report", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "eoforge report runs/demo" in result.output
    assert "RUN_DIR" in result.output


def test_report_of_missing_run_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["eoforge", "report", str(tmp_path / "nowhere")])
    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "run folder does not exist" in err and "eoforge demo" in err
    assert "Traceback" not in err
