"""Read an experiment YAML file, apply ``key=value`` overrides, validate, explain errors.

Validation problems become one :class:`~eoforge.errors.ConfigError` whose
one-line message names the file, the dotted key (``data.bands[2]``) and the
fix, never a pydantic traceback.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.experiment.config import DATA_KINDS, ExperimentConfig, GeoData
from eoforge.location.encoder import LOCATION_ARCH, LocationSpec
from eoforge.models import list_models
from eoforge.models.field_series import FIELD_SERIES_ARCHS
from eoforge.models.fusion import FUSION_ARCHS
from eoforge.models.fusion_classifier import CLASSIFIER_FUSION_ARCHS
from eoforge.models.temporal import TEMPORAL_ARCHS
from eoforge.sensors.indices import is_index_name

TASKS_OF_DATA = {
    "geo": (
        "segmentation",
        "pixel_regression",
        "detection",
        "oriented_detection",
        "pretrain",
        "image_to_image",
        "field_boundaries",
    ),
    "class_folder": ("classification",),
    "image_mask": ("segmentation",),
    "change_triplet": ("change",),
    "group_chips": ("segmentation",),
    "bigearthnet": ("multilabel", "pretrain"),
    "objects": ("detection", "oriented_detection"),
    "captions": ("image_text",),
    "embeddings": ("location",),
    "sr_pairs": ("super_resolution",),
}
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def load_config(path: str | PathLike[str], overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read, override and validate an experiment config.

    Args:
        path: YAML file.
        overrides: ``"dotted.key=value"`` items; values are parsed as YAML
            (``trainer.max_epochs=2``, ``data.bands=[S2.B04,S2.B08]``).

    Returns:
        The validated config.

    Raises:
        MissingFileError: ``path`` does not exist.
        UnreadableFileError: The file is not YAML.
        ConfigError: A bad override or an invalid config (the message names
            the file and the dotted key).
    """
    file = Path(path)
    raw = read_yaml(file)
    for item in overrides:
        apply_override(raw, item, file)
    return validate_config(raw, file)


def read_yaml(file: Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file.

    Raises:
        MissingFileError, UnreadableFileError: Missing or unparsable file.
        ConfigError: The top level is not a mapping.
    """
    if not file.is_file():
        raise MissingFileError("config file not found.", path=file, fix="check the path.")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UnreadableFileError(
            f"not valid YAML{where}.", path=file, fix="fix the YAML syntax."
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(
            "the config must be a mapping with data, model, task, optim and trainer sections.",
            path=file,
            fix="start the file with 'data:'.",
        )
    return raw


def _key_parts(key: str) -> list[str | int]:
    parts: list[str | int] = []
    for name, index in _PART.findall(key):
        parts.append(int(index) if index else name)
    return parts


def apply_override(raw: dict[str, Any], item: str, file: Path) -> None:
    """Set ``raw[dotted.key] = value`` from ``"dotted.key=value"`` (YAML value).

    Raises:
        ConfigError: No ``=``, or a key that walks through a non-container.
    """
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"override {item!r} is not key=value.",
            path=file,
            fix="write overrides as --set trainer.max_epochs=2.",
        )
    parts = _key_parts(key.strip())
    node: Any = raw
    for part, following in itertools.pairwise(parts):
        node = _child(node, part, following, key, file)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    _set(node, parts[-1], value, key, file)


def _child(node: Any, part: str | int, following: str | int, key: str, file: Path) -> Any:
    if isinstance(part, int):
        if not isinstance(node, list) or part >= len(node):
            raise ConfigError(f"override {key}: no item [{part}].", path=file)
        return node[part]
    if not isinstance(node, dict):
        raise ConfigError(f"override {key}: {part!r} is inside a value, not a section.", path=file)
    return node.setdefault(part, [] if isinstance(following, int) else {})


def _set(node: Any, part: str | int, value: Any, key: str, file: Path) -> None:
    settable = isinstance(part, int) and isinstance(node, list) and part < len(node)
    if settable or (isinstance(part, str) and isinstance(node, dict)):
        node[part] = value
    else:
        raise ConfigError(f"override {key}: cannot set this key.", path=file)


def validate_config(raw: dict[str, Any], file: Path) -> ExperimentConfig:
    """Validate a raw mapping; problems become one-line :class:`ConfigError` messages."""
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        raise _explain(error, file) from None
    check_consistency(config, file)
    return config


def dotted(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a dotted key: ``data.bands[2]`` (union tags dropped)."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] == "data" and parts[1] in DATA_KINDS:
        del parts[1]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).startswith("function-"):
            text += f".{part}" if text else str(part)
    return text or "<top level>"


def _fix(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "add this key."
    if kind == "extra_forbidden":
        return "remove it or correct its spelling."
    if kind == "union_tag_invalid":
        return f"use one of {', '.join(DATA_KINDS)}."
    if "does not exist" in detail["msg"]:
        return "check the path (relative paths start at the working directory)."
    if "unknown band" in detail["msg"] or "ambiguous band" in detail["msg"]:
        return "use canonical band names like S2.B04, or sensor aliases like S2.red."
    if "unknown architecture" in detail["msg"]:
        return "use a name from `eoforge models`."
    if "is not a colour" in detail["msg"]:
        return 'write "#rrggbb" (e.g. "#3c1098") or [r, g, b] with values 0-255.'
    return "correct the value."


def _explain(error: ValidationError, file: Path) -> ConfigError:
    details = error.errors(include_url=False)
    first = details[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] not in ("missing", "value_error", "union_tag_invalid"):
        message = f"{message} (got {first['input']!r})"
    more = f" ({len(details) - 1} more problems)" if len(details) > 1 else ""
    key = dotted(first["loc"]) + (".kind" if first["type"] == "union_tag_invalid" else "")
    if re.match(rf"{re.escape(key)}[.\[]\S*: ", message):  # names a deeper key itself
        key, message = message.split(": ", 1)
    text = " ".join(f"{key}: {message}{more}.".split())
    return ConfigError(text, path=file, fix=_fix(first))


def check_consistency(config: ExperimentConfig, file: Path) -> None:
    """Checks across sections: data kind vs task, architecture vs task, labels present.

    Raises:
        ConfigError: Naming the offending key.
    """
    kind, task = config.data.kind, config.task.kind
    if task not in TASKS_OF_DATA[kind]:
        raise ConfigError(
            f"task.kind: {task!r} cannot be trained on data.kind {kind!r}.",
            path=file,
            fix=f"use task.kind {' or '.join(TASKS_OF_DATA[kind])}.",
        )
    if task == "location" or config.model.arch == LOCATION_ARCH:
        _check_location(config, file)
        return
    serves = {info.name: info.tasks for info in list_models()}[config.model.arch]
    # pretraining trains an encoder; image-text training an encoder's tower
    network = "embedding" if task in ("pretrain", "image_text") else task
    if network not in serves:
        raise ConfigError(
            f"model.arch: {config.model.arch!r} does not serve task {network!r}.",
            path=file,
            fix=f"pick an architecture for {network!r} from `eoforge models`.",
        )
    _check_input_groups(config, file)
    _check_stored_bands(config, file)
    if kind == "geo" and task != "image_to_image":
        _check_no_target_bands(config, file)
    if task == "pretrain":
        _check_pretrain(config, file)
    elif task == "image_to_image":
        _check_image_to_image(config, file)
    elif kind == "geo":
        _check_geo_layers(config, file)


def _check_stored_bands(config: ExperimentConfig, file: Path) -> None:
    """Each band list of scenes names a stored band beside its spectral indices.

    Scenes are matched to a model by the bands their rasters store; ``ASI.*`` indices
    are computed from those when read (as :mod:`eoforge.predict.scenes` requires too).
    """
    data = config.data
    if not isinstance(data, GeoData):
        return
    lists = {f"data.inputs.{name}.bands": g.bands for name, g in (data.inputs or {}).items()}
    if not data.inputs:
        lists["data.bands"] = data.bands
    for key, names in lists.items():
        if names and all(is_index_name(b) for b in names):
            raise ConfigError(
                f"{key}: {', '.join(names)} are all spectral indices: scenes are matched by "
                "the bands their rasters store, and the indices computed from those.",
                path=file,
                fix=f"add one stored band beside the indices (e.g. {key}: [{names[0]}, S2.B08]).",
            )


def _check_input_groups(config: ExperimentConfig, file: Path) -> None:
    """``data.inputs`` goes with a multi-input architecture and its task, and back."""
    if config.data.kind == "bigearthnet":  # patches: a pooled classifier, multi-label
        _check_group_pairing(
            config,
            file,
            groups=config.data.inputs is not None,
            archs=CLASSIFIER_FUSION_ARCHS,
            kind="multilabel",
            examples=("e.g. s2_10m, s2_20m, s1", "timm_classifier"),
            served="BigEarthNet input groups serve task.kind multilabel",
            use=", ".join(CLASSIFIER_FUSION_ARCHS),
        )
        return
    if config.model.arch in CLASSIFIER_FUSION_ARCHS:
        raise ConfigError(
            f"model.arch: {config.model.arch!r} classifies BigEarthNet patches from input "
            "groups (data.kind bigearthnet with data.inputs).",
            path=file,
            fix="use fusion_unet for segmentation from input groups.",
        )
    groups = config.data.kind == "group_chips" or (
        config.data.kind == "geo" and config.data.inputs is not None
    )
    if config.task.kind == "field_boundaries":  # fields from one time series
        _check_group_pairing(
            config,
            file,
            groups=groups,
            archs=FIELD_SERIES_ARCHS,
            kind="field_boundaries",
            examples=("one group with dates, e.g. s2: {bands: [...], dates: 5}", "field_unet"),
            served="input groups serve task.kind field_boundaries",
            use=f"a field-boundary network of a time series ({', '.join(FIELD_SERIES_ARCHS)})",
        )
        if groups:
            _check_series_arch(config, file)
        return
    _check_group_pairing(
        config,
        file,
        groups=groups,
        archs=(*FUSION_ARCHS, *TEMPORAL_ARCHS),
        kind="segmentation",
        examples=("data.kind geo", "unet"),
        served="input groups serve task.kind segmentation so far",
        use=f"a multi-input architecture ({', '.join(FUSION_ARCHS)})",
    )
    if groups and config.data.kind == "geo":
        _check_series_arch(config, file)


def _check_group_pairing(
    config: ExperimentConfig,
    file: Path,
    *,
    groups: bool,
    archs: tuple[str, ...],
    kind: str,
    examples: tuple[str, str],
    served: str,
    use: str,
) -> None:
    """Input groups go with one of ``archs`` and ``task.kind`` ``kind``, and back.

    Args:
        config: The experiment config.
        file: The config file (named in messages).
        groups: Whether the data names input groups.
        archs: The architectures that take them.
        kind: The task kind they serve so far.
        examples: How to name the groups, and a single-stack architecture (messages).
        served: What the data serves, for the message (``input groups serve task.kind ...``).
        use: The architectures the fix suggests.
    """
    fusion = config.model.arch in archs
    if fusion and not groups:
        raise ConfigError(
            f"model.arch: {config.model.arch!r} takes several input groups, but data.inputs is "
            "not given.",
            path=file,
            fix=f"name the groups in data.inputs ({examples[0]}), or pick a single-stack "
            f"architecture such as {examples[1]}.",
        )
    if groups and not fusion:
        raise ConfigError(
            f"model.arch: {config.model.arch!r} takes one stack of bands; data.inputs names "
            "several input groups.",
            path=file,
            fix=f"use {use}, or list the bands in data.bands instead of data.inputs.",
        )
    if groups and config.task.kind != kind:
        raise ConfigError(
            f"data.inputs: {served}, not {config.task.kind!r}.",
            path=file,
            fix=f"use task.kind {kind}, or list one stack of bands in data.bands.",
        )
    if groups and config.model.location is not None:
        raise ConfigError(
            "model.location: not taken by networks of input groups yet.",
            path=file,
            fix="remove model.location, or train on one stack of bands (data.bands).",
        )


def _check_series_arch(config: ExperimentConfig, file: Path) -> None:
    """Time-series groups (dates, no composite) go with a temporal architecture, and back."""
    assert config.data.kind == "geo" and config.data.inputs is not None
    series = [n for n, g in config.data.inputs.items() if g.series]
    fields = config.task.kind == "field_boundaries"
    archs = FIELD_SERIES_ARCHS if fields else TEMPORAL_ARCHS
    temporal = config.model.arch in archs
    if series and not temporal:
        raise ConfigError(
            f"data.inputs.{series[0]}: a time series (dates without a composite), but "
            f"model.arch {config.model.arch!r} reads one date per group.",
            path=file,
            fix=f"use a temporal architecture ({', '.join(archs)}), or set "
            f"data.inputs.{series[0]}.composite: median (one image from the series).",
        )
    if temporal and (len(series) != 1 or len(config.data.inputs) != 1):
        single = "field_unet on one date's bands (data.bands)" if fields else "fusion_unet"
        raise ConfigError(
            f"model.arch: {config.model.arch!r} takes one time-series group; data.inputs names "
            f"{len(config.data.inputs)} group(s), {len(series)} of them series.",
            path=file,
            fix=f"give data.inputs one group with dates (and no composite), or use {single} "
            "for single-date input.",
        )


def _check_no_target_bands(config: ExperimentConfig, file: Path) -> None:
    """Target bands and target scenes belong to image_to_image; elsewhere they would be ignored."""
    data = config.data
    assert data.kind == "geo"
    given = ["data.target_bands"] if data.target_bands else []
    given += [
        f"data.{split}.target_scene"
        for split in ("train", "val")
        if getattr(data, split) is not None and getattr(data, split).target_scene is not None
    ]
    if given:
        raise ConfigError(
            f"{given[0]}: given, but task {config.task.kind!r} does not read target bands.",
            path=file,
            fix="remove it, or use task.kind image_to_image.",
        )


def _check_image_to_image(config: ExperimentConfig, file: Path) -> None:
    """Target bands named; no label, target or object layer (they would be ignored)."""
    data = config.data
    assert data.kind == "geo"
    if not data.target_bands:
        raise ConfigError(
            "data.target_bands: missing; image_to_image predicts bands named there.",
            path=file,
            fix="list them, e.g. data.target_bands: [S2.B02, S2.B03, S2.B04, S2.B08].",
        )
    for split in ("train", "val"):
        scenes = getattr(data, split)
        for layer in ("label", "target", "objects"):
            if scenes is not None and getattr(scenes, layer) is not None:
                raise ConfigError(
                    f"data.{split}.{layer}: given, but image_to_image reads data.target_bands.",
                    path=file,
                    fix=f"remove data.{split}.{layer} (targets come from target_scene).",
                )


def _check_location(config: ExperimentConfig, file: Path) -> None:
    model = config.model
    if config.task.kind != "location" or model.arch != LOCATION_ARCH:
        raise ConfigError(
            f"model.arch: {model.arch!r} with task.kind {config.task.kind!r}; a location encoder "
            f"is model.arch {LOCATION_ARCH} with task.kind location.",
            path=file,
            fix=f"use both together (model.arch {LOCATION_ARCH}, task.kind location), or neither.",
        )
    if model.pretrained is not None or model.importer is not None:
        raise ConfigError(
            "model.pretrained: a location encoder starts from its own initialisation.",
            path=file,
            fix="remove model.pretrained and model.importer.",
        )
    try:
        LocationSpec.model_validate(model.options)
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        key = ".".join(str(p) for p in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"model.options.{key}: {message}.",
            path=file,
            fix="location_siren takes degree, hidden, layers, dim, w0 and w0_initial.",
        ) from None


def _check_pretrain(config: ExperimentConfig, file: Path) -> None:
    data, method = config.data, config.task.method
    if method == "mae" and config.model.arch != "spectral_vit":
        raise ConfigError(
            f"task.method: MAE needs model.arch spectral_vit, not {config.model.arch!r}.",
            path=file,
            fix="use model.arch spectral_vit, or task.method simclr, moco or softcon.",
        )
    if data.kind != "geo":  # BigEarthNet: SoftCon's land-cover vectors are the patch labels
        return
    for split in ("train", "val"):
        scenes = getattr(data, split)
        if scenes is not None and (scenes.objects is not None or scenes.target is not None):
            raise ConfigError(
                f"data.{split}: objects and targets are not used by pretraining.",
                path=file,
                fix="remove them (a land-cover label layer is read for SoftCon).",
            )
    if method != "softcon":
        return
    if data.val is not None and data.val.label is None:
        raise ConfigError(
            "data.val.label: missing; SoftCon validates on the class fractions of its windows.",
            path=file,
            fix="add data.val.label, or leave data.val out (a held-out strip is used).",
        )
    if data.train.label is None:
        raise ConfigError(
            "data.train.label: missing; SoftCon needs a land-cover layer for each window's "
            "class fractions.",
            path=file,
            fix="add data.train.label (e.g. {band: landcover}) and data.legend or data.classes.",
        )
    if data.classes is None and data.legend is None:
        raise ConfigError(
            "data.classes: missing; SoftCon counts each window's pixels per class.",
            path=file,
            fix="list data.classes or give data.legend.",
        )


_LAYER_OF_TASK = {
    "segmentation": "label",
    "pixel_regression": "target",
    "detection": "objects",
    "oriented_detection": "objects",
    "field_boundaries": "label",
}


def _check_geo_layers(config: ExperimentConfig, file: Path) -> None:
    data = config.data
    assert data.kind == "geo"
    wanted = _LAYER_OF_TASK[config.task.kind]
    for split in ("train", "val"):
        scenes = getattr(data, split)
        if scenes is not None and getattr(scenes, wanted) is None:
            raise ConfigError(
                f"data.{split}.{wanted}: missing; task {config.task.kind!r} needs it.",
                path=file,
                fix=f"add data.{split}.{wanted}.",
            )
    if wanted == "objects":
        _check_geo_objects(config, file)
        return
    for split in ("train", "val"):
        scenes = getattr(data, split)
        if scenes is not None and scenes.objects is not None:
            raise ConfigError(
                f"data.{split}.objects: given, but task {config.task.kind!r} does not use objects.",
                path=file,
                fix="remove it, or use task.kind detection or oriented_detection.",
            )
    if config.task.kind == "field_boundaries":
        _check_field_layers(config, file)
        return
    if wanted == "label" and data.classes is None and data.legend is None:
        raise ConfigError(
            "data.classes: missing; segmentation needs its classes.",
            path=file,
            fix="list data.classes (name, values, color) or give data.legend.",
        )


def _check_field_layers(config: ExperimentConfig, file: Path) -> None:
    """Field polygons come from a vector label layer; fields are numbered, not classed."""
    data = config.data
    assert data.kind == "geo"
    for split in ("train", "val"):
        scenes = getattr(data, split)
        label = None if scenes is None else scenes.label
        if label is not None and label.kind != "vector":
            raise ConfigError(
                f"data.{split}.label: field_boundaries reads field polygons, not a raster.",
                path=file,
                fix=f"set data.{split}.label: {{kind: vector, path: fields.parquet, attribute: "
                "field_id}.",
            )
        if label is not None and label.values is not None:
            raise ConfigError(
                f"data.{split}.label.values: fields are numbered one by one, not mapped to "
                "classes.",
                path=file,
                fix="remove it; label.attribute names the column identifying each field.",
            )
    if data.classes is not None or data.legend is not None:
        raise ConfigError(
            "data.classes: field_boundaries predicts extent, boundary and distance, not classes.",
            path=file,
            fix="remove data.classes and data.legend.",
        )


def _check_geo_objects(config: ExperimentConfig, file: Path) -> None:
    data = config.data
    assert data.kind == "geo"
    if not data.classes:
        raise ConfigError(
            "data.classes: missing; detection needs its classes.",
            path=file,
            fix="list data.classes with the names the object layer's class column holds.",
        )
    if data.legend is not None or data.train.synthetic is not None:
        key = "data.legend" if data.legend is not None else "data.train.synthetic"
        raise ConfigError(
            f"{key}: not used by detection on scenes.",
            path=file,
            fix="give data.train.images (scene folders or files) and data.classes.",
        )
    weights = data.detection.class_weights
    if weights is not None and len(weights) != len(data.classes):
        raise ConfigError(
            f"data.detection.class_weights: {len(weights)} weights for "
            f"{len(data.classes)} classes.",
            path=file,
            fix="give one weight per class of data.classes, in the same order.",
        )
    tile = data.val_patch_size or data.patch_size
    overlap = data.detection.val_overlap
    if overlap is not None and overlap >= tile:
        raise ConfigError(
            f"data.detection.val_overlap: {overlap} px is not less than the {tile}-px tiles.",
            path=file,
            fix="use an overlap smaller than data.val_patch_size (or data.patch_size).",
        )
