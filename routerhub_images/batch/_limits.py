"""Batch-wide rate control: a pacing rate that finds the server's limit from its 429s.

One `AdaptiveRate` is shared by every worker of a batch, so one rate-limit answer slows
the whole batch rather than the worker that received it. It complements the client's
own `Cooldown`, which makes every call wait out a server-given retry delay.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Awaitable, Callable

import anyio
import attrs

__all__ = [
    "MINIMUM_RPM",
    "RATE_BACKOFF",
    "RATE_INCREASE",
    "RATE_WINDOW",
    "SLOW_START_RPM",
    "AdaptiveRate",
]

SLOW_START_RPM = 60.0
"""Requests per minute at the start of a batch with no known limit."""
RATE_WINDOW = 30.0
"""Seconds of history behind the admitted-rate estimate; also the additive-increase period."""
RATE_BACKOFF = 0.95
"""Safety factor applied to the estimated limit when a 429 arrives."""
RATE_INCREASE = 0.05
"""Fraction of the rate added per `RATE_WINDOW` seconds without a 429."""
MINIMUM_RPM = 1.0
"""The rate never falls below this many requests per minute."""
_POLL = 0.1
"""Longest sleep during slow start, so a rate that just went up applies at once."""


def _positive_rpm(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number, not {value!r}")


@attrs.define
class AdaptiveRate:
    """Spaces calls evenly at a rate that settles just under an unknown server limit.

    Calls are released ``1 / rate`` apart, never in bursts. The rate moves in phases:

    * **Slow start** (when ``maximum_rpm`` is None): from `SLOW_START_RPM`, each
      answer (other than a 429) adds ``1 / latency`` requests per second, so the
      rate doubles every round trip, until the first 429.
    * **On a 429** (`rate_limited`): the rate becomes ``backoff * min(current rate,
      admitted rate)``, where the admitted rate is the requests sent over the last
      ``window`` seconds, less the 429 answers, per second. Under a server limit that
      is the limit itself. Only a call started after the last cut can cut again (one
      cut per round, as in TCP), and the next call waits one new interval.
    * **Additive increase**: then the rate grows by ``increase`` times the rate set
      at the cut per ``window`` seconds without a counted 429 (at most doubling), so
      it probes slowly back towards the limit.

    A retry the client schedules (`book`) takes a slot like a new call, so retries
    and new calls together keep to the rate.

    Args:
        maximum_rpm: A fixed ceiling in requests per minute (the batch's ``rpm``):
            the rate starts there instead of slow-starting, and never exceeds it.
        initial_rpm: The slow-start rate (`SLOW_START_RPM`).
        window: Seconds of history for the admitted rate (`RATE_WINDOW`).
        backoff: Factor applied at a cut, in (0, 1] (`RATE_BACKOFF`).
        increase: Growth per ``window`` after a cut, a fraction (`RATE_INCREASE`).
        clock: Monotonic seconds; inject a fake one in tests.
        sleep: Awaitable sleep; inject a fake one in tests.

    Raises:
        ValueError: A rate that is not a positive number, ``backoff`` outside (0, 1],
            or a negative ``increase`` or non-positive ``window``.
    """

    maximum_rpm: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_positive_rpm)
    )
    initial_rpm: float = attrs.field(default=SLOW_START_RPM, validator=_positive_rpm, kw_only=True)
    window: float = attrs.field(default=RATE_WINDOW, validator=_positive_rpm, kw_only=True)
    backoff: float = attrs.field(
        default=RATE_BACKOFF,
        validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)],
        kw_only=True,
    )
    increase: float = attrs.field(
        default=RATE_INCREASE, validator=attrs.validators.ge(0), kw_only=True
    )
    clock: Callable[[], float] = attrs.field(default=time.monotonic, kw_only=True)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=anyio.sleep, kw_only=True)
    _base: float = attrs.field(init=False)  # requests per second, at ``_since``
    _since: float = attrs.field(default=-math.inf, init=False)
    _slow_start: bool = attrs.field(init=False)
    _last: float = attrs.field(default=-math.inf, init=False)  # the latest slot taken
    _last_cut: float = attrs.field(default=-math.inf, init=False)
    _first_send: float | None = attrs.field(default=None, init=False)
    _sends: collections.deque[float] = attrs.field(factory=collections.deque, init=False)
    _limited: collections.deque[float] = attrs.field(factory=collections.deque, init=False)

    def __attrs_post_init__(self) -> None:
        self._slow_start = self.maximum_rpm is None
        self._base = (self.maximum_rpm or self.initial_rpm) / 60.0

    @property
    def rpm(self) -> float:
        """The current rate, in requests per minute."""
        return self._per_second(self.clock()) * 60.0

    @property
    def slow_start(self) -> bool:
        """True until the first counted 429."""
        return self._slow_start

    async def acquire(self) -> float:
        """Wait for the next slot and take it; returns the clock time it was taken."""
        while (wait := self._next_slot(now := self.clock()) - now) > 0:
            # During slow start the rate jumps with each success: look again soon.
            await self.sleep(min(wait, _POLL) if self._slow_start else wait)
        self._last = now
        self._record_send(now)
        return now

    def book(self, delay: float = 0.0) -> None:
        """Count a retry the client will send in ``delay`` seconds: it takes a slot.

        Pass the client's cooldown for a 429 with a server delay (every call waits it
        out, so no new call should be released before the retry), else nothing.
        """
        now = self.clock()
        self._last = max(self._last + 1.0 / self._per_second(now), now + delay)
        self._record_send(now)

    def answered(self, latency: float) -> None:
        """Count a call the server answered, other than with a 429, in ``latency`` s.

        During slow start each one adds ``1 / latency`` requests per second.
        """
        if self._slow_start:
            self._base += 1.0 / max(latency, 1e-3)
            if self.maximum_rpm is not None:
                self._base = min(self._base, self.maximum_rpm / 60.0)

    def rate_limited(self, started_at: float) -> bool:
        """Count a 429 for a call started at ``started_at``; True if the rate was cut."""
        now = self.clock()
        self._prune(now)
        self._limited.append(now)
        if started_at < self._last_cut:
            return False
        current = self._per_second(now)
        admitted = self._admitted_rate(now)
        target = current if admitted is None else min(current, admitted)
        self._base = max(MINIMUM_RPM / 60.0, self.backoff * target)
        self._since = self._last_cut = now
        self._slow_start = False
        self._last = max(self._last, now)
        return True

    def _per_second(self, now: float) -> float:
        rate = self._base
        if not self._slow_start and self.increase > 0:
            grown = min(now - self._since, self.window / self.increase)
            rate *= 1.0 + self.increase * grown / self.window
        if self.maximum_rpm is not None:
            rate = min(rate, self.maximum_rpm / 60.0)
        return rate

    def _next_slot(self, now: float) -> float:
        return self._last + 1.0 / self._per_second(now)

    def _record_send(self, now: float) -> None:
        if self._first_send is None:
            self._first_send = now
        self._prune(now)
        self._sends.append(now)

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        for times in (self._sends, self._limited):
            while times and times[0] < horizon:
                times.popleft()

    def _admitted_rate(self, now: float) -> float | None:
        """Requests per second that got past the server over the window, if known."""
        if self._first_send is None:
            return None
        span = min(self.window, now - self._first_send)
        if span <= 0:
            return None
        return max(0, len(self._sends) - len(self._limited)) / span
