"""Tests of the retry policy, the pure decision, the cooldown and the retry loop."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from client_helpers import JITTER, WALL, FakeClock
from hypothesis import given, settings
from hypothesis import strategies as st

from routerhub_images import CallInfo
from routerhub_images._constants import (
    BACKOFF_EXP_BASE,
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    LOGGER_NAME,
    MAX_RETRIES,
    RETRY_DEADLINE,
)
from routerhub_images._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InsufficientCreditError,
    ResourceExhaustedError,
    ResponseError,
    api_error_from_http,
)
from routerhub_images._retry import (
    DEFAULT_RETRY_HTTP_CODES,
    DEFAULT_RETRY_STATUSES,
    Cooldown,
    RetryEvent,
    RetryPolicy,
    RetryStats,
    call_with_retries,
    instant_retries,
    instant_retries_enabled,
    observe_retries,
    parse_retry_after,
    retry_delay,
)

LABEL = "generateContent google/gemini-2.5-flash-image"
SECRET = "sk-secret-header-value"


def retry_info(seconds: float) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{seconds}s"}


def quota_failure(quota_id: str) -> dict[str, Any]:
    violation = {"quotaId": quota_id, "quotaMetric": "generativelanguage.googleapis.com/x"}
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}


def api_error(
    code: int,
    status: str | None = None,
    *,
    details: Iterable[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> APIStatusError:
    details = list(details)
    if status is None and not details:
        body = b"<html>upstream trouble</html>"
    else:
        error = {"code": code, "message": "body-message", "status": status, "details": details}
        body = json.dumps({"error": error}).encode()
    return api_error_from_http(code, headers or {}, body)


def decide(
    error: BaseException,
    policy: RetryPolicy | None = None,
    *,
    attempt: int = 1,
    elapsed: float = 0.0,
) -> float | None:
    return retry_delay(
        policy or RetryPolicy(),
        error,
        attempt=attempt,
        elapsed=elapsed,
        random=lambda: JITTER,
        now=WALL,
    )


def failing(
    *errors: BaseException, result: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """An attempt function raising ``errors`` in turn, then returning ``result``."""
    pending = list(errors)
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(len(calls) + 1)
        await anyio.lowlevel.checkpoint()
        if pending:
            raise pending.pop(0)
        return result

    return attempt, calls


# --- RetryPolicy ------------------------------------------------------------------


def test_policy_defaults_come_from_constants() -> None:
    """The default policy uses the named constants."""
    policy = RetryPolicy()
    assert (policy.max_retries, policy.initial, policy.max_backoff) == (
        MAX_RETRIES,
        BACKOFF_INITIAL,
        BACKOFF_MAX,
    )
    assert (policy.exp_base, policy.deadline, policy.retry_sent_requests) == (
        BACKOFF_EXP_BASE,
        RETRY_DEADLINE,
        False,
    )
    assert policy.retry_statuses == DEFAULT_RETRY_STATUSES
    assert policy.retry_http_codes == DEFAULT_RETRY_HTTP_CODES
    assert policy.max_attempts == MAX_RETRIES + 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"initial": -0.1},
        {"max_backoff": -1.0},
        {"exp_base": 0.5},
        {"deadline": -1.0},
        {"initial": float("nan")},
    ],
)
def test_policy_rejects_negative_numbers(kwargs: dict[str, Any]) -> None:
    """Negative (or NaN) numbers and a shrinking exp_base raise ValueError."""
    with pytest.raises(ValueError, match="must be >="):
        RetryPolicy(**kwargs)


def test_policy_accepts_no_deadline_and_converts_sets() -> None:
    """deadline=None is allowed and status/code collections become frozensets."""
    policy = RetryPolicy(deadline=None, retry_statuses=["UNAVAILABLE"], retry_http_codes={503})
    assert policy.deadline is None
    assert policy.retry_statuses == frozenset({"UNAVAILABLE"})
    assert policy.retry_http_codes == frozenset({503})


# --- which errors are retried -----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (429, "RESOURCE_EXHAUSTED"),
        (503, "UNAVAILABLE"),
        (500, "INTERNAL"),
        (504, "DEADLINE_EXCEEDED"),
        (409, "ABORTED"),
    ],
)
def test_transient_statuses_are_retried(code: int, status: str) -> None:
    """Errors whose Google status is in retry_statuses are retried after a backoff."""
    assert decide(api_error(code, status)) == JITTER * BACKOFF_INITIAL


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (400, "FAILED_PRECONDITION"),
        (400, "OUT_OF_RANGE"),
        (409, "ALREADY_EXISTS"),
        (499, "CANCELLED"),
        (501, "NOT_IMPLEMENTED"),
        (500, "UNKNOWN"),
    ],
)
def test_permanent_statuses_are_not_retried(code: int, status: str) -> None:
    """Errors whose Google status is not in retry_statuses are not retried."""
    assert decide(api_error(code, status)) is None


@pytest.mark.parametrize("code", sorted(DEFAULT_RETRY_HTTP_CODES))
def test_bare_transient_http_codes_are_retried(code: int) -> None:
    """An error body without a status is retried when its HTTP code is transient."""
    error = api_error(code)
    assert error.status is None
    assert decide(error) == JITTER * BACKOFF_INITIAL


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 418, 501])
def test_bare_other_http_codes_are_not_retried(code: int) -> None:
    """An error body without a status is not retried for other HTTP codes."""
    assert decide(api_error(code)) is None


def test_status_decides_over_http_code() -> None:
    """When the body names a status, retry_statuses decides, not the HTTP code."""
    policy = RetryPolicy(retry_statuses=frozenset())
    assert decide(api_error(503, "UNAVAILABLE"), policy) is None


@pytest.mark.parametrize("status", ["RESOURCE_EXHAUSTED", None])
def test_insufficient_credit_is_never_retried(status: str | None) -> None:
    """A 402 is never retried, even with RetryInfo or 402 in retry_http_codes."""
    error = api_error(402, status, details=[retry_info(1)])
    assert isinstance(error, InsufficientCreditError)
    assert decide(error, RetryPolicy(retry_http_codes={402, 429})) is None


def test_daily_quota_is_not_retried() -> None:
    """A 429 whose QuotaFailure names a per-day quota is not retried."""
    error = api_error(
        429,
        "RESOURCE_EXHAUSTED",
        details=[quota_failure("GenerateRequestsPerDayPerProjectPerModel"), retry_info(5)],
    )
    assert isinstance(error, ResourceExhaustedError)
    assert error.is_daily_quota
    assert decide(error) is None


def test_per_minute_quota_is_retried() -> None:
    """A 429 naming a per-minute quota waits the server's delay."""
    error = api_error(
        429,
        "RESOURCE_EXHAUSTED",
        details=[quota_failure("GenerateRequestsPerMinutePerProjectPerModel"), retry_info(5)],
    )
    assert decide(error) == 5.0


CONNECTION_CASES = [
    # (error, retried by default, retried with retry_sent_requests)
    (APITimeoutError("pool", phase="pool", request_sent=False), False, False),
    (APITimeoutError("connect", phase="connect", request_sent=False), True, True),
    (APITimeoutError("connect", phase="connect"), True, True),
    (APIConnectionError("refused", request_sent=False), True, True),
    (APIConnectionError("reset"), False, True),
    (APITimeoutError("read", phase="read"), False, True),
    (APITimeoutError("write", phase="write"), False, True),
]


@pytest.mark.parametrize(("error", "default", "sent"), CONNECTION_CASES)
def test_connection_errors_follow_request_sent(
    error: APIConnectionError, default: bool, sent: bool
) -> None:
    """Pool timeouts never retry; unsent requests do; sent ones only when allowed."""
    assert (decide(error) is not None) is default
    assert (decide(error, RetryPolicy(retry_sent_requests=True)) is not None) is sent


@pytest.mark.parametrize(
    "error",
    [
        ResponseError("bad body", path="$.candidates"),
        ValueError("bug"),
        KeyError("bug"),
        asyncio.CancelledError(),
        KeyboardInterrupt(),
    ],
)
def test_other_exceptions_are_not_retried(error: BaseException) -> None:
    """Response errors, programming errors and cancellation are never retried."""
    assert decide(error) is None


def test_max_retries_bounds_the_attempts() -> None:
    """The last allowed retry is granted; one more attempt is not."""
    error = api_error(503, "UNAVAILABLE")
    policy = RetryPolicy(max_retries=3, max_backoff=1000.0)
    assert decide(error, policy, attempt=3) is not None
    assert decide(error, policy, attempt=4) is None


def test_max_retries_zero_disables_retrying() -> None:
    """max_retries=0 never retries, whatever the error."""
    assert decide(api_error(503, "UNAVAILABLE"), RetryPolicy(max_retries=0)) is None


# --- how long to wait -------------------------------------------------------------


def test_retry_info_beats_retry_after() -> None:
    """RetryInfo's delay wins over the Retry-After header."""
    error = api_error(
        429, "RESOURCE_EXHAUSTED", details=[retry_info(7)], headers={"retry-after": "3"}
    )
    assert decide(error) == 7.0


def test_retry_after_beats_backoff() -> None:
    """Without RetryInfo, the Retry-After header wins over the backoff."""
    assert decide(api_error(503, headers={"retry-after": "2.5"})) == 2.5


def test_retry_after_http_date_counts_from_now() -> None:
    """A Retry-After HTTP date means the seconds from the injected wall clock."""
    date = email.utils.formatdate(WALL + 42, usegmt=True)
    assert decide(api_error(503, headers={"retry-after": date})) == pytest.approx(42.0)


def test_garbage_retry_after_falls_back_to_backoff() -> None:
    """An unreadable Retry-After is ignored in favour of the backoff."""
    assert decide(api_error(503, headers={"retry-after": "soon"})) == JITTER * BACKOFF_INITIAL


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        (" 3 ", 3.0),
        (".25", 0.25),
        ("-5", 0.0),
        (email.utils.formatdate(WALL + 30, usegmt=True), 30.0),
        (email.utils.formatdate(WALL - 30, usegmt=True), 0.0),
        ("Tue, 14 Nov 2023 22:13:50 -0000", 30.0),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("1_000", None),
        ("9" * 400, None),
        ("Mon, 99 Foo 2023 99:99:99 GMT", None),
    ],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    """Retry-After reads seconds or HTTP dates, clamps negatives and rejects garbage."""
    assert parse_retry_after(value, now=WALL) == (
        None if expected is None else pytest.approx(expected)
    )


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    """The backoff cap is initial * exp_base ** (attempt - 1), at most max_backoff."""
    policy = RetryPolicy(max_retries=20, initial=1.0, exp_base=2.0, max_backoff=60.0)
    error = api_error(503, "UNAVAILABLE")
    delays = [decide(error, policy, attempt=n) for n in (1, 2, 3, 7, 20)]
    assert delays == [JITTER * cap for cap in (1.0, 2.0, 4.0, 60.0, 60.0)]


@settings(database=None, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    initial=st.floats(min_value=0.0, max_value=1e3),
    max_backoff=st.floats(min_value=0.0, max_value=1e4),
    exp_base=st.floats(min_value=1.0, max_value=10.0),
)
def test_backoff_stays_within_bounds(
    attempt: int, jitter: float, initial: float, max_backoff: float, exp_base: float
) -> None:
    """A backoff delay always lies in [0, min(max_backoff, initial * exp_base ** (n - 1))]."""
    policy = RetryPolicy(
        max_retries=10_000,
        initial=initial,
        max_backoff=max_backoff,
        exp_base=exp_base,
        deadline=None,
    )
    delay = retry_delay(
        policy, api_error(503, "UNAVAILABLE"), attempt=attempt, elapsed=0.0, random=lambda: jitter
    )
    assert delay is not None
    try:
        cap = min(max_backoff, initial * exp_base ** (attempt - 1))
    except OverflowError:
        cap = max_backoff
    assert 0.0 <= delay <= cap


def test_server_delay_past_the_deadline_gives_up() -> None:
    """When the server asks for more than the budget left, give up at once."""
    error = api_error(429, "RESOURCE_EXHAUSTED", details=[retry_info(700)])
    assert decide(error) is None
    assert decide(error, RetryPolicy(deadline=None, max_server_delay=700.0)) == 700.0


def test_backoff_past_the_deadline_gives_up() -> None:
    """A backoff that would end past the deadline gives up too."""
    error = api_error(503, "UNAVAILABLE")
    assert decide(error, RetryPolicy(deadline=10.0), elapsed=9.0) == JITTER
    assert decide(error, RetryPolicy(deadline=10.0), elapsed=9.9) is None


# --- Cooldown ---------------------------------------------------------------------


def test_cooldown_extends_and_never_shortens() -> None:
    """open_for keeps the later of the current and the new end."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    assert cooldown.remaining() == 0.0
    cooldown.open_for(30)
    cooldown.open_for(10)
    assert cooldown.remaining() == 30.0
    clock.now = 5.0
    cooldown.open_for(40)
    assert cooldown.remaining() == 40.0


async def test_cooldown_wait_follows_extensions() -> None:
    """wait() sleeps until the gate opens, including extensions made meanwhile."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    cooldown.open_for(10)

    async def extend() -> None:
        cooldown.open_for(15)

    async with anyio.create_task_group() as tg:
        tg.start_soon(extend)
        waited = await cooldown.wait()
    assert waited == clock.now == 15.0
    assert cooldown.remaining() == 0.0


async def test_cooldown_wait_respects_the_limit() -> None:
    """wait(limit=...) never sleeps longer than the limit."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    cooldown.open_for(1000)
    assert await cooldown.wait(limit=10) == 10.0
    assert clock.sleeps == [10.0]


async def test_rate_limit_with_server_delay_makes_other_calls_wait() -> None:
    """A retried 429 with RetryInfo opens the cooldown, and a second task waits it out."""
    clock = FakeClock()
    clock.gate = anyio.Event()
    cooldown = Cooldown(clock=clock)
    first, _ = failing(api_error(429, "RESOURCE_EXHAUSTED", details=[retry_info(30)]))
    second_started: list[float] = []

    async def second() -> str:
        second_started.append(clock.now)
        return "second"

    results: dict[str, RetryStats] = {}

    async def run(name: str, attempt: Callable[[], Awaitable[str]]) -> None:
        _, results[name] = await call_with_retries(
            attempt, policy=RetryPolicy(), cooldown=cooldown, clock=clock
        )

    async def release_when_both_sleep(gate: anyio.Event) -> None:
        while len(clock.sleeps) < 2:
            await anyio.lowlevel.checkpoint()
        gate.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "first", first)
        while not clock.sleeps:  # the first call is now backing off behind the cooldown
            await anyio.lowlevel.checkpoint()
        tg.start_soon(run, "second", second)
        tg.start_soon(release_when_both_sleep, clock.gate)
    assert clock.sleeps == [30.0, 30.0]
    assert second_started == [30.0]
    assert results["second"] == RetryStats(attempts=1, backoff_seconds=30.0, elapsed_seconds=30.0)
    assert results["first"] == RetryStats(attempts=2, backoff_seconds=30.0, elapsed_seconds=30.0)


class RecordingCooldown(Cooldown):
    """A cooldown that remembers what it was opened for."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.opened: list[float] = []

    def open_for(self, seconds: float) -> None:
        self.opened.append(seconds)
        super().open_for(seconds)


@pytest.mark.parametrize(
    ("error", "opened"),
    [
        (api_error(429, "RESOURCE_EXHAUSTED", details=[retry_info(30)]), [30.0]),
        (api_error(429, headers={"retry-after": "12"}), [12.0]),
        (api_error(503, "UNAVAILABLE", headers={"retry-after": "30"}), []),
        (api_error(503, "UNAVAILABLE", details=[retry_info(30)]), []),
        (api_error(429, "RESOURCE_EXHAUSTED"), []),
    ],
)
async def test_cooldown_opens_only_for_rate_limits_with_server_delay(
    error: APIStatusError, opened: list[float]
) -> None:
    """Only a 429 with a server-chosen delay opens the cooldown, for that delay."""
    clock = FakeClock()
    cooldown = RecordingCooldown(clock)
    attempt, _ = failing(error)
    await call_with_retries(attempt, policy=RetryPolicy(), cooldown=cooldown, clock=clock)
    assert cooldown.opened == opened


async def test_cooldown_wait_stops_at_the_deadline() -> None:
    """A cooldown longer than the call's budget is waited only up to the deadline."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    cooldown.open_for(1000)
    attempt, calls = failing()
    _, stats = await call_with_retries(
        attempt, policy=RetryPolicy(deadline=10.0), cooldown=cooldown, clock=clock
    )
    assert stats.backoff_seconds == 10.0
    assert calls == [1]


# --- call_with_retries ------------------------------------------------------------


async def test_first_success_returns_result_and_stats() -> None:
    """A first-try success returns the result with one attempt and no waiting."""
    attempt, _ = failing()
    result, stats = await call_with_retries(attempt, policy=RetryPolicy(), clock=FakeClock())
    assert (result, stats) == (
        "ok",
        RetryStats(attempts=1, backoff_seconds=0.0, elapsed_seconds=0.0),
    )


async def test_retries_then_succeeds_with_stats() -> None:
    """Transient failures are retried and the waits are counted in the stats."""
    clock = FakeClock()
    attempt, calls = failing(api_error(503, "UNAVAILABLE"), api_error(500))
    result, stats = await call_with_retries(attempt, policy=RetryPolicy(), clock=clock)
    assert result == "ok"
    assert calls == [1, 2, 3]
    assert clock.sleeps == [0.5, 1.0]
    assert stats == RetryStats(attempts=3, backoff_seconds=1.5, elapsed_seconds=1.5)


async def test_giving_up_reraises_with_call_info() -> None:
    """After the last retry the final error is re-raised with its CallInfo set."""
    clock = FakeClock()
    errors = [api_error(503, "UNAVAILABLE", headers={"x-request-id": f"r{n}"}) for n in range(3)]
    attempt, calls = failing(*errors)
    with pytest.raises(APIStatusError) as caught:
        await call_with_retries(attempt, policy=RetryPolicy(max_retries=2), clock=clock)
    assert caught.value is errors[-1]
    assert caught.value.call == CallInfo(
        attempts=3, backoff_seconds=1.5, elapsed_seconds=1.5, request_id="r2", http_status=503
    )
    assert calls == [1, 2, 3]


async def test_permanent_error_is_raised_at_once_with_call_info() -> None:
    """A non-retryable error is raised after one attempt, with its CallInfo."""
    error = APIConnectionError("reset")
    attempt, calls = failing(error)
    with pytest.raises(APIConnectionError) as caught:
        await call_with_retries(attempt, policy=RetryPolicy(), clock=FakeClock())
    assert caught.value.call == CallInfo(attempts=1, http_status=None, request_id=None)
    assert calls == [1]


async def test_programming_errors_propagate_unchanged() -> None:
    """Exceptions outside the library are raised at once and left untouched."""
    error = KeyError("bug")
    attempt, calls = failing(error)
    with pytest.raises(KeyError) as caught:
        await call_with_retries(attempt, policy=RetryPolicy(), clock=FakeClock())
    assert caught.value is error
    assert not hasattr(caught.value, "call")
    assert calls == [1]


async def test_deadline_gives_up_instead_of_sleeping() -> None:
    """A server delay beyond the deadline is raised at once, without sleeping."""
    clock = FakeClock()
    attempt, _ = failing(api_error(429, "RESOURCE_EXHAUSTED", details=[retry_info(700)]))
    with pytest.raises(ResourceExhaustedError):
        await call_with_retries(attempt, policy=RetryPolicy(), clock=clock)
    assert clock.sleeps == []


class RealSleepClock(FakeClock):
    """Real (tiny or cancelled) sleeps, to see cancellation go through."""

    def __init__(self, jitter: float) -> None:
        super().__init__(jitter)
        self.sleeping = anyio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sleeping.set()
        await anyio.sleep(seconds)


async def test_cancel_scope_during_backoff_propagates() -> None:
    """Cancelling a call while it waits between attempts stops it at once."""
    clock = RealSleepClock(jitter=1.0)
    attempt, calls = failing(api_error(503, "UNAVAILABLE"))
    policy = RetryPolicy(initial=30.0)
    with anyio.move_on_after(0.01) as scope:
        await call_with_retries(attempt, policy=policy, clock=clock)
    assert scope.cancelled_caught
    assert calls == [1]
    assert clock.sleeps == [30.0]


async def test_task_cancel_during_backoff_propagates() -> None:
    """asyncio task cancellation during a backoff sleep raises CancelledError."""
    clock = RealSleepClock(jitter=1.0)
    attempt, calls = failing(api_error(503, "UNAVAILABLE"))
    task = asyncio.create_task(
        call_with_retries(attempt, policy=RetryPolicy(initial=30.0), clock=clock)
    )
    await clock.sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == [1]


async def test_cancellation_inside_an_attempt_is_not_retried() -> None:
    """A CancelledError raised by the attempt propagates without a retry."""
    attempt, calls = failing(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await call_with_retries(attempt, policy=RetryPolicy(), clock=FakeClock())
    assert calls == [1]


# --- logging ----------------------------------------------------------------------


async def test_each_retry_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """A retry logs attempt n/max, status, code, delay and its source."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    attempt, _ = failing(
        api_error(503, "UNAVAILABLE"),
        api_error(429, "RESOURCE_EXHAUSTED", details=[retry_info(2)]),
        api_error(502, headers={"retry-after": "3"}),
        APITimeoutError("connect", phase="connect"),
    )
    await call_with_retries(attempt, policy=RetryPolicy(), label=LABEL, clock=FakeClock())
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        f"Retrying {LABEL} (attempt 2/5) after 503 UNAVAILABLE; waiting 0.50 s (backoff)",
        f"Retrying {LABEL} (attempt 3/5) after 429 RESOURCE_EXHAUSTED; waiting 2.00 s (retry-info)",
        f"Retrying {LABEL} (attempt 4/5) after 502 UnavailableError; waiting 3.00 s (retry-after)",
        f"Retrying {LABEL} (attempt 5/5) after APITimeoutError (connect); waiting 4.00 s (backoff)",
    ]


async def test_logs_carry_no_headers_or_bodies(caplog: pytest.LogCaptureFixture) -> None:
    """Neither header values nor error-body messages reach the log."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    headers = {"x-goog-api-key": SECRET, "retry-after": "1", "x-request-id": "rid"}
    attempt, _ = failing(*[api_error(503, "UNAVAILABLE", headers=headers)] * 3)
    with pytest.raises(APIStatusError):
        await call_with_retries(attempt, policy=RetryPolicy(max_retries=2), clock=FakeClock())
    assert caplog.records
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert all("body-message" not in r.getMessage() for r in caplog.records)


async def test_giving_up_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Giving up logs one DEBUG line naming the error and the reason."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    attempt, _ = failing(api_error(400, "INVALID_ARGUMENT"))
    with pytest.raises(APIStatusError):
        await call_with_retries(attempt, policy=RetryPolicy(), label=LABEL, clock=FakeClock())
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == (
        f"Giving up on {LABEL} after 1 attempt(s): 400 INVALID_ARGUMENT; not retryable"
    )


# --- instant retries --------------------------------------------------------------


async def test_instant_retries_skip_sleeping_but_count_waits() -> None:
    """Under instant_retries() the waits are recorded but never slept."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    attempt, calls = failing(
        api_error(429, "RESOURCE_EXHAUSTED", details=[retry_info(20)]), api_error(503)
    )
    with instant_retries():
        _, stats = await call_with_retries(
            attempt, policy=RetryPolicy(), cooldown=cooldown, clock=clock
        )
    assert clock.sleeps == []
    assert calls == [1, 2, 3]
    assert stats.backoff_seconds == 21.0
    assert cooldown.remaining() == 0.0


async def test_instant_retries_still_honour_the_deadline() -> None:
    """Instant retries count their virtual waits against the deadline."""
    attempt, calls = failing(*[api_error(503, headers={"retry-after": "6"})] * 3)
    with instant_retries(), pytest.raises(APIStatusError) as caught:
        await call_with_retries(attempt, policy=RetryPolicy(deadline=10.0), clock=FakeClock())
    assert calls == [1, 2]
    assert caught.value.call is not None
    assert caught.value.call.backoff_seconds == 6.0


def test_instant_retries_switch_and_context_restore_state() -> None:
    """instant_retries(True/False) toggles the switch; used with `with` it restores it."""
    assert not instant_retries_enabled()
    instant_retries(True)
    try:
        with instant_retries():
            assert instant_retries_enabled()
        assert instant_retries_enabled()
        with instant_retries(False):
            assert not instant_retries_enabled()
        assert instant_retries_enabled()
    finally:
        instant_retries(False)
    with instant_retries():
        assert instant_retries_enabled()
    assert not instant_retries_enabled()


async def test_observe_retries_reports_each_retry_with_its_delay() -> None:
    """An observer sees one RetryEvent per retry, with the server's delay and its source."""
    errors = [
        api_error_from_http(503, {}, b""),
        api_error_from_http(
            429,
            {},
            b'{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow", '
            b'"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", '
            b'"retryDelay": "2s"}]}}',
        ),
    ]

    async def attempt() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    events: list[RetryEvent] = []
    with instant_retries(), observe_retries(events.append):
        result, _ = await call_with_retries(attempt, policy=RetryPolicy(), label="op")
    assert result == "ok"
    assert [(e.attempt, e.source) for e in events] == [(1, "backoff"), (2, "retry-info")]
    assert events[1].delay == 2.0
    assert isinstance(events[1].error, ResourceExhaustedError)


async def test_observe_retries_is_scoped_to_the_with_block() -> None:
    """Retries outside the block are not reported."""
    events: list[RetryEvent] = []
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls in (1, 3):
            raise api_error_from_http(503, {}, b"")
        return "ok"

    with instant_retries():
        with observe_retries(events.append):
            await call_with_retries(attempt, policy=RetryPolicy())
        await call_with_retries(attempt, policy=RetryPolicy())
    assert len(events) == 1
    assert calls == 4
