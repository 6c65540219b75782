"""The ONNX Runtime backend, the default: the same vectors and word pieces as torch, exported once,
offline, and a fallback to torch that says why."""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.errors import ModelLoadError
from qa.encoders.sbert import SentenceTransformerEncoder, _token_budget
from qa.index.build import parameters_for
from qa.index.generations import load_generation
from tests.conftest import ARTICLE, DATA, real_embedder

HAS_ONNXRUNTIME = all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
needs_onnxruntime = pytest.mark.skipif(
    not HAS_ONNXRUNTIME, reason="onnxruntime and onnx are not installed: pip install -e '.[onnx]'"
)
SCIFACT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scifact" / "corpus.jsonl"
SAME = 1e-6  # the largest difference from torch's vectors and word-piece vectors that counts as equal


@functools.cache
def onnx_embedder(cache: Path) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(backend="onnx", onnx_dir=cache)


@functools.cache
def torch_embedder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(backend="torch")


@functools.cache
def int8_embedder(cache: Path) -> SentenceTransformerEncoder:
    """Passages through the int8 copy of the export (QA_PASSAGE_INT8=true)."""
    return SentenceTransformerEncoder(backend="onnx", onnx_dir=cache, passage_int8=True)


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


def texts() -> list[str]:
    """Questions, the article's paragraphs (padding between lengths), and one past the window."""
    paragraphs = [part for part in ARTICLE.read_text(encoding="utf-8").split("\n") if part.strip()]
    return ["what did UNIDO announce?", "Where will the centre be housed?", *paragraphs, "word " * 400]


def passages(settings: Settings) -> list[str]:
    """What an index embeds: the article's passages as built, the test documents' paragraphs, and
    the first 200 SciFact abstracts when the shared SciFact folder is there."""
    generation = load_generation(settings.index_dir, parameters_for(settings, real_embedder()))
    found = [passage.embedding_text for passage in generation.passages]
    for path in sorted(DATA.glob("documents/*.md")) + sorted(DATA.glob("documents/*.rst")):
        found += [part for part in path.read_text(encoding="utf-8").split("\n\n") if part.strip()]
    if SCIFACT.is_file():
        with SCIFACT.open(encoding="utf-8") as rows:
            for _, line in zip(range(200), rows, strict=False):
                row = json.loads(line)
                found.append(f"{row['title']} {row['text']}")
    return found


@needs_onnxruntime
def test_the_default_backend_is_onnx_runtime_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    assert Settings().backend == "auto"
    assert real_embedder().backend == "onnx" and real_embedder()._onnx is not None
    with caplog.at_level(logging.INFO, logger="qa.encoders.sbert"):
        again = SentenceTransformerEncoder()
    assert again.backend == "onnx"
    assert any("runs on ONNX Runtime" in record.getMessage() for record in caplog.records)


@needs_onnxruntime
def test_default_backend_gives_torch_vectors_and_word_pieces_within_1e_6(article_settings: Settings) -> None:
    """Over every passage of the article as built, other documents and a SciFact sample, mixed
    lengths in a batch, as a build runs them (sessions side by side), passages in float32 (the
    default, QA_PASSAGE_INT8=false): the index vectors, the word-piece vectors late interaction
    reads, and the offsets are torch's."""
    found = passages(article_settings) + texts()
    want_vectors, want_tokens = torch_embedder().embed_with_tokens(found, batch_size=16)
    assert real_embedder().passage_precision == "float32"
    got_vectors, got_tokens = real_embedder().embed_with_tokens(found, batch_size=16)
    assert real_embedder()._workers is not None  # many slices: run side by side, one thread a session
    assert got_vectors.dtype == np.float32 and got_vectors.shape == want_vectors.shape
    assert float(np.abs(got_vectors - want_vectors).max()) < SAME
    for (want, want_starts), (got, got_starts) in zip(want_tokens, got_tokens, strict=True):
        np.testing.assert_array_equal(got_starts, want_starts)
        assert got.shape == want.shape and float(np.abs(got - want).max()) < SAME
    questions = texts()[:2]
    reference = torch_embedder().sentence_transformer.encode(questions, normalize_embeddings=True)
    assert float(np.abs(real_embedder().embed(questions) - reference).max()) < SAME
    assert float(np.abs(real_embedder().bare_encode(questions) - reference).max()) < SAME


def test_auto_falls_back_to_torch_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an environment without it imports
    with caplog.at_level(logging.WARNING, logger="qa.encoders.sbert"):
        fallen = SentenceTransformerEncoder(backend="auto", onnx_dir=tmp_path)
    assert fallen.backend == "torch" and fallen._onnx is None
    assert "pip install -e '.[onnx]'" in fallen.backend_reason
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "runs on torch, not ONNX Runtime" in warning.getMessage()
    assert "pip install" in warning.getMessage()
    assert fallen.embed(["a question"]).shape == (1, fallen.dimension)


def test_a_model_that_cannot_be_loaded_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{ not json")
    for backend in ("auto", "onnx", "torch"):
        with pytest.raises(ModelLoadError, match=r"could not load embedding model .*QA_MODEL"):
            SentenceTransformerEncoder(str(tmp_path), backend=backend, onnx_dir=tmp_path / "onnx")


@needs_onnxruntime
def test_a_damaged_export_is_exported_again(tmp_path: Path) -> None:
    first = SentenceTransformerEncoder(backend="onnx", onnx_dir=tmp_path)
    assert first._onnx is not None
    path = first._onnx.path
    path.write_bytes(path.read_bytes()[: 1 << 20])  # an export cut short
    again = SentenceTransformerEncoder(backend="onnx", onnx_dir=tmp_path)
    assert again._onnx is not None and again._onnx.path == path and path.stat().st_size > 1 << 24
    assert float(np.abs(again.embed(["a question"]) - first.embed(["a question"])).max()) < SAME


@needs_onnxruntime
def test_export_is_cached_by_content_and_reused(onnx_cache: Path) -> None:
    first = onnx_embedder(onnx_cache)
    # one file (and its int8 copy, when asked for), named by a hash of the weights
    (exported,) = [p for p in onnx_cache.glob("*.onnx") if ".int8-" not in p.name]
    assert first._onnx is not None and first._onnx.path == exported
    assert not [path for path in onnx_cache.iterdir() if path.name.startswith(".staging-")]
    written = exported.stat().st_mtime_ns
    again = SentenceTransformerEncoder(backend="onnx", onnx_dir=onnx_cache)
    assert again._onnx is not None and again._onnx.path == exported
    assert exported.stat().st_mtime_ns == written
    assert again.name == torch_embedder().name  # same vectors, so an index built by either serves both


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
    quantized = SentenceTransformerEncoder(int8=True)  # auto: int8 is a torch quantization
    assert quantized.backend == "torch" and "QA_INT8" in quantized.backend_reason


@pytest.mark.parametrize(
    "lengths", [[256] * 9, [300, 120, 120, 40, 12, 12, 12], [5] * 100, [2000, 3], [], [7, 900, 7]]
)
def test_token_budget_slices_cover_the_batch_in_order_within_the_budget(lengths: list[int]) -> None:
    slices = _token_budget(np.asarray(lengths), budget=1024)
    rows = [row for part, _ in slices for row in range(len(lengths))[part]]
    assert rows == list(range(len(lengths)))
    for part, width in slices:
        inside = lengths[part]
        assert width == max(inside)
        assert len(inside) == 1 or width * len(inside) <= 1024


@needs_onnxruntime
def test_a_start_after_the_first_skips_torch_and_gives_the_same_vectors_tokens_and_counts(
    article_settings: Settings, onnx_cache: Path
) -> None:
    """The first load notes its export beside it; the next start reads the folder's tokenizer and
    the export alone (qa/encoders/folder.py), never importing torch, with the full load's results."""
    full = onnx_embedder(onnx_cache)
    assert full._light is None or full._model is None
    assert list(onnx_cache.glob("*.folder.json"))
    light = SentenceTransformerEncoder(backend="auto", onnx_dir=onnx_cache)
    assert light._light is not None and light.backend == "onnx"
    assert (light.name, light.dimension, light.max_tokens) == (torch_embedder().name, 384, 254)
    found = passages(article_settings) + texts() + ["  spaced out\t", "Ünïcode café 北京", ""]
    want_vectors, want_tokens = torch_embedder().embed_with_tokens(found, batch_size=16)
    got_vectors, got_tokens = light.embed_with_tokens(found, batch_size=16)
    assert float(np.abs(got_vectors - want_vectors).max()) < SAME
    for (want, want_starts), (got, got_starts) in zip(want_tokens, got_tokens, strict=True):
        np.testing.assert_array_equal(got_starts, want_starts)
        assert got.shape == want.shape and float(np.abs(got - want).max(initial=0.0)) < SAME
    assert light.count_tokens(found) == torch_embedder().count_tokens(found)
    long = texts()[-1]
    assert [light.truncate(long, n) for n in (0, 1, 7, 999)] == [
        torch_embedder().truncate(long, n) for n in (0, 1, 7, 999)
    ]
    probe = (
        "import sys; from pathlib import Path; "
        "from qa.encoders.sbert import SentenceTransformerEncoder as E; "
        f"e = E(onnx_dir=Path({str(onnx_cache)!r})); e.embed(['a question']); "
        "print(e._light is not None, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False"]


def test_a_folder_the_light_start_cannot_read_loads_the_full_model(tmp_path: Path) -> None:
    """No note yet (a fresh cache): the full model, which then writes the note."""
    from qa.encoders.folder import LightModel
    from qa.encoders.sbert import bundled_model_path

    folder = bundled_model_path()
    assert folder is not None
    assert LightModel.open(folder, tmp_path, 1) is None
    assert LightModel.open(tmp_path, tmp_path, 1) is None  # not a sentence-transformers folder


@needs_onnxruntime
def test_passages_run_an_int8_copy_of_the_export_and_questions_the_float_model(
    article_settings: Settings, onnx_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With QA_PASSAGE_INT8 a build's passages go through the int8 copy: made once beside the
    export, close to the float vectors but not equal, the same word pieces and offsets; questions
    (no offsets) keep torch's vectors to 1e-6."""
    from qa.encoders.onnx_runtime import QUANTIZED

    fast = int8_embedder(onnx_cache)
    assert fast.passage_int8 and fast.passage_precision == QUANTIZED
    found = passages(article_settings)
    got_vectors, got_tokens = fast.embed_with_tokens(found, batch_size=16)
    (copy,) = onnx_cache.glob("*.int8-*.onnx")
    assert copy.stem.startswith(fast._onnx.path.stem) and copy.stat().st_size < fast._onnx.path.stat().st_size
    written = copy.stat().st_mtime_ns
    again = SentenceTransformerEncoder(backend="onnx", onnx_dir=onnx_cache, passage_int8=True)
    assert again.passage_precision == QUANTIZED and copy.stat().st_mtime_ns == written
    want_vectors, want_tokens = real_embedder().embed_with_tokens(found, batch_size=16)
    cosines = (got_vectors * want_vectors).sum(axis=1)
    assert 0.99 < float(cosines.mean()) < 1 - 1e-4 and float(cosines.min()) > 0.97
    for (want, want_starts), (got, got_starts) in zip(want_tokens, got_tokens, strict=True):
        np.testing.assert_array_equal(got_starts, want_starts)
        assert got.shape == want.shape
    questions = texts()[:2]
    reference = torch_embedder().sentence_transformer.encode(questions, normalize_embeddings=True)
    assert float(np.abs(fast.embed_with_tokens(questions, offsets=False)[0] - reference).max()) < SAME
    # texts without offsets are never passages, however many slices they make
    floats = real_embedder().embed_with_tokens(found, batch_size=16, offsets=False)[0]
    assert float(np.abs(fast.embed_with_tokens(found, batch_size=16, offsets=False)[0] - floats).max()) < SAME
    with caplog.at_level(logging.WARNING, logger="qa.encoders.sbert"):
        torch_int8 = SentenceTransformerEncoder(backend="torch", passage_int8=True)
    assert torch_int8.passage_precision == "float32"  # torch has no copy, and says so
    assert any("QA_PASSAGE_INT8 has no effect" in record.getMessage() for record in caplog.records)


@needs_onnxruntime
def test_an_index_serves_whatever_embedded_its_passages_and_a_build_embeds_them_again(
    tmp_path: Path, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The precision is recorded; an index of float32 passages serves QA_PASSAGE_INT8=true as it
    is (its questions are embedded alike), and a build under it embeds every passage again."""
    from qa.index.build import build_index
    from qa.service.engine import open_searcher
    from tests.conftest import article_copy

    settings = article_copy(tmp_path)
    build_index(settings, real_embedder())
    # an index from before the key: read as float32, so the default does not embed it again
    current = (settings.index_dir / "CURRENT").read_text().strip()
    manifest_path = settings.index_dir / current / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["passage_precision"]
    manifest_path.write_text(json.dumps(manifest))
    unchanged = build_index(settings, real_embedder())
    assert unchanged.full_reason is None and unchanged.embedded == 0
    monkeypatch.setenv("QA_PASSAGE_INT8", "true")
    fast = SentenceTransformerEncoder.from_settings(Settings(onnx_dir=onnx_cache))
    generation = load_generation(settings.index_dir, parameters_for(settings, fast))
    assert generation.manifest["passage_precision"] == "float32"
    assert generation.manifest["components"]["encoder"]["passages"] == "float32"
    found = open_searcher(generation, fast, settings).search("Where will the centre be housed?", 3)
    assert found.hits and "Shanghai" in found.hits[0].passage.text
    summary = build_index(settings, fast)
    assert summary.full_reason is not None and "passage_precision" in summary.full_reason
    assert summary.embedded == summary.passages
    rebuilt = load_generation(settings.index_dir, parameters_for(settings, real_embedder()))
    assert rebuilt.manifest["passage_precision"] == fast.passage_precision != "float32"


@needs_onnxruntime
def test_an_int8_copy_that_cannot_be_made_is_a_clear_error(
    tmp_path: Path, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph whose nodes do not name their layers is not quantized blindly, and a build that
    asked for int8 passages stops with what to do instead of embedding them otherwise."""
    from qa.encoders import onnx_runtime

    export = onnx_embedder(onnx_cache)._onnx.path
    (tmp_path / "model.onnx").write_bytes(export.read_bytes())
    monkeypatch.setattr(onnx_runtime, "_LAYER", re.compile(r"no node is named like this (\d+)"))
    with pytest.raises(onnx_runtime.OnnxUnavailable, match="cannot tell the layers"):
        onnx_runtime.quantized(tmp_path / "model.onnx")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx"]

    def refuse(path: Path) -> Path:
        raise onnx_runtime.OnnxUnavailable("quantizing the export needs onnx: set QA_PASSAGE_INT8=false")

    monkeypatch.setattr(onnx_runtime, "quantized", refuse)
    fresh = SentenceTransformerEncoder(backend="onnx", onnx_dir=onnx_cache, passage_int8=True)
    with pytest.raises(ModelLoadError, match="QA_PASSAGE_INT8=false"):
        fresh.embed_with_tokens(["a passage to store"] * 8)
