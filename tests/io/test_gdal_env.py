"""GDAL settings eoforge applies: the block cache bound while a scene streams."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import rasterio
import rasterio.env

from eoforge.io.gdal_env import MIB, streaming_block_cache


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
