"""Downloads from a real HTTP server on 127.0.0.1: full, resumed, retried, refused, offline."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.datasets.fixtures import eurosat
from tests.datasets.fixtures.common import local_entry
from tests.datasets.fixtures.server import FileServer, closed_port

from eoforge.datasets import data_root, dataset_dir, download, fetch, get, verify
from eoforge.datasets.download import DATA_ENV, RECORD, read_record
from eoforge.errors import DownloadError

DATA = bytes(range(256)) * 4096  # 1 MiB


def _sha256(data: bytes) -> tuple[str, str]:
    return "sha256", hashlib.sha256(data).hexdigest()


def test_full_download_verified_then_renamed(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    with FileServer({"file.bin": DATA}) as server:
        dest = tmp_path / "d" / "file.bin"
        digest = fetch(
            server.url("file.bin"),
            dest,
            checksum=_sha256(DATA),
            size=len(DATA),
            progress=lambda done, total: seen.append((done, total)),
        )
    assert dest.read_bytes() == DATA
    assert digest == _sha256(DATA)[1]
    assert not dest.with_name("file.bin.partial").exists()
    assert seen[-1] == (len(DATA), len(DATA))


def test_resumes_after_a_cut_connection(tmp_path: Path) -> None:
    with FileServer({"file.bin": DATA}, cut_once={"file.bin"}) as server:
        dest = tmp_path / "file.bin"
        fetch(
            server.url("file.bin"),
            dest,
            checksum=("md5", hashlib.md5(DATA).hexdigest()),
            backoff=0.01,
        )
        requests = list(server.requests)
    assert dest.read_bytes() == DATA
    assert requests[0] == ("file.bin", None)
    # the second request asks only for what is missing
    assert requests[1] == ("file.bin", f"bytes={len(DATA) // 2}-")
    assert len(requests) == 2


def test_resumes_a_partial_file_left_by_an_earlier_run(tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.partial").write_bytes(DATA[:1000])
    with FileServer({"file.bin": DATA}) as server:
        fetch(server.url("file.bin"), dest, checksum=_sha256(DATA))
        assert server.requests == [("file.bin", "bytes=1000-")]
    assert dest.read_bytes() == DATA


def test_retries_a_server_error(tmp_path: Path) -> None:
    with FileServer({"file.bin": DATA}, fail_once={"file.bin"}) as server:
        fetch(server.url("file.bin"), tmp_path / "file.bin", checksum=_sha256(DATA), backoff=0.01)
        assert len(server.requests) == 2
    assert (tmp_path / "file.bin").read_bytes() == DATA


def test_wrong_checksum_keeps_nothing(tmp_path: Path) -> None:
    wrong = "0" * 64
    with FileServer({"file.bin": DATA}) as server:
        url = server.url("file.bin")
        with pytest.raises(DownloadError) as info:
            fetch(url, tmp_path / "file.bin", checksum=("sha256", wrong))
    message = str(info.value)
    assert url in message and wrong in message and _sha256(DATA)[1] in message
    assert "server changed the file" in message
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_keeps_nothing(tmp_path: Path) -> None:
    with (
        FileServer({"file.bin": DATA}) as server,
        pytest.raises(DownloadError, match="published size is 5 bytes"),
    ):
        fetch(server.url("file.bin"), tmp_path / "file.bin", size=5)
    assert list(tmp_path.iterdir()) == []


def test_http_404_is_one_clear_error(tmp_path: Path) -> None:
    with FileServer({}) as server, pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server.url("missing.bin"), tmp_path / "missing.bin")


def test_offline_names_the_url_and_the_fix(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/EuroSAT.zip"
    dest = tmp_path / "eurosat-rgb" / "EuroSAT.zip"
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, name="eurosat-rgb")
    message = str(info.value)
    assert url in message and "no connection" in message
    assert f"place it as {dest}" in message and "eoforge datasets verify eurosat-rgb" in message
    assert "\n" not in message


def test_an_unverifiable_certificate_is_not_retried(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    pem = tmp_path / "self_signed.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(pem), "-out", str(pem)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with FileServer({"file.bin": DATA}, certfile=pem) as server:
        url = server.url("file.bin")
        with pytest.raises(DownloadError, match="TLS certificate cannot be verified"):
            fetch(url, tmp_path / "file.bin", backoff=10.0)  # a retry would take 10 s
    assert url.startswith("https://")
    assert not (tmp_path / "file.bin").exists()


def test_data_root_from_option_environment_or_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert data_root(tmp_path / "opt") == tmp_path / "opt"
    assert data_root() == tmp_path / "env"
    assert dataset_dir(get("ucmerced")) == tmp_path / "env" / "ucmerced"
    monkeypatch.delenv(DATA_ENV)
    assert data_root() == Path(os.path.expanduser("~/.cache/eoforge/datasets"))


def test_download_a_dataset_then_verify_and_skip(tmp_path: Path) -> None:
    fixture = eurosat.write(tmp_path, bands="rgb")
    root = tmp_path / "data"
    with FileServer(dict(fixture.files)) as server:
        entry = local_entry(get("eurosat-rgb"), fixture, f"http://127.0.0.1:{server.port}")
        paths = download(entry, root)
        assert sorted(p.path.name for p in paths) == sorted(fixture.files)
        assert all(p.downloaded for p in paths)
        first = len(server.requests)
        again = download(entry, root)  # everything there and verified: nothing fetched
        assert len(server.requests) == first
        assert not any(p.downloaded for p in again)
        only_val = download(entry, tmp_path / "other", split="val")
    assert sorted(p.path.name for p in only_val) == ["EuroSAT.zip", "eurosat-val.txt"]
    checks = verify(entry, root)
    assert [c.status for c in checks] == ["ok"] * 4
    assert read_record(root / entry.name)["EuroSAT.zip"]["md5"] == checks[0].actual.split(":")[1]  # type: ignore[union-attr]
    (root / entry.name / "eurosat-test.txt").write_text("changed\n")
    statuses = {c.file.filename: c.status for c in verify(entry, root)}
    assert statuses["eurosat-test.txt"] == "mismatch" and statuses["EuroSAT.zip"] == "ok"
    with pytest.raises(DownloadError, match=r"eurosat-test\.txt is there but does not match"):
        download(entry, root)  # a changed file is hashed again, not trusted from the record


def test_unpublished_checksum_is_recorded_on_first_download(tmp_path: Path) -> None:
    fixture = eurosat.write(tmp_path, bands="rgb")
    with FileServer(dict(fixture.files)) as server:
        entry = local_entry(get("eurosat-rgb"), fixture, f"http://127.0.0.1:{server.port}")
        unpublished = tuple(
            f.model_copy(update={"md5": None, "sha256": None, "size": None}) for f in entry.files
        )
        entry = entry.model_copy(update={"files": unpublished})
        download(entry, tmp_path / "data")
    folder = tmp_path / "data" / entry.name
    record = read_record(folder)
    data = fixture.files["EuroSAT.zip"].read_bytes()
    assert record["EuroSAT.zip"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (folder / RECORD).is_file()
    assert {c.status for c in verify(entry, tmp_path / "data")} == {"ok"}
    (folder / "EuroSAT.zip").write_bytes(data[:-1] + b"x")
    assert verify(entry, tmp_path / "data")[0].status == "mismatch"


def test_a_file_behind_a_login_is_asked_for_not_fetched(tmp_path: Path) -> None:
    fixture = eurosat.write(tmp_path, bands="rgb")
    with FileServer(dict(fixture.files)) as server:
        entry = local_entry(get("eurosat-rgb"), fixture, f"http://127.0.0.1:{server.port}")
        gated = entry.files[0].model_copy(update={"manual": "sign in and accept the licence."})
        entry = entry.model_copy(update={"files": (gated, *entry.files[1:])})
        root = tmp_path / "data"
        with pytest.raises(DownloadError, match="cannot be downloaded without an account") as info:
            download(entry, root)
        assert "sign in and accept the licence" in str(info.value)
        assert f"place it at {root / entry.name / 'EuroSAT.zip'}" in str(info.value)
        assert server.requests == []
        (root / entry.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(fixture.files["EuroSAT.zip"], root / entry.name / "EuroSAT.zip")
        done = download(entry, root)  # placed by hand: verified, the rest fetched
    assert [f.downloaded for f in done] == [False, True, True, True]
