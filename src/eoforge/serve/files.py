"""Read-only files under the served paths, resolved so that nothing outside them is reachable.

``/files/<mount>/<rest>`` names a file under one served path: ``<mount>`` is the
path's mount name (its folder or file name), ``<rest>`` a relative path inside
it. A request is refused when any segment is empty, ``.`` or ``..``, holds a
backslash or a NUL, or when the resolved file (symbolic links followed) lies
outside the resolved mount: traversal and symlink escapes are 403, missing
files 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class ForbiddenPathError(PermissionError):
    """A path outside the served roots (HTTP 403)."""


class NoSuchPathError(FileNotFoundError):
    """No such file under the served roots (HTTP 404)."""


def resolve(roots: Mapping[str, Path], relpath: str) -> Path:
    """The file that ``relpath`` names under the mounts ``roots``.

    Args:
        roots: Mount name -> resolved folder or file.
        relpath: ``<mount>/<path inside it>`` (or ``<mount>`` for a served file).

    Returns:
        The resolved file, inside its root.

    Raises:
        ForbiddenPathError: A traversal attempt, an absolute path, or a link out of the root.
        NoSuchPathError: No such mount or file, or a folder.
    """
    if not relpath or relpath.startswith(("/", "\\")) or "\x00" in relpath or "\\" in relpath:
        raise ForbiddenPathError("absolute or malformed path")
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ForbiddenPathError("path segments '.', '..' and empty ones are refused")
    root = roots.get(parts[0])
    if root is None:
        raise NoSuchPathError("no such served path")
    target = root.joinpath(*parts[1:])
    try:
        resolved = target.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise NoSuchPathError("no such file") from None
    except (OSError, RuntimeError):  # symlink loops
        raise ForbiddenPathError("unresolvable path") from None
    real_root = root.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise ForbiddenPathError("outside the served paths")
    if not resolved.is_file():
        raise NoSuchPathError("not a file")
    return resolved


__all__ = ["ForbiddenPathError", "NoSuchPathError", "resolve"]
