"""The pieces of a pretraining run (``task.kind: pretrain``): encoder spec and task.

The network is the config's encoder built for the ``embedding`` task
(``[B, C, H, W] -> [B, D]``), so the exported bundle is an embedding bundle
of the encoder alone: its bands, normalisation, input size (the training
patch size) and, for ``spectral_vit``, its pooling (``model.options.pool``,
written out explicitly).
"""

from __future__ import annotations

from typing import Any

from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.models import ModelSpec, build_model
from eoforge.tasks.pretrain import PretrainTask


def pretrain_spec(config: ExperimentConfig, data: ExperimentData) -> ModelSpec:
    """The encoder's spec: task ``embedding``, bands from the data, pooling explicit."""
    m = config.model
    options = dict(m.options)
    if m.arch == "spectral_vit":
        options.setdefault("pool", "cls")
    return m.spec("embedding", data.bands, 1, options)


def pretrain_task(config: ExperimentConfig, spec: ModelSpec, norm: tuple[Any, Any]) -> PretrainTask:
    """The pretraining task around a fresh encoder, as ``task.method`` and ``task.ssl`` say."""
    t, o, s = config.task, config.optim, config.task.ssl
    assert t.method is not None  # the config requires it for pretraining
    return PretrainTask(
        build_model(spec),
        method=t.method,
        temperature=s.temperature,
        projection_dim=s.projection_dim,
        hidden_dim=s.hidden_dim,
        queue_size=s.queue_size,
        momentum=s.momentum,
        similarity=s.similarity,
        soft_loss=s.soft_loss,
        mask_ratio=s.mask_ratio,
        decoder_dim=s.decoder_dim,
        decoder_depth=s.decoder_depth,
        scales=s.scales,
        norm_pix=s.norm_pix,
        groups=s.groups,
        crop_scale=s.crop_scale,
        crop_ratio=s.crop_ratio,
        d4=s.d4,
        gain=s.gain,
        offset=s.offset,
        model_spec=spec,
        lr=o.lr,
        weight_decay=o.weight_decay,
        optimizer=o.optimizer,
        scheduler=o.scheduler,
        max_epochs=config.trainer.max_epochs,
        normalization=norm,
    )
