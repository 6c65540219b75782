"""The `readable` field of a passage over HTTP: what the model reads (``Passage.view``) whenever it
differs from `text`, whatever the kind. A passage holding any code is of kind `code`, yet it is
often mostly prose with links and emphasis around a block; its `readable` was empty. Real model,
real index, a real ``qa serve``."""

from __future__ import annotations

from pathlib import Path

import httpx

from qa.core.config import Settings
from qa.index.build import build_index
from tests.conftest import ARTICLE, real_embedder, running_server

TIMEOUTS = """# Timeouts

You can set **timeouts** for a single request with the [`timeout` argument](https://example.org/api#timeout),
which is *seconds* as a float; without it a request may wait _forever_ on a slow server:

```python
requests.get("https://example.org", timeout=10.0)
```
"""


def test_a_code_passage_mostly_prose_is_readable_over_http(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "timeouts.md").write_text(TIMEOUTS)
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index").resolved()
    build_index(settings, real_embedder())
    # every best sentence is given as an answer: the answer's `readable` is seen whatever its confidence
    with (
        running_server(settings, QA_ANSWER_THRESHOLD="0") as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        question = {"q": "how do I set a timeout for a single request?", "doc": "timeouts.md", "k": 1}
        response = http.get("/query", params=question).json()
        mixed = response["passages"][0]
        unido = http.get("/query", params={"q": "what did UNIDO announce?", "k": 1}).json()
        plain = unido["passages"][0]
    assert mixed["kind"] == "code" and "**timeouts**" in mixed["text"]
    readable = mixed["readable"]
    assert len(readable) == len(mixed["text"]), "same length: the citation's offsets apply to it"
    assert "set   timeouts   for" in readable and "[" not in readable
    assert "https://example.org/api" not in readable, "a link's target is not read"
    assert "```" not in readable and 'requests.get("https://example.org", timeout=10.0)' in readable
    assert readable.count("\n") == mixed["text"].count("\n"), "the code keeps its lines"
    assert plain["kind"] == "body" and plain["readable"] == "", "plain text: empty, it is `text` itself"
    # the answer reads as its passage does: the lead-in sentence with the block it introduces
    answer = response["answer"]
    assert answer["text"].startswith("You can set **timeouts**") and answer["text"].endswith("```")
    start = answer["citation"]["start"] - mixed["citation"]["start"]
    assert answer["readable"] == readable[start : start + len(answer["text"])]
    assert "**" not in answer["readable"] and "```" not in answer["readable"]
    assert unido["answer"]["text"] and unido["answer"]["readable"] == "", "plain text: `text` itself"
