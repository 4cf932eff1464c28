"""Batch rate control: the adaptive pacing rate, on a fake clock."""

from __future__ import annotations

import pytest

from routerhub_images.batch import SLOW_START_RPM, AdaptiveRate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_rate(clock: FakeClock, rpm: float | None = None, **options: float) -> AdaptiveRate:
    return AdaptiveRate(rpm, clock=clock, sleep=clock.sleep, **options)


async def send(rate: AdaptiveRate, clock: FakeClock, count: int) -> list[float]:
    """Take ``count`` slots; return the times they were released at."""
    return [await rate.acquire() for _ in range(count)]


async def test_a_fixed_rpm_spaces_calls_evenly() -> None:
    """120 rpm releases calls 0.5 s apart, without a burst at the start."""
    clock = FakeClock()
    rate = make_rate(clock, 120)
    times = await send(rate, clock, 4)
    assert [t - times[0] for t in times] == [0.0, 0.5, 1.0, 1.5]


async def test_idle_time_is_not_banked() -> None:
    """After an idle spell the next call goes at once, but only one."""
    clock = FakeClock()
    rate = make_rate(clock, 60)
    await rate.acquire()
    clock.now += 10
    times = await send(rate, clock, 2)
    assert times[1] - times[0] == 1.0


async def test_slow_start_begins_at_the_initial_rate() -> None:
    """With no known limit the first calls go `SLOW_START_RPM` apart."""
    clock = FakeClock()
    rate = make_rate(clock)
    assert rate.slow_start
    times = await send(rate, clock, 3)
    assert times[2] - times[0] == pytest.approx(2 * 60.0 / SLOW_START_RPM)


async def test_each_answer_in_slow_start_adds_one_per_latency() -> None:
    """A call answered in 0.5 s adds 2 requests per second (doubling per round trip)."""
    clock = FakeClock()
    rate = make_rate(clock, initial_rpm=60)
    rate.answered(0.5)
    assert rate.rpm == pytest.approx(180)
    rate.answered(0.5)
    assert rate.rpm == pytest.approx(300)


async def test_an_answer_speeds_up_a_waiting_call() -> None:
    """A caller waiting during slow start is released soon after the rate went up."""
    clock = FakeClock()
    rate = make_rate(clock, initial_rpm=6)  # 10 s apart
    first = await rate.acquire()
    rate.answered(0.01)
    second = await rate.acquire()
    assert second - first <= 0.1


async def test_a_429_cuts_to_the_admitted_rate() -> None:
    """A 429 sets the rate to backoff x (sends - 429s) per second over the window."""
    clock = FakeClock()
    rate = make_rate(clock, 600, window=10, backoff=0.5, increase=0)  # 10 per second
    early = await rate.acquire()
    await send(rate, clock, 40)  # 4 s at 10 per second
    assert rate.rate_limited(early) is True  # all but one admitted: 0.5 x 10/s
    assert rate.rpm == pytest.approx(300)
    for _ in range(30):  # answers to calls sent before the cut: counted, no cut
        assert rate.rate_limited(early) is False
    late = await rate.acquire()
    assert rate.rate_limited(late) is True
    # 42 sends less 32 refusals over the 4.2 s since the first send.
    assert rate.rpm == pytest.approx(0.5 * 10 / 4.2 * 60)


async def test_a_429_never_raises_the_rate() -> None:
    """When everything was admitted, a 429 still cuts below the current rate."""
    clock = FakeClock()
    rate = make_rate(clock, 120, backoff=0.9)
    await send(rate, clock, 10)
    assert rate.rate_limited(clock.now) is True
    assert rate.rpm == pytest.approx(108)
    assert not rate.slow_start


async def test_one_cut_per_round() -> None:
    """A 429 for a call started before the last cut does not cut again."""
    clock = FakeClock()
    rate = make_rate(clock, 120, backoff=0.5, increase=0)
    early = await rate.acquire()
    await send(rate, clock, 9)
    assert rate.rate_limited(early) is True
    assert rate.rate_limited(early) is False
    assert rate.rpm == pytest.approx(60)
    later = await rate.acquire()
    assert rate.rate_limited(later) is True
    assert rate.rpm <= 30


async def test_the_call_after_a_cut_waits_one_new_interval() -> None:
    """After a cut the next call goes one interval of the new rate later."""
    clock = FakeClock()
    rate = make_rate(clock, 120, backoff=0.5, increase=0)
    *_, last = await send(rate, clock, 10)
    clock.now += 0.25
    rate.rate_limited(last)
    cut_at = clock.now
    assert rate.rpm < 60
    assert await rate.acquire() == pytest.approx(cut_at + 60.0 / rate.rpm)


async def test_the_rate_grows_back_additively() -> None:
    """After a cut the rate grows by ``increase`` per window, and at most doubles."""
    clock = FakeClock()
    rate = make_rate(clock, None, backoff=1.0, increase=0.1, window=30)
    rate.rate_limited(clock.now)  # no sends yet: keeps the slow-start rate
    assert rate.rpm == pytest.approx(SLOW_START_RPM)
    clock.now += 30
    assert rate.rpm == pytest.approx(SLOW_START_RPM * 1.1)
    clock.now += 3000
    assert rate.rpm == pytest.approx(SLOW_START_RPM * 2)


async def test_growth_never_passes_the_maximum() -> None:
    """With ``rpm`` set, neither slow start nor the increase goes past it."""
    clock = FakeClock()
    rate = make_rate(clock, 120, increase=1.0)
    rate.rate_limited(clock.now)
    clock.now += 1000
    assert rate.rpm == 120
    rate.answered(0.001)
    assert rate.rpm == 120


async def test_a_booked_retry_takes_a_slot() -> None:
    """A retry the client will send takes the next slot, so new calls go after it."""
    clock = FakeClock()
    rate = make_rate(clock, 60)
    first = await rate.acquire()
    rate.book()
    assert await rate.acquire() == pytest.approx(first + 2.0)


async def test_a_retry_after_a_cooldown_holds_new_calls_until_it_went() -> None:
    """A retry booked at the end of a cooldown holds new calls one interval past it."""
    clock = FakeClock()
    rate = make_rate(clock, 60)
    await rate.acquire()
    rate.book(5.0)
    assert await rate.acquire() == pytest.approx(clock.now) == pytest.approx(106.0)


async def test_the_rate_never_falls_below_the_minimum() -> None:
    """Repeated 429s with nothing admitted stop at one request per minute."""
    clock = FakeClock()
    rate = make_rate(clock, 60, backoff=0.1, increase=0)
    for _ in range(5):
        started = await rate.acquire()
        rate.rate_limited(started)
    assert rate.rpm == 1.0


@pytest.mark.parametrize("rpm", [0, -1, float("inf"), float("nan")])
def test_bad_rates_are_rejected(rpm: float) -> None:
    """The rate must be a positive finite number."""
    with pytest.raises(ValueError, match="rpm"):
        AdaptiveRate(rpm)


@pytest.mark.parametrize("backoff", [0.0, 1.5])
def test_bad_backoff_is_rejected(backoff: float) -> None:
    """The backoff factor lies in (0, 1]."""
    with pytest.raises(ValueError, match="backoff"):
        AdaptiveRate(backoff=backoff)
