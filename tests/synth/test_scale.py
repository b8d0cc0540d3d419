"""Streaming keeps memory bounded on large scenes (slow: run with -m slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_synth.py"


@pytest.mark.slow
def test_large_scene_streams_in_bounded_memory(tmp_path: Path) -> None:
    # A fresh process, so the peak RSS is the generator's alone.
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--out",
            str(tmp_path / "big"),
            "--size",
            "8192",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["peak_rss_mib"] < 2048
    assert result["pixels_per_second"] > 100_000
    assert not (tmp_path / "big").exists()
