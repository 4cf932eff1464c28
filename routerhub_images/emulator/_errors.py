"""Google-style error bodies: ``{"error": {"code", "message", "status", "details"}}``."""

from __future__ import annotations

import math
from typing import Any

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "RESOURCE_EXHAUSTED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""``google.rpc.Code`` names by HTTP status; anything else is ``UNKNOWN``."""

DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "API key not valid. Please pass a valid API key.",
    402: "Insufficient credits: your prepaid credit is exhausted. Add credits to continue.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "The operation was aborted.",
    429: (
        "You exceeded your current quota, please check your plan and billing details. "
        "For more information on this error, head to: "
        "https://ai.google.dev/gemini-api/docs/rate-limits."
    ),
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    501: "Operation is not implemented, or supported, or enabled.",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
"""Google's wording for each status, used when a fault names no message."""

PER_MINUTE_QUOTA_ID = "GenerateRequestsPerMinutePerProjectPerModel"
"""``quotaId`` of the per-minute request quota."""

PER_DAY_QUOTA_ID = "GenerateRequestsPerDayPerProjectPerModel"
"""``quotaId`` of the per-day request quota."""

_TYPE_PREFIX = "type.googleapis.com/google.rpc."


class ApiError(Exception):
    """A request the emulator answers with a Google error body.

    Args:
        code: The HTTP status.
        message: The ``error.message``.
        details: The ``error.details`` entries, if any.
        headers: Extra response headers (``Retry-After``).
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or []

    def body(self) -> dict[str, Any]:
        """Return the JSON body Google sends for this error."""
        return error_body(self.code, self.message, self.details)


def status_name(code: int) -> str:
    """Return the ``google.rpc.Code`` name Google sends with an HTTP status."""
    return STATUS_NAMES.get(code, "UNKNOWN")


def error_body(
    code: int, message: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Build ``{"error": {...}}``; ``message`` defaults to Google's wording for the status."""
    error: dict[str, Any] = {
        "code": code,
        "message": message if message is not None else DEFAULT_MESSAGES.get(code, "Error"),
        "status": status_name(code),
    }
    if details:
        error["details"] = details
    return {"error": error}


def format_duration(seconds: float) -> str:
    """Format seconds as a protobuf JSON ``Duration`` (``"1.5s"``, ``"30s"``)."""
    millis = math.ceil(seconds * 1000)
    text = f"{millis // 1000}.{millis % 1000:03d}".rstrip("0").rstrip(".")
    return f"{text}s"


def retry_after(seconds: float) -> str:
    """Format seconds as an HTTP ``Retry-After`` value (whole seconds, rounded up)."""
    return str(max(0, math.ceil(seconds)))


def retry_info(seconds: float) -> dict[str, Any]:
    """Build a ``google.rpc.RetryInfo`` detail."""
    return {"@type": _TYPE_PREFIX + "RetryInfo", "retryDelay": format_duration(seconds)}


def quota_failure(quota_id: str, model: str, limit: int | None = None) -> dict[str, Any]:
    """Build a ``google.rpc.QuotaFailure`` detail naming one violated quota."""
    violation: dict[str, Any] = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": model},
    }
    if limit is not None:
        violation["quotaValue"] = str(limit)
    return {"@type": _TYPE_PREFIX + "QuotaFailure", "violations": [violation]}


def quota_exhausted(
    model: str,
    *,
    retry_delay: float | None,
    quota_id: str = PER_MINUTE_QUOTA_ID,
    limit: int | None = None,
    message: str | None = None,
) -> ApiError:
    """Build the 429 ``RESOURCE_EXHAUSTED`` Google sends when a quota runs out."""
    details = [quota_failure(quota_id, model, limit)]
    headers = []
    if retry_delay is not None:
        details.append(retry_info(retry_delay))
        headers.append(("retry-after", retry_after(retry_delay)))
    text = message if message is not None else DEFAULT_MESSAGES[429]
    return ApiError(429, text, details=details, headers=headers)
