"""Before and after: the same cells with two installs of the library, interleaved.

    python bench/compare.py BEFORE_PYTHON AFTER_PYTHON [--runs 5] [--cells tiny@16,...]

Each PYTHON is the interpreter of a virtualenv with one version of routerhub-images
installed (e.g. ``/tmp/before/.venv/bin/python``, made from ``git worktree add``). One
``bench/server.py`` serves both; for each run, cell and client, the two versions run back
to back in fresh processes (who goes first alternates), pinned as in `run_all`, and every
request is counted at the server. The raw clients (``raw-httpx``, ``raw-aiohttp``) do not
use the library: their after/before ratio shows the noise of the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from client import CELLS, CLIENTS  # noqa: E402
from run_all import _free_port, _run_client, _start_server  # noqa: E402


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply request counts")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--cells", default=",".join(CELLS))
    args = parser.parse_args()
    versions = {"before": args.before, "after": args.after}
    cpu: dict[tuple[str, str, str], list[float]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = _start_server(port)
    started = time.monotonic()
    try:
        for run in range(args.runs):
            for cell in args.cells.split(","):
                for client in args.clients.split(","):
                    order = ["before", "after"] if run % 2 == 0 else ["after", "before"]
                    pair = {}
                    for which in order:
                        result = _run_client(client, cell, base_url, args.scale, versions[which])
                        pair[which] = result["cpu_ms"]
                        cpu.setdefault((cell, client, which), []).append(result["cpu_ms"])
                    ratios.setdefault((cell, client), []).append(pair["after"] / pair["before"])
                    print(
                        f"run {run} {cell:>13} {client:>17}: before {pair['before']:8.3f} "
                        f"after {pair['after']:8.3f} ms CPU/req",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(10)
    print(f"\n{args.runs} interleaved runs in {time.monotonic() - started:.0f} s")
    print("CPU ms per request, median (min-max); the ratio is the median of the pairs'.\n")
    print("| cell | client | before | after | after/before, pairs: median (min-max) |")
    print("|---|---|---:|---:|---:|")
    for (cell, client), pairs in ratios.items():
        before, after = cpu[cell, client, "before"], cpu[cell, client, "after"]
        print(f"| {cell} | {client} | {_spread(before)} | {_spread(after)} | {_spread(pairs)} |")


if __name__ == "__main__":
    main()
