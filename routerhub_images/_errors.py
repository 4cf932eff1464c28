"""The library's exception tree, and building an API error from an HTTP answer.

Every exception the library raises on purpose derives from `RouterHubError`. Errors
pickle with their attributes (batch users run process pools); the live HTTP
response is the one thing dropped on the way.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from ._constants import ERROR_EXCERPT_CHARS, REQUEST_ID_HEADERS

if TYPE_CHECKING:
    import httpx

    from ._types import CallInfo
    from ._variations import Variations


def _rebuild(cls: type[RouterHubError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class RouterHubError(Exception):
    """Base of every exception this library raises on purpose."""

    call: CallInfo | None = None
    """Attempts, waits and request id of the call that failed, when it got that far."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The live response (sockets, the request with its key) stays behind: None.
        state = {k: None if k == "response" else v for k, v in self.__dict__.items()}
        return (_rebuild, (type(self), self.args, state))


class InvalidInputError(RouterHubError, ValueError):
    """An argument was rejected before any network call (bad model name, empty image, ...)."""


class InvalidModelError(InvalidInputError):
    """A model name is malformed (empty, has spaces, ``..`` segments, URL syntax, ...)."""


class InvalidImageConfigError(InvalidInputError):
    """An image size or aspect ratio is malformed or not supported by the model."""


class ImageInputError(InvalidInputError):
    """An input image was rejected: missing, empty, a directory, or not a supported format."""


class ImageTypeError(RouterHubError, TypeError):
    """Image data of the wrong Python type was passed (for example ``str`` instead of ``bytes``)."""


class JobFileError(InvalidInputError):
    """A jobs file or a job is invalid; the message names the file and line."""


class DuplicateJobError(JobFileError):
    """Two jobs have the same id (or ids whose output file names would collide)."""


class ManifestLockedError(RouterHubError):
    """Another process is running a batch into the same output directory."""


class UnknownFieldsError(ValueError):
    """Raised by the strict converter (tests only) when a payload has unknown keys."""


class ConfigurationError(RouterHubError):
    """The client was set up in a way that cannot work."""


class MissingAPIKeyError(ConfigurationError):
    """No API key was passed and the environment variable is unset."""


class InsecureTransportError(ConfigurationError):
    """The key would travel in clear text over ``http://`` to a host that is not loopback."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency (Pillow, aiohttp, ...) is needed for this call but not installed."""


class ClientClosedError(RouterHubError, RuntimeError):
    """The client was used after `aclose()` / `close()`."""


class ResponseError(RouterHubError):
    """A 2xx answer whose body is not a valid generateContent response.

    ``path`` names the JSON location at fault (``$.candidates[0].content.parts[1]``).
    """

    def __init__(self, message: str, *, path: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.http_status = http_status


class ResponseTooLargeError(ResponseError):
    """The answer's body (decoded) is larger than the client's ``max_response_bytes``.

    The connection is dropped as soon as the limit is passed; never retried. ``limit``
    is the limit in bytes.
    """

    def __init__(self, message: str, *, limit: int, http_status: int | None = None):
        super().__init__(message, http_status=http_status)
        self.limit = limit


class NoImageError(RouterHubError):
    """An answer came back without an image; ``reason`` is the finish or block reason.

    Raised only on request, by `GenerateContentResponse.require_images`.
    """

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason


class PromptBlockedError(NoImageError):
    """The prompt itself was blocked (``promptFeedback.blockReason``); HTTP was 200."""


class APIConnectionError(RouterHubError):
    """No usable HTTP answer arrived: connection refused, reset, or dropped mid-answer.

    ``request_sent`` is False only when we know the request never reached the server
    (so retrying cannot cause a second, billed generation).
    """

    def __init__(self, message: str, *, request_sent: bool = True):
        super().__init__(message)
        self.message = message
        self.request_sent = request_sent


class TLSVerificationError(APIConnectionError):
    """The server's TLS certificate could not be verified; never retried (it will not clear).

    Usually a proxy intercepting TLS, or a missing CA bundle on this machine.
    """

    def __init__(self, message: str):
        super().__init__(message, request_sent=False)


class APITimeoutError(APIConnectionError):
    """A timeout expired; ``phase``: ``connect``, ``read``, ``write``, ``pool`` or ``deadline``."""

    def __init__(self, message: str, *, phase: str, request_sent: bool = True):
        super().__init__(message, request_sent=request_sent)
        self.phase = phase


@attrs.frozen(kw_only=True)
class QuotaViolation:
    """One ``google.rpc.QuotaFailure`` violation."""

    subject: str | None = None
    description: str | None = None
    quota_metric: str | None = None
    quota_id: str | None = None
    quota_dimensions: Mapping[str, str] = attrs.field(factory=dict)
    quota_value: str | None = None

    @property
    def is_per_day(self) -> bool:
        """True when the quota is a daily one: it will not clear within minutes."""
        names = f"{self.quota_id or ''} {self.quota_metric or ''}".lower()
        return "perday" in names or "per_day" in names or "daily" in names


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """A ``google.rpc.ErrorInfo`` detail: a machine-readable reason."""

    reason: str | None = None
    domain: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class HelpLink:
    """One link of a ``google.rpc.Help`` detail."""

    description: str | None = None
    url: str | None = None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)s\s*$")


def parse_duration(value: object) -> float | None:
    """Seconds of a proto3 JSON Duration such as ``"48.8s"``; None if it is not one."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group(1)) if match else None


@attrs.frozen(kw_only=True)
class ErrorDetails:
    """The typed view of ``error.details``; ``raw`` keeps every detail as sent."""

    retry_delay: float | None = None
    """Seconds from ``google.rpc.RetryInfo.retryDelay``: the server's own wait."""
    quota_violations: tuple[QuotaViolation, ...] = ()
    error_info: ErrorInfo | None = None
    help_links: tuple[HelpLink, ...] = ()
    raw: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def parse(cls, details: object) -> ErrorDetails:
        """Read the details Google defines; anything malformed is kept in ``raw`` only."""
        items = details if isinstance(details, list | tuple) else ()
        raw = tuple(d for d in items if isinstance(d, Mapping))
        # The last detail of each type wins.
        by_type = {str(d.get("@type", "")).rsplit("/", 1)[-1]: d for d in raw}
        retry = by_type.get("google.rpc.RetryInfo", {})
        quota = by_type.get("google.rpc.QuotaFailure", {})
        help_ = by_type.get("google.rpc.Help", {})
        return cls(
            retry_delay=parse_duration(retry.get("retryDelay")),
            quota_violations=_detail(quota.get("violations"), tuple[QuotaViolation, ...]) or (),
            error_info=_detail(by_type.get("google.rpc.ErrorInfo"), ErrorInfo),
            help_links=_detail(help_.get("links"), tuple[HelpLink, ...]) or (),
            raw=raw,
        )


_T = TypeVar("_T")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _detail(detail: object, cls: type[_T]) -> _T | None:
    """``detail`` structured as ``cls`` by the wire converter; None if absent or malformed."""
    from ._wire import structure  # noqa: PLC0415 - _wire imports this module

    if detail is None:
        return None
    try:
        return structure(detail, cls)
    except ResponseError:
        return None


class APIStatusError(RouterHubError):
    """The server answered with an error (Google's ``{"error": {...}}`` or a bare HTTP error).

    Attributes: ``code`` (HTTP status), ``status`` (Google status such as
    ``INVALID_ARGUMENT``, or None when the body had none), ``message``, ``details``
    (`ErrorDetails`), ``request_id``, ``headers``, ``call`` (`CallInfo`) and
    ``response`` (the `httpx.Response`; None after unpickling).
    """

    google_status: ClassVar[str | None] = None
    """The Google status this class stands for."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        status: str | None = None,
        details: ErrorDetails | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        response: httpx.Response | None = None,
    ):
        super().__init__(f"{code} {status or self.google_status or 'HTTP error'}: {message}")
        self.message = message
        self.code = code
        self.status = status
        self.details = details or ErrorDetails()
        self.headers = dict(headers or {})
        self.request_id = request_id
        self.response = response

    @property
    def retry_delay(self) -> float | None:
        """The server's RetryInfo delay in seconds, if it sent one."""
        return self.details.retry_delay


class InvalidArgumentError(APIStatusError):
    """INVALID_ARGUMENT (400): the request is malformed; retrying cannot help."""

    google_status = "INVALID_ARGUMENT"


class FailedPreconditionError(APIStatusError):
    """FAILED_PRECONDITION (400): e.g. the service is not available in your region."""

    google_status = "FAILED_PRECONDITION"


class OutOfRangeError(APIStatusError):
    """OUT_OF_RANGE (400)."""

    google_status = "OUT_OF_RANGE"


class UnauthenticatedError(APIStatusError):
    """UNAUTHENTICATED (401): the key is missing, wrong or revoked."""

    google_status = "UNAUTHENTICATED"


class PermissionDeniedError(APIStatusError):
    """PERMISSION_DENIED (403): the key may not use this model or resource."""

    google_status = "PERMISSION_DENIED"


class NotFoundError(APIStatusError):
    """NOT_FOUND (404): unknown model or resource."""

    google_status = "NOT_FOUND"


class AbortedError(APIStatusError):
    """ABORTED (409): a concurrency conflict; safe to retry."""

    google_status = "ABORTED"


class AlreadyExistsError(APIStatusError):
    """ALREADY_EXISTS (409)."""

    google_status = "ALREADY_EXISTS"


class ResourceExhaustedError(APIStatusError):
    """RESOURCE_EXHAUSTED (429): a rate limit or quota; see ``retry_delay`` and quotas."""

    google_status = "RESOURCE_EXHAUSTED"

    @property
    def is_daily_quota(self) -> bool:
        """True when a QuotaFailure names a per-day quota (it will not clear soon)."""
        return any(v.is_per_day for v in self.details.quota_violations)


class InsufficientCreditError(APIStatusError):
    """HTTP 402 RESOURCE_EXHAUSTED: the prepaid credit is used up; never retried.

    Deliberately not a `ResourceExhaustedError`, so code that backs off on rate limits
    does not wait forever on an empty balance.
    """

    google_status = "RESOURCE_EXHAUSTED"


class OperationCancelledError(APIStatusError):
    """CANCELLED (499): the operation was cancelled, typically by the caller."""

    google_status = "CANCELLED"


class InternalServerError(APIStatusError):
    """INTERNAL (500): a server fault; retried."""

    google_status = "INTERNAL"


class NotImplementedAPIError(APIStatusError):
    """NOT_IMPLEMENTED (501): the operation is not supported."""

    google_status = "NOT_IMPLEMENTED"


class UnavailableError(APIStatusError):
    """UNAVAILABLE (503, or a 502 from a proxy): overloaded or down; retried."""

    google_status = "UNAVAILABLE"


class DeadlineExceededError(APIStatusError):
    """DEADLINE_EXCEEDED (504): the server gave up in time; retried."""

    google_status = "DEADLINE_EXCEEDED"


class UnknownAPIError(APIStatusError):
    """UNKNOWN or any status this library does not know yet."""

    google_status = "UNKNOWN"


class UnexpectedRedirectError(APIStatusError):
    """A 3xx answer: the client never follows a redirect, and never retries one.

    Following it would send the key to wherever the server points. ``location`` is
    the address it pointed to, without credentials, query or fragment (None when the
    answer named none); set ``base_url`` to the final address instead.
    """

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.location = location


_BY_STATUS: Mapping[str, type[APIStatusError]] = {
    cls.google_status: cls
    for cls in (
        InvalidArgumentError,
        FailedPreconditionError,
        OutOfRangeError,
        UnauthenticatedError,
        PermissionDeniedError,
        NotFoundError,
        AbortedError,
        AlreadyExistsError,
        ResourceExhaustedError,
        OperationCancelledError,
        InternalServerError,
        NotImplementedAPIError,
        UnavailableError,
        DeadlineExceededError,
        UnknownAPIError,
    )
    if cls.google_status
}

# Google's HTTP mapping of canonical codes, used when the body names no status.
_BY_HTTP_CODE: Mapping[int, type[APIStatusError]] = {
    400: InvalidArgumentError,
    401: UnauthenticatedError,
    402: InsufficientCreditError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: DeadlineExceededError,
    409: AbortedError,
    429: ResourceExhaustedError,
    499: OperationCancelledError,
    500: InternalServerError,
    501: NotImplementedAPIError,
    502: UnavailableError,
    503: UnavailableError,
    504: DeadlineExceededError,
}


def error_class(code: int, status: str | None) -> type[APIStatusError]:
    """The exception class for an HTTP code and an optional Google status."""
    if code == 402:
        return InsufficientCreditError
    if status is not None:
        return _BY_STATUS.get(status, UnknownAPIError)
    return _BY_HTTP_CODE.get(code, UnknownAPIError)


def one_line(text: str, limit: int = ERROR_EXCERPT_CHARS) -> str:
    """``text`` with its whitespace runs as single spaces, cut after ``limit`` characters.

    For text from outside (a body, a parser's message) that goes into an error message.
    """
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def _excerpt(body: bytes, redact: Callable[[str], str], margin: int) -> str:
    window = ERROR_EXCERPT_CHARS * 4
    text = redact(body[:window].decode("utf-8", "replace"))
    if len(body) > window and margin:
        # A secret cut by the window's end escapes the redaction: drop where it may be.
        text = text[:-margin]
    return one_line(text) or "(empty body)"


def _error_object(body: bytes) -> Mapping[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return None
    if isinstance(payload, list) and payload:  # transcoded gRPC errors come as [{...}]
        payload = payload[0]
    if isinstance(payload, Mapping):
        error = payload.get("error")
        if isinstance(error, Mapping):
            return error
    return None


REDACTED = "<redacted>"
"""What the API key is replaced with in an error's text, details and headers."""


def _char_forms(char: str) -> str:
    code = ord(char)
    literal = re.escape(char)
    # As sent, JSON-escaped (\u0072, or \/ and friends) or percent-encoded (%72).
    return rf"(?:{literal}|\\(?:u(?i:{code:04x})|{literal})|%(?i:{code:02x}))"


def redactor(secret: str) -> Callable[[str], str]:
    """A function replacing ``secret`` in a text, in clear, JSON-escaped or percent-encoded.

    For text that came from the server, which may echo the key it was sent.
    """
    pattern = re.compile("".join(_char_forms(char) for char in secret))
    return lambda text: pattern.sub(REDACTED, text)


def _redact_json(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): _redact_json(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(item, redact) for item in value]
    return value


def _no_redaction(text: str) -> str:
    return text


def _redirect_target(location: str | None, redact: Callable[[str], str]) -> str | None:
    """Where a redirect pointed, without userinfo, query or fragment (which may hold secrets)."""
    if not location:
        return None
    try:
        url = urllib.parse.urlsplit(location)
        host = url.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if url.port is not None:
            netloc += f":{url.port}"
    except ValueError:
        return "(an unreadable Location)"
    return redact(urllib.parse.urlunsplit((url.scheme, netloc, url.path, "", "")))


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The server's request id from the first known header present."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def api_error_from_http(
    code: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    response: httpx.Response | None = None,
    secret: str | None = None,
) -> APIStatusError:
    """Build the typed error for a non-2xx answer; never raises on a strange body.

    A 3xx is an `UnexpectedRedirectError`. With ``secret`` (the API key), every trace
    of it is taken out of the message, details and headers, after they are decoded.
    """
    redact = redactor(secret) if secret else _no_redaction
    headers = {name.lower(): redact(value) for name, value in headers.items()}
    if 300 <= code < 400:
        location = _redirect_target(headers.get("location"), redact)
        where = f"to {location}" if location else "without a Location"
        return UnexpectedRedirectError(
            f"the server redirected {where}; the client does not follow redirects (the key "
            "would go along): set base_url to the final address",
            location=location,
            code=code,
            headers=headers,
            request_id=request_id_from(headers),
            response=response,
        )
    error = _redact_json(_error_object(body) or {}, redact)
    status = _str_or_none(error.get("status"))
    message = _str_or_none(error.get("message"))
    if not message:
        # The longest form of the secret in a body: every character \uXXXX-escaped.
        message = _excerpt(body, redact, margin=6 * len(secret or ""))
    return error_class(code, status)(
        message,
        code=code,
        status=status,
        details=ErrorDetails.parse(error.get("details")),
        headers=headers,
        request_id=request_id_from(headers),
        response=response,
    )


def api_error_in_success(
    headers: Mapping[str, str],
    body: bytes,
    *,
    response: httpx.Response | None = None,
    secret: str | None = None,
) -> APIStatusError | None:
    """The typed error of a 2xx whose body is Google's error envelope; None for any other.

    The envelope's ``code`` stands for the HTTP status (500 when it is not an HTTP error
    code: an error sent as a success is the server's fault); its ``status`` picks the
    class, as for a non-2xx answer, so the same retry rules apply.
    """
    error = _error_object(body)
    if error is None:
        return None
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or not 400 <= code <= 599:
        code = 500
    return api_error_from_http(code, headers, body, response=response, secret=secret)


# Chat sessions (routerhub_images._chat).


class ChatBusyError(RouterHubError, RuntimeError):
    """A chat was sent to, undone or rewound while a send on it is still running.

    Sends on one chat are refused rather than queued, so its history never interleaves:
    await (or join) the running send first, or `fork` the chat for a parallel edit.
    """


class ChatFileError(InvalidInputError):
    """A saved chat session cannot be read: not JSON, another format, or a newer version."""


class VariationsFailedError(RouterHubError):
    """No variation returned an image, or one failed under ``require_all=True``.

    Attributes:
        variations: What came back, with ``failures`` saying why each failed.
    """

    def __init__(self, message: str, *, variations: Variations):
        super().__init__(message)
        self.variations = variations
