"""Per-call overhead of the blocking ImageClient over a bare anyio ``portal.call``.

A blocking call to an event loop in another thread costs a thread hop; the facade's own
cost is what it adds to that hop. So the same call is made, in the same run, three ways:

- ``facade``: ``ImageClient.generate_content`` (its own portal and async client);
- ``portal``: ``portal.call`` of ``AsyncImageClient.generate_content`` on a portal of its
  own (``anyio.from_thread.start_blocking_portal``), the floor of any portal facade;
- ``async``: awaiting ``AsyncImageClient.generate_content`` on the benchmark's loop, no
  hop at all, for scale.

The emulator runs in a separate process (uvicorn on 127.0.0.1), so the CPU measured here is
the client's alone. Answers are tiny (``responseModalities: ["TEXT"]``) to expose the hop
rather than JSON and base64 work. A round runs N sequential calls of each kind, the order
rotated from round to round; the figures are the median wall time per call (over every
call) and the client process's CPU per call (median over rounds). Thread placement on the
CPUs shifts from round to round and moves both hops' cost with it, so the facade's overhead
over ``portal`` is also given per round, as a median with its min and max. The target is
at most +5%.

    python bench/bench_sync_overhead.py [--calls 100] [--rounds 30] [--images]

``--images`` asks for the default answer (a 1024x1024 PNG) instead, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from anyio.from_thread import start_blocking_portal

from routerhub_images import AsyncImageClient, GenerationConfig
from routerhub_images._sync import ImageClient

TEXT_ONLY = GenerationConfig(response_modalities=["TEXT"])
SERVER = """
import sys
from routerhub_images.emulator import EmulatorServer
server = EmulatorServer().start()
print(server.port, server.api_key, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
server.stop()
"""
WARMUP_CALLS = 50
KINDS = ("facade", "portal", "async")

Run = tuple[list[float], float]
"""Per-call wall times and CPU seconds per call of N sequential calls."""


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


def blocking_run(call: Callable[[], object], calls: int) -> Run:
    """N sequential blocking calls."""
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / calls


async def async_run(client: AsyncImageClient, config: GenerationConfig | None, calls: int) -> Run:
    """N sequential awaited calls."""
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        await client.generate_content(None, "hi", generation_config=config)
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / calls


class Clients:
    """The three ways of making the same call, each with a client of its own."""

    def __init__(self, base_url: str, key: str, config: GenerationConfig | None):
        self.config = config
        self.stack = ExitStack()
        self.facade = self.stack.enter_context(ImageClient(key, base_url=base_url, max_retries=0))
        self.portal = self.stack.enter_context(start_blocking_portal())
        self.portal_client = AsyncImageClient(key, base_url=base_url, max_retries=0)
        self.stack.callback(self.portal.call, self.portal_client.aclose)
        self.loop = asyncio.new_event_loop()
        self.stack.callback(self.loop.close)
        self.async_client = AsyncImageClient(key, base_url=base_url, max_retries=0)
        self.stack.callback(lambda: self.loop.run_until_complete(self.async_client.aclose()))

    def run(self, kind: str, calls: int) -> Run:
        """N sequential calls of one kind."""
        if kind == "facade":
            facade_call = functools.partial(
                self.facade.generate_content, None, "hi", generation_config=self.config
            )
            return blocking_run(facade_call, calls)
        if kind == "portal":
            coroutine_fn = functools.partial(
                self.portal_client.generate_content, None, "hi", generation_config=self.config
            )
            return blocking_run(functools.partial(self.portal.call, coroutine_fn), calls)
        return self.loop.run_until_complete(async_run(self.async_client, self.config, calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="sequential calls per kind")
    parser.add_argument("--rounds", type=int, default=30, help="rounds, each kind once")
    parser.add_argument("--images", action="store_true", help="answer with images, not text")
    args = parser.parse_args()
    config = None if args.images else TEXT_ONLY

    walls: dict[str, list[float]] = {k: [] for k in KINDS}
    cpus: dict[str, list[float]] = {k: [] for k in KINDS}
    round_ratios: list[float] = []  # per round: the facade's median wall/call over portal's
    with emulator_process() as (base_url, key):
        clients = Clients(base_url, key, config)
        with clients.stack:
            for kind in KINDS:
                clients.run(kind, WARMUP_CALLS)
            for index in range(args.rounds):
                shift = index % len(KINDS)
                medians = {}
                for kind in KINDS[shift:] + KINDS[:shift]:
                    times, cpu = clients.run(kind, args.calls)
                    walls[kind] += times
                    cpus[kind].append(cpu)
                    medians[kind] = statistics.median(times)
                round_ratios.append(medians["facade"] / medians["portal"])

    wall_us = {k: statistics.median(v) * 1e6 for k, v in walls.items()}
    cpu_us = {k: statistics.median(v) * 1e6 for k, v in cpus.items()}
    answer = "a 1024x1024 PNG" if args.images else "text only"
    print(f"{args.rounds} rounds x {args.calls} sequential calls per kind ({answer})")
    print(f"{'':8}{'wall/call (median)':>20}{'client CPU/call':>18}{'wall vs portal':>16}")
    for kind in KINDS:
        ratio = wall_us[kind] / wall_us["portal"]
        print(f"{kind:8}{wall_us[kind]:>17.1f} us{cpu_us[kind]:>15.1f} us{ratio:>15.3f}x")
    wall_extra = wall_us["facade"] - wall_us["portal"]
    cpu_extra = cpu_us["facade"] - cpu_us["portal"]
    print(
        f"facade over portal.call: {wall_extra:+.1f} us/call wall"
        f" ({wall_extra / wall_us['portal']:+.1%}), {cpu_extra:+.1f} us/call CPU"
        f" ({cpu_extra / cpu_us['portal']:+.1%})"
    )
    print(
        f"per round, facade wall vs portal.call: median {statistics.median(round_ratios) - 1:+.1%}"
        f" (min {min(round_ratios) - 1:+.1%}, max {max(round_ratios) - 1:+.1%},"
        f" {len(round_ratios)} rounds; target <= +5%)"
    )


if __name__ == "__main__":
    main()
