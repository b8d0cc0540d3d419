"""Download a dataset's published files: resumable, retried, verified before they are kept.

Files land in ``<root>/<dataset>/<filename>``, where the data root is ``--root``,
else the ``EOFORGE_DATA`` environment variable, else ``~/.cache/eoforge/datasets``
(:func:`data_root`). A download is written to ``<filename>.partial``; an
interrupted one resumes from there with an HTTP Range request (a server that
ignores ranges sends the whole file again). Dropped connections, timeouts and
5xx answers are retried with exponential backoff; a refused connection or a
name that does not resolve is reported at once (eoforge is offline, or the
host is gone), with the fix: fetch the file elsewhere and place it under
``<root>/<dataset>/``.

The file takes its final name only once its size (when published) and
checksum match. A mismatch deletes the partial file and raises a
:class:`eoforge.errors.DownloadError` naming the URL and both checksums.
Files whose entry has no published checksum get their SHA-256 recorded in
``<root>/<dataset>/eoforge_downloads.json`` on first download, and later checks
compare against that record.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eoforge import __version__
from eoforge.datasets.entry import DatasetEntry, RemoteFile
from eoforge.errors import DownloadError, MissingFileError

DATA_ENV = "EOFORGE_DATA"
"""Environment variable naming the data root."""

DEFAULT_ROOT = Path("~/.cache/eoforge/datasets")
"""Data root when neither ``--root`` nor ``EOFORGE_DATA`` is given."""

RECORD = "eoforge_downloads.json"
"""Per-dataset record of what was downloaded: URL, size in bytes, checksums."""

CHUNK = 1 << 20
"""Bytes read from the network or a file at a time (1 MiB)."""

Progress = Callable[[int, int | None], None]
"""Called with the bytes of the file held so far and its total size in bytes (None: unknown)."""

Status = Literal["ok", "recorded", "missing", "mismatch"]


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root``, else ``$EOFORGE_DATA``, else ``~/.cache/eoforge/datasets``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else DEFAULT_ROOT.expanduser()


def dataset_dir(entry: DatasetEntry, root: str | os.PathLike[str] | None = None) -> Path:
    """``<data root>/<dataset name>``, where the dataset's files live."""
    return data_root(root) / entry.name


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file (``md5`` or ``sha256``), read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_record(folder: Path) -> dict[str, dict[str, object]]:
    """The download record of a dataset folder (empty when there is none)."""
    path = folder / RECORD
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def _write_record(folder: Path, filename: str, values: dict[str, object]) -> None:
    record = read_record(folder)
    record[filename] = values
    tmp = folder / f".{RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, folder / RECORD)


def _expected(file: RemoteFile, folder: Path) -> tuple[str, str] | None:
    """The published checksum, else the one recorded on first download, else None."""
    if file.checksum is not None:
        return file.checksum
    recorded = read_record(folder).get(file.filename, {}).get("sha256")
    return ("sha256", recorded) if isinstance(recorded, str) else None


def _offline(reason: object) -> bool:
    """Whether a connection failure means the host cannot be reached at all."""
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _offline_error(url: str, dest: Path, reason: object, name: str) -> DownloadError:
    place = f"place it as {dest}"
    then = f", then run `eoforge datasets verify {name}`" if name else ""
    return DownloadError(
        f"cannot reach {url} ({reason}); no connection to its server.",
        fix=f"download the file on a machine with internet access and {place}{then}.",
    )


def _http_error(url: str, exc: urllib.error.HTTPError) -> DownloadError:
    return DownloadError(
        f"{url}: the server answered HTTP {exc.code} {exc.reason}.",
        fix="check the URL; if the dataset has moved, download it by hand into the "
        "dataset folder and run `eoforge datasets verify`.",
    )


def _content_total(response: http.client.HTTPResponse, have: int) -> int | None:
    """Total file size from Content-Range (``bytes a-b/total``) or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return None if length is None else have + int(length)


def _receive(
    url: str, partial: Path, timeout: float, progress: Progress | None
) -> tuple[int, int | None]:
    """One attempt: append to ``partial`` what the server sends; ``(bytes held, total)``.

    Raises:
        urllib.error.HTTPError, urllib.error.URLError, OSError, http.client.HTTPException:
            The attempt failed (the caller decides whether to retry).
    """
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"User-Agent": f"eoforge/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file holds every byte already
            return have, have
        raise
    with response:
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        total = _content_total(response, have)
        with open(partial, "ab" if have else "wb") as f:
            if progress is not None:
                progress(have, total)
            while chunk := response.read(CHUNK):
                f.write(chunk)
                have += len(chunk)
                if progress is not None:
                    progress(have, total)
    if total is not None and have < total:
        raise http.client.IncompleteRead(b"", total - have)
    return have, total


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    *,
    checksum: tuple[str, str] | None = None,
    size: int | None = None,
    progress: Progress | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    name: str = "",
) -> str:
    """Download ``url`` to ``dest``, resuming ``dest.partial`` and verifying it first.

    Args:
        url: HTTP(S) address.
        dest: Final path; written only when the file is complete and verified.
        checksum: ``(algorithm, hex)`` the file must have (``md5`` or ``sha256``).
        size: Exact size in bytes the file must have, if known.
        progress: Called with bytes held and total bytes as data arrives.
        retries: Further attempts after a dropped connection, timeout or 5xx answer.
        backoff: Seconds before the first retry; doubled before each next one.
        timeout: Seconds without data before an attempt is abandoned.
        name: Dataset name for the fix of error messages.

    Returns:
        The file's hex digest, in ``checksum``'s algorithm (SHA-256 when None).

    Raises:
        DownloadError: Offline, an HTTP error, retries exhausted, or the file
            differs from its published size or checksum (the partial file is deleted).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    attempt = 0
    while True:
        try:
            _receive(url, partial, timeout, progress)
            break
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt >= retries:
                raise _http_error(url, exc) from exc
            problem: object = f"HTTP {exc.code}"
        except urllib.error.URLError as exc:
            if _offline(exc.reason):
                raise _offline_error(url, dest, exc.reason, name) from exc
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise DownloadError(
                    f"{url}: the server's TLS certificate cannot be verified ({exc.reason}).",
                    fix="update the system's CA certificates, or download the file by hand and "
                    f"place it as {dest}.",
                ) from exc
            problem = exc.reason
        except (OSError, http.client.HTTPException) as exc:
            problem = exc
        if attempt >= retries:
            raise DownloadError(
                f"{url}: download failed after {attempt + 1} attempts ({problem}).",
                fix=f"run the command again: it resumes from {partial.name}.",
            )
        time.sleep(backoff * 2**attempt)
        attempt += 1
    held = partial.stat().st_size
    if size is not None and held != size:
        partial.unlink()
        raise DownloadError(
            f"{url}: received {held} bytes, the published size is {size} bytes; the server "
            "changed the file (or the entry is out of date). The partial file was deleted.",
            fix="report it, or check the dataset's homepage for a new release.",
        )
    algorithm, expected = checksum if checksum is not None else ("sha256", None)
    actual = file_digest(partial, algorithm)
    if expected is not None and actual != expected.lower():
        partial.unlink()
        raise DownloadError(
            f"{url}: {algorithm} checksum mismatch: expected {expected}, got {actual}; the "
            "server changed the file (or it was corrupted on the way). The partial file was "
            "deleted.",
            fix="try again; if it persists, check the dataset's homepage for a new release.",
        )
    os.replace(partial, dest)
    return actual


@dataclass(frozen=True)
class FileCheck:
    """What :func:`verify` found for one file.

    Attributes:
        file: The published file.
        path: Where it should be.
        status: ``ok`` (checksum matches), ``recorded`` (no published checksum:
            its SHA-256 was recorded now), ``missing`` or ``mismatch``.
        expected: ``algorithm:hex`` checked against, if any.
        actual: The file's ``algorithm:hex``, if it exists.
    """

    file: RemoteFile
    path: Path
    status: Status
    expected: str | None = None
    actual: str | None = None


def check_file(
    entry: DatasetEntry,
    file: RemoteFile,
    root: str | os.PathLike[str] | None,
    *,
    trust_record: bool = False,
) -> FileCheck:
    """Verify one file of ``entry`` on disk against its published (or recorded) checksum.

    A file without a published or recorded checksum has its SHA-256 recorded;
    a file that matches gets its size and modification time recorded.

    Args:
        entry: The dataset.
        file: One of its files.
        root: Data root (see :func:`data_root`).
        trust_record: Skip hashing when the record holds the expected checksum
            for a file of this size and modification time (``download`` does;
            ``verify`` always reads the file).
    """
    folder = dataset_dir(entry, root)
    path = folder / file.filename
    if not path.is_file():
        return FileCheck(file, path, "missing")
    expected = _expected(file, folder)
    shown = None if expected is None else f"{expected[0]}:{expected[1]}"
    if trust_record and expected is not None and _unchanged(folder, file, path, expected):
        return FileCheck(file, path, "ok", shown, shown)
    algorithm = expected[0] if expected is not None else "sha256"
    actual = file_digest(path, algorithm)
    if file.size is not None and path.stat().st_size != file.size:
        status: Status = "mismatch"
    elif expected is None:
        status = "recorded"
    else:
        status = "ok" if actual == expected[1].lower() else "mismatch"
    if status != "mismatch":
        _write_record(folder, file.filename, _record(file, path, algorithm, actual))
    return FileCheck(file, path, status, shown, f"{algorithm}:{actual}")


def _unchanged(folder: Path, file: RemoteFile, path: Path, expected: tuple[str, str]) -> bool:
    """Whether the record says this very file (size, modification time) matched ``expected``."""
    record = read_record(folder).get(file.filename, {})
    stat = path.stat()
    return (
        record.get(expected[0]) == expected[1].lower()
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def _record(file: RemoteFile, path: Path, algorithm: str, digest: str) -> dict[str, object]:
    stat = path.stat()
    return {"url": file.url, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, algorithm: digest}


def verify(
    entry: DatasetEntry, root: str | os.PathLike[str] | None = None, split: str | None = None
) -> list[FileCheck]:
    """Check every file of ``entry`` (those of ``split`` only, if given) on disk."""
    return [check_file(entry, f, root) for f in entry.files_for(split)]


@dataclass(frozen=True)
class Fetched:
    """A file of a dataset after :func:`download`.

    Attributes:
        path: Where it is.
        downloaded: True if it was downloaded now, False if it was there and matched.
    """

    path: Path
    downloaded: bool


def download(
    entry: DatasetEntry,
    root: str | os.PathLike[str] | None = None,
    split: str | None = None,
    *,
    progress: Callable[[RemoteFile], Progress | None] | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> list[Fetched]:
    """Download the files of ``entry`` that are not there and verified yet.

    Args:
        entry: The dataset.
        root: Data root (see :func:`data_root`).
        split: Only the files this split needs (None: all).
        progress: Gives each file's progress callback (None: no progress).
        retries: See :func:`fetch`.
        backoff: See :func:`fetch`.
        timeout: See :func:`fetch`.

    Returns:
        The dataset's files: downloaded now, or there already and verified.

    Raises:
        DownloadError: A download failed, a file already there does not match
            its checksum (it is left as is for you to inspect), or a file that
            needs an account (``RemoteFile.manual``) is not there yet.
    """
    folder = dataset_dir(entry, root)
    paths: list[Fetched] = []
    for file in entry.files_for(split):
        dest = folder / file.filename
        if dest.is_file():
            check = check_file(entry, file, root, trust_record=True)
            if check.status == "mismatch":
                raise DownloadError(
                    f"{file.filename} is there but does not match: expected {check.expected}, "
                    f"found {check.actual}.",
                    path=dest,
                    fix="delete it and download again.",
                )
            paths.append(Fetched(dest, downloaded=False))
            continue
        if file.manual:
            raise DownloadError(
                f"{file.filename} of {entry.name} cannot be downloaded without an account: "
                f"{file.manual}",
                path=dest,
                fix=f"get it from {file.url}, place it at {dest}, then run "
                f"`eoforge datasets verify {entry.name}` and download again.",
            )
        expected = _expected(file, folder)
        algorithm = expected[0] if expected is not None else "sha256"
        digest = fetch(
            file.url,
            dest,
            checksum=expected,
            size=file.size,
            progress=None if progress is None else progress(file),
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            name=entry.name,
        )
        _write_record(folder, file.filename, _record(file, dest, algorithm, digest))
        paths.append(Fetched(dest, downloaded=True))
    return paths


def not_downloaded(entry: DatasetEntry, path: Path) -> MissingFileError:
    """The error for a file of ``entry`` that is not on disk: says what to run."""
    return MissingFileError(
        "not downloaded yet.",
        path=path,
        fix=f"run `eoforge datasets download {entry.name}` (or place the file there and run "
        f"`eoforge datasets verify {entry.name}`).",
    )
