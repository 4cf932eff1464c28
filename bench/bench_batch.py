"""Benchmark: the batch runner against a rate-limited emulator, beside a naive gather.

The emulator runs in a child process (its own event loop and GIL) with a fixed latency
and a token-bucket limit that answers 429 + Retry-After + RetryInfo. Each variant runs
the same jobs after the emulator is reset (full bucket, empty request log); the 429
share is counted on the server side, from the emulator's request log.

    .venv/bin/python bench/bench_batch.py                       # 300 jobs, 120 rpm, 1 s
    .venv/bin/python bench/bench_batch.py --jobs 120 --rpm 240  # quicker

Targets (issue 7): ok jobs per minute >= 95 % of the limit, 429 answers <= 5 % of
requests, no job lost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

from routerhub_images import AsyncImageClient
from routerhub_images.batch import BatchEvent, BatchJob, BatchRunner, RateChanged, read_manifest


def serve(args: argparse.Namespace) -> None:
    """Child process: run the emulator, answer ``stats``/``reset`` lines on stdin."""
    from routerhub_images.emulator import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(
        latency=args.latency,
        latency_jitter=args.jitter,
        rate_limit_rpm=args.rpm,
        rate_limit_burst=args.burst,
    )
    with EmulatorServer(config) as server:
        print(json.dumps({"base_url": server.base_url, "api_key": server.api_key}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                server.app.reset()
                print("{}", flush=True)
            elif command == "stats":
                statuses = collections.Counter(server.app.log.statuses)
                print(json.dumps({str(k): v for k, v in statuses.items()}), flush=True)
            else:
                break


class Emulator:
    """The child process running `serve`."""

    def __init__(self, args: argparse.Namespace):
        command = [
            sys.executable,
            __file__,
            "--serve",
            f"--rpm={args.rpm}",
            f"--burst={args.burst}",
            f"--latency={args.latency}",
            f"--jitter={args.jitter}",
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        hello = self.ask(None)
        self.base_url: str = hello["base_url"]
        self.api_key: str = hello["api_key"]

    def ask(self, command: str | None) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


async def run_batch(
    emulator: Emulator,
    jobs: list[BatchJob],
    out: pathlib.Path,
    rpm: float | None,
    conc: int,
    *,
    trace: bool = False,
) -> dict[str, Any]:
    start = time.monotonic()

    def on_event(event: BatchEvent) -> None:
        if trace and isinstance(event, RateChanged):
            done = event.progress.done
            print(
                f"  {time.monotonic() - start:6.1f} s  {done:4d} done  rate -> {event.rpm:.1f}/min"
            )

    async with AsyncImageClient(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        runner = BatchRunner(client, out, concurrency=conc, rpm=rpm, on_event=on_event)
        summary = await runner.run(jobs)
    recorded = {e.job_id for e in read_manifest(out / "manifest.jsonl")}
    return {
        "ok": summary.ok,
        "failed": summary.failed,
        "lost": len({j.id for j in jobs} - recorded),
        "elapsed": summary.elapsed_seconds,
    }


async def run_naive(emulator: Emulator, jobs: list[BatchJob], out: pathlib.Path) -> dict[str, Any]:
    async with AsyncImageClient(api_key=emulator.api_key, base_url=emulator.base_url) as client:

        async def one(job: BatchJob) -> None:
            response = await client.generate_image(job.prompt)
            response.require_images()[0].save(out / f"{job.id}.png")

        start = time.monotonic()
        results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
        elapsed = time.monotonic() - start
    failed = sum(isinstance(r, BaseException) for r in results)
    return {"ok": len(jobs) - failed, "failed": failed, "lost": failed, "elapsed": elapsed}


def measure(emulator: Emulator, name: str, figures: dict[str, Any], rpm: float) -> dict[str, Any]:
    statuses = emulator.ask("stats")
    requests = sum(statuses.values())
    limited = statuses.get("429", 0)
    ok_per_min = figures["ok"] * 60.0 / figures["elapsed"]
    return {
        "variant": name,
        "ok": figures["ok"],
        "failed": figures["failed"],
        "lost": figures["lost"],
        "elapsed s": round(figures["elapsed"], 1),
        "ok/min": round(ok_per_min, 1),
        "% of limit": round(100.0 * ok_per_min / rpm, 1),
        "requests": requests,
        "429s": limited,
        "429 share %": round(100.0 * limited / requests, 1) if requests else 0.0,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.rjust(widths[k]) for k in keys))
    for row in rows:
        print("  ".join(str(row[k]).rjust(widths[k]) for k in keys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rpm", type=float, default=120.0, help="the server's limit")
    parser.add_argument("--burst", type=int, default=2, help="the server's bucket size")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--variants",
        default="adaptive,paced,naive",
        help="comma-separated: adaptive (no rpm), paced (rpm = the limit), naive",
    )
    parser.add_argument("--trace", action="store_true", help="print each rate cut")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    jobs = [BatchJob.create(f"benchmark image number {i}") for i in range(args.jobs)]
    print(
        f"{args.jobs} jobs; emulator: {args.rpm:g} requests/min (burst {args.burst}), "
        f"{args.latency:g} s latency; runner concurrency {args.concurrency}"
    )
    emulator = Emulator(args)
    rows = []
    try:
        for name in args.variants.split(","):
            emulator.ask("reset")
            with tempfile.TemporaryDirectory() as tmp:
                out = pathlib.Path(tmp)
                if name in ("paced", "adaptive"):
                    rpm = args.rpm if name == "paced" else None
                    label = f"BatchRunner rpm={args.rpm:g}" if rpm else "BatchRunner (adaptive)"
                    figures = asyncio.run(
                        run_batch(emulator, jobs, out, rpm, args.concurrency, trace=args.trace)
                    )
                elif name == "naive":
                    label = "naive asyncio.gather"
                    figures = asyncio.run(run_naive(emulator, jobs, out))
                else:
                    parser.error(f"unknown variant {name!r}")
            rows.append(measure(emulator, label, figures, args.rpm))
            print_table(rows[-1:])
    finally:
        emulator.close()
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
