"""Contrastive objectives: NT-Xent (SimCLR) and MoCo-v2 (queue of keys, momentum encoder).

Shapes: embeddings ``[B, d]`` (any scale: they are L2-normalised here),
queues ``[K, d]`` of unit vectors. Temperatures are dimensionless.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.errors import ConfigError


def nt_xent(a: Tensor, b: Tensor, temperature: float = 0.1) -> Tensor:
    """SimCLR's normalised-temperature cross-entropy of two views.

    The ``2B`` embeddings ``[a; b]`` are L2-normalised; each one's logits are
    its cosine similarities to the other ``2B - 1`` divided by
    ``temperature``, its positive is the other view of the same sample, the
    ``2B - 2`` others are negatives. The loss is the mean cross-entropy over
    all ``2B`` rows.

    Args:
        a: First view's embeddings ``[B, d]``.
        b: Second view's embeddings ``[B, d]`` (row ``i`` pairs with ``a[i]``).
        temperature: Softmax temperature (> 0).

    Returns:
        Scalar loss.

    Raises:
        ConfigError: Views of different shapes, or a non-positive temperature.
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ConfigError(
            f"NT-Xent needs two [B, d] views of one shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}.",
            fix="embed both views with the same network.",
        )
    _check_temperature(temperature)
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=1)
    logits = (z @ z.T) / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    index = torch.arange(n, device=z.device)
    targets = torch.cat([index + n, index])
    return F.cross_entropy(logits, targets)


def moco_loss(query: Tensor, key: Tensor, queue: Tensor, temperature: float = 0.2) -> Tensor:
    """MoCo's InfoNCE: each query's positive is its key, the negatives are the queue.

    Args:
        query: Online embeddings ``[B, d]`` (normalised here).
        key: Momentum embeddings of the other view ``[B, d]`` (normalised here;
            no gradient flows into them).
        queue: Earlier keys ``[K, d]``, unit vectors.
        temperature: Softmax temperature (> 0).

    Returns:
        Scalar loss: mean cross-entropy of ``[q·k, q·queue] / temperature``
        with the positive at index 0.
    """
    _check_temperature(temperature)
    q = F.normalize(query.float(), dim=1)  # float32 logits even under autocast
    k = F.normalize(key.detach().float(), dim=1)
    positive = (q * k).sum(dim=1, keepdim=True)
    negative = q @ queue.detach().float().T
    logits = torch.cat([positive, negative], dim=1).div_(temperature)
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ConfigError(
            f"contrastive temperature must be positive, got {temperature}.",
            fix="set task.ssl.temperature to e.g. 0.1 (SimCLR) or 0.2 (MoCo-v2).",
        )


class FeatureQueue(nn.Module):
    """First-in first-out queue of unit key vectors (MoCo's dictionary).

    The queue and its write position are buffers, so checkpoints carry them
    and a resumed run continues with the same negatives.

    Args:
        size: Keys kept ``K``.
        dim: Key length ``d``.

    Attributes:
        keys: ``[K, d]`` unit vectors (random unit vectors at first).
        pointer: Row the next key is written to (long scalar).
    """

    keys: Tensor
    pointer: Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ConfigError(
                f"a MoCo queue needs a positive size and width, got {size} x {dim}.",
                fix="set task.ssl.queue_size to a positive number of keys.",
            )
        self.register_buffer("keys", F.normalize(torch.randn(size, dim), dim=1))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, keys: Tensor) -> None:
        """Write ``keys`` ``[n, d]`` (normalised here) at the pointer, wrapping around.

        The oldest keys are overwritten; with ``n > K`` only the last ``K``
        are kept.
        """
        keys = F.normalize(keys.detach().to(self.keys.dtype), dim=1)
        size, n = self.keys.shape[0], keys.shape[0]
        if n >= size:
            self.keys.copy_(keys[-size:])
            self.pointer.zero_()
            return
        # rows and pointer stay on the device: no read of the pointer by the host
        rows = torch.arange(n, device=keys.device).add_(self.pointer).remainder_(size)
        self.keys.index_copy_(0, rows, keys)
        self.pointer.add_(n).remainder_(size)


@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """Move ``target``'s weights towards ``online``'s: ``t = m t + (1 - m) o``.

    Buffers (batch-norm statistics) are copied as they are. Both are single
    fused calls over the whole parameter and buffer lists (a lerp, a copy):
    one pass over the weights, no Python loop, no host sync.

    Args:
        online: Network trained by gradients.
        target: Its momentum copy (same architecture).
        momentum: ``m`` in [0, 1]; 0 copies, 1 freezes.

    Raises:
        ConfigError: The two networks' parameters or buffers do not pair up.
    """
    mine: list[Tensor] = list(target.parameters())
    theirs = [p.detach() for p in online.parameters()]
    kept: list[Tensor] = list(target.buffers())
    given = list(online.buffers())
    if len(mine) != len(theirs) or len(kept) != len(given):
        raise ConfigError(
            f"momentum update between networks of {len(theirs)} and {len(mine)} parameters "
            f"({len(given)} and {len(kept)} buffers).",
            fix="give the momentum copy the online network's architecture.",
        )
    if mine:  # t + (1 - m)(o - t): m t + (1 - m) o up to float rounding, in one pass
        torch._foreach_lerp_(mine, theirs, 1.0 - momentum)
    if kept:
        torch._foreach_copy_(kept, given)
