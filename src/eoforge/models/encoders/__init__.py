"""Encoders for any band set: input kernels generated from each band's wavelength.

One set of weights runs on Sentinel-2 (12 bands), Landsat (7), RGB (3),
Sentinel-1 (VV/VH), DEMs and 200-band hyperspectral cubes, because the first
layer is not stored per channel: a small network turns each band's
description into that band's kernel (DOFA's idea).

Band kinds (:func:`describe_band`, from the sensor registry):

* **spectral** (centre wavelength below 1 mm: optical, NIR, SWIR, thermal,
  hyperspectral): Fourier features of the log centre wavelength (300 nm -
  15 µm mapped to [0, 1]) and log bandwidth (1 - 3000 nm; 100 nm when the
  registry has none, as for generic RGB), projected to ``band_dim``. The
  features are smooth in wavelength, so a band's kernel starts near its
  spectral neighbours' (S2.B05 near B04 and B06, far from B12 and S1.VV).
* **radar** (registry wavelength of 1 mm or more): a learned vector per
  polarisation, VV, VH, HH, HV.
* **elevation** (``DEM.dsm``, ``DEM.dtm``, ``DEM.ndsm``): a learned vector each.
* anything else (quality-flag bands, unknown names) ->
  :class:`~eoforge.errors.ConfigError` naming the band and the fix.

Shapes and units: images ``[B, C, H, W]`` whose ``C`` channels are named by
``bands`` (canonical names or aliases, or :class:`~eoforge.sensors.Band`
records); wavelengths and bandwidths in nanometres.

* :class:`KernelGenerator`: bands -> conv weight ``[O, C, k, k]`` (band ``c``'s
  kernel ``[O, 1, k, k]``, all divided by ``sqrt(C)``) and bias ``[O]``.
* :class:`SpectralPatchEmbed`: ``[B, C, H, W] -> [B, N, D]``, ``N = H W / p²``.
* :class:`SpectralViT` (:func:`spectral_vit`, sizes tiny / small / base):
  ``forward_features(image, bands) -> [B, 1 + N, D]`` (class token first),
  ``feature_map -> [B, D, H / p, W / p]``, ``forward -> [B, D]`` (class token
  or mean pooling). H and W must be multiples of ``p`` (16 by default).
* :class:`SpectralResNet`: ``forward_features -> [B, F, H / 32, W / 32]``,
  ``forward_stages`` (strides 4, 8, 16, 32), ``forward -> [B, F]``.

Built from a model spec (``arch: spectral_vit`` or ``spectral_resnet``), the
encoder is bound to ``spec.in_bands``; ``model(image, bands=[...])`` runs the
same weights on other bands. Tasks: classification, multilabel, regression,
``embedding`` (``[B, D]`` vectors), segmentation and pixel_regression (see
:mod:`eoforge.models.encoders.networks` and :mod:`eoforge.models.encoders.dense`).

Example:
    >>> import torch
    >>> from eoforge.models.encoders import spectral_vit
    >>> vit = spectral_vit("tiny", depth=2).eval()
    >>> vit(torch.randn(1, 3, 32, 32), bands=["RGB.red", "RGB.green", "RGB.blue"]).shape
    torch.Size([1, 192])
    >>> vit(torch.randn(1, 2, 32, 32), bands=["S1.VV", "S1.VH"]).shape
    torch.Size([1, 192])
"""

from eoforge.models.encoders.band_embedding import (
    LEARNED_KEYS,
    BandDescriptor,
    BandEmbedding,
    BandKind,
    describe_band,
)
from eoforge.models.encoders.binding import call_bands, canonical_bands
from eoforge.models.encoders.cnn import SpectralResNet
from eoforge.models.encoders.dense import ResNetFPNSegmenter, ViTSegmenter
from eoforge.models.encoders.generator import GeneratedKernels, KernelGenerator
from eoforge.models.encoders.networks import EncoderHead
from eoforge.models.encoders.patch_embed import SpectralPatchEmbed, check_image
from eoforge.models.encoders.vit import VIT_SIZES, SpectralViT, ViTSize, sincos_2d, spectral_vit

__all__ = [
    "LEARNED_KEYS",
    "VIT_SIZES",
    "BandDescriptor",
    "BandEmbedding",
    "BandKind",
    "EncoderHead",
    "GeneratedKernels",
    "KernelGenerator",
    "ResNetFPNSegmenter",
    "SpectralPatchEmbed",
    "SpectralResNet",
    "SpectralViT",
    "ViTSegmenter",
    "ViTSize",
    "call_bands",
    "canonical_bands",
    "check_image",
    "describe_band",
    "sincos_2d",
    "spectral_vit",
]
