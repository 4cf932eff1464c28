"""Batch jobs: the job model, loading a jobs file, job ids and sharding.

A job id names the job's output files and its manifest lines, so it must be stable
across restarts: when a jobs file gives none, the id is a hash of the job's content.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from routerhub_images._errors import DuplicateJobError, InvalidInputError, JobFileError

__all__ = [
    "BatchJob",
    "content_hash",
    "load_jobs",
    "parse_shard",
    "shard",
]

JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""Allowed job ids: they become file names, so no separators, no leading dot, <= 128 chars."""

AUTO_ID_CHARS = 16
"""Hex digits of a content hash used as a job id (64 bits: no collision in practice)."""

JSONL_SUFFIXES = (".jsonl", ".ndjson")
"""File suffixes read as JSON Lines whatever their first character."""

_JSONL_KEYS = frozenset({"id", "prompt", "model", "aspect_ratio", "image_size", "seed", "images"})
_IMAGE_SUFFIX = re.compile(r"(?P<base>.+)-(?P<index>\d+)")


def _check_id(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not JOB_ID_PATTERN.fullmatch(value):
        raise JobFileError(
            f"job id {value!r} is not usable as a file name: use 1-128 of A-Z a-z 0-9 . _ - "
            "starting with a letter or digit"
        )


def _check_prompt(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise JobFileError("a job's prompt must be a non-empty string")


def _str_tuple(value: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    return tuple(os.fspath(v) for v in value)


@attrs.frozen(kw_only=True)
class BatchJob:
    """One image to generate (or edit) in a batch.

    Build one with `BatchJob.create` to get a content-derived id, or pass ``id``.

    Attributes:
        id: Names the output files (``<id>.png``, ``<id>-2.png``) and manifest lines;
            1-128 characters of ``A-Z a-z 0-9 . _ -``, not starting with ``.``/``_``/``-``.
        prompt: The text prompt (for an edit, the instruction).
        model: Model name; None for the client's ``default_model``.
        aspect_ratio: e.g. ``"16:9"``; None for the model's default.
        image_size: e.g. ``"1K"``; None for the model's default.
        seed: Seed for reproducible output.
        images: Input image paths; when any are given the job is an edit.
    """

    id: str = attrs.field(validator=_check_id)
    prompt: str = attrs.field(validator=_check_prompt)
    model: str | None = None
    aspect_ratio: str | None = None
    image_size: str | None = None
    seed: int | None = None
    images: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @classmethod
    def create(
        cls,
        prompt: str,
        *,
        id: str | None = None,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        images: Iterable[str | os.PathLike[str]] = (),
    ) -> BatchJob:
        """A job whose id, unless given, is a hash of its content (see `content_hash`).

        Raises:
            JobFileError: an invalid id or an empty prompt.
        """
        paths = _str_tuple(images)
        if id is None:
            id = content_hash(
                prompt,
                model=model,
                aspect_ratio=aspect_ratio,
                image_size=image_size,
                seed=seed,
                images=paths,
            )[:AUTO_ID_CHARS]
        return cls(
            id=id,
            prompt=prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            seed=seed,
            images=paths,
        )

    @property
    def prompt_hash(self) -> str:
        """SHA-256 of what the job asks for: prompt, model and options (not image paths).

        Written to the manifest; on restart a finished job is redone if its hash
        changed. Input image paths are left out so moving the inputs does not redo
        finished work.
        """
        return content_hash(
            self.prompt,
            model=self.model,
            aspect_ratio=self.aspect_ratio,
            image_size=self.image_size,
            seed=self.seed,
        )


def content_hash(
    prompt: str,
    *,
    model: str | None = None,
    aspect_ratio: str | None = None,
    image_size: str | None = None,
    seed: int | None = None,
    images: tuple[str, ...] = (),
    occurrence: int = 1,
) -> str:
    """Hex SHA-256 of a job's content, stable across runs, machines and Python versions.

    ``occurrence`` tells apart identical jobs in one file (the second copy of a line
    gets ``occurrence=2``), so repeating a prompt asks for another image.
    """
    fields: dict[str, Any] = {
        "prompt": prompt,
        "model": model,
        "aspect_ratio": aspect_ratio,
        "image_size": image_size,
        "seed": seed,
    }
    if images:
        fields["images"] = list(images)
    if occurrence > 1:
        fields["occurrence"] = occurrence
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class JobIds:
    """Detects job ids that would share output files; feed it ids in order.

    Two ids clash when they are equal ignoring case (case-insensitive file systems)
    or when one is another's name for a further image (``cat`` and ``cat-2``).
    """

    def __init__(self) -> None:
        self._where: dict[str, str] = {}
        self._bases: dict[str, str] = {}

    def add(self, job_id: str, where: str) -> None:
        """Record ``job_id`` found at ``where`` (e.g. ``"jobs.txt line 3"``).

        Raises:
            DuplicateJobError: the id clashes with one added before.
        """
        key = job_id.casefold()
        if key in self._where:
            raise DuplicateJobError(
                f"{where}: job id {job_id!r} repeats the id of {self._where[key]}"
            )
        if key in self._bases:
            raise DuplicateJobError(
                f"{where}: job id {job_id!r} would share output files with {self._bases[key]} "
                f"(whose further images are named {job_id}-N)"
            )
        match = _IMAGE_SUFFIX.fullmatch(key)
        if match and match["base"] in self._where:
            raise DuplicateJobError(
                f"{where}: job id {job_id!r} would share an output file with "
                f"{self._where[match['base']]} (its image {match['index']})"
            )
        self._where[key] = where
        if match:
            self._bases.setdefault(match["base"], where)


def load_jobs(path: str | os.PathLike[str]) -> list[BatchJob]:
    """Read a jobs file: plain text (one prompt per line) or JSON Lines.

    JSON Lines is recognised by a ``.jsonl``/``.ndjson`` suffix or a first non-blank,
    non-comment character ``{``. Each JSONL line is an object with ``prompt`` and
    optionally ``id``, ``model``, ``aspect_ratio``, ``image_size``, ``seed`` and
    ``images`` (input paths, relative to the jobs file's directory). In both formats
    blank lines and lines starting with ``#`` are skipped.

    Jobs without an ``id`` get the first `AUTO_ID_CHARS` hex digits of `content_hash`,
    so a restart finds them again; a repeated identical job gets a different id (its
    occurrence number is hashed in), so repeating a line asks for another image.

    Raises:
        JobFileError: the file cannot be read, a line is not valid, or it has no jobs.
        DuplicateJobError: two ids are equal (ignoring case) or would share output
            files (``cat`` and ``cat-2``).
    """
    file = pathlib.Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobFileError(f"cannot read jobs file {str(file)!r}: {exc}") from exc
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    as_jsonl = file.suffix.lower() in JSONL_SUFFIXES or (bool(lines) and lines[0][1][0] == "{")
    jobs: list[BatchJob] = []
    ids = JobIds()
    seen: dict[str, int] = {}
    for number, line in lines:
        where = f"{file.name} line {number}"
        try:
            fields = _jsonl_fields(line, file.parent) if as_jsonl else {"prompt": line}
            job = _make_job(fields, seen)
        except JobFileError as exc:
            raise JobFileError(f"{where}: {exc}") from None
        ids.add(job.id, where)
        jobs.append(job)
    if not jobs:
        raise JobFileError(f"jobs file {str(file)!r} has no jobs")
    return jobs


def _make_job(fields: Mapping[str, Any], seen: dict[str, int]) -> BatchJob:
    given = {k: v for k, v in fields.items() if k not in ("id", "raw_images")}
    if fields.get("id") is not None:
        return BatchJob.create(id=fields["id"], **given)
    content: dict[str, Any] = {
        "model": fields.get("model"),
        "aspect_ratio": fields.get("aspect_ratio"),
        "image_size": fields.get("image_size"),
        "seed": fields.get("seed"),
        "images": tuple(fields.get("raw_images", ())),
    }
    digest = content_hash(fields["prompt"], **content)
    seen[digest] = occurrence = seen.get(digest, 0) + 1
    if occurrence > 1:
        digest = content_hash(fields["prompt"], **content, occurrence=occurrence)
    return BatchJob.create(id=digest[:AUTO_ID_CHARS], **given)


def _jsonl_fields(line: str, base: pathlib.Path) -> dict[str, Any]:
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise JobFileError(f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise JobFileError("a JSONL job must be an object")
    unknown = sorted(set(raw) - _JSONL_KEYS)
    if unknown:
        raise JobFileError(f"unknown key(s) {', '.join(unknown)}; known: {sorted(_JSONL_KEYS)}")
    if not isinstance(raw.get("prompt"), str):
        raise JobFileError("'prompt' (a string) is required")
    fields: dict[str, Any] = {"prompt": raw["prompt"]}
    job_id = raw.get("id")
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        job_id = str(job_id)
    fields["id"] = _optional(raw, "id", str, job_id)
    for key in ("model", "aspect_ratio", "image_size"):
        fields[key] = _optional(raw, key, str, raw.get(key))
    seed = raw.get("seed")
    if isinstance(seed, bool):
        raise JobFileError("'seed' must be an integer")
    fields["seed"] = _optional(raw, "seed", int, seed)
    images = raw.get("images", [])
    if isinstance(images, str):
        images = [images]
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        raise JobFileError("'images' must be a list of file paths")
    fields["raw_images"] = tuple(images)
    fields["images"] = tuple(os.fspath(base / i) for i in images)
    return fields


_KIND_NAMES = {str: "a string", int: "an integer"}


def _optional(raw: Mapping[str, Any], key: str, kind: type, value: Any) -> Any:
    if value is not None and not isinstance(value, kind):
        name = _KIND_NAMES.get(kind, kind.__name__)
        raise JobFileError(f"{key!r} must be {name}, not {type(value).__name__}")
    return value


def shard(jobs: Iterable[BatchJob], k: int, n: int) -> list[BatchJob]:
    """The jobs of shard ``k`` out of ``n`` (0-based: ``0 <= k < n``).

    A job belongs to shard ``int(sha256(job.id)) % n``: the split depends only on ids,
    never on order or on the machine, so ``n`` workers given the same jobs file and
    ``k = 0 .. n-1`` (a Kubernetes ``JOB_COMPLETION_INDEX``, a Slurm
    ``SLURM_ARRAY_TASK_ID``) each take a disjoint part and together cover every job.

    Raises:
        InvalidInputError: ``n < 1`` or ``k`` outside ``0 .. n-1``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"shard count must be an integer >= 1, not {n!r}")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        raise InvalidInputError(f"shard index must be an integer in 0..{n - 1}, not {k!r}")
    return [job for job in jobs if shard_of(job.id, n) == k]


def shard_of(job_id: str, n: int) -> int:
    """The 0-based shard of ``job_id`` among ``n`` shards."""
    digest = hashlib.sha256(job_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"K/N"`` (0-based ``K``, e.g. ``"0/4"`` .. ``"3/4"``) into ``(K, N)``.

    Raises:
        InvalidInputError: not of the form ``K/N`` with ``0 <= K < N``.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise InvalidInputError(f"shard must look like K/N (0-based K, e.g. 0/4), not {text!r}")
    k, n = int(match[1]), int(match[2])
    if n < 1 or k >= n:
        raise InvalidInputError(f"shard {text!r}: need 0 <= K < N (K is 0-based)")
    return k, n
