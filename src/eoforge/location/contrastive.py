"""Places against images: the location encoder, an image projection, symmetric InfoNCE (SatCLIP).

:class:`LocationImageModel` holds what contrastive training learns: the
location encoder (``[N, 2]`` degrees -> ``[N, D]``), a linear projection of the
frozen image vectors (``[N, D_image]`` -> ``[N, D]``) and a learnt
temperature (CLIP's logit scale, capped at 100). :func:`info_nce` is the
symmetric loss: in a batch of ``B`` (place, image) pairs, each place must
pick out its own image among the ``B`` and each image its own place.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.location.encoder import LocationEncoder, LocationSpec

MAX_LOGIT_SCALE = 100.0


def info_nce(places: Tensor, images: Tensor, logit_scale: Tensor) -> Tensor:
    """Symmetric InfoNCE of paired embeddings.

    Args:
        places: ``[B, D]`` location embeddings (normalised here).
        images: ``[B, D]`` projected image embeddings, row ``i`` paired with ``places[i]``.
        logit_scale: Inverse temperature (a scalar).

    Returns:
        The mean of the place->image and image->place cross-entropies.
    """
    logits = logit_scale * F.normalize(places, dim=-1) @ F.normalize(images, dim=-1).T
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


class LocationImageModel(nn.Module):
    """Location encoder + image projection + temperature.

    Args:
        spec: Sizes of the location encoder.
        image_dim: Length of the image vectors.
        temperature: Initial temperature (logit scale ``1 / temperature``).
        learn_temperature: Learn it (else it stays fixed).
    """

    def __init__(
        self,
        spec: LocationSpec,
        image_dim: int,
        *,
        temperature: float = 0.07,
        learn_temperature: bool = True,
    ) -> None:
        super().__init__()
        self.encoder = LocationEncoder.from_spec(spec)
        self.image_projection = nn.Linear(image_dim, spec.dim)
        log_scale = torch.tensor(math.log(1.0 / temperature))
        self.log_logit_scale = nn.Parameter(log_scale, requires_grad=learn_temperature)

    @property
    def logit_scale(self) -> Tensor:
        """Inverse temperature, at most :data:`MAX_LOGIT_SCALE`."""
        return self.log_logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def embed_places(self, lonlat: Tensor) -> Tensor:
        """Unit location embeddings ``[N, D]`` of places ``[N, 2]`` (degrees)."""
        return F.normalize(self.encoder(lonlat), dim=-1)

    def embed_images(self, vectors: Tensor) -> Tensor:
        """Unit projected image embeddings ``[N, D]`` of image vectors ``[N, D_image]``."""
        return F.normalize(self.image_projection(vectors), dim=-1)

    def loss(self, lonlat: Tensor, vectors: Tensor) -> Tensor:
        """Symmetric InfoNCE of places ``[B, 2]`` and their image vectors ``[B, D_image]``."""
        return info_nce(self.encoder(lonlat), self.image_projection(vectors), self.logit_scale)
