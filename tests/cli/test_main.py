"""The shared console state (``eoforge.cli.ui``) and the one-line error messages of ``main``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pydantic
import pytest
import yaml

from eoforge.cli import ui
from eoforge.cli.main import (
    DEBUG_HINT,
    EXIT_ERROR,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    _problem,
)
from eoforge.errors import close_matches, did_you_mean


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    ui.configure()
    yield
    ui.configure()


def test_quiet_silences_console_and_progress_but_not_results(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ui.configure(quiet=True)
    assert ui.is_quiet() and not ui.is_debug()
    ui.console().print("a table")
    with ui.progress() as bar, ui.status("working"):
        bar.add_task("step", total=1)
    ui.result("wrote out.tif")
    ui.err_console().print("error: bad")
    out, err = capsys.readouterr()
    assert out == "wrote out.tif\n" and err == "error: bad\n"


def test_loud_console_prints_and_consoles_are_shared(capsys: pytest.CaptureFixture[str]) -> None:
    ui.set_quiet(False)
    ui.set_debug(True)
    assert ui.is_debug() and ui.console() is ui.console() and ui.out() is ui.out()
    ui.console().print("a note")
    assert capsys.readouterr().out == "a note\n"


class _Model(pydantic.BaseModel):
    size: int


def _catch(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


def test_problem_messages_name_what_went_wrong(tmp_path: Path) -> None:
    problem, fix = _problem(_catch(lambda: yaml.safe_load("a: [1, 2\nb: 3\n")))
    assert problem == "line 2, column 2: invalid YAML (expected ',' or ']', but got ':')"
    assert "YAML" in fix
    problem, _ = _problem(_catch(lambda: _Model(size="big")))
    assert problem.startswith("invalid _Model: size: Input should be a valid integer")
    missing = tmp_path / "gone.json"
    problem, fix = _problem(_catch(missing.read_text))
    assert problem == f"{missing}: no such file or directory" and "path" in fix
    problem, fix = _problem(KeyError("S2.B99"))
    assert "'S2.B99'" in problem and "eoforge info" in fix


def test_close_matches_and_did_you_mean() -> None:
    names = ["S2.B01", "S2.B09", "S2.B8A", "S2.B12"]
    assert close_matches("s2.b9", names, limit=1) == ["S2.B09"]
    assert close_matches("zzz", names) == []
    assert did_you_mean([]) == ""
    assert did_you_mean(["S2.B09"]) == "Did you mean S2.B09?"
    assert did_you_mean(["a", "b", "c"]) == "Did you mean a, b or c?"


# A real ``eoforge`` entry point with three extra commands that fail the ways a command can.
_FAILING_COMMANDS = """
from eoforge.cli.main import _register_all, app, main
from eoforge.errors import ConfigError

_register_all()


@app.command("crash")
def crash() -> None:
    raise RuntimeError("something broke")


@app.command("refuse")
def refuse() -> None:
    raise ConfigError("bad value.", path="experiment.yaml", fix="change it.")


@app.command("interrupt")
def interrupt() -> None:
    raise KeyboardInterrupt


main()
"""


def _eoforge(*args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _FAILING_COMMANDS, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
    )
    return done.returncode, done.stdout, done.stderr


def test_exit_status_is_documented_and_distinct() -> None:
    assert (EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INTERRUPTED) == (0, 1, 2, 130)


def test_unexpected_errors_exit_1_with_one_line_and_traceback_only_under_debug() -> None:
    code, out, err = _eoforge("crash")
    assert code == EXIT_ERROR and out == ""
    assert err.strip() == (
        "error: unexpected RuntimeError: something broke. "
        f"Fix: please report this with the traceback. {DEBUG_HINT}"
    )
    code, _, debug_err = _eoforge("--debug", "crash")
    assert code == EXIT_ERROR
    assert "Traceback (most recent call last)" in debug_err
    assert "in crash\nRuntimeError: something broke\n" in debug_err
    assert debug_err.strip().splitlines()[-1] == err.strip()


def test_eoforge_errors_exit_2_and_interrupts_130() -> None:
    code, _, err = _eoforge("refuse")
    assert code == EXIT_INPUT
    assert err.strip() == "error: experiment.yaml: bad value. Fix: change it."
    code, _, err = _eoforge("interrupt")
    assert code == EXIT_INTERRUPTED and "Traceback" not in err
    code, out, _ = _eoforge("--version")
    assert code == EXIT_OK and out.startswith("eoforge ")
