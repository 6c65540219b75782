"""The HTTP contract through FastAPI's TestClient, with the real model and a real index."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa.core.config import Settings
from qa.http.app import create_app
from tests.conftest import real_embedder

UNIDO_SENTENCE = "Also unveiled during WAIC’s opening ceremony was the formation of a new United Nations"
# answered above the reader's threshold ("what did UNIDO announce?" finds the same sentence at 0.26)
ANSWERED = "Which UN centre did UNIDO announce at WAIC?"


def test_query_returns_cited_passages(client: TestClient) -> None:
    response = client.get("/query", params={"q": ANSWERED, "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == ANSWERED and body["took_ms"] >= 0
    assert len(body["passages"]) == 3 and [p["rank"] for p in body["passages"]] == [1, 2, 3]
    top = body["passages"][0]
    assert UNIDO_SENTENCE in top["text"]
    citation = top["citation"]
    document = client.get(f"/documents/{citation['doc_id']}").json()
    assert document["text"][citation["start"] : citation["end"]] == top["text"]
    lines = document["text"].split("\n")
    assert UNIDO_SENTENCE in "\n".join(lines[citation["line_start"] - 1 : citation["line_end"]])
    assert body["answerable"] is True
    answer = body["answer"]
    assert document["text"][answer["citation"]["start"] : answer["citation"]["end"]] == answer["text"]


def test_a_single_term_gets_passages_and_a_note_but_no_answer(client: TestClient) -> None:
    """A term asks nothing: any sentence holding it would score as a confident answer, so the
    passages come back with a note saying why there is no answer sentence."""
    body = client.get("/query", params={"q": "UNIDO", "k": 3}).json()
    assert body["answerable"] is False and body["answer"] is None
    assert "a single term asks no question" in body["message"]
    assert len(body["passages"]) == 3 and "UNIDO" in body["passages"][0]["text"]
    asked = client.get("/query", params={"q": ANSWERED, "k": 3}).json()
    assert asked["answerable"] is True and asked["message"] is None


def test_post_query_matches_get(client: TestClient) -> None:
    get = client.get("/query", params={"q": "Where will the centre be housed?", "k": 4}).json()
    post = client.post("/query", json={"question": "Where will the centre be housed?", "k": 4}).json()
    assert [p["citation"] for p in get["passages"]] == [p["citation"] for p in post["passages"]]


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_every_mode_answers(client: TestClient, mode: str) -> None:
    body = client.get("/query", params={"q": "UNIDO centre of excellence", "mode": mode}).json()
    assert body["mode"] == mode and body["passages"]


def test_documents_list_and_get(client: TestClient) -> None:
    listed = client.get("/documents").json()
    assert [d["doc_id"] for d in listed] == ["shanghai-declaration.txt"]
    document = client.get("/documents/shanghai-declaration.txt").json()
    assert document["title"].startswith("China Promotes Global AI Cooperation")


def test_health_ready_index_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    info = client.get("/index").json()
    assert info["documents"] == 1 and info["passages"] > 5 and info["job"] is None
    assert client.get("/docs").status_code == 200
    assert "/query" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"q": ""}, "empty"),
        ({"q": "   \t "}, "empty"),
        ({"q": "x" * 2001}, "limit is 2000"),
        ({"q": "ok", "k": 0}, "k"),
        ({"q": "ok", "k": 51}, "k"),
        ({"q": "ok", "k": "many"}, "k"),
        ({"q": "ok", "mode": "psychic"}, "mode"),
        ({}, "q"),
    ],
)
def test_bad_query_input_is_422_with_a_message(
    client: TestClient, params: dict[str, object], fragment: str
) -> None:
    response = client.get("/query", params=params)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": " "},
        {"question": "ok", "k": 0},
        {"question": "ok", "k": 99},
        {"k": 3},
        {"question": 5},
    ],
)
def test_bad_post_body_is_422(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/query", json=body)
    assert response.status_code == 422 and response.json()["detail"]


def test_non_json_body_is_422(client: TestClient) -> None:
    response = client.post("/query", content=b"not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_unknown_document_is_404(client: TestClient) -> None:
    response = client.get("/documents/nope.txt")
    assert response.status_code == 404 and "nope.txt" in response.json()["detail"]


def test_missing_index_is_503_with_advice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index")
    with TestClient(create_app(settings, real_embedder())) as empty:
        ready = empty.get("/readyz")
        assert ready.status_code == 503 and "qa index" in ready.json()["detail"]
        response = empty.get("/query", params={"q": "anything"})
        assert response.status_code == 503 and "qa index" in response.json()["detail"]


def test_metrics_count_requests_by_route_and_status(client: TestClient) -> None:
    client.get("/query", params={"q": "what did UNIDO announce?"})
    client.get("/documents/no-such-doc.txt")
    text = client.get("/metrics").text
    assert 'qa_http_requests_total{method="GET",route="/query",status="200"}' in text
    assert 'qa_http_requests_total{method="GET",route="/documents/{doc_id:path}",status="404"}' in text
    assert "qa_http_request_seconds_bucket" in text
    passages = client.get("/index").json()["passages"]
    assert f"qa_index_passages {float(passages)}" in text and "qa_index_generation_info{" in text


def test_plain_gets_answer_as_the_validated_route_does(article_settings: Settings) -> None:
    """A GET /query of plain parameters is answered before FastAPI's parameter solving
    (``qa.http.routes.query.PlainQuery``); its body is the route's (a repeated parameter goes
    through the route) and POST's, with the answer cache off so that every request reaches the model."""
    settings = article_settings.model_copy(update={"cache_size": 0})
    with TestClient(create_app(settings, real_embedder())) as uncached:
        for question, k, mode in (
            (ANSWERED, None, None),
            ("Where will the centre be housed?", 3, None),
            ("who wrote this article?", 7, "keyword"),
            ("what does the declaration say about AI safety?", None, "dense"),
        ):
            params = [("q", question), *([("k", str(k))] if k else []), *([("mode", mode)] if mode else [])]
            chosen = mode or "hybrid"
            plain = uncached.get("/query", params=params)
            routed = uncached.get("/query", params=[*params, ("mode", chosen), ("mode", chosen)])
            posted = uncached.post("/query", json={"question": question, "k": k or 5, "mode": chosen})
            assert plain.status_code == routed.status_code == posted.status_code == 200
            assert plain.headers["content-type"] == routed.headers["content-type"] == "application/json"
            bodies = [{**response.json(), "took_ms": 0} for response in (plain, routed, posted)]
            assert bodies[0] == bodies[1] == bodies[2], question
        assert uncached.get("/query", params={"q": "ok", "k": "051"}).status_code == 422


def test_which_gets_are_plain() -> None:
    from qa.http.routes.query import plain_query

    assert plain_query(b"q=what+did+UNIDO+announce%3F") == ("what did UNIDO announce?", 5, None)
    assert plain_query(b"k=3&mode=dense&q=x") == ("x", 3, "dense")
    assert plain_query(b"q=") == ("", 5, None)  # the engine refuses it, and the route says why
    for routed in (
        b"",
        b"k=3",
        b"q=x&q=y",
        b"q=x&k=0",
        b"q=x&k=51",
        b"q=x&k=%2B3",
        b"q=x&k=three",
        b"q=x&mode=psychic",
        b"q=x&doc=*.txt",
        b"q=x&meta.lang=en",
        b"q=x&extra=1",
    ):
        assert plain_query(routed) is None, routed


def test_plain_gets_skip_the_route_and_ask_once(
    article_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain GET /query never reaches the route's handler, and a question the engine refuses
    is asked once: its refusal comes from the app's handler for that error, the route's words,
    counted under the route in the metrics. A GET that is not plain goes through the route."""
    from qa.http.routes import query

    routed: list[str] = []
    route_run = query._run_query

    async def counting_route(engine, question, k, mode, only):  # type: ignore[no-untyped-def]
        routed.append(question)
        return await route_run(engine, question, k, mode, only)

    monkeypatch.setattr(query, "_run_query", counting_route)
    with TestClient(
        create_app(article_settings, real_embedder()), raise_server_exceptions=False
    ) as app_client:
        engine = app_client.app.state.engine  # type: ignore[attr-defined]
        asked: list[str] = []
        ask = engine.ask_async

        async def counting_ask(question, *rest):  # type: ignore[no-untyped-def]
            asked.append(question)
            if question == "fail":
                raise RuntimeError("a failure no handler takes")
            return await ask(question, *rest)

        monkeypatch.setattr(engine, "ask_async", counting_ask)
        assert app_client.get("/query", params={"q": ANSWERED}).status_code == 200
        assert asked == [ANSWERED] and routed == []
        refused = app_client.get("/query", params={"q": "   "})
        assert asked == [ANSWERED, "   "] and routed == []
        by_route = app_client.post("/query", json={"question": "   "})
        assert refused.status_code == by_route.status_code == 422
        assert refused.json() == by_route.json() and refused.json()["detail"]
        assert app_client.get("/query", params=[("q", "x"), ("q", ANSWERED)]).status_code == 200
        assert routed == ["   ", ANSWERED]  # the POST's, and the repeated parameter's
        failed = app_client.get("/query", params={"q": "fail"})
        assert failed.status_code == 500 and "Traceback" not in failed.text and asked[-1:] == ["fail"]
        assert asked.count("fail") == 1 and routed == ["   ", ANSWERED]
        metrics = app_client.get("/metrics").text
        assert 'qa_http_requests_total{method="GET",route="/query",status="422"} 1.0' in metrics
        assert 'qa_http_requests_total{method="GET",route="/query",status="500"} 1.0' in metrics
