"""PretrainTask: views drawn on the tensor, and each method overfits a fixed batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from tests.tasks.helpers import loader, trainer

from eoforge.errors import ConfigError
from eoforge.models.encoders import SpectralResNet, spectral_vit
from eoforge.tasks import PretrainTask, build_task
from eoforge.tasks.pretrain import ViewSettings, random_view
from eoforge.transforms.d4 import D4

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _images(n: int = 8, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Smooth random fields, distinct per sample, ``[n, 4, size, size]``."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n, 4, size // 8, size // 8, generator=gen)
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)


def test_identity_view_is_the_image() -> None:
    x = torch.randn(3, 4, 16, 16)
    settings = ViewSettings(
        crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), d4=False, gain=0, offset=0
    )
    assert torch.allclose(random_view(x, settings), x, atol=1e-5)


def test_full_crop_views_are_d4_copies_with_per_band_jitter() -> None:
    x = torch.rand(6, 4, 16, 16) + 1.0  # positive: the gain is read off as view / image
    settings = ViewSettings(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), gain=0, offset=0)
    out = random_view(x, settings, torch.Generator().manual_seed(2))
    d4 = D4()
    copies = [d4({"image": x}, torch.full((6,), e))["image"] for e in range(8)]
    for i in range(6):
        assert any(torch.allclose(out[i], c[i], atol=1e-5) for c in copies)
    jitter = ViewSettings(
        crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), d4=False, gain=0.5, offset=0
    )
    scaled = random_view(x, jitter) / x  # one gain per sample and band
    flat = scaled.flatten(2)
    assert torch.allclose(flat, flat[..., :1].expand_as(flat), rtol=1e-3, atol=1e-3)


def test_crops_zoom_in() -> None:
    x = torch.linspace(0, 1, 32).expand(1, 1, 32, 32).contiguous()  # ramp along columns
    settings = ViewSettings(
        crop_scale=(0.25, 0.25), crop_ratio=(1.0, 1.0), d4=False, gain=0, offset=0
    )
    view = random_view(x, settings)
    span = float(view[0, 0, 0, -1] - view[0, 0, 0, 0])
    assert span == pytest.approx(0.5 * 31 / 31, abs=0.05)  # half the width seen across the view


class StepLosses(L.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(
        self, trainer: Any, module: Any, outputs: Any, batch: Any, i: int
    ) -> None:
        self.losses.append(float(outputs["loss"]))


def _task(method: str, **options: Any) -> PretrainTask:
    torch.manual_seed(0)
    encoder = (
        SpectralResNet("resnet18", bands=BANDS)
        if options.pop("resnet", False)
        else spectral_vit("tiny", depth=1, patch_size=8, bands=BANDS)
    )
    options.setdefault("crop_scale", (0.6, 1.0))
    options.setdefault("lr", 5e-4)
    task = build_task(
        "pretrain", encoder, method=method, scheduler=None, weight_decay=0.0, **options
    )
    assert isinstance(task, PretrainTask)
    return task


def _overfit(task: PretrainTask, batch: dict[str, torch.Tensor], steps: int) -> list[float]:
    torch.manual_seed(0)
    record = StepLosses()
    trainer(max_steps=steps, callbacks=[record]).fit(task, loader(batch, batch_size=8))
    return record.losses


FRACTIONS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]] * 2)


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("simclr", {}),
        ("softcon", {}),
        ("mae", {}),
        ("mae", {"groups": "wavelength"}),
        ("mae", {"groups": [["S2.B02", "S2.B03"], ["S2.red", "S2.B08"]]}),
        ("simclr", {"resnet": True}),
    ],
)
def test_each_method_overfits_a_fixed_batch(method: str, options: dict[str, Any]) -> None:
    task = _task(method, **options)
    batch = {"image": _images(), "fractions": FRACTIONS}
    losses = _overfit(task, batch, 40)
    assert len(losses) == 40 and all(torch.isfinite(torch.tensor(losses)))
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.9 * first, losses


def test_moco_learns_a_fixed_batch() -> None:
    """From the second step the queue holds the batch's own earlier keys (one near-copy of
    each positive), so the loss stays above log 2; it must still fall as the others part."""
    task = _task("moco", queue_size=8, momentum=0.9, crop_scale=(0.8, 1.0), d4=False, lr=1e-3)
    losses = _overfit(task, {"image": _images()}, 48)
    assert all(torch.isfinite(torch.tensor(losses)))
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.9 * first, losses


def test_moco_queue_takes_each_steps_keys_and_momentum_encoder_lags() -> None:
    task = _task("moco", queue_size=32, momentum=0.9)
    assert task.queue is not None and task.momentum_encoder is not None
    _overfit(task, {"image": _images()}, 3)
    assert int(task.queue.pointer) == 24  # 3 steps x 8 keys, in order
    online = dict(task.model.named_parameters())
    lagging = dict(task.momentum_encoder.named_parameters())
    assert not any(p.requires_grad for p in lagging.values())
    name = "blocks.0.attn.qkv.weight"
    assert name in online and not torch.equal(online[name], lagging[name])


def test_softcon_without_fractions_is_named() -> None:
    task = _task("softcon")
    with pytest.raises(ConfigError, match="fractions"):
        task.pretrain_loss({"image": _images(4)})


def test_a_checkpoint_rebuilds_the_task(tmp_path: Path) -> None:
    task = _task("mae", groups="wavelength", crop_scale=(0.5, 0.9), d4=False, mask_ratio=0.6)
    run = trainer(max_steps=2, enable_checkpointing=True, default_root_dir=tmp_path)
    run.fit(task, loader({"image": _images()}, batch_size=8))
    path = tmp_path / "task.ckpt"
    run.save_checkpoint(path)
    encoder = spectral_vit("tiny", depth=1, patch_size=8, bands=BANDS)
    again = PretrainTask.load_from_checkpoint(path, model=encoder, weights_only=True)
    assert again.views == task.views and again.mae is not None
    assert again.mae.mask_ratio == 0.6 and again.mae.groups == [[0, 1, 2], [3]]
    for name, value in task.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name


def test_bad_choices_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown pretraining method"):
        _task("byol")
    with pytest.raises(ConfigError, match="spectral_vit"):
        _task("mae", resnet=True)
    with pytest.raises(ConfigError, match="not used by pretraining"):
        _task("simclr", loss="ce")
    with pytest.raises(ConfigError, match="not input bands"):
        _task("mae", groups=[["S2.B02", "S2.B03", "S2.B04"], ["S2.B11"]])
