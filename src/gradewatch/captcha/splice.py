"""Cut-and-splice: new labelled captchas from the columns of verified ones (few real labels); PyTorch.

A harvest verifies a few hundred captchas, and the network sees each one many times. Most captcha
servers draw the characters side by side with some air between them, so the left part of one
verified captcha up to a gap, joined to the right part of another from its gap at the same
position on, is another plausible captcha whose label is known: the first k characters of one and
the rest of the other. 600 verified images give 600 x 600 x (length - 1) such pairs.

The gaps come from the ink: a column profile, and for cut k the faintest column near where an
even spacing puts it. A cut counts as clean only when that column holds little ink compared
with the characters' columns: where letters touch or overlap, no vertical cut separates them,
and a splice there would teach a wrong label, so such an image is not cut at k.
"""

from __future__ import annotations

import numpy as np
import torch


def character_cuts(x: np.ndarray, lengths: np.ndarray, *, window: float = 0.4, clean_ratio: float = 0.3):
    """Per image the column of each cut between characters, and whether it is clean.

    x: model input (N, C, H, W), ink = 1; lengths: characters per image (N,).
    Returns cuts int64 (N, L - 1) and clean bool (N, L - 1), L = the longest length; cut k (0-based)
    separates character k from character k + 1, and positions past an image's length are not clean.
    """
    n, _, _, w = x.shape
    longest = int(lengths.max()) if n else 1
    cuts = np.zeros((n, max(longest - 1, 0)), np.int64)
    clean = np.zeros_like(cuts, dtype=bool)
    profile = x.sum(axis=(1, 2)).astype(np.float64)  # (N, W)
    padded = np.pad(profile, ((0, 0), (1, 1)), mode="edge")
    profile = (padded[:, :-2] + 2 * padded[:, 1:-1] + padded[:, 2:]) / 4  # a 3-column blur: one stray pixel is no gap
    for i in range(n):
        p = profile[i]
        total = p.sum()
        count = int(lengths[i])
        if total <= 0 or count < 2:
            continue
        mass = np.cumsum(p) / total
        left = int(np.searchsorted(mass, 0.02))
        right = int(np.searchsorted(mass, 0.98))
        span = right - left
        if span < 2 * count:
            continue
        step = span / count
        inked = p[left : right + 1]
        level = float(np.median(inked[inked > 0])) if (inked > 0).any() else 0.0
        for k in range(1, count):
            expected = left + k * step
            lo = max(1, int(round(expected - window * step)))
            hi = min(w - 1, int(round(expected + window * step)) + 1)
            cols = np.arange(lo, hi)
            # The faintest column; among equally faint ones, the one nearest the even spacing.
            best = cols[np.lexsort((np.abs(cols - expected), p[lo:hi]))[0]]
            cuts[i, k - 1] = best
            clean[i, k - 1] = p[best] <= clean_ratio * level
    return cuts, clean


class Splicer:
    """Draws spliced captchas from a training set whose clean cuts were found once, before training."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, blank: int | None):
        self.x, self.y = x, y
        lengths = (y != blank).sum(dim=1).numpy() if blank is not None else np.full(len(y), y.shape[1])
        self.cuts, clean = character_cuts(x.numpy(), lengths)
        # For each cut position, the images that can be cut there.
        self.eligible = [np.flatnonzero(clean[:, k]) for k in range(clean.shape[1])]
        self.positions = [k for k, e in enumerate(self.eligible) if len(e) >= 2]

    @property
    def usable(self) -> bool:
        return bool(self.positions)

    def clean_share(self) -> float:
        """Share of (image, cut) pairs that are clean: how much of the set splices."""
        cells = self.cuts.size
        return sum(len(e) for e in self.eligible) / cells if cells else 0.0

    def draw(self, count: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """`count` spliced images (N, C, H, W) and their targets (N, length)."""
        ks = torch.randint(len(self.positions), (count,), generator=gen).numpy()
        a = np.empty(count, np.int64)
        b = np.empty(count, np.int64)
        cut_k = np.empty(count, np.int64)
        for j, kk in enumerate(ks):
            k = self.positions[kk]
            pool = self.eligible[k]
            pick = torch.randint(len(pool), (2,), generator=gen).numpy()
            a[j], b[j], cut_k[j] = pool[pick[0]], pool[pick[1]], k
        ca = torch.from_numpy(self.cuts[a, cut_k])
        cb = torch.from_numpy(self.cuts[b, cut_k])
        xa, xb = self.x[a], self.x[b]
        w = xa.shape[-1]
        col = torch.arange(w).view(1, w)
        # Right of A's cut, B's columns from B's own cut on (shifted; the edge column repeats past the end).
        source = (col - ca.view(-1, 1) + cb.view(-1, 1)).clamp_(0, w - 1)
        index = source.view(count, 1, 1, w).expand_as(xb)
        right = torch.gather(xb, 3, index.contiguous())
        take_a = (col < ca.view(-1, 1)).view(count, 1, 1, w)
        out = torch.where(take_a, xa, right)
        pos = torch.arange(self.y.shape[1]).view(1, -1)
        target = torch.where(pos <= torch.from_numpy(cut_k).view(-1, 1), self.y[a], self.y[b])
        return out.contiguous(memory_format=torch.channels_last), target
