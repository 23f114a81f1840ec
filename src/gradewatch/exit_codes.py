"""The exit codes of `gradewatch`: one per class of failure, so scripts and cron can tell them apart.

The same table is in docs/errors.md and at the end of `gradewatch --help`.
"""

from __future__ import annotations

OK = 0
#: `check`: an account's check ended without grades for an account-side reason (wrong password,
#: locked, captcha rejected …).
CHECK_FAILED = 1
#: The config file or the command line is wrong (the message names the file and key).
CONFIG = 2
#: The database cannot be opened, migrated or written.
DATABASE = 3
#: A school is unreachable, timed out, answered 5xx or dripped past its deadline.
SCHOOL_UNREACHABLE = 4
#: A school answered something we do not understand (unexpected page, redirect loop, broken encoding,
#: an answer over the size cap, a garbage captcha image).
SCHOOL_ANSWER = 5
#: The captcha model is missing or corrupt.
CAPTCHA_MODEL = 6
#: A file cannot be read or written: key file, log file (permissions, missing directory).
FILE_ACCESS = 7
#: A bug: one line on stderr, the traceback with -v or GRADEWATCH_DEBUG=1.
INTERNAL = 70
#: Ctrl-C.
INTERRUPTED = 130

TABLE: list[tuple[int, str]] = [
    (OK, "success (also: `run` stopped by SIGTERM/SIGINT)"),
    (CHECK_FAILED, "a check failed for an account-side reason: wrong password, account locked, captcha rejected"),
    (CONFIG, "config file, command-line or key error (names the file and the key)"),
    (DATABASE, "database cannot be opened, migrated or written"),
    (SCHOOL_UNREACHABLE, "school unreachable, timed out, 5xx, or past the request/check deadline"),
    (SCHOOL_ANSWER, "school answered something unusable: unexpected page, redirect loop, bad encoding, "
                    "answer over the size cap, garbage captcha"),
    (CAPTCHA_MODEL, "captcha model file missing or corrupt"),
    (FILE_ACCESS, "key or log file cannot be read/written (permissions, missing directory)"),
    (INTERNAL, "internal error (a bug): rerun with GRADEWATCH_DEBUG=1 (or -v) for the traceback"),
    (INTERRUPTED, "interrupted (Ctrl-C during a one-shot command)"),
]

#: A check outcome (CheckReport.outcome) → exit code of `gradewatch check`.
_OUTCOME = {
    "ok": OK,
    "skipped": OK,
    "config_error": CONFIG,
    "unavailable": SCHOOL_UNREACHABLE,
    "unexpected_page": SCHOOL_ANSWER,
    "empty_table": SCHOOL_ANSWER,
    "captcha_model": CAPTCHA_MODEL,
    "internal_error": INTERNAL,
}


def for_outcome(outcome: str) -> int:
    return _OUTCOME.get(outcome, CHECK_FAILED)


def for_outcomes(outcomes: list[str]) -> int:
    """The most telling code of several accounts' outcomes: the highest (a bug beats a school fault …)."""
    return max((for_outcome(o) for o in outcomes), default=OK)


def epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {text}" for code, text in TABLE)
    return "Exit codes:\n\n" + rows
