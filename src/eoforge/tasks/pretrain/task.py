"""Self-supervised pretraining of a spectral encoder: SimCLR, MoCo-v2, SoftCon or MAE.

Model contract: the encoder maps ``image [B, C, H, W] -> [B, D]`` (an
``embedding`` network: :class:`~eoforge.models.encoders.SpectralViT` or
:class:`~eoforge.models.encoders.SpectralResNet`); MAE needs the ViT. Batch
keys: ``image`` in physical units, optional ``valid`` ``[B, H, W]``, and for
SoftCon ``fractions`` float32 ``[B, K]`` (land-cover share of each class in
the window) or, for chips such as BigEarthNet's, multi-hot ``label``
``[B, K]`` (used when ``fractions`` is absent).

Each step standardises and blanks the batch, draws views on the device
(:mod:`.views`) and scores the method's loss:

* ``simclr``: two views, one encoder pass over both, projection MLP, NT-Xent.
* ``moco``: view ``a`` through the encoder, view ``b`` through its momentum
  copy (updated before each training step), InfoNCE against a queue of
  earlier keys; the keys of every rank (Lightning's ``all_gather``) enter the
  queue, so all ranks keep the same queue. The key pass runs in inference
  mode, the encoder still in training mode: its batch norm normalises each
  key batch by that batch's own statistics, as TorchGeo's ``MoCoTask`` does.
  Neither shuffles batches across ranks before the key pass (MoCo's
  shuffle-BN); on one device shuffling changes nothing (a batch's statistics
  do not depend on its order), on several each rank's keys are normalised
  by its own batch. The momentum copy takes the online encoder's running
  statistics at each update (TorchGeo's keep following the key batches);
  only evaluation-mode passes read them.
* ``softcon``: two views, projection MLP, soft contrastive loss against the
  land-cover similarity of the windows (:mod:`eoforge.models.ssl.softcon`).
* ``mae``: one view, masked reconstruction at several scales, optionally
  with one token per spectral group (:mod:`eoforge.models.ssl.mae`).

Contrastive negatives are those of the local batch (and, for MoCo, the
gathered queue). Logged: ``train/loss_step``, ``train/images_per_s_step`` (all
ranks' images per second of wall time between steps, data loading
included), and per epoch ``train/loss``, ``val/loss`` and
``train/images_per_s``. Validation views and masks come from a generator
seeded by the batch index, so ``val/loss`` compares epochs on the same
views and leaves the training draws untouched. The encoder alone is what
the bundle keeps.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from eoforge.errors import ConfigError, available_list
from eoforge.models.encoders import SpectralViT, canonical_bands
from eoforge.models.ssl import (
    FeatureQueue,
    MaskedAutoencoder,
    ProjectionHead,
    fraction_similarity,
    moco_loss,
    momentum_update,
    nt_xent,
    soft_contrastive,
    wavelength_groups,
)
from eoforge.tasks.base import Batch, EOTask, Stage, blank_invalid
from eoforge.tasks.pretrain.optim import contiguous_steps
from eoforge.tasks.pretrain.views import ViewSettings, random_view

Method = Literal["simclr", "moco", "softcon", "mae"]
METHODS: tuple[Method, ...] = ("simclr", "moco", "softcon", "mae")
DEFAULT_TEMPERATURE = {"simclr": 0.1, "moco": 0.2}
"""SimCLR's and MoCo-v2's usual temperatures."""


def channel_groups(
    groups: str | Sequence[Sequence[str]], bands: list[str]
) -> list[list[int]] | None:
    """Channel indices of MAE's spectral groups (None: no grouping).

    Args:
        groups: ``"none"``, ``"wavelength"`` or lists of band names.
        bands: The encoder's canonical bands, channel order.

    Raises:
        ConfigError: An unknown word, or named groups that do not split the bands.
    """
    if isinstance(groups, str):
        if groups == "none":
            return None
        if groups == "wavelength":
            return wavelength_groups(bands)
        raise ConfigError(
            f"unknown spectral grouping {groups!r}.",
            fix="use 'none', 'wavelength' or lists of band names.",
        )
    position = {name: i for i, name in enumerate(bands)}
    named = [canonical_bands(group) for group in groups]
    missing = sorted({b for group in named for b in group} - set(position))
    if missing:
        raise ConfigError(
            f"spectral groups name {missing}, which are not input bands {bands}.",
            fix="group the bands of data.bands, each once.",
        )
    return [[position[b] for b in group] for group in named]


class PretrainTask(EOTask):
    """Self-supervised pretraining of an encoder (see the module docstring).

    Args:
        model: The encoder, ``[B, C, H, W] -> [B, D]`` with ``num_features == D``.
        method: ``simclr``, ``moco``, ``softcon`` or ``mae``.
        temperature: Contrastive temperature (default 0.1 SimCLR, 0.2 MoCo).
        projection_dim: Output width of the projection MLP.
        hidden_dim: Hidden width of the projection MLP.
        queue_size: MoCo keys kept.
        momentum: MoCo's momentum-encoder coefficient.
        similarity: SoftCon's land-cover similarity, ``cosine`` or ``jaccard``.
        soft_loss: SoftCon's loss, ``bce`` or ``mse``.
        mask_ratio: MAE's share of masked patches.
        decoder_dim: MAE decoder width.
        decoder_depth: MAE decoder blocks.
        scales: MAE reconstruction scales (divisors of the patch size).
        norm_pix: MAE's per-patch normalised targets.
        groups: MAE's spectral groups: ``"none"`` (one token per patch),
            ``"wavelength"`` (visible / red edge / NIR / SWIR, see
            :func:`~eoforge.models.ssl.mae.wavelength_groups`) or lists of band names.
        crop_scale: Views: range of a crop's share of the window's area.
        crop_ratio: Views: range of a crop's aspect ratio.
        d4: Views: random flips and quarter turns.
        gain: Views: std of the per-band gain jitter.
        offset: Views: std of the per-band offset jitter (band standard deviations).
        channels_last: Run a convolutional encoder (anything but ``spectral_vit``) on
            channels-last views with its convolution kernels stored channels-last too,
            on CPUs and GPUs (their convolutions' fast layout; channels-last images
            against plain kernels make the backward pass slower than either layout
            alone). The same values up to float rounding; bundles are written in the
            plain layout.
        **options: :class:`~eoforge.tasks.base.EOTask` arguments
            (``lr``, ``optimizer``, ``normalization``...); ``augment`` is
            forced off (views replace it).

    Raises:
        ConfigError: Unknown method, MAE on a non-ViT, or bad options.
    """

    kind = "pretrain"
    default_loss = "method"
    fused_optimizer = True

    def __init__(
        self,
        model: nn.Module,
        *,
        method: str = "simclr",
        temperature: float | None = None,
        projection_dim: int = 128,
        hidden_dim: int = 512,
        queue_size: int = 4096,
        momentum: float = 0.99,
        similarity: str = "cosine",
        soft_loss: str = "bce",
        mask_ratio: float = 0.75,
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        scales: Sequence[int] = (1, 2),
        norm_pix: bool = True,
        groups: str | Sequence[Sequence[str]] = "none",
        crop_scale: Sequence[float] = (0.3, 1.0),
        crop_ratio: Sequence[float] = (3 / 4, 4 / 3),
        d4: bool = True,
        gain: float = 0.1,
        offset: float = 0.1,
        channels_last: bool = True,
        **options: Any,
    ) -> None:
        options["augment"] = False
        super().__init__(model, **options)
        if method not in METHODS:
            raise ConfigError(
                f"unknown pretraining method {method!r}.",
                fix=f"use one of {available_list(METHODS)}.",
            )
        if similarity not in ("cosine", "jaccard") or soft_loss not in ("bce", "mse"):
            raise ConfigError(
                f"SoftCon similarity {similarity!r} / loss {soft_loss!r} unknown.",
                fix="use similarity cosine or jaccard, soft_loss bce or mse.",
            )
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"momentum {momentum} is outside [0, 1].", fix="use e.g. 0.99.")
        self.method: Method = method  # narrowed by the check above
        self.temperature = float(temperature or DEFAULT_TEMPERATURE.get(method, 0.1))
        self.momentum = momentum
        self.similarity: Literal["cosine", "jaccard"] = cast(Any, similarity)
        self.soft_loss: Literal["bce", "mse"] = cast(Any, soft_loss)
        self.views = ViewSettings(
            crop_scale=(float(crop_scale[0]), float(crop_scale[1])),
            crop_ratio=(float(crop_ratio[0]), float(crop_ratio[1])),
            d4=d4,
            gain=gain,
            offset=offset,
        )
        self.channels_last = channels_last and not isinstance(model, SpectralViT)
        if self.channels_last:  # 4-d weights only; the momentum copy below inherits it
            model.to(memory_format=torch.channels_last)
        self.mae: MaskedAutoencoder | None = None
        self.projector: ProjectionHead | None = None
        self.momentum_encoder: nn.Module | None = None
        self.momentum_projector: nn.Module | None = None
        self.queue: FeatureQueue | None = None
        width = int(getattr(model, "num_features", 0))
        if method == "mae":
            if not isinstance(model, SpectralViT):
                raise ConfigError(
                    f"MAE pretraining needs a spectral_vit encoder, got {type(model).__name__}.",
                    fix="use model.arch spectral_vit, or method simclr/moco/softcon.",
                )
            bands = list(model.bands or ())
            self.mae = MaskedAutoencoder(
                model,
                len(bands),
                mask_ratio=mask_ratio,
                decoder_dim=decoder_dim,
                decoder_depth=decoder_depth,
                scales=scales,
                norm_pix=norm_pix,
                groups=channel_groups(groups, bands),
            )
        else:
            if width < 1:
                raise ConfigError(
                    f"{type(model).__name__} has no num_features: cannot size the projection.",
                    fix="use model.arch spectral_vit or spectral_resnet.",
                )
            self.projector = ProjectionHead(width, hidden_dim, projection_dim)
        if method == "moco":
            self.momentum_encoder = copy.deepcopy(model).requires_grad_(False)
            assert self.projector is not None
            self.momentum_projector = copy.deepcopy(self.projector).requires_grad_(False)
            self.queue = FeatureQueue(queue_size, projection_dim)
        self.hparams.update(
            {
                "method": method,
                "temperature": self.temperature,
                "projection_dim": projection_dim,
                "hidden_dim": hidden_dim,
                "queue_size": queue_size,
                "momentum": momentum,
                "similarity": similarity,
                "soft_loss": soft_loss,
                "mask_ratio": mask_ratio,
                "decoder_dim": decoder_dim,
                "decoder_depth": decoder_depth,
                "scales": list(scales),
                "norm_pix": norm_pix,
                "groups": groups if isinstance(groups, str) else [list(g) for g in groups],
                "crop_scale": list(self.views.crop_scale),
                "crop_ratio": list(self.views.crop_ratio),
                "d4": self.views.d4,
                "gain": self.views.gain,
                "offset": self.views.offset,
                "channels_last": channels_last,
            }
        )
        self._pending_keys: Tensor | None = None
        self._last_step_end: float | None = None
        self._epoch_images = 0
        self._epoch_seconds = 0.0

    # --- what EOTask asks of a task -------------------------------------------------

    def make_metrics(self) -> MetricCollection:
        """None: pretraining reports its loss and throughput only."""
        return MetricCollection({})

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Embeddings ``[B, D]`` and the windows' class fractions ``[B, K]`` (or ``[B, 0]``)."""
        fractions = batch.get("fractions")
        if fractions is None:
            fractions = output.new_zeros(output.shape[0], 0)
        return output, fractions

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """Refused: a pretraining loss compares views, which :meth:`pretrain_loss` draws.

        Raises:
            ConfigError: Always.
        """
        raise ConfigError(
            "a pretraining loss is computed from two views of a batch, not from predictions.",
            fix="call pretrain_loss(batch) (training_step does).",
        )

    def check_loss(self) -> None:
        """Accept no ``task.loss``: the method fixes the loss."""
        if self.loss_name != self.default_loss:
            raise ConfigError(
                f"task.loss {self.loss_name!r} is not used by pretraining.",
                fix="remove task.loss; task.method chooses the loss.",
            )

    def configure_optimizers(self) -> Any:
        """The base task's optimiser, stepping channels-last kernels without copies.

        With channels-last kernels a fused Adam/AdamW steps them through contiguous
        views of the same memory (:mod:`eoforge.tasks.pretrain.optim`).
        """
        config = super().configure_optimizers()
        if self.channels_last:
            contiguous_steps(config["optimizer"] if isinstance(config, dict) else config)
        return config

    # --- the losses -------------------------------------------------------------------

    def _standardised(self, batch: Batch) -> Tensor:
        image: Tensor = batch["image"]
        x = image if self.normalize is None else self.normalize(image)
        return blank_invalid(x, batch.get("valid"))

    def _encode(self, encoder: nn.Module, views: Tensor) -> Tensor:
        """Features ``[B, D]`` of ``views`` (channels-last for convolutional encoders)."""
        if self.channels_last:  # a no-op for views drawn channels-last
            views = views.contiguous(memory_format=torch.channels_last)
        out: Tensor = encoder(views)
        return out

    def _project(self, x: Tensor) -> Tensor:
        assert self.projector is not None
        out: Tensor = self.projector(self._encode(self.model, x))
        return out

    def pretrain_loss(
        self, batch: Batch, update: bool = False, generator: torch.Generator | None = None
    ) -> Tensor:
        """The method's loss on a batch (views drawn here).

        Args:
            batch: Batch with ``image`` (and ``fractions`` for SoftCon).
            update: Training step: update MoCo's momentum encoder and queue.
            generator: Draws views and masks (None: torch's global generator).

        Raises:
            ConfigError: SoftCon without ``fractions`` in the batch.
        """
        x = self._standardised(batch)
        if self.mae is not None:
            loss: Tensor = self.mae(random_view(x, self.views, generator), None, generator)[0]
            return loss
        layout = self.channels_last  # views drawn in the encoder's layout: no copy in _encode
        a = random_view(x, self.views, generator, channels_last=layout)
        b = random_view(x, self.views, generator, channels_last=layout)
        if self.method == "moco":
            return self._moco(a, b, update)
        za, zb = self._project(torch.cat([a, b])).chunk(2)
        if self.method == "simclr":
            return nt_xent(za, zb, self.temperature)
        fractions = batch.get("fractions")
        label = batch.get("label")
        if fractions is None and isinstance(label, Tensor) and label.dim() == 2:
            fractions = label  # multi-hot land-cover labels of chips (BigEarthNet)
        if fractions is None:
            raise ConfigError(
                "SoftCon needs each window's land-cover fractions (batch key 'fractions') "
                "or multi-hot labels ('label' [B, K]).",
                fix="give data.train.label (a land-cover layer) and its classes or legend.",
            )
        target = fraction_similarity(fractions, self.similarity)
        return soft_contrastive(za, zb, target, self.soft_loss)

    def update_momentum(self) -> None:
        """MoCo: move the momentum encoder and projection towards the trained ones."""
        assert self.momentum_encoder is not None and self.momentum_projector is not None
        assert self.projector is not None
        momentum_update(self.model, self.momentum_encoder, self.momentum)
        momentum_update(self.projector, self.momentum_projector, self.momentum)

    def keys(self, views: Tensor) -> Tensor:
        """MoCo's keys ``[B, d]`` of ``views`` ``[B, C, H, W]``: momentum encoder and projection."""
        assert self.momentum_encoder is not None and self.momentum_projector is not None
        with torch.inference_mode():  # no autograd bookkeeping at all for the key pass
            key: Tensor = self.momentum_projector(self._encode(self.momentum_encoder, views))
        # a normal tensor again ([B, d], a few KiB): the loss saves it for its backward pass
        return key.clone()

    def _moco(self, a: Tensor, b: Tensor, update: bool) -> Tensor:
        assert self.momentum_encoder is not None and self.momentum_projector is not None
        assert self.queue is not None and self.projector is not None
        if update:
            self.update_momentum()
        query = self._project(a)
        key = self.keys(b)
        loss = moco_loss(query, key, self.queue.keys, self.temperature)
        if update:  # enqueued after the backward pass (which needs the queue as it is)
            keys = key.detach()
            if self._trainer is not None and self.trainer.world_size > 1:
                keys = cast(Tensor, self.all_gather(keys)).reshape(-1, key.shape[-1])
            self._pending_keys = keys
        return loss

    # --- steps ---------------------------------------------------------------------------

    def _step(self, batch: Batch, stage: Stage, batch_idx: int = 0) -> Tensor:
        generator = None
        if stage != "train":  # the same views every evaluation, and no draw from the global RNG
            generator = torch.Generator(batch["image"].device).manual_seed(batch_idx)
        loss = self.pretrain_loss(batch, update=stage == "train", generator=generator)
        size = int(batch["image"].shape[0])
        if stage == "train":
            self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
        self._loss_mean(stage).update(loss.detach(), weight=size)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """The loss on fixed views of a validation batch (seeded by its index)."""
        return self._step(batch, "val", batch_idx)

    def test_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """The loss on fixed views of a test batch (seeded by its index)."""
        return self._step(batch, "test", batch_idx)

    def on_after_backward(self) -> None:
        """Enqueue MoCo's keys of this step (before any step-end checkpoint is written)."""
        if self.queue is not None and self._pending_keys is not None:
            self.queue.push(self._pending_keys)
            self._pending_keys = None

    def on_train_epoch_start(self) -> None:
        """Restart the throughput clock (the first step of an epoch is not timed)."""
        self._last_step_end = None
        self._epoch_images, self._epoch_seconds = 0, 0.0

    def on_train_batch_end(self, outputs: Any, batch: Batch, batch_idx: int) -> None:
        """Log images per second over all ranks since the previous step ended."""
        now = time.perf_counter()
        if self._last_step_end is not None:
            seconds = now - self._last_step_end
            images = int(batch["image"].shape[0]) * self.trainer.world_size
            self._epoch_images += images
            self._epoch_seconds += seconds
            self.log("train/images_per_s_step", images / max(seconds, 1e-9), batch_size=images)
        self._last_step_end = now

    def on_train_epoch_end(self) -> None:
        """Training loss and the epoch's mean throughput (when two or more steps ran)."""
        super().on_train_epoch_end()
        if self._epoch_seconds > 0:
            rate = self._epoch_images / self._epoch_seconds
            self.log("train/images_per_s", rate)
            if self.history["train"]:
                self.history["train"][-1]["train/images_per_s"] = rate
