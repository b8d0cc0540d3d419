"""The projection MLP between an encoder and a contrastive loss."""

from __future__ import annotations

from torch import Tensor, nn


class ProjectionHead(nn.Module):
    """``Linear -> BatchNorm -> ReLU -> Linear``: ``[B, D] -> [B, out]`` (SimCLR / MoCo-v2).

    Args:
        in_dim: Encoder width ``D``.
        hidden_dim: Hidden width.
        out_dim: Projection width.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 512, out_dim: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, features: Tensor) -> Tensor:
        """Projections ``[B, out]`` of pooled features ``[B, D]``."""
        out: Tensor = self.net(features)
        return out
