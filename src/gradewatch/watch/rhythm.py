"""The polling rhythm of a campus deployment: schools publish grades in office hours, so the night
is polled less; fast detection (watch/expedite.py) covers the day. One function the scheduler asks
for the interval after a check."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Where the schools are: their office hours are in this time zone.
SCHOOL_TZ = ZoneInfo("Asia/Shanghai")
#: Local hours in which schools publish grades; outside them the interval is stretched.
OFFICE_START, OFFICE_END = time(8, 0), time(22, 0)
QUIET_FACTOR = 3.0


def interval_at(now: datetime, interval: timedelta, *, quiet_factor: float = QUIET_FACTOR,
                rng: random.Random | None = None) -> timedelta:
    """``interval`` in office hours, ``quiet_factor`` times as long at night. A night check that would
    land past the morning's start lands instead at a random point of the morning's first interval:
    capped at 08:00 sharp, every account would check at once and then stay in step all day."""
    local = now.astimezone(SCHOOL_TZ)
    if OFFICE_START <= local.time() < OFFICE_END:
        return interval
    morning = local.replace(hour=OFFICE_START.hour, minute=OFFICE_START.minute, second=0, microsecond=0)
    if local.time() >= OFFICE_END:
        morning += timedelta(days=1)
    stretched = interval * quiet_factor
    if local + stretched <= morning:
        return stretched
    return morning - local + interval * (rng or random).random()
