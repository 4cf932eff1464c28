"""The key never leaves: proxies, redirects, unusable keys, echoed keys, credentials in URLs.

Every behaviour runs over real HTTP on 127.0.0.1, on both transports where it applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import pickle
from collections.abc import Awaitable, Callable

import httpx
import pytest
from click.testing import CliRunner
from client_helpers import MODEL, read_request

from routerhub_images import (
    APIStatusError,
    AsyncImageClient,
    ConfigurationError,
    MissingAPIKeyError,
    ResponseError,
    RouterHubError,
    UnexpectedRedirectError,
)
from routerhub_images._constants import LOGGER_NAME
from routerhub_images.batch import MANIFEST_NAME, BatchJob, BatchRunner
from routerhub_images.cli import ExitCode, main
from routerhub_images.emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_retry_sleeps")]

KEY = "rh_live_Hostile_0123456789abcdef"
PATH = f"/v1beta/models/{MODEL}:generateContent"
TEXT_ANSWER = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"answered"}]}}]}'
TRANSPORTS = ["httpx", "aiohttp"]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _escaped(text: str) -> str:
    """``text`` with every character JSON-escaped (``\\u0072\\u0068...``)."""
    return "".join(f"\\u{ord(char):04x}" for char in text)


def _reply(status: int, body: bytes, headers: tuple[str, ...] = ()) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", "connection: close"]
    return ("\r\n".join([*head, *headers]) + "\r\n\r\n").encode() + body


async def _server(answer: bytes, seen: list[bytes]) -> tuple[asyncio.Server, str]:
    """A loopback server that records each request's head and sends ``answer``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, _ = await read_request(reader)
        except asyncio.IncompleteReadError:
            writer.close()
            return
        seen.append(head)
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _client(base_url: str, transport: str = "httpx", **options: object) -> AsyncImageClient:
    return AsyncImageClient(KEY, base_url=base_url, transport=transport, **options)  # type: ignore[arg-type]


# --- proxies -----------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_clear_text_key_skips_the_environment_proxy(
    transport: str, clean_proxy_env: pytest.MonkeyPatch, routerhub_emulator: EmulatorServer
) -> None:
    """With HTTP_PROXY set, a call to a loopback http:// URL goes direct; the proxy sees nothing."""
    seen: list[bytes] = []
    proxy, proxy_url = await _server(_reply(200, TEXT_ANSWER), seen)
    clean_proxy_env.setenv("HTTP_PROXY", proxy_url)
    clean_proxy_env.setenv("ALL_PROXY", proxy_url)
    async with (
        proxy,
        AsyncImageClient(
            routerhub_emulator.api_key,
            base_url=routerhub_emulator.base_url,
            transport=transport,  # type: ignore[arg-type]
        ) as client,
    ):
        response = await client.generate_image("a fox")
    assert response.images
    assert seen == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_allow_insecure_http_keeps_the_environment_proxy(
    transport: str, clean_proxy_env: pytest.MonkeyPatch, routerhub_emulator: EmulatorServer
) -> None:
    """With allow_insecure_http=True, HTTP_PROXY carries a loopback http:// call as before."""
    seen: list[bytes] = []
    proxy, proxy_url = await _server(_reply(200, TEXT_ANSWER), seen)
    clean_proxy_env.setenv("HTTP_PROXY", proxy_url)
    async with (
        proxy,
        _client(routerhub_emulator.base_url, transport, allow_insecure_http=True) as client,
    ):
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "answered"
    assert [head.split(b" ")[1] for head in seen] == [(routerhub_emulator.base_url + PATH).encode()]


# --- redirects ---------------------------------------------------------------------


async def _redirecting_pair(
    origin_seen: list[bytes], target_seen: list[bytes]
) -> tuple[asyncio.Server, asyncio.Server, str, str]:
    target, target_url = await _server(_reply(200, TEXT_ANSWER), target_seen)
    location = f"{target_url}{PATH}?token=s3cret#frag"
    answer = _reply(307, b"", (f"location: {location}",))
    origin, origin_url = await _server(answer, origin_seen)
    return origin, target, origin_url, target_url


async def test_an_injected_client_that_follows_redirects_does_not_follow_ours() -> None:
    """A 307 to another host is an UnexpectedRedirectError; that host receives nothing."""
    origin_seen: list[bytes] = []
    target_seen: list[bytes] = []
    origin, target, origin_url, target_url = await _redirecting_pair(origin_seen, target_seen)
    async with (
        origin,
        target,
        httpx.AsyncClient(follow_redirects=True) as http_client,
        _client(origin_url, auth="x-goog-api-key", http_client=http_client) as client,
    ):
        with pytest.raises(UnexpectedRedirectError) as info:
            await client.generate_content(MODEL, "a fox")
    assert target_seen == []
    assert len(origin_seen) == 1  # not retried
    assert info.value.code == 307
    assert info.value.location == target_url + PATH
    assert pickle.loads(pickle.dumps(info.value)).location == target_url + PATH
    assert f"to {target_url}{PATH};" in str(info.value)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_redirect_is_never_followed(transport: str) -> None:
    """Either transport stops at a 307 with a typed error, tried once; the target sees nothing."""
    origin_seen: list[bytes] = []
    target_seen: list[bytes] = []
    origin, target, origin_url, _ = await _redirecting_pair(origin_seen, target_seen)
    async with origin, target, _client(origin_url, transport, auth="x-goog-api-key") as client:
        with pytest.raises(UnexpectedRedirectError) as info:
            await client.generate_content(MODEL, "a fox")
    assert (len(origin_seen), target_seen) == (1, [])
    assert info.value.call is not None
    assert info.value.call.attempts == 1


# --- keys that cannot go into a header ---------------------------------------------

SMART_QUOTED = "\u201crh_live_Pasted_0123456789\u201d"


def test_a_non_ascii_key_is_refused_at_construction() -> None:
    """A key with a smart quote is a MissingAPIKeyError that does not echo the key."""
    with pytest.raises(MissingAPIKeyError, match="non-ASCII") as info:
        AsyncImageClient(SMART_QUOTED, base_url="http://127.0.0.1:9")
    assert "Pasted" not in str(info.value)
    assert "Pasted" not in repr(info.value)


def test_the_cli_refuses_a_non_ascii_key_as_a_configuration_error() -> None:
    """The CLI exits with its input/configuration code, without printing the key."""
    env = {"ROUTERHUB_API_KEY": SMART_QUOTED, "ROUTERHUB_BASE_URL": "http://127.0.0.1:9"}
    result = CliRunner().invoke(main, ["generate", "a fox", "-o", "fox.png"], env=env)
    assert result.exit_code == ExitCode.INPUT, result.output
    assert "non-ASCII" in result.output
    assert "Pasted" not in result.output


# --- a server that echoes the key --------------------------------------------------


def _echoing_answer(status: int = 401) -> bytes:
    """A Google error whose message, details and headers carry the key, escaped or not."""
    error = {
        "code": status,
        "status": "UNAUTHENTICATED" if status == 401 else "UNAVAILABLE",
        "message": "bad key KEY_PLACEHOLDER",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "metadata": {"key": "KEY_PLACEHOLDER", "KEY_PLACEHOLDER": "as a name"},
            }
        ],
    }
    body = json.dumps({"error": error}).replace("KEY_PLACEHOLDER", _escaped(KEY)).encode()
    headers = (f"x-echo-key: {KEY}", "x-request-id: req-1", f"x-echo-bearer: Bearer {KEY}")
    return _reply(status, body, headers)


def _assert_no_key(*texts: object) -> None:
    for text in texts:
        shown = text if isinstance(text, str | bytes) else repr(text)
        needle = KEY.encode() if isinstance(shown, bytes) else KEY
        assert needle not in shown
        assert (_escaped(KEY).encode() if isinstance(shown, bytes) else _escaped(KEY)) not in shown


async def _echoed_error(transport: str, answer: bytes, **options: object) -> RouterHubError:
    seen: list[bytes] = []
    server, url = await _server(answer, seen)
    async with server, _client(url, transport, **options) as client:
        with pytest.raises(RouterHubError) as info:
            await client.generate_content(MODEL, "a fox")
    assert seen
    return info.value


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_echoed_key_is_redacted_from_the_error(transport: str) -> None:
    """A key echoed JSON-escaped in message and details, and in headers, is in no view of it."""
    error = await _echoed_error(transport, _echoing_answer())
    assert isinstance(error, APIStatusError)
    assert error.message == "bad key <redacted>"
    assert error.details.error_info is not None
    assert error.details.error_info.metadata == {"key": "<redacted>", "<redacted>": "as a name"}
    assert error.headers["x-echo-key"] == "<redacted>"
    assert error.request_id == "req-1"
    _assert_no_key(str(error), repr(error), error.details, error.headers)
    _assert_no_key(pickle.dumps(error), pickle.loads(pickle.dumps(error)).details)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_response_kept_on_the_error_holds_no_key(transport: str) -> None:
    """error.response has the key taken out of its headers and body."""
    error = await _echoed_error(transport, _echoing_answer())
    assert isinstance(error, APIStatusError)
    assert error.response is not None
    assert error.response.headers["x-echo-key"] == "<redacted>"
    _assert_no_key(error.response.content, error.response.headers, error.response.text)
    assert error.response.json()["error"]["message"] == "bad key <redacted>"


async def test_an_echoed_key_in_a_body_that_is_not_json_is_redacted() -> None:
    """The excerpt of an HTML page echoing the key (escaped or percent-encoded) omits it."""
    percent = "".join(f"%{ord(char):02X}" for char in KEY)
    page = f"<html>rejected {_escaped(KEY)} and {percent} and {KEY}</html>".encode()
    error = await _echoed_error("httpx", _reply(403, page), max_retries=0)
    assert str(error) == (
        "403 PERMISSION_DENIED: <html>rejected <redacted> and <redacted> and <redacted></html>"
    )


async def test_a_key_cut_by_the_excerpt_window_does_not_show_in_part() -> None:
    """A long page whose excerpt window ends inside the echoed key shows no piece of it."""
    page = ("x" * 790 + KEY + "y" * 1000).encode()
    error = await _echoed_error("httpx", _reply(403, page), max_retries=0)
    assert KEY[:6] not in str(error)


async def test_an_echoed_key_in_a_2xx_that_does_not_parse_is_redacted() -> None:
    """A ResponseError from a 2xx body holding the key names the path, not the key."""
    body = json.dumps({"candidates": [{"index": KEY}]}).encode()
    error = await _echoed_error("httpx", _reply(200, body))
    assert isinstance(error, ResponseError)
    assert error.__cause__ is None
    _assert_no_key(str(error), repr(error), pickle.dumps(error))


async def test_retry_logs_hold_no_echoed_key(caplog: pytest.LogCaptureFixture) -> None:
    """The DEBUG log of a retried call that echoes the key never shows it."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    error = await _echoed_error("httpx", _echoing_answer(503), max_retries=1)
    assert isinstance(error, APIStatusError)
    assert error.call is not None
    assert error.call.attempts == 2
    assert caplog.records
    _assert_no_key(caplog.text)


async def test_the_batch_manifest_holds_no_echoed_key(tmp_path: pathlib.Path) -> None:
    """A batch job failing on a server that echoes the key writes no trace of it to disk."""
    seen: list[bytes] = []
    server, url = await _server(_echoing_answer(), seen)
    async with server, _client(url) as client:
        summary = await BatchRunner(client, tmp_path, concurrency=1).run(
            [BatchJob.create("a fox", id="fox")]
        )
    assert summary.failed == 1
    assert "<redacted>" in (tmp_path / MANIFEST_NAME).read_text()
    _assert_no_key(_every_file(tmp_path))


def _every_file(folder: pathlib.Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


# --- credentials in base_url -------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://user:pw-s3cret@127.0.0.1:8080",
        "https://user:pw-s3cret@api.routerhub.ai/",
        "https://pw-s3cret@api.routerhub.ai",
        "ftp://user:pw-s3cret@api.routerhub.ai",
        "https://user:pw-s3cret@api.routerhub.ai:notaport",
        "https://user:pw/s3cret@api.routerhub.ai",
        "user:pw-s3cret@api.routerhub.ai",
    ],
)
def test_credentials_in_base_url_are_refused_without_echo(base_url: str) -> None:
    """A base_url with userinfo is a ConfigurationError that does not quote the password."""
    with pytest.raises(ConfigurationError) as info:
        AsyncImageClient(KEY, base_url=base_url)
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in repr(info.value)


def test_credentials_in_the_base_url_variable_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROUTERHUB_BASE_URL with a password is refused the same way, naming the host."""
    monkeypatch.setenv("ROUTERHUB_BASE_URL", "http://user:pw-s3cret@127.0.0.1:8080")
    with pytest.raises(ConfigurationError, match="credentials") as info:
        AsyncImageClient(KEY)
    assert "127.0.0.1:8080" in str(info.value)
    assert "s3cret" not in str(info.value)
