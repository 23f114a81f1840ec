"""Baseline solvers to compare against: tesseract (the original project's approach) and ddddocr.

Both come from the optional `ocr` extra and only load when asked for. They have
the same `solve(image) -> Prediction` shape as the ONNX solver; their
confidence is not comparable (tesseract gives none here, ddddocr none either),
so it is reported as 0 or 1.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

from PIL import Image

from gradewatch.captcha.errors import InvalidImage, MissingDependency
from gradewatch.captcha.solver import ImageSource, Prediction
from gradewatch.captcha.spec import SPECS, CaptchaSpec, open_image

OCR_HINT = "pip install 'gradewatch[ocr]'"


class TesseractSolver:
    """The original project's baseline.

    The image is binarized like the model input, then tesseract reads the whole
    image as one word (`--psm 8`); when that does not give exactly `length`
    characters of the charset, it reads each of 4 equal vertical quarters as a
    single character (`--psm 10`) and joins them. Both restrict tesseract to the
    charset with `tessedit_char_whitelist`.
    """

    name = "tesseract"

    def __init__(self, spec: CaptchaSpec | None = None):
        self.spec = spec or SPECS["ssfw"]
        try:
            import pytesseract
        except ImportError:
            raise MissingDependency(
                f"the tesseract solver needs pytesseract and the tesseract program: {OCR_HINT} "
                "and install tesseract (Debian/Ubuntu: apt-get install tesseract-ocr)"
            ) from None
        self._tess = pytesseract
        try:
            pytesseract.get_tesseract_version()
        except (pytesseract.TesseractNotFoundError, OSError):
            raise MissingDependency(
                "the tesseract program is not installed (Debian/Ubuntu: apt-get install tesseract-ocr)"
            ) from None
        self._cfg = f"-c tessedit_char_whitelist={self.spec.charset}"

    def _read(self, img: Image.Image, psm: int) -> str:
        text = self._tess.image_to_string(img, config=f"--psm {psm} {self._cfg}")
        text = self.spec.normalize_label(re.sub(r"\s+", "", text))
        return "".join(c for c in text if c in self.spec.charset)

    def solve(self, image: ImageSource) -> Prediction:
        arr = self.spec.prepare(open_image(image))[0]
        img = Image.fromarray(arr, "L")
        whole = self._read(img, 8)
        if self.spec.valid_label(whole):
            return Prediction(whole, 1.0)
        n = self.spec.length
        w = img.width // n
        parts = [self._read(img.crop((i * w, 0, (i + 1) * w, img.height)), 10)[:1] for i in range(n)]
        return Prediction("".join(parts), 0.0)


class DdddocrSolver:
    """ddddocr's default OCR model (shipped inside its wheel), on the image as given."""

    name = "ddddocr"

    def __init__(self, spec: CaptchaSpec | None = None):
        self.spec = spec or SPECS["ssfw"]
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                import ddddocr

                self._ocr = ddddocr.DdddOcr(show_ad=False)
        except ImportError:
            raise MissingDependency(f"the ddddocr solver needs the ddddocr package: {OCR_HINT}") from None

    def solve(self, image: ImageSource) -> Prediction:
        if isinstance(image, (str, os.PathLike)):
            try:
                data = open(image, "rb").read()  # noqa: SIM115
            except OSError as exc:
                raise InvalidImage(f"{image}: cannot read file ({exc.strerror or exc})") from None
        elif isinstance(image, (bytes, bytearray)):
            data = bytes(image)
        else:
            buf = io.BytesIO()
            image.save(buf, "PNG")
            data = buf.getvalue()
        open_image(data)  # same validation as the other solvers
        try:
            text = self._ocr.classification(data)
        except Exception as exc:  # noqa: BLE001 - ddddocr raises assorted errors for odd inputs
            raise InvalidImage(f"ddddocr could not read the image ({exc})") from None
        return Prediction(self.spec.normalize_label(text), 1.0)


def make_solver(kind: str, model: str | os.PathLike = "ssfw"):
    """'onnx' (our model, or the start solver named 'ddddocr' / 'auto'), 'tesseract' or 'ddddocr' (raw)."""
    from gradewatch.captcha.teacher import start_solver

    if kind == "onnx":
        return start_solver(str(model))
    spec = SPECS["ssfw"]
    if kind == "tesseract":
        return TesseractSolver(spec)
    if kind == "ddddocr":
        return DdddocrSolver(spec)
    raise ValueError(f"unknown solver {kind!r} (onnx, tesseract, ddddocr)")
