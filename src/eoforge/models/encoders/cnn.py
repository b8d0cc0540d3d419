"""SpectralResNet: a timm ResNet whose first convolution is generated per band set.

The ResNet's ``conv1`` (``[64, C, 7, 7]``, stride 2) is replaced by kernels
generated from the bands' conditioning vectors
(:class:`~eoforge.models.encoders.generator.KernelGenerator`, the same idea as
the ViT's patch embedding); everything after it is the timm network as is.
Any ResNet-family timm model whose stem is one convolution works (``resnet18``,
``resnet50``, ``resnext50_32x4d``, ``seresnet50``, ...); deep-stem variants
(``resnet50d``) do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from timm.models.resnet import ResNet
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.backbones import timm_model
from eoforge.models.encoders.binding import call_bands, canonical_bands
from eoforge.models.encoders.generator import KernelGenerator
from eoforge.models.encoders.patch_embed import check_image
from eoforge.sensors import Band


class SpectralResNet(nn.Module):
    """Channel-flexible ResNet: one set of weights for any list of named bands.

    Args:
        backbone: timm ResNet name with a single-convolution stem.
        band_dim: Length of the band conditioning vectors.
        generator_hidden: Width of the stem-kernel generator MLP.
        bands: Bands the encoder is bound to: used when ``forward`` gets no
            ``bands``. None: every call must name its bands.
        **timm_kwargs: Passed to ``timm.create_model`` (e.g. ``drop_rate``).

    Attributes:
        bands: The bound canonical band names, or None.
        num_features: Channels of the last feature map and length of the
            pooled vector (512 for resnet18, 2048 for resnet50).
        stage_channels: Channels of the :meth:`forward_stages` maps (64, 128,
            256, 512 for resnet18).

    Raises:
        ConfigError: Unknown timm model, or not a ResNet with a one-convolution stem.
    """

    stem_bands: tuple[str, ...] = ()
    """No per-band stem weights: importing weights adapts nothing."""

    def __init__(
        self,
        backbone: str = "resnet18",
        band_dim: int = 128,
        generator_hidden: int = 128,
        bands: Sequence[str | Band] | None = None,
        **timm_kwargs: object,
    ) -> None:
        super().__init__()
        net = timm_model(backbone, 1, num_classes=0, **timm_kwargs)
        stem = getattr(net, "conv1", None)
        if not isinstance(net, ResNet) or not isinstance(stem, nn.Conv2d):
            raise ConfigError(
                f"spectral_resnet needs a timm ResNet whose stem is one convolution; "
                f"{backbone!r} is not one.",
                fix="use resnet18, resnet34, resnet50, resnext50_32x4d or seresnet50.",
            )
        self.bands = None if bands is None else canonical_bands(bands)
        kernel = stem.kernel_size
        self.stride = stem.stride
        self.padding = stem.padding
        self.stem = KernelGenerator(stem.out_channels, kernel[0], band_dim, generator_hidden)
        # The generated kernels do conv1's work; timm annotates conv1 too narrowly to assign.
        setattr(net, "conv1", nn.Identity())  # noqa: B010
        self.net = net
        self.num_features = int(net.num_features)
        stages: list[dict[str, Any]] = net.feature_info
        self.stage_channels = [
            int(info["num_chs"]) for info in stages if str(info["module"]).startswith("layer")
        ]

    def forward_features(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Last feature map ``[B, num_features, H / 32, W / 32]`` (rounded up).

        Args:
            image: ``[B, C, H, W]``.
            bands: Names of the ``C`` channels; default the bound bands.

        Raises:
            ConfigError: Bands not given nor bound, a band the encoder cannot
                embed, or a shape that does not fit.
        """
        features: torch.Tensor = self.net.forward_features(self._stem(image, bands))
        return features

    def forward_stages(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> list[torch.Tensor]:
        """Outputs of the four residual stages, strides 4, 8, 16 and 32.

        Returns:
            ``[B, stage_channels[i], H / s, W / s]`` for ``s`` = 4, 8, 16, 32
            (rounded up).

        Raises:
            ConfigError: As :meth:`forward_features`.
        """
        x = self._stem(image, bands)
        for name in ("bn1", "act1", "maxpool"):
            x = getattr(self.net, name)(x)
        stages: list[torch.Tensor] = []
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(self.net, name)(x)
            stages.append(x)
        return stages

    def _stem(self, image: torch.Tensor, bands: Sequence[str | Band] | None) -> torch.Tensor:
        """The generated first convolution: ``[B, C, H, W] -> [B, 64, H / 2, W / 2]``."""
        bands = call_bands(bands, self.bands)
        check_image(image, bands)
        kernels = self.stem(bands)
        return F.conv2d(
            image, kernels.weight.to(image.dtype), stride=self.stride, padding=self.padding
        )

    def forward(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Globally average-pooled features ``[B, num_features]``."""
        pooled: torch.Tensor = self.net.forward_head(
            self.forward_features(image, bands), pre_logits=True
        )
        return pooled
