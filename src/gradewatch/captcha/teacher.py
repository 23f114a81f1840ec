"""ddddocr as an optional *teacher*: the start solver for a school nobody has a model for.

ddddocr (the optional ``ocr`` extra; its ONNX model ships inside its wheel) reads most captcha
styles zero-shot far better than a small model trained on synthetic images. Behind the same
``solve(image) -> Prediction`` interface as the ONNX solver, it can start a harvest: its
accepted readings become the school's verified labels, from which the school's own small model
is trained (``captcha bootstrap``). The product works without it (``start_solver("auto")``
falls back to the shipped ``generic`` model).

Unlike ``baselines.DdddocrSolver`` (ddddocr's own decoding, kept as the baseline), this adapter
runs ddddocr's network itself and decodes its CTC output *restricted to the target alphabet*:
characters a school never uses can never be emitted (ddddocr 1.6's ``set_ranges`` deletes them
after decoding instead, which makes wrong-length answers), and upper/lower case are merged when
the target is case-insensitive. When the best path has a length the spec does not allow (ddddocr
drops a character squeezed between crossing lines, or reads one twice), the best path *with an
allowed length* is decoded instead: on the real ``seu_auth_cas`` captchas 16 of the 26 misses of
the unconstrained reading were one character short. The confidence is the lowest, over the
emitted characters, of the highest frame probability of that character.
"""

from __future__ import annotations

import contextlib
import io
import string
from typing import Any

import numpy as np

from gradewatch.captcha.errors import InvalidImage, MissingDependency
from gradewatch.captcha.solver import ImageSource, Prediction, load_solver
from gradewatch.captcha.spec import CaptchaSpec, on_white, open_image

OCR_HINT = "pip install 'gradewatch[ocr]'"

#: What the teacher reads when no school spec is known yet: 3–8 characters, digits and both cases.
OPEN_SPEC = CaptchaSpec(
    name="ddddocr",
    charset=string.digits + string.ascii_lowercase + string.ascii_uppercase,
    length=8,
    min_length=3,
    width=96,
    height=32,
    resize=True,
)

#: The generic start model's reading (0-9a-z, case-insensitive, 4–6): what `--model ddddocr` evaluates as.
GENERIC_TARGET = CaptchaSpec(
    name="ddddocr",
    charset=string.digits + string.ascii_lowercase,
    length=6,
    min_length=4,
    width=96,
    height=32,
    resize=True,
)


def ddddocr_available() -> bool:
    try:
        import ddddocr  # noqa: F401
    except ImportError:
        return False
    return True


class _Engine:
    """ddddocr's default OCR network, loaded once per process (about 13 MB, 0.5 s)."""

    _shared: _Engine | None = None

    def __init__(self) -> None:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                import ddddocr

                ocr = ddddocr.DdddOcr(show_ad=False)
        except ImportError:
            raise MissingDependency(f"the ddddocr teacher needs the ddddocr package: {OCR_HINT}") from None
        self.ocr = ocr
        engine = getattr(ocr, "ocr_engine", None)
        session: Any = getattr(engine, "session", None)
        self.session = session
        self.preprocess: Any = getattr(engine, "_preprocess_image", None)
        charset = engine.charset_manager.get_charset() if engine is not None else None
        self.charset: list[str] = list(charset or [])
        # Without the network itself (another ddddocr layout), fall back to its own text output.
        self.direct = self.session is not None and self.preprocess is not None and bool(self.charset)
        self.input_name = session.get_inputs()[0].name if self.direct else ""

    @classmethod
    def get(cls, threads: int | None = None) -> _Engine:
        """The process's engine; with ``threads``, a copy whose network runs on that many threads."""
        if cls._shared is None:
            cls._shared = _Engine()
        return cls._shared if threads is None else cls._shared.on_threads(threads)

    def on_threads(self, threads: int) -> _Engine:
        """A copy of this engine with its network in a session of ``threads`` intra-op threads.

        ddddocr builds its session on ONNX Runtime's default, every core; the speed comparisons also
        run it thread for thread with our solver. Raises `MissingDependency` when this ddddocr's
        layout does not expose its network.
        """
        import copy

        import onnxruntime as ort

        path = getattr(self.session, "_model_path", None)
        if not self.direct or not path:
            raise MissingDependency("this ddddocr does not expose its network: it runs on its own threads only")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        engine = copy.copy(self)
        engine.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        return engine

    def frames(self, image: Any, classes: np.ndarray) -> np.ndarray:
        """Per-frame probabilities (T, len(classes)) of ddddocr's CTC output, renormalised over ``classes``.

        Only the allowed classes (blank first) enter the softmax: a restricted decoding, and ten times
        cheaper than a softmax over ddddocr's ~8,000 classes.
        """
        x = self.preprocess(image, False)
        out = np.asarray(self.session.run(None, {self.input_name: x})[0])
        if out.ndim == 3:
            out = out[:, 0, :] if out.shape[1] == 1 else out[0]
        out = out[:, classes]
        out = out - out.max(axis=-1, keepdims=True)
        e = np.exp(out)
        return e / e.sum(axis=-1, keepdims=True)


class DdddocrTeacher:
    """ddddocr reading captchas of ``spec``'s alphabet (case merged when the spec has no upper case)."""

    name = "ddddocr"

    def __init__(self, spec: CaptchaSpec | None = None, threads: int | None = None) -> None:
        self.spec = spec or OPEN_SPEC
        if not ddddocr_available():  # checked every time: the engine below is cached per process
            raise MissingDependency(f"the ddddocr teacher needs the ddddocr package: {OCR_HINT}")
        self._engine = _Engine.get(threads)
        groups, self._chars = self._build_groups(self.spec)
        self._classes = np.nonzero(groups.any(axis=1))[0]  # the ddddocr classes that can be emitted (and blank)
        self._groups = groups[self._classes]

    def for_target(self, target: CaptchaSpec) -> DdddocrTeacher:
        """The same teacher restricted to another captcha spec (its alphabet and case rule)."""
        return DdddocrTeacher(target)

    def _build_groups(self, spec: CaptchaSpec) -> tuple[np.ndarray, str]:
        """A (ddddocr classes, 1 + len(charset)) 0/1 matrix: blank, then one column per target character."""
        charset = self._engine.charset
        if not charset:
            return np.zeros((0, 0), np.float32), spec.charset
        m = np.zeros((len(charset), 1 + len(spec.charset)), np.float32)
        m[0, 0] = 1.0  # ddddocr's blank
        for i, c in enumerate(charset[1:], start=1):
            key = spec.normalize_label(c)  # the spec's case rule, as for file labels (a-z, A-Z, or as is)
            if len(key) == 1 and key in spec.charset:
                m[i, 1 + spec.charset.index(key)] = 1.0
        return m, spec.charset

    def solve(self, image: ImageSource) -> Prediction:
        img = open_image(image)
        if img.mode not in ("L", "RGB"):
            img = on_white(img)  # as our models read them: a transparent background is white, not black
        engine = self._engine
        if not engine.direct:
            return self._fallback(img)
        try:
            probs = engine.frames(img, self._classes) @ self._groups  # (T, 1 + charset); other classes drop out
        except Exception as exc:  # noqa: BLE001 - the network rejects odd inputs in many ways
            raise InvalidImage(f"ddddocr could not read the image ({str(exc).splitlines()[0][:120]})") from None
        best = probs.argmax(axis=-1)
        lo = self.spec.min_length if self.spec.min_length is not None else self.spec.length
        if not lo <= _collapsed_length(best) <= self.spec.length:
            best = _best_path_of_length(np.log(np.maximum(probs, 1e-30)), lo, self.spec.length)
        text: list[str] = []
        confs: list[float] = []
        prev = 0
        for t, k in enumerate(best):
            k = int(k)
            if k != 0 and k != prev:
                text.append(self._chars[k - 1])
                confs.append(float(probs[t, k]))
            elif k != 0 and confs:
                confs[-1] = max(confs[-1], float(probs[t, k]))
            prev = k
        return Prediction("".join(text), min(confs) if confs else 0.0, tuple(confs))

    def _fallback(self, img: Any) -> Prediction:
        try:
            raw = self._engine.ocr.classification(img)
        except Exception as exc:  # noqa: BLE001
            raise InvalidImage(f"ddddocr could not read the image ({exc})") from None
        text = self.spec.normalize_label(str(raw))
        return Prediction("".join(c for c in text if c in self.spec.charset), 1.0)


def _collapsed_length(path: np.ndarray) -> int:
    """Characters a CTC frame path emits (repeats merged, blanks = class 0 dropped)."""
    prev, n = 0, 0
    for k in path:
        n += int(k) != 0 and int(k) != prev
        prev = int(k)
    return n


def _best_path_of_length(logp: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The most probable CTC frame path emitting between ``lo`` and ``hi`` characters (Viterbi).

    State after a frame: (characters emitted so far, the frame's class). A frame either repeats the
    previous class (no new character), is blank, or starts a new character (a class other than the
    previous one, so that a repeat of a letter needs a blank between).
    """
    frames, classes = logp.shape
    hi = min(hi, frames)
    neg = -np.inf
    score = np.full((hi + 1, classes), neg)
    score[0, 0] = logp[0, 0]
    if hi >= 1:
        score[1, 1:] = logp[0, 1:]
    back = np.zeros((frames, hi + 1, classes, 2), np.int64)  # (previous count, previous class)
    for t in range(1, frames):
        new = np.full_like(score, neg)
        for n in range(hi + 1):
            # stay: the same class again (blank stays blank; a letter continues)
            new[n] = score[n] + logp[t]
            back[t, n, :, 0] = n
            back[t, n, :, 1] = np.arange(classes)
            # blank after a letter
            k = int(np.argmax(score[n, 1:])) + 1 if classes > 1 else 0
            if score[n, k] + logp[t, 0] > new[n, 0]:
                new[n, 0] = score[n, k] + logp[t, 0]
                back[t, n, 0] = (n, k)
            if n == 0:
                continue
            # a new character c: from the best previous state at n - 1 whose class is not c
            prev = score[n - 1]
            order = np.argsort(prev)[::-1]
            first, second = int(order[0]), int(order[1]) if classes > 1 else int(order[0])
            for c in range(1, classes):
                src = first if first != c else second
                cand = prev[src] + logp[t, c]
                if cand > new[n, c]:
                    new[n, c] = cand
                    back[t, n, c] = (n - 1, src)
        score = new
    allowed = score[lo:hi + 1]
    if not np.isfinite(allowed).any():  # fewer frames than characters: keep the plain best path
        return logp.argmax(axis=-1)
    flat = int(np.argmax(allowed))
    n, k = flat // classes + lo, flat % classes
    path = np.zeros(frames, np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = k
        if t:
            n, k = (int(v) for v in back[t, n, k])
    return path


def start_solver(name: str, target: CaptchaSpec | None = None) -> Any:
    """The solver a harvest or an evaluation starts from.

    ``ddddocr`` → the teacher (needs the ``ocr`` extra); ``auto`` → the teacher when ddddocr is
    installed, else the shipped ``generic`` model; anything else → ``load_solver`` (a shipped
    model's name or a .onnx path).
    """
    if name == "auto":
        name = "ddddocr" if ddddocr_available() else "generic"
    if name == "ddddocr":
        return DdddocrTeacher(target or GENERIC_TARGET)
    return load_solver(name)


def start_name(name: str) -> str:
    """What ``auto`` resolves to here (for reports)."""
    if name == "auto":
        return "ddddocr" if ddddocr_available() else "generic"
    return name
