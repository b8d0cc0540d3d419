"""Importers for published foundation-model checkpoints, mapped to eoforge bands.

Nothing is downloaded: the user passes the file. Each importer recognises one
published key layout (``matches``), converts its tensors to an eoforge model
(``convert``) and names the checkpoint's channels as eoforge bands:

==============  =============================================  ==========================
importer        published layout                               eoforge model
==============  =============================================  ==========================
ssl4eo_resnet   SSL4EO-S12 / SoftCon ResNet (MoCo, DINO)       timm resnet (timm_encoder)
ssl4eo_vit      SSL4EO-S12 ViT-S/16 (DINO, MAE)                timm vit_small_patch16_224
softcon_vit     SoftCon ViT-S/14, ViT-B/14 (DINOv2 keys)       timm vit_*_patch14_dinov2
prithvi         Prithvi-100M / EO-2.0 (3-D patch embedding)    timm ViT, single date
dofa            DOFA ViT (wavelength-conditioned generator)    dofa_vit (exact)
satmae          SatMAE/SatMAE++ group-channel ViT (3 groups)   group_channel_vit (exact)
satlas_resnet   SatlasPretrain Sentinel-2 ResNet-50/152        timm resnet (timm_encoder)
satlas_swin     SatlasPretrain Swin-v2-B/T (S2, S1, Landsat)   timm swinv2_*_window8_256
==============  =============================================  ==========================

Not done: group-channel checkpoints with other band groupings; SatMAE++'s
pretraining (multi-scale) checkpoints were not checked.

Use: :func:`eoforge.models.importers.load.import_checkpoint` (also exported by
:mod:`eoforge.models`) ``("B13_rn50_moco.pth", bands=["S2.B04", "S2.B03"])``
gives an ``ImportedModel`` whose ``model`` maps ``[B, 2, H, W]`` to
``[B, 2048]``; ``save_imported_bundle`` writes it as an embedding bundle. In an
experiment config, ``model.importer`` (a name, or ``auto``) converts
``model.pretrained`` with the importer before it is placed in the model (see
:func:`eoforge.models.builder.load_pretrained`).
"""

from eoforge.models.importers.base import (
    CheckpointImporter,
    Converted,
    PublishedNormalization,
    stem_for_bands,
)
from eoforge.models.importers.dofa import DOFAViT, wavelength_embedding
from eoforge.models.importers.files import read_checkpoint
from eoforge.models.importers.registry import detect_importer, get_importer, list_importers
from eoforge.models.importers.satmae import GroupChannelViT
from eoforge.models.importers.timm_targets import TimmEncoder

__all__ = [
    "CheckpointImporter",
    "Converted",
    "DOFAViT",
    "GroupChannelViT",
    "PublishedNormalization",
    "TimmEncoder",
    "detect_importer",
    "get_importer",
    "list_importers",
    "read_checkpoint",
    "stem_for_bands",
    "wavelength_embedding",
]
