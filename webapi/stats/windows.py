"""The window a figure covers: a rolling period or a from/to range, in a time zone, and its
buckets (hours, days or weeks starting at local midnight, Monday for weeks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo
from zoneinfo import available_timezones as _available_timezones

from webapi.stats.rollups import QUARTER_S

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
HOURLY_UP_TO = timedelta(days=2)
DAILY_UP_TO = timedelta(days=31)
MAX_SPAN = timedelta(days=400)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class WindowError(ValueError):
    """The window asked for makes no sense; the message says why."""


class Bucket(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    zone: ZoneInfo

    @property
    def tz(self) -> str:
        return self.zone.key

    @property
    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.start - (self.end - self.start), self.start, self.zone)

    @property
    def bucket(self) -> Bucket:
        span = self.end - self.start
        if span <= HOURLY_UP_TO:
            return Bucket.HOUR
        if span <= DAILY_UP_TO:
            return Bucket.DAY
        return Bucket.WEEK

    def bucket_starts(self) -> list[datetime]:
        """Every bucket's start (UTC), the first being the window's start, then the window's
        end: the boundaries of len() - 1 buckets. Local hours, days and weeks, so that a day
        with a DST change has 23 or 25 hours."""
        bounds = [self.start]
        local = self.start.astimezone(self.zone)
        step = self.bucket
        if step is Bucket.HOUR:
            # A local hour starts on a quarter hour in every zone in use (India: :30, Nepal:
            # :45), and DST moves it: walk the quarter hours, keep those at minute 0 locally.
            cursor = datetime.fromtimestamp(
                -(-int(self.start.timestamp()) // QUARTER_S) * QUARTER_S, UTC
            )
            while cursor < self.end:
                if cursor > self.start and cursor.astimezone(self.zone).minute == 0:
                    bounds.append(cursor)
                cursor += timedelta(seconds=QUARTER_S)
        else:
            day = local.date()
            if step is Bucket.WEEK:
                day -= timedelta(days=day.weekday())
            width = timedelta(days=1 if step is Bucket.DAY else 7)
            while True:
                day += width
                cursor = local_midnight(day, self.zone)
                if cursor >= self.end:
                    break
                bounds.append(cursor)
        bounds.append(self.end)
        return bounds


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts; where DST skips midnight, the end of the gap."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@cache
def available_timezones() -> frozenset[str]:
    return frozenset(_available_timezones()) - {"localtime", "posixrules", "Factory"}


def zone_named(name: str) -> ZoneInfo:
    # Only names of the IANA database: not files that merely sit beside them (localtime).
    if name not in available_timezones():
        raise WindowError(f"'{name}' is not an IANA time zone (e.g. Europe/Berlin).")
    return ZoneInfo(name)


def parse_moment(text: str, zone: ZoneInfo, field: str) -> datetime:
    """A date (local midnight) or an instant (local time unless it carries an offset)."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time.min)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise WindowError(
            f"'{field}' must be an ISO date (2026-11-01) or instant (2026-11-01T09:30:00+01:00)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 east of Greenwich, year 9999 west of it
        moment = EARLIEST if moment.year < 2000 else LATEST
    if moment < EARLIEST:
        raise WindowError(f"'{field}' is before {EARLIEST.date().isoformat()}.")
    if moment > LATEST:
        raise WindowError(f"'{field}' is after {LATEST.date().isoformat()}.")
    return moment


def resolve(
    now: datetime,
    period: str | None,
    start: str | None,
    end: str | None,
    tz: str | None,
) -> Window:
    """The window of a request: `period` (rolling, ending now) or `from` (and `to`, else now)."""
    zone = zone_named(tz or "UTC")
    if period is not None and (start is not None or end is not None):
        raise WindowError("Give either 'period' or 'from'/'to', not both.")
    if start is None:
        if end is not None:
            raise WindowError("'to' needs a 'from'.")
        length = PERIODS.get(period or "week")
        if length is None:
            raise WindowError("'period' is one of day, week, month.")
        return Window(now - length, now, zone)
    begin = parse_moment(start, zone, "from")
    finish = parse_moment(end, zone, "to") if end is not None else now
    if finish <= begin:
        raise WindowError("'to' must come after 'from'.")
    if finish - begin > MAX_SPAN:
        raise WindowError(f"A window spans at most {MAX_SPAN.days} days.")
    return Window(begin, finish, zone)
