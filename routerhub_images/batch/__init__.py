"""Batch generation: many jobs on one client, rate-limit aware, resumable, shardable.

>>> jobs = load_jobs("prompts.txt")                      # doctest: +SKIP
>>> async with AsyncImageClient() as client:             # doctest: +SKIP
...     summary = await BatchRunner(client, "out/", rpm=120).run(jobs)

Images go to ``out/<job id>.<ext>``; ``out/manifest.jsonl`` records each finished job,
so running the same jobs again skips what is done. See ``docs/batch.md``.
"""

from __future__ import annotations

from routerhub_images._errors import DuplicateJobError, JobFileError, ManifestLockedError

from ._jobs import (
    BatchJob,
    content_hash,
    load_jobs,
    parse_shard,
    shard,
)
from ._limits import (
    MINIMUM_RPM,
    RATE_BACKOFF,
    RATE_INCREASE,
    RATE_WINDOW,
    SLOW_START_RPM,
    AdaptiveRate,
)
from ._manifest import (
    MANIFEST_NAME,
    ImageFile,
    JobError,
    ManifestEntry,
    TokenUsage,
    read_manifest,
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
from ._runner import DEFAULT_CONCURRENCY, BatchRunner

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MANIFEST_NAME",
    "MINIMUM_RPM",
    "RATE_BACKOFF",
    "RATE_INCREASE",
    "RATE_WINDOW",
    "SLOW_START_RPM",
    "AdaptiveRate",
    "BatchEvent",
    "BatchJob",
    "BatchProgress",
    "BatchRunner",
    "BatchSummary",
    "DuplicateJobError",
    "ImageFile",
    "JobError",
    "JobFailed",
    "JobFileError",
    "JobResult",
    "JobRetrying",
    "JobSkipped",
    "JobStarted",
    "JobSucceeded",
    "ManifestEntry",
    "ManifestLockedError",
    "RateChanged",
    "TokenUsage",
    "content_hash",
    "load_jobs",
    "parse_shard",
    "read_manifest",
    "shard",
]
