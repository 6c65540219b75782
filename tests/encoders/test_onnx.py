"""The ONNX Runtime backend: the same vectors as torch, exported once, offline, and clear failures."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.errors import ModelLoadError
from qa.encoders.sbert import SentenceTransformerEncoder
from tests.conftest import ARTICLE, real_embedder

HAS_ONNXRUNTIME = all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
needs_onnxruntime = pytest.mark.skipif(
    not HAS_ONNXRUNTIME, reason="onnxruntime and onnx are not installed: pip install -e '.[onnx]'"
)


@functools.cache
def onnx_embedder(cache: Path) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(backend="onnx", onnx_dir=cache)


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


def texts() -> list[str]:
    """Questions, the article's paragraphs (padding between lengths), and one past the window."""
    paragraphs = [part for part in ARTICLE.read_text(encoding="utf-8").split("\n") if part.strip()]
    return ["what did UNIDO announce?", "Where will the centre be housed?", *paragraphs, "word " * 400]


@needs_onnxruntime
def test_onnx_gives_torch_vectors_and_word_pieces(onnx_cache: Path) -> None:
    torch_vectors, torch_tokens = real_embedder().embed_with_tokens(texts(), batch_size=8)
    onnx_vectors, onnx_tokens = onnx_embedder(onnx_cache).embed_with_tokens(texts(), batch_size=8)
    assert onnx_vectors.dtype == np.float32 and onnx_vectors.shape == torch_vectors.shape
    np.testing.assert_allclose(onnx_vectors, torch_vectors, atol=1e-5)
    for (want, want_starts), (got, got_starts) in zip(torch_tokens, onnx_tokens, strict=True):
        np.testing.assert_array_equal(got_starts, want_starts)
        np.testing.assert_allclose(got, want, atol=1e-5)
    one = onnx_embedder(onnx_cache).embed(["what did UNIDO announce?"])
    np.testing.assert_allclose(one, real_embedder().embed(["what did UNIDO announce?"]), atol=1e-5)


@needs_onnxruntime
def test_export_is_cached_by_content_and_reused(onnx_cache: Path) -> None:
    first = onnx_embedder(onnx_cache)
    (exported,) = onnx_cache.glob("*.onnx")  # one file, named by a hash of the weights
    assert first._onnx is not None and first._onnx.path == exported
    assert not [path for path in onnx_cache.iterdir() if path.name.startswith(".export-")]
    written = exported.stat().st_mtime_ns
    again = SentenceTransformerEncoder(backend="onnx", onnx_dir=onnx_cache)
    assert again._onnx is not None and again._onnx.path == exported
    assert exported.stat().st_mtime_ns == written
    assert again.name == real_embedder().name  # same vectors, so an index built by either serves both


@needs_onnxruntime
def test_qa_ask_with_the_onnx_backend_answers_as_torch(article_settings: Settings, onnx_cache: Path) -> None:
    """QA_BACKEND reaches the model through the CLI, and the index torch built serves it unchanged."""
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(article_settings.corpus_dir),
        "QA_INDEX_DIR": str(article_settings.index_dir),
        "QA_ONNX_DIR": str(onnx_cache),
    }
    answers = []
    for backend in ("torch", "onnx"):
        result = subprocess.run(
            [sys.executable, "-m", "qa", "ask", "Where will the centre be housed?", "--json"],
            env={**env, "QA_BACKEND": backend},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        answers.append(json.loads(result.stdout))
    torch_passages, onnx_passages = (answer["passages"] for answer in answers)
    assert [p["citation"] for p in onnx_passages] == [p["citation"] for p in torch_passages]
    scores = [p["score"] for p in torch_passages]
    assert [p["score"] for p in onnx_passages] == pytest.approx(scores, abs=1e-4)
    assert answers[1]["answer"] == answers[0]["answer"]


def test_missing_onnxruntime_is_a_clear_load_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an environment without it imports
    with pytest.raises(ModelLoadError, match=r"pip install -e '\.\[onnx\]'"):
        SentenceTransformerEncoder(backend="onnx", onnx_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_int8_and_onnx_do_not_combine() -> None:
    with pytest.raises(ValueError, match="QA_INT8"):
        Settings(int8=True, backend="onnx")
    with pytest.raises(ModelLoadError, match="int8"):
        SentenceTransformerEncoder(int8=True, backend="onnx")
