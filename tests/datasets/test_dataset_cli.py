"""``eoforge datasets`` through the real command line, against a local HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.datasets.fixtures import levircd
from tests.datasets.fixtures.common import local_entry
from tests.datasets.fixtures.server import FileServer, closed_port
from tests.helpers import run_cli

from eoforge.datasets import DatasetEntry, get, register, unregister


def run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``eoforge ARGS`` in this process: (exit status, stdout, stderr)."""
    code = run_cli(args, monkeypatch, columns=250)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registered() -> Iterator[list[DatasetEntry]]:
    """Entries registered by a test, removed afterwards."""
    added: list[DatasetEntry] = []
    yield added
    for entry in added:
        unregister(entry.name)


def test_list_shows_every_dataset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["datasets", "list"], monkeypatch, capsys)
    assert code == 0
    for name in ("eurosat-rgb", "eurosat-ms", "ucmerced", "levir-cd", "landcover-ai"):
        assert name in out
    assert "yes (change)" in out and "~" not in out.split("bigearthnet-s2")[1].split("\n")[0]
    assert "datasets; nothing written" in out


def test_info_shows_files_checksums_and_classes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(
        ["datasets", "info", "landcover-ai", "--root", str(tmp_path)], monkeypatch, capsys
    )
    assert code == 0
    assert (
        "landcover.ai.v1.zip" in out
        and "15ee4ca9e3fd187957addfa8f0d74ac31bc928a966f76926e11b3c33ea76daa1" in out
    )
    assert "woodland" in out and "CC BY-NC-SA 4.0" in out


def test_unknown_name_is_one_line_with_suggestions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["datasets", "info", "levircd"], monkeypatch, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Did you mean levir-cd?" in err


def test_dry_run_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = [
        "datasets",
        "download",
        "levir-cd",
        "--split",
        "test",
        "--dry-run",
        "--root",
        str(tmp_path),
    ]
    code, out, _ = run(args, monkeypatch, capsys)
    assert code == 0
    assert "test.zip" in out and "train.zip" not in out
    assert "nothing written" in out
    assert list(tmp_path.iterdir()) == []


def test_download_verify_prepare(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registered: list[DatasetEntry],
) -> None:
    fixture = levircd.write(tmp_path)
    root = tmp_path / "data"
    with FileServer(dict(fixture.files), cut_once={"train.zip"}) as server:
        entry = register(local_entry(get("levir-cd"), fixture, f"http://127.0.0.1:{server.port}"))
        registered.append(entry)
        code, out, err = run(
            ["datasets", "download", entry.name, "--root", str(root)], monkeypatch, capsys
        )
    assert code == 0, err
    folder = root / entry.name
    assert f"wrote {folder / 'train.zip'}" in out
    assert "Next: eoforge datasets prepare" in out
    assert (folder / "extracted" / "train" / "A" / "train_1.png").is_file()

    code, out, _ = run(
        ["datasets", "download", entry.name, "--root", str(root)], monkeypatch, capsys
    )
    assert code == 0 and f"kept (there already, checksum matches) {folder / 'val.zip'}" in out

    code, out, _ = run(["datasets", "verify", entry.name, "--root", str(root)], monkeypatch, capsys)
    assert code == 0 and "3 files verified" in out

    code, out, _ = run(
        ["datasets", "prepare", entry.name, "--root", str(root)], monkeypatch, capsys
    )
    assert code == 0
    assert f"train: 3 items in {folder / 'eoforge' / 'train'}" in out
    assert f"wrote {folder / 'eoforge_splits.json'}" in out
    assert "kind: change_triplet" in out
    manifest = json.loads((folder / "eoforge_splits.json").read_text())
    assert manifest["splits"]["test"]["class_counts"] == fixture.class_counts["test"]

    (folder / "val.zip").write_bytes(b"tampered")
    code, out, err = run(
        ["datasets", "verify", entry.name, "--root", str(root)], monkeypatch, capsys
    )
    assert code == 2 and "val.zip (mismatch)" in err and err.count("\n") == 1


def test_offline_is_exit_2_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registered: list[DatasetEntry],
) -> None:
    fixture = levircd.write(tmp_path)
    entry = register(local_entry(get("levir-cd"), fixture, f"http://127.0.0.1:{closed_port()}"))
    registered.append(entry)
    code, _, err = run(
        ["datasets", "download", entry.name, "--root", str(tmp_path / "d")], monkeypatch, capsys
    )
    assert code == 2
    assert err.count("\n") == 1
    assert entry.files[0].url in err and "eoforge datasets verify" in err
    assert not list((tmp_path / "d").rglob("*.zip"))


def test_a_changed_file_on_the_server_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registered: list[DatasetEntry],
) -> None:
    fixture = levircd.write(tmp_path)
    with FileServer(dict(fixture.files)) as server:
        # the published MD5s of the real archives, served the fixture's bytes
        real = get("levir-cd")
        files = tuple(
            f.model_copy(update={"url": f"http://127.0.0.1:{server.port}/{f.filename}"})
            for f in real.files
        )
        entry = register(real.model_copy(update={"name": "levir-cd-changed", "files": files}))
        registered.append(entry)
        code, _, err = run(
            ["datasets", "download", entry.name, "--split", "val", "--root", str(tmp_path / "d")],
            monkeypatch,
            capsys,
        )
    assert code == 2 and "checksum mismatch" in err and "f7b857978524f9aa8c3bf7f94e3047a4" in err
    assert not (tmp_path / "d" / entry.name / "val.zip").exists()
    assert not (tmp_path / "d" / entry.name / "val.zip.partial").exists()


def test_the_command_module_does_not_import_torch_or_rasterio() -> None:
    code = (
        "import sys, eoforge.cli.datasets; print(sorted({'torch', 'rasterio'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
