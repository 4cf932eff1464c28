"""Batch jobs: loading text and JSONL files, stable ids, duplicates, sharding."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from client_helpers import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerhub_images import InvalidInputError, batch
from routerhub_images.batch import (
    BatchJob,
    DuplicateJobError,
    JobFileError,
    load_jobs,
    parse_shard,
    shard,
)


def write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_all_lists_the_public_names() -> None:
    """`batch.__all__` is sorted and equals the public names of the package."""
    public = {
        n for n in vars(batch) if n.isidentifier() and not n.startswith("_") and n != "annotations"
    }
    assert sorted(batch.__all__) == sorted(public)
    assert batch.__all__ == sorted(batch.__all__, key=lambda n: (not n.isupper(), n))


def test_text_file_skips_blank_lines_and_comments(tmp_path: pathlib.Path) -> None:
    """A text file gives one job per prompt line; blanks and # comments are skipped."""
    path = write(tmp_path, "prompts.txt", "# header\n\na red fox\n  \n  # indented\nan owl  \n")
    jobs = load_jobs(path)
    assert [j.prompt for j in jobs] == ["a red fox", "an owl"]
    assert all(j.model is None and j.images == () for j in jobs)


def test_ids_are_stable_across_loads(tmp_path: pathlib.Path) -> None:
    """Ids derive from content, so loading the file again (a restart) gives the same ids."""
    path = write(tmp_path, "prompts.txt", "a red fox\nan owl\n")
    first = [j.id for j in load_jobs(path)]
    write(tmp_path, "prompts.txt", "an owl\n# moved\na red fox\n")
    assert sorted(first) == sorted(j.id for j in load_jobs(path))
    assert all(len(i) == batch._jobs.AUTO_ID_CHARS for i in first)


def test_repeated_prompt_gets_a_distinct_stable_id(tmp_path: pathlib.Path) -> None:
    """The same prompt twice asks for two images: two different ids, stable on reload."""
    path = write(tmp_path, "prompts.txt", "a red fox\na red fox\n")
    ids = [j.id for j in load_jobs(path)]
    assert len(set(ids)) == 2
    assert ids == [j.id for j in load_jobs(path)]


def test_jsonl_fields_are_read(tmp_path: pathlib.Path) -> None:
    """A JSONL job carries its id, model, options and input images (relative to the file)."""
    line = {
        "id": "fox-1",
        "prompt": "a red fox",
        "model": "google/gemini-3-pro-image-preview",
        "aspect_ratio": "16:9",
        "image_size": "2K",
        "seed": 7,
        "images": ["in/a.png"],
    }
    path = write(tmp_path, "jobs.jsonl", json.dumps(line) + '\n\n{"prompt": "an owl"}\n')
    fox, owl = load_jobs(path)
    assert fox == BatchJob(
        id="fox-1",
        prompt="a red fox",
        model="google/gemini-3-pro-image-preview",
        aspect_ratio="16:9",
        image_size="2K",
        seed=7,
        images=(str(tmp_path / "in" / "a.png"),),
    )
    assert owl.id == BatchJob.create("an owl").id


def test_jsonl_is_detected_by_its_first_character(tmp_path: pathlib.Path) -> None:
    """A file whose first job line starts with ``{`` is JSONL whatever its suffix."""
    path = write(tmp_path, "jobs.txt", '# jobs\n{"prompt": "a red fox", "id": 3}\n')
    (job,) = load_jobs(path)
    assert (job.id, job.prompt) == ("3", "a red fox")


def test_duplicate_ids_are_rejected_naming_both_lines(tmp_path: pathlib.Path) -> None:
    """Two jobs with one id fail to load; the error names both lines."""
    text = '{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "y"}\n{"id": "A", "prompt": "z"}\n'
    path = write(tmp_path, "jobs.jsonl", text)
    with pytest.raises(DuplicateJobError, match=r"jobs.jsonl line 3.*line 1") as info:
        load_jobs(path)
    assert isinstance(info.value, InvalidInputError)


@pytest.mark.parametrize(("first", "second"), [("cat", "cat-2"), ("cat-2", "cat")])
def test_ids_whose_files_would_collide_are_rejected(
    tmp_path: pathlib.Path, first: str, second: str
) -> None:
    """``cat-2`` would be the name of ``cat``'s second image, so the pair is rejected."""
    lines = [json.dumps({"id": i, "prompt": "p"}) for i in (first, second)]
    path = write(tmp_path, "jobs.jsonl", "\n".join(lines))
    with pytest.raises(DuplicateJobError, match="line 2"):
        load_jobs(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"prompt": "x", "colour": "red"}', "unknown key"),
        ('{"id": "a"}', "'prompt'"),
        ('{"prompt": "  "}', "non-empty"),
        ('{"prompt": "x", "seed": "7"}', "'seed' must be an integer"),
        ('{"prompt": "x", "id": "../etc"}', "file name"),
        ('{"prompt": "x", "images": [1]}', "'images'"),
        ("[1]", "object"),
    ],
)
def test_invalid_lines_are_rejected_naming_the_line(
    tmp_path: pathlib.Path, line: str, message: str
) -> None:
    """A bad JSONL line fails the load with its line number and the reason."""
    path = write(tmp_path, "jobs.jsonl", '{"prompt": "ok"}\n' + line + "\n")
    with pytest.raises(JobFileError, match="line 2") as info:
        load_jobs(path)
    assert message in str(info.value)


def test_missing_and_empty_files_are_rejected(tmp_path: pathlib.Path) -> None:
    """No file, or a file with no jobs, is a JobFileError."""
    with pytest.raises(JobFileError, match="cannot read"):
        load_jobs(tmp_path / "nope.txt")
    with pytest.raises(JobFileError, match="no jobs"):
        load_jobs(write(tmp_path, "empty.txt", "# nothing\n\n"))


def test_prompt_hash_ignores_image_paths() -> None:
    """Moving input images does not make a finished job look changed."""
    one = BatchJob.create("edit", id="a", images=["/x/in.png"])
    two = BatchJob.create("edit", id="a", images=["/y/in.png"])
    assert one.prompt_hash == two.prompt_hash
    assert one.prompt_hash != BatchJob.create("edit", id="a", seed=1).prompt_hash


@given(st.lists(st.text(min_size=1).filter(str.strip), max_size=60), st.integers(1, 9))
def test_shards_are_disjoint_and_cover_every_job(prompts: list[str], n: int) -> None:
    """Shards 0..n-1 split any job list into disjoint parts that together cover it."""
    jobs = [BatchJob.create(p, id=f"job{i}") for i, p in enumerate(prompts)]
    parts = [shard(jobs, k, n) for k in range(n)]
    ids = [job.id for part in parts for job in part]
    assert sorted(ids) == sorted(job.id for job in jobs)
    assert len(ids) == len(set(ids))


def test_shard_depends_only_on_ids() -> None:
    """Order does not change a job's shard (each machine may read the file differently)."""
    jobs = [BatchJob.create(f"p{i}") for i in range(50)]
    assert {j.id for j in shard(jobs, 1, 3)} == {j.id for j in shard(jobs[::-1], 1, 3)}
    assert 5 < len(shard(jobs, 1, 3)) < 30


@pytest.mark.parametrize(("k", "n"), [(-1, 2), (2, 2), (0, 0), (True, 2)])
def test_shard_rejects_bad_numbers(k: int, n: int) -> None:
    """K must be in 0..N-1 (0-based) and N at least 1."""
    with pytest.raises(InvalidInputError):
        shard([], k, n)


def test_parse_shard() -> None:
    """``K/N`` parses 0-based; out-of-range or malformed text is rejected."""
    assert parse_shard("0/4") == (0, 4)
    assert parse_shard(" 3 / 4 ") == (3, 4)
    for text in ("4/4", "1/0", "1", "a/b", "-1/3"):
        with pytest.raises(InvalidInputError):
            parse_shard(text)


JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
JOB_KEYS = ["prompt", "id", "model", "aspect_ratio", "image_size", "seed", "images", "other"]


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(JOB_KEYS), JSON_VALUE, max_size=4),
            JSON_VALUE,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_jsonl_line_is_a_job_or_a_job_file_error(
    lines: list[Any], tmp_path: pathlib.Path
) -> None:
    """Whatever JSON a job file holds: jobs, or a JobFileError; never another exception."""
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    try:
        jobs = load_jobs(path)
    except JobFileError:
        return
    assert all(isinstance(job, BatchJob) for job in jobs)
