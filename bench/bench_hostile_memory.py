"""Does ``max_response_bytes`` bound memory against hostile answers? Peak RSS per case.

A loopback server (in this process) answers with a 2 GiB plain body (no length, sent
until the client hangs up) or a ~2 MB gzip body that inflates to 2 GiB. Each case runs
one call in a fresh client process, over each transport, so its peak RSS
(``ru_maxrss``) is its own; beside them, the floor: the same process making one
ordinary small call. A case passes when its peak stays within ``--multiple`` times the
limit above the floor.

    python bench/bench_hostile_memory.py [--limit-mib 64] [--multiple 4]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable

CHILD = "child"
BODY_BYTES = 2 << 30
ZEROS = bytes(1 << 20)
OK_BODY = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]}}]}'
CASES = ("floor", "plain-2GiB", "gzip-2GiB")
TRANSPORTS = ("httpx", "aiohttp")
MODEL = "google/gemini-2.5-flash-image"

Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def gzip_of_zeros(size: int) -> bytes:
    """A complete gzip stream of ``size`` zero bytes (a whole number of MiB), built fast.

    A full flush resets the compressor, so every further MiB compresses to the same
    bytes: compress two, repeat the second, and end with the right CRC and length.
    """
    squeeze = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    start = squeeze.compress(ZEROS) + squeeze.flush(zlib.Z_FULL_FLUSH)
    piece = squeeze.compress(ZEROS) + squeeze.flush(zlib.Z_FULL_FLUSH)
    last_block = squeeze.flush()[:-8]  # its own trailer counts 2 MiB: replaced below
    crc = 0
    for _ in range(size // len(ZEROS)):
        crc = zlib.crc32(ZEROS, crc)
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return start + piece * (size // len(ZEROS) - 1) + last_block + trailer


def head(*extra: bytes) -> bytes:
    lines = b"".join(line + b"\r\n" for line in extra)
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + lines + b"\r\n"


class Server:
    """One listener per case, on a loop of its own in a thread of this process."""

    def __init__(self) -> None:
        self.bomb = gzip_of_zeros(BODY_BYTES)
        self.urls: dict[str, str] = {}
        self._ready = threading.Event()
        threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True).start()
        self._ready.wait()

    async def _main(self) -> None:
        replies: dict[str, Reply] = {
            "floor": self._small,
            "plain-2GiB": self._plain,
            "gzip-2GiB": self._gzip,
        }
        for case, reply in replies.items():
            listener = await asyncio.start_server(self._serve(reply), "127.0.0.1", 0)
            self.urls[case] = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        self._ready.set()
        await asyncio.Event().wait()

    def _serve(self, reply: Reply) -> Handler:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                request_head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.partition(b":")[2])
                    for line in request_head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                await reply(writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        return serve

    async def _small(self, writer: asyncio.StreamWriter) -> None:
        writer.write(head(b"content-length: %d" % len(OK_BODY)) + OK_BODY)
        await writer.drain()

    async def _plain(self, writer: asyncio.StreamWriter) -> None:
        writer.write(head(b"connection: close"))
        for _ in range(BODY_BYTES // len(ZEROS)):
            writer.write(ZEROS)
            await writer.drain()

    async def _gzip(self, writer: asyncio.StreamWriter) -> None:
        extra = (b"content-encoding: gzip", b"content-length: %d" % len(self.bomb))
        writer.write(head(*extra) + self.bomb)
        await writer.drain()


async def child_call(url: str, transport: str, limit: int) -> str:
    from routerhub_images import AsyncImageClient, RouterHubError

    async with AsyncImageClient(
        "rh_bench",
        base_url=url,
        transport=transport,  # type: ignore[arg-type]
        max_response_bytes=limit,
        max_retries=0,
    ) as client:
        try:
            await client.generate_content(MODEL, "a fox")
        except RouterHubError as exc:
            return type(exc).__name__
    return "ok"


def child(url: str, transport: str, limit: int) -> None:
    started = time.perf_counter()
    outcome = asyncio.run(child_call(url, transport, limit))
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"{outcome} {peak_kib} {seconds:.2f}")


def measure(url: str, transport: str, limit: int) -> tuple[str, float, float]:
    out = subprocess.run(
        [sys.executable, __file__, CHILD, url, transport, str(limit)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[0], int(out[1]) / 1024, float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mib", type=int, default=64)
    parser.add_argument("--multiple", type=float, default=4.0)
    args = parser.parse_args()
    limit = args.limit_mib << 20
    server = Server()
    print(f"gzip body: {len(server.bomb) / 1e6:.1f} MB, inflating to {BODY_BYTES >> 20} MiB")
    print(f"max_response_bytes = {args.limit_mib} MiB; pass: peak - floor <= {args.multiple}x")
    print(
        f"{'transport':9} {'case':11} {'outcome':22} {'peak MiB':>8} {'-floor':>7} "
        f"{'x limit':>7} {'s':>5}  verdict"
    )
    for transport in TRANSPORTS:
        floor = 0.0
        for case in CASES:
            outcome, peak, seconds = measure(server.urls[case], transport, limit)
            floor = peak if case == "floor" else floor
            above = peak - floor
            ratio = above / args.limit_mib
            verdict = "floor" if case == "floor" else ("PASS" if ratio <= args.multiple else "FAIL")
            print(
                f"{transport:9} {case:11} {outcome:22} {peak:8.0f} {above:7.0f} "
                f"{ratio:7.2f} {seconds:5.2f}  {verdict}"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == [CHILD]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
