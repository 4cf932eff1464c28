"""Shared helpers for the client tests: constants, canned answers and a fake clock.

The fake clock drives `call_with_retries` directly; a client is tested through
`instant_retries` and `observe_retries`, never by swapping its internals.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

import anyio
import anyio.lowlevel
import httpx
from hypothesis import settings

from routerhub_images.emulator._png import synthesize_png

KEY = "rh_test_Zq9xK4secret"
BASE_URL = "https://api.routerhub.ai"
MODEL = "google/gemini-2.5-flash-image"
SMALL_IMAGE_MODEL = "google/gemini-3.1-flash-image-preview"  # 512-pixel images: many quick calls
PATH = f"/v1beta/models/{MODEL}:generateContent"
URL = BASE_URL + PATH
PNG = synthesize_png(b"client-tests", 4, 4)
WALL = 1_700_000_000.0
JITTER = 0.5


def ok_body(png: bytes = PNG) -> dict[str, Any]:
    """A generateContent answer with one text part and one PNG."""
    parts = [
        {"text": "here you go"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}},
    ]
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
        "modelVersion": "gemini-2.5-flash-image",
    }


def ok(headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A 200 answer with an image."""
    return httpx.Response(200, json=ok_body(), headers=headers)


def error_body(
    code: int, status: str | None, message: str = "it failed", details: Iterable[Any] = ()
) -> dict[str, Any]:
    """Google's error envelope."""
    error: dict[str, Any] = {"code": code, "message": message, "details": list(details)}
    if status is not None:
        error["status"] = status
    return {"error": error}


def error(
    code: int,
    status: str | None = None,
    *,
    message: str = "it failed",
    details: Iterable[Any] = (),
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """A JSON error answer."""
    body = json.dumps(error_body(code, status, message, details)).encode()
    return httpx.Response(
        code, content=body, headers={"content-type": "application/json", **(headers or {})}
    )


def retry_info(delay: str) -> dict[str, Any]:
    """A ``google.rpc.RetryInfo`` detail; ``delay`` is a Duration such as ``"48.8s"``."""
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def quota_failure(quota_id: str) -> dict[str, Any]:
    """A ``google.rpc.QuotaFailure`` detail with one violation."""
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
        "quotaId": quota_id,
        "quotaDimensions": {"model": "gemini-2.5-flash-image", "location": "global"},
        "quotaValue": "10",
    }
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}


class FakeClock:
    """Virtual time for the retry loop: sleeps are recorded and advance the clock at once."""

    def __init__(self, jitter: float = JITTER) -> None:
        self.now = 0.0
        self.jitter = jitter
        self.sleeps: list[float] = []
        self.gate: anyio.Event | None = None
        """When set, sleepers block on it, so a test can act while a call waits."""

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return WALL + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.now + seconds
        await anyio.lowlevel.checkpoint()
        if self.gate is not None:
            await self.gate.wait()
        self.now = max(self.now, wake)

    def random(self) -> float:
        return self.jitter

    async def until_sleeping(self, count: int = 1) -> None:
        """Return once ``count`` sleeps have begun, i.e. the callers are waiting."""
        with anyio.fail_after(5):
            while len(self.sleeps) < count:
                await anyio.lowlevel.checkpoint()


def sent_json(request: httpx.Request) -> Any:
    """The JSON body of a request the client sent."""
    return json.loads(request.content)


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """Read one HTTP/1.1 request off a raw test server's stream: its head and its body."""
    head = await reader.readuntil(b"\r\n\r\n")  # IncompleteReadError once the client hangs up
    length = next(
        (
            int(line.partition(b":")[2])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head, await reader.readexactly(length)


def examples(full: int) -> int:
    """A property test's example count: ``full`` under the ci profile, scaled by dev's."""
    return max(5, full * settings.default.max_examples // 100)
