"""Label captchas with the login oracle: the school itself says whether a reading was right.

One attempt = a fresh session (``start_login``), a captcha (``fetch_captcha``), the current
solver's reading, one login POST (``submit_login``):

- accepted → the exact bytes the server sent are saved as ``<text>.png`` (``.jpg``/``.gif``/``.bmp``
  when the server sent that format) in the verified folder;
- rejected as a wrong captcha → saved the same way in the review queue, named by the (wrong)
  prediction, for ``gradewatch captcha review``;
- wrong password or a lock → the harvest stops at once: a school locks a student's account
  after a few wrong passwords, and the harvest logs in as that student.

A reading that cannot be the answer (wrong length or characters for the school's captcha, or
below ``min_confidence``) is never submitted: another captcha is fetched instead and the skip is
counted. Login submissions are rate limited (default one per second) because this runs
against a real school. Works with any adapter of :mod:`gradewatch.schools` and any solver with
``solve(bytes)``; the ONNX solver is read through the school's captcha spec (see
:class:`TargetReader`).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gradewatch.captcha.errors import CaptchaError
from gradewatch.captcha.spec import SPECS, CaptchaSpec
from gradewatch.captcha.spec_learn import Answer, CaseProbe
from gradewatch.image_limits import TOO_LARGE
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import (
    AccountLocked,
    SchoolError,
    SchoolUnavailable,
    WrongCaptcha,
    WrongPassword,
)

#: Captchas fetched in one session while the readings are not submittable, before a new session.
FETCHES_PER_SESSION = 8
#: Captcha fetches allowed per allowed login (the fetch rate limit is this multiple of the login rate).
FETCHES_PER_LOGIN = 5
#: Consecutive unsubmittable readings after which the harvest gives up (the solver cannot read this school).
MAX_CONSECUTIVE_SKIPS = 200


# ---- reading a captcha for a target spec -----------------------------------------------------


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float
    submittable: bool
    reason: str = ""  # why it is not submitted


class TargetReader:
    """Reads captchas for a school's captcha spec with any solver.

    With an ONNX solver whose model has another alphabet (e.g. the generic 4–6 character model
    reading a 4-character 0-9a-z captcha), the per-position probabilities are mapped onto the
    target's characters first (upper and lower case merged when the target is case-insensitive,
    characters the target cannot contain dropped), then decoded. A reading of the wrong length is
    not submittable.
    """

    def __init__(self, solver: Any, target: CaptchaSpec | None = None, min_confidence: float = 0.0) -> None:
        if target is not None and hasattr(solver, "for_target"):
            solver = solver.for_target(target)  # e.g. the ddddocr teacher decodes only the target's alphabet
        self.solver = solver
        self.target = target
        self.min_confidence = min_confidence
        self._mapping = self._build_mapping()

    def _build_mapping(self) -> np.ndarray | None:
        model_spec: CaptchaSpec | None = getattr(self.solver, "spec", None)
        if self.target is None or model_spec is None or not hasattr(self.solver, "probabilities"):
            return None
        tgt = self.target
        blank = len(tgt.charset)
        m = np.zeros((model_spec.num_classes, blank + 1), np.float32)
        for i, c in enumerate(model_spec.charset):
            mapped = c if _case_sensitive(tgt) else c.lower()
            if mapped in tgt.charset:
                m[i, tgt.charset.index(mapped)] = 1.0
        if model_spec.variable_length:
            m[len(model_spec.charset), blank] = 1.0
        return m

    def read(self, image: bytes) -> Reading:
        if self._mapping is not None:
            probs = self.solver.probabilities(self.solver.prepare(image)[None])[0] @ self._mapping
            probs = probs / np.maximum(probs.sum(axis=-1, keepdims=True), 1e-9)
            idx = probs.argmax(axis=-1)
            conf = float(probs.max(axis=-1).min())
            assert self.target is not None
            text = "".join(self.target.charset[i] for i in idx if i < len(self.target.charset))
        else:
            pred = self.solver.solve(image)
            text, conf = pred.text, float(pred.confidence)
            if self.target is not None:
                text = self.target.normalize_label(text)
        if self.target is not None and not self.target.valid_label(text):
            return Reading(text, conf, False, "wrong length or characters")
        if conf < self.min_confidence:
            return Reading(text, conf, False, "low confidence")
        return Reading(text, conf, True)


def _case_sensitive(spec: CaptchaSpec) -> bool:
    return any(c.isupper() for c in spec.charset)


def target_spec_for(adapter_cls: type[SchoolAdapter]) -> CaptchaSpec | None:
    """The captcha spec of a school system (from its shipped model's name), when known."""
    name = adapter_cls.captcha_model
    return SPECS.get(name) if name else None


# ---- rate limit ------------------------------------------------------------------------------


class RateLimiter:
    """At most ``rate`` events per second: each ``wait()`` returns no sooner than 1/rate after the last."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("the rate must be a positive number of logins per second")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._clock()
        self._next = max(now, self._next or now) + self.interval


# ---- saving images ---------------------------------------------------------------------------


def image_suffix(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if data.startswith(b"BM"):
        return ".bmp"
    return ".png"


class ImageFolder:
    """A folder of ``<label>.<ext>`` images that never overwrites and never stores the same bytes twice.

    A second image with the same label becomes ``<label>_2.png`` (the dataset loader ignores a
    ``_suffix`` when the charset has no ``_``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._hashes: set[str] = set()
        for p in self.path.iterdir():
            if p.is_file():
                try:
                    self._hashes.add(hashlib.sha256(p.read_bytes()).hexdigest())
                except OSError:
                    continue

    def __contains__(self, data: bytes) -> bool:
        return hashlib.sha256(data).hexdigest() in self._hashes

    def free_name(self, label: str, suffix: str) -> Path:
        candidate = self.path / f"{label}{suffix}"
        n = 2
        while candidate.exists():
            candidate = self.path / f"{label}_{n}{suffix}"
            n += 1
        return candidate

    def add(self, label: str, data: bytes) -> Path | None:
        """Save ``data`` under ``label``; None when these exact bytes are already in the folder."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._hashes:
            return None
        path = self.free_name(label, image_suffix(data))
        path.write_bytes(data)
        self._hashes.add(digest)
        return path


# ---- the harvest loop ------------------------------------------------------------------------


@dataclass
class HarvestStats:
    attempts: int = 0  # login submissions
    accepted: int = 0
    rejected: int = 0  # wrong captcha
    skipped: int = 0  # readings not submitted
    fetched: int = 0  # captcha images fetched
    duplicates: int = 0  # accepted images already in the folder (not saved again)
    sessions: int = 0
    seconds: float = 0.0

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.attempts if self.attempts else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "fetched": self.fetched,
            "duplicates": self.duplicates,
            "acceptance_rate": round(self.acceptance_rate, 4),
            "seconds": round(self.seconds, 1),
        }


#: Why a harvest ended. Only "done" is a success.
STOP_DONE = "done"
STOP_WRONG_PASSWORD = "wrong_password"
STOP_LOCKED = "locked"
STOP_UNAVAILABLE = "unavailable"
STOP_UNEXPECTED = "unexpected_page"
STOP_UNREADABLE = "unreadable"
STOP_INTERRUPTED = "interrupted"


@dataclass
class HarvestResult:
    stats: HarvestStats
    stop: str
    message: str = ""
    saved: list[Path] = field(default_factory=list)
    queued: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stop == STOP_DONE


class Harvester:
    """Runs attempts against one account. ``make_adapter()`` must return a new adapter (a fresh session)."""

    def __init__(
        self,
        make_adapter: Callable[[], SchoolAdapter],
        creds: Credentials,
        reader: TargetReader,
        out_dir: Path,
        review_dir: Path,
        *,
        rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        probe: CaseProbe | None = None,
    ) -> None:
        self.make_adapter = make_adapter
        self.probe = probe  # submits a few readings in swapped case, to learn the school's case rule
        self.answers: list[Answer] = []  # every submission and the school's verdict (for learning the spec)
        self.creds = creds
        self.reader = reader
        self.verified = ImageFolder(out_dir)
        self.review = ImageFolder(review_dir)
        self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        # Skipped readings fetch another image at once; keep those requests polite too.
        self.fetch_limiter = RateLimiter(rate * FETCHES_PER_LOGIN, clock=clock, sleep=sleep)
        self.stats = HarvestStats()
        self._skips_in_a_row = 0

    def run(self, count: int, on_attempt: Callable[[HarvestStats], None] | None = None) -> HarvestResult:
        """Make ``count`` login attempts (fewer if a stop signal comes)."""
        started = time.monotonic()
        result = HarvestResult(self.stats, STOP_DONE)
        try:
            while self.stats.attempts < count:
                self._attempt(result)
                if on_attempt is not None:
                    on_attempt(self.stats)
        except WrongPassword as err:
            result.stop, result.message = STOP_WRONG_PASSWORD, f"stopped: {err}"
        except AccountLocked as err:
            result.stop, result.message = STOP_LOCKED, f"stopped: {err}"
        except SchoolUnavailable as err:
            result.stop, result.message = STOP_UNAVAILABLE, f"stopped: {err}"
        except _Unreadable as err:
            result.stop, result.message = STOP_UNREADABLE, f"stopped: {err}"
        except SchoolError as err:  # UnexpectedPage, SessionExpired …: not something to retry blindly
            result.stop, result.message = STOP_UNEXPECTED, f"stopped: {err}"
        except KeyboardInterrupt:
            result.stop, result.message = STOP_INTERRUPTED, "stopped: interrupted"
        self.stats.seconds += time.monotonic() - started
        return result

    def _attempt(self, result: HarvestResult) -> None:
        adapter = self.make_adapter()
        self.stats.sessions += 1
        try:
            adapter.start_login()
            for _ in range(FETCHES_PER_SESSION):
                self.fetch_limiter.wait()
                image = adapter.fetch_captcha()
                self.stats.fetched += 1
                reading = self._read(image)
                if reading is None:
                    continue
                text, probed = self.probe.submit_text(reading.text) if self.probe else (reading.text, False)
                self.limiter.wait()
                self.stats.attempts += 1
                try:
                    adapter.submit_login(self.creds, text)
                except WrongCaptcha:
                    self.stats.rejected += 1
                    self.answers.append(Answer(text, False, probed, image_size(image)))
                    if not probed:  # a rejected probe says nothing about the reading
                        queued = self.review.add(reading.text, image)
                        if queued is not None:
                            result.queued.append(queued)
                    return
                self.stats.accepted += 1
                self.answers.append(Answer(text, True, probed, image_size(image)))
                saved = self.verified.add(text, image)
                if saved is None:
                    self.stats.duplicates += 1
                else:
                    result.saved.append(saved)
                return
        finally:
            adapter.close()

    def _read(self, image: bytes) -> Reading | None:
        try:
            reading = self.reader.read(image)
        except CaptchaError:
            reading = Reading("", 0.0, False, "unreadable image")
        if reading.submittable:
            self._skips_in_a_row = 0
            return reading
        self.stats.skipped += 1
        self._skips_in_a_row += 1
        if self._skips_in_a_row >= MAX_CONSECUTIVE_SKIPS:
            raise _Unreadable(
                f"{MAX_CONSECUTIVE_SKIPS} captchas in a row could not be read as this school's captcha "
                f"(last reading {reading.text!r}: {reading.reason})"
            )
        return None


class _Unreadable(Exception):
    pass


def image_size(data: bytes) -> tuple[int, int] | None:
    """An image's (width, height) from its header; None when it is no image."""
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            return img.size
    except (OSError, ValueError, *TOO_LARGE):
        return None


# ---- from the config -------------------------------------------------------------------------


@dataclass
class AccountTarget:
    """What a harvest needs to know about one configured account."""

    account: str
    system: str
    base_url: str
    creds: Credentials
    make_adapter: Callable[[], SchoolAdapter]
    target: CaptchaSpec | None


def account_target(config_path: Path, account: str) -> AccountTarget:
    """Read the config; raise ``ConfigError`` (one line) for a missing file, account or password."""
    from gradewatch.config import ConfigError, load_config, resolve_password
    from gradewatch.schools import adapter_class

    cfg = load_config(config_path)
    acc = cfg.accounts.get(account)
    if acc is None:
        known = ", ".join(sorted(cfg.accounts)) or "none"
        raise ConfigError(f"{config_path}: no account named {account!r} (configured: {known})")
    school = cfg.schools[acc.school]
    stored = None
    if not (acc.password or acc.password_env or acc.password_cmd):
        stored = _stored_password(cfg, account)
    password = resolve_password(account, acc, stored)
    cls = adapter_class(school.system)

    def make() -> SchoolAdapter:
        return cls(school.base_url, options=school.options, timeout=school.timeout)

    return AccountTarget(
        account, school.system, school.base_url, Credentials(acc.username, password), make, target_spec_for(cls)
    )


def _stored_password(cfg: Any, account: str) -> str | None:
    """The password kept encrypted by `gradewatch password set`, when the store has one."""
    url = str(cfg.database_url)
    if not cfg.key_path.is_file() or (url.startswith("sqlite:///") and not Path(url[10:]).is_file()):
        return None  # never create a key file or a database just to look for a password
    try:
        from gradewatch.secrets import Vault
        from gradewatch.store.db import Store

        store = Store.open(cfg.database_url, Vault.open(cfg.key_path))
    except Exception:  # noqa: BLE001 - no store yet just means no stored password
        return None
    try:
        return store.stored_password(account)
    finally:
        store.close()
