"""Times sent by clients (terminals, lab PCs), checked against the round and the server's clock.

A phone's clock may be wrong, and a typed date may be 1900 or 2999. Every time a client sends is
checked here, once, at the API: within the round's days, and never more than a few minutes ahead of
the server. The services take the checked time; the demo and the tests, which play a day at times
of their own, call the services directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sweep.errors import InvalidInput
from sweep.plan.models import Campaign

# A terminal's clock a little ahead is ordinary (NTP drift, a minute typed by hand); more is a
# wrong clock, whose times would make a tube sealed before it was filled.
AHEAD_TOLERANCE = timedelta(minutes=5)
# A queue may hold scans from the day before (a restart); nothing of a round happens a day before
# its start (materials arrive two hours before) or more than two days after it.
BEFORE_START = timedelta(days=1)
AFTER_START = timedelta(days=2)


def client_time(*, campaign: Campaign, value: datetime | None, field: str, now: datetime) -> datetime:
    """The client's time if it is believable, else a refusal naming the field; ``None`` is the server's now."""
    if value is None:
        return now
    if value > now + AHEAD_TOLERANCE:
        minutes = int((value - now).total_seconds() // 60)
        raise InvalidInput(field, f"时间比服务器时钟快 {minutes} 分钟，请校准终端时间 (the time is {minutes} min ahead of the "
                                  f"server's clock: set the terminal's clock): {value:%Y-%m-%d %H:%M}")
    return within_round(campaign=campaign, value=value, field=field)


def within_round(*, campaign: Campaign, value: datetime, field: str) -> datetime:
    """The time if it falls within the round's days, else a refusal naming the field."""
    if not campaign.starts_at - BEFORE_START <= value <= campaign.starts_at + AFTER_START:
        raise InvalidInput(field, f"时间不在本轮日期内 (the time is outside this round's days): {value:%Y-%m-%d %H:%M}")
    return value


def credited_time(*, claimed: datetime, received: datetime) -> datetime:
    """The time a deadline is judged by: the client's, but never earlier than the server heard of it
    (less the tolerance). A check-in sent at 09:00 cannot claim to have been done at 05:00; a
    terminal that was offline sends its check-ins late and is judged by when they arrived."""
    return max(claimed, received - AHEAD_TOLERANCE)


_clock: list[Callable[[], datetime]] = [datetime.now]


def server_now() -> datetime:
    """The server's clock: the wall clock, or the accelerated day while ``sweep demo`` plays it live."""
    return _clock[-1]()


@contextmanager
def running_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Serve on another clock for a while: the live demo's day runs hundreds of times faster than the
    wall clock, and its terminals' times are checked against that day, not against today."""
    _clock.append(clock)
    try:
        yield
    finally:
        _clock.remove(clock)
