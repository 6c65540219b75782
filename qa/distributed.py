"""Scale-out on Ray: a sharded, replicated service and a build that embeds across the cluster.

The only module that imports ray (``pip install -e '.[ray]'``); the embedded default never
imports it. Two pieces:

- ``serve_on_ray``: N shard actors, each holding a ``Partition`` (contiguous rows) of the served
  generation, and M Ray Serve replicas of the same FastAPI app. A replica keeps the catalog
  (passages and documents, for citations and ``/documents``) and the model; it embeds a question
  once, fans the vector out to every shard, and merges with the single-node ``Searcher`` code.
  Shards read their partition from the shared ``index/`` folder (one machine, or a shared file
  system), memory-mapping the generation and copying only their rows. A shard keeps the two
  newest generations it was asked for, so a replica that has not yet swapped still finds its own.
- ``RayEncoder``: an ``Encoder`` whose forward passes run on a pool of actors, one model load
  per actor, so ``build_index`` writes exactly the single-node generation format.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray import serve
from ray.util import ActorPool

from qa.core.config import Backend, Settings
from qa.core.errors import IndexCorrupt
from qa.core.filters import Filter
from qa.core.protocols import Encoder
from qa.core.types import TokenVectors, Vectors
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.index.build import parameters_for
from qa.index.generations import EF_SEARCH, load_generation
from qa.search.searcher import Searcher
from qa.search.shards import FirstStage, Partition, Ranked, segment_groups
from qa.service.engine import default_reader

NAMESPACE = "qa"
APP_NAME = "qa"
KEPT_GENERATIONS = 2  # the served one and its predecessor, for replicas mid-swap
PLACE_SECONDS = 30.0  # shards and replicas not placed on the cluster by then fail the start
STOP_SECONDS = 6.0  # the most taking the deployment down may take on SIGTERM (then Ray is left)


class ShardServer:
    """Shard ``shard`` of ``shards``: a Partition of each generation asked for, the newest two."""

    def __init__(self, index_dir: str, shard: int, shards: int) -> None:
        self.index_dir = Path(index_dir)
        self.shard = shard
        self.shards = shards
        self.partitions: dict[str, Partition] = {}
        self.lock = threading.Lock()

    def load(self, name: str) -> int:
        """Hold generation ``name``'s partition (idempotent); return how many rows it has."""
        with self.lock:
            if name not in self.partitions:
                generation = load_generation(self.index_dir, name=name)
                bounds = segment_groups(generation, self.shards)
                partition = Partition.of(generation, bounds[self.shard], bounds[self.shard + 1], EF_SEARCH)
                self.partitions[name] = partition
                while len(self.partitions) > KEPT_GENERATIONS:
                    self.partitions.pop(next(iter(self.partitions)))
            return self.partitions[name].size

    def node(self) -> str:
        """The Ray node this shard runs on (where its memory is)."""
        return str(ray.get_runtime_context().get_node_id())

    def first_stage(
        self,
        name: str,
        vector: Vectors,
        text: str,
        depth: int,
        dense: bool,
        keyword: bool,
        only: Filter | None = None,
        fixable: Sequence[str] | None = None,
    ) -> FirstStage:
        return self.partitions[name].first_stage(vector, text, depth, dense, keyword, only, fixable)

    def late(self, name: str, query_tokens: Vectors, rows: Sequence[int]) -> Ranked:
        return self.partitions[name].late(query_tokens, rows)

    def tokens(self, name: str, rows: Sequence[int]) -> dict[int, TokenVectors]:
        return self.partitions[name].token_vectors(rows)


def shard_name(shard: int) -> str:
    return f"{APP_NAME}-shard-{shard}"


class RayShards:
    """The ``Shards`` of one generation on Ray: one call per shard, all in flight at once; rows
    are sent only to the shard that holds them."""

    def __init__(self, handles: Sequence[Any], name: str, bounds: Sequence[int]) -> None:
        self.handles = list(handles)
        self.name = name
        self.bounds = list(bounds)  # shard i holds rows bounds[i]:bounds[i + 1] (``segment_groups``)

    def first_stage(
        self,
        vector: Vectors,
        text: str,
        depth: int,
        dense: bool,
        keyword: bool,
        only: Filter | None = None,
        fixable: Sequence[str] | None = None,
    ) -> list[FirstStage]:
        """Every shard's candidates; a filter travels to the shards, which apply it per segment."""
        calls = [
            h.first_stage.remote(self.name, vector, text, depth, dense, keyword, only, fixable)
            for h in self.handles
        ]
        found: list[FirstStage] = ray.get(calls)
        return found

    def _owned(self, rows: Sequence[int]) -> list[tuple[Any, list[int]]]:
        owners = np.searchsorted(self.bounds, rows, side="right") - 1
        return [
            (handle, [row for row, owner in zip(rows, owners, strict=True) if owner == shard])
            for shard, handle in enumerate(self.handles)
            if (owners == shard).any()
        ]

    def late(self, query_tokens: Vectors, rows: Sequence[int]) -> list[Ranked]:
        found: list[Ranked] = ray.get(
            [handle.late.remote(self.name, query_tokens, mine) for handle, mine in self._owned(rows)]
        )
        return found

    def tokens(self, rows: Sequence[int]) -> dict[int, TokenVectors]:
        found: dict[int, TokenVectors] = {}
        for part in ray.get([handle.tokens.remote(self.name, mine) for handle, mine in self._owned(rows)]):
            found.update(part)
        return found


def open_sharded(settings: Settings, embedder: Encoder, name: str, handles: Sequence[Any]) -> Searcher:
    """A replica's searcher over generation ``name``: its catalog here, its rows on the shards
    (each loads its partition before the searcher is used)."""
    parameters = parameters_for(settings, embedder)
    generation = load_generation(settings.index_dir, parameters, name=name, searchable=False)
    try:
        ray.get([handle.load.remote(generation.name) for handle in handles])
    except ray.exceptions.RayError as error:
        raise IndexCorrupt(f"a shard could not load {generation.name}: {error}") from error
    shards = RayShards(handles, generation.name, segment_groups(generation, len(handles)))
    return Searcher(generation, embedder, shards, reader=default_reader(settings, embedder))


@serve.ingress()
class QAIngress:
    """A Ray Serve replica of the FastAPI app, searching through the shard actors."""

    def __init__(self, settings: Settings, shards: int) -> None:
        self.settings = settings
        self.shards = shards

    def __serve_build_asgi_app__(self) -> Any:
        from qa.http.app import create_app

        handles = [ray.get_actor(shard_name(shard), namespace=NAMESPACE) for shard in range(self.shards)]
        return create_app(
            self.settings,
            open_searcher=lambda settings, embedder, name: open_sharded(settings, embedder, name, handles),
        )


def connect(address: str | None) -> bool:
    """Join the cluster at ``address`` (or RAY_ADDRESS); with neither, start a local one. True
    when this process started the cluster (so stopping it stops the cluster)."""
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, ignore_reinit_error=True)
    except ConnectionError as error:  # a ValueError is what the CLI reports as one line
        raise ValueError(f"cannot join the Ray cluster at {address or 'RAY_ADDRESS'}: {error}") from error
    return address is None and not os.environ.get("RAY_ADDRESS")


def actor_cpus(
    setting: float | None, actors: int, what: str, free: float | None = None, total: float | None = None
) -> float:
    """CPUs to reserve for each of ``actors``: ``setting`` (QA_RAY_ACTOR_CPUS) when given, else an
    equal share of the cluster's ``free`` CPUs (by default, asked of the cluster), at most 1 each
    (a 2-core machine runs 2 shards and a replica at 0.66). ``ValueError`` naming what is missing
    when they cannot all be placed."""
    if free is None or total is None:
        free = float(ray.available_resources().get("CPU", 0.0))  # type: ignore[no-untyped-call]
        total = float(ray.cluster_resources().get("CPU", 0.0))  # type: ignore[no-untyped-call]
    cpus = setting if setting is not None else min(1.0, math.floor(100 * free / actors) / 100)
    if cpus * actors > free + 1e-9 or (setting is None and cpus <= 0 < actors):
        raise ValueError(
            f"the Ray cluster has {free:g} of {total:g} CPUs free, but {what} at {cpus:g} CPUs each "
            f"need {cpus * actors:g}: use fewer, or set QA_RAY_ACTOR_CPUS lower "
            "(by default the free CPUs are shared out)"
        )
    return cpus


def deploy(settings: Settings, shards: int, replicas: int) -> list[Any]:
    """Start the shard actors (spread over the nodes) and the replicas, each reserving the CPUs
    ``actor_cpus`` sizes to the cluster; HTTP on QA_HOST:QA_PORT."""
    if shards < 1 or replicas < 1:
        raise ValueError(f"--shards and --replicas must be at least 1 (got {shards} and {replicas})")
    cpus = actor_cpus(settings.ray_actor_cpus, shards + replicas, f"{shards} shards and {replicas} replicas")
    actor = ray.remote(ShardServer)
    handles = [
        actor.options(name=shard_name(shard), num_cpus=cpus, scheduling_strategy="SPREAD").remote(
            str(settings.index_dir), shard, shards
        )
        for shard in range(shards)
    ]
    serve.start(proxy_location="HeadOnly", http_options={"host": settings.host, "port": settings.port})
    deployment = serve.deployment(name="qa", num_replicas=replicas, ray_actor_options={"num_cpus": cpus})(
        QAIngress
    )
    serve.run(deployment.bind(settings, shards), name=APP_NAME, route_prefix="/", blocking=False)
    return handles


def unplaced(handles: Sequence[Any], since: float) -> str | None:
    """Why the deployment cannot start (shards or replicas the cluster has no room for, or a
    failed deployment), or None while all is well or still starting."""
    if time.monotonic() - since > PLACE_SECONDS:
        _, waiting = ray.wait([h.node.remote() for h in handles], num_returns=len(handles), timeout=1.0)
        if waiting:
            free = ray.available_resources()  # type: ignore[no-untyped-call]
            return f"{len(waiting)} shard actors were not placed in {PLACE_SECONDS:.0f} s (free: {free})"
    application = serve.status().applications.get(APP_NAME)
    if application is None:
        return None
    for deployment in application.deployments.values():
        if "to be scheduled" in deployment.message or "DEPLOY_FAILED" in str(deployment.status):
            return deployment.message
    if "DEPLOY_FAILED" in str(application.status):
        return application.message
    return None


def _take_down(handles: Sequence[Any]) -> None:
    serve.shutdown()  # type: ignore[no-untyped-call]
    for handle in handles:
        ray.kill(handle)


def serve_on_ray(settings: Settings, address: str | None, shards: int, replicas: int) -> None:
    """Deploy, then wait for SIGINT or SIGTERM and take the deployment and the shards down.

    A deployment the cluster cannot place fails with what is missing (``ValueError``). On a
    signal a cluster this process started is stopped whole (fast); on one it joined, the
    deployment is taken down, for at most ``STOP_SECONDS``."""
    if shards >= 1 and replicas >= 1 and address is None and not os.environ.get("RAY_ADDRESS"):
        cores = float(
            os.cpu_count() or 1
        )  # a local cluster gets this machine's CPUs: refuse before starting it
        actor_cpus(
            settings.ray_actor_cpus,
            shards + replicas,
            f"{shards} shards and {replicas} replicas",
            cores,
            cores,
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started = connect(address)
    handles: list[Any] = []
    try:
        handles = deploy(settings, shards, replicas)
        print(f"serving on http://{settings.host}:{settings.port} ({shards} shards, {replicas} replicas)")
        since = time.monotonic()
        while not stop.wait(1.0):
            problem = unplaced(handles, since) if time.monotonic() - since < 3 * PLACE_SECONDS else None
            if problem is not None:
                raise ValueError(f"qa serve --ray cannot start on this cluster: {problem}")
    finally:
        if not started and handles:  # the cluster outlives this command: take down what it started
            down = threading.Thread(target=_take_down, args=(handles,), daemon=True)
            down.start()
            down.join(STOP_SECONDS)
        ray.shutdown()


class EmbedWorker:
    """One model load per actor; embeds what it is sent."""

    def __init__(
        self,
        model: str,
        int8: bool = False,
        backend: Backend = "torch",
        onnx_dir: Path | None = None,
        passage_int8: bool = False,
    ) -> None:
        self.embedder = SentenceTransformerEncoder(
            model, int8=int8, backend=backend, onnx_dir=onnx_dir, passage_int8=passage_int8
        )

    def embed_with_tokens(
        self, texts: Sequence[str], batch_size: int, offsets: bool
    ) -> tuple[Vectors, list[TokenVectors]]:
        return self.embedder.embed_with_tokens(texts, batch_size, offsets)


class RayEncoder:
    """An ``Encoder`` whose forward passes run on ``workers`` actors spread over the cluster;
    tokenizer work (counting, truncating while chunking) stays on the local model."""

    def __init__(self, local: SentenceTransformerEncoder, workers: int, cpus: float) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be at least 1 (got {workers})")
        self.local = local
        self.name = local.name
        self.dimension = local.dimension
        self.max_tokens = local.max_tokens
        self.passage_precision = local.passage_precision  # the workers embed with the same setting
        actor = ray.remote(EmbedWorker)
        self.actors: list[Any] = [
            actor.options(num_cpus=cpus, scheduling_strategy="SPREAD").remote(
                local.model, local.int8, local.backend, local.onnx_dir, local.passage_int8
            )
            for _ in range(workers)
        ]
        self.pool = ActorPool(self.actors)

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        return self.embed_with_tokens(texts, batch_size, offsets=False)[0]

    def embed_with_tokens(
        self, texts: Sequence[str], batch_size: int = 64, offsets: bool = True
    ) -> tuple[Vectors, list[TokenVectors]]:
        """Whole batches to each worker in turn, results in the order of ``texts``."""
        if not texts:
            return self.local.embed_with_tokens(texts, batch_size, offsets)
        share = -(-len(texts) // len(self.actors))
        share = -(-share // batch_size) * batch_size
        chunks = [list(texts[start : start + share]) for start in range(0, len(texts), share)]
        parts = list(
            self.pool.map(
                lambda worker, chunk: worker.embed_with_tokens.remote(chunk, batch_size, offsets), chunks
            )
        )
        vectors = np.concatenate([part_vectors for part_vectors, _ in parts])
        return vectors, [pieces for _, part_pieces in parts for pieces in part_pieces]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.local.count_tokens(texts)

    def truncate(self, text: str, budget: int) -> str:
        return self.local.truncate(text, budget)

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor)


def ray_embedder(settings: Settings, address: str | None, workers: int | None) -> RayEncoder:
    """Connect and start the embedding workers: by default one per alive node."""
    connect(address)
    alive = len([node for node in ray.nodes() if node.get("Alive")])  # type: ignore[no-untyped-call]
    count = workers or max(alive, 1)
    return RayEncoder(
        SentenceTransformerEncoder.from_settings(settings),
        count,
        actor_cpus(settings.ray_actor_cpus, count, f"{count} embedding workers"),
    )
