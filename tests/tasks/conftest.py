"""Every task test: one thread, fixed seed."""

from __future__ import annotations

import lightning as L
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread_and_seed() -> None:
    torch.set_num_threads(1)
    L.seed_everything(0, verbose=False)
