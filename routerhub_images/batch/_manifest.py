"""The output directory's JSONL manifest: one line per finished job, crash-safe.

Invariants, which hold whenever the process dies (SIGKILL included):

* a line is appended only after the image files it names were written atomically
  (temporary file, fsync, rename) and the directory entry was synced;
* each line is written with one ``write`` and fsynced before the next job is recorded;
* a torn last line (the process died mid-write) is cut off when the manifest is opened,
  so later appends never follow a partial line.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import pathlib
import re
import threading
from collections.abc import Iterator
from typing import Literal

import attrs
import cattrs

from routerhub_images._constants import LOGGER_NAME
from routerhub_images._errors import RouterHubError

__all__ = [
    "MANIFEST_NAME",
    "ImageFile",
    "JobError",
    "Manifest",
    "ManifestEntry",
    "ManifestLockedError",
    "TokenUsage",
    "read_manifest",
]

logger = logging.getLogger(LOGGER_NAME)

MANIFEST_NAME = "manifest.jsonl"
"""File name of the manifest inside the output directory."""

MANIFEST_VERSION = 1
"""Written as ``version`` on every line; bumped if the line format changes incompatibly."""

_TEMP_FILE = re.compile(r"\..+\.[0-9a-f]{16}\.tmp")
"""Names `atomic_write_bytes` gives its temporary files."""

Status = Literal["ok", "failed"]


class ManifestLockedError(RouterHubError):
    """Another process is running a batch into the same output directory."""


@attrs.frozen(kw_only=True)
class ImageFile:
    """An image file written for a job: its name in the output directory and size."""

    name: str
    size: int
    mime_type: str


@attrs.frozen(kw_only=True)
class TokenUsage:
    """Tokens billed for a call, from the answer's ``usageMetadata`` (0 when absent)."""

    prompt_tokens: int = 0
    candidates_tokens: int = 0
    total_tokens: int = 0


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

    A torn last line (no newline: the writer was killed) and unreadable lines are
    skipped, the latter with a warning. A missing file reads as empty.
    """
    try:
        data = pathlib.Path(path).read_bytes()
    except FileNotFoundError:
        return []
    return list(_parse(data))


def _parse(data: bytes) -> Iterator[ManifestEntry]:
    complete = data[: data.rfind(b"\n") + 1]
    for number, line in enumerate(complete.split(b"\n")[:-1], start=1):
        if not line.strip():
            continue
        try:
            yield loads_entry(line)
        except ValueError as exc:
            logger.warning("Skipping manifest line %d: %s", number, exc)


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

    def finished(self, job_id: str, prompt_hash: str) -> ManifestEntry | None:
        """The ok entry of a job that need not run again, else None.

        A job is finished when its last line is ``ok`` for the same ``prompt_hash``
        and every file it names exists with the recorded size.
        """
        entry = self.latest.get(job_id)
        if entry is None or entry.status != "ok" or entry.prompt_hash != prompt_hash:
            return None
        for image in entry.files:
            try:
                if (self.directory / image.name).stat().st_size != image.size:
                    return None
            except OSError:
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
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        logger.warning(
            "Discarding a torn last line of %s (%d bytes): a run was killed mid-write",
            path,
            len(data) - keep,
        )
        os.ftruncate(fd, keep)
        os.fsync(fd)
    return {entry.job_id: entry for entry in _parse(data[:keep])}


def _remove_temp_files(folder: pathlib.Path) -> None:
    for item in folder.iterdir():
        if _TEMP_FILE.fullmatch(item.name):
            with contextlib.suppress(OSError):
                item.unlink()
