"""Batch rate control: AIMD concurrency and the requests-per-minute pacer, on fake clocks."""

from __future__ import annotations

import anyio
import pytest

from routerhub_images.batch import AdaptiveConcurrency, RequestPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_starts_at_the_maximum() -> None:
    """The limit starts at ``concurrency``."""
    assert AdaptiveConcurrency(8).limit == 8


def test_congestion_halves_the_limit() -> None:
    """A congestion signal halves the limit, down to the minimum."""
    clock = FakeClock()
    limiter = AdaptiveConcurrency(8, clock=clock)
    for expected in (4, 2, 1, 1):
        clock.now += 1
        started = clock.now
        clock.now += 1
        limiter.congested(started)
        assert limiter.limit == expected


def test_halves_at_most_once_per_round_trip() -> None:
    """Signals from calls started before the last decrease are ignored."""
    clock = FakeClock()
    limiter = AdaptiveConcurrency(8, clock=clock)
    started = [clock.now, clock.now + 0.1, clock.now + 0.2]
    clock.now += 1
    assert limiter.congested(started[0]) is True
    assert limiter.congested(started[1]) is False
    assert limiter.congested(started[2]) is False
    assert limiter.limit == 4
    assert limiter.congested(clock.now + 0.5) is True
    assert limiter.limit == 2


def test_successes_add_one_per_limit_up_to_the_maximum() -> None:
    """Each run of ``limit`` successes adds one, never past the maximum."""
    clock = FakeClock()
    limiter = AdaptiveConcurrency(4, clock=clock)
    limiter.congested(clock.now)
    assert limiter.limit == 2
    assert [limiter.succeeded() for _ in range(2)] == [False, True]
    assert limiter.limit == 3
    assert [limiter.succeeded() for _ in range(3)] == [False, False, True]
    assert limiter.limit == 4
    assert not any(limiter.succeeded() for _ in range(10))
    assert limiter.limit == 4


def test_congestion_restarts_the_success_count() -> None:
    """Successes before a decrease do not count towards the next increase."""
    clock = FakeClock()
    limiter = AdaptiveConcurrency(8, increase_every=3, clock=clock)
    limiter.succeeded()
    limiter.succeeded()
    limiter.congested(clock.now)
    assert limiter.succeeded() is False


def test_invalid_bounds_are_rejected() -> None:
    """Limits below one, or a minimum above the maximum, are errors."""
    with pytest.raises(ValueError, match="maximum"):
        AdaptiveConcurrency(0)
    with pytest.raises(ValueError, match="exceeds"):
        AdaptiveConcurrency(2, minimum=3)


async def test_acquire_waits_for_a_free_slot() -> None:
    """At the limit, a caller waits until a slot is released."""
    limiter = AdaptiveConcurrency(2)
    await limiter.acquire()
    await limiter.acquire()
    got_in = anyio.Event()

    async def third() -> None:
        await limiter.acquire()
        got_in.set()

    async with anyio.create_task_group() as group:
        group.start_soon(third)
        await anyio.wait_all_tasks_blocked()
        assert not got_in.is_set()
        limiter.release()
    assert got_in.is_set()
    assert limiter.in_flight == 2


async def test_acquire_waits_after_a_decrease() -> None:
    """After halving, slots above the new limit are not handed out."""
    clock = FakeClock()
    limiter = AdaptiveConcurrency(4, clock=clock)
    started = await limiter.acquire()
    await limiter.acquire()
    limiter.congested(started)
    with anyio.move_on_after(0.05) as scope:
        await limiter.acquire()
    assert scope.cancelled_caught
    assert limiter.in_flight == 2


async def test_pacer_spaces_calls_evenly() -> None:
    """120 rpm releases calls 0.5 s apart, without a burst at the start."""
    clock = FakeClock()
    pacer = RequestPacer(120, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        await pacer.acquire()
    assert clock.slept == [0.5, 0.5, 0.5]


async def test_pacer_does_not_bank_idle_time() -> None:
    """After an idle spell the next call goes at once, but only one."""
    clock = FakeClock()
    pacer = RequestPacer(60, clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    clock.now += 10
    await pacer.acquire()
    await pacer.acquire()
    assert clock.slept == [1.0]


@pytest.mark.parametrize("rpm", [0, -1, float("inf"), float("nan")])
def test_pacer_rejects_bad_rates(rpm: float) -> None:
    """The rate must be a positive finite number."""
    with pytest.raises(ValueError, match="rpm"):
        RequestPacer(rpm)
