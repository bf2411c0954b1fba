"""The one source of "now". Tests and demos swap it; services never call datetime.now()."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

UTC = dt.UTC


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def today(self, tz: str = "Europe/Moscow") -> dt.date:
        return self.now().astimezone(ZoneInfo(tz)).date()


class FrozenClock(Clock):
    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at = self.at + dt.timedelta(**delta)


_clock: Clock = Clock()


def clock() -> Clock:
    return _clock


def now() -> dt.datetime:
    return _clock.now()


def today(tz: str | None = None) -> dt.date:
    """The business date: today in ``tz``, by default the operator's configured time zone."""
    if tz is None:
        from abonent.config import get_settings  # settings read lazily: kit stays importable alone

        tz = get_settings().timezone
    return _clock.today(tz)


@contextmanager
def use_clock(replacement: Clock) -> Iterator[Clock]:
    global _clock
    previous, _clock = _clock, replacement
    try:
        yield replacement
    finally:
        _clock = previous
