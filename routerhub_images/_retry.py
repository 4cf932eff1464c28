"""Retrying: the policy, the pure "wait how long, or give up" decision, and the loop.

All retry logic of the library lives here. `retry_delay` decides without HTTP or
sleeping, so every rule is testable on its own; `call_with_retries` runs an attempt
function under a `RetryPolicy`, waiting on an injectable `Clock` and a client-wide
`Cooldown`.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import logging
import math
import random as _random
import re
import time as _time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timezone
from typing import Any, Protocol, TypeVar

import anyio
import attrs

from ._constants import (
    BACKOFF_EXP_BASE,
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    LOGGER_NAME,
    MAX_RETRIES,
    MAX_SERVER_DELAY,
    RETRY_DEADLINE,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InsufficientCreditError,
    ResourceExhaustedError,
    RouterHubError,
    TLSVerificationError,
    UnexpectedRedirectError,
)
from ._types import CallInfo

T = TypeVar("T")

logger = logging.getLogger(LOGGER_NAME)

DEFAULT_RETRY_STATUSES: frozenset[str] = frozenset(
    {"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"}
)
"""Google statuses retried by default: transient by Google's own definition."""

DEFAULT_RETRY_HTTP_CODES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP codes retried by default when the error body named no Google status."""


# Typed converters: attrs' mypy plugin takes the __init__ parameter's type from them.
def _str_set(values: frozenset[str] | set[str] | tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset(values)


def _int_set(values: frozenset[int] | set[int] | tuple[int, ...] | list[int]) -> frozenset[int]:
    return frozenset(values)


_non_negative = attrs.validators.ge(0.0)


def _non_negative_or_none(
    _instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and not value >= 0:
        msg = f"'{attribute.name}' must be >= 0 or None: {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to wait before trying a failed call again.

    A failed attempt is retried after a wait chosen in this order:

    1. the server's ``google.rpc.RetryInfo.retryDelay``, if the error carries one;
    2. the ``Retry-After`` header (seconds or an HTTP date);
    3. otherwise exponential backoff with full jitter::

           wait = random() * min(max_backoff, initial * exp_base ** (attempt - 1))

       where ``attempt`` is the number of attempts made so far (1 after the first
       failure) and ``random()`` is uniform in ``[0, 1)``.

    Whatever the source, a wait that would end past ``deadline`` means giving up at
    once rather than sleeping past the caller's budget. A server-told wait (1. or 2.)
    longer than ``max_server_delay`` also means giving up at once, with the server's
    error: the server asked for a long pause, and retrying sooner would only hammer
    it. A delay too large for a float counts as longer; an unreadable one is ignored
    (the backoff applies). So with ``deadline=None`` too, every wait is finite.

    Args:
        max_retries: Retries after the first attempt; ``0`` disables retrying.
            Defaults to `MAX_RETRIES`.
        initial: Seconds, the backoff cap of the first retry (`BACKOFF_INITIAL`).
        max_backoff: Seconds, the largest backoff cap (`BACKOFF_MAX`). Server-chosen
            waits are not capped by it; ``max_server_delay`` and ``deadline`` bound them.
        exp_base: Growth factor of the cap per attempt, at least 1 (`BACKOFF_EXP_BASE`).
        deadline: Seconds, the overall budget of one call, attempts and waits
            included (`RETRY_DEADLINE`); None for no budget.
        max_server_delay: Seconds, finite, the longest server-told wait a call sits
            out (`MAX_SERVER_DELAY`); a longer one gives up at once. It also bounds
            the wait for the client-wide cooldown before each attempt.
        retry_statuses: Google statuses (``error.status``) that are retried.
        retry_http_codes: HTTP codes retried when the error body named no status.
        retry_sent_requests: Whether to retry a read or write timeout, or a
            connection dropped, *after the request was sent*. Off by default because
            the server may already have generated the image, and billed for it:
            retrying can pay twice for one picture. Connect timeouts and failures
            known to precede sending are always retried.

    Raises:
        ValueError: A number is negative, ``max_server_delay`` is not finite, or
            ``exp_base`` is below 1.
    """

    max_retries: int = attrs.field(
        default=MAX_RETRIES, validator=[attrs.validators.instance_of(int), attrs.validators.ge(0)]
    )
    initial: float = attrs.field(default=BACKOFF_INITIAL, validator=_non_negative)
    max_backoff: float = attrs.field(default=BACKOFF_MAX, validator=_non_negative)
    exp_base: float = attrs.field(default=BACKOFF_EXP_BASE, validator=attrs.validators.ge(1.0))
    deadline: float | None = attrs.field(default=RETRY_DEADLINE, validator=_non_negative_or_none)
    max_server_delay: float = attrs.field(
        default=MAX_SERVER_DELAY, validator=[_non_negative, attrs.validators.lt(math.inf)]
    )
    retry_statuses: frozenset[str] = attrs.field(default=DEFAULT_RETRY_STATUSES, converter=_str_set)
    retry_http_codes: frozenset[int] = attrs.field(
        default=DEFAULT_RETRY_HTTP_CODES, converter=_int_set
    )
    retry_sent_requests: bool = False

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first one plus ``max_retries``."""
        return self.max_retries + 1


@attrs.frozen(kw_only=True)
class RetryStats:
    """What a successful `call_with_retries` took."""

    attempts: int
    """Attempts made, the successful one included."""
    backoff_seconds: float
    """Seconds spent waiting between attempts, cooldowns included."""
    elapsed_seconds: float
    """Seconds from the start of the call to its answer."""

    def call_info(
        self, *, request_id: str | None = None, http_status: int | None = None
    ) -> CallInfo:
        """The `CallInfo` to attach to a response from these stats."""
        return CallInfo(
            attempts=self.attempts,
            backoff_seconds=self.backoff_seconds,
            elapsed_seconds=self.elapsed_seconds,
            request_id=request_id,
            http_status=http_status,
        )


# --- the decision -----------------------------------------------------------------

_SECONDS = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


def parse_retry_after(value: str, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value.

    Args:
        value: Delay seconds (``"120"``, fractions accepted) or an HTTP date
            (``"Wed, 21 Oct 2015 07:28:00 GMT"``).
        now: The current wall-clock time (`time.time`), to turn a date into seconds.

    Returns:
        The wait in seconds, never negative (a past date means ``0.0``); None when
        the value is neither form, so the caller falls back to its own backoff.
    """
    text = value.strip()
    if _SECONDS.match(text):
        seconds = float(text)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no source zone (RFC 5322)
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def _is_retryable(policy: RetryPolicy, error: BaseException) -> bool:
    if isinstance(error, APIStatusError):
        return _is_retryable_status(policy, error)
    if isinstance(error, APIConnectionError):
        return _is_retryable_connection(policy, error)
    return False


def _is_retryable_status(policy: RetryPolicy, error: APIStatusError) -> bool:
    if isinstance(error, UnexpectedRedirectError | InsufficientCreditError):
        return False
    if isinstance(error, ResourceExhaustedError) and error.is_daily_quota:
        return False
    if error.status is not None:
        return error.status in policy.retry_statuses
    return error.code in policy.retry_http_codes


def _is_retryable_connection(policy: RetryPolicy, error: APIConnectionError) -> bool:
    if isinstance(error, TLSVerificationError):
        return False
    phase = error.phase if isinstance(error, APITimeoutError) else None
    if phase == "pool":  # our own pool is saturated; retrying only adds load
        return False
    if phase == "connect" or not error.request_sent:
        return True
    return policy.retry_sent_requests


def _server_delay(error: BaseException, now: float | None) -> tuple[float, str] | None:
    if not isinstance(error, APIStatusError):
        return None
    if error.details.retry_delay is not None:
        return error.details.retry_delay, "retry-info"
    header = error.headers.get("retry-after")
    if header is None:
        return None
    seconds = parse_retry_after(header, now=_time.time() if now is None else now)
    return None if seconds is None else (seconds, "retry-after")


def _backoff(policy: RetryPolicy, attempt: int, random: Callable[[], float]) -> float:
    try:
        cap = policy.initial * policy.exp_base ** (attempt - 1)
    except OverflowError:
        cap = policy.max_backoff
    return random() * min(policy.max_backoff, cap)


def _decide(
    policy: RetryPolicy,
    error: BaseException,
    *,
    attempt: int,
    elapsed: float,
    random: Callable[[], float],
    now: float | None,
) -> tuple[float | None, str]:
    """`retry_delay`, with where the delay came from, or why we give up."""
    if attempt > policy.max_retries:
        return None, f"{attempt} attempt(s) made, max_retries={policy.max_retries}"
    if not _is_retryable(policy, error):
        return None, "not retryable"
    delay, source = _server_delay(error, now) or (_backoff(policy, attempt, random), "backoff")
    if source != "backoff" and not delay <= policy.max_server_delay:  # `not <=`: NaN too
        limit = policy.max_server_delay
        return None, f"a {delay:.2f} s wait ({source}) exceeds max_server_delay={limit:g}"
    if policy.deadline is not None and elapsed + delay > policy.deadline:
        left = max(0.0, policy.deadline - elapsed)
        return None, f"a {delay:.2f} s wait ({source}) exceeds the {left:.2f} s left"
    return delay, source


def retry_delay(
    policy: RetryPolicy,
    error: BaseException,
    *,
    attempt: int,
    elapsed: float,
    random: Callable[[], float],
    now: float | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    A pure function: no I/O, no sleeping, no clock reads unless ``now`` is None and a
    ``Retry-After`` date must be converted. The wait is chosen, and bounded, as
    `RetryPolicy` describes; None also means ``max_retries`` retries were made or the
    error is not retried.

    Retried: `APIStatusError` whose ``status`` is in ``policy.retry_statuses`` (or,
    with no status, whose ``code`` is in ``policy.retry_http_codes``); a connect
    timeout; an `APIConnectionError` with ``request_sent=False``; other connection
    errors and read/write timeouts only with ``policy.retry_sent_requests``.
    Never retried: `InsufficientCreditError` (402), `TLSVerificationError`, a
    `ResourceExhaustedError` whose QuotaFailure names a per-day quota, a ``pool``
    timeout, and anything else (`ResponseError`, programming errors, cancellation).

    Args:
        policy: The rules to apply.
        error: What the failed attempt raised.
        attempt: Attempts made so far, the failed one included (1 after the first).
        elapsed: Seconds since the call started, waits included.
        random: Uniform source in ``[0, 1)`` for the jitter.
        now: Wall-clock time for ``Retry-After`` dates; `time.time` when None.
    """
    return _decide(policy, error, attempt=attempt, elapsed=elapsed, random=random, now=now)[0]


# --- clocks and the cooldown ------------------------------------------------------


class Clock(Protocol):
    """Time as the retry loop sees it: `SystemClock`, or a fake one in tests."""

    def monotonic(self) -> float:
        """Seconds of a monotonic clock, for elapsed times and deadlines."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch, for ``Retry-After`` dates."""
        ...

    async def sleep(self, seconds: float, /) -> None:
        """Wait ``seconds``; must let cancellation through."""
        ...

    def random(self) -> float:
        """A uniform number in ``[0, 1)`` for the backoff jitter."""
        ...


class SystemClock:
    """The real `Clock`: `time.monotonic`, `time.time`, `anyio.sleep`, `random.random`."""

    monotonic = staticmethod(_time.monotonic)
    time = staticmethod(_time.time)
    sleep = staticmethod(anyio.sleep)
    random = staticmethod(_random.random)


@attrs.define
class Cooldown:
    """A client-wide gate that makes every call wait out a server-imposed pause.

    When a 429 carrying a server delay is retried, the loop calls `open_for`; every
    call sharing the cooldown awaits `wait` before each attempt, so hundreds of tasks
    wait the pause out together instead of each hammering the server.

    Holds only a float, no lock or event, so it is safe to share between tasks and
    usable from whichever event loop runs them.

    Args:
        clock: Time source; `SystemClock` by default.
    """

    clock: Clock = attrs.field(factory=SystemClock, kw_only=True)
    _until: float = attrs.field(default=-math.inf, init=False)

    def open_for(self, seconds: float) -> None:
        """Close the gate for ``seconds`` from now; extends a pause, never shortens it.

        A pause that is not a finite positive number is ignored: the gate never
        closes for ever.
        """
        if not 0 < seconds < math.inf:
            return
        self._until = max(self._until, self.clock.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds until the gate opens; ``0.0`` when it is open."""
        return max(0.0, self._until - self.clock.monotonic())

    async def wait(self, *, limit: float | None = None) -> float:
        """Sleep until the gate is open, following extensions made meanwhile.

        Args:
            limit: Seconds at most to wait (the caller's remaining budget).

        Returns:
            The seconds slept.
        """
        waited = 0.0
        while (remaining := self.remaining()) > 0:
            if limit is not None:
                remaining = min(remaining, limit - waited)
                if remaining <= 0:
                    break
            await self.clock.sleep(remaining)
            waited += remaining
        return waited


# --- instant retries for tests ----------------------------------------------------

_instant = False


def instant_retries_enabled() -> bool:
    """Whether `instant_retries` is on."""
    return _instant


def instant_retries(enabled: bool = True) -> contextlib.ExitStack:
    """Retry without sleeping, for test suites; like stamina's ``set_testing``.

    When on, the retry loop still decides, logs and counts every wait (in
    ``backoff_seconds`` and against the deadline) but does not sleep, and cooldowns
    are neither opened nor awaited. Call it as a switch for the process
    (``instant_retries(True)`` in a ``conftest.py``, ``instant_retries(False)``), or
    use it in a ``with`` block, which restores the previous state on exit::

        with routerhub_images.instant_retries():
            await client.generate(...)  # a 503 then a 200 returns at once
    """
    global _instant  # noqa: PLW0603 -- a process-wide switch, like stamina's
    restore = contextlib.ExitStack()
    restore.callback(instant_retries, _instant)
    _instant = enabled
    return restore


# --- observing retries ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RetryEvent:
    """One retry about to happen: what failed, and how long the call will wait."""

    label: str
    """The call being retried (``"generateContent google/..."``)."""
    attempt: int
    """Attempts made so far, the failed one included."""
    max_attempts: int
    """Attempts the policy allows in all."""
    error: Exception
    """The failure being retried."""
    delay: float
    """Seconds the call waits before its next attempt."""
    source: str
    """Where the delay came from: ``retry-info``, ``retry-after`` or ``backoff``."""


RetryObserver = Callable[[RetryEvent], None]
"""A callback told of every retry; it must be quick and must not raise."""

_observers: contextvars.ContextVar[tuple[RetryObserver, ...]] = contextvars.ContextVar(
    "routerhub_images_retry_observers", default=()
)


@contextlib.contextmanager
def observe_retries(observer: RetryObserver) -> Iterator[None]:
    """Call ``observer`` with a `RetryEvent` for every retry inside the ``with`` block.

    Scoped by context variable: it sees the calls made by this task (and tasks it
    starts), whichever client they use; other tasks are unaffected. Batch runners and
    progress bars use it to react to a 429 the moment it happens.

    Example::

        with observe_retries(lambda event: print(event.error, event.delay)):
            await client.generate_image("a cat")
    """
    token = _observers.set((*_observers.get(), observer))
    try:
        yield
    finally:
        _observers.reset(token)


# --- the loop ---------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    """The error for a log line: status or class, never a message, body or header."""
    if isinstance(error, APIStatusError):
        return f"{error.code} {error.status or type(error).__name__}"
    if isinstance(error, APITimeoutError):
        return f"{type(error).__name__} ({error.phase})"
    return type(error).__name__


def _give_up(error: Exception, label: str, reason: str, stats: RetryStats) -> None:
    """Log the end of a call and record on its error what the call took."""
    if not isinstance(error, RouterHubError):
        return
    logger.debug(
        "Giving up on %s after %d attempt(s): %s; %s",
        label,
        stats.attempts,
        _describe(error),
        reason,
    )
    code = getattr(error, "code", None) or getattr(error, "http_status", None)
    error.call = stats.call_info(request_id=getattr(error, "request_id", None), http_status=code)


def _announce(event: RetryEvent) -> None:
    """Log a retry about to happen and tell the observers of this context."""
    logger.info(
        "Retrying %s (attempt %d/%d) after %s; waiting %.2f s (%s)",
        event.label,
        event.attempt + 1,
        event.max_attempts,
        _describe(event.error),
        event.delay,
        event.source,
    )
    for observer in _observers.get():
        observer(event)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    cooldown: Cooldown | None = None,
    label: str = "request",
    clock: Clock | None = None,
) -> tuple[T, RetryStats]:
    """Await ``attempt()`` until it succeeds or `retry_delay` says to give up.

    Before each attempt the call waits out ``cooldown``, never past the deadline nor
    for more than ``policy.max_server_delay``. After a retryable failure it waits as
    `RetryPolicy` describes; a 429 with a server delay also opens ``cooldown`` for
    that long. Every retry is logged at INFO on the ``routerhub_images`` logger
    (status or error class, HTTP code, delay and its source; never bodies or
    headers); giving up is logged at DEBUG.

    Cancellation, during an attempt or a wait, propagates at once: it is a
    `BaseException` and never caught here. Under `instant_retries` the waits are
    counted but not slept.

    Args:
        attempt: Makes one attempt; called anew for each try.
        policy: When to retry and how long to wait.
        cooldown: The client-wide gate shared by concurrent calls, if any.
        label: Names the call in log lines (``"generateContent <model>"``).
        clock: Time source; `SystemClock` when None.

    Returns:
        The attempt's result and the `RetryStats` of the call.

    Raises:
        Exception: The last attempt's exception, unchanged; a `RouterHubError` gets
            its ``call`` set to a `CallInfo` with attempts, waits and elapsed time.
    """
    clock = clock or SystemClock()
    instant = _instant
    if instant:
        cooldown = None  # instant retries neither open nor await the cooldown
    start = clock.monotonic()
    attempts = 0
    waited = 0.0

    def elapsed() -> float:
        # Instant waits are not slept, yet they count against the deadline.
        return clock.monotonic() - start + (waited if instant else 0.0)

    def stats() -> RetryStats:
        return RetryStats(attempts=attempts, backoff_seconds=waited, elapsed_seconds=elapsed())

    while True:
        if cooldown is not None:
            limit = policy.max_server_delay
            if policy.deadline is not None:
                limit = min(limit, max(0.0, policy.deadline - elapsed()))
            waited += await cooldown.wait(limit=limit)
        attempts += 1
        try:
            result = await attempt()
        except Exception as error:
            delay, reason = _decide(
                policy,
                error,
                attempt=attempts,
                elapsed=elapsed(),
                random=clock.random,
                now=clock.time(),
            )
            if delay is None:
                _give_up(error, label, reason, stats())
                raise
            event = RetryEvent(
                label=label,
                attempt=attempts,
                max_attempts=policy.max_attempts,
                error=error,
                delay=delay,
                source=reason,
            )
            _announce(event)
            is_429 = isinstance(error, APIStatusError) and error.code == 429
            if cooldown is not None and is_429 and reason != "backoff":
                cooldown.open_for(delay)
        else:
            return result, stats()
        if not instant:
            await clock.sleep(delay)
        waited += delay
