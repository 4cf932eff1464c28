"""Tests for routerhub_images._images: sniffing, dimensions, GeneratedImage, input checks."""

from __future__ import annotations

import io
import os
import pathlib
import stat
import sys

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from routerhub_images._errors import InvalidInputError, RouterHubError
from routerhub_images._images import (
    GeneratedImage,
    ImageInputError,
    ImageTypeError,
    MissingDependencyError,
    atomic_write_bytes,
    check_image_bytes,
    image_dimensions,
    read_image_file,
    sniff_mime_type,
)

SIZES = [(1, 1), (3, 7), (64, 48), (333, 17), (1024, 768)]


def make_image(fmt: str, size: tuple[int, int], **options: object) -> bytes:
    """Encode a solid image of *size* with Pillow."""
    image = Image.new("RGB", size, (200, 30, 60))
    if options.pop("alpha", False):
        image = Image.new("RGBA", size, (200, 30, 60, 128))  # translucent, so alpha is kept
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def ftyp(major: bytes, compatible: tuple[bytes, ...] = ()) -> bytes:
    """Build an ISO-BMFF ``ftyp`` box followed by a stub ``meta`` box."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08meta"


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """Encode one JPEG marker segment with its length field."""
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def sof_payload(width: int, height: int) -> bytes:
    """A start-of-frame payload: precision, height, width, one component."""
    return b"\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big") + b"\x01\x01\x11\x00"


PNG_1 = make_image("PNG", (5, 4))
JPEG_1 = make_image("JPEG", (5, 4))
WEBP_1 = make_image("WEBP", (5, 4))
GIF_1 = make_image("GIF", (5, 4))
HEIC_1 = ftyp(b"heic", (b"mif1", b"heic"))
VALID_IMAGES = [
    PNG_1,
    JPEG_1,
    WEBP_1,
    GIF_1,
    make_image("JPEG", (70, 9), progressive=True),
    make_image("WEBP", (70, 9), lossless=True),
    make_image("WEBP", (70, 9), alpha=True, exif=b"Exif\x00\x00MM"),
    make_image("GIF", (70, 9)),
]


# --- sniff_mime_type ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG_1, "image/png"),
        (JPEG_1, "image/jpeg"),
        (WEBP_1, "image/webp"),
        (GIF_1, "image/gif"),
        (b"GIF87a" + b"\x00" * 7, "image/gif"),
        (HEIC_1, "image/heic"),
    ],
    ids=["png", "jpeg", "webp", "gif89a", "gif87a", "heic"],
)
def test_sniff_recognises_formats(data: bytes, expected: str) -> None:
    """Each supported format is recognised from its magic bytes."""
    assert sniff_mime_type(data) == expected


@pytest.mark.parametrize(
    ("major", "compatible", "expected"),
    [
        (b"heic", (), "image/heic"),
        (b"heix", (), "image/heic"),
        (b"heim", (), "image/heic"),
        (b"heis", (), "image/heic"),
        (b"hevc", (), "image/heic"),
        (b"hevx", (), "image/heic"),
        (b"mif1", (), "image/heif"),
        (b"msf1", (), "image/heif"),
        (b"heif", (), "image/heif"),
        (b"mif1", (b"mif1", b"heic"), "image/heif"),
        (b"heic", (b"mif1",), "image/heic"),
        (b"abcd", (b"mif1", b"heic"), "image/heic"),
        (b"abcd", (b"miaf", b"mif1"), "image/heif"),
    ],
)
def test_sniff_heif_brands(major: bytes, compatible: tuple[bytes, ...], expected: str) -> None:
    """HEIC and HEIF are told apart by the major brand first, then the compatible brands."""
    assert sniff_mime_type(ftyp(major, compatible)) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG",
        b"\xff\xd8",
        b"RIFF\x00\x00\x00\x00WAVE",
        b"GIF88a" + b"\x00" * 7,
        b"%PDF-1.7\n",
        ftyp(b"isom", (b"isom", b"mp41")),
        ftyp(b"avif", (b"avif", b"mif1", b"miaf")),
        b"\x00\x00\x00\x08ftypmif1",
        b"\x00\x00\x00\x18ftyp",
    ],
    ids=["empty", "short-png", "short-jpeg", "wav", "gif88", "pdf", "mp4", "avif", "tiny", "cut"],
)
def test_sniff_unknown_is_none(data: bytes) -> None:
    """Unknown, truncated and look-alike containers (MP4, AVIF) sniff as None."""
    assert sniff_mime_type(data) is None


# --- image_dimensions ----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("JPEG", {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"alpha": True}),
        ("WEBP", {"exif": b"Exif\x00\x00MM"}),
        ("GIF", {}),
    ],
    ids=[
        "png",
        "jpeg",
        "jpeg-progressive",
        "jpeg-exif",
        "vp8",
        "vp8l",
        "vp8x-alpha",
        "vp8x-exif",
        "gif",
    ],
)
def test_dimensions_of_real_images(
    fmt: str, options: dict[str, object], size: tuple[int, int]
) -> None:
    """Width and height are read from headers written by Pillow."""
    assert image_dimensions(make_image(fmt, size, **options)) == size


@pytest.mark.parametrize(
    ("data", "chunk"),
    [
        (make_image("WEBP", (9, 5)), b"VP8 "),
        (make_image("WEBP", (9, 5), lossless=True), b"VP8L"),
        (make_image("WEBP", (9, 5), alpha=True), b"VP8X"),
    ],
    ids=["vp8", "vp8l", "vp8x"],
)
def test_webp_fixtures_cover_each_chunk_kind(data: bytes, chunk: bytes) -> None:
    """The WEBP fixtures really exercise the VP8, VP8L and VP8X readers."""
    assert data[12:16] == chunk


def test_dimensions_of_large_vp8x_canvas() -> None:
    """A VP8X canvas wider than 14 bits is read in full (24-bit fields)."""
    header = b"VP8X" + (10).to_bytes(4, "little") + b"\x00\x00\x00\x00"
    canvas = (20000 - 1).to_bytes(3, "little") + (30000 - 1).to_bytes(3, "little")
    assert image_dimensions(b"RIFF\x00\x00\x00\x00WEBP" + header + canvas) == (20000, 30000)


def test_dimensions_of_large_png() -> None:
    """PNG dimensions use the full 32-bit IHDR fields."""
    ihdr = b"\x00\x00\x00\x0dIHDR" + (70000).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert image_dimensions(b"\x89PNG\r\n\x1a\n" + ihdr + b"\x08\x02\x00\x00\x00") == (70000, 3)


def test_jpeg_fill_bytes_before_markers() -> None:
    """Extra 0xFF fill bytes before a marker are skipped."""
    data = JPEG_1[:2] + b"\xff\xff\xff" + JPEG_1[2:]
    assert image_dimensions(data) == (5, 4)


def test_jpeg_standalone_markers_have_no_length() -> None:
    """RSTn and TEM markers before the frame header carry no length field."""
    data = b"\xff\xd8\xff\xd0\xff\x01" + jpeg_segment(0xC0, sof_payload(12, 34))
    assert image_dimensions(data) == (12, 34)


@pytest.mark.parametrize("marker", [0xC4, 0xC8, 0xCC])
def test_jpeg_dht_jpg_dac_are_not_frame_headers(marker: int) -> None:
    """Markers C4, C8 and CC are skipped even though they lie in the SOFn range."""
    decoy = jpeg_segment(marker, sof_payload(999, 999))
    data = b"\xff\xd8" + decoy + jpeg_segment(0xC2, sof_payload(12, 34))
    assert image_dimensions(data) == (12, 34)


@pytest.mark.parametrize("marker", [0xC1, 0xC3, 0xC5, 0xC7, 0xC9, 0xCB, 0xCD, 0xCF])
def test_jpeg_every_sof_marker_is_read(marker: int) -> None:
    """Every SOFn marker (C0..CF except C4, C8, CC) carries the frame size."""
    data = b"\xff\xd8" + jpeg_segment(0xE0, b"JFIF\x00") + jpeg_segment(marker, sof_payload(7, 8))
    assert image_dimensions(data) == (7, 8)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xda\x00\x02",
        b"\xff\xd8\xff\xd9",
        b"\xff\xd8\xff\xe0\x00\x01",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"\xff\xd8\x00\x00",
        b"\xff\xd8" + jpeg_segment(0xC0, sof_payload(0, 34)),
        b"\xff\xd8\xff\xff\xff",
    ],
    ids=["sos-first", "eoi", "bad-length", "truncated", "not-marker", "zero-width", "only-fill"],
)
def test_jpeg_without_readable_frame_is_none(data: bytes) -> None:
    """A JPEG whose frame header cannot be reached or read gives None."""
    assert image_dimensions(data) is None


@pytest.mark.parametrize(
    "data",
    [HEIC_1, b"", b"hello", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDX"],
    ids=["heic", "empty", "text", "png-without-ihdr"],
)
def test_dimensions_unknown_is_none(data: bytes) -> None:
    """Formats without a header reader, and broken headers, give None."""
    assert image_dimensions(data) is None


@given(st.binary(max_size=200))
def test_dimensions_never_raise_on_random_bytes(data: bytes) -> None:
    """Random bytes never make the header readers raise."""
    result = image_dimensions(data)
    assert result is None or all(n > 0 for n in result)


@given(
    st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a"]
        + [b"RIFF\x00\x00\x00\x00WEBP" + chunk for chunk in (b"VP8 ", b"VP8L", b"VP8X")]
    ),
    st.binary(max_size=200),
)
def test_dimensions_never_raise_after_magic_bytes(magic: bytes, tail: bytes) -> None:
    """Garbage after a valid signature reaches the readers and never makes them raise."""
    result = image_dimensions(magic + tail)
    assert result is None or all(n > 0 for n in result)


@given(st.sampled_from(VALID_IMAGES), st.data())
def test_dimensions_of_truncated_images(data: bytes, draw: st.DataObject) -> None:
    """A truncated image gives None or the true size, never an exception."""
    cut = draw.draw(st.integers(min_value=0, max_value=len(data)))
    assert image_dimensions(data[:cut]) in (None, image_dimensions(data))


@given(st.binary(max_size=64))
def test_sniff_never_raises(data: bytes) -> None:
    """Sniffing random bytes returns a MIME type string or None."""
    assert sniff_mime_type(data) in {
        None,
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "image/heic",
        "image/heif",
    }


# --- GeneratedImage -----------------------------------------------------------------------


def test_mime_type_is_sniffed_over_declared() -> None:
    """The bytes win over a wrong declared type (PNG declared, JPEG sent)."""
    image = GeneratedImage(JPEG_1, "image/png")
    assert (image.mime_type, image.extension) == ("image/jpeg", ".jpg")


def test_mime_type_falls_back_to_declared() -> None:
    """Unrecognised bytes use the declared type."""
    assert GeneratedImage(b"\x00\x01", "image/avif").mime_type == "image/avif"


def test_mime_type_falls_back_to_octet_stream() -> None:
    """Unrecognised bytes with no declared type are application/octet-stream, saved as .bin."""
    image = GeneratedImage(b"\x00\x01")
    assert (image.mime_type, image.extension) == ("application/octet-stream", ".bin")


@pytest.mark.parametrize(
    ("data", "extension"),
    [
        (PNG_1, ".png"),
        (JPEG_1, ".jpg"),
        (WEBP_1, ".webp"),
        (GIF_1, ".gif"),
        (HEIC_1, ".heic"),
        (ftyp(b"mif1"), ".heif"),
    ],
    ids=["png", "jpeg", "webp", "gif", "heic", "heif"],
)
def test_extension_follows_sniffed_type(data: bytes, extension: str) -> None:
    """The file extension matches the sniffed format."""
    assert GeneratedImage(data).extension == extension


def test_width_and_height() -> None:
    """Width and height come from the image header."""
    image = GeneratedImage(make_image("PNG", (640, 360)), "image/png")
    assert (image.width, image.height) == (640, 360)


def test_width_and_height_unknown() -> None:
    """Width and height are None when the header cannot be read."""
    image = GeneratedImage(HEIC_1, "image/heic")
    assert (image.width, image.height) == (None, None)


def test_repr_shows_summary_not_bytes() -> None:
    """The repr names type, dimensions and size, and does not dump the bytes."""
    image = GeneratedImage(PNG_1, "image/png")
    assert repr(image) == f"<GeneratedImage image/png 5x4 {len(PNG_1)} bytes>"


def test_repr_without_dimensions() -> None:
    """The repr leaves out dimensions it cannot read."""
    assert repr(GeneratedImage(b"abc")) == "<GeneratedImage application/octet-stream 3 bytes>"


def test_notebooks_display_png_and_jpeg_inline() -> None:
    """IPython's display protocol gets the bytes of the format the image really is."""
    png = GeneratedImage(PNG_1, "image/jpeg")  # declared wrong: the bytes decide
    jpeg = GeneratedImage(JPEG_1, "image/jpeg")
    assert (png._repr_png_(), png._repr_jpeg_()) == (PNG_1, None)
    assert (jpeg._repr_png_(), jpeg._repr_jpeg_()) == (None, JPEG_1)
    assert GeneratedImage(HEIC_1)._repr_png_() is None


def test_equality_by_data_and_declared_type() -> None:
    """Images are equal and hash alike when bytes and declared type match."""
    assert GeneratedImage(PNG_1, "image/png") == GeneratedImage(PNG_1, "image/png")
    assert hash(GeneratedImage(PNG_1)) == hash(GeneratedImage(PNG_1))
    assert GeneratedImage(PNG_1, "image/png") != GeneratedImage(PNG_1, None)


def test_generated_image_is_frozen() -> None:
    """A GeneratedImage cannot be modified."""
    image = GeneratedImage(PNG_1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        image.data = b""  # type: ignore[misc]


def test_to_pil_decodes() -> None:
    """to_pil returns a loaded Pillow image of the right size."""
    pil_image = GeneratedImage(make_image("WEBP", (30, 20))).to_pil()
    assert (pil_image.format, pil_image.size) == ("WEBP", (30, 20))


def test_to_pil_without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Pillow, to_pil raises a library ImportError with the install hint."""
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'routerhub-images\[pil\]'"):
        GeneratedImage(PNG_1).to_pil()


def test_missing_dependency_error_is_import_error() -> None:
    """MissingDependencyError is both a library error and an ImportError."""
    assert issubclass(MissingDependencyError, RouterHubError)
    assert issubclass(MissingDependencyError, ImportError)


# --- saving ---------------------------------------------------------------------------------


def test_save_writes_and_returns_path(tmp_path: pathlib.Path) -> None:
    """save writes the bytes to the path given and returns it as a Path."""
    target = str(tmp_path / "out.png")
    result = GeneratedImage(PNG_1).save(target)
    assert result == pathlib.Path(target)
    assert result.read_bytes() == PNG_1


def test_save_leaves_no_temp_files(tmp_path: pathlib.Path) -> None:
    """After a save, only the target file is in the directory."""
    GeneratedImage(PNG_1).save(tmp_path / "out.png")
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_overwrites(tmp_path: pathlib.Path) -> None:
    """Saving over an existing file replaces its content."""
    target = tmp_path / "out.img"
    target.write_bytes(b"old")
    GeneratedImage(JPEG_1).save(target)
    assert target.read_bytes() == JPEG_1


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_keeps_old_file(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A write that fails leaves the old file intact and removes the temp file."""
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, PNG_1)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_into_missing_directory_raises(tmp_path: pathlib.Path) -> None:
    """Saving into a directory that does not exist raises FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "nope" / "out.png", PNG_1)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saved_file_has_umask_permissions(tmp_path: pathlib.Path) -> None:
    """The saved file gets the same permissions as a plainly created one, not 0600."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    saved = atomic_write_bytes(tmp_path / "saved", b"x")
    assert stat.S_IMODE(saved.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


# --- read_image_file / check_image_bytes ----------------------------------------------------


def test_read_image_file(tmp_path: pathlib.Path) -> None:
    """read_image_file returns the bytes and their sniffed MIME type."""
    path = tmp_path / "misnamed.png"
    path.write_bytes(JPEG_1)
    assert read_image_file(path) == (JPEG_1, "image/jpeg")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, "does not exist"),
        ("folder", "dir", "is a directory"),
        ("empty.png", b"", "is empty"),
        ("notes.png", b"hello", "not a PNG, JPEG, WEBP, GIF, HEIC or HEIF image"),
    ],
)
def test_read_image_file_rejects(
    tmp_path: pathlib.Path, name: str, content: bytes | str | None, message: str
) -> None:
    """Missing files, directories, empty files and unknown formats raise ImageInputError."""
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ImageInputError, match=message):
        read_image_file(str(path))


def test_image_input_error_is_value_error() -> None:
    """ImageInputError is an InvalidInputError, hence a ValueError."""
    assert issubclass(ImageInputError, InvalidInputError)
    assert issubclass(ImageInputError, ValueError)


def test_check_image_bytes_sniffs() -> None:
    """Without a MIME type, the sniffed one is returned."""
    assert check_image_bytes(WEBP_1) == "image/webp"


def test_check_image_bytes_trusts_given_type() -> None:
    """A well-formed MIME type is returned (lowercased) even if it differs from the bytes."""
    assert check_image_bytes(PNG_1, "Application/PDF") == "application/pdf"


@pytest.mark.parametrize(
    "data", ["aGVsbG8=", bytearray(PNG_1), None, 42], ids=["str", "bytearray", "none", "int"]
)
def test_check_image_bytes_rejects_non_bytes(data: object) -> None:
    """Data that is not bytes (str, bytearray, None, ...) raises ImageTypeError."""
    with pytest.raises(ImageTypeError, match="must be bytes"):
        check_image_bytes(data)  # type: ignore[arg-type]


def test_image_type_error_is_type_error() -> None:
    """ImageTypeError is both a library error and a TypeError."""
    assert issubclass(ImageTypeError, TypeError)
    assert issubclass(ImageTypeError, RouterHubError)


def test_check_image_bytes_rejects_empty() -> None:
    """Empty bytes raise ImageInputError."""
    with pytest.raises(ImageInputError, match="empty"):
        check_image_bytes(b"", "image/png")


@pytest.mark.parametrize("mime_type", ["png", "", "image/", "/png", "image/png; q=1", "a/b/c"])
def test_check_image_bytes_rejects_malformed_mime_type(mime_type: str) -> None:
    """A MIME type not shaped like type/subtype raises ImageInputError."""
    with pytest.raises(ImageInputError, match="type/subtype"):
        check_image_bytes(PNG_1, mime_type)


def test_check_image_bytes_rejects_non_str_mime_type() -> None:
    """A MIME type that is not a str raises ImageTypeError."""
    with pytest.raises(ImageTypeError, match="mime_type must be a str"):
        check_image_bytes(PNG_1, b"image/png")  # type: ignore[arg-type]


def test_check_image_bytes_rejects_unknown_format() -> None:
    """Unrecognised bytes without a MIME type raise ImageInputError suggesting mime_type=."""
    with pytest.raises(ImageInputError, match="mime_type="):
        check_image_bytes(b"hello")
