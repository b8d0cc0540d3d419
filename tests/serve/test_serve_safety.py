"""The viewer serves only what it was given, read-only, and never answers with a traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from tests.serve.serve_fixtures import class_map, live_server, raw_get, write_class_map


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A served folder with links that point out of it, and a secret next to it."""
    base = tmp_path_factory.mktemp("guard")
    root = base / "served"
    (root / "sub").mkdir(parents=True)
    write_class_map(root / "maps_classes.tif", class_map(0))
    (root / "sub" / "notes.txt").write_text("inside")
    (base / "secret.txt").write_text("secret")
    os.symlink(base / "secret.txt", root / "link_out.txt")
    os.symlink(base, root / "dir_out")
    os.symlink(root / "sub" / "notes.txt", root / "link_in.txt")
    return root


@pytest.fixture(scope="module")
def guarded_server(guarded: Path):
    with live_server([guarded]) as base:
        yield base


def test_files_inside_the_root_are_served(guarded_server: str) -> None:
    status, body, _ = raw_get(guarded_server, "/files/served/sub/notes.txt")
    assert (status, body) == (200, b"inside")
    status, body, _ = raw_get(guarded_server, "/files/served/link_in.txt")  # a link staying inside
    assert (status, body) == (200, b"inside")


@pytest.mark.parametrize(
    "path",
    [
        "/files/../secret.txt",
        "/files/served/../secret.txt",
        "/files/served/sub/../../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/served/%2e%2e/secret.txt",
        "/files/served/%2E%2E/%2E%2E/etc/passwd",
        "/files/served/..%2fsecret.txt",
        "/files/served/..%5csecret.txt",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/served//etc/passwd",
        "/files/served/link_out.txt",
        "/files/served/dir_out/secret.txt",
        "/files/served/sub/%00notes.txt",
        "/files/etc/passwd",
        "/files/served/nothing.txt",
        "/files/served/sub",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/%2e%2e/%2e%2e/serve/app.py",
    ],
)
def test_traversal_attempts_are_refused(guarded_server: str, path: str) -> None:
    status, body, _ = raw_get(guarded_server, path)
    assert status in (403, 404), (status, body[:200])
    assert b"secret" not in body and b"root:" not in body and b"def " not in body


def test_a_file_deleted_while_serving_is_a_short_500(tmp_path: Path) -> None:
    folder = tmp_path / "maps"
    folder.mkdir()
    path = write_class_map(folder / "gone_classes.tif", class_map(0))
    shutil.copy(path, folder / "kept_classes.tif")
    with live_server([folder]) as base:
        layers = json.loads(raw_get(base, "/api/layers")[1])["layers"]
        gone = next(layer for layer in layers if layer["name"] == "gone_classes.tif")
        path.unlink()
        status, body, kind = raw_get(base, f"/api/tiles/{gone['id']}/10/524/365.png")
        assert status == 500 and kind == "application/json"
        detail = json.loads(body)["detail"]
        assert detail.startswith("internal error") and len(body) < 300
        assert b"Traceback" not in body and b'File "' not in body
        # the server goes on answering
        assert raw_get(base, "/api/layers")[0] == 200


def test_the_served_files_are_not_modified(guarded: Path, guarded_server: str) -> None:
    before = {
        p: p.stat().st_mtime_ns
        for p in guarded.rglob("*")
        if p.is_file() and ".serve" not in p.parts
    }
    for path in (
        "/api/layers",
        "/api/tiles/maps-classes-tif/10/524/365.png",
        "/api/point?lon=4.8&lat=45.7",
    ):
        assert raw_get(guarded_server, path)[0] == 200
    after = {
        p: p.stat().st_mtime_ns
        for p in guarded.rglob("*")
        if p.is_file() and ".serve" not in p.parts
    }
    assert before == after
