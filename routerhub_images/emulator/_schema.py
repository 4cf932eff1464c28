"""Known request fields per message type, from Google's discovery document.

Each field maps to a kind: ``string``, ``bool``, ``int``, ``number``, ``bytes``, ``any``
(accepted without a look inside), ``enum:<Enum>`` or ``@<Message>``; a ``[]`` prefix marks a
repeated field. ``imageSize`` and ``thinkingLevel`` are newer than the discovery document.
"""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "GenerateContentRequest": {
        "model": "string",
        "systemInstruction": "@Content",
        "contents": "[]@Content",
        "tools": "[]any",
        "toolConfig": "any",
        "safetySettings": "[]@SafetySetting",
        "generationConfig": "@GenerationConfig",
        "cachedContent": "string",
    },
    "Content": {"parts": "[]@Part", "role": "string"},
    "Part": {
        "text": "string",
        "inlineData": "@Blob",
        "functionCall": "any",
        "functionResponse": "any",
        "fileData": "@FileData",
        "executableCode": "any",
        "codeExecutionResult": "any",
        "videoMetadata": "any",
        "thought": "bool",
        "thoughtSignature": "bytes",
        "partMetadata": "any",
    },
    "Blob": {"mimeType": "string", "data": "bytes"},
    "FileData": {"mimeType": "string", "fileUri": "string"},
    "GenerationConfig": {
        "candidateCount": "int",
        "stopSequences": "[]string",
        "maxOutputTokens": "int",
        "temperature": "number",
        "topP": "number",
        "topK": "int",
        "seed": "int",
        "responseMimeType": "string",
        "responseSchema": "any",
        "_responseJsonSchema": "any",
        "responseJsonSchema": "any",
        "presencePenalty": "number",
        "frequencyPenalty": "number",
        "responseLogprobs": "bool",
        "logprobs": "int",
        "enableEnhancedCivicAnswers": "bool",
        "responseModalities": "[]enum:Modality",
        "speechConfig": "any",
        "thinkingConfig": "@ThinkingConfig",
        "imageConfig": "@ImageConfig",
        "mediaResolution": "enum:MediaResolution",
    },
    "ImageConfig": {"aspectRatio": "string", "imageSize": "string"},
    "ThinkingConfig": {
        "includeThoughts": "bool",
        "thinkingBudget": "int",
        "thinkingLevel": "enum:ThinkingLevel",
    },
    "SafetySetting": {
        "category": "enum:HarmCategory",
        "threshold": "enum:HarmBlockThreshold",
    },
}
"""Field kinds by camelCase wire name, per message type."""

ENUMS: Mapping[str, frozenset[str]] = {
    "Modality": frozenset({"MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"}),
    "MediaResolution": frozenset(
        {
            "MEDIA_RESOLUTION_UNSPECIFIED",
            "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM",
            "MEDIA_RESOLUTION_HIGH",
        }
    ),
    "ThinkingLevel": frozenset({"THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"}),
    "HarmCategory": frozenset(
        {
            "HARM_CATEGORY_UNSPECIFIED",
            "HARM_CATEGORY_DEROGATORY",
            "HARM_CATEGORY_TOXICITY",
            "HARM_CATEGORY_VIOLENCE",
            "HARM_CATEGORY_SEXUAL",
            "HARM_CATEGORY_MEDICAL",
            "HARM_CATEGORY_DANGEROUS",
            "HARM_CATEGORY_HARASSMENT",
            "HARM_CATEGORY_HATE_SPEECH",
            "HARM_CATEGORY_SEXUALLY_EXPLICIT",
            "HARM_CATEGORY_DANGEROUS_CONTENT",
            "HARM_CATEGORY_CIVIC_INTEGRITY",
        }
    ),
    "HarmBlockThreshold": frozenset(
        {
            "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
            "BLOCK_LOW_AND_ABOVE",
            "BLOCK_MEDIUM_AND_ABOVE",
            "BLOCK_ONLY_HIGH",
            "BLOCK_NONE",
            "OFF",
        }
    ),
}
"""Accepted enum values (matched without regard to case)."""

ONEOFS: Mapping[str, tuple[str, ...]] = {
    "Part": (
        "text",
        "inlineData",
        "functionCall",
        "functionResponse",
        "fileData",
        "executableCode",
        "codeExecutionResult",
    ),
}
"""The ``data`` oneof of each message that has one: at most one may be set."""

TYPE_NAMES = {
    "string": "TYPE_STRING",
    "bool": "TYPE_BOOL",
    "int": "TYPE_INT32",
    "number": "TYPE_FLOAT",
    "bytes": "TYPE_BYTES",
}
"""Google's names for scalar kinds, quoted in "Invalid value" messages."""

TYPE_URL = "type.googleapis.com/google.ai.generativelanguage.v1beta."
"""Prefix of message and enum type names in "Invalid value" messages."""
