"""Errors of the captcha engine.

Every error carries a one-line, human-readable message so that the CLI can print
it as `gradewatch: error: <message>` without a traceback.
"""

from __future__ import annotations


class CaptchaError(Exception):
    """Base class of every error raised by `gradewatch.captcha`."""


class InvalidImage(CaptchaError):
    """The input is not a readable image, or not one the model can take (e.g. wrong size)."""


class ModelError(CaptchaError):
    """A model file is missing, unreadable, corrupt, or does not match its metadata."""


class DatasetError(CaptchaError):
    """A dataset folder or archive is missing, unreadable, or holds no usable images."""


class MissingDependency(CaptchaError):
    """An optional dependency (e.g. the `ocr` or `train` extra) is not installed."""
