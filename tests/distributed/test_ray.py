"""Scale-out on Ray, on a real two-node cluster on loopback (``ray.cluster_utils.Cluster``).

- the sharded service (``qa serve --ray``, 2 shards, 2 replicas) answers every article question
  in every mode exactly as the single-node searcher does, over HTTP, and serves /documents alike;
- shard actors on the cluster return SciFact rankings (top 100, every mode) and answers equal to
  the single-node ones, and so do in-process partitions (the merge alone, without Ray);
- ``qa index --ray`` writes the single-node generation: same passages, vectors within float error;
- the embedded default never imports ray.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from qa.core.config import SearchMode, Settings
from qa.evaluation.data import load_beir
from qa.index.build import build_documents, build_index
from qa.index.generations import EF_SEARCH, Generation, load_generation
from qa.search.searcher import Searcher
from qa.search.shards import LocalShards, Partition, split_points
from qa.service.engine import open_searcher
from tests.conftest import DATA, article_copy, real_embedder, running_server
from tests.evaluation.test_evaluation import SCIFACT, scifact_slice, write_beir

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install -e '.[ray]'")

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "keyword")
TOLERANCE = 1e-5
START_SECONDS = 300  # a 2-core machine starting two Ray nodes, Serve and two model replicas


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A head node and a worker node on loopback; their address. Shut down after the module."""
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 3, "object_store_memory": 200 * 1024**2}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes(timeout=120)
        yield str(cluster.address)
    finally:
        cluster.shutdown()


def qa_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "qa", *arguments]


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_RAY_ACTOR_CPUS": "1",
        **extra,
    }


@pytest.fixture
def sharded_url(cluster: str, article_settings: Settings) -> Iterator[str]:
    """``qa serve --ray`` over the article index: 2 shards, 2 replicas; its base URL once ready."""
    arguments = ["--ray", "--address", cluster, "--shards", "2", "--replicas", "2"]
    with running_server(
        article_settings, *arguments, start_seconds=START_SECONDS, QA_RAY_ACTOR_CPUS="1"
    ) as base:
        yield base


def same_ranking(expected: list[tuple[int, float]], found: list[tuple[int, float]]) -> None:
    assert [row for row, _ in found] == [row for row, _ in expected]
    assert np.allclose([s for _, s in found], [s for _, s in expected], rtol=0, atol=TOLERANCE)


def test_sharded_service_answers_like_the_single_node_one(
    sharded_url: str, article_settings: Settings
) -> None:
    embedder = real_embedder()
    single = open_searcher(load_generation(article_settings.index_dir), embedder)
    questions = [json.loads(line)["question"] for line in (DATA / "article_questions.jsonl").open()]
    with httpx.Client(base_url=sharded_url, timeout=60) as http:
        for question in questions:
            for mode in MODES:
                expected = single.search(question, 10, mode)
                response = http.get("/query", params={"q": question, "k": 10, "mode": mode})
                assert response.status_code == 200, response.text
                body = response.json()
                cited = [
                    (p["citation"]["doc_id"], p["citation"]["start"], p["citation"]["end"])
                    for p in body["passages"]
                ]
                wanted = [(h.citation.doc_id, h.citation.start, h.citation.end) for h in expected.hits]
                assert cited == wanted, (question, mode)
                scores = [p["score"] for p in body["passages"]]
                assert np.allclose(scores, [h.score for h in expected.hits], rtol=0, atol=TOLERANCE)
                assert body["answerable"] == expected.answerable, (question, mode)
                answer = expected.answer.text if expected.answer is not None else None
                assert (body["answer"] or {}).get("text") == answer, (question, mode)
        single_documents = [
            {"doc_id": d.doc_id, "title": d.title, "characters": len(d.text), "passages": len(rows)}
            for d in single.generation.documents.values()
            for rows in [single.generation.rows_of_doc.get(d.doc_id, [])]
        ]
        assert http.get("/documents").json() == single_documents
        doc_id = next(iter(single.generation.documents))
        document = http.get(f"/documents/{doc_id}").json()
        assert document["text"] == single.generation.documents[doc_id].text
        passage = http.get("/query", params={"q": "where will the centre be housed?"}).json()["passages"][0]
        assert document["text"][passage["citation"]["start"] : passage["citation"]["end"]] == passage["text"]
        assert http.get("/index").json()["generation"] == single.generation.name
        bad = http.get("/query", params={"q": "hi", "k": 99})
        assert bad.status_code == 422 and "k" in bad.json()["detail"]
        assert http.get("/documents/nope.txt").status_code == 404


@pytest.fixture(scope="module")
def scifact_generation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Generation, list[str]]:
    """A SciFact slice (50 test queries, their relevant abstracts and 400 others)
    indexed single-node; and its questions."""
    if not SCIFACT.is_dir():
        pytest.skip(f"no SciFact data at {SCIFACT}: the SciFact equivalence needs BEIR SciFact there")
    base = tmp_path_factory.mktemp("scifact-ray")
    documents, queries, qrels = scifact_slice(queries=50, others=400)
    data = load_beir(write_beir(base / "slice", documents, queries, qrels), "test")
    settings = Settings(corpus_dir=base / "unused", index_dir=base / "index").resolved()
    build_documents(data.documents, settings, real_embedder())
    return load_generation(settings.index_dir), list(data.queries.values())


def compare_searchers(single: Searcher, sharded: Searcher, questions: list[str]) -> None:
    for question in questions:
        query = single.embed(question)
        for mode in MODES:
            same_ranking(single.rank(query, 100, mode), sharded.rank(query, 100, mode))
        expected, found = single.search(question, 5), sharded.search(question, 5)
        assert [h.passage.passage_id for h in found.hits] == [h.passage.passage_id for h in expected.hits]
        assert (found.answer, found.answerable) == (expected.answer, expected.answerable)


def test_scifact_partitions_in_process_equal_the_whole(
    scifact_generation: tuple[Generation, list[str]],
) -> None:
    generation, questions = scifact_generation
    bounds = split_points(len(generation.passages), 3)
    partitions = [Partition.of(generation, lo, hi, EF_SEARCH) for lo, hi in itertools.pairwise(bounds)]
    single = open_searcher(generation, real_embedder())
    sharded = Searcher(generation, single.encoder, LocalShards(partitions), reader=single.reader)
    compare_searchers(single, sharded, questions)


def test_scifact_on_ray_shards_equal_the_single_node(
    cluster: str, scifact_generation: tuple[Generation, list[str]]
) -> None:
    from qa.distributed import ShardServer, open_sharded

    generation, questions = scifact_generation
    ray.init(address=cluster, namespace="qa-test", log_to_driver=False)
    try:
        actor = ray.remote(ShardServer)
        handles = [
            actor.options(num_cpus=1, scheduling_strategy="SPREAD").remote(str(generation.path.parent), s, 2)
            for s in range(2)
        ]
        settings = Settings(index_dir=generation.path.parent).resolved()
        sharded = open_sharded(settings, real_embedder(), generation.name, handles)
        assert len(set(ray.get([h.node.remote() for h in handles]))) == 2  # one shard per node
        assert all(s.keyword is None and s.ann is None for s in sharded.generation.segments)  # a catalog only
        compare_searchers(open_searcher(generation, real_embedder()), sharded, questions)
    finally:
        ray.shutdown()


def test_index_on_ray_writes_the_single_node_generation(cluster: str, tmp_path: Path) -> None:
    (tmp_path / "single").mkdir()
    (tmp_path / "ray").mkdir()
    settings, on_ray = article_copy(tmp_path / "single"), article_copy(tmp_path / "ray")

    build_index(settings, real_embedder())
    env = environment(on_ray)
    result = subprocess.run(
        qa_command("index", "--ray", "--address", cluster, "--workers", "2"),
        env=env,
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "indexed 1 documents" in result.stdout
    single, distributed = load_generation(settings.index_dir), load_generation(on_ray.index_dir)
    assert distributed.passages == single.passages
    assert np.allclose(distributed.vectors, single.vectors, rtol=0, atol=TOLERANCE)
    assert np.array_equal(distributed.tokens.offsets, single.tokens.offsets)
    assert np.array_equal(distributed.tokens.starts, single.tokens.starts)
    assert np.allclose(distributed.tokens.vectors, single.tokens.vectors, rtol=0, atol=2e-3)
    keys = ("format_version", "model", "chunk_tokens", "passages", "corpus_fingerprint")
    assert {k: distributed.manifest[k] for k in keys} == {k: single.manifest[k] for k in keys}
    # either build serves: the Ray-built generation answers like the single-node one
    question = "what did UNIDO announce?"
    answers = [open_searcher(g, real_embedder()).search(question, 3) for g in (single, distributed)]
    assert [h.passage for h in answers[0].hits] == [h.passage for h in answers[1].hits]


def test_bad_ray_options_are_one_line_errors(tmp_path: Path) -> None:
    settings = article_copy(tmp_path)
    env = environment(settings)
    result = subprocess.run(
        qa_command("serve", "--ray", "--shards", "0"), env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--shards" in result.stderr


def test_the_embedded_default_does_not_import_ray(article_settings: Settings) -> None:
    code = (
        "import sys; import qa.http.app, qa.cli, qa.search.searcher, qa.index.build; "
        "from qa.http.app import create_app; create_app(); "
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
