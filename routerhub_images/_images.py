"""Images in and out: format sniffing, pixel dimensions, atomic saving and input checks.

Nothing here needs Pillow: formats and sizes are read from the file headers, which is
enough to name a file, log its size and reject garbage before it is uploaded.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import secrets
import stat
from typing import TYPE_CHECKING, Literal

import attrs

from ._errors import ImageInputError, ImageTypeError, MissingDependencyError

if TYPE_CHECKING:
    from PIL import Image

_PNG = "image/png"
_JPEG = "image/jpeg"
_WEBP = "image/webp"
_GIF = "image/gif"
_HEIC = "image/heic"
_HEIF = "image/heif"
_OCTET_STREAM = "application/octet-stream"

_EXTENSIONS = {
    _PNG: ".png",
    _JPEG: ".jpg",
    _WEBP: ".webp",
    _GIF: ".gif",
    _HEIC: ".heic",
    _HEIF: ".heif",
}
_SUPPORTED_FORMATS = "PNG, JPEG, WEBP, GIF, HEIC or HEIF"
_PIL_INSTALL_HINT = "pip install 'routerhub-images[pil]'"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"heif"})
# AVIF files list mif1 among their compatible brands; they are not HEIF images to us.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
# JPEG markers C0..CF are SOFn except these three (DHT, JPG extension, DAC).
_NOT_SOF_MARKERS = frozenset({0xC4, 0xC8, 0xCC})
# Markers without a length field: TEM, RST0..RST7, SOI.
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})
_MIME_TYPE_RE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*", re.ASCII)


def sniff_mime_type(data: bytes) -> str | None:
    """Return the MIME type of *data* judged by its magic bytes, or ``None`` when unknown.

    Recognises PNG, JPEG, WEBP, GIF, HEIC and HEIF. HEIC and HEIF are told apart by the
    brands of the ISO-BMFF ``ftyp`` box: the major brand first, then the compatible ones.
    """
    if data.startswith(_PNG_SIGNATURE):
        return _PNG
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _WEBP
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _GIF
    return _sniff_heif(data)


def _sniff_heif(data: bytes) -> str | None:
    size = int.from_bytes(data[:4], "big")
    if data[4:8] != b"ftyp" or size < 16 or len(data) < 12:
        return None
    major = data[8:12]
    if major in _AVIF_BRANDS:
        return None
    end = min(size, len(data))
    compatible = [data[i : i + 4] for i in range(16, end - 3, 4)]
    for brands in ([major], compatible):
        if any(brand in _HEIC_BRANDS for brand in brands):
            return _HEIC
        if any(brand in _HEIF_BRANDS for brand in brands):
            return _HEIF
    return None


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` in pixels read from the image header, or ``None``.

    Reads the PNG ``IHDR`` chunk, the JPEG start-of-frame segment, the WEBP ``VP8``,
    ``VP8L`` or ``VP8X`` chunk, or the GIF logical screen. Returns ``None`` for other
    formats (HEIC/HEIF included), truncated headers and zero sizes; never raises on
    malformed input.
    """
    mime_type = sniff_mime_type(data)
    try:
        if mime_type == _PNG:
            return _png_dimensions(data)
        if mime_type == _JPEG:
            return _jpeg_dimensions(data)
        if mime_type == _WEBP:
            return _webp_dimensions(data)
        if mime_type == _GIF:
            return _dimensions(_uint(data, 6, 2, "little"), _uint(data, 8, 2, "little"))
    except IndexError:  # the header ends before a field it should hold
        return None
    return None


def _uint(data: bytes, offset: int, length: int, byteorder: Literal["big", "little"]) -> int:
    chunk = data[offset : offset + length]
    if len(chunk) != length:
        raise IndexError("truncated image header")
    return int.from_bytes(chunk, byteorder)


def _dimensions(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width and height else None


def _png_dimensions(data: bytes) -> tuple[int, int] | None:
    """Read the size from the ``IHDR`` chunk, which PNG requires to come first."""
    if data[12:16] != b"IHDR":
        return None
    return _dimensions(_uint(data, 16, 4, "big"), _uint(data, 20, 4, "big"))


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG marker segments up to the first start-of-frame and read its size."""
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            return None
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes may pad any marker
            pos += 1
        if pos >= len(data):
            return None
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD9, 0xDA):
            return None  # stuffed byte, EOI or scan data before any frame header
        length = _uint(data, pos, 2, "big")
        if length < 2:
            return None
        if 0xC0 <= marker <= 0xCF and marker not in _NOT_SOF_MARKERS:
            # Segment: length(2) precision(1) height(2) width(2).
            return _dimensions(_uint(data, pos + 5, 2, "big"), _uint(data, pos + 3, 2, "big"))
        pos += length
    return None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    """Read the size from the first chunk of a WEBP file (``VP8``, ``VP8L`` or ``VP8X``)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        # Lossy: frame tag(3), start code ``9d 01 2a``, then 14-bit width and height.
        width, height = _uint(data, 26, 2, "little"), _uint(data, 28, 2, "little")
        return _dimensions(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        # Lossless: signature ``2f``, then 14-bit width-1 and 14-bit height-1.
        bits = _uint(data, 21, 4, "little")
        return _dimensions((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        # Extended: flags(1), reserved(3), then 24-bit canvas width-1 and height-1.
        width, height = _uint(data, 24, 3, "little"), _uint(data, 27, 3, "little")
        return _dimensions(width + 1, height + 1)
    return None


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> pathlib.Path:
    """Write *data* to *path* atomically and return the path as a :class:`pathlib.Path`.

    The bytes go to a temporary file in the same directory, which is flushed, synced to
    disk and then renamed over *path* with :func:`os.replace`. Readers see the old file or
    the new one, never a partial write; on failure the temporary file is removed and any
    existing file at *path* is left untouched. The new file gets the usual permissions
    (``0o666`` minus the umask).

    Raises:
        OSError: the directory does not exist or is not writable, the disk is full, ...
    """
    target = pathlib.Path(path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return target


@attrs.frozen(repr=False)
class GeneratedImage:
    """An image returned by the API: its bytes and the MIME type the server declared.

    Format, size and extension are read from the bytes themselves, because the declared
    ``mimeType`` has been seen wrong (PNG declared, JPEG sent). Equality compares the bytes
    and the declared type.

    Attributes:
        data: The image file's bytes, base64-decoded.
        declared_mime_type: The ``mimeType`` the server sent with the image, if any.
    """

    data: bytes
    declared_mime_type: str | None = None

    @property
    def mime_type(self) -> str:
        """MIME type sniffed from the bytes, else the declared one, else the octet-stream type."""
        return sniff_mime_type(self.data) or self.declared_mime_type or _OCTET_STREAM

    @property
    def width(self) -> int | None:
        """Width in pixels read from the image header, or ``None`` when it cannot be read."""
        dimensions = image_dimensions(self.data)
        return None if dimensions is None else dimensions[0]

    @property
    def height(self) -> int | None:
        """Height in pixels read from the image header, or ``None`` when it cannot be read."""
        dimensions = image_dimensions(self.data)
        return None if dimensions is None else dimensions[1]

    @property
    def extension(self) -> str:
        """File extension for :attr:`mime_type`: ``".png"``, ``".jpg"``, ... or ``".bin"``."""
        return _EXTENSIONS.get(self.mime_type, ".bin")

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write the image to *path* atomically (see :func:`atomic_write_bytes`) and return it.

        The path is used as given: no extension is added (see :attr:`extension`).

        Raises:
            OSError: the file cannot be written.
        """
        return atomic_write_bytes(path, self.data)

    def to_pil(self) -> Image.Image:
        """Decode the image with Pillow and return a loaded :class:`PIL.Image.Image`.

        Raises:
            MissingDependencyError: Pillow is not installed.
            PIL.UnidentifiedImageError: Pillow cannot decode the format (HEIC and HEIF need
                the ``pillow-heif`` plugin registered).
        """
        try:
            from PIL import Image  # noqa: PLC0415 -- Pillow is optional: import on use
        except ImportError as exc:
            message = f"GeneratedImage.to_pil() needs Pillow: {_PIL_INSTALL_HINT}"
            raise MissingDependencyError(message) from exc
        image = Image.open(io.BytesIO(self.data))
        image.load()
        return image

    def __repr__(self) -> str:
        dimensions = image_dimensions(self.data)
        size = "" if dimensions is None else f" {dimensions[0]}x{dimensions[1]}"
        return f"<GeneratedImage {self.mime_type}{size} {len(self.data)} bytes>"

    # IPython's display protocol: a notebook cell ending in an image shows the picture.
    def _repr_png_(self) -> bytes | None:
        return self.data if self.mime_type == _PNG else None

    def _repr_jpeg_(self) -> bytes | None:
        return self.data if self.mime_type == _JPEG else None


def max_file_bytes(max_request_bytes: int | None) -> int | None:
    """The largest file whose base64 fits in *max_request_bytes* (``None``: no limit)."""
    return None if max_request_bytes is None else max_request_bytes // 4 * 3


def read_image_file(
    path: str | os.PathLike[str], *, max_bytes: int | None = None
) -> tuple[bytes, str]:
    """Read an image file and return its bytes and the MIME type sniffed from them.

    Only a regular file is opened (``/dev/zero`` or a FIFO would never end, or block),
    and at most *max_bytes* of it are read.

    Args:
        path: The file.
        max_bytes: The largest file accepted; ``None`` for no limit.

    Raises:
        ImageInputError: the file does not exist, is not a regular file (a directory,
            a device, a FIFO, a socket), is larger than *max_bytes*, is empty, is not a
            PNG, JPEG, WEBP, GIF, HEIC or HEIF image, or the path cannot be a file name.
        OSError: the file exists but cannot be read (permissions, ...).
    """
    source = pathlib.Path(path)
    try:
        _check_regular(source, source.stat(), max_bytes)
        # O_NONBLOCK: should a FIFO replace the file after the check, opening it
        # returns at once (and fstat refuses it) instead of waiting for a writer.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(source, flags)
    except FileNotFoundError:
        raise ImageInputError(f"image file {str(source)!r} does not exist") from None
    except ValueError as exc:  # a path the OS cannot take (an embedded NUL)
        raise ImageInputError(f"{str(source)!r} is not a usable file path: {exc}") from None
    with os.fdopen(fd, "rb") as file:
        data = _read_bounded(source, file, max_bytes)
    if not data:
        raise ImageInputError(f"image file {str(source)!r} is empty")
    mime_type = sniff_mime_type(data)
    if mime_type is None:
        raise ImageInputError(f"{str(source)!r} is not a {_SUPPORTED_FORMATS} image")
    return data, mime_type


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(source: pathlib.Path, info: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a file")
        raise ImageInputError(f"{str(source)!r} is {kind}, not an image file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise _too_large(source, max_bytes)


def _read_bounded(source: pathlib.Path, file: io.BufferedReader, max_bytes: int | None) -> bytes:
    """Read the open file, never more than one byte past *max_bytes*."""
    info = os.fstat(file.fileno())
    _check_regular(source, info, max_bytes)
    if max_bytes is None:
        return file.read()
    data = file.read(min(info.st_size, max_bytes) + 1)
    if len(data) > info.st_size:  # it grew since fstat: read on, up to the limit
        data += file.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise _too_large(source, max_bytes)
    return data


def _too_large(source: pathlib.Path, max_bytes: int) -> ImageInputError:
    return ImageInputError(
        f"image file {str(source)!r} is larger than {max_bytes} bytes, the most whose "
        "base64 fits in the client's max_request_bytes"
    )


def check_image_bytes(data: bytes, mime_type: str | None = None) -> str:
    """Check image bytes about to be sent and return their MIME type.

    A given *mime_type* is trusted (the API accepts more than images) once it has the
    ``type/subtype`` shape, and is returned lowercased; otherwise the type is sniffed.

    Raises:
        ImageTypeError: *data* is not ``bytes`` or *mime_type* is not a ``str``.
        ImageInputError: *data* is empty, *mime_type* is malformed, or no *mime_type* was
            given and the bytes are not a PNG, JPEG, WEBP, GIF, HEIC or HEIF image.
    """
    if not isinstance(data, bytes):
        hint = " (base64-decode it, or read the file's bytes)" if isinstance(data, str) else ""
        raise ImageTypeError(f"image data must be bytes, not {type(data).__name__}{hint}")
    if not data:
        raise ImageInputError("image data is empty")
    if mime_type is not None:
        if not isinstance(mime_type, str):
            raise ImageTypeError(f"mime_type must be a str, not {type(mime_type).__name__}")
        if not _MIME_TYPE_RE.fullmatch(mime_type):
            raise ImageInputError(f"mime_type {mime_type!r} is not of the form 'type/subtype'")
        return mime_type.lower()
    sniffed = sniff_mime_type(data)
    if sniffed is None:
        message = f"image data is not a {_SUPPORTED_FORMATS} image; pass mime_type= to send it"
        raise ImageInputError(message)
    return sniffed
