"""Solve captchas with a trained model through ONNX Runtime (no PyTorch).

    from gradewatch.captcha.solver import load_solver
    pred = load_solver("ssfw").solve(png_bytes)   # Prediction(text='3kfk', confidence=0.998)

A model is an ONNX file plus a JSON sidecar (same stem) that holds its
`CaptchaSpec`. `load_solver` takes a shipped model's name (`ssfw`, from
`gradewatch/captcha/models/`) or a path to a `.onnx` file; loaded solvers are
cached per file. Sessions use two intra-op threads where the process may use two cores
(`solver_threads`; `GRADEWATCH_CAPTCHA_THREADS` overrides).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gradewatch.captcha.errors import CaptchaError, InvalidImage, ModelError
from gradewatch.captcha.spec import CaptchaSpec, open_image

MODELS_DIR = Path(__file__).resolve().parent / "models"

ImageSource = bytes | Image.Image | str | Path


THREADS_ENV = "GRADEWATCH_CAPTCHA_THREADS"


def solver_threads() -> int:
    """ONNX Runtime threads per solver session: $GRADEWATCH_CAPTCHA_THREADS, else two where there are two cores.

    Two threads cut every shipped model's forward pass by a fifth to two fifths (ORT 1.32, 2 cores:
    ssfw 0.091 -> 0.074 ms, a 100x40 colour learned model 0.18 -> 0.12 ms), and ddddocr, which we
    are measured against, runs on all cores by default. Cores are those this process may run on
    (a container's CPU set), not the host's. A host running many workers can set 1.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return max(1, min(2, usable or 1))
    if not (raw.isascii() and raw.isdecimal()) or not 1 <= int(raw) <= 64:
        raise ModelError(f"{THREADS_ENV}={raw!r}: expected a whole number of threads from 1 to 64")
    return int(raw)


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float  # the lowest per-character probability, 0..1
    char_confidences: tuple[float, ...] = ()


def shipped_models() -> list[str]:
    return sorted(p.stem for p in MODELS_DIR.glob("*.onnx") if p.with_suffix(".json").is_file())


def resolve_model(model: str | Path) -> Path:
    """Shipped model name or path -> the .onnx path (existence is checked)."""
    text = str(model)
    is_name = isinstance(model, str) and "/" not in text and "\\" not in text and not text.endswith(".onnx")
    if is_name and not Path(text).exists():
        path = MODELS_DIR / f"{text}.onnx"
        if not path.is_file():
            known = ", ".join(shipped_models()) or "none"
            raise ModelError(f"no shipped model named {text!r} (shipped: {known}); give a path to a .onnx file")
        return path
    path = Path(model)
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, expected a .onnx model file")
    if path.suffix != ".onnx" and not path.exists() and path.with_suffix(".onnx").is_file():
        path = path.with_suffix(".onnx")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    return path


def _read_metadata(onnx_path: Path) -> dict[str, Any]:
    meta_path = onnx_path.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{meta_path}: metadata sidecar missing (every model needs its .json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_path}: unreadable metadata ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("spec"), dict):
        raise ModelError(f"{meta_path}: metadata has no 'spec' object")
    return meta


def read_spec(model: str | Path) -> CaptchaSpec:
    """A model's captcha spec from its sidecar, without loading the network. Raises `ModelError`."""
    path = resolve_model(model)
    try:
        return CaptchaSpec.from_dict(_read_metadata(path)["spec"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path.with_suffix('.json')}: invalid spec ({exc})") from None


class Solver:
    """One loaded model: `solve()` one image, `solve_many()` a batch."""

    def __init__(self, onnx_path: Path, metadata: dict[str, Any], threads: int | None = None):
        import onnxruntime as ort

        self.path = onnx_path
        self.metadata = metadata
        try:
            self.spec = CaptchaSpec.from_dict(metadata["spec"])
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{onnx_path.with_suffix('.json')}: invalid spec ({exc})") from None
        opts = ort.SessionOptions()
        self.threads = threads or solver_threads()  # what its session was built with
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises assorted internal error types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{onnx_path}: not a loadable ONNX model ({first[:200]})") from None
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelError(f"{onnx_path}: expected one input and one output")
        self._input = inputs[0].name
        shape = list(inputs[0].shape)
        want = [self.spec.channels, self.spec.height, self.spec.width]
        if len(shape) != 4 or [d if isinstance(d, int) else None for d in shape[1:]] != want:
            raise ModelError(f"{onnx_path}: input shape {shape} does not match its metadata ({want})")
        out_shape = list(outputs[0].shape)
        if len(out_shape) != 3 or out_shape[1:] != [self.spec.length, self.spec.num_classes]:
            raise ModelError(
                f"{onnx_path}: output shape {out_shape} does not match its metadata "
                f"([{self.spec.length}, {self.spec.num_classes}])"
            )
        self.name = "onnx"

    def __repr__(self) -> str:
        return f"Solver({self.path.name!r}, spec={self.spec.name!r})"

    # ----- inference -------------------------------------------------------
    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, C, H, W) model input -> probabilities (N, length, num_classes)."""
        return self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    def prepare(self, image: ImageSource) -> np.ndarray:
        img = open_image(image)
        try:
            return self.spec.model_input(img)
        except CaptchaError:
            raise
        except (OSError, ValueError) as exc:
            raise InvalidImage(f"cannot convert the image ({exc})") from None

    def _decode(self, probs: np.ndarray) -> Prediction:
        idx = probs.argmax(axis=-1)
        conf = probs[np.arange(len(idx)), idx].tolist()  # one conversion to floats, not one per position
        return Prediction(self.spec.decode(idx.tolist()), min(conf), tuple(conf))

    def solve(self, image: ImageSource) -> Prediction:
        """Read one captcha (PNG/JPEG bytes, a path, or a PIL image; colour or already binarized)."""
        x = self.prepare(image)[None]
        return self._decode(self.probabilities(x)[0])

    def solve_many(self, images: list[ImageSource], batch_size: int = 256) -> list[Prediction]:
        out: list[Prediction] = []
        for i in range(0, len(images), batch_size):
            x = np.stack([self.prepare(im) for im in images[i : i + batch_size]])
            out.extend(self._decode(p) for p in self.probabilities(x))
        return out


_cache: dict[tuple[str, int, int], Solver] = {}
_lock = threading.Lock()


def load_solver(model: str | Path = "ssfw") -> Solver:
    """Load (or reuse) the solver for a shipped model name or a .onnx path. Raises `ModelError`."""
    path = resolve_model(model).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _lock:
        solver = _cache.get(key)
        if solver is None:
            solver = Solver(path, _read_metadata(path))
            _cache[key] = solver
        return solver
