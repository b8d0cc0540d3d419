"""The public names of eoforge.evaluate, and what importing it loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

import eoforge.evaluate
from eoforge.evaluate import curves, figures, maps, matrices, readers

FIGURE_NAMES = {
    "quicklook": maps,
    "class_map": maps,
    "error_map": maps,
    "percentile_stretch": maps,
    "confusion_matrix": matrices,
    "normalized_matrix": matrices,
    "learning_curves": curves,
    "save_png": figures,
    "new_figure": figures,
    "read_classes": readers,
    "read_metrics_csv": readers,
}


@pytest.mark.parametrize("name", sorted(FIGURE_NAMES))
def test_figure_functions_are_public_names_of_the_package(name: str) -> None:
    assert getattr(eoforge.evaluate, name) is getattr(FIGURE_NAMES[name], name)
    assert name in eoforge.evaluate.__all__ and name in dir(eoforge.evaluate)


def test_every_public_name_resolves_and_unknown_ones_raise() -> None:
    for name in eoforge.evaluate.__all__:
        assert getattr(eoforge.evaluate, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'plots'"):
        _ = eoforge.evaluate.plots  # type: ignore[attr-defined]


def test_scoring_maps_does_not_load_matplotlib() -> None:
    code = (
        "import sys\n"
        "from eoforge.evaluate import evaluate_maps, read_classes\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib loaded'\n"
        "from eoforge.evaluate import class_map\n"
        "assert 'matplotlib' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
