"""Batch-wide rate control: adaptive concurrency (AIMD) and a requests-per-minute pacer.

Both are shared by every worker of a batch, so one rate-limit answer slows the whole
batch rather than the worker that received it. They complement the client's own
`Cooldown`, which makes every call wait out a server-given retry delay.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio
import attrs

__all__ = ["AdaptiveConcurrency", "RequestPacer"]


def _positive_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, not {value!r}")


@attrs.define
class AdaptiveConcurrency:
    """An in-flight limit that halves on congestion and grows back one by one (AIMD).

    It starts at ``maximum``. A congestion signal (a call that needed retries, or
    failed with a rate limit) halves the limit, at most once per round trip: a signal
    from a call started before the last decrease is ignored, since that call was sent
    under the old limit (TCP's rule). Each run of ``limit`` successes in a row (or
    ``increase_every``, if set) adds one, up to ``maximum``.

    Args:
        maximum: The largest number of calls in flight (the batch's ``concurrency``).
        minimum: The smallest limit a decrease reaches.
        increase_every: Successes per increase; None means the current limit, so the
            limit grows by about one per round trip.
        clock: Monotonic seconds; inject a fake one in tests.

    Raises:
        ValueError: ``maximum`` or ``minimum`` below 1, or ``minimum > maximum``.
    """

    maximum: int = attrs.field(validator=_positive_int)
    minimum: int = attrs.field(default=1, validator=_positive_int, kw_only=True)
    increase_every: int | None = attrs.field(default=None, kw_only=True)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, kw_only=True)
    _limit: int = attrs.field(init=False)
    _in_flight: int = attrs.field(default=0, init=False)
    _successes: int = attrs.field(default=0, init=False)
    _last_decrease: float = attrs.field(default=-math.inf, init=False)
    _changed: anyio.Event | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        if self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} exceeds maximum {self.maximum}")
        self._limit = self.maximum

    @property
    def limit(self) -> int:
        """Calls allowed in flight now."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Calls holding a slot."""
        return self._in_flight

    async def acquire(self) -> float:
        """Wait for a free slot and take it; returns the clock time it was taken.

        Pass that time to `congested` so stale signals are told apart.
        """
        while self._in_flight >= self._limit:
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()
        self._in_flight += 1
        return self.clock()

    def release(self) -> None:
        """Give a slot back."""
        self._in_flight -= 1
        self._wake()

    def succeeded(self) -> bool:
        """Count a success; returns True when the limit grew."""
        self._successes += 1
        if self._limit >= self.maximum or self._successes < (self.increase_every or self._limit):
            return False
        self._successes = 0
        self._limit += 1
        self._wake()
        return True

    def congested(self, started_at: float) -> bool:
        """Signal congestion seen by a call started at ``started_at``; True if it halved."""
        if started_at <= self._last_decrease:
            return False
        self._last_decrease = self.clock()
        self._successes = 0
        smaller = max(self.minimum, self._limit // 2)
        changed = smaller != self._limit
        self._limit = smaller
        return changed

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None


@attrs.define
class RequestPacer:
    """A client-side requests-per-minute limit that spaces calls evenly (no bursts).

    Calls are released ``60 / rpm`` seconds apart: a token bucket of capacity one,
    which keeps a server-side token bucket of the same rate from ever running dry.
    A caller cancelled while waiting gives up its slot.

    Args:
        rpm: Requests per minute.
        clock: Monotonic seconds; inject a fake one in tests.
        sleep: Awaitable sleep; inject a fake one in tests.

    Raises:
        ValueError: ``rpm`` is not a positive finite number.
    """

    rpm: float
    clock: Callable[[], float] = attrs.field(default=time.monotonic, kw_only=True)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=anyio.sleep, kw_only=True)
    _next: float = attrs.field(default=-math.inf, init=False)

    def __attrs_post_init__(self) -> None:
        if not (isinstance(self.rpm, int | float) and math.isfinite(self.rpm) and self.rpm > 0):
            raise ValueError(f"rpm must be a positive number, not {self.rpm!r}")

    @property
    def interval(self) -> float:
        """Seconds between two calls."""
        return 60.0 / self.rpm

    async def acquire(self) -> None:
        """Wait for this caller's turn."""
        now = self.clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)
