"""Which network shape each captcha spec gets (no torch import, so every training backend reads it).

The PyTorch network (model.py) and the TensorFlow one (train_tf.py) build the same convolutions
from this table. The TensorFlow backend builds only the linear head: a spec with the attention head
(HEADS) trains in PyTorch.
"""

from __future__ import annotations

from gradewatch.captcha.spec import CaptchaSpec

Widths = tuple[int, int, int, int]

DEFAULT_WIDTHS: Widths = (24, 48, 64, 96)
DEFAULT_NECK = 32

# Per-spec channel widths where the default is more than needed. SSFW: (16, 32, ...) reads the real
# captchas just as well and halves the solve time (≈0.09 ms instead of ≈0.17 ms per image in ONNX Runtime).
ARCHITECTURES: dict[str, tuple[Widths, int]] = {
    "ssfw": ((16, 32, 64, 96), 32),
    # A school's learned spec must solve in <= 1/20 of ddddocr's time, and the second block, at a
    # quarter of the input's pixels, dominates the cost. ONNX Runtime, 100x40 colour, 1 / 2 threads:
    # 16-32-48-64 0.244 / 0.156 ms a forward pass, 16-16-48-64 0.177 / 0.121 ms, and the same 96.2 %
    # mean held-out accuracy over four seeds on seu_auth_cas's true labels (docs/bootstrap.md).
    "learned": ((16, 16, 48, 64), 32),
    # The start model for unknown schools. `--transfer` into a learned network copies what fits:
    # the first and fourth convolutions and the neck, with their batch norms (the wider second and
    # third no longer do).
    "generic": ((16, 32, 48, 64), 32),
}

# Per-spec output head. "linear": one dense layer from the whole feature map to every position (the
# shipped models). "attention": each position attends over the feature columns and one classifier is
# shared by all positions, so every character seen trains the same weights (for few real labels).
HEADS: dict[str, str] = {"learned": "attention"}


def architecture(spec: CaptchaSpec) -> tuple[Widths, int]:
    """(conv widths, neck width) used for `spec` unless given explicitly."""
    return ARCHITECTURES.get(spec.name, (DEFAULT_WIDTHS, DEFAULT_NECK))


def head_kind(spec: CaptchaSpec) -> str:
    return HEADS.get(spec.name, "linear")
