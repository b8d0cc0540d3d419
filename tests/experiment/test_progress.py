"""Training progress: one bar with epoch, step, loss and metric; framework notes hidden."""

from __future__ import annotations

import ast
import io
import logging
import re
import warnings
from pathlib import Path

from rich.console import Console
from tests.experiment.helpers import chip_config, write_config, write_random_chips

from eoforge.experiment import load_config, train
from eoforge.experiment.progress import framework_notes_hidden

SRC = Path(__file__).resolve().parents[2] / "src" / "eoforge"


def test_one_bar_shows_epoch_step_loss_and_the_monitored_metric(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips")  # 12 chips: 10 train (2 batches), 2 val
    raw = chip_config(root, tmp_path / "run")
    raw["trainer"]["max_epochs"] = 2
    screen = io.StringIO()
    console = Console(file=screen, width=200, force_terminal=False)
    result = train(load_config(write_config(tmp_path / "c.yaml", raw)), console=console)
    text = screen.getvalue()
    assert result.monitor == "val/accuracy"
    final = re.search(
        r"epoch 2/2 .* step 4/4 train loss (\d+\.\d{4}) val/accuracy (\d\.\d{4})", text
    )
    assert final is not None, text
    assert float(final.group(2)) == round(result.metrics["val/accuracy"], 4)
    assert "v_num" not in text and "Epoch 1" not in text  # not Lightning's own bar


def test_no_bar_without_progress(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips")
    screen = io.StringIO()
    console = Console(file=screen, width=200, force_terminal=False)
    config = load_config(write_config(tmp_path / "c.yaml", chip_config(root, tmp_path / "run")))
    train(config, progress=False, console=console)
    assert screen.getvalue() == ""


def test_framework_notes_are_hidden_and_other_warnings_kept() -> None:
    lightning = logging.getLogger("lightning.pytorch")
    before = lightning.level
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with framework_notes_hidden():
            assert lightning.getEffectiveLevel() == logging.WARNING
            warnings.warn(
                "`isinstance(treespec, LeafSpec)` is deprecated, use `...` instead.",
                FutureWarning,
                stacklevel=1,
            )
            warnings.warn(
                "The number of training batches (3) is smaller than the logging interval",
                stacklevel=1,
            )
            warnings.warn("eoforge: scene.tif has no nodata value.", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["eoforge: scene.tif has no nodata value."]
    assert lightning.level == before


def _local_imports(path: Path) -> list[str]:
    """``file:line`` of each import inside a function that no comment explains.

    A comment on the line above a run of imports explains the whole run.
    """
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                row = inner.lineno - 2
                while lines[row].strip().startswith(("from ", "import ")):
                    row -= 1
                if not lines[row].strip().startswith("#"):
                    found.append(f"{path.name}:{inner.lineno}")
    return found


def test_experiment_modules_import_at_module_level() -> None:
    files = [*sorted((SRC / "experiment").glob("*.py")), SRC / "cli" / "train.py"]
    assert [hit for path in files for hit in _local_imports(path)] == []
