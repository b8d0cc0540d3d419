"""Safe extraction: real zip and tar archives, good and malicious; all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.datasets.fixtures import malicious
from tests.datasets.fixtures.common import write_tar, write_zip

from eoforge.datasets.extract import safe_extract
from eoforge.errors import UnsafeArchiveError


def _left_behind(folder: Path, target: Path) -> list[Path]:
    """Everything in ``folder`` but the archive: extraction leftovers."""
    return [p for p in folder.iterdir() if p.suffix not in (".zip", ".gz")] + (
        [target] if target.exists() else []
    )


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.bz2", "tar.xz"])
def test_extracts_zip_and_tar_into_place(tmp_path: Path, kind: str) -> None:
    members = {"a/b/c.txt": b"hello", "top.bin": bytes(range(256))}
    archive = tmp_path / f"data.{kind}"
    if kind == "zip":
        write_zip(archive, members)
    else:
        write_tar(archive, members, mode=f"w:{kind.split('.')[1]}")
    target = tmp_path / "out" / "data"
    assert safe_extract(archive, target) == target
    assert (target / "a" / "b" / "c.txt").read_bytes() == b"hello"
    assert (target / "top.bin").read_bytes() == bytes(range(256))
    assert sorted(p.name for p in target.parent.iterdir()) == ["data"]  # no temporary left


def test_symlink_inside_the_folder_is_kept(tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "links.tar.gz"
    write_tar(archive, {"dir/file.txt": b"x"})
    with tarfile.open(archive, "r:gz") as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf]  # type: ignore[union-attr]
    link = tarfile.TarInfo("dir/alias.txt")
    link.type = tarfile.SYMTYPE
    link.linkname = "file.txt"
    with tarfile.open(archive, "w:gz") as tf:
        for m, data in members:
            import io

            tf.addfile(m, io.BytesIO(data))
        tf.addfile(link)
    target = safe_extract(archive, tmp_path / "out")
    assert (target / "dir" / "alias.txt").read_bytes() == b"x"


BAD = {
    "zip traversal": (lambda p, t: malicious.zip_traversal(p / "a.zip"), "'..'"),
    "zip absolute": (lambda p, t: malicious.zip_absolute(p / "a.zip", t), "absolute"),
    "zip symlink": (lambda p, t: malicious.zip_symlink_escape(p / "a.zip"), "outside"),
    "zip bomb": (lambda p, t: malicious.zip_bomb(p / "a.zip", 5_000_000), "declared"),
    "zip lying header": (lambda p, t: malicious.zip_lying_size(p / "a.zip", 5_000_000), "lies"),
    "tar traversal": (lambda p, t: malicious.tar_traversal(p / "a.tar.gz"), "'..'"),
    "tar absolute": (lambda p, t: malicious.tar_absolute(p / "a.tar.gz", t), "absolute"),
    "tar symlink": (lambda p, t: malicious.tar_symlink_escape(p / "a.tar.gz"), "outside"),
    "tar hardlink": (lambda p, t: malicious.tar_hardlink_escape(p / "a.tar.gz", t), "absolute"),
    "tar fifo": (lambda p, t: malicious.tar_device(p / "a.tar.gz"), "FIFO"),
    "tar bomb": (lambda p, t: malicious.tar_bomb(p / "a.tar.gz", 2_000_000), "bound"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malicious_archives_are_refused_leaving_nothing(tmp_path: Path, case: str) -> None:
    make, why = BAD[case]
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "escaped.txt"
    archive = make(work, outside)
    target = work / "extracted"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, target, max_bytes=1_000_000)
    message = str(info.value)
    assert str(archive) in message and "member" in message and why in message
    assert _left_behind(work, target) == []
    assert not outside.exists() and not (tmp_path / "etc").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_bytes_written_count_against_the_bound(tmp_path: Path) -> None:
    # declared sizes pass (each member 600 kB) but together they exceed 1 MB
    archive = write_tar(tmp_path / "two.tar.gz", {"a": bytes(600_000), "b": bytes(600_000)})
    with pytest.raises(UnsafeArchiveError, match=r"'b'.*bound of 1000000 bytes"):
        safe_extract(archive, tmp_path / "out", max_bytes=1_000_000)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["two.tar.gz"]


def test_not_an_archive(tmp_path: Path) -> None:
    from eoforge.errors import UnreadableFileError

    path = tmp_path / "plain.zip"
    path.write_bytes(b"not an archive at all")
    with pytest.raises(UnreadableFileError, match="not a zip or tar archive"):
        safe_extract(path, tmp_path / "out")
