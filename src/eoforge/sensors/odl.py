"""Reader for the ODL (``GROUP = ... / KEY = value``) text of Landsat MTL files."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from eoforge.errors import EmptyFileError, MetadataError, MissingFileError, UnreadableFileError

OdlGroups = dict[str, dict[str, str]]
"""Key/value pairs per group name; values are strings with quotes removed."""


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise MissingFileError(
            "metadata file does not exist.", path=path, fix="check the path or download the MTL."
        )
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UnreadableFileError(f"cannot read file ({exc}).", path=path) from exc
    if not text.strip():
        raise EmptyFileError("metadata file is empty.", path=path, fix="download it again.")
    return text


def read_odl(path: str | PathLike[str]) -> OdlGroups:
    """Parse an ODL metadata file (Landsat ``*_MTL.txt``) into groups.

    Nested groups are flattened: every group is stored under its own name
    (MTL group names are unique). Pairs outside any group go under ``""``.

    Args:
        path: The ``*_MTL.txt`` file.

    Returns:
        Mapping of group name to its ``KEY -> value`` strings.

    Raises:
        MissingFileError: When the file does not exist.
        MetadataError: When a line is not ``KEY = value`` or groups do not nest.
    """
    file = Path(path)
    groups: OdlGroups = {"": {}}
    stack: list[str] = []
    for number, raw in enumerate(_read_text(file).splitlines(), start=1):
        line = raw.strip()
        if not line or line == "END":
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep:
            raise MetadataError(
                f"line {number} is not 'KEY = value': {line[:60]!r}.",
                path=file,
                fix="pass an original Landsat *_MTL.txt file (ODL text).",
            )
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if not stack or stack.pop() != value:
                raise MetadataError(
                    f"line {number}: END_GROUP = {value} does not close an open group.",
                    path=file,
                    fix="pass an original, unedited *_MTL.txt file.",
                )
        else:
            groups[stack[-1] if stack else ""][key] = value.strip('"')
    return groups
