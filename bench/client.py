"""One benchmark client process: run one cell with one client, print one JSON line.

    python bench/client.py CLIENT CELL BASE_URL

The figures cover only the timed requests (after the same warm-up for every client:
`WARMUP` sequential requests): requests/s from the wall clock, client CPU per request from
``getrusage(RUSAGE_SELF)`` (user + system, every thread of this process) less the CPU spent
checking the answers, and the process's peak RSS (``ru_maxrss``, warm-up included).

Every answer is checked the same way whatever the client: the number of images, each
image's decoded length, its PNG signature and the CRC of every chunk (see
``bench/server.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import struct
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

MIB = 1024 * 1024
KEY = "rh_bench_key"

# cell -> (model, requests in flight, timed requests)
CELLS: dict[str, tuple[str, int, int]] = {
    "tiny@16": ("bench-tiny", 16, 600),
    "tiny@64": ("bench-tiny", 64, 640),
    "2mb@8": ("bench-2mb", 8, 96),
    "20mb@1": ("bench-20mb", 1, 15),
    "upload10mb@2": ("bench-upload", 2, 24),
}
WARMUP = 2
"""Sequential requests before the timed ones, the same for every client and cell."""
IMAGE_SIZES = {"bench-2mb": 2 * MIB, "bench-20mb": 20 * MIB}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

UPLOAD = b"\x89PNG\r\n\x1a\n" + os.urandom(10 * MIB - 8)
PROMPT = "a red fox in the snow"

Call = Callable[[], Awaitable[None]]


_checking_cpu: list[float] = []
"""CPU seconds each `_check` took, in its own thread, taken out of the figures."""


def _check(images: list[bytes], model: str) -> None:
    started = time.thread_time()
    size = IMAGE_SIZES.get(model)
    expected = 0 if size is None else 1
    if len(images) != expected:
        raise SystemExit(f"{model}: expected {expected} image(s), got {len(images)}")
    for image in images:
        if len(image) != size:
            raise SystemExit(f"{model}: an image of {len(image)} bytes, not {size}")
        _check_png(image, model)
    _checking_cpu.append(time.thread_time() - started)


def _check_png(data: bytes, model: str) -> None:
    if not data.startswith(PNG_SIGNATURE):
        raise SystemExit(f"{model}: no PNG signature")
    view = memoryview(data)
    at = len(PNG_SIGNATURE)
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        end = at + 8 + length
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(view[at + 4 : end]) != crc:
            raise SystemExit(f"{model}: bad CRC in the chunk at byte {at}")
        at = end + 4


# --- the clients: each returns (one call, close) ------------------------------------


def routerhub(base_url: str, model: str, transport: str) -> tuple[Call, Call]:
    from routerhub_images import AsyncImageClient

    client = AsyncImageClient(
        KEY, base_url=base_url, transport=transport, max_retries=0, strict_options=False
    )

    async def call() -> None:
        if model == "bench-upload":
            response = await client.edit_image(UPLOAD, PROMPT, model=model)
        else:
            response = await client.generate_image(PROMPT, model=model)
        _check([image.data for image in response.images], model)

    return call, client.aclose


def raw_httpx(base_url: str, model: str) -> tuple[Call, Call]:
    import httpx
    import orjson
    import pybase64

    client = httpx.AsyncClient(
        base_url=base_url, timeout=300, limits=httpx.Limits(max_connections=256)
    )
    url = f"/v1beta/models/{model}:generateContent"
    headers = {"x-goog-api-key": KEY, "content-type": "application/json"}

    async def call() -> None:
        body = orjson.dumps(_raw_request(model, pybase64))
        response = await client.post(url, content=body, headers=headers)
        response.raise_for_status()
        _check(_raw_images(json.loads(response.content), pybase64), model)

    return call, client.aclose


def raw_aiohttp(base_url: str, model: str) -> tuple[Call, Call]:
    import aiohttp
    import orjson
    import pybase64

    session: aiohttp.ClientSession | None = None
    url = f"{base_url}/v1beta/models/{model}:generateContent"
    headers = {"x-goog-api-key": KEY, "content-type": "application/json"}

    async def call() -> None:
        nonlocal session
        if session is None:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        body = orjson.dumps(_raw_request(model, pybase64))
        async with session.post(url, data=body, headers=headers) as response:
            response.raise_for_status()
            content = await response.read()
        _check(_raw_images(json.loads(content), pybase64), model)

    async def close() -> None:
        if session is not None:
            await session.close()

    return call, close


def _raw_request(model: str, pybase64: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": PROMPT}]
    if model == "bench-upload":
        data = pybase64.b64encode_as_string(UPLOAD)
        parts.append({"inlineData": {"mimeType": "image/png", "data": data}})
    return {"contents": [{"role": "user", "parts": parts}]}


def _raw_images(payload: dict[str, Any], pybase64: Any) -> list[bytes]:
    return [
        pybase64.b64decode(part["inlineData"]["data"], validate=True)
        for part in payload["candidates"][0]["content"]["parts"]
        if "inlineData" in part
    ]


def genai(base_url: str, model: str) -> tuple[Call, Call]:
    from google import genai as google_genai
    from google.genai import types

    client = google_genai.Client(
        api_key=KEY,
        http_options=types.HttpOptions(
            base_url=base_url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
            timeout=300_000,
        ),
    )
    aio = client.aio

    async def call() -> None:
        contents: Any = PROMPT
        if model == "bench-upload":
            contents = [types.Part.from_bytes(data=UPLOAD, mime_type="image/png"), PROMPT]
        response = await aio.models.generate_content(model=model, contents=contents)
        parts = response.candidates[0].content.parts  # type: ignore[index,union-attr]
        images = [p.inline_data.data for p in parts if p.inline_data is not None]  # type: ignore[union-attr]
        _check(images, model)  # type: ignore[arg-type]

    return call, aio.aclose


ASYNC_CLIENTS: dict[str, Callable[[str, str], tuple[Call, Call]]] = {
    "rh-async-httpx": lambda url, model: routerhub(url, model, "httpx"),
    "rh-async-aiohttp": lambda url, model: routerhub(url, model, "aiohttp"),
    "raw-httpx": raw_httpx,
    "raw-aiohttp": raw_aiohttp,
    "google-genai": genai,
}
SYNC_CLIENTS = {"rh-sync-httpx": "httpx", "rh-sync-aiohttp": "aiohttp"}
CLIENTS = [*ASYNC_CLIENTS, *SYNC_CLIENTS]


async def _run_async(name: str, base_url: str, model: str, *, inflight: int, n: int):
    call, close = ASYNC_CLIENTS[name](base_url, model)
    try:

        async def batch(count: int) -> None:
            remaining = count

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await call()

            await asyncio.gather(*(worker() for _ in range(min(inflight, count))))

        for _ in range(WARMUP):
            await call()
        start = _usage()
        await batch(n)
        return _delta(start)
    finally:
        await close()


def _run_sync(name: str, base_url: str, model: str, *, inflight: int, n: int):
    from routerhub_images import ImageClient

    client = ImageClient(
        KEY,
        base_url=base_url,
        transport=SYNC_CLIENTS[name],  # type: ignore[arg-type]
        max_retries=0,
        strict_options=False,
    )

    def call() -> None:
        if model == "bench-upload":
            response = client.edit_image(UPLOAD, PROMPT, model=model)
        else:
            response = client.generate_image(PROMPT, model=model)
        _check([image.data for image in response.images], model)

    # Like the async workers: `inflight` threads, each calling until the count runs out
    # (a thread pool's own queue and futures would add two thread hand-offs per call).
    def batch(count: int) -> None:
        tickets = iter(range(count))  # shared; next() on it is atomic under the GIL
        failures: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in tickets:
                    call()
            except BaseException as exc:  # SystemExit from _check would end only the thread
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(min(inflight, count))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    with client:
        for _ in range(WARMUP):
            call()
        start = _usage()
        batch(n)
        return _delta(start)


def _usage() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def _delta(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _usage()
    timed_checks = sum(_checking_cpu[WARMUP:])
    return wall - start[0], cpu - start[1] - timed_checks


def main() -> None:
    name, cell, base_url = sys.argv[1:4]
    model, inflight, n = CELLS[cell]
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    n = max(inflight, int(n * scale))
    if name in SYNC_CLIENTS:
        wall, cpu = _run_sync(name, base_url, model, inflight=inflight, n=n)
    else:
        wall, cpu = asyncio.run(_run_async(name, base_url, model, inflight=inflight, n=n))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "client": name,
        "cell": cell,
        "requests": n,
        "sent": n + WARMUP,
        "rps": n / wall,
        "cpu_ms": 1000 * cpu / n,
        "rss_mib": peak,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
