"""GDAL settings eoforge applies: the block cache bound while a scene streams."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import rasterio
import rasterio.env

from eoforge.io.gdal_env import MIB, STREAMING_CACHE_MB, streaming_block_cache, streaming_cache_mb
from eoforge.predict.memory import bound_process_memory


def _cache_max() -> object:
    """GDAL's own block-cache limit in bytes (rasterio reads it back from GDAL)."""
    return rasterio.env.get_gdal_config("GDAL_CACHEMAX")


def test_the_cache_is_bounded_inside_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    default = _cache_max()
    assert default != 96 * MIB
    with streaming_block_cache(96):
        assert _cache_max() == 96 * MIB  # 96 MB, not 96 bytes (which re-decodes every block)
        with ThreadPoolExecutor(1) as pool:  # the read-ahead thread sees the same bound
            assert pool.submit(_cache_max).result() == 96 * MIB
    assert _cache_max() == default


def test_a_user_limit_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDAL_CACHEMAX", "512")
    with streaming_block_cache(96):
        assert _cache_max() != 96 * MIB  # the environment variable stays in force
    monkeypatch.delenv("GDAL_CACHEMAX")
    with rasterio.Env(GDAL_CACHEMAX=300), streaming_block_cache(96):
        assert _cache_max() == 300


def test_the_streaming_cache_holds_a_row_of_blocks_between_a_floor_and_a_bound() -> None:
    # bench_sr's memory scenes: one float band, x4 SR blocks of 512 px (+ a 256-px tile, margins)
    assert streaming_cache_mb(8000, 800, 1) == 49  # 2 x 8000 x 800 px x 4 bytes
    assert streaming_cache_mb(2000, 800, 1) == 16  # the floor
    assert streaming_cache_mb(10_000, 2560, 13) == STREAMING_CACHE_MB  # the bound


def test_a_command_line_run_bounds_the_cache_as_an_option_not_a_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """So that the prediction can size it to the scene (the user's variable still wins)."""
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    default = _cache_max()
    try:
        bound_process_memory(77)
        assert _cache_max() == 77 * MIB and "GDAL_CACHEMAX" not in os.environ
        with streaming_block_cache(20):
            assert _cache_max() == 20 * MIB
    finally:
        rasterio.env.set_gdal_config("GDAL_CACHEMAX", default)
