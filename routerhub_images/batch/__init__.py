"""Batch generation: many jobs on one client, rate-limit aware, resumable, shardable.

>>> jobs = load_jobs("prompts.txt")                      # doctest: +SKIP
>>> async with AsyncImageClient() as client:             # doctest: +SKIP
...     summary = await BatchRunner(client, "out/", rpm=120).run(jobs)

Images go to ``out/<job id>.<ext>``; ``out/manifest.jsonl`` records each finished job,
so running the same jobs again skips what is done. See ``docs/batch.md``.
"""

from __future__ import annotations

from ._jobs import (
    BatchJob,
    DuplicateJobError,
    JobFileError,
    content_hash,
    load_jobs,
    parse_shard,
    shard,
)
from ._limits import AdaptiveConcurrency, RequestPacer
from ._manifest import (
    MANIFEST_NAME,
    ImageFile,
    JobError,
    ManifestEntry,
    ManifestLockedError,
    TokenUsage,
    read_manifest,
)
from ._results import (
    BatchEvent,
    BatchProgress,
    BatchSummary,
    ConcurrencyChanged,
    JobFailed,
    JobResult,
    JobSkipped,
    JobStarted,
    JobSucceeded,
)
from ._runner import DEFAULT_CONCURRENCY, BatchRunner

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MANIFEST_NAME",
    "AdaptiveConcurrency",
    "BatchEvent",
    "BatchJob",
    "BatchProgress",
    "BatchRunner",
    "BatchSummary",
    "ConcurrencyChanged",
    "DuplicateJobError",
    "ImageFile",
    "JobError",
    "JobFailed",
    "JobFileError",
    "JobResult",
    "JobSkipped",
    "JobStarted",
    "JobSucceeded",
    "ManifestEntry",
    "ManifestLockedError",
    "RequestPacer",
    "TokenUsage",
    "content_hash",
    "load_jobs",
    "parse_shard",
    "read_manifest",
    "shard",
]
