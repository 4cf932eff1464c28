"""Does a batch's memory stay flat as the job count grows? Peak RSS for N jobs, in-process.

Each size runs in a fresh process against the in-process emulator (512 px images from
Gemini 3.1 Flash Image, so the run is short), with a generator of jobs, and reports the
peak RSS of the process. Flat memory means 10,000 jobs peak about where 1,000 do.

Beside each ``BatchRunner`` run, the floor: raw httpx on the same emulator, the same
number of workers pulling the same prompts, each answer parsed with ``json`` +
``pybase64`` and its image written to a file (no manifest, no resume, no retries).

    python bench/bench_batch_memory.py [--sizes 1000,10000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

CHILD = "child"
KINDS = ("batch", "raw-httpx")


def jobs(count: int) -> Iterator[object]:
    from routerhub_images.batch import BatchJob

    for i in range(count):
        yield BatchJob.create(
            f"memory probe {i}",
            model="gemini-3.1-flash-image-preview",
            image_size="512",
            aspect_ratio="1:1",
        )


async def run_batch(count: int, concurrency: int, out_dir: str) -> tuple[int, int]:
    from routerhub_images.batch import BatchRunner
    from routerhub_images.emulator import in_process_client

    async with in_process_client(max_retries=0) as client:
        runner = BatchRunner(client, out_dir, concurrency=concurrency, rpm=10_000_000)
        summary = await runner.run(jobs(count))  # type: ignore[arg-type]
    return summary.ok, summary.failed


async def run_raw(count: int, concurrency: int, out_dir: str) -> tuple[int, int]:
    import json

    import anyio
    import httpx
    import pybase64

    from routerhub_images.emulator import create_app

    app = create_app()
    url = "http://emulator/v1beta/models/gemini-3.1-flash-image-preview:generateContent"
    config = {"imageConfig": {"imageSize": "512", "aspectRatio": "1:1"}}
    prompts = iter(range(count))
    done = [0, 0]

    async def worker(client: httpx.AsyncClient) -> None:
        for i in prompts:
            body = {
                "contents": [{"role": "user", "parts": [{"text": f"memory probe {i}"}]}],
                "generationConfig": config,
            }
            response = await client.post(url, json=body, headers={"x-goog-api-key": app.api_key})
            if response.status_code != 200:
                done[1] += 1
                continue
            for part in json.loads(response.content)["candidates"][0]["content"]["parts"]:
                if "inlineData" in part:
                    data = pybase64.b64decode(part["inlineData"]["data"])
                    await anyio.Path(out_dir, f"{i}.png").write_bytes(data)
            done[0] += 1

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return done[0], done[1]


async def run_child(kind: str, count: int, concurrency: int, out_dir: str) -> None:
    start = time.perf_counter()
    run = run_batch if kind == "batch" else run_raw
    ok, failed = await run(count, concurrency, out_dir)
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count} {ok} {failed} {elapsed:.1f} {peak_mib:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    header = f"{'client':>10} {'jobs':>7} {'ok':>7} {'failed':>6} {'seconds':>8}"
    print(f"{header} {'peak RSS MiB':>13}")
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in KINDS:
            with tempfile.TemporaryDirectory() as out_dir:
                command = [sys.executable, __file__, CHILD, kind, str(size)]
                line = subprocess.run(
                    [*command, str(args.concurrency), out_dir],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
            count, ok, failed, seconds, peak = line
            print(f"{kind:>10} {count:>7} {ok:>7} {failed:>6} {seconds:>8} {peak:>13}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        asyncio.run(run_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
    else:
        main()
