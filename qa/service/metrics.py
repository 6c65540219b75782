"""Prometheus metrics for one app: request counts and latencies by route and status, the served
index, and rebuild durations. Each app owns its registry (no process-wide globals), so several
apps in one process, as in the tests, never mix their counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_http_requests",
            "HTTP requests answered.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qa_http_request_seconds",
            "Time to answer an HTTP request.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.builds = Histogram(
            "qa_index_build_seconds",
            "Index builds run by this server, by duration.",
            buckets=(1, 5, 15, 60, 300, 900, 3600),
            registry=self.registry,
        )
        self.documents = Gauge(
            "qa_index_documents", "Documents in the served generation.", registry=self.registry
        )
        self.passages = Gauge(
            "qa_index_passages", "Passages in the served generation.", registry=self.registry
        )
        self.skipped = Gauge(
            "qa_index_skipped_files",
            "Files under the corpus folder the served generation left out, and documents with nothing "
            "to search (GET /index names them).",
            registry=self.registry,
        )
        self.generation = Gauge(
            "qa_index_generation_info",
            "The served generation (value 1).",
            ["generation", "built_at"],
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def serve_generation(
        self, name: str, built_at: str, documents: int, passages: int, skipped: int = 0
    ) -> None:
        self.generation.clear()
        self.generation.labels(name, built_at).set(1)
        self.documents.set(documents)
        self.passages.set(passages)
        self.skipped.set(skipped)

    def render(self) -> bytes:
        return generate_latest(self.registry)
