"""Writes against a real `qa serve` never answer 5xx: the case schemathesis once found (the only
document replaced by symbols and control characters, which gave the keyword index no words),
then schemathesis' stateful phase, with the token, chaining writes, deletes, reads and queries
through the links it infers between operations."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.generation.stateful import run_state_machine_as_test

from qa.core.config import Settings
from qa.index.build import build_index
from tests.conftest import real_embedder, running_server

TOKEN = "stateful-fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SYMBOLS = "\x01\x02 !!! §§ --- ??? \x7f ~~~ \u200b"
FERRY = "# Ferry\n\nThe night ferry leaves at 23:40 from pier seven.\n"
SCENARIOS = 25  # each a chain of up to 6 calls; every accepted write builds a generation


def one_document(base: Path) -> Settings:
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "ferry.md").write_text(FERRY, "utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=base / "index").resolved()
    build_index(settings, real_embedder())
    return settings


def restore(base: str) -> None:
    """The server back to the one document (each write waits for the one before)."""
    httpx.post(f"{base}/documents", json={"doc_id": "ferry.md", "text": FERRY}, headers=AUTH, timeout=120)
    for row in httpx.get(f"{base}/documents", timeout=30).json():
        if row["doc_id"] != "ferry.md":
            httpx.delete(f"{base}/documents/{row['doc_id']}", headers=AUTH, timeout=120)


def test_writes_without_keyword_tokens_are_not_server_errors(tmp_path: Path) -> None:
    settings = one_document(tmp_path)
    with running_server(settings, QA_API_TOKEN=TOKEN) as base:
        for doc_id in ("ferry.md", "symbols.txt"):  # replacing the only document, then adding one
            response = httpx.post(
                f"{base}/documents", json={"doc_id": doc_id, "text": SYMBOLS}, headers=AUTH, timeout=120
            )
            assert response.status_code < 500, response.text
        assert httpx.get(f"{base}/query", params={"q": "ferry"}, timeout=60).status_code == 200
        assert httpx.get(f"{base}/query", params={"q": "!!!"}, timeout=60).status_code < 500


def test_stateful_fuzzing_of_a_real_server_finds_no_server_error(tmp_path: Path) -> None:
    settings = one_document(tmp_path)
    statuses: Counter[int] = Counter()
    with running_server(settings, QA_API_TOKEN=TOKEN, QA_MAX_UPLOAD_BYTES="20000") as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")

        class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
                return {"headers": AUTH, "timeout": 120}

            def teardown(self) -> None:
                """Every scenario starts from the one document: hypothesis replays choices and
                wants the same responses to them."""
                restore(base)

            def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
                statuses[response.status_code] += 1
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path}: {response.text[:500]}"
                )
                assert "Traceback" not in response.text and str(tmp_path) not in response.text

        run_state_machine_as_test(
            Scenarios,
            settings=hypothesis_settings(
                max_examples=SCENARIOS,
                stateful_step_count=6,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            ),
        )
        assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200
    print(f"\nstateful fuzzing, responses by status: {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= SCENARIOS and not any(status >= 500 for status in statuses)
