"""Deterministic PNG synthesis with the standard library only (``zlib`` and ``struct``).

A picture is a few vertical colour blocks, each a vertical gradient between two colours drawn
from a hash of the seed, crossed by horizontal stripes. Rows repeat within 16-pixel bands, so a
4096x4096 image is built by ``bytes`` multiplication and compressed at level 1 quickly.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
"""The eight bytes every PNG file starts with."""

BAND_HEIGHT = 16
"""Rows per band of identical scanlines."""

CACHE_SIZE = 32
"""Recently synthesized images kept in memory."""

_RGB = tuple[int, int, int]


@functools.lru_cache(maxsize=CACHE_SIZE)
def synthesize_png(seed: bytes, width: int, height: int) -> bytes:
    """Return a valid RGB PNG of ``width`` x ``height`` whose pixels depend only on ``seed``."""
    digest = hashlib.sha512(seed).digest()
    columns = 3 + digest[0] % 6
    stripe_period = 2 + digest[1] % 6
    starts = [_colour(digest, 8 + 3 * c) for c in range(columns)]
    ends = [_colour(digest, 32 + 3 * c) for c in range(columns)]
    widths = _split(width, columns)
    bands = -(-height // BAND_HEIGHT)
    compressor = zlib.compressobj(1)
    chunks = []
    for band in range(bands):
        shade = 0.6 if (band // stripe_period) % 2 else 1.0
        colours = [
            _mix(s, e, band / max(1, bands - 1), shade) for s, e in zip(starts, ends, strict=True)
        ]
        row = b"\x00" + b"".join(bytes(c) * w for c, w in zip(colours, widths, strict=True))
        rows = min(BAND_HEIGHT, height - band * BAND_HEIGHT)
        chunks.append(compressor.compress(row * rows))
    chunks.append(compressor.flush())
    return encode_png(width, height, b"".join(chunks))


def encode_png(width: int, height: int, idat: bytes) -> bytes:
    """Wrap compressed 8-bit RGB scanlines into a PNG file."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", idat), _chunk(b"IEND", b""))
    )


def png_dimensions(data: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` from a PNG's header, or ``None`` if ``data`` is no PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _colour(digest: bytes, offset: int) -> _RGB:
    return digest[offset], digest[offset + 1], digest[offset + 2]


def _mix(start: _RGB, end: _RGB, t: float, shade: float) -> _RGB:
    r, g, b = (int((a + (z - a) * t) * shade) for a, z in zip(start, end, strict=True))
    return r, g, b


def _split(total: int, parts: int) -> list[int]:
    edges = [total * i // parts for i in range(parts + 1)]
    return [edges[i + 1] - edges[i] for i in range(parts)]
