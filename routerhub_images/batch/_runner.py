"""BatchRunner: many jobs on one client, bounded, rate-aware, resumable."""

from __future__ import annotations

import collections
import decimal
import functools
import logging
import os
import pathlib
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence, Sized
from typing import TYPE_CHECKING

import anyio
import attrs

from routerhub_images._constants import LOGGER_NAME
from routerhub_images._errors import (
    APIStatusError,
    ClientClosedError,
    InsufficientCreditError,
    InvalidInputError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from routerhub_images._images import GeneratedImage, atomic_write_bytes
from routerhub_images._retry import RetryEvent, instant_retries_enabled, observe_retries

from ._jobs import BatchJob, JobIds
from ._limits import AdaptiveRate
from ._manifest import (
    ImageFile,
    JobError,
    Manifest,
    ManifestEntry,
    TokenUsage,
    fsync_directory,
    sha256_hex,
    verify_files,
)
from ._results import (
    BatchEvent,
    BatchProgress,
    BatchSummary,
    JobFailed,
    JobResult,
    JobRetrying,
    JobSkipped,
    JobStarted,
    JobSucceeded,
    RateChanged,
)

if TYPE_CHECKING:
    from routerhub_images._client import AsyncImageClient
    from routerhub_images._types import GenerateContentResponse

__all__ = ["DEFAULT_CONCURRENCY", "BatchRunner"]

logger = logging.getLogger(LOGGER_NAME)

DEFAULT_CONCURRENCY = 8
"""Calls in flight at most, unless the batch is given another ``concurrency``."""

Deliver = Callable[[JobResult], Awaitable[None]]


class BatchRunner:
    """Runs many `BatchJob` on one client, writing images and a manifest to ``out_dir``.

    Jobs are pulled from the iterable by ``concurrency`` workers, so 10,000 jobs never
    become 10,000 tasks and memory stays flat. Each job ends either with its images
    written (``out_dir/<id>.<ext>``, further images ``<id>-2.<ext>`` ...) or with a
    recorded failure; a failing job never cancels the others. Every finished job gets
    one line in ``out_dir/manifest.jsonl``, written after its images and fsynced.

    Resuming: run the same jobs into the same directory again. A job whose last
    manifest line is ``ok`` for the same prompt and whose files are all there, inside
    ``out_dir``, with the recorded size and SHA-256, is skipped; failed and unfinished
    jobs are run, and so is a job whose files are missing or changed (logged as a
    warning and counted in `BatchSummary.redone`).

    Rate limits slow the whole batch: calls are spaced evenly by one `AdaptiveRate`,
    which slow-starts, and on each 429 (seen the moment the client schedules its
    retry, through `observe_retries`) drops to just under the rate the server let
    through, then probes slowly upwards. The client still retries 429 and 5xx itself,
    waiting the server's delay with a client-wide cooldown; each retry takes a slot
    of the rate. ``rpm`` fixes the starting rate and a ceiling: set it to your quota
    if you know it.

    Some errors fail every later job the same way (a rejected key, no credit left, a
    daily quota): after one, no new job is started, the jobs in flight finish, and
    `BatchSummary.stopped_reason` says why.

    Cancelling the run (Ctrl-C under ``asyncio.run``) cancels the calls in flight; a
    job whose answer arrived is still written and recorded, the others get no
    manifest line and are redone on restart.

    Args:
        client: The client to call; the runner does not close it.
        out_dir: Output directory, created if missing; one run at a time per directory.
        concurrency: Calls in flight at most (`DEFAULT_CONCURRENCY`).
        rpm: Client-side limit in requests per minute, never exceeded; None to find
            the server's limit from its 429 answers.
        rate: The batch's pacing, to tune it (``AdaptiveRate(initial_rpm=300)``) or to
            carry what one run learned about the server's limit into the next: one
            object shared by every run of this runner. By default each run starts a
            fresh ``AdaptiveRate(rpm)``.
        on_event: Called (synchronously, in the event loop) with each `BatchEvent`;
            an exception it raises stops the batch.

    Raises:
        ValueError: ``concurrency`` below 1, ``rpm`` not positive, or both ``rpm`` and
            ``rate`` given.

    Warns:
        UserWarning: ``concurrency`` above the client's ``limits.max_connections``.
    """

    def __init__(
        self,
        client: AsyncImageClient,
        out_dir: str | os.PathLike[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        rpm: float | None = None,
        rate: AdaptiveRate | None = None,
        on_event: Callable[[BatchEvent], None] | None = None,
    ):
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, not {concurrency!r}")
        if rpm is not None and rate is not None:
            raise ValueError("pass rpm or rate, not both: AdaptiveRate(maximum_rpm=...) is rpm")
        if rpm is not None:
            AdaptiveRate(rpm)  # validates
        pool = client.limits.max_connections if client.limits is not None else None
        if pool is not None and concurrency > pool:
            warnings.warn(
                f"concurrency {concurrency} is above the client's {pool} connections: the "
                f"other calls wait for one; create the client with "
                f"limits=Limits(max_connections={concurrency})",
                stacklevel=2,
            )
        self.client = client
        self.out_dir = pathlib.Path(out_dir)
        self.concurrency = concurrency
        self.rpm = rpm
        self.rate = rate
        self.on_event = on_event
        self.summary: BatchSummary | None = None
        """The summary of the last run that finished (`run` or a fully consumed
        `iter_results`)."""

    async def run(self, jobs: Iterable[BatchJob]) -> BatchSummary:
        """Run every job and return the totals.

        Raises:
            DuplicateJobError: two jobs share an id (checked up front for a sequence,
                as they come for an iterator).
            ManifestLockedError: another run holds ``out_dir``.
            OSError: an image or the manifest cannot be written (disk full, ...).
        """
        return await _Run(self, jobs).execute(None)

    async def iter_results(self, jobs: Iterable[BatchJob]) -> AsyncIterator[JobResult]:
        """Run the jobs and yield each `JobResult` as it completes (skipped ones too).

        Results are handed over one at a time, so a slow consumer slows the batch
        rather than piling results up. To stop early, close the iterator (use
        ``contextlib.aclosing``): the calls in flight are cancelled. It raises what
        `run` raises.
        """
        send, receive = anyio.create_memory_object_stream[JobResult]()
        run = _Run(self, jobs)

        async def produce() -> None:
            async with send:
                await run.execute(send.send)

        async with anyio.create_task_group() as group:
            group.start_soon(produce)
            try:
                async with receive:
                    async for result in receive:
                        yield result
            except GeneratorExit:
                # Closed early: end quietly once the workers are cancelled, rather than
                # let the task group wrap GeneratorExit in an exception group.
                pass
            finally:
                group.cancel_scope.cancel()


@attrs.define
class _Outcome:
    """What one call produced, before anything is written."""

    response: GenerateContentResponse | None = None
    images: list[GeneratedImage] = attrs.field(factory=list)
    error: Exception | None = None
    attempts: int = 0
    elapsed: float = 0.0


@attrs.define
class _Tally:
    started: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    images: int = 0
    prompt_tokens: int = 0
    candidates_tokens: int = 0
    total_tokens: int = 0
    image_tokens: int = 0
    text_tokens: int = 0
    thinking_tokens: int = 0
    cost: decimal.Decimal | None = None
    requests: int = 0
    retries: int = 0
    congestion: int = 0
    redone: int = 0
    failures: collections.Counter[str] = attrs.field(factory=collections.Counter)


class _Run:
    """The state of one `BatchRunner.run`."""

    def __init__(self, runner: BatchRunner, jobs: Iterable[BatchJob]):
        self.runner = runner
        self.jobs = jobs
        self.total = len(jobs) if isinstance(jobs, Sized) else None
        self.rate = runner.rate if runner.rate is not None else AdaptiveRate(runner.rpm)
        self.in_flight = 0
        self.tally = _Tally()
        self.stopped: str | None = None
        self.callback_error: Exception | None = None
        self.source: Iterator[BatchJob] = iter(())
        self.ids: JobIds | None = None
        self.manifest: Manifest | None = None

    async def execute(self, deliver: Deliver | None) -> BatchSummary:
        if isinstance(self.jobs, Sequence):
            ids = JobIds()
            for index, job in enumerate(self.jobs):
                ids.add(job.id, f"job {index}")
        else:
            self.ids = JobIds()
        start = time.monotonic()
        with anyio.CancelScope(shield=True):  # a cancelled open would leak the locked file
            manifest = await anyio.to_thread.run_sync(Manifest.open, self.runner.out_dir)
        self.manifest = manifest
        try:
            self.source = iter(self.jobs)
            async with anyio.create_task_group() as group:
                for _ in range(self.runner.concurrency):
                    group.start_soon(self.worker, deliver)
        finally:
            manifest.close()
        summary = self.summary(time.monotonic() - start)
        self.runner.summary = summary
        return summary

    def next_job(self) -> BatchJob | None:
        if self.stopped is not None:
            return None
        job = next(self.source, None)
        if job is not None and self.ids is not None:
            self.ids.add(job.id, f"job {self.tally.started + self.tally.skipped}")
        return job

    async def worker(self, deliver: Deliver | None) -> None:
        while (job := self.next_job()) is not None:
            result = await self.skip(job) or await self.perform(job)
            if result is not None and deliver is not None:
                await deliver(result)

    async def skip(self, job: BatchJob) -> JobResult | None:
        assert self.manifest is not None  # noqa: S101 - set by execute
        entry = self.manifest.recorded(job.id, job.prompt_hash)
        if entry is None:
            return None
        problem = await anyio.to_thread.run_sync(verify_files, self.manifest.directory, entry)
        if problem is not None:
            logger.warning("Running job %s again: its recorded file %s", job.id, problem)
            self.tally.redone += 1
            return None
        files = tuple(self.manifest.directory / f.name for f in entry.files)
        result = JobResult(job=job, status="skipped", files=files)
        self.tally.skipped += 1
        self.emit(JobSkipped(result, self.progress()))
        return result

    async def perform(self, job: BatchJob) -> JobResult | None:
        started_at = await self.rate.acquire()
        if self.stopped is not None:
            return None
        self.tally.started += 1
        self.in_flight += 1
        try:
            self.emit(JobStarted(job, self.progress()))
            with observe_retries(functools.partial(self.retrying, job, started_at)):
                outcome = await self.call(job)
            with anyio.CancelScope(shield=True):
                # The answer is paid for: write it even if the batch is being cancelled.
                result = await anyio.to_thread.run_sync(self.persist, job, outcome)
            self.adapt(outcome, started_at)
        finally:
            self.in_flight -= 1
        if self.callback_error is not None:
            error, self.callback_error = self.callback_error, None
            raise error
        self.account(result, outcome)
        return result

    def retrying(self, job: BatchJob, started_at: float, event: RetryEvent) -> None:
        """The observer of a job's retries: runs as the client schedules each one."""
        self.tally.retries += 1
        rate_limited = _is_rate_limit(event.error)
        # A 429 with a server delay opens the client's cooldown, which every call
        # waits out: the retry goes when it ends, and no new call should go before.
        cooldown = rate_limited and event.source != "backoff" and not instant_retries_enabled()
        self.rate.book(event.delay if cooldown else 0.0)
        try:
            if rate_limited:
                self.rate_limited(started_at)
            self.emit(JobRetrying(job, event, self.progress()))
        except Exception as error:  # the callback's: raised by the worker once the call ends
            self.callback_error = error

    def rate_limited(self, started_at: float) -> None:
        self.tally.congestion += 1
        if self.rate.rate_limited(started_at):
            self.emit(RateChanged(self.rate.rpm, self.progress()))

    async def call(self, job: BatchJob) -> _Outcome:
        client = self.runner.client
        outcome = _Outcome()
        try:
            if job.images:
                response = await client.edit_image(
                    list(job.images),
                    job.prompt,
                    model=job.model,
                    aspect_ratio=job.aspect_ratio,
                    image_size=job.image_size,
                    seed=job.seed,
                )
            else:
                response = await client.generate_image(
                    job.prompt,
                    model=job.model,
                    aspect_ratio=job.aspect_ratio,
                    image_size=job.image_size,
                    seed=job.seed,
                )
            outcome.response = response
            outcome.attempts = response.call.attempts if response.call else 1
            outcome.elapsed = response.call.elapsed_seconds if response.call else 0.0
            outcome.images = response.require_images()
        except Exception as error:  # any failure is recorded, never spread
            outcome.error = error
            call = getattr(error, "call", None)
            if outcome.response is None:
                outcome.attempts = call.attempts if call else _local_attempts(error)
                outcome.elapsed = call.elapsed_seconds if call else 0.0
        return outcome

    def persist(self, job: BatchJob, outcome: _Outcome) -> JobResult:
        """Write the images, then the manifest line (runs in a worker thread)."""
        assert self.manifest is not None  # noqa: S101 - set by execute
        directory = self.manifest.directory
        files: list[ImageFile] = []
        for index, image in enumerate(outcome.images):
            suffix = "" if index == 0 else f"-{index + 1}"
            name = f"{job.id}{suffix}{image.extension}"
            atomic_write_bytes(directory / name, image.data)
            files.append(
                ImageFile(
                    name=name,
                    size=len(image.data),
                    mime_type=image.mime_type,
                    sha256=sha256_hex(image.data),
                )
            )
        if files:
            fsync_directory(directory)
        error = _job_error(outcome.error) if outcome.error is not None else None
        usage = _usage(outcome.response)
        entry = ManifestEntry(
            job_id=job.id,
            prompt_hash=job.prompt_hash,
            status="failed" if error else "ok",
            files=tuple(files),
            usage=usage,
            attempts=outcome.attempts,
            elapsed_seconds=round(outcome.elapsed, 3),
            error=error,
        )
        self.manifest.append(entry)
        return JobResult(
            job=job,
            status=entry.status,
            files=tuple(directory / f.name for f in files),
            usage=usage,
            attempts=outcome.attempts,
            elapsed_seconds=outcome.elapsed,
            error=error,
            exception=outcome.error,
        )

    def adapt(self, outcome: _Outcome, started_at: float) -> None:
        error = outcome.error
        if _is_rate_limit(error):
            # The client gave up on a 429: no retry event announced this one.
            self.rate_limited(started_at)
        elif outcome.response is not None or isinstance(error, APIStatusError):
            self.rate.answered(outcome.elapsed)
        reason = _fatal_reason(error)
        if reason is not None and self.stopped is None:
            self.stopped = reason

    def account(self, result: JobResult, outcome: _Outcome) -> None:
        tally = self.tally
        tally.requests += outcome.attempts
        if result.usage is not None:
            tally.prompt_tokens += result.usage.prompt_tokens
            tally.candidates_tokens += result.usage.candidates_tokens
            tally.total_tokens += result.usage.total_tokens
            tally.image_tokens += result.usage.image_tokens
            tally.text_tokens += result.usage.text_tokens
            tally.thinking_tokens += result.usage.thinking_tokens
            if result.usage.estimated_cost_usd is not None:
                cost = decimal.Decimal(result.usage.estimated_cost_usd)
                tally.cost = cost if tally.cost is None else tally.cost + cost
        if result.error is None:
            tally.ok += 1
            tally.images += len(result.files)
            self.emit(JobSucceeded(result, self.progress()))
        else:
            tally.failed += 1
            tally.failures[result.error.category] += 1
            self.emit(JobFailed(result, self.progress()))

    def emit(self, event: BatchEvent) -> None:
        if self.runner.on_event is not None:
            self.runner.on_event(event)

    def progress(self) -> BatchProgress:
        tally = self.tally
        return BatchProgress(
            total=self.total,
            started=tally.started,
            ok=tally.ok,
            failed=tally.failed,
            skipped=tally.skipped,
            in_flight=self.in_flight,
            concurrency=self.runner.concurrency,
            rpm=self.rate.rpm,
            retries=tally.retries,
        )

    def summary(self, elapsed: float) -> BatchSummary:
        tally = self.tally
        return BatchSummary(
            jobs=tally.ok + tally.failed + tally.skipped,
            ok=tally.ok,
            failed=tally.failed,
            skipped=tally.skipped,
            images_written=tally.images,
            prompt_tokens=tally.prompt_tokens,
            candidates_tokens=tally.candidates_tokens,
            total_tokens=tally.total_tokens,
            image_tokens=tally.image_tokens,
            text_tokens=tally.text_tokens,
            thinking_tokens=tally.thinking_tokens,
            estimated_cost_usd=tally.cost,
            failures_by_status=dict(tally.failures),
            requests=tally.requests,
            retries=tally.retries,
            congestion_signals=tally.congestion,
            redone=tally.redone,
            elapsed_seconds=elapsed,
            stopped_reason=self.stopped,
        )


def _is_rate_limit(error: Exception | None) -> bool:
    """A 429 that clears within minutes (a daily quota does not)."""
    return isinstance(error, ResourceExhaustedError) and not error.is_daily_quota


def _local_attempts(error: Exception) -> int:
    # Rejected before sending (bad options, unreadable input image): no request made.
    return 0 if isinstance(error, InvalidInputError) else 1


def _usage(response: GenerateContentResponse | None) -> TokenUsage | None:
    metadata = response.usage_metadata if response is not None else None
    if metadata is None:
        return None
    cost = response.cost if response is not None else None
    return TokenUsage(
        prompt_tokens=metadata.prompt_token_count or 0,
        candidates_tokens=metadata.candidates_token_count or 0,
        total_tokens=metadata.total_token_count or 0,
        image_tokens=metadata.image_tokens,
        text_tokens=metadata.text_tokens,
        thinking_tokens=metadata.thinking_tokens,
        prompt_image_tokens=metadata.prompt_tokens_of("IMAGE"),
        cached_tokens=metadata.cached_tokens,
        estimated_cost_usd=None if cost is None else str(cost.usd),
    )


def _job_error(error: Exception) -> JobError:
    if isinstance(error, APIStatusError):
        return JobError(
            type=type(error).__name__,
            message=error.message,
            status=error.status,
            code=error.code,
        )
    message = getattr(error, "message", None)
    return JobError(type=type(error).__name__, message=str(message or error))


def _fatal_reason(error: Exception | None) -> str | None:
    """Why no further job can succeed after ``error``, or None."""
    if isinstance(error, UnauthenticatedError):
        return f"the API key was rejected ({error.code} UNAUTHENTICATED)"
    if isinstance(error, InsufficientCreditError):
        return f"no credit left ({error.code})"
    if isinstance(error, ResourceExhaustedError) and error.is_daily_quota:
        return "a daily quota is exhausted"
    if isinstance(error, ClientClosedError):
        return "the client was closed"
    return None
