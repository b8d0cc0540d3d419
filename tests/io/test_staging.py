"""A staged folder replaces its target whole, or leaves it as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.io.staging import staged_folder


def test_a_finished_block_replaces_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "index"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with staged_folder(target) as staging:
        assert staging.parent == tmp_path and not any(staging.iterdir())
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["index"]  # no staging folder left


def test_a_crash_leaves_the_old_folder_and_no_partial_one(tmp_path: Path) -> None:
    target = tmp_path / "index"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), staged_folder(target) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("disk full")
    assert (target / "old.txt").read_text() == "old" and not (target / "half.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
