"""``qa ask --doc/--meta``, as a user runs it: against a running server on loopback and in process."""

from __future__ import annotations

import json

from qa.core.config import Settings
from qa.core.filters import NO_MATCH
from tests.cli.test_cli import run_qa, settings_env
from tests.conftest import running_server

QUESTION = "How do I set a timeout for a single request?"


def test_ask_filters_on_a_running_server_and_in_process_alike(library_settings: Settings) -> None:
    with running_server(library_settings) as base:
        env = {**settings_env(library_settings), "QA_PORT": base.rsplit(":", 1)[1]}
        arguments = ["ask", QUESTION, "--json", "-k", "4", "--doc", "flask/*", "--doc", "notes/**"]
        remote = run_qa(*arguments, env=env)
        local = run_qa(*arguments, "--local", env=env)
        fields = run_qa("ask", "when does the night ferry leave?", "--meta", "author=Grace", env=env)
        nothing = run_qa("ask", QUESTION, "--doc", "nowhere/**", env=env)
        unknown = run_qa("ask", QUESTION, "--meta", "author", env=env)
    assert remote.returncode == 0 and f"asked the server at {base}" in remote.stderr, remote.stderr
    assert "answered in this process" in local.stderr, local.stderr
    served, loaded = json.loads(remote.stdout), json.loads(local.stdout)
    cited = [p["citation"] for p in served["passages"]]
    assert len(cited) == 4 and all(c["doc_id"].startswith(("flask/", "notes/")) for c in cited)
    assert cited == [p["citation"] for p in loaded["passages"]]
    assert (
        fields.returncode == 0
        and "notes/trips/bridge.md:" in fields.stdout
        and "ferry.md" not in fields.stdout
    )
    assert nothing.returncode == 0 and NO_MATCH in nothing.stdout and "1." not in nothing.stdout
    assert unknown.returncode == 1 and "KEY=VALUE" in unknown.stderr and "Traceback" not in unknown.stderr


def test_ask_help_names_the_filters() -> None:
    result = run_qa("ask", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0 and "--doc" in result.stdout and "--meta" in result.stdout
