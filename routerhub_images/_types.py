"""The wire model: attrs classes for generateContent requests and responses.

Names follow Google's schema in snake_case; `_wire` maps them to camelCase. Every
optional field defaults to ``None`` (or an empty tuple), meaning "unset, let the server
decide". Each class keeps keys this version does not know in ``extra`` and sends them
back, so a model turn replayed in a multi-turn edit keeps e.g. its ``thoughtSignature``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import attrs

from . import _constants as consts
from . import _wire
from ._enums import IMAGE_WITHHELD_REASONS, Role
from ._errors import InvalidInputError, NoImageError, PromptBlockedError
from ._images import (
    _OCTET_STREAM,
    GeneratedImage,
    check_image_bytes,
    max_file_bytes,
    read_image_file,
    sniff_mime_type,
)
from ._pricing import CostEstimate, estimate_cost
from ._sizes import OptionMismatch

DEFAULT_MAX_FILE_BYTES = max_file_bytes(consts.MAX_REQUEST_BYTES)
"""The largest image file read by default: its base64 fits in `MAX_REQUEST_BYTES`."""

M = TypeVar("M", bound="WireModel")


@attrs.frozen(kw_only=True)
class CallInfo:
    """What it took to get an answer: attached to every response and every error."""

    attempts: int
    """HTTP attempts made (1 when the first one answered)."""
    backoff_seconds: float = 0.0
    """Seconds spent waiting between attempts."""
    elapsed_seconds: float = 0.0
    """Seconds from the call to its answer, waits included."""
    request_id: str | None = None
    """The server's request id header of the last attempt, if it sent one."""
    http_status: int | None = None
    """HTTP status of the last attempt; None when no answer arrived."""
    reasks: int = 0
    """Calls made again because an image answer had no image (`CallPolicies.reask_no_image`)."""
    fallback_model: str | None = None
    """The model that answered instead of the requested one (`CallPolicies.fallback_models`)."""


class WireModel:
    """Serialization shared by every model class, all through the one converter."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The wire (camelCase, JSON-ready) dict of this object."""
        return _wire.unstructure(self)

    def to_json(self) -> str:
        """Compact JSON text of this object as it travels on the wire."""
        return _wire.dumps_text(self)

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Build from a wire dict.

        Raises:
            ResponseError: the dict does not fit; ``path`` names the JSON path at fault.
        """
        return _wire.structure(data, cls)

    @classmethod
    def from_json(cls: type[M], data: str | bytes) -> M:
        """Parse wire JSON.

        Raises:
            ResponseError: invalid JSON, or a shape that does not fit (with its path).
        """
        return _wire.loads(data, cls)


_INT32 = range(-(2**31), 2**31)
"""Every integer of a request is an int32 in Google's schema."""

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _rule(problem_of: Callable[[Any], str | None], *, optional: bool = True) -> Validator:
    """An attrs validator from a function saying what is wrong with a value (None: nothing)."""

    def check(instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        problem = None if optional and value is None else problem_of(value)
        if problem is not None:
            _fail(instance, _wire.camel(field.name), problem)

    return check


def _fail(instance: object, name: str, problem: str) -> NoReturn:
    raise InvalidInputError(f"{_WHERE.get(type(instance).__name__, '')}{name}: {problem}")


def _mismatch(value: object, *kinds: type[Any]) -> str | None:
    """Why ``value`` is not one of ``kinds`` (a bool is only a bool), or None."""
    if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
        return None
    return f"expected {kinds[0].__name__}, got {type(value).__name__}"


def _of(*kinds: type[Any], optional: bool = True) -> Validator:
    return _rule(lambda value: _mismatch(value, *kinds), optional=optional)


def _items(kind: type[Any]) -> Validator:
    """Each item of a tuple field is a ``kind``."""

    def check(instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        for index, item in enumerate(value or ()):
            problem = _mismatch(item, kind)
            if problem is not None:
                _fail(instance, f"{_wire.camel(field.name)}[{index}]", problem)

    return check


def _int32_problem(value: object) -> str | None:
    problem = _mismatch(value, int)
    if problem is None and value not in _INT32:
        return f"expected a 32-bit integer, got {value}"
    return problem


def _finite_problem(value: Any) -> str | None:
    problem = _mismatch(value, float, int)
    if problem is not None:
        return problem
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    return None if finite else f"expected a finite number, got {value!r}"


def _extra(instance: object, _: attrs.Attribute[Any], value: Any) -> None:
    """Keys this version does not model are sent as they are: plain JSON, named by key."""
    problem = _mismatch(value, dict)
    if problem is not None:
        _fail(instance, "extra", problem)
    for key, item in value.items():
        if not isinstance(key, str):
            _fail(instance, "extra", f"expected str keys, got {type(key).__name__}")
        problem = _json_problem(item)
        if problem is not None:
            _fail(instance, key, problem)


def _json_problem(value: object) -> str | None:
    """Why ``value`` cannot travel as JSON unchanged, or None when it can."""
    items: Iterable[object]
    if value is None or isinstance(value, str | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"expected a finite number, got {value!r}"
    if isinstance(value, dict):
        bad_keys = [key for key in value if not isinstance(key, str)]
        if bad_keys:
            return f"expected str keys, got {type(bad_keys[0]).__name__}"
        items = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return f"expected a JSON value, got {type(value).__name__}"
    try:
        problems = (_json_problem(item) for item in items)
        return next((problem for problem in problems if problem is not None), None)
    except RecursionError:
        return "nested too deeply (or holds itself)"


_int32 = _rule(_int32_problem)
_finite = _rule(_finite_problem)
_json = _rule(_json_problem)
_json_object = _rule(lambda value: _mismatch(value, dict) or _json_problem(value))


def _parts(instance: object, field: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    for index, part in enumerate(value):
        if not isinstance(part, Part):
            problem = f"a Content's parts must be Part objects, not {type(part).__name__}"
            _fail(instance, f"parts[{index}]", f"{problem} (Part.from_text)")


def _tuple(values: Iterable[Any] | None) -> tuple[Any, ...]:
    if values is None:
        return ()
    # A str is iterable too: response_modalities="IMAGE" would become five letters (and
    # a dict its keys).
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidInputError(f"expected a list, not the {type(values).__name__} {values!r}")
    return tuple(values)


@attrs.frozen(kw_only=True)
class Blob(WireModel):
    """Inline bytes with their MIME type (``inlineData``); base64 on the wire.

    A ``mime_type`` left empty (an answer without ``mimeType``) is sniffed from the
    bytes: ``image/png`` for a PNG, ``application/octet-stream`` when unknown.
    """

    mime_type: str = attrs.field(default="", validator=_of(str, optional=False))
    data: bytes = attrs.field(
        repr=lambda data: f"<{len(data)} bytes>", validator=_of(bytes, optional=False)
    )
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)

    def __attrs_post_init__(self) -> None:
        if not self.mime_type:  # attrs' documented way to set a field of a frozen class
            object.__setattr__(self, "mime_type", sniff_mime_type(self.data) or _OCTET_STREAM)


@attrs.frozen(kw_only=True)
class FileData(WireModel):
    """A reference to a file by URI (``fileData``)."""

    file_uri: str = attrs.field(validator=_of(str, optional=False))
    mime_type: str | None = attrs.field(default=None, validator=_of(str))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)


@attrs.frozen(kw_only=True)
class Part(WireModel):
    """One piece of a turn: text, inline bytes, or a file reference.

    Mirrors the proto ``oneof`` with all-optional fields; `kind` says which is set.
    ``thought`` marks the model's drafts; ``thought_signature`` must be sent back
    unchanged when the turn is replayed (Gemini 3 rejects the turn otherwise).
    """

    text: str | None = attrs.field(default=None, validator=_of(str))
    inline_data: Blob | None = attrs.field(default=None, validator=_of(Blob))
    file_data: FileData | None = attrs.field(default=None, validator=_of(FileData))
    thought: bool | None = attrs.field(default=None, validator=_of(bool))
    thought_signature: bytes | None = attrs.field(
        default=None,
        repr=lambda sig: "None" if sig is None else f"<{len(sig)} bytes>",
        validator=_of(bytes),
    )
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)

    @property
    def kind(self) -> str:
        """``text``, ``inline_data``, ``file_data``, or the first unknown key (``other``)."""
        if self.text is not None:
            return "text"
        if self.inline_data is not None:
            return "inline_data"
        if self.file_data is not None:
            return "file_data"
        return next(iter(self.extra), "other")

    @property
    def is_image(self) -> bool:
        """True when this part carries inline image bytes."""
        blob = self.inline_data
        return blob is not None and blob.mime_type.lower().startswith("image/")

    @classmethod
    def from_text(cls, text: str) -> Part:
        """A text part.

        Raises:
            InvalidInputError: ``text`` is not a string.
        """
        return cls(text=text)

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, *, mime_type: str | None = None
    ) -> Part:
        """An inline image part; the MIME type is sniffed from the bytes when not given.

        Raises:
            ImageTypeError: ``data`` is not bytes, bytearray or memoryview.
            ImageInputError: ``data`` is empty or not a known image format.
        """
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        checked = check_image_bytes(data, mime_type)
        return cls(inline_data=Blob(mime_type=checked, data=data))

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, max_bytes: int | None = DEFAULT_MAX_FILE_BYTES
    ) -> Part:
        """An inline image part read from a file, its MIME type sniffed from magic bytes.

        Args:
            path: A regular file (not a device, FIFO or socket).
            max_bytes: The largest file accepted (``None``: no limit); by default the
                largest whose base64 fits in `MAX_REQUEST_BYTES`.

        Raises:
            ImageInputError: missing, not a regular file, larger than *max_bytes*,
                empty, or not a PNG/JPEG/WEBP/GIF/HEIC/HEIF file.
        """
        data, mime_type = read_image_file(path, max_bytes=max_bytes)
        return cls(inline_data=Blob(mime_type=mime_type, data=data))


@attrs.frozen(kw_only=True)
class Content(WireModel):
    """One turn of a conversation: a ``role`` (``user`` or ``model``) and its parts."""

    parts: tuple[Part, ...] = attrs.field(default=(), converter=_tuple, validator=_parts)
    role: str | None = attrs.field(default=None, validator=_of(str))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)

    @classmethod
    def user(cls, *parts: PartInput) -> Content:
        """A user turn from strings, parts, image bytes or image paths."""
        return cls(role=Role.USER, parts=[_to_part(p) for p in parts])


@attrs.frozen(kw_only=True)
class ImageConfig(WireModel):
    """Image output options: ``aspect_ratio`` (``16:9``) and ``image_size`` (``1K``...``4K``)."""

    aspect_ratio: str | None = attrs.field(default=None, validator=_of(str))
    image_size: str | None = attrs.field(default=None, validator=_of(str))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)


@attrs.frozen(kw_only=True)
class ThinkingConfig(WireModel):
    """Thinking options of models that think before answering."""

    include_thoughts: bool | None = attrs.field(default=None, validator=_of(bool))
    thinking_budget: int | None = attrs.field(default=None, validator=_int32)
    thinking_level: str | None = attrs.field(default=None, validator=_of(str))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)


@attrs.frozen(kw_only=True)
class GenerationConfig(WireModel):
    """Generation options; every field left ``None`` takes the server's default.

    The server defaults ``response_modalities`` to ``["TEXT", "IMAGE"]``.
    """

    candidate_count: int | None = attrs.field(default=None, validator=_int32)
    stop_sequences: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_tuple), validator=_items(str)
    )
    max_output_tokens: int | None = attrs.field(default=None, validator=_int32)
    temperature: float | None = attrs.field(default=None, validator=_finite)
    top_p: float | None = attrs.field(default=None, validator=_finite)
    top_k: int | None = attrs.field(default=None, validator=_int32)
    seed: int | None = attrs.field(default=None, validator=_int32)
    response_mime_type: str | None = attrs.field(default=None, validator=_of(str))
    response_schema: dict[str, Any] | None = attrs.field(default=None, validator=_json_object)
    response_json_schema: Any = attrs.field(default=None, validator=_json)
    presence_penalty: float | None = attrs.field(default=None, validator=_finite)
    frequency_penalty: float | None = attrs.field(default=None, validator=_finite)
    response_logprobs: bool | None = attrs.field(default=None, validator=_of(bool))
    logprobs: int | None = attrs.field(default=None, validator=_int32)
    enable_enhanced_civic_answers: bool | None = attrs.field(default=None, validator=_of(bool))
    response_modalities: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_tuple), validator=_items(str)
    )
    speech_config: dict[str, Any] | None = attrs.field(default=None, validator=_json_object)
    thinking_config: ThinkingConfig | None = attrs.field(
        default=None, validator=_of(ThinkingConfig)
    )
    image_config: ImageConfig | None = attrs.field(default=None, validator=_of(ImageConfig))
    media_resolution: str | None = attrs.field(default=None, validator=_of(str))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)


@attrs.frozen(kw_only=True)
class SafetySetting(WireModel):
    """A blocking threshold for one harm category."""

    category: str = attrs.field(validator=_of(str, optional=False))
    threshold: str = attrs.field(validator=_of(str, optional=False))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)


@attrs.frozen(kw_only=True)
class GenerateContentRequest(WireModel):
    """The body of ``POST /v1beta/models/{model}:generateContent``."""

    contents: tuple[Content, ...] = attrs.field(converter=_tuple, validator=_items(Content))
    generation_config: GenerationConfig | None = attrs.field(
        default=None, validator=_of(GenerationConfig)
    )
    safety_settings: tuple[SafetySetting, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_tuple), validator=_items(SafetySetting)
    )
    system_instruction: Content | None = attrs.field(default=None, validator=_of(Content))
    cached_content: str | None = attrs.field(default=None, validator=_of(str))
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, validator=_extra)


_WHERE = {
    "Blob": "inlineData.",
    "FileData": "fileData.",
    "Part": "part.",
    "Content": "content.",
    "ImageConfig": "generationConfig.imageConfig.",
    "ThinkingConfig": "generationConfig.thinkingConfig.",
    "GenerationConfig": "generationConfig.",
    "SafetySetting": "safetySetting.",
}
"""Where a request class sits on the wire, to name a refused field by its path."""


@attrs.frozen(kw_only=True)
class SafetyRating(WireModel):
    """The probability of harm of one category in a prompt or a candidate."""

    category: str | None = None
    probability: str | None = None
    blocked: bool | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class CitationSource(WireModel):
    """A source a candidate quoted."""

    start_index: int | None = None
    end_index: int | None = None
    uri: str | None = None
    license: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class CitationMetadata(WireModel):
    """The sources of a candidate."""

    citation_sources: tuple[CitationSource, ...] = attrs.field(default=(), converter=_tuple)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class Candidate(WireModel):
    """One answer of the model."""

    content: Content | None = None
    finish_reason: str | None = None
    finish_message: str | None = None
    safety_ratings: tuple[SafetyRating, ...] = attrs.field(default=(), converter=_tuple)
    citation_metadata: CitationMetadata | None = None
    token_count: int | None = None
    index: int | None = None
    avg_logprobs: float | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class PromptFeedback(WireModel):
    """Present when the prompt itself was blocked (``block_reason``)."""

    block_reason: str | None = None
    safety_ratings: tuple[SafetyRating, ...] = attrs.field(default=(), converter=_tuple)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class ModalityTokenCount(WireModel):
    """Tokens spent on one modality."""

    modality: str | None = None
    token_count: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class UsageMetadata(WireModel):
    """Token accounting of one call."""

    prompt_token_count: int | None = None
    cached_content_token_count: int | None = None
    candidates_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    thoughts_token_count: int | None = None
    total_token_count: int | None = None
    prompt_tokens_details: tuple[ModalityTokenCount, ...] = attrs.field(
        default=(), converter=_tuple
    )
    cache_tokens_details: tuple[ModalityTokenCount, ...] = attrs.field(default=(), converter=_tuple)
    candidates_tokens_details: tuple[ModalityTokenCount, ...] = attrs.field(
        default=(), converter=_tuple
    )
    tool_use_prompt_tokens_details: tuple[ModalityTokenCount, ...] = attrs.field(
        default=(), converter=_tuple
    )
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def prompt_tokens_of(self, modality: str) -> int:
        """Prompt tokens of one modality (``"TEXT"``, ``"IMAGE"``, ...); 0 when unreported."""
        return _tokens_of(self.prompt_tokens_details, modality)

    def candidates_tokens_of(self, modality: str) -> int:
        """Output tokens of one modality (``"TEXT"``, ``"IMAGE"``, ...); 0 when unreported."""
        return _tokens_of(self.candidates_tokens_details, modality)

    @property
    def image_tokens(self) -> int:
        """Output tokens billed for images (``candidatesTokensDetails`` IMAGE)."""
        return self.candidates_tokens_of("IMAGE")

    @property
    def text_tokens(self) -> int:
        """Output tokens billed for text (``candidatesTokensDetails`` TEXT)."""
        return self.candidates_tokens_of("TEXT")

    @property
    def thinking_tokens(self) -> int:
        """Tokens spent thinking (``thoughtsTokenCount``), billed as output; 0 when unset."""
        return self.thoughts_token_count or 0

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens served from a cache (``cachedContentTokenCount``); 0 when unset."""
        return self.cached_content_token_count or 0


def _tokens_of(details: Iterable[ModalityTokenCount], modality: str) -> int:
    return sum(d.token_count or 0 for d in details if d.modality == modality)


@attrs.frozen(kw_only=True)
class GenerateContentResponse(WireModel):
    """The answer of generateContent, with helpers for the images in it.

    A blocked prompt is not raised: it is an HTTP 200 whose `blocked` is True. Use
    `require_images` to turn "no image" (blocked prompt, image withheld by safety, or
    none produced) into an exception.
    """

    candidates: tuple[Candidate, ...] = attrs.field(default=(), converter=_tuple)
    prompt_feedback: PromptFeedback | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)
    call: CallInfo | None = attrs.field(
        default=None, eq=False, repr=False, metadata={_wire.WIRE_METADATA_KEY: False}
    )
    """Attempts, waits and request id of the call; not part of the wire format."""
    option_mismatches: tuple[OptionMismatch, ...] = attrs.field(
        default=(), eq=False, repr=False, metadata={_wire.WIRE_METADATA_KEY: False}
    )
    """Requested image options the returned images do not match (see `OptionMismatch`)."""

    @property
    def cost(self) -> CostEstimate | None:
        """The estimated cost of this answer from the price table (`estimate_cost`)."""
        return estimate_cost(self.usage_metadata, self.model_version)

    @property
    def parts(self) -> tuple[Part, ...]:
        """Parts of the first candidate (empty when there is none)."""
        if not self.candidates or self.candidates[0].content is None:
            return ()
        return self.candidates[0].content.parts

    @property
    def images(self) -> list[GeneratedImage]:
        """The final images: inline image parts that are not drafts (``thought``)."""
        return [_image(p) for p in self.parts if p.is_image and not p.thought]

    @property
    def thought_images(self) -> list[GeneratedImage]:
        """Draft images Gemini 3 models show while thinking (not results)."""
        return [_image(p) for p in self.parts if p.is_image and p.thought]

    @property
    def text(self) -> str | None:
        """The non-thought text of the first candidate, joined; None when there is none."""
        texts = [p.text for p in self.parts if p.text is not None and not p.thought]
        return "".join(texts) if texts else None

    @property
    def finish_reason(self) -> str | None:
        """Why the first candidate stopped (see `FinishReason`)."""
        return self.candidates[0].finish_reason if self.candidates else None

    @property
    def finish_message(self) -> str | None:
        """The server's explanation of `finish_reason`, when it gives one."""
        return self.candidates[0].finish_message if self.candidates else None

    @property
    def block_reason(self) -> str | None:
        """Why the prompt was blocked (``promptFeedback.blockReason``), else None."""
        return self.prompt_feedback.block_reason if self.prompt_feedback else None

    @property
    def blocked(self) -> bool:
        """True when the prompt was blocked: no candidates, a ``block_reason``."""
        return self.block_reason is not None and not self.candidates

    @property
    def image_withheld(self) -> bool:
        """True when the candidate ended for safety/recitation/no-image without an image."""
        return self.finish_reason in IMAGE_WITHHELD_REASONS and not self.images

    def require_images(self) -> list[GeneratedImage]:
        """The final images, or an exception saying why there are none.

        Raises:
            PromptBlockedError: the prompt was blocked (``block_reason``).
            NoImageError: no image came back (``finish_reason`` says why).
        """
        images = self.images
        if images:
            return images
        if self.blocked:
            raise PromptBlockedError(
                f"the prompt was blocked ({self.block_reason})", reason=self.block_reason
            )
        detail = self.finish_message or "no image part in the response"
        raise NoImageError(
            f"no image returned (finish reason {self.finish_reason}): {detail}",
            reason=self.finish_reason,
        )


def _image(part: Part) -> GeneratedImage:
    blob = part.inline_data
    assert blob is not None  # noqa: S101 - callers filter on is_image
    return GeneratedImage(data=blob.data, declared_mime_type=blob.mime_type)


PartInput = str | Part | bytes | bytearray | memoryview | os.PathLike[str]
"""Anything that becomes one `Part`: text, a part, image bytes, or an image path."""

ContentsInput = PartInput | Content | Sequence[PartInput | Content]
"""What ``contents`` accepts: one item or a list; loose parts become a user turn."""


def _to_part(item: object, max_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> Part:
    if isinstance(item, Part):
        return item
    if isinstance(item, str):
        return Part.from_text(item)
    if isinstance(item, bytes | bytearray | memoryview):
        return Part.from_bytes(item)
    if isinstance(item, os.PathLike):
        return Part.from_file(item, max_bytes=max_bytes)
    raise InvalidInputError(
        f"cannot use {type(item).__name__} as content: pass str, Part, Content, bytes or a path"
    )


def normalize_contents(
    contents: ContentsInput, *, max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES
) -> tuple[Content, ...]:
    """Turn what users pass as ``contents`` into a tuple of `Content` turns.

    A single item or a list of loose items (str, `Part`, image bytes, paths) becomes
    one user turn; `Content` items stay as they are, and loose items between them are
    grouped into user turns. Image files are read here, each up to *max_file_bytes*.

    Raises:
        InvalidInputError: empty contents, an empty text, or an unsupported item.
    """
    items: Sequence[object]
    if isinstance(contents, str | bytes | bytearray | memoryview | Part | Content | os.PathLike):
        items = [contents]
    elif isinstance(contents, Sequence):
        items = contents
    else:
        raise InvalidInputError(f"contents must be str, Part, Content or a list, not {contents!r}")
    turns: list[Content] = []
    loose: list[Part] = []
    for item in items:
        if isinstance(item, Content):
            if loose:
                turns.append(Content(role=Role.USER, parts=loose))
                loose = []
            turns.append(item)
        else:
            loose.append(_to_part(item, max_file_bytes))
    if loose:
        turns.append(Content(role=Role.USER, parts=loose))
    _check_turns(turns)
    return tuple(turns)


_ROLES = frozenset(Role)


def _check_turns(turns: Sequence[Content]) -> None:
    if not turns:
        raise InvalidInputError("contents is empty: pass a prompt")
    for turn in turns:
        if turn.role is not None and turn.role not in _ROLES:
            raise InvalidInputError(
                f"a Content's role must be 'user' or 'model', not {turn.role!r}"
            )
        if not turn.parts:
            raise InvalidInputError("a Content turn has no parts")
        text = turn.parts[0].text
        if len(turn.parts) == 1 and text is not None and not text.strip():
            raise InvalidInputError("the prompt is empty")
