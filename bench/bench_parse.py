"""Parse cost of a large image response against the floor (``json.loads`` + base64 decode).

Run: ``python bench/bench_parse.py [--runs N] [--image-mb M]``. Prints, for each way of
parsing, the median wall time and the peak extra memory (tracemalloc peak, and the RSS
growth read from /proc/self/statm in a fresh child process), then the ratio of the
library to the floor. Targets (issue 2): time at most 1.5x the floor, peak extra memory
at most 2x the body size.

The library decodes large base64 values straight from the body before the JSON parse
(`routerhub_images._wire.loads`), so it runs under the ``json.loads`` floors; the
"pybase64 from the body" row is the least any parser can do (find the value, decode it),
and "library, ordinary path" is the converter fed by ``json.loads`` of the whole body.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import gc
import importlib.util
import json
import multiprocessing
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pybase64

from routerhub_images._types import GenerateContentResponse

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024
M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's malloc.h


def make_body(image_mb: float) -> bytes:
    """A response body with one PNG-marked image of ``image_mb`` MiB, ~1.35x that in JSON."""
    payload = b"\x89PNG\r\n\x1a\n" + os.urandom(int(image_mb * MB) - 8)
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Here is the poster."},
                        {
                            "inlineData": {
                                "mimeType": "image/png",
                                "data": base64.b64encode(payload).decode(),
                            }
                        },
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 1302},
        "modelVersion": "gemini-3-pro-image-preview",
        "responseId": "bench",
    }
    return json.dumps(response).encode()


def _urlsafe_unpadded(body: bytes) -> bytes:
    """The same body with its image in URL-safe base64 without padding."""
    data = json.loads(body)
    part = data["candidates"][0]["content"]["parts"][1]["inlineData"]
    part["data"] = part["data"].translate(str.maketrans("+/", "-_")).rstrip("=")
    return json.dumps(data).encode()


def _image_data(data: dict[str, Any]) -> str:
    value: str = data["candidates"][0]["content"]["parts"][1]["inlineData"]["data"]
    return value


def floor_stdlib(body: bytes) -> bytes:
    """The floor: the stdlib JSON parser and base64 decoder."""
    return base64.b64decode(_image_data(json.loads(body)))


def floor_pybase64(body: bytes) -> bytes:
    """The floor with pybase64's decoder."""
    decoded: bytes = pybase64.b64decode(_image_data(json.loads(body)), validate=True)
    return decoded


def floor_pybase64_view(body: bytes) -> bytes:
    """The least work: find the image's base64 in the body, decode it from a memoryview."""
    start = body.index(b'"data": "') + len(b'"data": "')
    end = body.index(b'"', start)
    decoded: bytes = pybase64.b64decode(memoryview(body)[start:end], validate=True)
    return decoded


def library_ordinary(body: bytes) -> bytes:
    """The library's converter fed by ``json.loads`` of the whole body (no pre-decode)."""
    from routerhub_images import _wire

    response = _wire.structure(json.loads(body), GenerateContentResponse)
    return response.images[0].data


def library(body: bytes) -> bytes:
    """The library: parse into the model and take the first image's bytes."""
    return GenerateContentResponse.from_json(body).images[0].data


def floor_orjson(body: bytes) -> bytes:
    """The floor with orjson's parser and pybase64 (orjson is not a dependency)."""
    import orjson

    decoded: bytes = pybase64.b64decode(_image_data(orjson.loads(body)), validate=True)
    return decoded


def library_orjson(body: bytes) -> bytes:
    """The library's converter fed by orjson instead of ``json.loads``."""
    import orjson

    from routerhub_images import _wire

    response = _wire.structure(orjson.loads(body), GenerateContentResponse)
    return response.images[0].data


def _time(func: Callable[[bytes], bytes], body: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = func(body)
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def _traced_peak(func: Callable[[bytes], bytes], body: bytes) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        result = func(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def _peak_rss() -> int:
    """VmHWM: the peak resident set of this process so far."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> bool:
    """Set VmHWM back to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _pin_mmap_threshold() -> None:
    """Make glibc serve and return every large block with mmap, so RSS tracks live memory.

    By default glibc raises its mmap threshold after large frees and keeps freed memory
    resident for reuse: a measure after other work would then see no RSS growth at all.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 128 * 1024)


def _rss_child(name: str, image_mb: float, urlsafe: bool, queue: Any) -> None:
    _pin_mmap_threshold()
    body = make_body(image_mb)
    if urlsafe:
        body = _urlsafe_unpadded(body)
    func = FUNCS[name]
    func(make_body(0.01))  # imports and hook caches are not part of the measure
    gc.collect()
    reset = _reset_peak_rss()
    before = _rss()
    result = func(body)
    peak = _peak_rss() - before if reset else -1
    queue.put((peak, _rss() - before))
    del result


def _rss_delta(name: str, image_mb: float, urlsafe: bool) -> tuple[int, int]:
    # A fresh interpreter per measure, so no earlier work shapes the heap.
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_rss_child, args=(name, image_mb, urlsafe, queue))
    child.start()
    result: tuple[int, int] = queue.get(timeout=300)
    child.join()
    return result


FUNCS: dict[str, Callable[[bytes], bytes]] = {
    "floor (json + base64)": floor_stdlib,
    "floor (json + pybase64)": floor_pybase64,
    "floor (pybase64 from body)": floor_pybase64_view,
    "library from_json": library,
    "library, ordinary path": library_ordinary,
    "library, URL-safe unpadded": library,
}
if importlib.util.find_spec("orjson") is not None:
    FUNCS["floor (orjson + pybase64)"] = floor_orjson
    FUNCS["library via orjson"] = library_orjson


def _multiple(value: int, size: int) -> str:
    return "n/a" if value < 0 else f"{value / size:.2f}x"


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--image-mb", type=float, default=20.0)
    args = parser.parse_args()
    if "library via orjson" not in FUNCS:
        print("orjson not installed: skipping the orjson rows")

    body = make_body(args.image_mb)
    expected = floor_stdlib(body)
    print(f"body {len(body) / MB:.1f} MiB, image {len(expected) / MB:.1f} MiB, {args.runs} runs")
    print(f"{'':26} {'median ms':>10} {'traced peak':>12} {'RSS peak':>10} {'RSS kept':>10}")
    medians = {}
    urlsafe_body = _urlsafe_unpadded(body)
    for name, func in FUNCS.items():
        sample = urlsafe_body if "URL-safe" in name else body
        assert func(sample) == expected, name
        medians[name] = _time(func, sample, args.runs)
        traced = _traced_peak(func, sample)
        size = len(sample)
        peak, kept = _rss_delta(name, args.image_mb, sample is urlsafe_body)
        print(
            f"{name:26} {medians[name] * 1000:10.1f} {traced / size:11.2f}x"
            f" {_multiple(peak, size):>10} {kept / size:9.2f}x"
        )
    library_time = medians["library from_json"]
    for floor in ("floor (json + base64)", "floor (json + pybase64)", "floor (pybase64 from body)"):
        print(f"library / {floor} time: {library_time / medians[floor]:.2f}x (target <= 1.5x)")
    print("memory figures are multiples of the body size (target peak <= 2x)")


if __name__ == "__main__":
    main()
