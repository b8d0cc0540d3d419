"""``eoforge evaluate``: score a model bundle on a dataset, or a predicted map on its reference."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from eoforge.cli.field_options import (
    DEFAULT_BOUNDARY,
    DEFAULT_DISTANCE,
    DEFAULT_EXTENT,
    ExtentThreshold,
    SeedBoundary,
    SeedDistance,
    field_options,
)
from eoforge.cli.globs import expand
from eoforge.errors import ConfigError

if TYPE_CHECKING:
    from eoforge.evaluate import SceneScore
    from eoforge.predict.fields import FieldPolygonOptions

HELP = """Score a model bundle on a dataset, or a predicted map against a reference.

Bundle form (BUNDLE DATA): DATA is an experiment config (its validation
data, scored as training scored it), a synthetic or STAC scene folder for
geo bundles (scored whole, every pixel of the label raster once, classes
mapped as in training), or the dataset root for chip bundles (class
folders, LEVIR-CD layout, images/ + masks/). The bundle's normalisation is
used; the metrics are the training metrics' code. Detection bundles also
write, beside the metrics JSON, each class's precision-recall curve
(<stem>_pr_curves.json, .csv and .png) and a figure of example detections
(<stem>_examples.png: the images with the most objects, ground truth dashed,
true positives solid, false positives dotted; --examples, --score-threshold).

Probe form (BUNDLE DATA --probe knn|linear|finetune): an embedding bundle
(task embedding: images to vectors, e.g. from pretraining) is scored by a
probe on its frozen features over labelled DATA (an experiment config of
class_folder, bigearthnet or geo data with a label layer, or a class-folder
root), on the config's training and validation splits. knn: cosine, the 20
nearest vote weighted by exp(similarity / 0.07) (top-1 accuracy or mAP, and
precision@10 of same-label neighbours); linear: logistic regression on
standardised features; finetune: the encoder unfrozen under a linear head
for --probe-epochs. Geo windows are labelled by their dominant class and,
for mAP, by the classes covering at least --presence of them. Windows are
resized to the bundle's patch size (bilinear) and normalised with the
bundle's statistics unless --probe-size / --probe-norm say otherwise; the
JSON records what was used, the counts, the feature width and the bundle's
fingerprint.

Image-text form (BUNDLE DATA --zero-shot / --retrieval): BUNDLE is an
image-text bundle (task.kind image_text). --zero-shot: DATA is a labelled
scene folder (labels/landcover_*.tif + legend.json, e.g. eoforge synth);
every window of the bundle's patch size is classified from the class names
in prompt templates (--template, repeatable; default four "a satellite image
of {}."-style ones, averaged) and scored against its dominant class:
accuracy, balanced accuracy, confusion. --retrieval: DATA is the image-text
experiment config; its validation captions query its validation windows
(a caption is relevant to its own window): recall@1/5/10, mean and median
rank, mAP and nDCG, text->image and image->text. A CLOSP config
(data.modalities) scores each tower on its own modality's validation pairs:
BUNDLE is one tower (<run>/bundle/optical) or the folder of all of them
(metrics prefixed by the modality).

Field-boundary form (BUNDLE SCENE [--target FIELDS.parquet]): a
field_boundaries bundle predicts SCENE whole (extent, boundary and distance
maps), its seeded watershed gives field polygons, and they are scored against
the reference fields (default SCENE/vectors/fields.parquet of a synthetic
scene), clipped to the scene: pairs matched one-to-one at IoU >= 0.5, mean
matched IoU, share of reference fields recovered, precision, and over- and
under-segmentation as in Persello et al. 2019 (evaluation_fields.json beside
the bundle unless --out). --extent-threshold, --seed-distance and
--seed-boundary set the watershed's thresholds (as for eoforge predict).

Super-resolution form (BUNDLE INPUT.tif --target TARGET.tif): a
super_resolution bundle predicts the whole input raster on the grid
scale times finer; the prediction and the bicubic upsampling of the input
are scored against TARGET (same CRS and origin, pixel = input pixel /
scale): PSNR, SSIM, cPSNR and cSSIM (--border: cropped border and largest
shift, target pixels) per band and their mean, and the gains in dB.
--resample-target first puts a target at another pixel size (WorldStrat:
1.5 m over 10 m) on the input's grid with pixel input / round(ratio).
Multi-frame bundles (sr_multiframe) read the scene's revisits: INPUT is a
quoted glob pattern ("pair/lr_?.tif", sorted by name) or one file, and
--masks a glob of their clear masks (1 = clear, one per revisit, same
order); they are predicted as one scene and scored against the bicubic
upsampling of the first revisit and of the median of the clear revisits.
Reference-guided bundles (sr_reference) also read --reference, an image of
the place at another date on any grid (read on the output grid, as eoforge
predict does); the report names it.

Bundles trained on input groups (data.inputs, fusion_unet) are scored on a
scene folder predicted whole, each group read per tile on its own grid as
eoforge predict reads it, against the scene's label layer (or --labels, a
label raster with the values training mapped): confusion matrix, IoU per
class, accuracy, mIoU, kappa. A group whose bands the scene lacks is absent
from every tile; the run is then degraded and the output says so.

Map form (PREDICTION.tif REFERENCE): when the first argument is a raster
file, the single-band prediction (a class map from eoforge predict, or
values with --regression) is scored against REFERENCE, a label raster in
any CRS and resolution or a vector layer (GeoJSON, GeoPackage, GeoParquet,
Shapefile) whose --field holds the class ids (or values). The reference is
brought onto the prediction's grid and only their overlap is scored;
nodata and --ignore values in either map are skipped.

Examples:

  eoforge synth --out scenes/unseen --size 512 --sensors s2 --dates 1 --clouds 0 --seed 7

  eoforge evaluate runs/landcover/bundle scenes/unseen

  eoforge evaluate runs/fusion_s1s2/bundle scenes/unseen_s2_s1 --out fusion-metrics.json

  eoforge evaluate runs/levir/bundle configs/levir_cd.yaml --out levir-metrics.json

  eoforge evaluate runs/dubai/bundle configs/dubai_colour_masks.yaml --split test

  eoforge evaluate runs/ships/bundle configs/detect_synth_vhr.yaml --score-threshold 0.5

  eoforge evaluate runs/pretrain/bundle configs/landcover_synthetic.yaml --probe linear

  eoforge evaluate runs/pretrain/bundle chips/ --probe knn --probe-norm none --out knn.json

  eoforge evaluate runs/image_text_synth/bundle scenes/unseen --zero-shot

  eoforge evaluate runs/image_text_synth/bundle configs/image_text_synth.yaml --retrieval

  eoforge evaluate runs/mf/bundle "pair/lr_?.tif" --target pair/hr.tif --masks "pair/lr_?_clear.tif"

  eoforge evaluate runs/sr_ref/bundle pair/lr.tif --target pair/hr.tif --reference old_hr.tif

  eoforge evaluate maps/scene_classes.tif labels/landcover_4326.tif --ignore 0 --out metrics.json

  eoforge evaluate maps/scene_classes.tif labels/parcels.gpkg --field crop_id

  eoforge evaluate maps/canopy_height.tif lidar_chm.tif --regression
"""

_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")
ProbeChoice = Literal["knn", "linear", "finetune"]
NormChoice = Literal["bundle", "none", "dataset"]


@dataclass(frozen=True)
class _ProbeFlags:
    """The probe options as given (None: not given)."""

    probe: ProbeChoice | None = None
    size: int | None = None
    norm: NormChoice | None = None
    k: int | None = None
    epochs: int | None = None
    lr: float | None = None
    presence: float | None = None
    device: str | None = None

    def given(self) -> bool:
        return any(v is not None for v in vars(self).values())

    def tuning_without_probe(self) -> bool:
        return self.probe is None and self.given()


def evaluate(
    first: Annotated[
        Path,
        typer.Argument(
            metavar="BUNDLE|PREDICTION",
            help="Bundle folder written by eoforge train, or a predicted map (GeoTIFF).",
        ),
    ],
    second: Annotated[
        Path,
        typer.Argument(
            metavar="DATA|REFERENCE",
            help="Config file, scene folder or dataset root; or a label raster or vector layer.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Metrics JSON (default: evaluation.json beside the bundle, "
            "or PREDICTION.metrics.json).",
        ),
    ] = None,
    field: Annotated[
        str | None,
        typer.Option("--field", help="Attribute of a vector reference holding the labels."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Bundles trained on input groups, on a scene folder: score against this "
            "label raster (values as in training) instead of the scene's own labels.",
        ),
    ] = None,
    regression: Annotated[
        bool, typer.Option("--regression", help="Score values (MAE, RMSE, bias, R²).")
    ] = False,
    ignore: Annotated[
        list[float] | None,
        typer.Option("--ignore", help="Value to skip in either map; repeat for several."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Bundle form: score the validation data (val, the default) or the images of "
            "the config's data.splits.test (test).",
        ),
    ] = None,
    examples: Annotated[
        int | None,
        typer.Option(
            "--examples",
            min=0,
            help="Detection bundles: images drawn in the example-detections figure "
            "(default 4; 0: none).",
        ),
    ] = None,
    score_threshold: Annotated[
        float | None,
        typer.Option(
            "--score-threshold",
            min=0.0,
            max=1.0,
            help="Detection bundles: least score of a drawn prediction, and the operating "
            "point of the per-class precision and recall (default 0.3).",
        ),
    ] = None,
    probe: Annotated[
        ProbeChoice | None,
        typer.Option("--probe", help="Embedding bundles: score frozen features with this probe."),
    ] = None,
    probe_size: Annotated[
        int | None,
        typer.Option(
            "--probe-size", min=1, help="Probe: input side in pixels (default: the bundle's)."
        ),
    ] = None,
    probe_norm: Annotated[
        NormChoice | None,
        typer.Option(
            "--probe-norm",
            help="Probe: normalise with the bundle's statistics (default), none, or the "
            "training split's (dataset).",
        ),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", min=1, help="knn probe: neighbours that vote (20).")
    ] = None,
    probe_epochs: Annotated[
        int | None,
        typer.Option("--probe-epochs", min=1, help="finetune probe: training epochs (3)."),
    ] = None,
    probe_lr: Annotated[
        float | None,
        typer.Option("--probe-lr", min=0.0, help="finetune probe: learning rate (1e-4)."),
    ] = None,
    presence: Annotated[
        float | None,
        typer.Option(
            "--presence",
            min=0.0,
            max=1.0,
            help="Probe on geo windows: least class share for a multi-label positive (0.1).",
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option("--device", help="Probe: cpu (default), cuda, or auto."),
    ] = None,
    zero_shot: Annotated[
        bool,
        typer.Option("--zero-shot", help="Image-text bundles: classify from class names."),
    ] = False,
    retrieval: Annotated[
        bool,
        typer.Option("--retrieval", help="Image-text bundles: caption <-> window retrieval."),
    ] = False,
    template: Annotated[
        list[str] | None,
        typer.Option("--template", help="--zero-shot: prompt with {} for the class; repeat."),
    ] = None,
    target: Annotated[
        Path | None,
        typer.Option(
            "--target",
            help="Super-resolution bundles: the high-resolution target of the input raster; "
            "image-to-image bundles: the scene holding the target bands; field-boundary "
            "bundles: the reference field polygons.",
        ),
    ] = None,
    border: Annotated[
        int,
        typer.Option("--border", min=0, help="--target: cPSNR/cSSIM border and shift, px."),
    ] = 3,
    resample_target: Annotated[
        bool,
        typer.Option(
            "--resample-target",
            help="--target: resample a target whose pixel is not the input's divided by a "
            "whole factor (WorldStrat: 1.5 m over 10 m) onto input pixel / round(ratio).",
        ),
    ] = False,
    masks: Annotated[
        str | None,
        typer.Option(
            "--masks",
            help="--target, multi-frame bundles: the revisits' clear masks (a quoted glob "
            "or one file; 1 = clear).",
        ),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="--target, reference-guided SR bundles: the high-resolution reference "
            "image (another date of the place).",
        ),
    ] = None,
    extent_threshold: ExtentThreshold = DEFAULT_EXTENT,
    seed_distance: SeedDistance = DEFAULT_DISTANCE,
    seed_boundary: SeedBoundary = DEFAULT_BOUNDARY,
) -> None:
    """Evaluate a bundle or a predicted map (see ``eoforge evaluate --help``)."""
    if masks is not None and target is None:
        raise ConfigError(
            "--masks goes with --target (a multi-frame super-resolution bundle's revisits).",
            fix="add --target TARGET.tif, or drop --masks.",
        )
    if reference is not None and target is None:
        raise ConfigError(
            "--reference goes with --target (a reference-guided super-resolution bundle "
            "scored on its input).",
            fix="add --target TARGET.tif, or drop --reference.",
        )
    if labels is not None and (
        target is not None or zero_shot or retrieval or probe is not None or _is_map(first)
    ):
        raise ConfigError(
            "--labels goes with a bundle trained on input groups, scored on a scene folder.",
            fix="drop --labels (a predicted map takes its reference as the second argument).",
        )
    if _bundle_task(first) == "field_boundaries":
        if masks is not None or reference is not None:
            raise ConfigError(
                "--masks and --reference are for super-resolution bundles.",
                path=first,
                fix="drop them.",
            )
        options = field_options(extent_threshold, seed_distance, seed_boundary)
        _evaluate_fields(first, second, target, out, options)
        return
    if target is not None:
        if _bundle_task(first) == "image_to_image":
            if masks is not None or reference is not None:
                raise ConfigError(
                    "--masks and --reference are for super-resolution bundles "
                    "(multi-frame and reference-guided).",
                    path=first,
                    fix="drop them.",
                )
            _evaluate_i2i(first, second, target, out)
        else:
            _evaluate_sr(first, second, target, out, border, resample_target, masks, reference)
        return
    if zero_shot or retrieval or template:
        _evaluate_image_text(first, second, out, zero_shot, retrieval, template)
        return
    flags = _ProbeFlags(
        probe, probe_size, probe_norm, k, probe_epochs, probe_lr, presence, device
    )  # fmt: skip
    if flags.tuning_without_probe():
        raise ConfigError(
            "--probe-size, --probe-norm, --k, --probe-epochs, --probe-lr, --presence and "
            "--device tune a probe, but no --probe was given.",
            fix="add --probe knn, linear or finetune, or drop those options.",
        )
    if _is_map(first) and flags.given():
        raise ConfigError(
            "--probe scores an embedding bundle on labelled data, not a predicted map.",
            path=first,
            fix="pass an embedding bundle folder and a data config, or drop --probe.",
        )
    if flags.probe is not None:
        if split is not None or examples is not None or score_threshold is not None:
            raise ConfigError(
                "--split, --examples and --score-threshold do not apply to probes.",
                fix="drop them: a probe uses the data's training and validation splits.",
            )
        if field is not None or regression or ignore:
            raise ConfigError(
                "--field, --regression and --ignore apply to predicted maps, not to probes.",
                fix="drop them: a probe reads the labels its data config describes.",
            )
        _evaluate_probe(first, second, out, flags)
        return
    if _is_map(first):
        if split is not None or examples is not None or score_threshold is not None:
            raise ConfigError(
                "--split, --examples and --score-threshold apply to a bundle scored on a "
                "dataset, not to a predicted map.",
                path=first,
                fix="drop those options, or pass a bundle folder and its config.",
            )
        _evaluate_map(first, second, out, field, regression, ignore or [])
        return
    if field is not None or regression or ignore:
        raise ConfigError(
            "--field, --regression and --ignore apply to predicted maps, not to bundles.",
            path=first,
            fix="pass a prediction GeoTIFF as the first argument, or drop those options.",
        )
    if split not in (None, "val", "test"):
        raise ConfigError(
            f"--split {split!r} is not a split eoforge scores.",
            fix="use --split val (the validation data) or --split test (data.splits.test).",
        )
    _evaluate_bundle(
        first,
        second,
        out,
        "test" if split == "test" else "val",
        4 if examples is None else examples,
        0.3 if score_threshold is None else score_threshold,
        labels,
    )


def _evaluate_sr(
    bundle: Path,
    lr: Path,
    hr: Path,
    out: Path | None,
    border: int,
    resample: bool = False,
    masks: str | None = None,
    reference: Path | None = None,
) -> None:
    # Deferred for the CLI's start-up time: the prediction engine imports PyTorch (seconds).
    from eoforge.evaluate.sr_scene import evaluate_sr_scene

    path = out if out is not None else bundle.parent / "evaluation_sr.json"
    lrs = expand(str(lr), "INPUT")
    report = evaluate_sr_scene(
        bundle,
        lrs if len(lrs) > 1 or masks is not None else lrs[0],
        hr,
        path,
        border=border,
        resample_target=resample,
        masks=None if masks is None else expand(masks, "--masks"),
        reference=reference,
    )
    title = lr if len(lrs) == 1 else f"{len(lrs)} revisits {lr}"
    guide = "" if reference is None else f", reference {reference}"
    table = Table(title=f"{bundle} on {title} (x{report['scale']}, target {hr}{guide})")
    table.add_column("metric")
    names = [n for n in ("model", "bicubic", "bicubic_median") if n in report]
    for name in names:
        table.add_column(name, justify="right")
    for metric in ("psnr", "cpsnr", "ssim", "cssim"):
        table.add_row(metric, *(f"{report[name][metric]['mean']:.4f}" for name in names))
    console = Console()
    console.print(table)
    console.print(f"wrote {path}", soft_wrap=True)


def _bundle_task(bundle: Path) -> str | None:
    """The task a bundle folder's ``bundle.json`` names (None when there is none to read)."""
    try:
        return str(json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))["task"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _evaluate_i2i(bundle: Path, scene: Path, target: Path, out: Path | None) -> None:
    # Deferred for the CLI's start-up time: the prediction engine imports PyTorch (seconds).
    from eoforge.evaluate.i2i_scene import evaluate_i2i_scene

    path = out if out is not None else bundle.parent / "evaluation_i2i.json"
    report = evaluate_i2i_scene(bundle, scene, target, path)
    rows = [("model", report["model"])]
    rows += list(report.get("baselines", {}).items())
    table = Table(title=f"{bundle} on {scene} (target {target})")
    table.add_column("scores")
    table.add_column("pixels")
    for band in report["bands"]:
        table.add_column(f"{band} PSNR / MAE", justify="right")
    table.add_column("SAM deg", justify="right")
    for name, scores in rows:
        for part, value in scores.items():
            table.add_row(
                f"{name} {part}",
                str(value["pixels"]),
                *(
                    f"{value['psnr']['bands'][b]:.2f} / {value['mae']['bands'][b]:.4f}"
                    for b in report["bands"]
                ),
                f"{value['sam_deg']:.2f}",
            )
    console = Console()
    console.print(table)
    console.print(f"wrote {path}", soft_wrap=True)


def _evaluate_fields(
    bundle: Path,
    scene: Path,
    target: Path | None,
    out: Path | None,
    options: FieldPolygonOptions,
) -> None:
    # Deferred for the CLI's start-up time: the prediction engine imports PyTorch (seconds).
    from eoforge.evaluate.field_scene import evaluate_field_scene

    path = out if out is not None else bundle.parent / "evaluation_fields.json"
    report = evaluate_field_scene(bundle, scene, target, path, options=options)
    scores = report["scores"]
    table = Table(title=f"{bundle} on {scene} (fields {report['reference']})")
    table.add_column("score")
    table.add_column("value", justify="right")
    for name, value in scores.items():
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    console.print(f"wrote {path}", soft_wrap=True)


def _is_map(path: Path) -> bool:
    # A missing *.tif is still meant as a map: its error should name the file, not bundle.json.
    return path.is_file() or (not path.exists() and path.suffix.lower() in _RASTER_SUFFIXES)


def _evaluate_bundle(
    bundle: Path,
    data: Path,
    out: Path | None,
    split: Literal["val", "test"],
    examples: int,
    score_threshold: float,
    labels: Path | None = None,
) -> None:
    # Deferred for the CLI's start-up time: experiments import PyTorch and Lightning (seconds).
    from eoforge.experiment.evaluate import evaluate as run_evaluation

    target = out if out is not None else bundle.parent / "evaluation.json"
    metrics = run_evaluation(
        bundle,
        data,
        target,
        split=split,
        examples=examples,
        score_threshold=score_threshold,
        labels=labels,
    )
    console = Console()
    table = Table(title=f"{bundle} on {data} ({split})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    absent = json.loads(target.read_text()).get("absent_groups")
    if absent:
        console.print(
            f"degraded run: input group(s) {', '.join(absent)} absent from the scene "
            "(predicted without them, as where no raster covered them in training)",
            soft_wrap=True,
        )
    console.print(f"wrote {target}", soft_wrap=True)
    for extra in _detectionexpand(target):
        console.print(f"wrote {extra}", soft_wrap=True)


def _evaluate_probe(bundle: Path, data: Path, out: Path | None, flags: _ProbeFlags) -> None:
    # Deferred for the CLI's start-up time: probes import PyTorch, scikit-learn and Lightning.
    from eoforge.evaluate.probe_run import ProbeOptions, run_probe

    assert flags.probe is not None
    given: dict[str, Any] = {
        "size": flags.size,
        "norm": flags.norm,
        "k": flags.k,
        "epochs": flags.epochs,
        "lr": flags.lr,
        "presence": flags.presence,
        "device": flags.device,
    }
    options = ProbeOptions(**{key: v for key, v in given.items() if v is not None})
    target = out if out is not None else bundle.parent / f"probe_{flags.probe}.json"
    report = run_probe(bundle, data, flags.probe, options, out=target)
    shape = report["input"]
    console = Console()
    table = Table(
        title=f"{flags.probe} probe of {bundle} on {data} ({report['n_train']} training, "
        f"{report['n_val']} validation windows; {shape['size']} px, "
        f"{shape['normalization']} normalisation)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["metrics"].items():
        table.add_row(name, _value(float(value)))
    console.print(table)
    console.print(f"wrote {target}", soft_wrap=True)


def _detectionexpand(metrics: Path) -> list[Path]:
    """The curve and figure files a detection evaluation wrote beside ``metrics``."""
    try:
        section = json.loads(metrics.read_text(encoding="utf-8")).get("detection")
    except (OSError, ValueError, AttributeError):
        return []
    files = section.get("files") if isinstance(section, dict) else None
    return [metrics.with_name(str(n)) for n in files.values()] if isinstance(files, dict) else []


def _evaluate_map(
    prediction: Path,
    reference: Path,
    out: Path | None,
    field: str | None,
    regression: bool,
    ignore: list[float],
) -> None:
    # Deferred for the CLI's start-up time: scene scoring imports pandas and geopandas.
    from eoforge.evaluate import evaluate_maps

    score = evaluate_maps(
        prediction,
        reference,
        kind="regression" if regression else "classes",
        label_field=field,
        ignore=ignore,
    )
    target = score.save(out if out is not None else prediction.with_suffix(".metrics.json"))
    console = Console()
    console.print(_summary(score, f"{prediction.name} vs {reference.name}"))
    if score.kind == "classes":
        console.print(_per_class(score))
    console.print(f"wrote {target}", soft_wrap=True)


def _value(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _summary(score: SceneScore, title: str) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    if score.kind == "regression":
        rows = [("MAE", score.mae), ("RMSE", score.rmse), ("bias", score.bias), ("R²", score.r2)]
    else:
        rows = [
            ("overall accuracy", score.overall_accuracy),
            ("mIoU", score.miou),
            ("kappa", score.kappa),
            ("mean F1", score.mean_f1),
        ]
    for name, value in rows:
        table.add_row(name, _value(value))
    table.add_row("pixels", f"{score.pixels:,}")
    return table


def _per_class(score: SceneScore) -> Table:
    table = Table(title="per class")
    for name in ("id", "class", "IoU", "F1", "precision", "recall", "support"):
        table.add_column(name, justify="left" if name == "class" else "right")
    for i, class_id in enumerate(score.class_ids):
        table.add_row(
            str(class_id),
            score.class_names[i],
            *(_value(float(v[i])) for v in (score.iou, score.f1, score.precision, score.recall)),
            f"{int(score.support[i]):,}",
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``eoforge`` command."""
    app.command("evaluate", help=HELP)(evaluate)


def _evaluate_image_text(
    bundle: Path,
    data: Path,
    out: Path | None,
    zero_shot: bool,
    retrieval: bool,
    templates: list[str] | None,
) -> None:
    if zero_shot == retrieval:
        raise ConfigError(
            "give one of --zero-shot (DATA: a labelled scene folder) and --retrieval (DATA: "
            "the image-text config)" + (" with --template" if templates else "") + ".",
            fix="e.g. eoforge evaluate BUNDLE scenes/unseen --zero-shot.",
        )
    if templates and not zero_shot:
        raise ConfigError("--template is for --zero-shot.", fix="drop --template.")
    # Deferred for the CLI's start-up time: PyTorch and the text model load in seconds.
    from eoforge.evaluate.zeroshot import TEMPLATES
    from eoforge.experiment.image_text_eval import caption_retrieval, zero_shot_scene
    from eoforge.io.staging import write_json  # (start-up time, as above)

    report: dict[str, Any]
    if zero_shot:
        result, extra = zero_shot_scene(bundle, data, templates=templates or TEMPLATES)
        metrics = result.as_dict()
        report = {
            **metrics,
            **extra,
            "templates": list(templates or TEMPLATES),
            "confusion": result.confusion.tolist(),
        }
    else:
        metrics = caption_retrieval(bundle, data)
        report = dict(metrics)
    target = out if out is not None else bundle.parent / "evaluation.json"
    write_json(target, report)
    console = Console()
    table = Table(title=f"{bundle} on {data} ({'zero-shot' if zero_shot else 'retrieval'})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"wrote {target}", soft_wrap=True)
