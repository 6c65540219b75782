"""Filters over shards: partitions of the library index (in process, as the Ray shard actors hold
them), the ``ShardServer`` the actors run, and real Ray actors, all return exactly the filtered
rankings of the single-node searcher, in every mode."""

from __future__ import annotations

import itertools

import pytest

from qa.core.config import SearchMode, Settings
from qa.core.filters import NO_MATCH, make_filter
from qa.index.generations import EF_SEARCH, load_generation
from qa.search.searcher import Searcher
from qa.search.shards import LocalShards, Partition, segment_groups, split_points
from qa.service.engine import open_searcher
from tests.conftest import real_embedder

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install -e '.[ray]'")

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "keyword")
QUESTIONS = ["How do I set a timeout for a single request?", "when does the night ferry leave?"]
FILTERS = [
    make_filter("flask/**"),
    make_filter(["notes/**", "httpx/advanced-*.md"]),
    make_filter(meta={"author": "Grace"}),
    make_filter("nowhere/*"),
]


def compare(single: Searcher, sharded: Searcher) -> None:
    for question, only, mode in itertools.product(QUESTIONS, FILTERS, MODES):
        query = single.embed(question)
        expected, found = single.rank(query, 10, mode, only), sharded.rank(query, 10, mode, only)
        assert [row for row, _ in found] == [row for row, _ in expected], (question, only, mode)
        assert [score for _, score in found] == pytest.approx([score for _, score in expected], abs=1e-5)
    for only in FILTERS:
        expected_result, found_result = (
            single.search(QUESTIONS[0], 5, only=only),
            sharded.search(QUESTIONS[0], 5, only=only),
        )
        assert [h.passage.passage_id for h in found_result.hits] == [
            h.passage.passage_id for h in expected_result.hits
        ]
        assert found_result.message == expected_result.message
    assert sharded.search(QUESTIONS[0], 5, only=make_filter("nowhere/*")).message.startswith(NO_MATCH)  # type: ignore[union-attr]


class InProcessActor:
    """A ``ShardServer`` called as a Ray handle calls it (``handle.method.remote(...)``), in process."""

    def __init__(self, server: object) -> None:
        self.server = server

    def __getattr__(self, name: str) -> object:
        method = getattr(self.server, name)
        return type("Remote", (), {"remote": staticmethod(method)})()


def test_partitions_in_process_filter_like_the_whole(library_settings: Settings) -> None:
    generation = load_generation(library_settings.index_dir)
    bounds = split_points(len(generation.passages), 3)  # cuts through segments and documents
    partitions = [Partition.of(generation, lo, hi, EF_SEARCH) for lo, hi in itertools.pairwise(bounds)]
    single = open_searcher(generation, real_embedder())
    compare(single, Searcher(generation, single.encoder, LocalShards(partitions), reader=single.reader))


def test_shard_servers_filter_like_the_single_node(
    library_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shard code path the Ray replicas call (``ShardServer`` behind ``RayShards``), with
    ``ray.get`` taking the values the in-process calls return."""
    from qa import distributed
    from qa.distributed import RayShards, ShardServer

    generation = load_generation(library_settings.index_dir)
    servers = [ShardServer(str(library_settings.index_dir), shard, 2) for shard in range(2)]
    for server in servers:
        server.load(generation.name)
    monkeypatch.setattr(distributed.ray, "get", lambda values: values)
    shards = RayShards(
        [InProcessActor(server) for server in servers], generation.name, segment_groups(generation, 2)
    )
    single = open_searcher(generation, real_embedder())
    catalog = load_generation(library_settings.index_dir, searchable=False)
    compare(single, Searcher(catalog, single.encoder, shards, reader=single.reader))


def test_ray_shard_actors_filter_like_the_single_node(library_settings: Settings) -> None:
    from qa.distributed import ShardServer, open_sharded

    generation = load_generation(library_settings.index_dir)
    # a new local instance whatever the machine holds: without an address, ray.init joins the
    # cluster /tmp/ray/ray_current_cluster names, even one killed without `ray stop`
    ray.init(
        address="local", num_cpus=2, namespace="qa-filters-test", log_to_driver=False, include_dashboard=False
    )
    try:
        actor = ray.remote(ShardServer)
        handles = [
            actor.options(num_cpus=0.5).remote(str(library_settings.index_dir), s, 2) for s in range(2)
        ]
        sharded = open_sharded(library_settings, real_embedder(), generation.name, handles)
        assert all(s.keyword is None for s in sharded.generation.segments)  # the replica holds a catalog only
        compare(open_searcher(generation, real_embedder()), sharded)
    finally:
        ray.shutdown()
