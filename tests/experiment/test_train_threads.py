"""``trainer.threads`` applies to the run only: the caller's process keeps its thread count."""

from __future__ import annotations

from pathlib import Path

import torch
from tests.experiment.helpers import segmentation_config, write_config

from eoforge.experiment import load_config, train


def test_a_run_with_its_own_threads_gives_the_callers_count_back(
    tiny_scene: Path, tmp_path: Path
) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "run", max_epochs=1)
    raw["data"].update(samples_per_epoch=4, batch_size=4, patch_size=64)
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    raw["trainer"]["threads"] = wanted
    seen: list[int] = []

    hook = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda module, args: seen.append(torch.get_num_threads()) if not seen else None
    )
    try:
        result = train(load_config(write_config(tmp_path / "c.yaml", raw)), progress=False)
    finally:
        hook.remove()
    assert result.bundle.is_dir()
    assert seen == [wanted]  # the run trained with its own count ...
    assert torch.get_num_threads() == before  # ... and gave the caller's back
