"""default_headers and extra_body: what a caller adds to requests, checked up front."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

import pytest
import respx
from client_helpers import BASE_URL, KEY, MODEL, PATH, PNG, ok, read_request, sent_json

from routerhub_images import AsyncImageClient, ImageClient, InvalidInputError

ATTRIBUTION = {"X-Title": "Otter Studio", "HTTP-Referer": "https://otters.example"}


async def test_default_headers_go_with_every_request(mock: respx.MockRouter) -> None:
    """Each request carries the extra headers beside the key and the JSON content type."""
    route = mock.post(PATH).mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL, default_headers=ATTRIBUTION) as client:
        await client.generate_content(MODEL, "a red fox")
        await client.generate_image("a blue fox")
    assert route.call_count == 2
    for call in route.calls:
        headers = call.request.headers
        assert headers["x-title"] == "Otter Studio"
        assert headers["http-referer"] == "https://otters.example"
        assert headers["authorization"] == f"Bearer {KEY}"
        assert headers["content-type"] == "application/json"


def test_the_sync_client_sends_them_too(mock: respx.MockRouter) -> None:
    """ImageClient hands default_headers to the client on its loop."""
    route = mock.post(PATH).mock(return_value=ok())
    with ImageClient(KEY, base_url=BASE_URL, default_headers={"X-Title": "notebook"}) as client:
        client.generate_content(MODEL, "a red fox")
    assert route.calls.last.request.headers["x-title"] == "notebook"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": "Bearer other"}, "sets 'Authorization' itself"),
        ({"x-goog-api-key": "rh_other"}, "sets 'x-goog-api-key' itself"),
        ({"Content-Type": "text/plain"}, "sets 'Content-Type' itself"),
        ({"content-length": "3"}, "sets 'content-length' itself"),
        ({"Host": "elsewhere.example"}, "sets 'Host' itself"),
        ({"X Title": "spaces"}, "not a valid header name"),
        ({"": "empty"}, "not a valid header name"),
        ({5: "number"}, "not a valid header name"),
        ({"X-Title": "two\r\nX-Evil: lines"}, "printable ASCII"),
        ({"X-Title": "café"}, "printable ASCII"),
        ({"X-Title": 5}, "printable ASCII"),
        ("X-Title: Otter", "must be a mapping"),
        ([("X-Title", "Otter")], "must be a mapping"),
    ],
)
@pytest.mark.parametrize("cls", [AsyncImageClient, ImageClient])
def test_bad_default_headers_are_refused_at_construction(
    mock: respx.MockRouter,
    cls: type[AsyncImageClient] | type[ImageClient],
    headers: Any,
    message: str,
) -> None:
    """A header httpx would choke on, or one that would replace the key: refused, named."""
    route = mock.post(PATH).mock(return_value=ok())
    with pytest.raises(InvalidInputError, match=message):
        cls(KEY, base_url=BASE_URL, default_headers=headers)
    assert route.call_count == 0


@pytest.mark.integration
@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
async def test_both_transports_send_them_over_real_http(choice: str) -> None:
    """On the wire to a loopback server, over httpx's pool and over aiohttp alike."""
    if choice == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    heads: list[bytes] = []
    body = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]}}]}'

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        heads.append(head.lower())
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with (
        server,
        AsyncImageClient(
            KEY,
            base_url=base_url,
            transport=choice,  # type: ignore[arg-type]
            default_headers=ATTRIBUTION,
            max_retries=0,
        ) as client,
    ):
        assert (await client.generate_content(MODEL, "a fox")).text == "ok"
    (head,) = heads
    assert b"\r\nx-title: otter studio\r\n" in head
    assert b"\r\nhttp-referer: https://otters.example\r\n" in head
    assert f"\r\nauthorization: bearer {KEY}\r\n".lower().encode() in head


# --- extra_body: request fields this version does not model ------------------------------


async def test_extra_body_fields_are_sent_as_given(mock: respx.MockRouter) -> None:
    """Top-level fields the library does not model reach the wire beside the modeled ones."""
    route = mock.post(PATH).mock(return_value=ok())
    tool_config = {"functionCallingConfig": {"mode": "NONE"}}
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        await client.generate_content(MODEL, "a red fox", extra_body={"toolConfig": tool_config})
    body = sent_json(route.calls.last.request)
    assert body["toolConfig"] == tool_config
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a red fox"}]}]


def test_the_sync_client_sends_extra_body_too(mock: respx.MockRouter) -> None:
    """ImageClient.generate_content forwards extra_body unchanged."""
    route = mock.post(PATH).mock(return_value=ok())
    with ImageClient(KEY, base_url=BASE_URL) as client:
        client.generate_content(MODEL, "a red fox", extra_body={"labels": {"team": "otters"}})
    assert sent_json(route.calls.last.request)["labels"] == {"team": "otters"}


@pytest.mark.parametrize(
    ("extra_body", "message"),
    [
        ({"contents": []}, "'contents' has an argument of its own"),
        ({"generationConfig": {}}, "'generationConfig' has an argument of its own"),
        ({"toolConfig": math.nan}, "toolConfig: expected a finite number, got nan"),
        ({"labels": {"k": b"v"}}, "labels: expected a JSON value, got bytes"),
        ({1: "x"}, "keys must be str"),
        ([("toolConfig", {})], "must be a mapping"),
    ],
)
async def test_bad_extra_body_is_refused_before_sending(
    mock: respx.MockRouter, extra_body: Any, message: str
) -> None:
    """A modeled field, or a value JSON cannot carry: InvalidInputError, nothing sent."""
    route = mock.post(PATH).mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        with pytest.raises(InvalidInputError, match=re.escape(message)):
            await client.generate_content(MODEL, "a red fox", extra_body=extra_body)
    assert route.call_count == 0


async def test_generate_image_and_edit_image_take_extra_body(mock: respx.MockRouter) -> None:
    """The image calls forward extra_body too, beside their own generation config."""
    route = mock.post(PATH).mock(return_value=ok())
    grounding = {"tools": [{"googleSearch": {}}]}
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        await client.generate_image("today's weather as a poster", extra_body=grounding)
        await client.edit_image(PNG, "make it night", aspect_ratio="1:1", extra_body=grounding)
    generated, edited = (sent_json(call.request) for call in route.calls)
    assert generated["tools"] == edited["tools"] == [{"googleSearch": {}}]
    assert generated["contents"][0]["parts"] == [{"text": "today's weather as a poster"}]
    assert edited["generationConfig"] == {"imageConfig": {"aspectRatio": "1:1"}}
