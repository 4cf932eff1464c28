"""Defaults in one place: hosts, environment variables, timeouts, pool limits, retries."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.routerhub.ai"
"""RouterHub's production host."""

API_VERSION = "v1beta"
"""The path segment of the Gemini-format API."""

API_KEY_ENV = "ROUTERHUB_API_KEY"
"""Environment variable read when no ``api_key`` is passed."""

BASE_URL_ENV = "ROUTERHUB_BASE_URL"
"""Environment variable read when no ``base_url`` is passed."""

LOG_ENV = "ROUTERHUB_IMAGES_LOG"
"""Set to ``debug`` or ``info`` to turn on the library's logging without code."""

LOGGER_NAME = "routerhub_images"
"""Name of the library's logger."""

DEFAULT_MODEL = "google/gemini-2.5-flash-image"
"""Model used when a call names none."""

# Image generation answers slowly: a read may take one to several minutes.
CONNECT_TIMEOUT = 10.0
"""Seconds to establish a TCP/TLS connection."""
READ_TIMEOUT = 300.0
"""Seconds to wait between bytes of the answer (generation happens before the first byte)."""
WRITE_TIMEOUT = 60.0
"""Seconds to send the request body (edits upload images)."""
POOL_TIMEOUT = 60.0
"""Seconds to wait for a free connection from the pool."""

MAX_CONNECTIONS = 256
"""Upper bound on open connections per client."""
MAX_KEEPALIVE_CONNECTIONS = 64
"""Idle connections kept for reuse."""
KEEPALIVE_EXPIRY = 30.0
"""Seconds an idle connection is kept."""

MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""Bytes of a decoded answer body the client reads at most (256 MiB).

Sized for the largest legitimate answer: a 4K PNG is up to ~50 MB, ~67 MB as base64 in
JSON, and an answer may hold a few of them.
"""

MAX_RETRIES = 4
"""Retries after the first attempt (so five attempts in all)."""
BACKOFF_INITIAL = 1.0
"""Seconds: the cap of the first backoff; it doubles each attempt (full jitter)."""
BACKOFF_MAX = 60.0
"""Seconds: the largest single backoff we choose ourselves."""
BACKOFF_EXP_BASE = 2.0
"""Growth factor of the backoff cap per attempt."""
RETRY_DEADLINE = 600.0
"""Seconds: the overall budget of one call, attempts and waits included."""
MAX_SERVER_DELAY = 300.0
"""Seconds: the longest server-told wait (RetryInfo, Retry-After) a call will sit out."""

MAX_REQUEST_BYTES = 100_000_000
"""Bytes: the largest request body the client sends (``max_request_bytes``).

The Gemini API's published limit for inline data, base64-encoded (see
docs/decisions.md). An image file is read only up to the size whose base64 fits in it.
"""

ERROR_EXCERPT_CHARS = 200
"""Characters of a non-JSON error body quoted in an exception message."""

REQUEST_ID_HEADERS = ("x-request-id", "x-goog-request-id", "request-id")
"""Response headers that may carry the server's request id, in order of preference."""


class NotGiven:
    """Type of `NOT_GIVEN`: "argument not passed", distinct from an explicit None."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
"""Sentinel for "use the client's default" (so ``timeout=None`` can mean "no timeout")."""

CHAT_FORMAT = "routerhub-images/chat"
"""The ``format`` field of a saved chat session (`AsyncChat.to_json`)."""

CHAT_FORMAT_VERSION = 1
"""The version of the saved chat format this library writes (and the newest it reads)."""

MAX_VARIATIONS = 16
"""The largest ``n`` of ``generate_image(..., n=...)``: each variation is a billed call."""

RATIO_TOLERANCE = 0.05
"""How far (relative) an image's width/height may be from the requested aspect ratio."""

SIZE_AREA_TOLERANCE = 0.3
"""How far (relative) an image's pixel area may be from its image size's nominal area."""
