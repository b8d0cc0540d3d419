"""An eoforge error raised in a DataLoader worker reaches the caller as itself."""

from __future__ import annotations

import multiprocessing
import re
import traceback
from contextlib import nullcontext
from pathlib import Path

import pytest
from tests.experiment.helpers import chip_config, write_config, write_random_chips
from torch.utils.data import DataLoader, Dataset

from eoforge.errors import ConfigError, UnreadableFileError
from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.experiment.datamodule import ExperimentDataModule
from eoforge.experiment.workers import worker_errors_unwrapped

FIX = "check the file is a valid raster."


class _Failing(Dataset[int]):
    """Item 3 raises a ConfigError naming a file, the others are their index."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> int:
        if index == 3:
            raise ConfigError("item 3: broken: really.", path="/data/a: b.tif", fix="mend it.")
        return index


def _error_of(loader: DataLoader[int], *, unwrapped: bool) -> ConfigError:
    """The error reading ``loader`` raises, optionally through the training boundary."""
    try:
        with worker_errors_unwrapped() if unwrapped else nullcontext():
            [int(v) for batch in loader for v in batch]
    except ConfigError as error:
        # Drop the finished frames' locals now: the loader's iterator goes with them and
        # stops its workers at once, instead of whenever the garbage collector runs.
        for chained in (error, error.__cause__):
            if chained is not None:
                traceback.clear_frames(chained.__traceback__)
        return error
    raise AssertionError("the loader raised nothing")


def test_pytorch_wraps_the_worker_error_and_the_boundary_gives_it_back() -> None:
    loader = DataLoader(_Failing(), batch_size=2, num_workers=2)
    wrapped = _error_of(loader, unwrapped=False)
    assert "Caught ConfigError in DataLoader worker process" in str(wrapped)
    error = _error_of(loader, unwrapped=True)
    assert str(error) == "/data/a: b.tif: item 3: broken: really. Fix: mend it."
    assert error.fix == "mend it." and type(error) is ConfigError
    assert "Caught ConfigError" in str(error.__cause__)  # the worker's traceback, for --debug


def test_errors_outside_workers_pass_unchanged() -> None:
    original = ConfigError("bad.", path="x.tif", fix="fix it.")
    with pytest.raises(ConfigError) as caught, worker_errors_unwrapped():
        raise original
    assert caught.value is original and caught.value.path == "x.tif"


def test_a_corrupt_chip_read_by_a_worker_stops_training_with_its_own_error(
    tmp_path: Path,
) -> None:
    root = write_random_chips(tmp_path / "chips")
    val = write_random_chips(tmp_path / "val", per_class=2)
    corrupt = val / "dark" / "chip_99.tif"
    corrupt.write_bytes(b"II*\x00 not a TIFF after all")
    raw = chip_config(root, tmp_path / "run", val_root=str(val), num_workers=2)
    config = load_config(write_config(tmp_path / "bad.yaml", raw))
    with pytest.raises(
        UnreadableFileError, match=f"^{re.escape(str(corrupt))}: cannot read"
    ) as caught:
        train(config, progress=False)
    message = str(caught.value)
    assert message.endswith(f"Fix: {FIX}") and caught.value.fix == FIX
    assert "Traceback" not in message and "\n" not in message


def test_stop_workers_ends_the_persistent_loader_processes(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips")
    config = load_config(write_config(tmp_path / "c.yaml", chip_config(root, tmp_path / "run")))
    module = ExperimentDataModule(build_data(config, tmp_path), 4, 2, seed=0)
    next(iter(module.train_dataloader()))
    assert len(multiprocessing.active_children()) == 2  # persistent: they wait for the next epoch
    module.stop_workers()
    assert multiprocessing.active_children() == []
