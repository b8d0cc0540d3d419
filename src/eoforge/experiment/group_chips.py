"""``data.kind: group_chips``: places stored per input group, trained as multi-input samples.

Each split folder holds one sub-folder per input group and a mask folder of
same-named images (BRIGHT's prepared ``pre/``, ``post/``, ``target/``).
Training draws one random ``patch_size`` crop per place and step (the same
window in every group); validation reads whole places. The experiment data
carries the groups (``inputs``: bands and the recorded GSD per group), so the
multi-input path of training applies unchanged: per-group normalisation, the
fusion network's spec and :class:`~eoforge.tasks.fusion.FusionSegmentationTask`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from eoforge.data.group_chips import ChipGroup, GroupChipDataset
from eoforge.experiment.classes import config_classes
from eoforge.experiment.config import ExperimentConfig, GroupChipsData
from eoforge.experiment.data import ExperimentData
from eoforge.experiment.sampling import ShuffledIndices

Sample = dict[str, Any]


def group_chips_data(config: ExperimentConfig, data: GroupChipsData) -> ExperimentData:
    """Datasets, samplers and statistics of ``group_chips`` data.

    Raises:
        ConfigError: A split without places, a place lacking a file, band counts
            that do not match the groups (see :class:`GroupChipDataset`).
    """
    assert data.classes is not None  # the config requires them
    classes = config_classes(data.classes)
    groups = {n: ChipGroup(g.folder, tuple(g.bands)) for n, g in data.inputs.items()}
    ignore, seed = config.task.ignore_index, config.trainer.seed

    def places(root: Any, crop: int | None, only: list[str] | None = None) -> GroupChipDataset:
        return GroupChipDataset(
            root,
            groups,
            data.label,
            len(classes.names),
            crop=crop,
            ignore_index=ignore,
            names=only,
            lookup=classes.lookup(ignore),
        )

    train = places(data.root, data.patch_size)
    if data.val_root is not None:
        val = places(data.val_root, None)
    else:  # hold out val_fraction of the places, drawn with the run's seed
        stems = [label.stem for label in train.labels]
        order = np.random.default_rng(seed).permutation(len(stems))
        held = max(1, round(data.val_fraction * len(stems)))
        if held >= len(stems):
            held = len(stems) - 1
        val = places(data.root, None, [stems[i] for i in order[:held]])
        train = places(data.root, data.patch_size, [stems[i] for i in order[held:]])
    size, val_size = len(train), len(val)

    def stats() -> Iterator[Sample]:
        order = np.random.default_rng(seed + 1).permutation(size)
        for index in order[: data.stats_samples]:
            yield train[int(index)]

    return ExperimentData(
        train=train,
        val=val,
        train_sampler=lambda: ShuffledIndices(size, shuffle=True, seed=seed),
        val_sampler=lambda: ShuffledIndices(val_size, shuffle=False),
        bands=train.bands,
        classes=classes,
        gsd=data.gsd,
        patch_size=data.patch_size,
        stats_samples=stats,
        inputs={n: {"bands": list(g.bands), "gsd": data.gsd} for n, g in data.inputs.items()},
        label_grid=next(iter(data.inputs)),
    )
