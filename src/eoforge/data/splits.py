"""Official split files: which images of a dataset belong to train, val or test.

A split file lists one image per line: its file name (``image_part_001.jpg``),
its stem (``image_part_001``) or the end of its path
(``tile_5/images/image_part_001.jpg``); blank lines and lines starting with
``#`` are skipped. An entry must name exactly one image of the dataset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath

from eoforge.data.bad_files import RAISE, BadFiles
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError


def read_split(path: str | os.PathLike[str]) -> list[str]:
    """The entries of a split file, in file order.

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It is not text.
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("split file not found.", path=file, fix="check the path.")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableFileError(
            f"cannot read the split file ({error}).", path=file, fix="give a text file."
        ) from None
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def _matches(entry: str, path: Path) -> bool:
    parts = PurePath(entry.replace("\\", "/")).parts
    if len(parts) == 1:
        return parts[0] in (path.name, path.stem)
    tail = path.parts[-len(parts) :]
    return tail == parts or (tail[:-1] == parts[:-1] and path.stem == parts[-1])


def select_split(
    paths: Sequence[Path],
    entries: Sequence[str],
    split_file: str | os.PathLike[str],
    bad_files: BadFiles = RAISE,
) -> list[int]:
    """Positions in ``paths`` of the images a split file names, in the file's order.

    Args:
        paths: The dataset's image files.
        entries: The split file's entries (see :func:`read_split`).
        split_file: The split file, for messages.
        bad_files: What to do with an entry that names no image.

    Returns:
        Indices into ``paths``, each at most once.

    Raises:
        MissingFileError: An entry names no image (under the ``error`` policy).
        ConfigError: An entry names several images.
    """
    by_name: dict[str, list[int]] = {}
    for index, path in enumerate(paths):
        for key in (path.name, path.stem):
            by_name.setdefault(key, []).append(index)
    chosen: list[int] = []
    seen: set[int] = set()
    for entry in entries:
        name = PurePath(entry.replace("\\", "/")).name
        candidates = by_name.get(name, [])
        if name == entry.replace("\\", "/"):
            found = sorted(set(candidates))
        else:
            found = sorted({i for i in candidates if _matches(entry, paths[i])})
        if not found:
            bad_files.handle(
                MissingFileError(
                    f"the split file names {entry!r}, which is not among the dataset's "
                    f"{len(paths)} images.",
                    path=split_file,
                    fix="correct the entry, add the missing image, or set "
                    "data.on_bad_file: skip to leave it out.",
                )
            )
            continue
        if len(found) > 1:
            names = [str(paths[i]) for i in found[:3]]
            raise ConfigError(
                f"the split entry {entry!r} names {len(found)} images, e.g. {names}.",
                path=split_file,
                fix="write more of each image's path (e.g. tile_1/images/name.jpg).",
            )
        if found[0] not in seen:
            seen.add(found[0])
            chosen.append(found[0])
    return chosen
