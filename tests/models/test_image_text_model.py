"""The dual encoder's parts: the registered image tower on any bands, CLIP's loss and clamp."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.image_text import ImageTextModel, ImageTower, clip_loss, same_pairs


def tower_spec(bands: list[str], encoder: str = "spectral_vit", **options: object) -> ModelSpec:
    return ModelSpec(
        task="embedding",
        arch="image_text_tower",
        in_bands=bands,
        num_classes=1,
        options={"encoder": encoder, "encoder_options": options, "dim": 24},
    )


class WordTower(nn.Module):
    """A tiny trainable text tower: one learned vector per known word, averaged."""

    dim = 8

    def __init__(self) -> None:
        super().__init__()
        self.words = {"water": 0, "forest": 1, "field": 2}
        self.table = nn.Embedding(3, self.dim)

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids = torch.tensor([self.words[t] for t in texts])
        return nn.functional.normalize(self.table(ids), dim=-1)


def test_towers_on_optical_and_sar_bands_give_unit_vectors() -> None:
    optical = build_model(tower_spec(["S2.B02", "S2.B03", "S2.B04", "S2.B08"], depth=1))
    sar = build_model(tower_spec(["S1.VV", "S1.VH"], "spectral_resnet"))
    assert isinstance(optical, ImageTower) and isinstance(sar, ImageTower)
    for model, channels in ((optical, 4), (sar, 2)):
        out = model(torch.randn(3, channels, 32, 32))
        assert out.shape == (3, 24)
        torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    # the same spectral weights read other bands when named
    assert optical(torch.randn(2, 2, 32, 32), bands=["S2.B04", "S2.B08"]).shape == (2, 24)
    with pytest.raises(ConfigError, match="cannot be an image tower"):
        build_model(tower_spec(["S2.B04"], "unet"))


def test_clip_loss_matches_cross_entropy_by_hand() -> None:
    torch.manual_seed(0)
    image = nn.functional.normalize(torch.randn(4, 5), dim=1)
    text = nn.functional.normalize(torch.randn(4, 5), dim=1)
    logits = 10.0 * image @ text.T
    labels = torch.arange(4)
    expected = (
        nn.functional.cross_entropy(logits, labels) + nn.functional.cross_entropy(logits.T, labels)
    ) / 2
    torch.testing.assert_close(clip_loss(image, text, 10.0), expected)
    # items 0 and 1 share a caption: each row's target is split over both
    match = same_pairs(["a", "a", "b", "c"])
    assert match.tolist()[0] == [True, True, False, False]
    loss = clip_loss(image, text, 10.0, match)

    def direction(scores: torch.Tensor) -> torch.Tensor:
        logp = scores.log_softmax(dim=1)
        shared = -(logp[0, :2].sum() + logp[1, :2].sum()) / 2  # half the target on each
        return (shared - logp[2, 2] - logp[3, 3]) / 4

    torch.testing.assert_close(loss, (direction(logits) + direction(logits.T)) / 2)


def test_temperature_is_clamped_and_training_aligns_pairs() -> None:
    torch.manual_seed(0)
    tower = build_model(tower_spec(["S2.B04", "S2.B08"], depth=1, patch_size=8))
    assert isinstance(tower, ImageTower)
    model = ImageTextModel(tower, WordTower(), temperature=0.07)
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    assert model.scale().item() == pytest.approx(100.0)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(1 / 0.07))
    images = torch.randn(3, 2, 16, 16)  # three distinct images
    texts = ["water", "forest", "field"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        optimizer.zero_grad()
        loss = clip_loss(*model(images, texts), model.scale())
        first = loss.item() if first is None else first
        loss.backward()
        optimizer.step()
    image_vectors, text_vectors = model(images, texts)
    assert loss.item() < first / 2
    assert (image_vectors @ text_vectors.T).argmax(dim=1).tolist() == [0, 1, 2]
    with pytest.raises(ConfigError, match="temperature"):
        ImageTextModel(tower, WordTower(), temperature=0.0)
