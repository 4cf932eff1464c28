"""Model constructors, contents normalization and the response helpers."""

from __future__ import annotations

import base64
import io
import logging
import pathlib
from typing import Any

import pytest
from PIL import Image
from wire_samples import PNG_1X1, load_fixture

from routerhub_images import (
    CallInfo,
    FinishReason,
    ImageInputError,
    ImageTypeError,
    InvalidInputError,
    NoImageError,
    PromptBlockedError,
    Role,
)
from routerhub_images._types import (
    Blob,
    Candidate,
    Content,
    GenerateContentResponse,
    Part,
    PromptFeedback,
    normalize_contents,
)


def _encoded(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 20, 30)).save(buffer, image_format)
    return buffer.getvalue()


JPEG = _encoded("JPEG")
WEBP = _encoded("WEBP")
GIF = _encoded("GIF")
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
HEIF = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf"


def _response(
    *parts: Part, finish_reason: str | None = "STOP", **kw: Any
) -> GenerateContentResponse:
    candidate = Candidate(content=Content(role="model", parts=parts), finish_reason=finish_reason)
    return GenerateContentResponse(candidates=[candidate], **kw)


def _image_part(data: bytes = PNG_1X1, *, thought: bool | None = None) -> Part:
    return Part(inline_data=Blob(mime_type="image/png", data=data), thought=thought)


# --- Part constructors ------------------------------------------------------------------


def test_from_text_makes_text_part() -> None:
    """``Part.from_text`` wraps a string."""
    assert Part.from_text("an otter") == Part(text="an otter")


def test_from_text_rejects_non_string() -> None:
    """``Part.from_text`` refuses bytes with InvalidInputError."""
    with pytest.raises(InvalidInputError, match="str"):
        Part.from_text(b"an otter")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (PNG_1X1, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (GIF, "image/gif"),
        (HEIC, "image/heic"),
        (HEIF, "image/heif"),
    ],
    ids=["png", "jpeg", "webp", "gif", "heic", "heif"],
)
def test_from_bytes_sniffs_mime_type(data: bytes, mime_type: str) -> None:
    """``Part.from_bytes`` names the format from the magic bytes."""
    part = Part.from_bytes(data)
    assert part.inline_data == Blob(mime_type=mime_type, data=data)


def test_from_bytes_keeps_given_mime_type() -> None:
    """An explicit MIME type is trusted (lowercased), not overridden by sniffing."""
    part = Part.from_bytes(b"%PDF-1.7", mime_type="Application/PDF")
    assert part.inline_data == Blob(mime_type="application/pdf", data=b"%PDF-1.7")


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"", ImageInputError, "empty"),
        (b"plain text, not an image", ImageInputError, "PNG, JPEG"),
        ("iVBORw0KGgo=", ImageTypeError, "base64-decode"),
    ],
    ids=["empty", "unknown-format", "str"],
)
def test_from_bytes_rejects_bad_data(data: Any, error: type[Exception], match: str) -> None:
    """Empty, unknown or non-bytes data fails before any network call."""
    with pytest.raises(error, match=match):
        Part.from_bytes(data)


def test_from_bytes_errors_are_library_errors() -> None:
    """Input errors are both the library's and the builtin kind."""
    with pytest.raises(InvalidInputError) as info:
        Part.from_bytes(b"")
    assert isinstance(info.value, ValueError)
    with pytest.raises(TypeError):
        Part.from_bytes("x")  # type: ignore[arg-type]


def test_from_file_sniffs_mime_type(tmp_path: pathlib.Path) -> None:
    """``Part.from_file`` reads the bytes and sniffs the type, whatever the extension."""
    path = tmp_path / "photo.png"
    path.write_bytes(JPEG)
    assert Part.from_file(path).inline_data == Blob(mime_type="image/jpeg", data=JPEG)


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "directory"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("hello"), "is not a PNG"),
    ],
    ids=["missing", "directory", "empty", "unknown"],
)
def test_from_file_rejects_bad_file(tmp_path: pathlib.Path, setup: Any, match: str) -> None:
    """A missing, empty, directory or unknown file raises ImageInputError."""
    path = tmp_path / "input.png"
    setup(path)
    with pytest.raises(ImageInputError, match=match):
        Part.from_file(path)


# --- normalize_contents -----------------------------------------------------------------


def test_normalize_string() -> None:
    """A string becomes one user turn with one text part."""
    assert normalize_contents("an otter") == (Content(role="user", parts=[Part(text="an otter")]),)


def test_normalize_part() -> None:
    """A single part becomes one user turn."""
    part = _image_part()
    assert normalize_contents(part) == (Content(role="user", parts=[part]),)


def test_normalize_list_of_parts() -> None:
    """Loose items of a list share one user turn, in order."""
    turns = normalize_contents(["make it purple", PNG_1X1])
    assert turns == (Content(role="user", parts=[Part(text="make it purple"), _image_part()]),)


def test_normalize_content_kept() -> None:
    """A Content is kept as it is, role included."""
    turn = Content(role="model", parts=[Part(text="done")])
    assert normalize_contents(turn) == (turn,)


def test_normalize_mix_groups_loose_items() -> None:
    """Loose items around Content turns are grouped into user turns."""
    model_turn = Content(role="model", parts=[Part(text="here")])
    turns = normalize_contents(["first", model_turn, "again", Part(text="more")])
    assert turns == (
        Content(role="user", parts=[Part(text="first")]),
        model_turn,
        Content(role="user", parts=[Part(text="again"), Part(text="more")]),
    )
    assert turns[0].role == Role.USER


def test_normalize_bytes_and_path(tmp_path: pathlib.Path) -> None:
    """Image bytes and a path become inline image parts."""
    path = tmp_path / "in.webp"
    path.write_bytes(WEBP)
    (turn,) = normalize_contents([PNG_1X1, path])
    blobs = [p.inline_data for p in turn.parts]
    assert blobs == [
        Blob(mime_type="image/png", data=PNG_1X1),
        Blob(mime_type="image/webp", data=WEBP),
    ]


@pytest.mark.parametrize(
    "contents",
    [[], "", "   ", [Content(role="user")], 42, [3.5], b""],
    ids=["empty-list", "empty-str", "blank", "no-parts", "int", "float", "empty-bytes"],
)
def test_normalize_rejects_bad_contents(contents: Any) -> None:
    """Empty or unusable contents raise InvalidInputError."""
    with pytest.raises(InvalidInputError):
        normalize_contents(contents)


# --- response helpers -------------------------------------------------------------------


def test_images_exclude_thought_drafts() -> None:
    """``images`` holds the final image only; drafts are in ``thought_images``."""
    response = GenerateContentResponse.from_dict(load_fixture("response_thoughts.json"))
    assert [(i.width, i.height) for i in response.images] == [(12, 8)]
    assert [(i.width, i.height) for i in response.thought_images] == [(6, 6), (6, 6)]
    assert response.require_images() == response.images


def test_text_joins_non_thought_text() -> None:
    """``text`` joins the answer's text parts and skips thoughts."""
    response = _response(
        Part(text="thinking...", thought=True),
        Part(text="Here "),
        _image_part(),
        Part(text="it is"),
    )
    assert response.text == "Here it is"


def test_text_is_none_without_text(caplog: pytest.LogCaptureFixture) -> None:
    """An image-only answer has no text, and reading it logs nothing."""
    caplog.set_level(logging.DEBUG)
    response = GenerateContentResponse.from_dict(load_fixture("response_thoughts.json"))
    assert response.text is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_text_of_fixture() -> None:
    """The recorded text-and-image answer exposes both."""
    response = GenerateContentResponse.from_dict(load_fixture("response_text_image.json"))
    assert response.text == "Here is an otter floating on its back, holding a small pebble."
    assert [i.mime_type for i in response.images] == ["image/png"]
    assert response.finish_reason == FinishReason.STOP


def test_finish_reason_and_message() -> None:
    """``finish_reason``/``finish_message`` come from the first candidate."""
    candidate = Candidate(finish_reason="IMAGE_SAFETY", finish_message="Unable to show")
    response = GenerateContentResponse(candidates=[candidate])
    assert (response.finish_reason, response.finish_message) == ("IMAGE_SAFETY", "Unable to show")


def test_helpers_without_candidates() -> None:
    """An empty response has no parts, images, text or finish reason."""
    response = GenerateContentResponse()
    assert response.parts == ()
    assert response.images == []
    assert (response.text, response.finish_reason, response.finish_message) == (None, None, None)


def test_blocked_prompt() -> None:
    """A block reason with no candidates is ``blocked``, not ``image_withheld``."""
    response = GenerateContentResponse.from_dict(load_fixture("response_blocked.json"))
    assert response.blocked
    assert not response.image_withheld
    assert response.block_reason == "PROHIBITED_CONTENT"
    with pytest.raises(PromptBlockedError, match="PROHIBITED_CONTENT") as info:
        response.require_images()
    assert info.value.reason == "PROHIBITED_CONTENT"


@pytest.mark.parametrize(
    "reason",
    ["IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE"],
)
def test_image_withheld(reason: str) -> None:
    """An image-less answer that ended for safety or no-image is ``image_withheld``."""
    response = _response(Part(text="I can't draw that."), finish_reason=reason)
    assert response.image_withheld
    assert not response.blocked
    with pytest.raises(NoImageError) as info:
        response.require_images()
    assert not isinstance(info.value, PromptBlockedError)
    assert info.value.reason == reason
    assert reason in str(info.value)


def test_success_is_neither_blocked_nor_withheld() -> None:
    """A normal answer with an image is neither blocked nor withheld."""
    response = GenerateContentResponse.from_dict(load_fixture("response_text_image.json"))
    assert not response.blocked
    assert not response.image_withheld


def test_stop_without_image_raises_no_image() -> None:
    """A STOP without any image part raises NoImageError with the finish message."""
    response = GenerateContentResponse(
        candidates=[Candidate(content=Content(parts=[Part(text="no")]), finish_reason="STOP")]
    )
    assert not response.image_withheld
    with pytest.raises(NoImageError, match="STOP"):
        response.require_images()


def test_feedback_with_candidates_is_not_blocked() -> None:
    """Prompt feedback alongside a candidate is not a blocked prompt."""
    response = _response(_image_part(), prompt_feedback=PromptFeedback(block_reason="OTHER"))
    assert not response.blocked


def test_declared_and_sniffed_mime_types_both_kept() -> None:
    """JPEG bytes declared as PNG: the image says JPEG and remembers the declaration."""
    data = load_fixture("response_text_image.json")
    data["candidates"][0]["content"]["parts"][1]["inlineData"]["data"] = base64.b64encode(
        JPEG
    ).decode()
    (image,) = GenerateContentResponse.from_dict(data).images
    assert (image.mime_type, image.declared_mime_type) == ("image/jpeg", "image/png")
    assert (image.width, image.height, image.extension) == (3, 2, ".jpg")


def test_non_image_inline_data_is_not_an_image() -> None:
    """Inline audio or PDF data is not counted as an image."""
    response = _response(Part(inline_data=Blob(mime_type="audio/wav", data=b"RIFF")))
    assert response.images == []


# --- repr and serialization -------------------------------------------------------------


def test_repr_does_not_dump_bytes() -> None:
    """Blob and Part reprs give byte counts, not the bytes."""
    data = b"\x89PNG" + b"Q" * 5000
    part = Part(inline_data=Blob(mime_type="image/png", data=data), thought_signature=b"s" * 40)
    for text in (repr(part.inline_data), repr(part), repr(_response(part))):
        assert "QQQQ" not in text
        assert "<5004 bytes>" in text
    assert "<40 bytes>" in repr(part)
    assert "sss" not in repr(part)


def test_call_field_is_not_serialized() -> None:
    """The ``call`` info stays off the wire and out of equality."""
    response = _response(_image_part(), call=CallInfo(attempts=3, request_id="r-1"))
    assert "call" not in response.to_dict()
    assert "r-1" not in response.to_json()
    assert response == _response(_image_part())


def test_part_kind() -> None:
    """``Part.kind`` names the set member, or the unknown key of a newer part."""
    assert Part(text="x").kind == "text"
    assert _image_part().kind == "inline_data"
    assert Part.from_dict({"functionCall": {"name": "f"}}).kind == "functionCall"
    assert Part().kind == "other"
