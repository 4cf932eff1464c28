"""Per-call overhead of the blocking ImageClient versus awaiting AsyncImageClient directly.

The emulator runs in a separate process (uvicorn on 127.0.0.1), so the CPU measured here is
the client's alone. Responses are tiny (``responseModalities: ["TEXT"]``) to expose the
facade's cost rather than JSON and base64 work. Runs of N sequential calls alternate between
the clients; the figures are the median wall time per call (over every call) and the client
process's CPU per call (median over runs). Thread placement on the CPUs shifts from run
to run and moves the facade's cost with it (a wake-up across CPUs costs more than one on
the same CPU), so there are many short runs, and the overhead is also given per round
(each client once, the order rotated) as a median with its quartiles.

A third line, ``handoff``, is the floor of any thread-based facade: the same async client on
an event loop in a plain thread, driven with ``asyncio.run_coroutine_threadsafe``. The gap
between it and ``sync`` is the facade's own cost. A fourth, ``raw-httpx``, is the floor of
the call itself: the same request with a bare ``httpx.AsyncClient`` and ``json.loads``.

    python bench/bench_sync_overhead.py [--calls 100] [--runs 30] [--images]

``--images`` asks for the default answer (a 1024x1024 PNG) instead, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from routerhub_images import DEFAULT_MODEL, AsyncImageClient, GenerationConfig
from routerhub_images._sync import ImageClient

TEXT_ONLY = GenerationConfig(response_modalities=["TEXT"])
CONFIG: GenerationConfig | None = TEXT_ONLY
"""The generation config of every call; ``--images`` sets it to None (the server default)."""
SERVER = """
import sys
from routerhub_images.emulator import EmulatorServer
server = EmulatorServer().start()
print(server.port, server.api_key, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
server.stop()
"""
WARMUP_CALLS = 50


@contextmanager
def emulator_process() -> Iterator[tuple[str, str]]:
    """Run the emulator in a child process; yield its base URL and API key."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port, key = proc.stdout.readline().split()
        yield f"http://127.0.0.1:{port}", key
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def sync_run(client: ImageClient, calls: int) -> tuple[list[float], float]:
    """N sequential blocking calls: per-call wall times and CPU seconds per call."""
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        client.generate_content(None, "hi", generation_config=CONFIG)
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / calls


def handoff_run(
    client: AsyncImageClient, loop: asyncio.AbstractEventLoop, calls: int
) -> tuple[list[float], float]:
    """N sequential calls run on ``loop`` (in another thread) and waited for."""
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        coro = client.generate_content(None, "hi", generation_config=CONFIG)
        asyncio.run_coroutine_threadsafe(coro, loop).result()
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / calls


async def raw_run(
    client: httpx.AsyncClient, url: str, key: str, calls: int
) -> tuple[list[float], float]:
    """N sequential posts of the same request with bare httpx, each answer parsed."""
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    if CONFIG is not None:
        body["generationConfig"] = {"responseModalities": ["TEXT"]}
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        response = await client.post(url, json=body, headers={"x-goog-api-key": key})
        response.raise_for_status()
        json.loads(response.content)
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / calls


async def async_run(client: AsyncImageClient, calls: int) -> tuple[list[float], float]:
    """N sequential awaited calls: per-call wall times and CPU seconds per call."""
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        await client.generate_content(None, "hi", generation_config=CONFIG)
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / calls


class Clients:
    """The four ways of making the same call, each ready on its own loop."""

    def __init__(self, base_url: str, key: str):
        self.key = key
        self.url = f"{base_url}/v1beta/models/{DEFAULT_MODEL}:generateContent"
        self.loop = asyncio.new_event_loop()
        self.async_client = self.loop.run_until_complete(_make_async(key, base_url))
        self.raw_client = httpx.AsyncClient()
        self.sync_client = ImageClient(key, base_url=base_url, max_retries=0)
        self.thread_loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.thread_loop.run_forever, daemon=True)
        self.thread.start()
        self.thread_client = asyncio.run_coroutine_threadsafe(
            _make_async(key, base_url), self.thread_loop
        ).result()

    def run(self, kind: str, calls: int) -> tuple[list[float], float]:
        if kind == "async":
            return self.loop.run_until_complete(async_run(self.async_client, calls))
        if kind == "sync":
            return sync_run(self.sync_client, calls)
        if kind == "raw-httpx":
            return self.loop.run_until_complete(raw_run(self.raw_client, self.url, self.key, calls))
        return handoff_run(self.thread_client, self.thread_loop, calls)

    def close(self) -> None:
        self.sync_client.close()
        self.loop.run_until_complete(self.async_client.aclose())
        self.loop.run_until_complete(self.raw_client.aclose())
        self.loop.close()
        asyncio.run_coroutine_threadsafe(self.thread_client.aclose(), self.thread_loop).result()
        self.thread_loop.call_soon_threadsafe(self.thread_loop.stop)
        self.thread.join()
        self.thread_loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="sequential calls per run")
    parser.add_argument("--runs", type=int, default=30, help="runs per client, interleaved")
    parser.add_argument("--images", action="store_true", help="answer with images, not text")
    args = parser.parse_args()
    global CONFIG  # noqa: PLW0603 - one switch for the whole script
    CONFIG = None if args.images else TEXT_ONLY

    kinds = ("async", "sync", "handoff", "raw-httpx")
    walls: dict[str, list[float]] = {k: [] for k in kinds}
    cpus: dict[str, list[float]] = {k: [] for k in kinds}
    round_ratios: list[float] = []  # per round: sync's median wall/call over async's
    with emulator_process() as (base_url, key):
        clients = Clients(base_url, key)
        for kind in kinds:
            clients.run(kind, WARMUP_CALLS)
        for index in range(args.runs):
            shift = index % len(kinds)
            medians = {}
            for kind in kinds[shift:] + kinds[:shift]:
                times, cpu = clients.run(kind, args.calls)
                walls[kind] += times
                cpus[kind].append(cpu)
                medians[kind] = statistics.median(times)
            round_ratios.append(medians["sync"] / medians["async"])
        clients.close()

    wall_us = {k: statistics.median(v) * 1e6 for k, v in walls.items()}
    cpu_us = {k: statistics.median(v) * 1e6 for k, v in cpus.items()}
    answer = "a 1024x1024 PNG" if args.images else "text only"
    print(f"{args.runs} interleaved runs x {args.calls} sequential calls per client ({answer})")
    print(f"{'':10}{'wall/call (median)':>20}{'client CPU/call':>18}{'wall vs async':>16}")
    for kind in kinds:
        ratio = wall_us[kind] / wall_us["async"]
        print(f"{kind:10}{wall_us[kind]:>17.1f} us{cpu_us[kind]:>15.1f} us{ratio:>15.3f}x")
    wall_extra, cpu_extra = wall_us["sync"] - wall_us["async"], cpu_us["sync"] - cpu_us["async"]
    wall_share, cpu_share = wall_extra / wall_us["async"], cpu_extra / cpu_us["async"]
    print(
        f"ImageClient overhead: {wall_extra:+.1f} us/call wall ({wall_share:+.1%}),"
        f" {cpu_extra:+.1f} us/call CPU ({cpu_share:+.1%})"
    )
    q1, q2, q3 = statistics.quantiles(round_ratios, n=4)
    print(
        f"per round, sync wall vs async: median {q2 - 1:+.1%}"
        f" (quartiles {q1 - 1:+.1%} .. {q3 - 1:+.1%}, {len(round_ratios)} rounds)"
    )


async def _make_async(key: str, base_url: str) -> AsyncImageClient:
    return AsyncImageClient(key, base_url=base_url, max_retries=0)


if __name__ == "__main__":
    main()
