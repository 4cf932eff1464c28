"""The output directory's JSONL manifest: one line per finished job, crash-safe.

Invariants, which hold whenever the process dies (SIGKILL included):

* a line is appended only after the image files it names were written atomically
  (temporary file, fsync, rename) and the directory entry was synced;
* each line is written with one ``write`` and fsynced before the next job is recorded;
* a torn last line (the process died mid-write) is cut off when the manifest is opened,
  so later appends never follow a partial line; a complete last line that only lacks its
  newline is kept and given one.

On resume a job counts as finished only if every file its line names is a regular file
directly inside the output directory (no path, no symlink) with the recorded size and
SHA-256 (`verify_files`).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
import pathlib
import re
import stat
import threading
from collections.abc import Iterator
from typing import BinaryIO, Literal

import attrs
import cattrs

from routerhub_images._constants import LOGGER_NAME
from routerhub_images._errors import ManifestLockedError

__all__ = [
    "MANIFEST_NAME",
    "ImageFile",
    "JobError",
    "Manifest",
    "ManifestEntry",
    "TokenUsage",
    "read_manifest",
]

logger = logging.getLogger(LOGGER_NAME)

MANIFEST_NAME = "manifest.jsonl"
"""File name of the manifest inside the output directory."""

MANIFEST_VERSION = 1
"""Written as ``version`` on every line; bumped if the line format changes incompatibly."""

_HASH_CHUNK = 1 << 20
"""Bytes read at a time when hashing an image file."""

_TEMP_FILE = re.compile(r"\..+\.[0-9a-f]{16}\.tmp")
"""Names `atomic_write_bytes` gives its temporary files."""

Status = Literal["ok", "failed"]


@attrs.frozen(kw_only=True)
class ImageFile:
    """An image file written for a job.

    Attributes:
        name: The file name in the output directory.
        size: Its size in bytes.
        mime_type: The MIME type sniffed from the bytes.
        sha256: Hex SHA-256 of the bytes written; None in lines written before it was
            recorded (then a resume checks the size only).
    """

    name: str
    size: int
    mime_type: str
    sha256: str | None = None


@attrs.frozen(kw_only=True)
class TokenUsage:
    """Tokens billed for a call, from the answer's ``usageMetadata`` (0 when absent).

    Attributes:
        image_tokens: Output image tokens (``candidatesTokensDetails`` IMAGE).
        text_tokens: Output text tokens (``candidatesTokensDetails`` TEXT).
        thinking_tokens: ``thoughtsTokenCount``.
        prompt_image_tokens: Prompt image tokens (``promptTokensDetails`` IMAGE).
        cached_tokens: ``cachedContentTokenCount``.
        estimated_cost_usd: The answer's estimated cost in USD (a decimal string, from
            the price table; see ``GenerateContentResponse.cost``), None when unpriced.
    """

    prompt_tokens: int = 0
    candidates_tokens: int = 0
    total_tokens: int = 0
    image_tokens: int = 0
    text_tokens: int = 0
    thinking_tokens: int = 0
    prompt_image_tokens: int = 0
    cached_tokens: int = 0
    estimated_cost_usd: str | None = None


@attrs.frozen(kw_only=True)
class JobError:
    """Why a job failed.

    Attributes:
        type: The exception class name (``ResourceExhaustedError``, ``PromptBlockedError``).
        message: The exception's message.
        status: The Google status (``RESOURCE_EXHAUSTED``) when the server sent one.
        code: The HTTP status when the server answered with an error.
    """

    type: str
    message: str
    status: str | None = None
    code: int | None = None

    @property
    def category(self) -> str:
        """The key of `BatchSummary.failures_by_status`.

        ``"429 RESOURCE_EXHAUSTED"`` for a server error (the HTTP code, then the Google
        status when the body named one), else the exception type (``PromptBlockedError``).
        """
        if self.code is None:
            return self.type
        return f"{self.code} {self.status}" if self.status else str(self.code)


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


@attrs.frozen(kw_only=True)
class ManifestEntry:
    """One manifest line: how one job finished.

    Attributes:
        job_id: The job's id.
        prompt_hash: `BatchJob.prompt_hash` at the time; a changed job is redone.
        status: ``"ok"`` or ``"failed"``.
        files: The images written (ok jobs), in the answer's order.
        usage: Tokens billed, when the server answered.
        attempts: HTTP attempts the call took (retries included).
        elapsed_seconds: Seconds the call took, retry waits included.
        finished_at: UTC time the job finished, ISO 8601.
        error: Why the job failed (failed jobs).
        version: `MANIFEST_VERSION`.
    """

    job_id: str
    prompt_hash: str
    status: Status
    files: tuple[ImageFile, ...] = ()
    usage: TokenUsage | None = None
    attempts: int = 0
    elapsed_seconds: float = 0.0
    finished_at: str = attrs.field(factory=_utc_now)
    error: JobError | None = None
    version: int = MANIFEST_VERSION


_converter = cattrs.Converter()


def dumps_entry(entry: ManifestEntry) -> bytes:
    """One manifest line, newline included."""
    payload = _converter.unstructure(entry)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def loads_entry(line: bytes) -> ManifestEntry:
    """Parse one manifest line; unknown keys are ignored (newer writers).

    Raises:
        ValueError: the line is not a manifest entry.
    """
    try:
        return _converter.structure(json.loads(line), ManifestEntry)
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
        raise ValueError(f"not a manifest entry: {exc}") from exc


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read every valid line of a manifest file, oldest first.

    A torn last line (the writer was killed mid-write) and unreadable lines are
    skipped, the latter with a warning; a last line that is a whole entry without its
    newline is kept. A missing file reads as empty.
    """
    try:
        data = pathlib.Path(path).read_bytes()
    except FileNotFoundError:
        return []
    return list(_parse(data))


def _kept_length(data: bytes) -> int:
    """How much of ``data`` to keep.

    All complete lines, and a last line without its newline if it is a whole entry (only
    the newline was lost); a torn tail is dropped.
    """
    complete = data.rfind(b"\n") + 1
    tail = data[complete:]
    if not tail.strip():
        return complete
    try:
        loads_entry(tail)
    except ValueError:
        return complete
    return len(data)


def _parse(data: bytes) -> Iterator[ManifestEntry]:
    kept = data[: _kept_length(data)]
    for number, line in enumerate(kept.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            yield loads_entry(line)
        except ValueError as exc:
            logger.warning("Skipping manifest line %d: %s", number, exc)


def verify_files(directory: pathlib.Path, entry: ManifestEntry) -> str | None:
    """Why the files of ``entry`` cannot be trusted, or None when they all can.

    Each file must be named by a plain file name (no directory part, so nothing outside
    ``directory`` is opened), be a regular file (a symlink is not followed), and have the
    recorded size and SHA-256. A line without a hash (an older manifest) is checked
    by size only.
    """
    for image in entry.files:
        problem = _file_problem(directory, image)
        if problem is not None:
            return f"{image.name!r} {problem}"
    return None


def _file_problem(directory: pathlib.Path, image: ImageFile) -> str | None:
    if not _is_plain_name(image.name):
        return "is not a file name inside the output directory"
    path = directory / image.name
    if path.is_symlink():
        return "is a symlink"
    # O_NOFOLLOW: a symlink swapped in after the check is not followed; O_NONBLOCK: a
    # FIFO planted under the name cannot block the open.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be opened ({exc.strerror})"
    with os.fdopen(fd, "rb") as file:
        return _content_problem(file, image)


def _content_problem(file: BinaryIO, image: ImageFile) -> str | None:
    info = os.fstat(file.fileno())
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_size != image.size:
        return f"has {info.st_size} bytes, not the {image.size} recorded"
    if image.sha256 is not None and _sha256(file) != image.sha256:
        return "has changed since it was written (SHA-256 differs)"
    return None


def _is_plain_name(name: str) -> bool:
    """A single file name on every OS: no separator, drive, NUL, ``.`` or ``..``."""
    return (
        name not in {"", ".", ".."}
        and "\x00" not in name
        and name == pathlib.PurePosixPath(name).name == pathlib.PureWindowsPath(name).name
    )


def _sha256(file: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := file.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``, as `ImageFile.sha256` records it."""
    return hashlib.sha256(data).hexdigest()


def fsync_directory(path: pathlib.Path) -> None:
    """Make renames and new files in ``path`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


class Manifest:
    """The manifest of one output directory, opened for appending; use `open`.

    Holds an exclusive lock on the file (where the OS has ``flock``) while open, so
    two runs cannot write into one directory.

    Attributes:
        directory: The output directory.
        path: The manifest file.
        latest: The last entry of each job id, as read when opened and appended since.
    """

    def __init__(self, directory: pathlib.Path, fd: int, latest: dict[str, ManifestEntry]):
        self.directory = directory
        self.path = directory / MANIFEST_NAME
        self.latest = latest
        self._fd: int | None = fd
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> Manifest:
        """Create or open ``directory/manifest.jsonl``, repair a torn tail, lock it.

        Also deletes temporary files that a killed run left in the directory.

        Raises:
            ManifestLockedError: another process holds the manifest.
            OSError: the directory cannot be created or the file opened.
        """
        folder = pathlib.Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MANIFEST_NAME
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o666)
        try:
            _lock(fd, path)
            latest = _repair_and_read(fd, path)
        except BaseException:
            os.close(fd)
            raise
        if created:
            fsync_directory(folder)
        _remove_temp_files(folder)
        return cls(folder, fd, latest)

    def recorded(self, job_id: str, prompt_hash: str) -> ManifestEntry | None:
        """The job's last line if it is ``ok`` for the same ``prompt_hash``, else None.

        Its files are not checked: see `verify_files`.
        """
        entry = self.latest.get(job_id)
        if entry is None or entry.status != "ok" or entry.prompt_hash != prompt_hash:
            return None
        return entry

    def append(self, entry: ManifestEntry) -> None:
        """Append one line with a single write, then fsync it; thread-safe.

        Raises:
            ValueError: the manifest is closed.
            OSError: the write failed (disk full, ...).
        """
        line = dumps_entry(entry)
        with self._lock:
            if self._fd is None:
                raise ValueError("the manifest is closed")
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
            self.latest[entry.job_id] = entry

    def close(self) -> None:
        """Release the lock and close the file; idempotent."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _lock(fd: int, path: pathlib.Path) -> None:
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ManifestLockedError(
            f"{path} is in use by another batch run; give each run its own output directory"
        ) from None


def _repair_and_read(fd: int, path: pathlib.Path) -> dict[str, ManifestEntry]:
    data = path.read_bytes()
    keep = _kept_length(data)
    if keep < len(data):
        logger.warning(
            "Discarding a torn last line of %s (%d bytes): a run was killed mid-write",
            path,
            len(data) - keep,
        )
        os.ftruncate(fd, keep)
        os.fsync(fd)
    elif data and not data.endswith(b"\n"):
        # A whole entry missing only its newline: end it, so the next append starts a line.
        os.write(fd, b"\n")
        os.fsync(fd)
    return {entry.job_id: entry for entry in _parse(data[:keep])}


def _remove_temp_files(folder: pathlib.Path) -> None:
    for item in folder.iterdir():
        if _TEMP_FILE.fullmatch(item.name):
            with contextlib.suppress(OSError):
                item.unlink()
