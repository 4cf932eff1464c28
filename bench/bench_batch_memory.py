"""Does a batch's memory stay flat as the job count grows? Peak RSS for N jobs, in-process.

Each size runs in a fresh process against the in-process emulator (512 px images from
Gemini 3.1 Flash Image, so the run is short), with a generator of jobs, and reports the
peak RSS of the process. Flat memory means 10,000 jobs peak about where 1,000 do.

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


def jobs(count: int) -> Iterator[object]:
    from routerhub_images.batch import BatchJob

    for i in range(count):
        yield BatchJob.create(
            f"memory probe {i}",
            model="gemini-3.1-flash-image-preview",
            image_size="512",
            aspect_ratio="1:1",
        )


async def run_child(count: int, concurrency: int, out_dir: str) -> None:
    from routerhub_images.batch import BatchRunner
    from routerhub_images.emulator import in_process_client

    start = time.perf_counter()
    async with in_process_client(max_retries=0) as client:
        runner = BatchRunner(client, out_dir, concurrency=concurrency, rpm=10_000_000)
        summary = await runner.run(jobs(count))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count} {summary.ok} {summary.failed} {elapsed:.1f} {peak_mib:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"{'jobs':>7} {'ok':>7} {'failed':>6} {'seconds':>8} {'peak RSS MiB':>13}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as out_dir:
            line = subprocess.run(
                [sys.executable, __file__, CHILD, str(size), str(args.concurrency), out_dir],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        count, ok, failed, seconds, peak = line
        print(f"{count:>7} {ok:>7} {failed:>6} {seconds:>8} {peak:>13}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        asyncio.run(run_child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    else:
        main()
