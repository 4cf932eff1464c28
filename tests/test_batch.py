"""BatchRunner against the in-process emulator: results, failures, resume, cancellation."""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
from collections.abc import Iterator

import anyio
import httpx
import pytest
from client_helpers import SMALL_IMAGE_MODEL
from PIL import Image

from routerhub_images import AsyncImageClient, Limits, PromptBlockedError
from routerhub_images.batch import (
    MANIFEST_NAME,
    AdaptiveRate,
    BatchEvent,
    BatchJob,
    BatchRunner,
    DuplicateJobError,
    JobFailed,
    JobResult,
    JobRetrying,
    JobSkipped,
    JobStarted,
    JobSucceeded,
    ManifestLockedError,
    RateChanged,
    read_manifest,
)
from routerhub_images.batch._manifest import Manifest
from routerhub_images.emulator import EmulatorApp, EmulatorConfig, Fault, create_app

pytestmark = pytest.mark.usefixtures("no_retry_sleeps")


FAST = 60_000.0
"""An ``rpm`` that never holds a test back (and skips the slow start)."""


def make_jobs(count: int, prefix: str = "a painting of a fox, take") -> list[BatchJob]:
    return [BatchJob.create(f"{prefix} {i}") for i in range(count)]


def lines(out: pathlib.Path) -> list[dict[str, object]]:
    text = (out / MANIFEST_NAME).read_text()
    return [json.loads(line) for line in text.splitlines()]


def names(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def assert_png(path: pathlib.Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    Image.open(io.BytesIO(data)).verify()


async def test_every_job_ends_with_images_and_a_manifest_line(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """A batch writes one PNG and one ok manifest line per job, and sums usage."""
    jobs = make_jobs(12)
    summary = await BatchRunner(asgi_client, tmp_path, concurrency=4).run(jobs)
    assert (summary.jobs, summary.ok, summary.failed, summary.skipped) == (12, 12, 0, 0)
    assert summary.images_written == 12
    assert summary.requests == 12
    assert summary.retries == 0
    entries = read_manifest(tmp_path / MANIFEST_NAME)
    assert {e.job_id for e in entries} == {j.id for j in jobs}
    for entry in entries:
        assert entry.status == "ok"
        assert entry.usage is not None
        (image,) = entry.files
        assert image.name == f"{entry.job_id}.png"
        assert (tmp_path / image.name).stat().st_size == image.size
        assert_png(tmp_path / image.name)
    assert summary.total_tokens == sum(e.usage.total_tokens for e in entries if e.usage)
    assert summary.candidates_tokens >= 12 * 1290


async def test_concurrency_bounds_calls_in_flight(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """No more than ``concurrency`` calls are in flight at once."""
    peak = 0

    def on_event(event: BatchEvent) -> None:
        nonlocal peak
        if isinstance(event, JobStarted):
            peak = max(peak, event.progress.in_flight)

    runner = BatchRunner(asgi_client, tmp_path, concurrency=3, rpm=FAST, on_event=on_event)
    await runner.run(make_jobs(20))
    assert peak == 3


@pytest.mark.parametrize(("pool", "concurrency", "warns"), [(4, 8, True), (8, 8, False)])
def test_concurrency_above_the_pool_warns(
    tmp_path: pathlib.Path, pool: int, concurrency: int, warns: bool
) -> None:
    """More workers than the client's connections: a warning that says how to fix it."""
    client = AsyncImageClient("rh_key", limits=Limits(max_connections=pool))
    assert client.limits is not None
    assert client.limits.max_connections == pool
    with contextlib.ExitStack() as stack:
        if warns:
            stack.enter_context(pytest.warns(UserWarning, match=r"max_connections=8\)"))
        BatchRunner(client, tmp_path, concurrency=concurrency)


async def test_a_client_with_its_own_http_client_is_not_second_guessed(
    tmp_path: pathlib.Path,
) -> None:
    """An injected httpx client's pool is its own business: no limits, no warning."""
    async with httpx.AsyncClient() as http_client:
        client = AsyncImageClient("rh_key", http_client=http_client)
        assert client.limits is None
        BatchRunner(client, tmp_path, concurrency=1000)


async def test_failures_are_recorded_without_cancelling_others(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """A blocked prompt and a 400 fail their jobs only; the rest succeed."""
    app.script(Fault.status(400, "bad request"))
    jobs = [*make_jobs(6), BatchJob.create("something forbidden", id="blocked")]
    runner = BatchRunner(asgi_client, tmp_path, concurrency=2)
    summary = await runner.run(jobs)
    assert (summary.ok, summary.failed) == (5, 2)
    assert summary.failures_by_status == {"400 INVALID_ARGUMENT": 1, "PromptBlockedError": 1}
    failed = {e.job_id: e for e in read_manifest(tmp_path / MANIFEST_NAME) if e.status == "failed"}
    assert failed["blocked"].error is not None
    assert failed["blocked"].error.type == "PromptBlockedError"
    assert failed["blocked"].usage is not None  # a blocked prompt is still billed
    assert not [n for n in names(tmp_path) if n.startswith("blocked")]


async def test_retried_calls_count_and_slow_the_batch(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """A 429 retried by the client cuts the batch's rate; a 503 retry does not."""
    app.script(Fault.status(429, retry_delay=0.5), Fault.status(503))
    events: list[BatchEvent] = []
    runner = BatchRunner(asgi_client, tmp_path, concurrency=8, rpm=FAST, on_event=events.append)
    summary = await runner.run(make_jobs(10))
    assert summary.ok == 10
    assert summary.retries == 2
    assert summary.requests == 12
    assert summary.congestion_signals == 1
    (change,) = [e for e in events if isinstance(e, RateChanged)]
    assert change.rpm < FAST


async def test_a_given_rate_paces_every_run_and_keeps_what_it_learned(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """``rate=`` is used as is, and a cut made in one run still holds in the next."""
    rate = AdaptiveRate(initial_rpm=FAST)
    runner = BatchRunner(asgi_client, tmp_path, concurrency=4, rate=rate)
    app.script(Fault.status(429, retry_delay=0.5))
    first = await runner.run(make_jobs(6))
    assert first.congestion_signals == 1
    assert not rate.slow_start
    learned = rate.rpm
    assert learned < FAST
    events: list[BatchEvent] = []
    runner.on_event = events.append
    second = await runner.run(make_jobs(3, prefix="a second batch, take"))
    assert second.ok == 3
    assert not rate.slow_start  # no second slow start from 60 requests/min
    paces = [e.progress.rpm for e in events if isinstance(e, JobSucceeded)]
    assert len(paces) == 3
    assert min(paces) >= learned * 0.99


def test_rpm_and_rate_together_are_rejected(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(ValueError, match="rpm or rate"):
        BatchRunner(asgi_client, tmp_path, rpm=60, rate=AdaptiveRate())


async def test_retries_are_reported_as_they_are_scheduled(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """Each retry is a JobRetrying event, before the job ends, with the count so far."""
    app.script(Fault.status(503), Fault.status(503))
    events: list[BatchEvent] = []
    runner = BatchRunner(asgi_client, tmp_path, concurrency=1, rpm=FAST, on_event=events.append)
    await runner.run(make_jobs(2))
    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["JobStarted", "JobRetrying", "JobRetrying", "JobSucceeded"]
    retrying = [e for e in events if isinstance(e, JobRetrying)]
    assert [e.progress.retries for e in retrying] == [1, 2]
    assert [e.retry.attempt for e in retrying] == [1, 2]
    assert retrying[0].retry.error.code == 503  # type: ignore[attr-defined]
    assert events[-1].progress.retries == 2


async def test_a_callback_error_in_a_retry_event_stops_the_batch(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """An exception raised by on_event for a JobRetrying is not taken for a job failure."""
    app.script(Fault.status(503))

    def on_event(event: BatchEvent) -> None:
        if isinstance(event, JobRetrying):
            raise RuntimeError("callback bug")

    with pytest.RaisesGroup(
        pytest.RaisesExc(RuntimeError, match="callback bug"), flatten_subgroups=True
    ):
        await BatchRunner(asgi_client, tmp_path, concurrency=1, rpm=FAST, on_event=on_event).run(
            make_jobs(3)
        )


async def test_rate_limit_failure_is_recorded(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """A job whose retries are all answered 429 fails with its status and attempts."""
    asgi_client.retry = asgi_client.retry.__class__(max_retries=1)
    app.script(*[Fault.status(429, retry_delay=0.1)] * 2)
    summary = await BatchRunner(asgi_client, tmp_path, concurrency=1, rpm=FAST).run(make_jobs(2))
    assert summary.failures_by_status == {"429 RESOURCE_EXHAUSTED": 1}
    (failed,) = [e for e in read_manifest(tmp_path / MANIFEST_NAME) if e.status == "failed"]
    assert failed.attempts == 2
    assert failed.error is not None
    assert failed.error.code == 429


async def test_events_report_progress(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """on_event sees started, succeeded, failed and skipped events with running counts."""
    jobs = [*make_jobs(3), BatchJob.create("forbidden", id="blocked")]
    await BatchRunner(asgi_client, tmp_path).run(jobs[:2])
    events: list[BatchEvent] = []
    await BatchRunner(asgi_client, tmp_path, on_event=events.append).run(jobs)
    kinds = [type(e) for e in events]
    assert kinds.count(JobSkipped) == 2
    assert kinds.count(JobStarted) == 2
    assert kinds.count(JobSucceeded) == 1
    assert kinds.count(JobFailed) == 1
    last = events[-1]
    assert isinstance(last, JobSucceeded | JobFailed)
    assert (last.progress.total, last.progress.done, last.progress.in_flight) == (4, 4, 0)


async def test_results_are_delivered_as_they_complete(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """iter_results yields each job's result once, with its files written already."""
    jobs = make_jobs(9)
    seen: list[JobResult] = []
    async for result in BatchRunner(asgi_client, tmp_path, concurrency=3).iter_results(jobs):
        assert result.status == "ok"
        assert all(path.exists() for path in result.files)
        seen.append(result)
    assert sorted(r.job.id for r in seen) == sorted(j.id for j in jobs)


async def test_generator_input_is_consumed_lazily(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """Jobs from a generator are pulled as workers free up, never all at once."""
    pulled = 0
    most_ahead = 0
    done = 0

    def jobs() -> Iterator[BatchJob]:
        nonlocal pulled, most_ahead
        for i in range(40):
            job = BatchJob.create(f"fox {i}", model=SMALL_IMAGE_MODEL, image_size="512")
            pulled += 1
            most_ahead = max(most_ahead, pulled - done)
            yield job

    def on_event(event: BatchEvent) -> None:
        nonlocal done
        if isinstance(event, JobSucceeded):
            done += 1

    summary = await BatchRunner(asgi_client, tmp_path, concurrency=4, on_event=on_event).run(jobs())
    assert summary.ok == 40
    assert most_ahead <= 5


async def test_resume_skips_finished_jobs_and_redoes_a_missing_file(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """A second run skips jobs whose ok line and file exist; a deleted file is redone."""
    jobs = make_jobs(5)
    await BatchRunner(asgi_client, tmp_path).run(jobs)
    (tmp_path / f"{jobs[2].id}.png").unlink()
    app.log.clear()
    summary = await BatchRunner(asgi_client, tmp_path).run(jobs)
    assert (summary.skipped, summary.ok) == (4, 1)
    assert app.log.count == 1
    assert_png(tmp_path / f"{jobs[2].id}.png")


async def test_resume_redoes_failed_and_changed_jobs(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """Failed jobs run again, and so does a job whose prompt changed under the same id."""
    app.script(Fault.status(400))
    first = [BatchJob.create("fox", id="fox"), BatchJob.create("owl", id="owl")]
    runner = BatchRunner(asgi_client, tmp_path, concurrency=1)
    assert (await runner.run(first)).failed == 1
    second = [BatchJob.create("fox", id="fox"), BatchJob.create("a new owl", id="owl")]
    app.log.clear()
    summary = await runner.run(second)
    assert summary.ok + summary.skipped == 2
    assert summary.ok >= 1
    latest = {e.job_id: e for e in read_manifest(tmp_path / MANIFEST_NAME)}
    assert latest["owl"].prompt_hash == second[1].prompt_hash
    assert all(e.status == "ok" for e in latest.values())


async def test_a_torn_manifest_line_is_ignored_and_repaired(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """A partial last line (killed mid-write) is skipped on read and cut off on resume."""
    jobs = make_jobs(3)
    await BatchRunner(asgi_client, tmp_path).run(jobs[:2])
    manifest = tmp_path / MANIFEST_NAME
    with manifest.open("ab") as file:
        file.write(b'{"job_id":"' + jobs[2].id.encode() + b'","prompt_hash":"ab","sta')
    assert len(read_manifest(manifest)) == 2
    summary = await BatchRunner(asgi_client, tmp_path).run(jobs)
    assert (summary.skipped, summary.ok) == (2, 1)
    assert [line["status"] for line in lines(tmp_path)] == ["ok", "ok", "ok"]


async def test_cancellation_leaves_the_manifest_consistent(tmp_path: pathlib.Path) -> None:
    """Cancelling mid-run cancels calls in flight; only finished jobs have lines."""
    answered = 0

    async def sleep(seconds: float) -> None:
        nonlocal answered
        answered += 1
        if answered > 5:
            await anyio.sleep_forever()

    app = create_app(EmulatorConfig(latency=1.0), sleep=sleep)
    transport = httpx.ASGITransport(app=app)
    jobs = make_jobs(20)
    async with AsyncImageClient(
        api_key=app.api_key, base_url="http://127.0.0.1", transport=transport
    ) as client:
        with anyio.CancelScope() as scope:

            def on_event(event: BatchEvent) -> None:
                if isinstance(event, JobSucceeded) and event.progress.ok == 5:
                    scope.cancel()

            await BatchRunner(client, tmp_path, concurrency=4, on_event=on_event).run(jobs)
    assert scope.cancelled_caught
    entries = read_manifest(tmp_path / MANIFEST_NAME)
    assert len(entries) == 5
    assert all(e.status == "ok" and (tmp_path / e.files[0].name).exists() for e in entries)
    assert not [n for n in names(tmp_path) if n.endswith(".tmp")]
    assert len([n for n in names(tmp_path) if n.endswith(".png")]) == 5


async def test_closing_the_result_iterator_stops_the_batch(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """Breaking out of iter_results (with aclosing) stops starting new jobs."""
    runner = BatchRunner(asgi_client, tmp_path, concurrency=2)
    async with contextlib.aclosing(runner.iter_results(make_jobs(30))) as results:
        async for _ in results:
            break
    assert app.log.count < 10
    assert len(read_manifest(tmp_path / MANIFEST_NAME)) == app.log.count


async def test_a_rejected_key_stops_starting_jobs(tmp_path: pathlib.Path) -> None:
    """After a 401 no new job starts: every other job would fail the same way."""
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with AsyncImageClient(
        api_key="rh_wrong", base_url="http://127.0.0.1", transport=transport
    ) as client:
        summary = await BatchRunner(client, tmp_path, concurrency=2).run(make_jobs(50))
    assert summary.stopped_reason is not None
    assert "UNAUTHENTICATED" in summary.stopped_reason
    assert summary.failed <= 2
    assert app.log.count == summary.failed


async def test_edit_jobs_send_their_input_images(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """A job with input images is an edit; a missing input fails only that job."""
    out = tmp_path / "out"
    await BatchRunner(asgi_client, out).run([BatchJob.create("a cat", id="source")])
    edit = BatchJob.create("make it blue", id="edit", images=[out / "source.png"])
    missing = BatchJob.create("make it red", id="missing", images=[tmp_path / "nope.png"])
    summary = await BatchRunner(asgi_client, out).run([edit, missing])
    assert (summary.ok, summary.failed) == (1, 1)
    assert summary.failures_by_status == {"ImageInputError": 1}
    assert_png(out / "edit.png")


async def test_duplicate_ids_are_rejected_before_any_call(
    asgi_client: AsyncImageClient, app: EmulatorApp, tmp_path: pathlib.Path
) -> None:
    """A job list with a repeated id fails up front."""
    jobs = [BatchJob.create("a", id="x"), BatchJob.create("b", id="x")]
    with pytest.raises(DuplicateJobError, match="job 1"):
        await BatchRunner(asgi_client, tmp_path).run(jobs)
    assert app.log.count == 0


async def test_one_run_per_output_directory(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """A second run into a directory in use is refused."""
    with Manifest.open(tmp_path), pytest.raises(ManifestLockedError):
        await BatchRunner(asgi_client, tmp_path).run(make_jobs(1))


async def test_blocked_result_keeps_the_exception(
    asgi_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """A failed result carries the exception, for callers who want to raise it."""
    (result,) = [
        r
        async for r in BatchRunner(asgi_client, tmp_path).iter_results(
            [BatchJob.create("forbidden fruit", id="f")]
        )
    ]
    assert not result.ok
    assert isinstance(result.exception, PromptBlockedError)
