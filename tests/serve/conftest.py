"""Fixtures of the map viewer's tests: a tiny run folder and a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.serve.serve_fixtures import build_run, live_server


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder laid out like ``eoforge demo``'s (64 x 64 pixels, UTM 31N)."""
    return build_run(tmp_path_factory.mktemp("serve_run"))


@pytest.fixture(scope="session")
def run_server(tiny_run: Path) -> Iterator[str]:
    """Base URL of a viewer serving :func:`tiny_run`."""
    with live_server([tiny_run]) as base:
        yield base
