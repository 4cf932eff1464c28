"""Thought signatures: issued with an HMAC over the part they sign, checked on replay.

The emulator keeps no conversation state: a signature is an HMAC of the part's own
content (thought flag, text, image type and bytes) under a key derived from the
emulator's seed, so any instance with the same seed can tell a signature it issued from
one that was altered, invented or moved to another part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ._config import ModelSpec
from ._errors import ApiError

MISSING_SIGNATURE = (
    "Image part is missing a thought_signature in content position {}, part position {}."
)
"""Google's wording for a replayed image part that lost its signature (1-based positions)."""

CORRUPTED_SIGNATURE = "Corrupted thought signature."
"""Google's wording for a signature it did not issue, or issued for other content."""


def signing_key(seed: int) -> bytes:
    """Return the HMAC key of an emulator run with ``seed`` (the same in every process)."""
    return hashlib.sha256(f"routerhub-emulator-thought-signature|{seed}".encode()).digest()


def sign(
    key: bytes,
    *,
    data: bytes | None = None,
    mime_type: str = "",
    text: str | None = None,
    thought: bool = False,
) -> str:
    """Return the base64 ``thoughtSignature`` of a part with this content."""
    return base64.b64encode(_mac(key, data, mime_type, text, thought)).decode()


def check_model_turns(contents: list[dict[str, Any]], model: ModelSpec, key: bytes) -> None:
    """Reject a replayed model turn whose signatures are missing, altered or not ours.

    ``contents`` is the normalized request (``bytes`` fields decoded).

    Raises:
        ApiError: 400 ``INVALID_ARGUMENT`` with the service's wording.
    """
    if not model.signs_thoughts:
        return
    for turn_index, content in enumerate(contents):
        if content.get("role") != "model":
            continue
        for part_index, part in enumerate(content.get("parts", [])):
            _check_part(part, key, turn_index + 1, part_index + 1)


def _check_part(part: dict[str, Any], key: bytes, turn: int, position: int) -> None:
    signature = part.get("thoughtSignature")
    blob = part.get("inlineData")
    if signature is None:
        if blob is not None:
            raise ApiError(400, MISSING_SIGNATURE.format(turn, position))
        return
    data = blob.get("data") if blob else None
    mime_type = blob.get("mimeType", "") if blob else ""
    expected = _mac(key, data, mime_type.lower(), part.get("text"), bool(part.get("thought")))
    if not hmac.compare_digest(signature, expected):
        raise ApiError(400, CORRUPTED_SIGNATURE)


def _mac(key: bytes, data: bytes | None, mime_type: str, text: str | None, thought: bool) -> bytes:
    digest = hashlib.sha256(data).hexdigest() if data is not None else "-"
    text_digest = hashlib.sha256(text.encode()).hexdigest() if text is not None else "-"
    message = f"{int(thought)}|{mime_type}|{digest}|{text_digest}"
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
