"""The README's Python blocks run, as written, against the fast demo's outputs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    """Every fenced ```python block of the README, in order."""
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(python_blocks()) >= 2


@pytest.mark.timeout(900)
def test_readme_python_blocks_run(
    fast_demo: tuple[Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, run = fast_demo
    assert run.returncode == 0, run.stderr[-3000:]
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "demo").symlink_to(out)
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(python_blocks()):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), {"__name__": "__readme__"})
    miou = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.2 < miou <= 1.0
    classes = next((tmp_path / "maps").glob("*_classes.tif"))
    with rasterio.open(classes) as ds:
        assert ds.tags(1)["CLASS_6"] == "built_up"
    assert len(gpd.read_parquet(next((tmp_path / "maps").glob("*_classes.parquet")))) > 0
    with rasterio.open(next((tmp_path / "ndvi").glob("*_values.tif"))) as ds:
        ndvi = ds.read(1)
        assert ds.descriptions == ("ndvi",)
    assert np.isfinite(ndvi).mean() > 0.9 and abs(float(np.nanmedian(ndvi))) < 1.0
    windows = gpd.read_parquet(next((tmp_path / "emb").glob("*_embeddings.parquet")))
    assert len(windows) > 0 and len(windows.embedding.iloc[0]) == 2
