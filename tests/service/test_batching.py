"""Micro-batching and the answer cache.

The first tests drive `MicroBatcher` with plain functions in place of the model: they are wiring
tests of the queueing (batch formation, failure, cancellation), and say so. The rest use the real
model and the real app: concurrent questions share model calls and get the very answers they get
one at a time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import httpx
import numpy as np
import pytest

from qa.core.config import Settings
from qa.http.app import create_app
from qa.index.build import parameters_for
from qa.index.generations import load_generation
from qa.search.searcher import embed_questions
from qa.service.asking import Ask, answer_batch
from qa.service.batching import MicroBatcher
from qa.service.engine import open_searcher
from tests.conftest import real_embedder

QUESTIONS = [
    "what did UNIDO announce?",
    "who wrote the article?",
    "where will the centre be located?",
    "when was the declaration adopted?",
    "what is the capital of France?",
    "which organisation will run the AI centre?",
    "what does the declaration call for?",
    "who spoke at the conference?",
]


def test_concurrent_items_share_one_call_wiring() -> None:
    """Wiring test (a plain function stands in for the model): items queued while the worker is
    busy form the next batch, and each caller gets its own result back, in order."""
    calls: list[list[int]] = []
    gate = threading.Event()

    def work(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        gate.wait(5)  # hold the first batch until the rest have queued behind it
        return [item * 10 for item in items]

    async def scenario() -> list[int]:
        batcher: MicroBatcher[int, int] = MicroBatcher(work, max_batch=64)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(batcher.submit(item)) for item in range(1, 20)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(first, *rest)
        await batcher.close()
        return list(results)

    assert asyncio.run(scenario()) == [item * 10 for item in range(20)]
    assert calls == [[0], list(range(1, 20))]


def test_batch_size_is_capped_and_wait_gathers_company_wiring() -> None:
    """Wiring test: with a wait window, items submitted a moment apart still share a call, and no
    call carries more than ``max_batch`` items."""
    calls: list[int] = []

    def work(items: Sequence[int]) -> list[int]:
        calls.append(len(items))
        return list(items)

    async def scenario() -> None:
        batcher: MicroBatcher[int, int] = MicroBatcher(work, max_batch=4, wait_seconds=0.2)
        batcher.start()

        async def late(item: int) -> int:
            await asyncio.sleep(0.02 * item)
            return await batcher.submit(item)

        assert await asyncio.gather(*(late(item) for item in range(10))) == list(range(10))
        await batcher.close()

    asyncio.run(scenario())
    assert max(calls) == 4
    assert sum(calls) == 10
    assert len(calls) == 3  # 4 + 4 + 2: the window gathered them instead of 10 single calls


def test_a_failing_batch_fails_every_caller_and_the_next_batch_works_wiring() -> None:
    """Wiring test: an exception in the work reaches every waiting caller; none hangs, and the
    batcher keeps serving afterwards. A cancelled caller does not break the batch."""
    failing = True

    def work(items: Sequence[str]) -> list[str]:
        if failing:
            time.sleep(0.05)
            raise ValueError("model exploded")
        return [item.upper() for item in items]

    async def scenario() -> None:
        nonlocal failing
        batcher: MicroBatcher[str, str] = MicroBatcher(work)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(item) for item in "abc"), return_exceptions=True)
        assert all(isinstance(result, ValueError) for result in results)
        failing = False
        abandoned = asyncio.ensure_future(batcher.submit("gone"))
        await asyncio.sleep(0)
        abandoned.cancel()
        assert await batcher.submit("x") == "X"
        await batcher.close()

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_questions_embedded_together_rank_as_they_do_alone(article_settings: Settings) -> None:
    """Padding a question into a batch with longer ones changes neither its vector nor its answer."""
    embedder = real_embedder()
    searcher = open_searcher(
        load_generation(article_settings.index_dir, parameters_for(article_settings, embedder)), embedder
    )
    together = embed_questions(embedder, QUESTIONS)
    for question, query in zip(QUESTIONS, together, strict=True):
        alone = searcher.embed(question)
        np.testing.assert_allclose(query.vector, alone.vector, atol=1e-5)
        np.testing.assert_allclose(query.tokens, alone.tokens, atol=1e-4)
        batched, single = searcher.search_query(query, 5, "hybrid"), searcher.search(question, 5, "hybrid")
        assert [hit.passage.passage_id for hit in batched.hits] == [
            hit.passage.passage_id for hit in single.hits
        ]
        assert batched.answerable == single.answerable
        assert (batched.answer and batched.answer.citation) == (single.answer and single.answer.citation)


class CountingEncoder:
    """The real model, counting its forward passes (``embed``, ``embed_with_tokens``, ``bare_encode``);
    tokenizer-only calls (counting, truncating) pass through uncounted."""

    def __init__(self) -> None:
        self.inner = real_embedder()
        self.forward_calls: list[int] = []  # texts per forward pass

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.inner, name)
        if name not in ("embed", "embed_with_tokens", "bare_encode"):
            return attribute

        def counted(texts: Sequence[str], *args: object, **kwargs: object) -> object:
            self.forward_calls.append(len(texts))
            return attribute(texts, *args, **kwargs)

        return counted


def test_a_batch_of_questions_and_their_answers_costs_one_forward_pass(article_settings: Settings) -> None:
    """The batch worker's path: the questions are embedded in one model call, and the search, the
    late interaction and the reader of every question work from that call's vectors and word
    pieces, with no model call of their own."""
    encoder = CountingEncoder()
    searcher = open_searcher(
        load_generation(article_settings.index_dir, parameters_for(article_settings, encoder.inner)),
        encoder,
    )
    asks = [Ask(searcher, question, 5, "hybrid") for question in QUESTIONS]
    results = answer_batch(encoder, asks)
    assert encoder.forward_calls == [len(QUESTIONS)]
    for question, result in zip(QUESTIONS, results, strict=True):
        assert not isinstance(result, Exception)
        alone = searcher.search(question, 5, "hybrid")  # its own forward pass, the reader's answer
        assert result.answerable == alone.answerable
        assert (result.answer and result.answer.citation) == (alone.answer and alone.answer.citation)


@pytest.fixture()
def served(article_settings: Settings) -> Settings:
    return article_settings.model_copy(update={"batch_wait_ms": 20.0, "cache_size": 0})


def test_concurrent_http_questions_share_model_calls(served: Settings) -> None:
    """32 concurrent requests through the real app: fewer model calls than questions, and every
    response is the one the same question gets alone."""
    app = create_app(served, real_embedder())

    async def scenario() -> tuple[list[dict[str, object]], list[dict[str, object]], list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://qa") as client,
        ):
            asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(32)]
            responses = await asyncio.gather(*(client.get("/query", params={"q": q}) for q in asked))
            alone = [(await client.get("/query", params={"q": q})).json() for q in asked]
            sizes = list(app.state.engine.batcher.stats.sizes)
        assert all(response.status_code == 200 for response in responses)
        return [response.json() for response in responses], alone, sizes

    together, alone, sizes = asyncio.run(scenario())
    assert sum(sizes) == 64
    assert max(sizes) > 1, sizes  # the 32 concurrent questions did not each call the model
    for batched, single in zip(together, alone, strict=True):
        assert [p["citation"] for p in batched["passages"]] == [p["citation"] for p in single["passages"]]
        assert batched["answerable"] == single["answerable"]
        if single["answer"] is None:
            assert batched["answer"] is None
            continue
        # same sentence and citation; the score may differ in the 6th decimal (padding in the batch)
        assert {**batched["answer"], "score": 0, "confidence": 0} == {
            **single["answer"],
            "score": 0,
            "confidence": 0,
        }
        assert batched["answer"]["score"] == pytest.approx(single["answer"]["score"], abs=1e-5)


def test_repeated_question_is_answered_from_the_cache(article_settings: Settings) -> None:
    """The second identical request does not reach the model; a different k or mode does."""
    app = create_app(article_settings.model_copy(update={"cache_size": 16}), real_embedder())

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://qa") as client,
        ):
            stats = app.state.engine.batcher.stats
            first = (await client.get("/query", params={"q": "what did UNIDO announce?"})).json()
            again = (await client.get("/query", params={"q": "  what did UNIDO announce?  "})).json()
            assert stats.items == 1
            assert {**again, "took_ms": 0} == {**first, "took_ms": 0}
            await client.get("/query", params={"q": "what did UNIDO announce?", "k": 3})
            await client.get("/query", params={"q": "what did UNIDO announce?", "mode": "dense"})
            assert stats.items == 3

    asyncio.run(scenario())


def test_closing_fails_waiting_requests_instead_of_leaving_them_hanging_wiring() -> None:
    """Wiring test: requests queued behind a running batch when the batcher closes get an error."""
    started = threading.Event()
    gate = threading.Event()

    def work(items: Sequence[int]) -> list[int]:
        started.set()
        gate.wait(5)
        return list(items)

    async def scenario() -> list[object]:
        batcher: MicroBatcher[int, int] = MicroBatcher(work)
        batcher.start()
        running = asyncio.ensure_future(batcher.submit(1))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        queued = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0.05)
        await batcher.close()
        gate.set()
        return list(await asyncio.wait_for(asyncio.gather(running, queued, return_exceptions=True), 5))

    outcomes = asyncio.run(scenario())
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes


def test_a_batch_gets_what_fresh_searchers_give_one_at_a_time(article_settings: Settings) -> None:
    """Search keeps decoded word pieces, passages and documents between questions; a batch asked
    twice (the second time from what was kept) gets the passages, scores and answers that a newly
    loaded searcher gives each question alone."""
    embedder = real_embedder()
    parameters = parameters_for(article_settings, embedder)
    warm = open_searcher(load_generation(article_settings.index_dir, parameters), embedder)
    # each question as the benchmark asks it, and some again with another k or mode, or misspelled
    # (the searcher keeps its words' word-piece counts, the reader its passages' sentences)
    asked = [(question, 5, "hybrid") for question in QUESTIONS] + [
        (QUESTIONS[0], 3, "hybrid"),
        (QUESTIONS[1], 5, "keyword"),
        (QUESTIONS[2], 8, "dense"),
        ("Where will the centre be hosued?", 5, "hybrid"),
        (QUESTIONS[0], 5, "hybrid"),
    ]
    asks = [Ask(warm, question, k, mode) for question, k, mode in asked]
    first, second = answer_batch(embedder, asks), answer_batch(embedder, asks)
    for (question, k, mode), *results in zip(asked, first, second, strict=True):
        fresh = open_searcher(load_generation(article_settings.index_dir, parameters), embedder)
        alone = fresh.search(question, k, mode)
        for result in results:
            assert not isinstance(result, Exception)
            assert [(h.passage, h.citation) for h in result.hits] == [
                (h.passage, h.citation) for h in alone.hits
            ]
            assert [h.score for h in result.hits] == pytest.approx([h.score for h in alone.hits], abs=1e-6)
            assert result.answer == alone.answer
