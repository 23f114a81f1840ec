"""Augmentation for small real datasets (a school's first few hundred verified captchas); PyTorch.

Harvest-only bootstrapping trains on a few hundred to a few thousand real images, so every
image is seen many times. Small geometric and photometric changes that a captcha server also
makes from one image to the next keep the network from memorising them: a random affine
(rotation, scale, shift of a few pixels), contrast and brightness jitter, and pixel noise.
Applied on the fly per batch, on the model input (ink = 1, background = 0).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F  # noqa: N812


def augment_batch(
    x: torch.Tensor,
    gen: torch.Generator,
    *,
    max_rotate: float = 4.0,  # degrees
    max_scale: float = 0.08,
    max_shift: float = 0.06,  # share of the half-size (grid coordinates run over -1..1)
    noise: float = 0.04,
) -> torch.Tensor:
    """(N, C, H, W) float in 0..1 -> the same shape, each image moved and jittered independently."""
    n = x.shape[0]

    def uniform(scale: float) -> torch.Tensor:
        return (torch.rand(n, generator=gen) * 2 - 1) * scale

    angle = uniform(math.radians(max_rotate))
    scale = 1 + uniform(max_scale)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = cos, -sin, uniform(max_shift)
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = sin, cos, uniform(max_shift)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x.contiguous(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = (1 + uniform(0.2)).view(n, 1, 1, 1)
    bright = uniform(0.08).view(n, 1, 1, 1)
    out = (out - 0.5) * contrast + 0.5 + bright
    if noise:
        out = out + torch.randn(out.shape, generator=gen) * noise
    return out.clamp_(0.0, 1.0).contiguous(memory_format=torch.channels_last)
