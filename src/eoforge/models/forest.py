"""Per-pixel random forest baseline, exported to tensors.

:class:`PixelForest` fits a scikit-learn random forest (or extra trees) on
per-pixel band values and spectral indices, then copies every tree into
buffers (``feature``, ``threshold``, ``children_left``, ``children_right``,
``leaf_proba``) and runs the traversal in torch. It therefore has the
segmentation forward contract ``[B, C, H, W] -> [B, K, H, W]`` (here
log-probabilities), saves to safetensors like any network and loads without
pickle. It is fitted with :meth:`PixelForest.fit`, not by gradient descent.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import torch
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.spectral import index_channels, pixel_features

# scikit-learn is untyped: a fitted RandomForestClassifier or ExtraTreesClassifier.
Forest: TypeAlias = Any
ESTIMATORS: dict[str, Any] = {
    "random_forest": RandomForestClassifier,
    "extra_trees": ExtraTreesClassifier,
}
PIXEL_CHUNK = 65536
LOG_FLOOR = 1e-12


def _threshold_float32(threshold: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """Largest float32 <= each float64 threshold.

    For float32 features ``x <= t64`` exactly when ``x <= floor32(t64)``, so
    the torch traversal makes the same decisions as scikit-learn.
    """
    rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def _tree_arrays(tree: Any, classes: npt.NDArray[np.int64], num_classes: int) -> dict[str, Any]:
    """One fitted tree as arrays; leaves point to themselves."""
    nodes = np.arange(tree.node_count)
    leaf = tree.children_left < 0
    value = tree.value[:, 0, :]
    proba = np.zeros((tree.node_count, num_classes), dtype=np.float64)
    proba[:, classes] = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300)
    return {
        "feature": np.where(leaf, 0, tree.feature),
        "threshold": _threshold_float32(np.where(leaf, 0.0, tree.threshold)),
        "children_left": np.where(leaf, nodes, tree.children_left),
        "children_right": np.where(leaf, nodes, tree.children_right),
        "leaf_proba": proba.astype(np.float32),
    }


def _stack(trees: list[dict[str, Any]], name: str) -> torch.Tensor:
    """Stack per-tree arrays padded to the largest node count: ``[T, N, ...]``."""
    size = max(t[name].shape[0] for t in trees)
    padded = []
    for tree in trees:
        array = tree[name]
        pad = np.zeros((size - array.shape[0], *array.shape[1:]), dtype=array.dtype)
        padded.append(np.concatenate([array, pad]))
    return torch.from_numpy(np.stack(padded))


class PixelForest(nn.Module):
    """Random forest on pixels, evaluated by vectorised tree traversal.

    Args:
        spec: Model spec. Options: ``estimator`` (``random_forest`` or
            ``extra_trees``), ``n_estimators`` (50), ``max_depth`` (12),
            ``samples_per_class`` (5000 pixels), ``seed`` (0), ``n_jobs`` (1).
    """

    feature: torch.Tensor
    threshold: torch.Tensor
    children_left: torch.Tensor
    children_right: torch.Tensor
    leaf_proba: torch.Tensor
    depth: torch.Tensor

    BUFFERS = ("feature", "threshold", "children_left", "children_right", "leaf_proba", "depth")

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.num_classes = spec.num_classes
        self.options = dict(spec.options)
        self.indices = index_channels(spec.in_bands)
        self.feature_names = [*spec.in_bands, *self.indices]
        self.estimator: Forest | None = None
        empty = {
            "feature": torch.zeros(0, 0, dtype=torch.int64),
            "threshold": torch.zeros(0, 0),
            "children_left": torch.zeros(0, 0, dtype=torch.int64),
            "children_right": torch.zeros(0, 0, dtype=torch.int64),
            "leaf_proba": torch.zeros(0, 0, spec.num_classes),
            "depth": torch.zeros((), dtype=torch.int64),
        }
        for name in self.BUFFERS:
            self.register_buffer(name, empty[name])

    @property
    def fitted(self) -> bool:
        """Whether the forest holds trees."""
        return bool(self.feature.numel() > 0)

    def fit(
        self,
        images: torch.Tensor | npt.NDArray[np.float32],
        masks: torch.Tensor | npt.NDArray[np.int64],
        valid: torch.Tensor | npt.NDArray[np.bool_] | None = None,
    ) -> PixelForest:
        """Fit on labelled pixels, then export the trees into the buffers.

        Args:
            images: ``[N, C, H, W]`` float32.
            masks: ``[N, H, W]`` int64 class ids; ids outside ``[0, K)`` are
                ignored (e.g. an ignore index of 255 or -1).
            valid: ``[N, H, W]`` bool; False pixels are ignored.

        Returns:
            ``self``; the scikit-learn estimator stays in ``self.estimator``.

        Raises:
            ConfigError: No usable labelled pixel, or an unknown estimator.
        """
        features, labels = self._training_pixels(images, masks, valid)
        estimator = self._make_estimator()
        estimator.fit(features, labels)
        self.load_estimator(estimator)
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Per-pixel features ``[B, F, H, W]`` of ``[B, C, H, W]`` images."""
        return pixel_features(images, self.indices)

    def _training_pixels(
        self, images: Any, masks: Any, valid: Any
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        feats = self.features(torch.as_tensor(images)).permute(0, 2, 3, 1)
        x = feats.reshape(-1, feats.shape[-1]).numpy()
        y = torch.as_tensor(masks).reshape(-1).numpy().astype(np.int64)
        keep = (y >= 0) & (y < self.num_classes)
        if valid is not None:
            keep &= torch.as_tensor(valid).reshape(-1).numpy().astype(bool)
        chosen = self._sample_per_class(y, keep)
        if chosen.size == 0:
            raise ConfigError(
                "pixel_forest: no valid labelled pixel to fit on.",
                fix="check the masks (class ids 0..num_classes-1) and the valid masks.",
            )
        return x[chosen], y[chosen]

    def _sample_per_class(
        self, labels: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.int64]:
        rng = np.random.default_rng(int(self.options.get("seed", 0)))
        limit = int(self.options.get("samples_per_class", 5000))
        picked = []
        for cls in range(self.num_classes):
            where = np.flatnonzero(keep & (labels == cls))
            if where.size > limit:
                where = np.sort(rng.choice(where, size=limit, replace=False))
            picked.append(where)
        return np.concatenate(picked)

    def _make_estimator(self) -> Forest:
        kind = str(self.options.get("estimator", "random_forest"))
        if kind not in ESTIMATORS:
            raise ConfigError(
                f"model.options.estimator: unknown {kind!r}; use one of {sorted(ESTIMATORS)}."
            )
        return ESTIMATORS[kind](
            n_estimators=int(self.options.get("n_estimators", 50)),
            max_depth=int(self.options.get("max_depth", 12)),
            random_state=int(self.options.get("seed", 0)),
            n_jobs=int(self.options.get("n_jobs", 1)),
        )

    def load_estimator(self, estimator: Forest) -> None:
        """Export a fitted scikit-learn forest into this module's buffers."""
        classes = np.asarray(estimator.classes_, dtype=np.int64)
        trees = [_tree_arrays(t.tree_, classes, self.num_classes) for t in estimator.estimators_]
        for name in self.BUFFERS[:-1]:
            setattr(self, name, _stack(trees, name))
        self.depth = torch.tensor(max(t.tree_.max_depth for t in estimator.estimators_))
        self.estimator = estimator

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        # Buffer sizes depend on the fitted trees: take them from the file.
        for name in self.BUFFERS:
            incoming = state_dict.get(prefix + name)
            if incoming is not None:
                device = getattr(self, name).device
                setattr(
                    self, name, torch.empty(incoming.shape, dtype=incoming.dtype, device=device)
                )
        super()._load_from_state_dict(state_dict, prefix, *args)

    def predict_proba(self, pixels: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``[P, K]`` of pixel features ``[P, F]``."""
        trees = self.feature.shape[0]
        rows = torch.arange(pixels.shape[0], device=pixels.device).expand(trees, -1)
        node = torch.zeros_like(rows)
        for _ in range(int(self.depth)):
            value = pixels[rows, self.feature.gather(1, node)]
            left = value <= self.threshold.gather(1, node)
            node = torch.where(
                left, self.children_left.gather(1, node), self.children_right.gather(1, node)
            )
        tree_index = torch.arange(trees, device=pixels.device)[:, None]
        return self.leaf_proba[tree_index, node].mean(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``[B, K, H, W]`` for images ``[B, C, H, W]``.

        Raises:
            ConfigError: When the forest has not been fitted.
        """
        if not self.fitted:
            raise ConfigError(
                "pixel_forest has not been fitted.",
                fix="call PixelForest.fit(images, masks, valid) or load a fitted bundle.",
            )
        feats = self.features(x)
        batch, channels, height, width = feats.shape
        pixels = feats.permute(0, 2, 3, 1).reshape(-1, channels)
        proba = torch.cat([self.predict_proba(chunk) for chunk in torch.split(pixels, PIXEL_CHUNK)])
        log_proba = proba.clamp_min(LOG_FLOOR).log()
        return log_proba.reshape(batch, height, width, -1).permute(0, 3, 1, 2)


@register_model(
    "pixel_forest",
    ("segmentation",),
    "per-pixel random forest on bands + NDVI/NDWI/NDBI, exported to tensors (no pickle)",
)
def _pixel_forest(spec: ModelSpec) -> nn.Module:
    return PixelForest(spec)
