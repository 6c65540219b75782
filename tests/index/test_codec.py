"""The residual2 token codec: a word piece's code depends on that piece alone (a build encodes a
whole batch in one call), the codes are those of the rule as first written (np.digitize over the
residual quartiles, one piece at a time), decoding stays close to the model's vectors, and a build
learns the same codec from one corpus whatever order its documents come in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.types import Document
from qa.index import codec as codecs
from qa.index.build import build_documents, parameters_for
from qa.index.codec import ResidualCodec
from qa.index.generations import load_generation
from tests.conftest import ARTICLE, real_embedder


def article_pieces() -> list[np.ndarray]:
    """The real model's word-piece vectors of the article's paragraphs, one array a paragraph."""
    paragraphs = [p for p in ARTICLE.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    _, tokens = real_embedder().embed_with_tokens(paragraphs, offsets=False)
    return [pieces for pieces, _ in tokens]


def reference_codes(codec: ResidualCodec, vector: np.ndarray) -> np.ndarray:
    """One piece's code by the first rule: its nearest centroid, np.digitize, 2 bits packed."""
    nearest = int(np.argmax(codec.centroids @ vector))
    buckets = np.digitize(vector - codec.centroids[nearest], codec.cutoffs).astype(np.uint8)
    packed = (buckets[0::4] << 6) | (buckets[1::4] << 4) | (buckets[2::4] << 2) | buckets[3::4]
    return np.concatenate([np.array([nearest], dtype="<u2").view(np.uint8), packed])


def test_codes_do_not_depend_on_how_pieces_are_grouped() -> None:
    pieces = article_pieces()
    stacked = np.concatenate(pieces)
    codec = ResidualCodec.train(stacked)
    whole = codec.encode(stacked)
    one_by_one = np.concatenate([codec.encode(part) for part in pieces])
    assert whole.shape == (len(stacked), codec.width(stacked.shape[1]))
    assert np.array_equal(whole, one_by_one)
    for row in range(0, len(stacked), 7):
        assert np.array_equal(whole[row], reference_codes(codec, stacked[row]))
    cosines = (codec.decode(whole) * stacked).sum(axis=1)
    assert cosines.mean() > 0.9


def reference_decode(codec: ResidualCodec, code: np.ndarray) -> np.ndarray:
    """One piece decoded by the first rule: its centroid plus each 2-bit code's bucket value,
    unpacked a dimension at a time, re-normalised."""
    nearest = int(code[:2].view("<u2")[0])
    buckets = np.stack([(code[2:] >> shift) & 3 for shift in (6, 4, 2, 0)], axis=1).ravel()
    vector = codec.centroids[nearest] + codec.weights[buckets]
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def test_decoding_a_byte_at_a_time_gives_the_first_rules_floats() -> None:
    """The decoder looks up a packed byte's four bucket values at once; its floats are those of
    unpacking each dimension's code (to float32 rounding of the norm; the decoder it replaced gave
    the same floats to the bit), so late-interaction scores do not move."""
    pieces = np.concatenate(article_pieces())
    codec = ResidualCodec.train(pieces)
    stored = codec.encode(pieces)
    decoded = codec.decode(stored)
    assert decoded.dtype == np.float32 and decoded.shape == pieces.shape
    # the decoder works in one buffer; its floats are those of centroid + residual, re-normalised
    nearest = np.ascontiguousarray(stored[:, :2]).view("<u2").ravel()
    residuals = np.take(codec.byte_values, stored[:, 2:], axis=0).reshape(decoded.shape)
    assert np.array_equal(decoded, codecs._normalised(codec.centroids[nearest] + residuals))
    for row in range(0, len(stored), 5):
        assert np.allclose(decoded[row], reference_decode(codec, stored[row]), rtol=0, atol=1e-7)
    every_byte = np.concatenate(
        [stored[:1, :2].repeat(64, 0), np.arange(256, dtype=np.uint8).reshape(64, 4)], 1
    )
    every_byte = np.concatenate([every_byte, np.zeros((64, stored.shape[1] - 6), np.uint8)], axis=1)
    assert codec.decode(stored[:0]).shape == (0, pieces.shape[1])
    for row, decoded_row in enumerate(codec.decode(every_byte)):  # every byte value, in 64 rows
        assert np.allclose(decoded_row, reference_decode(codec, every_byte[row]), rtol=0, atol=1e-7)


def test_a_build_learns_the_same_codec_in_any_document_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codecs, "RESIDUAL_MIN_PASSAGES", 8)  # the article alone is a small corpus
    paragraphs = [p for p in ARTICLE.read_text(encoding="utf-8").split("\n\n") if len(p) > 80]
    documents = [Document(f"part-{i:02d}", f"part {i}", text) for i, text in enumerate(paragraphs)]
    learnt = []
    for name, ordered in (("forward", documents), ("backward", documents[::-1])):
        settings = Settings(
            corpus_dir=tmp_path, index_dir=tmp_path / name, token_codec="residual2", embed_batch_size=1
        )
        build_documents(ordered, settings, real_embedder(), merge=False)
        generation = load_generation(settings.index_dir, parameters_for(settings, real_embedder()))
        (segment,) = generation.segments
        assert segment.tokens.codec.name == "residual2"
        learnt.append(segment.tokens.codec)
        assert len(segment.tokens.vectors) > 8 * len(paragraphs)
    assert np.array_equal(learnt[0].centroids, learnt[1].centroids)
    assert np.allclose(learnt[0].cutoffs, learnt[1].cutoffs)


def test_buckets_are_those_of_digitize() -> None:
    values = real_embedder().embed(["a sentence to spread values over the buckets"])[0]
    values = np.concatenate([values, np.float32([0.0, -0.01, 0.01, 0.05])])
    cutoffs = np.float32([-0.01, 0.0, 0.05])  # values that sit exactly on a cutoff included
    assert np.array_equal(codecs._buckets(values, cutoffs), np.digitize(values, cutoffs))
