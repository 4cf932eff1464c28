"""The ``batch`` command: a jobs file through the batch engine, with a live progress bar.

The bar and the summary table are drawn by rich. On a terminal the bar redraws in place
on stderr; when stderr is a pipe or a file (CI, ``2> log``) rich draws no live display
and prints the final bar once, so redirected output stays readable.
"""

from __future__ import annotations

import pathlib

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from routerhub_images import _constants as consts
from routerhub_images._client import AsyncImageClient
from routerhub_images._config import Limits
from routerhub_images._errors import InvalidInputError
from routerhub_images.batch import (
    DEFAULT_CONCURRENCY,
    MANIFEST_NAME,
    BatchEvent,
    BatchProgress,
    BatchRunner,
    BatchSummary,
    ManifestLockedError,
    load_jobs,
    parse_shard,
    shard,
)

from ._context import CliState, no_strict_options, warn_if_unknown_model
from ._errors import APIError, BatchFailedError, InputError
from ._text import printable

NON_TERMINAL_WIDTH = 120
"""Columns of the progress line when stderr is not a terminal (printed once, at the end)."""


def _parse_shard(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    """``--shard K/N``: this worker takes shard K (0-based) of N."""
    if value is None:
        return None
    try:
        return parse_shard(value)
    except InvalidInputError as error:
        raise click.BadParameter(str(error), ctx, param) from None


class _RateColumn(ProgressColumn):
    """Jobs this run finished per minute; jobs done by an earlier run do not count."""

    def render(self, task: Task) -> Text:
        ran = task.fields["ok"] + task.fields["failed"]
        elapsed = task.elapsed
        rate = f"{ran * 60 / elapsed:,.0f}/min" if ran and elapsed else "-- /min"
        return Text(rate, style="cyan", no_wrap=True)


class _Counts(ProgressColumn):
    """ok / failed / retries (and skipped / running when there are any)."""

    def render(self, task: Task) -> Text:
        fields = task.fields
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{fields['ok']} ok", style="green")
        text.append(f" {fields['failed']} failed", style="red")
        if fields["skipped"]:
            text.append(f" {fields['skipped']} skipped", style="dim")
        text.append(f" {fields['retries']} retries", style="yellow")
        if fields["running"]:
            text.append(f" {fields['running']} running", style="blue")
        return text


class BatchDisplay:
    """The live progress bar, fed by the runner's events.

    Retries show as the client schedules them: the runner emits a `JobRetrying` for
    each one (it observes the client's retries with `observe_retries`), and every
    event's progress carries the running count.
    """

    def __init__(self, console: Console, total: int):
        self.progress = Progress(
            SpinnerColumn(),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            _Counts(),
            _RateColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            expand=True,
        )
        self.task = self.progress.add_task(
            "batch", total=total, ok=0, failed=0, skipped=0, running=0, retries=0
        )
        self.total = total
        self.last: BatchProgress | None = None
        """The counts of the latest event (None before the first one)."""

    def __enter__(self) -> BatchDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def on_event(self, event: BatchEvent) -> None:
        """Move the bar to the counts the event carries."""
        counts = self.last = event.progress
        self.progress.update(
            self.task,
            completed=counts.done,
            ok=counts.ok,
            failed=counts.failed,
            skipped=counts.skipped,
            running=counts.in_flight,
            retries=counts.retries,
        )


@click.command()
@click.argument("jobs_file", metavar="INPUT", type=click.Path(path_type=pathlib.Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    help="Directory for the images and the manifest (created if missing).",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Calls in flight at most.",
)
@click.option(
    "--rpm",
    type=click.FloatRange(min=0, min_open=True),
    help="Requests per minute at most (default: found from the server's 429 answers).",
)
@click.option(
    "--shard",
    "shard_spec",
    metavar="K/N",
    callback=_parse_shard,
    help="Run only shard K of N (K is 0-based: 0/4 .. 3/4), for several workers.",
)
@no_strict_options
@click.pass_obj
def batch(
    state: CliState,
    /,
    *,
    jobs_file: pathlib.Path,
    out_dir: pathlib.Path,
    concurrency: int,
    rpm: float | None,
    shard_spec: tuple[int, int] | None,
    strict_options: bool,
) -> None:
    """Generate an image for every job in INPUT into the -o directory.

    INPUT has one prompt per line, or is JSON Lines with per-job options
    (prompt, id, model, aspect_ratio, image_size, seed, images). Finished jobs
    are recorded in DIR/manifest.jsonl: rerun the same command to resume or to
    retry the failures. Ctrl-C stops it and prints what is done so far.
    """
    jobs = state.guard(lambda: load_jobs(jobs_file))
    if shard_spec is not None:
        jobs = shard(jobs, *shard_spec)
    for model in sorted({job.model for job in jobs if job.model is not None}):
        warn_if_unknown_model(model)
    state.strict_options = strict_options
    console = Console(stderr=True)
    if not console.is_terminal:
        # Printed once into a log: no reason to cut it at rich's default 80 columns.
        console.width = max(console.width, NON_TERMINAL_WIDTH)
    display = BatchDisplay(console, total=len(jobs))
    if concurrency > consts.MAX_CONNECTIONS:  # else calls would queue for a connection
        state.limits = Limits(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=consts.KEEPALIVE_EXPIRY,
        )

    async def run(client: AsyncImageClient) -> BatchSummary:
        runner = BatchRunner(
            client, out_dir, concurrency=concurrency, rpm=rpm, on_event=display.on_event
        )
        try:
            return await runner.run(jobs)
        except ManifestLockedError as error:
            raise InputError(str(error)) from error

    try:
        with display:
            summary = state.run(run)
    except KeyboardInterrupt:
        print_interrupted(Console(), display, out_dir)
        raise
    print_summary(Console(), summary, out_dir)
    _exit_for(summary)


def print_summary(console: Console, summary: BatchSummary, out_dir: pathlib.Path) -> None:
    """Print the run's totals, and its failures by status, as a table."""
    table = Table(title=f"batch into {out_dir}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("jobs", str(summary.jobs))
    table.add_row("[green]ok", str(summary.ok))
    table.add_row("[red]failed", str(summary.failed))
    table.add_row("skipped (done before)", str(summary.skipped))
    table.add_row("images written", str(summary.images_written))
    table.add_row("requests (retries)", f"{summary.requests} ({summary.retries})")
    table.add_row("tokens", f"{summary.total_tokens:,}")
    table.add_row(
        "tokens out: image / text / thinking",
        f"{summary.image_tokens:,} / {summary.text_tokens:,} / {summary.thinking_tokens:,}",
    )
    cost = summary.estimated_cost_usd
    table.add_row("estimated cost", "unknown" if cost is None else f"${cost:.4f}")
    table.add_row("time", f"{summary.elapsed_seconds:.1f} s")
    table.add_row("rate", f"{summary.images_per_minute:.1f} images/min")
    if summary.redone:
        table.add_row("[yellow]redone (files missing or changed)", str(summary.redone))
    for status, count in sorted(summary.failures_by_status.items()):
        # The status is the server's: no markup or terminal controls of its own.
        table.add_row(f"[red]failed: {escape(printable(status))}", str(count))
    console.print(table, soft_wrap=True)


def print_interrupted(console: Console, display: BatchDisplay, out_dir: pathlib.Path) -> None:
    """Print what an interrupted run finished, and how to resume it."""
    counts = display.last
    table = Table(
        title=f"batch into {out_dir} (interrupted)", show_header=False, title_justify="left"
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("jobs", str(display.total))
    table.add_row("[green]ok", str(counts.ok if counts else 0))
    table.add_row("[red]failed", str(counts.failed if counts else 0))
    table.add_row("skipped (done before)", str(counts.skipped if counts else 0))
    console.print(table, soft_wrap=True)
    done = counts.done if counts else 0
    click.echo(
        f"{done} of {display.total} jobs are recorded in {out_dir / MANIFEST_NAME}: "
        "rerun the same command to resume",
        err=True,
    )


def _exit_for(summary: BatchSummary) -> None:
    if summary.stopped_reason:
        raise APIError(f"the batch stopped early: {summary.stopped_reason}")
    if summary.failed:
        raise BatchFailedError(
            f"{summary.failed} of {summary.jobs} jobs failed; rerun the same command to retry them"
        )
