"""Fault injection: a script of faults consumed one per request, and a token-bucket limiter."""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ._errors import PER_MINUTE_QUOTA_ID

FAULT_KINDS = (
    "status",
    "html",
    "wrapped",
    "disconnect",
    "truncated_json",
    "bad_base64",
    "delay",
    "wrong_size",
    "text_only",
)
"""Every kind of scripted fault."""


@dataclasses.dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, answered to one request; build it with the class methods.

    Faults that answer instead of the server (``status``, ``html``, ``wrapped``) come before
    authentication, as a proxy's would. Faults that damage a success (``disconnect``,
    ``truncated_json``, ``bad_base64``) are still consumed when the request fails on its own.

    Attributes:
        kind: One of ``FAULT_KINDS``.
        code: HTTP status sent (``status``, ``html``, ``wrapped``).
        message: ``error.message``; ``None`` uses Google's wording for the status.
        retry_delay: Seconds sent as ``RetryInfo.retryDelay`` and ``Retry-After``.
        quota_id: ``quotaId`` of the ``QuotaFailure`` detail of a 429.
        details: ``error.details`` sent verbatim instead of the ones derived above.
        seconds: How long a ``delay`` fault stalls before answering normally.
        width: Pixel width of a ``wrong_size`` image.
        height: Pixel height of a ``wrong_size`` image.
    """

    kind: str
    code: int = 200
    message: str | None = None
    retry_delay: float | None = None
    quota_id: str | None = None
    details: tuple[dict[str, Any], ...] | None = None
    seconds: float = 0.0
    width: int = 0
    height: int = 0

    @classmethod
    def status(
        cls,
        code: int,
        message: str | None = None,
        *,
        retry_delay: float | None = None,
        quota_id: str | None = None,
        details: Iterable[dict[str, Any]] | None = None,
    ) -> Fault:
        """Answer with HTTP ``code`` and a Google error body.

        A 429 carries a ``QuotaFailure`` for ``quota_id`` (default: the per-minute quota);
        ``retry_delay`` adds ``RetryInfo`` and a ``Retry-After`` header (whole seconds, rounded
        up). ``details`` replaces the derived ``error.details``.
        """
        if code == 429 and quota_id is None:
            quota_id = PER_MINUTE_QUOTA_ID
        frozen = tuple(details) if details is not None else None
        return cls("status", code, message, retry_delay, quota_id, frozen)

    @classmethod
    def html(cls, code: int = 502) -> Fault:
        """Answer with an HTML error page, as a proxy in front of the API would."""
        return cls("html", code)

    @classmethod
    def wrapped(cls, code: int, message: str | None = None) -> Fault:
        """Answer with the error body wrapped in a JSON array: ``[{"error": {...}}]``."""
        return cls("wrapped", code, message)

    @classmethod
    def disconnect(cls) -> Fault:
        """Start a 200 with a ``Content-Length``, send part of the body and drop the connection.

        Faithful under a real server (``EmulatorServer``); in-process through
        ``httpx.ASGITransport`` the app raises ``ConnectionDropped`` instead.
        """
        return cls("disconnect")

    @classmethod
    def truncated_json(cls) -> Fault:
        """Answer 200 with a complete HTTP body holding the first half of the JSON."""
        return cls("truncated_json")

    @classmethod
    def bad_base64(cls) -> Fault:
        """Answer 200 with a well-formed response whose image data is not base64."""
        return cls("bad_base64")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Stall ``seconds`` before answering normally (a slow response)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def wrong_size(cls, width: int = 1024, height: int = 1024) -> Fault:
        """Answer normally but with a ``width`` x ``height`` image, whatever was asked.

        As models that ignore ``aspectRatio`` / ``imageSize`` do.
        """
        return cls("wrong_size", width=width, height=height)

    @classmethod
    def text_only(cls) -> Fault:
        """Answer an image request with text only: ``finishReason: NO_IMAGE``, no image part."""
        return cls("text_only")


class FaultScript:
    """A thread-safe queue of faults; each request to the endpoint takes the next one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: collections.deque[Fault] = collections.deque()

    def extend(self, faults: Iterable[Fault]) -> None:
        """Append faults to the end of the script."""
        with self._lock:
            self._queue.extend(faults)

    def pop(self) -> Fault | None:
        """Take the next fault, or ``None`` when the script is exhausted."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def pending(self) -> list[Fault]:
        """Return the faults not yet consumed, in order."""
        with self._lock:
            return list(self._queue)

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


class TokenBucket:
    """A thread-safe token bucket refilled at ``rpm / 60`` tokens per second.

    Args:
        clock: Monotonic seconds; inject a fake one in tests.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: float | None = None
        self._stamp = 0.0

    def acquire(self, rpm: float, burst: int | None) -> float | None:
        """Take a token; return ``None`` on success or the seconds until one is available.

        ``burst`` (the capacity) defaults to ``max(1, floor(rpm))``; a new bucket starts full.
        """
        capacity = float(burst if burst is not None else max(1, math.floor(rpm)))
        rate = rpm / 60.0
        with self._lock:
            now = self._clock()
            tokens = capacity if self._tokens is None else self._tokens
            tokens = min(capacity, tokens + (now - self._stamp) * rate)
            self._stamp = now
            if tokens >= 1.0:
                self._tokens = tokens - 1.0
                return None
            self._tokens = tokens
            return (1.0 - tokens) / rate if rate > 0 else math.inf

    def reset(self) -> None:
        """Refill the bucket."""
        with self._lock:
            self._tokens = None
