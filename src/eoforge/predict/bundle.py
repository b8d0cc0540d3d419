"""Model bundles as predictors: their own preprocessing, ensembles and D4 test-time augmentation.

A bundle carries the band names and the normalisation it was trained with,
so prediction cannot mix up band order or statistics. Several bundles form
an ensemble averaged in probability space; each member picks its own bands
by name from the union the engine reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import cast

import torch

from eoforge.errors import ConfigError
from eoforge.io.handles import file_stamp
from eoforge.models import LoadedBundle, load_bundle
from eoforge.models.location_fusion import takes_location
from eoforge.models.sr_reference import takes_reference
from eoforge.predict.groups import bundle_groups, fusion_predictor
from eoforge.predict.places import PlacedPredictor
from eoforge.predict.references import guided_predictor
from eoforge.predict.types import Detections, TensorPredictor

_SOFTMAX_TASKS = ("segmentation", "change")
DETECTION_TASKS = ("detection", "oriented_detection")
"""Bundle tasks whose models return boxes (published by ``DetectionSpec``)."""


def bundle_predictor(
    bundle: LoadedBundle | str | PathLike[str],
) -> tuple[TensorPredictor, LoadedBundle]:
    """Wrap a bundle's model with its normalisation (and softmax for class scores).

    Invalid input pixels arrive as NaN and are set to 0 after normalisation, as in
    training, so they cannot leak into neighbours through convolutions.

    Args:
        bundle: A loaded bundle or its folder.

    Returns:
        ``(predictor, loaded bundle)``; the predictor maps ``[B, C, h, w]`` (or
        ``[B, 2, C, h, w]`` for change bundles) physical values to ``[B, K, h, w]``
        probabilities (classification tasks) or values.
    """
    loaded = bundle if isinstance(bundle, LoadedBundle) else load_bundle(bundle)
    model = loaded.model.eval()
    mean = torch.tensor(loaded.bundle.normalization.mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(loaded.bundle.normalization.std, dtype=torch.float32)[:, None, None]
    softmax = loaded.bundle.task in _SOFTMAX_TASKS
    if takes_reference(model):  # model(x, reference): tiles carry the reference (.references)
        return guided_predictor(model, mean, std), loaded
    if bundle_groups(loaded) is not None:  # input groups packed as each tile's channels
        return fusion_predictor(loaded), loaded

    keep_nan = bool(getattr(model, "reads_nan", False))  # multi-frame SR: NaN marks cloud

    def predict(images: torch.Tensor) -> torch.Tensor:
        x = (images - mean) / std
        out = model(x if keep_nan else torch.nan_to_num(x, nan=0.0))
        return torch.softmax(out, dim=1) if softmax else out

    def detect(images: torch.Tensor) -> Sequence[Detections]:
        detections: Sequence[Detections] = model(torch.nan_to_num((images - mean) / std, nan=0.0))
        return detections

    if loaded.bundle.task in DETECTION_TASKS:  # one dict of boxes, scores, labels per tile
        return cast(TensorPredictor, detect), loaded
    if takes_location(model):  # model(x, lonlat): the engine passes each tile's centre
        return placed_predictor(model, mean, std, softmax), loaded
    return predict, loaded


def placed_predictor(
    model: torch.nn.Module, mean: torch.Tensor, std: torch.Tensor, softmax: bool
) -> PlacedPredictor:
    """:func:`bundle_predictor`'s predictor for a network called ``model(x, lonlat)``."""

    def predict(images: torch.Tensor, lonlat: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = model(torch.nan_to_num((images - mean) / std, nan=0.0), lonlat)
        return torch.softmax(out, dim=1) if softmax else out

    return PlacedPredictor(predict)


def d4(predictor: TensorPredictor) -> TensorPredictor:
    """Average ``predictor`` over the 8 rotations/flips of the dihedral group D4.

    Each view is transformed back before averaging, so outputs stay on the input
    pixels. Tiles need not be square (the model sees ``w x h`` for odd rotations).
    """

    def predict(images: torch.Tensor) -> torch.Tensor:
        total: torch.Tensor | None = None
        for flip in (False, True):
            view = images.flip(-1) if flip else images
            for k in range(4):
                out = predictor(torch.rot90(view, k, dims=(-2, -1)))
                out = torch.rot90(out, -k, dims=(-2, -1))
                out = out.flip(-1) if flip else out
                total = out if total is None else total + out
        assert total is not None
        return total / 8

    return predict


def ensemble(
    members: Sequence[tuple[TensorPredictor, Sequence[str]]], bands: Sequence[str]
) -> TensorPredictor:
    """Average members' outputs; each reads its own bands out of ``bands`` by name.

    Args:
        members: ``(predictor, band names it expects)`` per model.
        bands: Channel names of the input the ensemble receives (a superset).
    """
    picks = [[list(bands).index(b) for b in own] for _, own in members]

    def predict(images: torch.Tensor) -> torch.Tensor:
        total: torch.Tensor | None = None
        for (member, _), pick in zip(members, picks, strict=True):
            out = member(images[..., pick, :, :])
            total = out if total is None else total + out
        assert total is not None
        return total / len(members)

    return predict


@dataclass(frozen=True)
class BundleModel:
    """Picklable recipe for a predictor: bundle folders plus options.

    Dask workers rebuild the predictor from it once per process (:meth:`build`
    caches), instead of receiving model weights with every task.

    Attributes:
        bundles: Bundle folders; more than one makes an ensemble.
        tta: Average over the D4 rotations/flips.
    """

    bundles: tuple[str, ...]
    tta: bool = False

    def load(self) -> list[LoadedBundle]:
        """Load the bundles and check they can be averaged together.

        The loaded bundles are kept for the next call in this process (one set at a
        time) while their files are unchanged: resolving, sizing and building the
        predictor of one run load the weights once.

        Raises:
            ConfigError: Members differ in task or classes, or detection bundles
                are combined or augmented.
        """
        stamps = _stamps(self.bundles)
        if _LOADED.get(self.bundles, (None, None))[0] != stamps:
            _LOADED.clear()  # one set of models per process at a time
            _LOADED[self.bundles] = (stamps, [load_bundle(Path(b)) for b in self.bundles])
        loaded = list(_LOADED[self.bundles][1])
        first = loaded[0].bundle
        alone = {
            "reference-guided bundles": any(takes_reference(item.model) for item in loaded),
            "bundles trained with model.location": any(
                takes_location(item.model) for item in loaded
            ),
            "bundles trained on input groups": any(bundle_groups(item) for item in loaded),
        }
        for kind, found in alone.items():
            if found and (len(loaded) > 1 or self.tta):
                raise ConfigError(
                    f"{kind} predict alone: no ensembles or test-time augmentation with them yet.",
                    path=Path(self.bundles[0]),
                    fix="pass that bundle alone, without tta.",
                )
        if first.task in DETECTION_TASKS and (len(loaded) > 1 or self.tta):
            raise ConfigError(
                "detection bundles predict alone: no ensembles or test-time augmentation yet.",
                path=Path(self.bundles[0]),
                fix="pass one detection bundle without tta.",
            )
        for path, other in zip(self.bundles[1:], loaded[1:], strict=True):
            same_classes = [c.id for c in other.bundle.classes] == [c.id for c in first.classes]
            if other.bundle.task != first.task or not same_classes:
                raise ConfigError(
                    f"cannot average {path} with {self.bundles[0]}: tasks "
                    f"{other.bundle.task}/{first.task} or class ids differ.",
                    path=Path(path),
                    fix="ensemble bundles trained for the same task and classes.",
                )
        return loaded

    def bands(self, loaded: Sequence[LoadedBundle] | None = None) -> list[str]:
        """Union of the members' bands, in first-seen order."""
        out: list[str] = []
        for item in loaded if loaded is not None else self.load():
            out += [b for b in item.bundle.bands if b not in out]
        return out

    def build(self) -> TensorPredictor:
        """The predictor (cached per process)."""
        key = (self.bundles, self.tta, _stamps(self.bundles))
        if key not in _BUILT:
            loaded = self.load()
            bands = self.bands(loaded)
            members = [(bundle_predictor(item)[0], item.bundle.bands) for item in loaded]
            predictor = (
                members[0][0]
                if len(members) == 1 and members[0][1] == bands
                else ensemble(members, bands)
            )
            _BUILT.clear()  # one model per worker process at a time
            _BUILT[key] = d4(predictor) if self.tta else predictor
        return _BUILT[key]


_BUILT: dict[tuple[tuple[str, ...], bool, tuple[object, ...]], TensorPredictor] = {}
_LOADED: dict[tuple[str, ...], tuple[tuple[object, ...], list[LoadedBundle]]] = {}


def _stamps(bundles: Sequence[str]) -> tuple[object, ...]:
    """Every file of the bundle folders with its stamp: a rewritten bundle is loaded again."""
    out: list[object] = []
    for bundle in bundles:
        root = Path(bundle)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        out += [(str(p), file_stamp(p)) for p in files]
    return tuple(out)
