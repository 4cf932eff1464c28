"""Fault injection in-process: scripted faults, latency, the rate limiter, the log."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_helpers import error_of, generate, image_bytes, prompt

from routerhub_images.emulator import (
    PER_DAY_QUOTA_ID,
    PER_MINUTE_QUOTA_ID,
    ConnectionDropped,
    EmulatorApp,
    EmulatorConfig,
    Fault,
    create_app,
)
from routerhub_images.emulator._errors import format_duration
from routerhub_images.emulator._faults import TokenBucket

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def app(clock: FakeClock, sleep: FakeSleep) -> EmulatorApp:
    return create_app(clock=clock, sleep=sleep)


def details_of(response: httpx.Response) -> dict[str, dict[str, Any]]:
    return {d["@type"]: d for d in error_of(response).get("details", [])}


STATUSES = [
    (400, "INVALID_ARGUMENT"),
    (401, "UNAUTHENTICATED"),
    (402, "RESOURCE_EXHAUSTED"),
    (403, "PERMISSION_DENIED"),
    (404, "NOT_FOUND"),
    (409, "ABORTED"),
    (429, "RESOURCE_EXHAUSTED"),
    (500, "INTERNAL"),
    (501, "UNIMPLEMENTED"),
    (503, "UNAVAILABLE"),
    (504, "DEADLINE_EXCEEDED"),
    (418, "UNKNOWN"),
]


@pytest.mark.parametrize(("code", "status"), STATUSES)
async def test_status_fault_sends_google_error(
    app: EmulatorApp, emulator_http: httpx.AsyncClient, code: int, status: str
) -> None:
    """Fault.status(code) answers that code with Google's status name and a message."""
    app.script(Fault.status(code))
    response = await generate(emulator_http)
    assert response.status_code == code
    error = error_of(response)
    assert (error["code"], error["status"]) == (code, status)
    assert error["message"]


async def test_402_says_credit_is_exhausted(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """A 402 fault explains that prepaid credit ran out."""
    app.script(Fault.status(402))
    assert "prepaid credit is exhausted" in error_of(await generate(emulator_http))["message"]


async def test_status_fault_message_is_configurable(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Fault.status takes the message to send."""
    app.script(Fault.status(503, "try later"))
    assert error_of(await generate(emulator_http))["message"] == "try later"


async def test_script_is_consumed_one_fault_per_request(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Two 503s are served in turn, then the emulator answers normally."""
    app.script(Fault.status(503), Fault.status(503))
    codes = [(await generate(emulator_http)).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert app.log.count == 3
    assert [e.fault for e in app.log.entries] == ["status", "status", None]
    assert len(app.faults) == 0


async def test_429_with_retry_delay_sends_retry_info(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """A 429 with retry_delay carries RetryInfo, a per-minute QuotaFailure and Retry-After."""
    app.script(Fault.status(429, retry_delay=1.5))
    response = await generate(emulator_http)
    assert response.headers["retry-after"] == "2"
    details = details_of(response)
    assert details[RETRY_INFO]["retryDelay"] == "1.5s"
    (violation,) = details[QUOTA_FAILURE]["violations"]
    assert violation["quotaId"] == PER_MINUTE_QUOTA_ID
    assert violation["quotaDimensions"]["model"] == "gemini-2.5-flash-image"


async def test_429_per_day_has_no_retry_delay(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """A per-day quota 429 names its quota and sends no RetryInfo or Retry-After."""
    app.script(Fault.status(429, quota_id=PER_DAY_QUOTA_ID))
    response = await generate(emulator_http)
    details = details_of(response)
    assert RETRY_INFO not in details
    assert "retry-after" not in response.headers
    assert details[QUOTA_FAILURE]["violations"][0]["quotaId"] == PER_DAY_QUOTA_ID


async def test_503_with_retry_delay_sends_retry_info(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """retry_delay works on any status."""
    app.script(Fault.status(503, retry_delay=30))
    response = await generate(emulator_http)
    assert response.headers["retry-after"] == "30"
    assert details_of(response)[RETRY_INFO]["retryDelay"] == "30s"


async def test_explicit_details_are_sent_verbatim(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Fault.status(details=...) replaces the derived details."""
    detail = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "X"}
    app.script(Fault.status(429, details=[detail]))
    assert error_of(await generate(emulator_http))["details"] == [detail]


async def test_html_fault_sends_a_proxy_page(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Fault.html() answers 502 with an HTML page, not JSON."""
    app.script(Fault.html())
    response = await generate(emulator_http)
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in response.text


async def test_wrapped_fault_sends_an_array(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Fault.wrapped(code) sends the error inside a JSON array."""
    app.script(Fault.wrapped(429))
    response = await generate(emulator_http)
    assert response.status_code == 429
    (item,) = response.json()
    assert item["error"]["status"] == "RESOURCE_EXHAUSTED"


async def test_truncated_json_fault(app: EmulatorApp, emulator_http: httpx.AsyncClient) -> None:
    """Fault.truncated_json() answers 200 with a complete body of broken JSON."""
    app.script(Fault.truncated_json())
    response = await generate(emulator_http)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_bad_base64_fault(app: EmulatorApp, emulator_http: httpx.AsyncClient) -> None:
    """Fault.bad_base64() answers valid JSON whose image data does not decode."""
    app.script(Fault.bad_base64())
    response = await generate(emulator_http)
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"(?i)base64|padding|character"):
        image_bytes(response.json())


async def test_disconnect_fault_raises_in_process(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """In-process, Fault.disconnect() surfaces as ConnectionDropped and is logged."""
    app.script(Fault.disconnect())
    with pytest.raises(ConnectionDropped):
        await generate(emulator_http)
    assert app.log.entries[0].fault == "disconnect"


async def test_delay_fault_sleeps_then_succeeds(
    app: EmulatorApp, emulator_http: httpx.AsyncClient, sleep: FakeSleep
) -> None:
    """Fault.delay(s) stalls s seconds, then answers normally."""
    app.script(Fault.delay(7.5))
    assert (await generate(emulator_http)).status_code == 200
    assert sleep.calls == [7.5]


async def test_fault_is_served_before_auth(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """A scripted fault answers even a request without a key (the proxy fails first)."""
    app.script(Fault.status(503))
    assert (await generate(emulator_http, headers={})).status_code == 503


async def test_latency_sleeps_each_request(
    app: EmulatorApp, emulator_http: httpx.AsyncClient, sleep: FakeSleep
) -> None:
    """config.latency is slept before every request."""
    app.config.latency = 0.25
    await generate(emulator_http)
    await generate(emulator_http)
    assert sleep.calls == [0.25, 0.25]


async def test_latency_jitter_is_seeded(clock: FakeClock) -> None:
    """Jitter adds up to latency_jitter seconds, reproducibly for one seed."""
    runs = []
    for _ in range(2):
        sleep = FakeSleep()
        config = EmulatorConfig(latency=1.0, latency_jitter=0.5, seed=3)
        app = create_app(config, clock=clock, sleep=sleep)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://e"
        ) as client:
            for _ in range(3):
                await generate(client)
        runs.append(sleep.calls)
    assert runs[0] == runs[1]
    assert all(1.0 <= s <= 1.5 for s in runs[0])
    assert len(set(runs[0])) == 3


async def test_rate_limit_answers_429_with_retry_after(
    app: EmulatorApp, emulator_http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Past the burst, the limiter answers 429 with RetryInfo and a rounded-up Retry-After."""
    app.config.rate_limit_rpm = 40
    app.config.rate_limit_burst = 2
    assert [(await generate(emulator_http)).status_code for _ in range(2)] == [200, 200]
    limited = await generate(emulator_http)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert details_of(limited)[RETRY_INFO]["retryDelay"] == "1.5s"
    clock.now += 1.5
    assert (await generate(emulator_http)).status_code == 200


async def test_rate_limit_counts_only_authenticated_requests(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Requests rejected with 401 spend no quota."""
    app.config.rate_limit_rpm = 1
    await generate(emulator_http, headers={})
    assert (await generate(emulator_http)).status_code == 200


def test_token_bucket_refills_over_time() -> None:
    """The bucket refills rpm/60 tokens per second up to its burst."""
    clock = FakeClock()
    bucket = TokenBucket(clock)
    assert bucket.acquire(60, 1) is None
    assert bucket.acquire(60, 1) == pytest.approx(1.0)
    clock.now += 0.25
    assert bucket.acquire(60, 1) == pytest.approx(0.75)
    clock.now += 100
    assert bucket.acquire(60, 1) is None
    assert bucket.acquire(60, 1) is not None


def test_token_bucket_burst_defaults_to_rpm() -> None:
    """Without a burst, a full minute's quota may be spent at once."""
    bucket = TokenBucket(FakeClock())
    assert all(bucket.acquire(5, None) is None for _ in range(5))
    assert bucket.acquire(5, None) == pytest.approx(12.0)


def test_token_bucket_reset_refills() -> None:
    """reset() refills the bucket."""
    bucket = TokenBucket(FakeClock())
    bucket.acquire(1, 1)
    bucket.reset()
    assert bucket.acquire(1, 1) is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(1.5, "1.5s"), (30, "30s"), (0.0004, "0.001s"), (2.25, "2.25s")]
)
def test_durations_are_formatted_like_protobuf(seconds: float, text: str) -> None:
    """retryDelay is a protobuf Duration string."""
    assert format_duration(seconds) == text


async def test_reset_clears_faults_and_log(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """reset() drops pending faults and forgets the log."""
    app.script(Fault.status(500), Fault.status(500))
    await generate(emulator_http)
    app.reset()
    assert app.log.count == 0
    assert app.faults.pending() == []
    assert (await generate(emulator_http, prompt("again"))).status_code == 200


async def test_log_records_time_and_path(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """Each log entry has the method, path, status and arrival time."""
    await emulator_http.get("/nowhere")
    (entry,) = app.log.entries
    assert (entry.method, entry.path, entry.status, entry.model) == ("GET", "/nowhere", 404, None)
    assert entry.time > 1e9
