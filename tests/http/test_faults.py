"""Faults the machine does to the index: builds killed with SIGKILL at random points, generation
files truncated or corrupted after the fact, and a disk that fills up during a build. In every
case a server started afterwards serves the last good generation, with exact citations, and never
a passage from a broken one.

The kills hit builds running in forked children that inherit the already loaded real model, so
each kill costs one build rather than one model load, and 20 fit in about a minute; the CLI
itself is killed in tests/test_crash_safety.py.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.core.config import Settings
from qa.core.errors import IndexCorrupt, IndexWriteFailed
from qa.http.app import create_app
from qa.index import generations as store
from qa.index import segments
from qa.index.build import build_index
from qa.index.generations import current_generation, load_generation
from tests.conftest import article_copy, real_embedder, running_server

KILLS = 20
TOKEN = "faults-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FERRY = "# Ferry\n\nThe night ferry to the islands leaves at 23:40 from pier seven, every day but Sunday.\n"


def note(attempt: int) -> str:
    warnings = attempt * 7 + 3
    return f"# Note {attempt}\n\nThe lighthouse keeper logged {warnings} storm warnings in week {attempt}.\n"


def assert_serves(settings: Settings, generation: str, absent: tuple[str, ...] = ()) -> dict[str, Any]:
    """A fresh app over ``settings`` serves ``generation``, answers with exact citations, and lists
    none of ``absent``; returns its /readyz body."""
    with TestClient(create_app(settings, real_embedder())) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert client.get("/index").json()["generation"] == generation
        response = client.get("/query", params={"q": "what did UNIDO announce?", "k": 3}).json()
        for passage in response["passages"]:
            citation = passage["citation"]
            text = client.get(f"/documents/{citation['doc_id']}").json()["text"]
            assert text[citation["start"] : citation["end"]] == passage["text"]
        assert "UNIDO" in response["passages"][0]["text"]
        listed = {row["doc_id"] for row in client.get("/documents").json()}
        assert not listed & set(absent), listed
        body: dict[str, Any] = ready.json()
        return body


# --- SIGKILL during builds ---------------------------------------------------------------------------


def _full_build(settings: Settings) -> None:
    """A forked child's whole life: one full build with the inherited model."""
    import torch

    torch.set_num_threads(1)  # the parent's OpenMP pool does not survive fork; one thread does
    build_index(settings, real_embedder(), full=True)


def _forked_build(settings: Settings) -> multiprocessing.process.BaseProcess:
    process = multiprocessing.get_context("fork").Process(target=_full_build, args=(settings,))
    process.start()
    return process


def staging_seen(index_dir: Path) -> bool:
    return any(index_dir.glob(".tmp-*"))  # a segment's staging folder first, then the manifest's


def phases(settings: Settings) -> tuple[float, float]:
    """One complete forked build: (seconds until it starts writing, seconds spent writing and
    publishing), watched from outside by polling for the staging folder and ``CURRENT``."""
    before = current_generation(settings.index_dir)
    started = time.perf_counter()
    build = _forked_build(settings)
    while not staging_seen(settings.index_dir) and build.exitcode is None:
        time.sleep(0.002)
    writing = time.perf_counter()
    while current_generation(settings.index_dir) == before and build.exitcode is None:
        time.sleep(0.001)
    published = time.perf_counter()
    build.join(120)
    assert build.exitcode == 0 and current_generation(settings.index_dir) != before
    return writing - started, published - writing


def kill_at_random_point(
    settings: Settings, rng: random.Random, attempt: int, timing: tuple[float, float]
) -> str:
    """Start a build and SIGKILL it: even attempts anywhere in its first phase (parse, chunk,
    embed), odd ones once it writes, anywhere in writing, fsync, rename and publish, or just after."""
    until_writing, writing = timing
    build = _forked_build(settings)
    if attempt % 2 == 0:
        time.sleep(rng.uniform(0.0, until_writing))
        where = "before writing"
    else:
        deadline = time.monotonic() + 60
        while not staging_seen(settings.index_dir) and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, writing * 1.3))
        where = "while writing"
    os.kill(build.pid or 0, signal.SIGKILL)
    build.join()
    return where


def test_sigkill_at_random_points_always_leaves_a_served_generation(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    build_index(settings, real_embedder())
    timing = phases(settings)
    published = current_generation(settings.index_dir)
    rng = random.Random(6)
    outcomes: dict[str, int] = {}
    for attempt in range(KILLS):
        (settings.corpus_dir / f"note-{attempt}.md").write_text(note(attempt), encoding="utf-8")
        where = kill_at_random_point(settings, rng, attempt, timing)
        name = current_generation(settings.index_dir)
        assert name is not None
        generation = load_generation(settings.index_dir)  # never half-written: every checksum holds
        if name != published:  # killed after the publish: the new generation must be complete
            assert f"note-{attempt}.md" in generation.documents
            published = name
        finished = f"note-{attempt}.md" in generation.documents
        outcome = f"{where}, {'published' if finished else 'not published'}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert_serves(settings, name)
    assert sum(outcomes.values()) == KILLS
    print(f"\n{KILLS} SIGKILLs; build phases {timing[0]:.2f} s + {timing[1]:.2f} s: {outcomes}")
    # a real server on the last published generation, then a build that clears what the kills left
    with running_server(settings) as base:
        assert httpx.get(f"{base}/index", timeout=30).json()["generation"] == published
        top = httpx.get(f"{base}/query", params={"q": "what did UNIDO announce?"}, timeout=60).json()
        assert "UNIDO" in top["passages"][0]["text"]
    assert build_index(settings, real_embedder()).documents == 1 + KILLS
    assert not list(settings.index_dir.glob(".tmp-*"))


# --- corrupted generations ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """An index folder with generation A (the article) and, newer and current, B (article + ferry)."""
    base = tmp_path_factory.mktemp("two-generations")
    settings = article_copy(base)
    older = build_index(settings, real_embedder()).generation
    (settings.corpus_dir / "ferry.md").write_text(FERRY, encoding="utf-8")
    newer = build_index(settings, real_embedder()).generation
    return base, older, newer


def own_segment(index_dir: Path, name: str, position: int = -1) -> Path:
    """The folder of the segment listed at ``position`` in generation ``name``'s manifest (by
    default its newest: the one a generation does not share with the one before it)."""
    manifest = json.loads((index_dir / name / "manifest.json").read_text(encoding="utf-8"))
    return index_dir / "segments" / manifest["segments"][position]["name"]


def generation_file(index_dir: Path, name: str, file: str) -> Path:
    """A file of generation ``name``: its manifest, or a file of its own segment."""
    return index_dir / name / file if file == "manifest.json" else own_segment(index_dir, name) / file


def generation_files(base: Path, name: str) -> list[str]:
    """The manifest and every file of the generation's own segment but the verification record."""
    folder = own_segment(base / "index", name)
    files = [path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()]
    return sorted([*(f for f in files if f != "verified.json"), "manifest.json"])


def private_copy(two: tuple[Path, str, str], folder: Path) -> Settings:
    base, _, _ = two
    shutil.copytree(base / "corpus", folder / "corpus")
    shutil.copytree(base / "index", folder / "index")
    return Settings(corpus_dir=folder / "corpus", index_dir=folder / "index").resolved()


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # one flipped byte in the middle: every loader but the checksum would accept most of these
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x55]) + data[middle + 1 :])


FILES = [
    "vectors.f32",
    "tokens.bin",
    "token_starts.i32",
    "token_offsets.i64",
    "passages.jsonl",
    "passage_offsets.i64",
    "documents.jsonl",
    "documents.json",
    "fields.json",
    "keyword/vocabulary.json",
    "keyword/rows.i32",
    "segment.json",
    "manifest.json",
]


def test_the_damage_cases_cover_every_file(two_generations: tuple[Path, str, str]) -> None:
    base, _, newer = two_generations
    written = set(generation_files(base, newer))
    assert set(FILES) <= written
    keyword = own_segment(base / "index", newer) / "keyword"
    assert written - set(FILES) <= {f"keyword/{name}" for name in os.listdir(keyword)}


# A flipped byte in the manifest changes a recorded checksum, or the JSON: truncation covers it.
DAMAGE = [
    (file, how) for file in FILES for how in ("truncate", "flip") if (file, how) != ("manifest.json", "flip")
]


@pytest.mark.parametrize(("file", "how"), DAMAGE)
def test_a_damaged_generation_is_refused_naming_the_file_and_the_previous_one_served(
    two_generations: tuple[Path, str, str], tmp_path: Path, file: str, how: str
) -> None:
    _, older, newer = two_generations
    settings = private_copy(two_generations, tmp_path)
    damage(generation_file(settings.index_dir, newer, file), how)
    with pytest.raises(IndexCorrupt) as refused:
        load_generation(settings.index_dir)
    assert file in str(refused.value)
    ready = assert_serves(settings, older, absent=("ferry.md",))
    assert ready["refused"]["generation"] == newer and file in ready["refused"]["problem"]
    assert str(tmp_path) not in ready["refused"]["problem"]


def test_every_generation_file_can_be_damaged(two_generations: tuple[Path, str, str], tmp_path: Path) -> None:
    """All the keyword index's files, not only the two named above, are covered by checksums."""
    newer = two_generations[2]
    for file in generation_files(two_generations[0], newer):
        if file == "manifest.json":
            continue
        settings = private_copy(two_generations, tmp_path / file.replace("/", "_"))
        damage(generation_file(settings.index_dir, newer, file), "flip")
        with pytest.raises(IndexCorrupt, match=file.split("/")[-1]):
            load_generation(settings.index_dir)


def test_a_running_server_refuses_a_damaged_new_generation(
    two_generations: tuple[Path, str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, older, newer = two_generations
    settings = private_copy(two_generations, tmp_path).model_copy(update={"reload_seconds": 0.1})
    store.publish(settings.index_dir, older)
    with TestClient(create_app(settings, real_embedder())) as client:
        assert client.get("/index").json()["generation"] == older
        damage(own_segment(settings.index_dir, newer) / "passages.jsonl", "flip")
        store.publish(settings.index_dir, newer)
        deadline = time.monotonic() + 20
        while "refused" not in (ready := client.get("/readyz").json()):
            assert time.monotonic() < deadline, ready
            time.sleep(0.1)
        assert ready["generation"] == older and "passages.jsonl" in ready["refused"]["problem"]
        assert client.get("/index").json()["generation"] == older
        assert "ferry.md" not in {row["doc_id"] for row in client.get("/documents").json()}
        rebuilt = build_index(settings, real_embedder())  # the damaged one is not reused: a full build
        assert rebuilt.full_reason is not None and "passages.jsonl" in rebuilt.full_reason
        while (ready := client.get("/readyz").json())["generation"] != rebuilt.generation:
            assert time.monotonic() < deadline + 60, ready
            time.sleep(0.1)
        assert "refused" not in ready, "a newer good generation clears the report"
        assert "ferry.md" in {row["doc_id"] for row in client.get("/documents").json()}
    assert any("passages.jsonl" in record.getMessage() for record in caplog.records)


def test_with_every_generation_damaged_the_server_says_why(
    two_generations: tuple[Path, str, str], tmp_path: Path
) -> None:
    _, older, newer = two_generations
    settings = private_copy(two_generations, tmp_path)
    damage(own_segment(settings.index_dir, newer) / "vectors.f32", "flip")
    damage(own_segment(settings.index_dir, older) / "vectors.f32", "truncate")  # shared by both
    with TestClient(create_app(settings, real_embedder())) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "vectors.f32" in ready.json()["detail"]
        query = client.get("/query", params={"q": "what did UNIDO announce?"})
        assert query.status_code == 503 and str(tmp_path) not in query.text


# --- a full disk ---------------------------------------------------------------------------------------


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A mount point for a tmpfs; skipped where mounting is not allowed (not root, no privileges),
    in which case the failing-writer test below still covers a full disk."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    probe = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_the_build_cleanly(tmp_path: Path, small_tmpfs: Path) -> None:
    """A real ENOSPC: the index lives on a tmpfs with room for one generation and a little more."""
    settings = article_copy(tmp_path)
    build_index(settings, real_embedder())
    size = folder_bytes(settings.index_dir)
    subprocess.run(["mount", "-o", f"remount,size={size * 3 // 2 // 1024}k", str(small_tmpfs)], check=True)
    shutil.copytree(settings.index_dir, small_tmpfs / "index")
    settings = Settings(corpus_dir=settings.corpus_dir, index_dir=small_tmpfs / "index").resolved()
    served = current_generation(settings.index_dir)
    (settings.corpus_dir / "ferry.md").write_text(FERRY, encoding="utf-8")
    env = {**os.environ, "QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "qa", "index", "--full"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot write a new index generation (the disk is full)"), result.stderr
    assert "Traceback" not in result.stderr
    assert current_generation(settings.index_dir) == served
    assert not list(settings.index_dir.glob(".tmp-*")), "the staging folder is removed"
    assert_serves(settings, served or "", absent=("ferry.md",))


def test_a_failing_writer_fails_a_write_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC injected into the generation writer halfway through a file, through the write API."""
    copy = article_copy(tmp_path)
    settings = Settings(corpus_dir=copy.corpus_dir, index_dir=copy.index_dir, api_token=TOKEN).resolved()
    served = build_index(settings, real_embedder()).generation
    write_lines = segments.SegmentWriter._lines

    def full_disk(writer: segments.SegmentWriter, name: str, rows: Any) -> int:
        write_lines(writer, name, list(rows)[:1])  # something reached the disk before it filled
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)

    corpus_before = sorted(path.name for path in settings.corpus_dir.iterdir())
    with TestClient(create_app(settings, real_embedder())) as client:
        monkeypatch.setattr(segments.SegmentWriter, "_lines", full_disk)
        response = client.post("/documents", json={"doc_id": "ferry.md", "text": FERRY}, headers=AUTH)
        assert response.status_code == 507, response.text
        assert "disk is full" in response.json()["detail"] and str(tmp_path) not in response.text
        rebuild = client.post("/index/rebuild", json={"full": True}, headers=AUTH)
        assert rebuild.status_code == 202
        deadline = time.monotonic() + 120
        while (job := client.get("/index").json()["job"])["state"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["state"] == "failed" and "disk is full" in job["error"]
        monkeypatch.undo()
        assert client.get("/index").json()["generation"] == served
    assert sorted(path.name for path in settings.corpus_dir.iterdir()) == corpus_before
    assert current_generation(settings.index_dir) == served
    assert not list(settings.index_dir.glob(".tmp-*"))
    assert [path.name for path in settings.index_dir.glob("gen-*")] == [served]
    assert_serves(settings, served, absent=("ferry.md",))
    with pytest.raises(IndexWriteFailed):  # and the core says so to any caller, CLI included
        monkeypatch.setattr(segments.SegmentWriter, "_lines", full_disk)
        build_index(settings, real_embedder(), full=True)
