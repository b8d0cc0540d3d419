"""Self-supervised objectives on the spectral encoders (pure tensor code, no files).

* :mod:`.contrastive`: NT-Xent (SimCLR), MoCo-v2's logits, its feature queue
  and momentum update.
* :mod:`.softcon`: soft contrastive loss against land-cover similarity targets.
* :mod:`.heads`: the projection MLP of the contrastive methods.
* :mod:`.mae`: a masked autoencoder on :class:`~eoforge.models.encoders.SpectralViT`
  with multi-scale reconstruction and optional spectral grouping (SatMAE++'s ideas).

The Lightning side (two augmented views, optimisation, DDP gathering) is
:mod:`eoforge.tasks.pretrain`.
"""

from eoforge.models.ssl.contrastive import FeatureQueue, moco_loss, momentum_update, nt_xent
from eoforge.models.ssl.heads import ProjectionHead
from eoforge.models.ssl.mae import MaskedAutoencoder, random_masking, wavelength_groups
from eoforge.models.ssl.softcon import fraction_similarity, soft_contrastive

__all__ = [
    "FeatureQueue",
    "MaskedAutoencoder",
    "ProjectionHead",
    "fraction_similarity",
    "moco_loss",
    "momentum_update",
    "nt_xent",
    "random_masking",
    "soft_contrastive",
    "wavelength_groups",
]
