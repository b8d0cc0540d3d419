"""Shared fixtures: the real sensor samples and small synthetic rasters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The suite runs on the CPU, also on a machine with a GPU (training defaults to
# accelerator "auto"); subprocesses inherit this.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect only ``test_*.py`` here: helper modules are imported by the tests, and
    ``--doctest-modules`` (for the docstring examples of ``src/``) would import them again."""
    name = collection_path.name
    if collection_path.suffix == ".py" and not name.startswith(("test_", "conftest")):
        return True
    return None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of real sensor samples; skips the test when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real sensor samples not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def fast_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``eoforge demo --fast``, run once per session: ``(its --out folder, the process)``."""
    out = tmp_path_factory.mktemp("fast_demo") / "demo"
    run = subprocess.run(
        [str(Path(sys.executable).with_name("eoforge")), "demo", "--fast", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
        timeout=600,
    )
    return out, run
