"""Safe extraction of zip and tar (.gz, .bz2, .xz, Zstandard .zst) archives.

Every member is checked before anything is written for it, and the archive is
refused (:class:`eoforge.errors.UnsafeArchiveError`, naming the archive, the
member and why) when a member

* has an absolute path, a drive, or a ``..`` component;
* is a symbolic or hard link whose target lies outside the extraction folder,
  or would be written through a link that leads outside;
* is a device, FIFO or other special file;
* would take the unpacked size past the bound, counting both the sizes the
  archive declares and the bytes actually written (a header that lies about a
  member's size is caught too).

The archive is unpacked into a temporary folder beside the target and renamed
into place only when complete; a refused or failed archive leaves nothing behind.
Zstandard tars (``.tar.zst``, recognised by their magic number) are decompressed
as a stream with the ``zstandard`` package and read member by member, with the
same checks.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

from eoforge.datasets.download import dataset_dir, not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.errors import UnreadableFileError, UnsafeArchiveError

MIN_BOUND = 256 * 2**20
"""Smallest default bound on the unpacked size, bytes (256 MiB)."""

RATIO = 10
"""Default bound on the unpacked size as a multiple of the archive's size."""

CHUNK = 1 << 20
"""Bytes copied at a time (1 MiB)."""

EXTRACTED = "extracted"
"""Name of the folder holding the extracted archives in a dataset folder."""

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
"""The first four bytes of a Zstandard frame."""


def is_zstd(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts with a Zstandard frame (a ``.zst`` file, e.g. ``.tar.zst``)."""
    with open(path, "rb") as f:
        return f.read(4) == ZSTD_MAGIC


def default_bound(archive: str | os.PathLike[str]) -> int:
    """Default bound on the unpacked size: 10x the archive's size, at least 256 MiB (bytes)."""
    return max(RATIO * Path(archive).stat().st_size, MIN_BOUND)


class _Extraction:
    """The state of one extraction: where it goes and how many bytes it holds."""

    def __init__(self, archive: Path, root: Path, bound: int) -> None:
        self.archive = archive
        self.root = root
        self.real_root = os.path.realpath(root)
        self.bound = bound
        self.declared = 0
        self.written = 0

    def refuse(self, member: str, why: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"refused: member {member!r} {why}; nothing was extracted.",
            path=self.archive,
            fix="the archive is corrupt or malicious: download it again from the official "
            "source and check its checksum.",
        )

    def _inside(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def destination(self, name: str) -> Path:
        """Where member ``name`` goes, after checking its path."""
        if not name or "\x00" in name:
            raise self.refuse(name, "has an empty or invalid name")
        if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
            raise self.refuse(name, "has an absolute path")
        parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
        if ".." in parts:
            raise self.refuse(name, "has a '..' component that points outside the folder")
        if not parts:
            return self.root
        dest = self.root.joinpath(*parts)
        if not self._inside(str(dest.parent)):
            raise self.refuse(name, "would be written through a link that leads outside")
        if dest.is_symlink():
            raise self.refuse(name, "would overwrite a link")
        return dest

    def declare(self, name: str, size: int) -> None:
        self.declared += size
        if self.declared > self.bound:
            raise self.refuse(
                name, f"takes the declared unpacked size past the bound of {self.bound} bytes"
            )

    def copy(self, name: str, source: IO[bytes], dest: Path, declared: int) -> None:
        """Copy a member's bytes, counting them against its declared size and the bound."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with open(dest, "wb") as out:
            while chunk := source.read(CHUNK):
                count += len(chunk)
                self.written += len(chunk)
                if count > declared:
                    raise self.refuse(name, f"holds more bytes than the {declared} it declares")
                if self.written > self.bound:
                    raise self.refuse(
                        name, f"takes the unpacked size past the bound of {self.bound} bytes"
                    )
                out.write(chunk)
        if count != declared:
            raise self.refuse(name, f"holds {count} bytes, not the {declared} it declares")

    def link(self, name: str, dest: Path, target: str) -> None:
        """Create a symbolic link after checking its target stays inside."""
        if target.startswith(("/", "\\")) or PureWindowsPath(target).drive:
            raise self.refuse(name, f"is a link to the absolute path {target!r}")
        if not self._inside(os.path.join(dest.parent, target)):
            raise self.refuse(name, f"is a link to {target!r}, outside the folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dest)


def _extract_zip(job: _Extraction) -> None:
    try:
        with zipfile.ZipFile(job.archive) as zf:
            infos = zf.infolist()
            for info in infos:  # declared sizes first: a bomb is refused before any write
                job.declare(info.filename, info.file_size)
            for info in infos:
                mode = info.external_attr >> 16
                dest = job.destination(info.filename)
                if stat.S_ISLNK(mode):
                    job.link(info.filename, dest, zf.read(info).decode("utf-8"))
                elif mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                    raise job.refuse(info.filename, "is a device, FIFO or other special file")
                elif info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                else:
                    try:
                        with zf.open(info) as source:
                            job.copy(info.filename, source, dest, info.file_size)
                    except (zipfile.BadZipFile, zlib.error) as exc:
                        raise job.refuse(
                            info.filename, f"is corrupt or lies about its size ({exc})"
                        ) from exc
    except zipfile.BadZipFile as exc:
        raise UnsafeArchiveError(
            f"refused: the zip archive is corrupt ({exc}); nothing was extracted.",
            path=job.archive,
            fix="download it again from the official source and check its checksum.",
        ) from exc


def _extract_members(job: _Extraction, tf: tarfile.TarFile) -> None:
    """Check and write the members of an open tar, in archive order (read once)."""
    for member in tf:
        dest = job.destination(member.name)
        if member.issym():
            job.link(member.name, dest, member.linkname)
        elif member.islnk():
            source = job.destination(member.linkname)
            if not source.is_file():
                raise job.refuse(
                    member.name, f"is a hard link to {member.linkname!r}, not a file here"
                )
            job.declare(member.name, source.stat().st_size)
            with open(source, "rb") as src:
                job.copy(member.name, src, dest, source.stat().st_size)
        elif member.isdir():
            dest.mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            job.declare(member.name, member.size)
            stream = tf.extractfile(member)
            if stream is None:
                raise job.refuse(member.name, "cannot be read")
            with stream:
                job.copy(member.name, stream, dest, member.size)
        else:
            raise job.refuse(member.name, "is a device, FIFO or other special file")


def _corrupt(job: _Extraction, kind: str, exc: Exception) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"refused: the {kind} archive is corrupt ({exc}); nothing was extracted.",
        path=job.archive,
        fix="download it again from the official source and check its checksum.",
    )


def _extract_tar(job: _Extraction) -> None:
    try:
        with tarfile.open(job.archive, "r:*") as tf:  # streamed: compressed tars are read once
            _extract_members(job, tf)
    except tarfile.TarError as exc:
        raise _corrupt(job, "tar", exc) from exc


def _extract_tar_zst(job: _Extraction) -> None:
    try:
        # Deferred: only .tar.zst archives need the decompressor, and the command line
        # imports this module at start-up.
        import zstandard
    except ImportError as exc:
        raise UnreadableFileError(
            "a Zstandard archive, and the zstandard package is not installed.",
            path=job.archive,
            fix="pip install zstandard (an eoforge dependency), then run the command again.",
        ) from exc
    decompressor = zstandard.ZstdDecompressor()
    try:
        with (
            open(job.archive, "rb") as raw,
            decompressor.stream_reader(raw, read_across_frames=True) as stream,
            tarfile.open(fileobj=stream, mode="r|") as tf,  # a stream: members in order
        ):
            _extract_members(job, tf)
    except (tarfile.TarError, zstandard.ZstdError) as exc:
        raise _corrupt(job, "tar.zst", exc) from exc


def safe_extract(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
) -> Path:
    """Unpack a zip or tar archive into the new folder ``target``, all or nothing.

    Args:
        archive: A ``.zip`` or ``.tar[.gz|.bz2|.xz|.zst]`` file.
        target: Folder to create; it must not exist yet.
        max_bytes: Bound on the unpacked size in bytes (default :func:`default_bound`).

    Returns:
        ``target``.

    Raises:
        UnsafeArchiveError: A member is unsafe or the archive too large or corrupt
            (nothing is left behind).
        UnreadableFileError: Not a zip or tar archive.
        FileExistsError: ``target`` exists.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        raise FileExistsError(17, "the extraction folder exists already", str(target))
    if zipfile.is_zipfile(archive):
        extractor = _extract_zip
    elif tarfile.is_tarfile(archive):
        extractor = _extract_tar
    elif is_zstd(archive):
        extractor = _extract_tar_zst
    else:
        raise UnreadableFileError(
            "not a zip or tar archive.", path=archive, fix="download it again."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extracting", dir=target.parent))
    bound = default_bound(archive) if max_bytes is None else max_bytes
    try:
        extractor(_Extraction(archive, tmp, bound))
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def extract_all(
    entry: DatasetEntry,
    root: str | os.PathLike[str] | None = None,
    step: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Extract every archive of ``entry`` that is not extracted yet.

    Archives go to ``<root>/<name>/extracted/<archive stem>/``.

    Args:
        entry: The dataset.
        root: Data root (see :func:`eoforge.datasets.download.data_root`).
        step: Called with what is being done (for a progress display).

    Returns:
        Archive file name to its extraction folder.

    Raises:
        MissingFileError: An archive has not been downloaded.
        UnsafeArchiveError: An archive was refused.
    """
    folder = dataset_dir(entry, root)
    out = {}
    for file in entry.files:
        if not file.extract:
            continue
        target = folder / EXTRACTED / file.stem
        if not target.is_dir():
            archive = folder / file.filename
            if not archive.is_file():
                raise not_downloaded(entry, archive)
            if step is not None:
                step(f"extracting {file.filename}")
            safe_extract(archive, target)
        out[file.filename] = target
    return out
