"""``evaluate(bundle, data)``: score a model bundle on a dataset with the task's metric code.

``data`` is an experiment config file (its validation split, exactly as
training scored it), a folder (a synthetic/STAC scene folder for geo
bundles, scored whole on the label raster's grid with every pixel counted
once; the dataset root for chip bundles), or a ``data`` section as a
mapping. The bundle's ``experiment.yaml`` supplies how its training read
data (label band, class merging, ignore index), the bundle its weights and
normalisation.

For detection bundles the metrics file also gets a ``detection`` section, and
beside it go the per-class precision-recall curves (JSON, CSV, PNG) and a
figure of example detections (:mod:`eoforge.evaluate.detection_outputs`).
"""

from __future__ import annotations

import copy
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from torch.utils.data import DataLoader, Dataset, Subset

from eoforge.data.detection import DetectionChipDataset
from eoforge.errors import ConfigError, MissingFileError
from eoforge.evaluate.detection_outputs import write_detection_outputs
from eoforge.experiment.data import ExperimentData, build_data
from eoforge.experiment.evaluate_groups import evaluate_group_scene, is_group_bundle
from eoforge.experiment.export import CONFIG_FILE
from eoforge.experiment.loading import read_yaml, validate_config
from eoforge.experiment.scoring import score
from eoforge.io.staging import write_json
from eoforge.models import LoadedBundle, load_bundle
from eoforge.tasks import EOTask, FusionMultiLabelTask, build_task
from eoforge.tasks.detection import DetectionTask

DataSpec = str | PathLike[str] | dict[str, Any]


def training_config(bundle_dir: Path) -> dict[str, Any]:
    """The raw training config saved in the bundle (``experiment.yaml``).

    Raises:
        MissingFileError: The bundle was not written by ``eoforge train``.
    """
    path = bundle_dir / CONFIG_FILE
    if not path.is_file():
        raise MissingFileError(
            "the bundle has no training config.",
            path=path,
            fix="evaluate bundles exported by `eoforge train`, or pass a config file as DATA.",
        )
    return read_yaml(path)


def folder_data(section: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The training ``data`` section re-pointed at ``folder`` (used whole for evaluation).

    Raises:
        ConfigError: A data kind that a bare folder cannot describe.
    """
    data = copy.deepcopy(section)
    kind = data["kind"]
    if kind == "geo":
        train = data["train"]
        scenes = {
            "images": [str(folder)],
            "label": train.get("label"),
            "target": train.get("target"),
        }
        data.update(train=scenes, val=copy.deepcopy(scenes))
        if data.get("legend") is not None and data["legend"].get("path") is None:
            data["legend"]["path"] = str(folder)
    elif kind in ("class_folder", "change_triplet"):
        data.pop("splits", None)  # the folder is scored whole
        data.update(root=str(folder), val_root=str(folder))
    elif kind == "objects":
        data.pop("splits", None)
        data.update(root=str(folder), val_root=str(folder))
    elif kind == "image_mask":
        data.pop("splits", None)
        images, masks = str(folder / "images"), str(folder / "masks")
        data.update(images=images, masks=masks, val_images=images, val_masks=masks)
    else:
        raise ConfigError(
            f"a bare folder cannot describe {kind!r} data.",
            path=folder,
            fix="pass an experiment config file (its data section) instead.",
        )
    return data


def evaluation_data(bundle_dir: Path, data: DataSpec) -> tuple[ExperimentData, dict[str, Any], str]:
    """Datasets for evaluation, the validated config's raw form, and a description of the data."""
    raw = training_config(bundle_dir)
    source = Path(data) if not isinstance(data, dict) else None
    if source is not None and source.is_file():
        raw = read_yaml(source)
        described = str(source)
    elif source is not None and source.is_dir():
        raw["data"] = folder_data(raw["data"], source)
        described = str(source)
    elif isinstance(data, dict):
        raw["data"] = data
        described = "data section"
    else:
        raise MissingFileError("evaluation data not found.", path=source, fix="check the path.")
    config = validate_config(raw, source if source is not None else bundle_dir / CONFIG_FILE)
    return build_data(config, config.trainer.output_dir), raw, described


def evaluation_task(loaded: LoadedBundle, raw: dict[str, Any], data: ExperimentData) -> EOTask:
    """The bundle's task with its normalisation and the config's loss and ignore index.

    Raises:
        ConfigError: The data's bands or classes do not match the bundle.
    """
    bundle = loaded.bundle
    if list(data.bands) != list(bundle.bands):
        raise ConfigError(
            f"the data provides bands {data.bands} but the bundle needs {bundle.bands}.",
            fix="describe the data with the bundle's bands.",
        )
    names = [c.name for c in bundle.classes]
    if names and data.classes.names != names:
        raise ConfigError(
            f"the data's classes {data.classes.names} differ from the bundle's {names}.",
            fix="use the class definitions the bundle was trained with.",
        )
    task = raw.get("task", {})
    regression = bundle.task in ("regression", "pixel_regression")
    extra: dict[str, Any] = {}
    if bundle.task in ("detection", "oriented_detection"):
        extra = {
            "style": task.get("ap_style", "voc12"),
            "iou_threshold": task.get("iou_threshold", 0.5),
        }
    arguments: dict[str, Any] = dict(
        model_spec=bundle.model,
        loss=task.get("loss"),
        ignore_index=None if regression or extra else task.get("ignore_index", 255),
        normalization=(bundle.normalization.mean, bundle.normalization.std),
        class_names=names or None,
        num_classes=bundle.model.num_classes,
        augment=False,
        **extra,
    )
    if bundle.task == "multilabel" and is_group_bundle(loaded):  # BigEarthNet's groups
        return FusionMultiLabelTask(loaded.model, **arguments)
    return build_task(bundle.task, loaded.model, **arguments)


def evaluate(
    bundle_dir: str | PathLike[str],
    data: DataSpec,
    out: str | PathLike[str] | None = None,
    *,
    progress: bool = False,
    split: Literal["val", "test"] = "val",
    examples: int = 4,
    score_threshold: float = 0.3,
    labels: str | PathLike[str] | None = None,
) -> dict[str, Any]:
    """Score a bundle on a dataset and write the metrics as JSON.

    Chip data is shaped as the config's ``data.chips.eval`` says; by default
    whole images of any size are padded to the network's stride in batches
    and only their own pixels are scored.

    Args:
        bundle_dir: Bundle folder written by ``eoforge train``.
        data: Config file, data folder, or ``data`` section (see the module doc).
        out: JSON file to write (default ``<bundle>/../evaluation.json``).
        progress: Show a progress bar.
        split: ``"val"`` scores the validation data; ``"test"`` the images of
            ``data.splits.test``.
        examples: Detection bundles: images drawn in ``<out stem>_examples.png``
            (those with the most objects; 0 for none).
        score_threshold: Detection bundles: least score of a drawn prediction and
            the operating point of the per-class precision and recall.
        labels: Bundles trained on input groups: a label raster to score the scene
            folder against instead of its own label layer.

    Bundles trained on input groups (``data.inputs``) are scored on a scene folder
    predicted whole through the engine, each group read per tile on its own grid
    (:mod:`eoforge.experiment.evaluate_groups`); a group the scene lacks is absent
    from every tile and the report says the run is degraded. Multi-label bundles
    trained on BigEarthNet's groups are scored on patches like any chip bundle.

    Returns:
        ``{metric: value}`` (``"miou"``, ``"accuracy"``, ``"loss"``...).

    Raises:
        ConfigError, MissingFileError: Bad bundle or data.
    """
    folder = Path(bundle_dir)
    loaded = load_bundle(folder)
    if loaded.bundle.task == "embedding":
        raise ConfigError(
            "an embedding bundle has no task metrics of its own; it is scored by a probe "
            "on its frozen features.",
            path=folder,
            fix="pass --probe knn, linear or finetune (eoforge.evaluate.probe_run.run_probe).",
        )
    target = Path(out) if out is not None else folder.parent / "evaluation.json"
    if is_group_bundle(loaded) and loaded.bundle.task != "multilabel":  # scenes, not patches
        return _group_scene(folder, data, target, split, labels)
    if labels is not None:
        raise ConfigError(
            "--labels goes with bundles trained on input groups, scored on a scene folder.",
            path=folder,
            fix="drop --labels: this bundle is scored on the labels its data describes.",
        )
    dataset, raw, described = evaluation_data(folder, data)
    task = evaluation_task(loaded, raw, dataset)
    scored, sampler = dataset.val, dataset.val_sampler
    if split == "test":
        if dataset.test is None or dataset.test_sampler is None:
            raise ConfigError(
                "no test split: the config gives no data.splits.test.",
                fix="add data.splits.test (a file listing the test images), or score 'val'.",
            )
        scored, sampler = dataset.test, dataset.test_sampler
    order = list(sampler())  # the image of each scored position, for the example figure
    loader = DataLoader(
        scored,
        batch_size=int(raw["data"].get("eval_batch_size") or raw["data"].get("batch_size", 8)),
        sampler=order,
        collate_fn=dataset.val_collate,
    )
    detector = task if isinstance(task, DetectionTask) else None
    if detector is not None:
        detector.keep_detections = True
    metrics = score(task, loader, progress=progress)
    report: dict[str, Any] = {
        "bundle": str(folder),
        "data": described,
        "split": split,
        "metrics": metrics,
    }
    if detector is not None and "test" in detector.kept:
        predictions, targets = detector.kept.pop("test")
        report["detection"] = write_detection_outputs(
            predictions,
            targets,
            target,
            classes=loaded.bundle.classes,
            bands=loaded.bundle.bands,
            load_image=lambda k: _chip(scored, order[k]),
            style=detector.style,
            iou_threshold=detector.iou_threshold,
            oriented=detector.oriented,
            examples=examples,
            score_threshold=score_threshold,
        )
    write_json(target, report)
    return metrics


def _group_scene(
    folder: Path,
    data: DataSpec,
    target: Path,
    split: str,
    labels: str | PathLike[str] | None,
) -> dict[str, Any]:
    """A multi-input bundle scored on a scene folder (see :func:`evaluate`).

    Raises:
        ConfigError: DATA is not a scene folder, or a test split was asked for.
    """
    scene = Path(data) if not isinstance(data, dict) else None
    if scene is None or not scene.is_dir() or split != "val":
        raise ConfigError(
            "a bundle trained on input groups is scored on a scene folder, predicted whole "
            "(each group read per tile); config files and splits are not scored for it yet.",
            path=folder,
            fix="pass a scene folder holding the groups' rasters and a label layer: "
            "eoforge evaluate BUNDLE SCENE [--labels LABELS.tif].",
        )
    report = evaluate_group_scene(folder, scene, training_config(folder), target, labels=labels)
    return {k: v for k, v in report["metrics"].items() if v is not None}


def _chip(
    dataset: Dataset[Any], index: int
) -> tuple[str, npt.NDArray[np.float32], npt.NDArray[np.bool_] | None]:
    """Name, pixels ``[C, H, W]`` and valid mask ``[H, W]`` of a detection chip (unpadded)."""
    sample = dataset[index]
    image = np.asarray(sample["image"], dtype=np.float32)
    valid = np.asarray(sample["valid"], dtype=bool) if "valid" in sample else None
    if "size" in sample:  # a chip padded to the patch size: drawn at its own size
        height, width = (int(v) for v in sample["size"])
        image = image[:, :height, :width]
        valid = None if valid is None else valid[:height, :width]
    base, position = dataset, index
    while isinstance(base, Subset):
        subset: Subset[Any] = base
        base, position = subset.dataset, int(subset.indices[position])
    name = f"image {index}"
    if isinstance(base, DetectionChipDataset):
        chip = base.chips[position]
        whole = base.patch_size is None
        name = chip.image.name + ("" if whole else f" (row {chip.top}, column {chip.left})")
    return name, image, valid
