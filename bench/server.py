"""A minimal generateContent server for the benchmarks: canned, pre-built answers.

Run in its own process by ``bench/run_all.py``::

    python bench/server.py PORT

Routes, all ``POST /v1beta/models/{model}:generateContent`` (the URL both
routerhub_images and google-genai build from ``base_url`` + ``v1beta``):

- model ``bench-tiny``: a small text answer;
- model ``bench-2mb``: one ~2 MB image (2.7 MB of JSON);
- model ``bench-20mb``: one ~20 MB image (27 MB of JSON);
- model ``bench-upload``: reads the whole request (a 10 MB image upload) and answers tiny;
- ``GET /count``: the requests answered so far, by model, so the harness can check that
  every client sent exactly the requests it claims.

The images are valid PNG chunk streams (IHDR, one IDAT of random bytes, IEND, each with
its CRC), so a client can check every byte it decoded. The bodies are built once at start;
the server does no per-request work but reading the request, so the figures measure the
clients. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import sys
import zlib
from collections import Counter

from aiohttp import web

MIB = 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _answer(parts: list[dict[str, object]]) -> bytes:
    body = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": 7,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1297,
        },
        "modelVersion": "gemini-2.5-flash-image",
        "responseId": "bench-response",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bench_png(size: int) -> bytes:
    """A PNG chunk stream of exactly ``size`` bytes; its IDAT is random (incompressible)."""
    head = PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1024, 1024, 8, 2, 0, 0, 0))
    tail = _chunk(b"IEND", b"")
    return head + _chunk(b"IDAT", os.urandom(size - len(head) - len(tail) - 12)) + tail


def _image_answer(size: int) -> bytes:
    data = bench_png(size)
    encoded = base64.b64encode(data).decode()
    return _answer(
        [{"text": "Here it is."}, {"inlineData": {"mimeType": "image/png", "data": encoded}}]
    )


BODIES = {
    "bench-tiny": _answer([{"text": "A short answer from the benchmark server."}]),
    "bench-2mb": _image_answer(2 * MIB),
    "bench-20mb": _image_answer(20 * MIB),
    "bench-upload": _answer([{"text": "Got your image."}]),
}


COUNTS: Counter[str] = Counter()


async def generate(request: web.Request) -> web.Response:
    model = request.match_info["model"].removeprefix("google/").split(":", 1)[0]
    body = BODIES.get(model)
    await request.read()  # the whole upload, as a real server would
    COUNTS[model] += 1
    if body is None:
        return web.Response(status=404, body=b'{"error":{"code":404}}')
    return web.Response(body=body, content_type="application/json")


async def count(_: web.Request) -> web.Response:
    return web.json_response(dict(COUNTS))


def main() -> None:
    port = int(sys.argv[1])
    app = web.Application(client_max_size=64 * MIB)
    app.router.add_post("/v1beta/models/{model:.+}", generate)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
