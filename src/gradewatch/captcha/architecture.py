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
    # A school's learned spec must solve in <= 1/20 of ddddocr's time. The second block dominates
    # the cost (ONNX Runtime, 1 thread, 80x32 input): widths 24-48-64-96 took 0.51-0.61 ms a
    # forward pass, 16-32-48-64 0.16 ms (accuracy: docs/bootstrap.md, the shared real sets).
    "learned": ((16, 32, 48, 64), 32),
    # The start model for unknown schools: the same widths, so its convolutions transfer into a
    # school's learned network, and it too solves in <= 1/20 of ddddocr's time.
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
