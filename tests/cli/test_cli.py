"""The `qa` command, run as a user runs it: a real process, real index, real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from qa.core.config import Settings


def run_qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    return {"QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir)}


def test_ask_prints_cited_passages(article_settings: Settings) -> None:
    result = run_qa("ask", "what did UNIDO announce?", "-k", "2", env=settings_env(article_settings))
    assert result.returncode == 0, result.stderr
    assert "shanghai-declaration.txt:" in result.stdout and "1." in result.stdout and "2." in result.stdout


def test_ask_json_matches_the_api_shape(article_settings: Settings) -> None:
    result = run_qa(
        "ask", "Where will the centre be housed?", "--json", "-k", "3", env=settings_env(article_settings)
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    text = (article_settings.corpus_dir / "shanghai-declaration.txt").read_text(encoding="utf-8")
    assert len(body["passages"]) == 3
    for passage in body["passages"]:
        assert text[passage["citation"]["start"] : passage["citation"]["end"]] == passage["text"]


def test_index_prints_counts_and_reuses_unchanged(tmp_path: Path, article_settings: Settings) -> None:
    env = {"QA_CORPUS_DIR": str(article_settings.corpus_dir), "QA_INDEX_DIR": str(tmp_path / "index")}
    first = run_qa("index", env=env)
    assert first.returncode == 0, first.stderr
    assert "indexed 1 documents" in first.stdout and "passages" in first.stdout
    assert "up to date" in run_qa("index", "--if-needed", env=env).stdout
    second = run_qa("index", env=env)
    assert "reused 1 unchanged documents" in second.stdout and "0 texts embedded" in second.stdout


def test_errors_are_one_line_and_nonzero(tmp_path: Path) -> None:
    missing_index = run_qa("ask", "anything", env={"QA_INDEX_DIR": str(tmp_path / "none")})
    assert missing_index.returncode == 1
    assert "qa index" in missing_index.stderr and "Traceback" not in missing_index.stderr
    empty_question = run_qa("ask", "   ", env={"QA_INDEX_DIR": str(tmp_path / "none")})
    assert empty_question.returncode == 1 and "empty" in empty_question.stderr
    no_corpus = run_qa(
        "index", env={"QA_CORPUS_DIR": str(tmp_path / "nope"), "QA_INDEX_DIR": str(tmp_path / "i")}
    )
    assert no_corpus.returncode == 1 and "does not exist" in no_corpus.stderr
    bad_model = run_qa(
        "index",
        env={
            "QA_CORPUS_DIR": str(tmp_path),
            "QA_INDEX_DIR": str(tmp_path / "i"),
            "QA_MODEL": "/no/such/model",
        },
    )
    assert bad_model.returncode == 1 and "could not load embedding model" in bad_model.stderr
    assert "Traceback" not in bad_model.stderr


def test_a_corpus_with_nothing_to_index_fails_naming_the_folder_and_formats(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "data.xls").write_bytes(b"PK\x03\x04")
    result = run_qa("index", env={"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "i")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "skipped data.xls: .xls is not a supported format" in " ".join(result.stderr.split())
    message = result.stderr.strip().splitlines()[-1]
    assert str(corpus) in message and "no document to index" in message and ".md" in message


def test_off_a_terminal_index_prints_progress_lines_and_skipped_files(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(30):
        (corpus / f"note-{number}.md").write_text(f"# Note {number}\n\nThe ferry leaves at {number}.\n")
    (corpus / "photo.png").write_bytes(b"\x89PNG")
    (corpus / "SUMMARY.md").write_text("- [Note 1](note-1.md)\n- [Note 2](note-2.md)\n")  # navigation only
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "i")}
    result = run_qa("index", env=env)
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith("parsed ")]
    assert progress and "parsed 31 documents; embedded 30/30 passages" in progress[-1]
    assert "passages/s" in progress[-1] and "left" in progress[-1]
    said = " ".join(result.stderr.split())
    assert said.count("skipped photo.png: .png is not a supported format") == 1  # once, in the summary
    assert "nothing to search in SUMMARY.md: no text but markup, links or page furniture" in said


def test_what_documents_say_is_printed_as_written_never_as_markup(tmp_path: Path) -> None:
    """Square brackets in a document ("[project]", a closing tag "[/bold]") and in a file name
    are text: printed whole, never read as the terminal library's markup (which dropped them,
    and crashed on a closing tag that closes nothing)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "[draft] toml.md").write_text(
        "# TOML tables\n\nDependencies go in the `[project]` table of pyproject.toml, and tool settings "
        "go in the `[tool.poetry]` table.\n\nA style is closed with a tag such as `[/bold]` after the "
        "styled text.\n",
        encoding="utf-8",
    )
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "i")}
    assert run_qa("index", env=env).returncode == 0
    for question, expected in (
        ("How is a style closed?", "such as `[/bold]` after"),
        ("Where do dependencies go?", "the `[project]` table"),
    ):
        result = run_qa("ask", "--local", question, env=env)
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stdout.split())
        assert expected in said and "[draft] toml.md:" in said, said


def test_answers_and_passages_print_line_for_line(tmp_path: Path) -> None:
    """A passage (or an answer) holding a code block prints its lines as written, indented, still
    escaped (the link's "[`timeout` argument]" is text): they were joined into one line."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "timeouts.md").write_text(
        "# Timeouts\n\nYou can set **timeouts** for a single request with the [`timeout` argument]"
        "(https://example.org/api#timeout),\nwhich is *seconds* as a float:\n\n```python\n"
        "def fetch(url):\n    return requests.get(url, timeout=10.0)\n```\n",
        encoding="utf-8",
    )
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "i"), "COLUMNS": "200"}
    assert run_qa("index", env=env).returncode == 0
    result = run_qa("ask", "--local", "how do I set a timeout for a request?", "-k", "1", env=env)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    answer = printed.index("def fetch(url):")  # the answer: its own lines, as written
    assert printed[answer - 1 : answer + 3] == [
        "```python",
        "def fetch(url):",
        "    return requests.get(url, timeout=10.0)",
        "```",
    ]
    passage = printed.index("   def fetch(url):")  # the passage: the same lines, indented
    assert printed[passage - 1 : passage + 3] == [
        "   ```python",
        "   def fetch(url):",
        "       return requests.get(url, timeout=10.0)",
        '   ```"',
    ]
    link = "with the [`timeout` argument](https://example.org/api#timeout),"
    assert sum(line.endswith(link) for line in printed) == 2, "the answer's line and the passage's"
    assert "   which is *seconds* as a float:" in printed


def test_ask_asks_a_running_server_and_says_so(article_settings: Settings) -> None:
    from tests.conftest import running_server

    with running_server(article_settings) as base:
        env = {**settings_env(article_settings), "QA_PORT": base.rsplit(":", 1)[1]}
        started = time.perf_counter()
        remote = run_qa("ask", "what did UNIDO announce?", "--json", "-k", "2", env=env)
        seconds = time.perf_counter() - started
        local = run_qa("ask", "what did UNIDO announce?", "--json", "-k", "2", "--local", env=env)
        refused = run_qa("ask", "   ", env=env)
    assert remote.returncode == 0, remote.stderr
    assert f"asked the server at {base}" in remote.stderr
    print(f"\nqa ask against a running server: {seconds:.2f} s wall, start-up included")
    assert "answered in this process" in local.stderr
    served, loaded = json.loads(remote.stdout), json.loads(local.stdout)
    assert [p["citation"] for p in served["passages"]] == [p["citation"] for p in loaded["passages"]]
    assert served["answer"] == loaded["answer"]
    assert refused.returncode == 1 and "empty" in refused.stderr and "Traceback" not in refused.stderr


def test_ask_without_a_server_answers_in_process(article_settings: Settings) -> None:
    from tests.conftest import free_port

    env = {**settings_env(article_settings), "QA_PORT": str(free_port())}
    result = run_qa("ask", "what did UNIDO announce?", "-k", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert "answered in this process" in result.stderr and "shanghai-declaration.txt:" in result.stdout
