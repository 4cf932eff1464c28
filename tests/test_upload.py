"""Uploads: a request body goes out in pieces, each large image's base64 made as it is sent."""

from __future__ import annotations

import asyncio
import base64
import json
import random

import pytest
import respx
from client_helpers import BASE_URL, KEY, MODEL, error, ok, ok_body, read_request

from routerhub_images import AsyncImageClient, InvalidInputError, instant_retries
from routerhub_images._types import Blob, Content, GenerateContentRequest, Part
from routerhub_images._wire import _BASE64_SLICE, _SPLICE_MIN_BYTES, encode_request, unstructure

SLICE = _BASE64_SLICE
"""Image bytes per base64 piece."""


def _image(size: int) -> bytes:
    return random.Random(size).randbytes(size)  # noqa: S311 - test data, not a secret


def _parts(sizes: list[int], text: str = "make them one") -> list[Part]:
    images = [Part(inline_data=Blob(mime_type="image/png", data=_image(n))) for n in sizes]
    return [*images, Part(text=text)]


def _request(sizes: list[int], text: str = "make them one") -> GenerateContentRequest:
    return GenerateContentRequest(contents=[Content(parts=_parts(sizes, text))])


def _reference(request: GenerateContentRequest) -> bytes:
    """The whole body as the stdlib encoder writes it, base64 and all, in one piece."""
    return json.dumps(unstructure(request), separators=(",", ":"), ensure_ascii=False).encode()


def _images_in(body: bytes) -> list[bytes]:
    parts = json.loads(body)["contents"][0]["parts"]
    return [base64.b64decode(part["inlineData"]["data"]) for part in parts if "inlineData" in part]


@pytest.mark.parametrize(
    "sizes",
    [
        [_SPLICE_MIN_BYTES - 1],
        [_SPLICE_MIN_BYTES],
        [SLICE - 1],
        [SLICE],
        [SLICE + 1],
        [3 * SLICE + 2, 5, _SPLICE_MIN_BYTES + 1],
    ],
    ids=["small", "splice", "below-slice", "slice", "above-slice", "mixed"],
)
def test_the_pieces_join_into_the_whole_encoding(sizes: list[int]) -> None:
    """Images below, at and above the slice size: the pieces are the whole body, byte for byte."""
    request = _request(sizes, text='a fox \u2603 "quoted" !rh-splice!0')
    joined = b"".join(encode_request(request))
    assert joined == _reference(request)
    assert _images_in(joined) == [_image(n) for n in sizes]


@pytest.mark.parametrize("sizes", [[], [5], [SLICE - 1], [SLICE + 1, SLICE, _SPLICE_MIN_BYTES]])
def test_the_length_is_exact(sizes: list[int]) -> None:
    """``len()`` of a body is the length of the bytes it yields, without building them."""
    body = encode_request(_request(sizes))
    assert len(body) == len(b"".join(body))


def test_a_large_image_is_never_encoded_whole() -> None:
    """Each piece of a large image's base64 is at most one slice's worth (1 MiB)."""
    body = encode_request(_request([3 * SLICE + 2]))
    assert max(len(piece) for piece in body) == 4 * SLICE // 3


def test_every_iteration_yields_the_same_pieces() -> None:
    """A body can be sent again: a second iteration yields the same bytes."""
    body = encode_request(_request([SLICE + 1, _SPLICE_MIN_BYTES]))
    assert list(body) == list(body)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_retried_upload_sends_the_same_body_twice(transport: str) -> None:
    """Over real HTTP, the attempt after a 503 sends the same bytes, with their exact length."""
    received: list[tuple[bytes, bytes]] = []
    answers = [error(503, "UNAVAILABLE"), ok()]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        answer = answers[len(received) - 1]
        head = f"HTTP/1.1 {answer.status_code} X\r\ncontent-type: application/json\r\n"
        head += f"content-length: {len(answer.content)}\r\nconnection: close\r\n\r\n"
        writer.write(head.encode() + answer.content)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    parts = _parts([2 * SLICE + 1])
    async with server, AsyncImageClient(KEY, base_url=base_url, transport=transport) as client:
        with instant_retries():
            response = await client.generate_content(MODEL, parts)
    assert response.call is not None
    assert response.call.attempts == 2
    (first_head, first), (second_head, second) = received
    assert first == second
    assert _images_in(first) == [_image(2 * SLICE + 1)]
    for head in (first_head, second_head):
        assert f"content-length: {len(first)}".encode() in head.lower()
        assert b"transfer-encoding" not in head.lower()


def _body_size(parts: list[Part]) -> int:
    return len(_reference(GenerateContentRequest(contents=[Content(role="user", parts=parts)])))


async def test_a_body_exactly_at_the_size_limit_is_sent() -> None:
    """``max_request_bytes`` equal to the body's exact length lets it go, whole."""
    parts = _parts([SLICE + 1])
    size = _body_size(parts)
    with respx.mock(base_url=BASE_URL) as router:
        route = router.post(f"/v1beta/models/{MODEL}:generateContent").respond(json=ok_body())
        async with AsyncImageClient(KEY, max_request_bytes=size) as client:
            await client.generate_content(MODEL, parts)
    assert len(route.calls.last.request.content) == size


async def test_a_body_one_byte_over_the_size_limit_is_refused_unsent() -> None:
    """One byte over ``max_request_bytes`` is an InvalidInputError naming the exact length."""
    parts = _parts([SLICE + 1])
    size = _body_size(parts)
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        route = router.post(f"/v1beta/models/{MODEL}:generateContent").respond(json=ok_body())
        async with AsyncImageClient(KEY, max_request_bytes=size - 1) as client:
            with pytest.raises(InvalidInputError, match=f"the request body is {size} bytes"):
                await client.generate_content(MODEL, parts)
    assert route.call_count == 0
