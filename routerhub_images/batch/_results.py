"""What a batch reports: per-job results, progress events and the final summary."""

from __future__ import annotations

import decimal
import pathlib
from collections.abc import Mapping
from typing import Literal

import attrs

from routerhub_images._retry import RetryEvent

from ._jobs import BatchJob
from ._manifest import JobError, TokenUsage

__all__ = [
    "BatchEvent",
    "BatchProgress",
    "BatchSummary",
    "JobFailed",
    "JobResult",
    "JobRetrying",
    "JobSkipped",
    "JobStarted",
    "JobSucceeded",
    "RateChanged",
]

JobStatus = Literal["ok", "failed", "skipped"]


@attrs.frozen(kw_only=True)
class JobResult:
    """How one job ended in this run.

    Attributes:
        job: The job.
        status: ``"ok"``, ``"failed"``, or ``"skipped"`` (finished by an earlier run).
        files: Paths of the images, in the answer's order (ok and skipped jobs).
        usage: Tokens billed by this run's call (None when skipped or unanswered).
        attempts: HTTP attempts this run made (0 when skipped or rejected locally).
        elapsed_seconds: Seconds the call took, retry waits included.
        error: Why the job failed.
        exception: The exception behind ``error``, for callers who want to raise it.
    """

    job: BatchJob
    status: JobStatus
    files: tuple[pathlib.Path, ...] = ()
    usage: TokenUsage | None = None
    attempts: int = 0
    elapsed_seconds: float = 0.0
    error: JobError | None = None
    exception: Exception | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """True for ``ok`` and ``skipped``: the job's images are on disk."""
        return self.status != "failed"


@attrs.frozen(kw_only=True)
class BatchProgress:
    """Counts at the time of an event, for a progress bar.

    Attributes:
        total: Number of jobs, when the jobs were given as a sized collection.
        started: Calls started.
        ok: Jobs finished with images.
        failed: Jobs finished with a recorded failure.
        skipped: Jobs finished by an earlier run.
        in_flight: Calls in progress.
        concurrency: Calls allowed in flight (the batch's ``concurrency``).
        rpm: The pacing rate now, in requests per minute (`AdaptiveRate`).
        retries: Retries the client has scheduled so far (counted as they happen).
    """

    total: int | None
    started: int
    ok: int
    failed: int
    skipped: int
    in_flight: int
    concurrency: int
    rpm: float
    retries: int

    @property
    def done(self) -> int:
        """Jobs finished one way or another."""
        return self.ok + self.failed + self.skipped


@attrs.frozen
class JobStarted:
    """A job's call is about to be sent."""

    job: BatchJob
    progress: BatchProgress


@attrs.frozen
class JobSucceeded:
    """A job's images are written and its manifest line recorded."""

    result: JobResult
    progress: BatchProgress


@attrs.frozen
class JobFailed:
    """A job failed; its failure is recorded in the manifest (redone on restart)."""

    result: JobResult
    progress: BatchProgress


@attrs.frozen
class JobSkipped:
    """A job was finished by an earlier run: its manifest line and files are there."""

    result: JobResult
    progress: BatchProgress


@attrs.frozen
class JobRetrying:
    """The client is about to retry a job's call: ``retry`` says why and after how long."""

    job: BatchJob
    retry: RetryEvent
    progress: BatchProgress


@attrs.frozen
class RateChanged:
    """A rate-limit answer cut the batch's pacing rate to ``rpm`` requests per minute."""

    rpm: float
    progress: BatchProgress


BatchEvent = JobStarted | JobSucceeded | JobFailed | JobSkipped | JobRetrying | RateChanged
"""Everything ``on_event`` receives."""


@attrs.frozen(kw_only=True)
class BatchSummary:
    """Totals of one run.

    Attributes:
        jobs: Jobs seen (ok + failed + skipped).
        ok: Jobs that produced images in this run.
        failed: Jobs that failed in this run.
        skipped: Jobs already finished by an earlier run.
        images_written: Image files written in this run.
        prompt_tokens: ``promptTokenCount`` summed over this run's answers.
        candidates_tokens: ``candidatesTokenCount`` summed.
        total_tokens: ``totalTokenCount`` summed.
        image_tokens: Output image tokens summed.
        text_tokens: Output text tokens summed.
        thinking_tokens: Thinking tokens summed.
        estimated_cost_usd: The estimated cost of this run's answers in USD (from the
            price table; an estimate, not a bill), None when none could be priced.
        failures_by_status: Failed jobs by HTTP code and Google status
            (``"429 RESOURCE_EXHAUSTED"``), or by exception type for failures without
            an error answer (``PromptBlockedError``, ``APITimeoutError``).
        requests: HTTP attempts made (retries included; calls rejected locally excluded).
        retries: Attempts beyond the first of each call.
        congestion_signals: Rate-limit answers (429, daily quotas aside) seen, retried or not.
        elapsed_seconds: Wall time of the run.
        redone: Jobs an earlier run recorded as finished that ran again because a file
            was missing, changed (size or SHA-256), or not a plain file inside the output
            directory; counted in ``ok`` or ``failed`` too.
        stopped_reason: Why the run stopped starting new jobs early (an invalid key,
            no credit, a daily quota), else None; unstarted jobs have no manifest line.
    """

    jobs: int
    ok: int
    failed: int
    skipped: int
    images_written: int
    prompt_tokens: int
    candidates_tokens: int
    total_tokens: int
    failures_by_status: Mapping[str, int]
    requests: int
    retries: int
    congestion_signals: int
    elapsed_seconds: float
    stopped_reason: str | None = None
    redone: int = 0
    image_tokens: int = 0
    text_tokens: int = 0
    thinking_tokens: int = 0
    estimated_cost_usd: decimal.Decimal | None = None

    @property
    def requests_per_minute(self) -> float:
        """HTTP attempts per minute achieved over the run."""
        return self.requests * 60.0 / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def images_per_minute(self) -> float:
        """Image files written per minute over the run."""
        if self.elapsed_seconds <= 0:
            return 0.0
        return self.images_written * 60.0 / self.elapsed_seconds

    @property
    def ok_per_minute(self) -> float:
        """Jobs finished with images per minute over the run."""
        return self.ok * 60.0 / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0
