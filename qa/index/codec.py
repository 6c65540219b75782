"""Token codecs: word-piece vectors in and out of storage (``qa.core.protocols.TokenCodec``).

A codec stores each word-piece vector as one fixed-width row of ``dtype`` (``width`` values for a
vector of ``dimension``). A segment records its codec's name and keeps what the codec learnt
(``save``/``load``) beside its arrays, so segments of different codecs live in one generation.

- ``float16``: 768 bytes a 384-d word piece; late-interaction scores within about 1e-3 of float32.
- ``residual2`` (ColBERTv2's compression): the nearest of ``CENTROIDS`` centroids, learnt by
  spherical k-means on the segment's own word pieces, plus the residual in 2 bits a dimension
  (four buckets cut at the residuals' quartiles, each decoded as its bucket's mean): 98 bytes a
  384-d word piece, 7.8 times fewer than float16. Decoded vectors are re-normalised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.core.protocols import TokenCodec

CENTROIDS = 1024  # uint16 ids; more centroids, smaller residuals, slower encoding (a product per centroid)
TRAINING_SAMPLE = 16_384
KMEANS_ROUNDS = 8
BITS = 2
ENCODE_SLICE = 8192  # word pieces encoded per product with the centroids


class Float16Codec:
    name = "float16"
    dtype = "<f2"

    def width(self, dimension: int) -> int:
        return dimension

    def encode(self, vectors: npt.NDArray[Any]) -> npt.NDArray[np.float16]:
        return np.asarray(vectors).astype(np.float16)

    def decode(self, stored: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        return np.asarray(stored, dtype=np.float32)

    def save(self, folder: Path) -> None:
        """Nothing learnt, nothing to keep."""

    @classmethod
    def load(cls, folder: Path) -> Float16Codec:
        return FLOAT16


def _normalised(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    vectors = np.asarray(vectors, dtype=np.float32)
    scaled: npt.NDArray[np.float32] = vectors / np.maximum(
        np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12
    )
    return scaled


def _nearest(vectors: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """Each vector's nearest centroid by inner product, in slices of ``ENCODE_SLICE`` (memory).

    numpy's product, not torch's: a build on the torch-free ONNX start never imports torch (2 s)."""
    found = [
        np.argmax(vectors[start : start + ENCODE_SLICE] @ centroids.T, axis=1)
        for start in range(0, len(vectors), ENCODE_SLICE)
    ]
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


def _buckets(residuals: npt.NDArray[np.float32], cutoffs: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Each value's bucket 0..3 between the three ``cutoffs``: ``np.digitize``'s answer by three
    comparisons, several times faster than its search."""
    codes: npt.NDArray[np.uint8] = (residuals >= cutoffs[0]).view(np.uint8)
    codes = codes + (residuals >= cutoffs[1]).view(np.uint8)
    codes += (residuals >= cutoffs[2]).view(np.uint8)
    return codes


class ResidualCodec:
    """A centroid id (2 bytes) and a 2-bit bucket per dimension of the residual, packed in bytes."""

    name = "residual2"
    dtype = "u1"

    def __init__(
        self, centroids: npt.NDArray[Any], cutoffs: npt.NDArray[Any], weights: npt.NDArray[Any]
    ) -> None:
        self.centroids = np.asarray(centroids, dtype=np.float32)
        self.cutoffs = np.asarray(cutoffs, dtype=np.float32)  # 3 bucket boundaries
        self.weights = np.asarray(weights, dtype=np.float32)  # 4 bucket values
        # a packed byte's four residual values, first bucket first: decoding looks up a byte at a
        # time (one gather of a 4-value row), about 3 times faster than unpacking the 2-bit
        # codes and indexing ``weights`` with each, and the same floats
        byte = np.arange(256)
        self.byte_values = self.weights[
            np.stack([(byte >> 6) & 3, (byte >> 4) & 3, (byte >> 2) & 3, byte & 3], 1)
        ]

    @classmethod
    def train(cls, vectors: npt.NDArray[Any], seed: int = 0) -> ResidualCodec:
        """Spherical k-means on a sample of ``vectors``, then the residuals' quartiles."""
        rng = np.random.default_rng(seed)
        sample = _normalised(vectors[rng.permutation(len(vectors))[:TRAINING_SAMPLE]])
        # ColBERT's rule of thumb scaled down (16·√n there): centroids must not memorise a small corpus
        count = min(CENTROIDS, 2 ** int(np.log2(max(4 * np.sqrt(len(vectors)), 1))), len(sample))
        centroids = sample[rng.choice(len(sample), count, replace=False)]
        for _ in range(KMEANS_ROUNDS):
            nearest = _nearest(sample, centroids)
            order = np.argsort(nearest, kind="stable")
            groups, starts = np.unique(nearest[order], return_index=True)
            centroids[groups] = _normalised(np.add.reduceat(sample[order], starts, axis=0))
        residuals = (sample - centroids[_nearest(sample, centroids)]).ravel()
        cutoffs = np.quantile(residuals, [0.25, 0.5, 0.75])
        buckets = _buckets(residuals, cutoffs)
        weights = np.array(
            [residuals[buckets == b].mean() if (buckets == b).any() else 0.0 for b in range(4)]
        )
        return cls(centroids, cutoffs, weights)

    def width(self, dimension: int) -> int:
        return 2 + dimension * BITS // 8

    def encode(self, vectors: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
        """Many vectors at a time: a build encodes a whole batch of passages in one call, one
        product with the centroids per ``ENCODE_SLICE`` word pieces (a call per document cost
        several times as much). Each row's code depends on that row alone, so the rows come out
        the same however they are grouped into calls."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.centroids.shape[1])
        out = np.empty((len(vectors), self.width(vectors.shape[1])), dtype=np.uint8)
        for start in range(0, len(vectors), ENCODE_SLICE):
            part = vectors[start : start + ENCODE_SLICE]
            nearest = _nearest(part, self.centroids).astype("<u2")
            residuals = part - self.centroids[nearest]
            codes = _buckets(residuals, self.cutoffs)
            out[start : start + len(part), :2] = nearest.view(np.uint8).reshape(-1, 2)
            out[start : start + len(part), 2:] = (
                (codes[:, 0::4] << 6) | (codes[:, 1::4] << 4) | (codes[:, 2::4] << 2) | codes[:, 3::4]
            )
        return out

    def decode(self, stored: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """The stored rows as float32 vectors. A question decodes about 40 passages' pieces, so
        the work is done in one buffer (the residuals, the centroids added in place, divided in
        place by the norms): the floats of centroid + residual, re-normalised, with no
        temporaries the size of the rows."""
        stored = np.asarray(stored, dtype=np.uint8).reshape(-1, self.width(self.centroids.shape[1]))
        nearest = np.ascontiguousarray(stored[:, :2]).view("<u2").ravel()
        vectors: npt.NDArray[np.float32] = np.take(self.byte_values, stored[:, 2:], axis=0).reshape(
            len(stored), self.centroids.shape[1]
        )
        vectors += self.centroids[nearest]
        squares = np.square(vectors)
        norms = np.sqrt(np.add.reduce(squares, axis=1, keepdims=True))  # np.linalg.norm's sum
        vectors /= np.maximum(norms, 1e-12, out=norms)
        return vectors

    def save(self, folder: Path) -> None:
        self.centroids.astype("<f2").tofile(folder / "codec.centroids.f16")
        state = {
            "centroids": len(self.centroids),
            "cutoffs": self.cutoffs.tolist(),
            "weights": self.weights.tolist(),
        }
        (folder / "codec.json").write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, dimension: int) -> ResidualCodec:
        state = json.loads((folder / "codec.json").read_text(encoding="utf-8"))
        centroids = np.fromfile(folder / "codec.centroids.f16", dtype="<f2").reshape(
            int(state["centroids"]), dimension
        )
        return cls(centroids, state["cutoffs"], state["weights"])


FLOAT16 = Float16Codec()
RESIDUAL_MIN_PASSAGES = 256  # below this a segment (an add) stays float16: too few word pieces to learn from


def learns(name: str, passages: int) -> bool:
    """Whether the setting's codec learns from the word pieces of a new segment of ``passages``."""
    return name == ResidualCodec.name and passages >= RESIDUAL_MIN_PASSAGES


def codec_for(name: str, passages: int, sample: npt.NDArray[Any]) -> TokenCodec:
    """The codec a new segment of ``passages`` passages is written with, learnt from ``sample``
    (some of its word pieces) when it learns: the setting's, for a segment big enough."""
    if learns(name, passages) and len(sample):
        return ResidualCodec.train(sample)
    return FLOAT16


def load_codec(name: str, folder: Path, dimension: int) -> TokenCodec:
    """The codec a segment was written with, with what it learnt (``KeyError`` for an unknown one)."""
    if name == FLOAT16.name:
        return FLOAT16
    if name == ResidualCodec.name:
        return ResidualCodec.load(folder, dimension)
    raise KeyError(f"unknown token codec {name!r}")
