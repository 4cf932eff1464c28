"""Run every client on every cell, interleaved, and write ``bench/RESULTS.md``.

    nox -s bench                     # or: python bench/run_all.py [--runs 3] [--scale 1]

Starts ``bench/server.py`` in its own process on 127.0.0.1, then for each run and each
cell starts each client in a fresh process (``bench/client.py``), in a rotated order so
no client always goes first. With two CPUs or more the server is pinned to the first and
the clients to the second, so neither disturbs the other's caches and page faults. The
server's request count is checked after every client: each must have sent exactly its
warm-up and timed requests. Reports medians with their spread (min-max) over the runs,
and the ratios against the targets of issue 8.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from client import CELLS, CLIENTS  # noqa: E402

BASELINE = "google-genai"
OURS = "rh-async-httpx"
PACKAGES = [
    "routerhub-images",
    "httpx",
    "httpx-aiohttp",
    "aiohttp",
    "google-genai",
    "pybase64",
    "orjson",
    "cattrs",
]
# cell -> max ratio of client CPU per request against google-genai's
CPU_TARGETS = {"tiny@16": 0.6, "tiny@64": 0.6, "2mb@8": 0.9, "20mb@1": 0.9, "upload10mb@2": 0.3}
SYNC_TARGET = 1.15
FINDINGS = "<!-- findings: kept when the figures above are regenerated -->"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER_CPU, CLIENT_CPU = 0, 1


def _pinned(cpu: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child to ``cpu``, when the machine has it."""
    if not hasattr(os, "sched_setaffinity") or cpu not in os.sched_getaffinity(0):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _start_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), str(port)],
        preexec_fn=_pinned(SERVER_CPU),  # noqa: PLW1509 - no threads started yet
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("the benchmark server failed to start") from None
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the benchmark server did not start within 60 s")


def _server_count(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "/count") as answer:
        return sum(json.load(answer).values())


def _run_client(
    client: str, cell: str, base_url: str, scale: float, python: str = sys.executable
) -> dict[str, float]:
    env = {**os.environ, "BENCH_SCALE": str(scale)}
    before = _server_count(base_url)
    out = subprocess.run(
        [python, str(HERE / "client.py"), client, cell, base_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
        preexec_fn=_pinned(CLIENT_CPU),
    )
    if out.returncode != 0:
        raise SystemExit(f"{client} {cell} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    served = _server_count(base_url) - before
    if served != result["sent"]:
        raise SystemExit(f"{client} {cell}: sent {result['sent']}, the server answered {served}")
    return result


def _versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply request counts")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    clients = args.clients.split(",")
    cells = args.cells.split(",")

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = _start_server(port)
    started = time.monotonic()
    raw: list[dict[str, float]] = []
    try:
        for run in range(args.runs):
            for index, cell in enumerate(cells):
                shift = (run + index) % len(clients)
                for client in clients[shift:] + clients[:shift]:
                    result = _run_client(client, cell, base_url, args.scale)
                    result["run"] = run
                    raw.append(result)
                    print(
                        f"run {run} {cell:>13} {client:>17}: {result['rps']:8.1f} req/s "
                        f"{result['cpu_ms']:8.3f} ms CPU/req {result['rss_mib']:7.1f} MiB",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(10)
    elapsed = time.monotonic() - started
    command = "python bench/run_all.py " + " ".join(sys.argv[1:])
    report = _report(raw, clients, cells, runs=args.runs, elapsed=elapsed, command=command.strip())
    out = Path(args.out)
    if out.exists() and FINDINGS in out.read_text():  # hand-written notes survive a rerun
        report += "\n" + FINDINGS + out.read_text().split(FINDINGS, 1)[1]
    out.write_text(report)
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
    print(report)


FIGURES = ("rps", "cpu_ms", "rss_mib")


def _medians(raw: list[dict[str, float]], clients: list[str], cells: list[str]):
    """(client, cell) -> figure -> median, and figure + "_min" / "_max" for the spread."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    for client in clients:
        for cell in cells:
            rows = [r for r in raw if r["client"] == client and r["cell"] == cell]
            if rows:
                figures: dict[str, float] = {}
                for key in FIGURES:
                    values = [r[key] for r in rows]
                    figures[key] = statistics.median(values)
                    figures[key + "_min"], figures[key + "_max"] = min(values), max(values)
                table[client, cell] = figures
    return table


def _spread(row: dict[str, float], key: str, digits: int) -> str:
    return f"{row[key]:.{digits}f} ({row[key + '_min']:.{digits}f}-{row[key + '_max']:.{digits}f})"


def _report(raw, clients, cells, *, runs, elapsed, command) -> str:
    table = _medians(raw, clients, cells)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {now}; {runs} interleaved runs in {elapsed:.0f} s; figures are medians, "
        "with the lowest and highest run in brackets.",
        f"- Machine: {_machine()}.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()) + ".",
        f"- Command: `{command}` (what `nox -s bench` runs).",
        "- Server: `bench/server.py` (aiohttp.web, pre-built bodies) in its own process on "
        "127.0.0.1, pinned to CPU 0; each client cell in a fresh process (`bench/client.py`), "
        "pinned to CPU 1, after the same 2 sequential warm-up requests; every answer checked "
        "(image count, decoded length, PNG signature, chunk CRCs) and every request counted "
        "at the server.",
        "- CPU/req: user+system CPU of the client process over the timed requests "
        "(`getrusage`) less the checking of answers, divided by their count; RSS: the client "
        "process's peak.",
        "",
        "| cell | client | req/s | CPU ms/req | peak RSS MiB |",
        "|---|---|---:|---:|---:|",
    ]
    for cell in cells:
        for client in clients:
            row = table.get((client, cell))
            if row:
                lines.append(
                    f"| {cell} | {client} | {_spread(row, 'rps', 1)} | "
                    f"{_spread(row, 'cpu_ms', 3)} | {_spread(row, 'rss_mib', 0)} |"
                )
    lines += ["", "## Targets (issue 8)", ""]
    lines += _targets(table, clients, cells)
    return "\n".join(lines) + "\n"


def _targets(table, clients, cells) -> list[str]:
    lines = ["| target | client | figure | limit | met |", "|---|---|---:|---:|---|"]
    ours = [c for c in clients if c.startswith("rh-async")]
    for cell in cells:
        base = table.get((BASELINE, cell))
        limit = CPU_TARGETS.get(cell)
        if base is None or limit is None:
            continue
        for client in ours:
            row = table.get((client, cell))
            if row:
                ratio = row["cpu_ms"] / base["cpu_ms"]
                met = "yes" if ratio <= limit else "**no**"
                lines.append(
                    f"| CPU/req vs google-genai, {cell} | {client} | {ratio:.2f}x | "
                    f"{limit}x | {met} |"
                )
    base = table.get((BASELINE, "20mb@1"))
    for client in ours:
        row = table.get((client, "20mb@1"))
        if base and row:
            ratio = row["rss_mib"] / base["rss_mib"]
            met = "yes" if ratio <= 1 else "**no**"
            lines.append(
                f"| peak RSS vs google-genai, 20mb@1 | {client} | {ratio:.2f}x | 1x | {met} |"
            )
    for transport in ("httpx", "aiohttp"):
        sync, async_ = f"rh-sync-{transport}", f"rh-async-{transport}"
        for cell in cells:
            s, a = table.get((sync, cell)), table.get((async_, cell))
            if s and a:
                ratio = s["cpu_ms"] / a["cpu_ms"]
                met = "yes" if ratio <= SYNC_TARGET else "**no**"
                lines.append(
                    f"| sync facade vs async CPU/req, {cell} | {sync} | {ratio:.2f}x | "
                    f"{SYNC_TARGET}x | {met} |"
                )
    return lines


if __name__ == "__main__":
    main()
