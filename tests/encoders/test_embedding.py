"""The query path's shortcuts give what the slow, obvious code gives: the model's forward pass
without ``encode`` (qa/encoders/sbert.py) and late interaction over stored float16 word pieces
(qa/search/late.py)."""

from __future__ import annotations

import itertools

import numpy as np

from qa.encoders.sbert import SentenceTransformerEncoder
from qa.search.late import best_matches, late_interaction

TEXTS = [
    "What did UNIDO announce?",
    "The Shanghai Declaration on Global AI Governance calls for cooperation in research " * 4,
    "é 🙂 x",
    "Where will the centre be housed?",
]


def test_forward_pass_gives_the_vectors_encode_gives() -> None:
    """torch's own ``encode`` against the forward pass without it (tests/encoders/test_onnx.py
    holds ONNX Runtime, the default, to torch's vectors)."""
    embedder = SentenceTransformerEncoder(backend="torch")
    model = embedder.sentence_transformer
    vectors, pieces = embedder.embed_with_tokens(TEXTS, batch_size=3)  # two batches, mixed lengths
    expected = model.encode(TEXTS, normalize_embeddings=True)
    assert np.abs(vectors - expected).max() < 1e-5
    for (piece_vectors, starts), text, reference in zip(
        pieces, TEXTS, model.encode(TEXTS, output_value="token_embeddings"), strict=True
    ):
        inner = reference[1:-1].numpy()  # [CLS] and [SEP] dropped
        inner /= np.linalg.norm(inner, axis=1, keepdims=True)
        assert piece_vectors.shape == inner.shape
        assert np.abs(piece_vectors - inner).max() < 1e-5
        assert len(starts) == len(piece_vectors) and text[starts[0]] == text.lstrip()[0]


def test_late_interaction_of_stored_float16_matches_numpy() -> None:
    rng = np.random.default_rng(7)
    stored = rng.standard_normal((50, 384)).astype(np.float16)
    stored.flags.writeable = False  # as a memory-mapped generation hands them out
    query = rng.standard_normal((6, 384)).astype(np.float32)
    bounds = [0, 10, 10, 35, 50]  # the second segment is empty
    products = stored.astype(np.float32) @ query.T
    expected = [products[a:b].max(axis=0).mean() if b > a else 0.0 for a, b in itertools.pairwise(bounds)]
    np.testing.assert_allclose(late_interaction(query, stored, bounds), expected, rtol=1e-5, atol=1e-5)


def test_best_matches_per_text_match_numpy() -> None:
    """Answer sentences are scored from each question piece's best match per sentence, in one
    product over all of them; empty sentences (first, middle, last) score 0."""
    rng = np.random.default_rng(11)
    query = rng.standard_normal((5, 384)).astype(np.float32)
    texts = [rng.standard_normal((n, 384)).astype(np.float16) for n in (0, 4, 0, 7, 1, 0)]
    expected = [
        (text.astype(np.float32) @ query.T).max(axis=0) if len(text) else np.zeros(5) for text in texts
    ]
    np.testing.assert_allclose(best_matches(query, texts), expected, rtol=1e-5, atol=1e-5)
    assert best_matches(query, [texts[0]]).tolist() == [[0.0] * 5]
