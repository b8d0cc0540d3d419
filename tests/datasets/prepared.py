"""Serve a dataset fixture over HTTP, download it with eoforge and prepare it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.datasets.fixtures.common import Fixture, local_entry
from tests.datasets.fixtures.server import FileServer

from eoforge.datasets import DatasetEntry, download
from eoforge.datasets.prepare import Prepared, prepare


def download_and_prepare(
    entry: DatasetEntry, generator: Callable[[Path], Fixture], tmp_path: Path
) -> tuple[Fixture, Prepared]:
    """Write ``entry``'s fixture with ``generator``, serve it on 127.0.0.1, download and
    prepare it under ``tmp_path / "data"``.

    Returns:
        The fixture (what prepare must find) and what prepare wrote.
    """
    source = tmp_path / "published"
    source.mkdir()
    fixture = generator(source)
    with FileServer(dict(fixture.files)) as server:
        local = local_entry(entry, fixture, f"http://127.0.0.1:{server.port}")
        download(local, tmp_path / "data")
    steps: list[str] = []
    return fixture, prepare(local, tmp_path / "data", steps.append)
