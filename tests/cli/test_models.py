"""``eoforge models`` lists every registered architecture with its tasks."""

from __future__ import annotations

import sys

import pytest

from eoforge.cli.main import main
from eoforge.models import list_models


def test_models_table_lists_architectures_and_tasks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["eoforge", "models"])
    monkeypatch.setenv("COLUMNS", "250")
    main()  # returns normally on success
    out = capsys.readouterr().out
    for info in list_models():
        assert info.name in out
    assert "fc_siam_diff" in out and "change" in out and "pixel_forest" in out
    assert f"{len(list_models())} architectures" in out
