"""Files and folders written complete or not at all: build beside the target, then swap it in."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """An empty folder beside ``target`` that replaces it when the block ends without error.

    A crash inside the block leaves ``target`` as it was (no half-written folder under its
    final name); the staging folder is removed either way.

    Args:
        target: The folder to write (replaced if it exists).

    Yields:
        The staging folder to write the files into.
    """
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Write ``content`` as indented JSON through a temporary file beside ``path`` and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    os.replace(staging, path)
