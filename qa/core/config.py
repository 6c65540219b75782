"""One settings object, read from ``QA_*`` environment variables and an optional ``.env``.

Settings are built only at the edges (CLI, app factory) and passed down, so every
function below them can be called with any configuration, tests included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

SearchMode = Literal["hybrid", "dense", "keyword"]
LogFormat = Literal["text", "json"]
Backend = Literal["auto", "onnx", "torch"]
LayoutSetting = Literal["auto", "article", "plain"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to index.")
    index_dir: Path = Field(Path("index"), description="Folder that holds index generations.")
    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or local path.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    # Chunking: passages never exceed the model's own limit; `chunk_tokens` is the budget for the
    # cited text, the rest of the model's window is left for the context carried into the embedding.
    # structured documents (Markdown and what is rendered to it) know their context, the heading
    # path, so their passages fill the model's window less it, whatever chunk_tokens says
    chunk_tokens: int = Field(
        200, ge=16, description="Most word pieces in a plain or article passage's cited text."
    )
    chunk_min_chars: int = Field(
        120, ge=0, description="Paragraphs shorter than this merge with a neighbour."
    )

    layout: LayoutSetting = Field(
        "auto",
        description='Text layout: "auto" finds news-page furniture only in what looks like a web article; '
        '"article" or "plain" force one for every text document (front matter "layout:" wins).',
    )

    reload_seconds: float = Field(1.0, gt=0, description="How often the server checks for a new generation.")
    index_factory: str = Field(
        "auto",
        description='FAISS factory string ("Flat", "HNSW32", "IVF1024,SQ8"), or "auto": exact while small.',
    )
    ann_threshold: int = Field(50_000, ge=1, description="Passages above which 'auto' switches to HNSW.")
    token_codec: Literal["float16", "residual2"] = Field(
        "residual2",
        description="How word-piece vectors are stored: residual2 (a centroid and 2 bits a dimension, "
        "ColBERTv2-style; SciFact hybrid nDCG@10 0.7438 against float16's 0.7415, 20.8 KB a passage "
        "against 132 KB) for segments of at least 256 passages, float16 below that; or float16 always.",
    )
    keep_generations: int = Field(
        3, ge=1, description="Index generations kept on disk, the served one included."
    )

    default_mode: SearchMode = "hybrid"
    answer_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Confidence at which the answer sentence counts as an answer; unset: the threshold "
        "recorded with the reader's weights (best answer-triggering F1 on held-out training articles).",
    )
    embed_batch_size: int = Field(64, ge=1)

    # The query path: concurrent questions share one model call; repeated ones are answered from memory.
    batch_max: int = Field(64, ge=1, description="Most questions embedded in one model call.")
    batch_wait_ms: float = Field(
        0.0, ge=0, le=1000, description="How long a lone question waits for others to share its model call."
    )
    cache_size: int = Field(1024, ge=0, description="Answers kept for repeated questions (0: no cache).")
    int8: bool = Field(
        False, description="Quantize the model to int8 on load: faster on CPU, slightly different vectors."
    )
    passage_int8: bool = Field(
        False,
        description="Embed passages (what a build stores) with an int8 copy of the ONNX export: about "
        "1.15x the build's passages per second, passage vectors slightly off the float ones; "
        "questions keep the float model.",
    )
    torch_threads: int = Field(0, ge=0, description="CPU threads for the model; 0 keeps torch's default.")
    backend: Backend = Field(
        "auto",
        description="What runs the model: auto (ONNX Runtime when it loads, else torch, with a warning "
        "saying why), onnx (ONNX Runtime or an error; pip install -e '.[onnx]'), or torch.",
    )
    onnx_dir: Path | None = Field(
        None,
        description="Where the ONNX export of the model is cached (default: share/qa/onnx in the "
        "virtual environment, else ~/.cache/qa/onnx).",
    )

    # A secret: kept as SecretStr so a printed or logged Settings shows '**********', never the token.
    api_token: SecretStr | None = Field(
        None, description="Bearer token for write endpoints; unset (or empty) refuses every write."
    )
    max_upload_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest document a write may store, in bytes (10 MiB)."
    )
    max_question_chars: int = Field(2000, ge=1, description="Longest question accepted (422 above it).")

    # Scale-out on Ray (qa serve --ray / qa index --ray); see README "Scale-out on Ray".
    ray_address: str | None = Field(
        None, description="Ray cluster to join (else RAY_ADDRESS; with neither, a local one is started)."
    )
    ray_shards: int = Field(2, ge=1, description="Shard actors, each holding a partition of the passages.")
    ray_replicas: int = Field(1, ge=1, description="Ray Serve replicas of the HTTP app.")
    ray_actor_cpus: float | None = Field(
        None,
        ge=0,
        description="CPUs Ray reserves for each shard, replica or embedding worker "
        "(default: the cluster's free CPUs shared among them, at most 1 each).",
    )

    # Operations and hardening (see qa/http/middleware.py).
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body but for POST /documents (413 above it)."
    )
    rate_limit: str | None = Field(
        None, description='Requests per client IP, e.g. "20/second" or "600/minute"; unset is no limit.'
    )
    cors_origins: str = Field(
        "", description='Comma-separated origins allowed by CORS ("*" for any); empty keeps CORS closed.'
    )
    log_format: LogFormat = Field("text", description="'json' for one JSON object per log line.")

    @field_validator("rate_limit")
    @classmethod
    def _parse_rate(cls, value: str | None) -> str | None:
        """Refuse a malformed rate at start-up rather than at the first request."""
        if value is None or not value.strip():
            return None
        from limits import parse  # the settings module stays light for everything else

        try:
            parse(value)
        except ValueError as error:
            raise ValueError(f"QA_RATE_LIMIT {value!r} is not a rate like '20/second': {error}") from error
        return value.strip()

    @model_validator(mode="after")
    def _one_way_to_run_the_model(self) -> Settings:
        if self.int8 and self.backend == "onnx":
            raise ValueError("QA_INT8 quantizes the torch model; it does not combine with QA_BACKEND=onnx")
        return self

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def resolved(self) -> Settings:
        """A copy whose folders are absolute, so a later chdir cannot move them."""
        onnx_dir = self.onnx_dir.expanduser().resolve() if self.onnx_dir is not None else None
        return self.model_copy(
            update={
                "corpus_dir": self.corpus_dir.resolve(),
                "index_dir": self.index_dir.resolve(),
                "onnx_dir": onnx_dir,
            }
        )
