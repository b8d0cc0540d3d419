"""Multi-frame super-resolution (``arch: sr_multiframe``): HighRes-net-like fusion of revisits.

Forward contract (``task: super_resolution`` with ``data.frames``):
standardised revisits ``[B, T, C, h, w]`` (``(x - mean) / std`` per band) with
NaN where a frame is not clear, to ``[B, C, h s, w s]`` in physical units
(:class:`~eoforge.models.sr_common.SRNetwork`). Any ``T`` works: more frames
than ``options.frames`` keep the clearest ``frames`` per sample (ties: the
earlier), fewer are fused as they are.

Steps:

1. per pixel, the mask ``m_t`` (1 where frame ``t`` is clear) and the
   reference: the median of the clear frames (HighRes-net's anchor; 0, the
   band mean, where no frame is clear);
2. a shared encoder reads each frame with its mask and the reference
   concatenated (``2 C + 2`` channels: 3x3 head, ``encoder_blocks`` residual
   blocks) into a code per frame;
3. fusion: attention pooling over frames, per pixel (a 1x1 score per code,
   softmax over the clear frames only, so padded or cloudy frames weigh 0);
4. decoder: ``decoder_blocks`` residual blocks with channel attention, a
   pixel-shuffle upsampler and a 3x3 tail (zero-initialised), added to the
   bicubic upsampling of the reference (the global skip).

Registration (``registration: true``): before step 2 the frames are
resampled onto the mean position of the clear frames by explicit, local
sub-pixel shifts (:func:`~eoforge.models.sr_registration.register`: one
Lucas-Kanade step against the median over a ``(2 registration_radius + 1)^2``
window), the reference becomes the median of the registered frames, and the
encoder also reads each frame's shift (``dy, dx`` in target pixels: two more
channels), so it knows the sampling phase of each revisit. Without it
(``registration: false``, the default, as bundles trained before it) the
shifts are left to the encoder, which sees each frame beside the reference.
Either way revisits must be co-registered to well under an input pixel
(estimated shifts are clamped to one input pixel). Registration widens the receptive
field by ``registration_radius + 3`` input pixels (window, gradient, bicubic
resampling): tiled predictions match untiled ones only where the tile
overlap covers it (``eoforge predict --overlap``).

Options: ``scale`` (2, 3, 4), ``frames`` (8), ``features`` (32),
``encoder_blocks`` (2), ``decoder_blocks`` (4), ``reduction`` (8),
``res_scale`` (0.1), ``registration`` (false), ``registration_radius`` (8).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.sr_common import PixelShuffleUp, SRNetwork, option, sr_scale
from eoforge.models.sr_edsr import ResidualBlock
from eoforge.models.sr_registration import register

MULTIFRAME_ARCHS = ("sr_multiframe", "sr_multiframe_fit")
"""Architectures that read ``[B, T, C, h, w]`` revisits (``data.frames``; the second in
:mod:`eoforge.models.sr_shift_fit`)."""

OPTIONS = (
    "scale",
    "frames",
    "features",
    "encoder_blocks",
    "decoder_blocks",
    "reduction",
    "res_scale",
    "registration",
    "registration_radius",
)


def clearest(x: Tensor, mask: Tensor, frames: int) -> tuple[Tensor, Tensor]:
    """The ``frames`` clearest frames of each sample, in their order.

    Args:
        x: ``[B, T, C, h, w]``.
        mask: ``[B, T, h, w]`` (1 = clear).
        frames: Frames to keep (``<= T``).

    Returns:
        ``(x, mask)`` with ``frames`` frames.
    """
    count = mask.sum(dim=(-2, -1))
    # earlier frames win ties: a tiny penalty by position
    rank = count - torch.arange(count.shape[1], device=x.device, dtype=count.dtype) * 1e-6
    keep = rank.topk(frames, dim=1).indices.sort(dim=1).values
    picked = x.gather(1, keep[:, :, None, None, None].expand(-1, -1, *x.shape[2:]))
    return picked, mask.gather(1, keep[:, :, None, None].expand(-1, -1, *mask.shape[2:]))


class MultiFrameSR(SRNetwork):
    """Fuse revisits into one super-resolved image (see the module docstring).

    Args:
        bands: Channels ``C`` per frame and out.
        scale: 2, 3 or 4.
        frames: Most frames fused per sample.
        features: Feature channels.
        encoder_blocks: Residual blocks of the per-frame encoder.
        decoder_blocks: Residual blocks after fusion.
        reduction: Channel squeeze of the decoder's attention.
        res_scale: Residual scaling of the blocks.
        registration: Register the frames by explicit sub-pixel shifts first.
        registration_radius: Half-size of the registration window, input pixels.
    """

    reads_nan = True
    """Prediction keeps NaN (not-clear pixels) in the input: the masks come from them."""

    def __init__(
        self,
        bands: int,
        scale: int = 4,
        frames: int = 8,
        features: int = 32,
        encoder_blocks: int = 2,
        decoder_blocks: int = 4,
        reduction: int = 8,
        res_scale: float = 0.1,
        registration: bool = False,
        registration_radius: int = 8,
    ) -> None:
        super().__init__(bands, scale)
        self.frames = frames
        self.registration = registration
        self.registration_radius = registration_radius
        self.encoder = nn.Sequential(
            nn.Conv2d(2 * bands + 2 + (2 if registration else 0), features, 3, padding=1),
            nn.ReLU(inplace=True),
            *[ResidualBlock(features, False, reduction, res_scale) for _ in range(encoder_blocks)],
        )
        self.score = nn.Conv2d(features, 1, 1)
        self.decoder = nn.Sequential(
            *[ResidualBlock(features, True, reduction, res_scale) for _ in range(decoder_blocks)],
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.upsample = PixelShuffleUp(features, scale)
        self.tail = nn.Conv2d(features, bands, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as the bicubic upsampling of the reference
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]  # Conv2d with bias=True

    def split(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Frames without NaN, their masks and the reference.

        Args:
            x: ``[B, T, C, h, w]`` standardised, NaN where not clear (``[B, C, h, w]``:
                one frame).

        Returns:
            ``frames [B, T', C, h, w]`` (NaN set to 0), ``mask [B, T', h, w]``
            (float, 1 = clear) and ``reference [B, C, h, w]`` (median of the clear
            frames, 0 where none is), with ``T' = min(T, frames)``.

        Raises:
            ConfigError: ``x`` is neither 4- nor 5-dimensional.
        """
        if x.ndim == 4:
            x = x[:, None]
        if x.ndim != 5:
            raise ConfigError(
                f"sr_multiframe reads [B, T, C, h, w] revisits, not {tuple(x.shape)}.",
                fix="train with data.frames set and lr: [PATH, ...] per item.",
            )
        mask = torch.isfinite(x).all(dim=2).to(x.dtype)
        if x.shape[1] > self.frames:
            x, mask = clearest(x, mask, self.frames)
        reference = torch.nan_to_num(x.nanmedian(dim=1).values, nan=0.0)
        return torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), mask, reference

    def fuse(
        self, frames: Tensor, mask: Tensor, reference: Tensor, shifts: Tensor | None = None
    ) -> Tensor:
        """Per-frame codes pooled over the clear frames: ``[B, F, h, w]``.

        Args:
            frames: ``[B, T, C, h, w]`` (registered when the model registers).
            mask: ``[B, T, h, w]``, 1 = clear.
            reference: ``[B, C, h, w]``.
            shifts: ``[B, T, 2, h, w]`` shifts applied by the registration, input
                pixels (None: the model does not register).
        """
        b, t, _, h, w = frames.shape
        anchor = reference[:, None].expand(-1, t, -1, -1, -1)
        any_clear = (mask.amax(dim=1, keepdim=True) > 0).to(frames.dtype)
        parts = [frames, mask[:, :, None], anchor, any_clear[:, None].expand(-1, t, -1, -1, -1)]
        if shifts is not None:
            parts.append(shifts * self.scale)  # target pixels: about +-0.5 to +-2
        inputs = torch.cat(parts, dim=2)
        codes = self.encoder(inputs.reshape(b * t, -1, h, w)).reshape(b, t, -1, h, w)
        logits = self.score(codes.reshape(b * t, -1, h, w)).reshape(b, t, h, w)
        logits = logits.masked_fill(mask <= 0, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(logits, dim=1), nan=0.0)  # no clear frame: 0
        fused: Tensor = (weights[:, :, None] * codes).sum(dim=1)
        return fused

    @staticmethod
    def median(frames: Tensor, mask: Tensor) -> Tensor:
        """Per-pixel median of the clear frames ``[B, C, h, w]`` (0 where none is clear)."""
        hidden = frames.masked_fill(mask[:, :, None] <= 0, float("nan"))
        return torch.nan_to_num(hidden.nanmedian(dim=1).values, nan=0.0)

    def standardised(self, x: Tensor) -> Tensor:
        """Bicubic of the reference plus the fused residual, standardised ``[B, C, h s, w s]``."""
        frames, mask, reference = self.split(x)
        shifts: Tensor | None = None
        if self.registration:
            frames, mask, shifts = register(
                frames, mask, reference, radius=self.registration_radius
            )
            reference = self.median(frames, mask)
        skip = F.interpolate(
            reference, scale_factor=self.scale, mode="bicubic", align_corners=False
        )
        fused = self.fuse(frames, mask, reference, shifts)
        residual: Tensor = self.tail(self.upsample(fused + self.decoder(fused)))
        return skip + residual


@register_model(
    "sr_multiframe",
    ("super_resolution",),
    "HighRes-net-like multi-frame SR: shared per-frame encoder with the median reference, "
    "attention pooling over clear frames, pixel-shuffle decoder, bicubic skip of the median "
    "(options: scale, frames, features, encoder_blocks, decoder_blocks, reduction, res_scale, "
    "registration, registration_radius)",
)
def _sr_multiframe(spec: ModelSpec) -> nn.Module:
    return MultiFrameSR(
        spec.in_channels,
        sr_scale(spec),
        frames=int(option(spec, "frames", 8, OPTIONS)),
        features=int(option(spec, "features", 32, OPTIONS)),
        encoder_blocks=int(option(spec, "encoder_blocks", 2, OPTIONS)),
        decoder_blocks=int(option(spec, "decoder_blocks", 4, OPTIONS)),
        reduction=int(option(spec, "reduction", 8, OPTIONS)),
        res_scale=float(option(spec, "res_scale", 0.1, OPTIONS)),
        registration=bool(option(spec, "registration", False, OPTIONS)),
        registration_radius=int(option(spec, "registration_radius", 8, OPTIONS)),
    )
