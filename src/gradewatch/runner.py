"""Scheduled-runner mode: `gradewatch check --state FILE` on GitHub Actions, cron on a shared host …

The runner keeps one file between runs (the SQLite state: grades seen, sessions, outbox) — in
the Actions cache, say — and passes the key and passwords from its secrets (``GRADEWATCH_KEY``,
the accounts' ``password_env``). When that file is missing, either this is the first run or the
runner lost it: gradewatch cannot tell, so it records what it sees without mailing the whole
grade table again, unless ``--baseline`` asks for the table (say so on the very first run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gradewatch.config import Config

KEY_ENV = "GRADEWATCH_KEY"


@dataclass(frozen=True)
class RunnerState:
    config: Config
    fresh: bool  # the state file did not exist
    send_baseline: bool  # whether a first check mails the whole table
    notice: str  # what to tell the user about the state file ("" when nothing to say)


def with_state(config: Config, state: Path | None, *, baseline: bool | None) -> RunnerState:
    """``config`` with its database in ``state`` (when given) and the baseline decision made."""
    if state is None:
        return RunnerState(config, False, True if baseline is None else baseline, "")
    path = state.expanduser().resolve()
    fresh = not path.exists()
    cfg = config.model_copy(update={"database": f"sqlite:///{path}"})
    if not fresh:
        return RunnerState(cfg, False, True if baseline is None else baseline, "")
    if baseline:
        notice = f"state file {path} not found: starting a new one and mailing the whole grade table (--baseline)."
    else:
        notice = (f"state file {path} not found: starting a new one. If this is not the first run, the runner lost "
                  "its saved state; the current grades are recorded as seen and NOT mailed again "
                  "(run once with --baseline to mail the whole table).")
    return RunnerState(cfg, True, bool(baseline), notice)
