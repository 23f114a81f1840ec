"""The captcha network (PyTorch; imported only by training and export code).

A compact CNN: four 3x3 conv + batch-norm + ReLU blocks with max-pooling, a 1x1
conv that narrows the channels, and one linear layer that outputs `length`
groups of `num_classes` logits (one softmax per character position). For the
68x22 SSFW input (widths 16-32-64-96) that is about 156k parameters (~0.63 MB as
ONNX float32).
"""

from __future__ import annotations

import torch
from torch import nn

from gradewatch.captcha.architecture import architecture, head_kind
from gradewatch.captcha.spec import CaptchaSpec


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _pooled(size: int, times: int) -> int:
    for _ in range(times):
        size //= 2
    return size


class AttentionHead(nn.Module):
    """(N, C, H, W) features -> (N, length, classes): per-position attention over columns, shared classifier."""

    def __init__(self, cin: int, h: int, w: int, length: int, classes: int, dim: int = 96):
        super().__init__()
        self.scale = dim**-0.5
        self.columns = nn.Sequential(
            nn.Conv2d(cin, dim, (h, 1), bias=False), nn.BatchNorm2d(dim), nn.ReLU(inplace=True)
        )
        self.context = nn.Sequential(nn.Conv1d(dim, dim, 3, padding=1), nn.ReLU(inplace=True))
        self.position = nn.Parameter(torch.randn(1, dim, w) * 0.1)
        self.queries = nn.Parameter(torch.randn(length, dim) * 0.1)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.drop = nn.Dropout(0.2)
        self.classify = nn.Linear(dim, classes)
        self.bias = nn.Parameter(torch.zeros(length, classes))  # e.g. "blank" is likelier at the end

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        cols = self.columns(f).flatten(2)  # (N, dim, W)
        cols = (self.context(cols) + self.position).transpose(1, 2)  # (N, W, dim)
        att = torch.softmax(torch.matmul(self.queries, self.key(cols).transpose(1, 2)) * self.scale, dim=-1)
        ctx = torch.matmul(att, self.value(cols))  # (N, length, dim)
        return self.classify(self.drop(ctx)) + self.bias


class CaptchaNet(nn.Module):
    def __init__(
        self,
        spec: CaptchaSpec,
        widths: tuple[int, int, int, int] | None = None,
        neck: int | None = None,
    ):
        super().__init__()
        self.length = spec.length
        self.num_classes = spec.num_classes
        default_widths, default_neck = architecture(spec)
        widths = tuple(widths or default_widths)
        neck = neck or default_neck
        self.widths, self.neck = widths, neck
        c1, c2, c3, c4 = widths
        self.features = nn.Sequential(
            *_block(spec.channels, c1),
            nn.MaxPool2d(2),
            *_block(c1, c2),
            nn.MaxPool2d(2),
            *_block(c2, c3),
            nn.MaxPool2d(2),
            *_block(c3, c4),
            nn.Conv2d(c4, neck, 1, bias=False),
            nn.BatchNorm2d(neck),
            nn.ReLU(inplace=True),
        )
        h, w = _pooled(spec.height, 3), _pooled(spec.width, 3)
        if h < 1 or w < 1:
            raise ValueError(f"input {spec.width}x{spec.height} is too small for this network")
        self.head_kind = head_kind(spec)
        self.head: nn.Module
        if self.head_kind == "attention":
            self.head = AttentionHead(neck, h, w, spec.length, spec.num_classes)
        else:
            self.head = nn.Sequential(
                nn.Flatten(), nn.Dropout(0.2), nn.Linear(neck * h * w, spec.length * spec.num_classes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) float in 0..1 (ink = 1) -> logits (N, length, num_classes)."""
        return self.head(self.features(x)).reshape(-1, self.length, self.num_classes)


class FoldedAttention(nn.Module):
    """A trained `AttentionHead` with its linear maps multiplied out: the same logits from fewer ops.

    Export only (it is built from the trained weights and has nothing to learn). With k, v, c the
    key, value and classifier layers, q_i . k(x) = (q_i W_k) . x + q_i . b_k, and that constant per
    query cancels in the softmax; an attention row sums to 1, so c(sum_j a_j v(x_j)) =
    sum_j a_j (x_j W_v^T W_c^T) + W_c b_v + b_c. Five matrix products and five additions become
    three and one. The 1-D context convolution runs as a 1x3 2-D one, which ONNX Runtime computes in
    its blocked layout like the rest. Together, on a 100x40 colour learned model (ORT 1.32, 2 threads):
    129 -> 111 us a forward pass.
    """

    def __init__(self, head: AttentionHead):
        super().__init__()
        with torch.no_grad():
            self.columns = head.columns
            conv = head.context[0]
            self.context = nn.Conv2d(conv.in_channels, conv.out_channels, (1, 3), padding=(0, 1))
            self.context.weight.copy_(conv.weight[:, :, None, :])
            self.context.bias.copy_(conv.bias)
            self.context.requires_grad_(False)
            self.position = nn.Parameter(head.position.detach().clone(), requires_grad=False)
            self.queries = nn.Parameter(head.queries @ head.key.weight * head.scale, requires_grad=False)
            wc, wv = head.classify.weight, head.value.weight
            self.read = nn.Parameter((wc @ wv).t().contiguous(), requires_grad=False)  # (dim, classes)
            offset = head.value.bias @ wc.t() + head.classify.bias + head.bias
            self.offset = nn.Parameter(offset.detach().clone(), requires_grad=False)  # (length, classes)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        cols = torch.relu(self.context(self.columns(f))).flatten(2)  # (N, dim, W)
        cols = (cols + self.position).transpose(1, 2)  # (N, W, dim)
        att = torch.softmax(torch.matmul(self.queries, cols.transpose(1, 2)), dim=-1)  # (N, length, W)
        return torch.matmul(att, torch.matmul(cols, self.read)) + self.offset


class Probabilities(nn.Module):
    """Wraps a net (in eval mode) so the exported graph outputs per-position softmax probabilities."""

    def __init__(self, net: CaptchaNet):
        super().__init__()
        self.net = net
        self.head = FoldedAttention(net.head) if isinstance(net.head, AttentionHead) else net.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.net.features(x)).reshape(-1, self.net.length, self.net.num_classes)
        return torch.softmax(logits, dim=-1)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
