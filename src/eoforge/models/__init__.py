"""Networks for any band set: builder, registry, stems, weights, bundles.

Example:
    >>> from eoforge.models import ModelSpec, build_model
    >>> spec = ModelSpec(task="segmentation", arch="unet",
    ...                  in_bands=["S2.B02", "S2.B03", "S2.B04", "S2.B08"], num_classes=5)
    >>> model = build_model(spec)  # [B, 4, H, W] -> [B, 5, H, W]
"""

from eoforge.classes import ClassInfo

# Importing the architecture modules registers them.
from eoforge.models import (
    change,
    change_attention,
    classification,
    detection,
    encoders,
    field_series,
    field_unet,
    forest,
    fusion,
    fusion_classifier,
    image_text,
    importers,
    location_arch,
    oriented,
    segmentation,
    simple,
    sr_edsr,
    sr_multiframe,
    sr_reference,
    sr_shift_fit,
    sr_swin,
    temporal,
)
from eoforge.models.builder import build_model, load_pretrained
from eoforge.models.bundle import (
    Bundle,
    LoadedBundle,
    Normalization,
    load_bundle,
    read_bundle_json,
    save_bundle,
)
from eoforge.models.forest import PixelForest
from eoforge.models.importers.load import (
    ImportedModel,
    import_checkpoint,
    import_state_dict,
    save_imported_bundle,
)
from eoforge.models.registry import ModelInfo, list_models, register_model
from eoforge.models.spec import ModelSpec, Task
from eoforge.models.stems import adapt_stem, match_bands
from eoforge.models.weights import ImportReport, import_weights, load_state_dict_file

__all__ = [
    "Bundle",
    "ClassInfo",
    "ImportReport",
    "ImportedModel",
    "LoadedBundle",
    "ModelInfo",
    "ModelSpec",
    "Normalization",
    "PixelForest",
    "Task",
    "adapt_stem",
    "build_model",
    "change",
    "change_attention",
    "classification",
    "detection",
    "encoders",
    "field_series",
    "field_unet",
    "forest",
    "fusion",
    "fusion_classifier",
    "image_text",
    "import_checkpoint",
    "import_state_dict",
    "import_weights",
    "importers",
    "list_models",
    "load_bundle",
    "load_pretrained",
    "load_state_dict_file",
    "location_arch",
    "match_bands",
    "oriented",
    "read_bundle_json",
    "register_model",
    "save_bundle",
    "save_imported_bundle",
    "segmentation",
    "simple",
    "sr_edsr",
    "sr_multiframe",
    "sr_reference",
    "sr_shift_fit",
    "sr_swin",
    "temporal",
]
