from __future__ import annotations

import torch

from eoforge.transforms import D4, BatchAugment, Normalize, Photometric, apply_d4


def _pattern() -> torch.Tensor:
    """An asymmetric 5x5 pattern: every D4 element gives a different image."""
    return torch.arange(25, dtype=torch.float32).reshape(5, 5)


def test_d4_has_eight_distinct_elements() -> None:
    images = {tuple(apply_d4(_pattern(), k).flatten().tolist()) for k in range(8)}
    assert len(images) == 8


def test_d4_draws_all_elements_and_keeps_labels_aligned() -> None:
    n = 256
    base = _pattern()
    image = base.expand(n, 3, 5, 5).clone()
    batch = {
        "image": image,
        "mask": (base > 12).long().expand(n, 5, 5).clone(),
        "valid": (base % 2 == 0).expand(n, 5, 5).clone(),
        "target": base.expand(n, 1, 5, 5).clone() * 2,
        "label": torch.arange(n),
    }
    out = D4(generator=torch.Generator().manual_seed(0))(batch)
    seen = {tuple(x.flatten().tolist()) for x in out["image"][:, 0]}
    assert len(seen) == 8
    assert torch.equal(out["mask"], (out["image"][:, 0] > 12).long())
    assert torch.equal(out["valid"], out["image"][:, 0] % 2 == 0)
    assert torch.equal(out["target"][:, 0], out["image"][:, 0] * 2)
    assert torch.equal(out["label"], batch["label"])  # scene-level values untouched
    assert torch.equal(out["image"][:, 0], out["image"][:, 2])  # all bands alike


def test_d4_moves_both_dates_of_a_change_pair_together() -> None:
    pair = _pattern().expand(64, 2, 3, 5, 5).clone()
    pair[:, 1] += 100
    mask = (_pattern() > 20).long().expand(64, 5, 5).clone()
    out = D4(generator=torch.Generator().manual_seed(1))({"image": pair, "mask": mask})
    assert torch.equal(out["image"][:, 1], out["image"][:, 0] + 100)
    assert torch.equal(out["mask"], (out["image"][:, 0, 0] > 20).long())


def test_d4_on_non_square_images_keeps_shape() -> None:
    image = torch.arange(6.0).reshape(1, 1, 2, 3).expand(32, 1, 2, 3).clone()
    out = D4(generator=torch.Generator().manual_seed(2))({"image": image})
    assert out["image"].shape == image.shape
    assert len({tuple(x.flatten().tolist()) for x in out["image"]}) == 4


def test_photometric_changes_image_only_in_standardised_units() -> None:
    torch.manual_seed(0)
    norm = Normalize([1000.0], [10.0])
    image = 1000.0 + 10.0 * torch.randn(8, 1, 6, 6)
    mask = torch.randint(0, 3, (8, 6, 6))
    augment = BatchAugment(d4=False, photometric=Photometric(noise_std=0.5, p=1.0))
    out = augment({"image": image, "mask": mask}, normalize=norm)
    assert torch.equal(out["mask"], mask)
    change = (out["image"] - image).std()
    assert 3.0 < change < 7.0  # 0.5 std in standardised units is 5 physical units
    assert not Photometric().active
