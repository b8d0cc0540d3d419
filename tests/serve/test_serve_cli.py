"""``eoforge serve``: its messages, its checks, and a real run stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tests.helpers import run_cli
from tests.serve.serve_fixtures import free_port

from eoforge.errors import MissingFileError
from eoforge.serve.app import MAPLIBRE, require_maplibre


def test_a_port_in_use_is_a_clear_error(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run_cli(["serve", str(tiny_run), "--port", str(port), "--no-open"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in err and "--port" in err


def test_a_missing_path_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["serve", str(tmp_path / "nowhere"), "--no-open"], monkeypatch)
    assert code == 2 and "no such file or folder to serve" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_runs_lists_its_layers_and_stops_on_ctrl_c(tiny_run: Path) -> None:
    port = free_port()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "eoforge"), "serve", str(tiny_run), "--port",
         str(port), "--no-open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/layers") as response:
                    layers = json.loads(response.read())
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert [layer["name"] for layer in layers["layers"]][:3] == [
            "S2 2024-07-01", "reference labels", "predicted classes"
        ]  # fmt: skip
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tiles/errors/0/0/0.png") as r:
            assert r.status == 200 and r.headers["content-type"] == "image/png"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert f"map at http://127.0.0.1:{port}/" in out and "Ctrl-C" in out
    assert "predicted classes" in out and "errors" in out  # the layers listed
    assert "Traceback" not in err and "INFO" not in err  # uvicorn keeps quiet


def test_a_missing_map_library_names_the_command_that_fetches_it(tmp_path: Path) -> None:
    require_maplibre()  # the source tree's build (make fetched it)
    with pytest.raises(MissingFileError, match=r"vendor_maplibre\.sh") as caught:
        require_maplibre(tmp_path / "maplibre-gl.js")
    assert str(tmp_path) in str(caught.value) and MAPLIBRE.name == "maplibre-gl.js"
