"""Token codecs: word-piece vectors in and out of storage (``qa.core.protocols.TokenCodec``).

A codec stores each word-piece vector as one fixed-width row of ``dtype`` (``width`` values for a
vector of ``dimension``); the segment records the codec's name, so every codec ever written can
still be read.

- ``float16``: half the bytes of float32, late-interaction scores within about 1e-3 of float32's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from qa.core.protocols import TokenCodec


class Float16Codec:
    name = "float16"
    dtype = "<f2"

    def width(self, dimension: int) -> int:
        return dimension

    def encode(self, vectors: npt.NDArray[Any]) -> npt.NDArray[np.float16]:
        return np.asarray(vectors).astype(np.float16)

    def decode(self, stored: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        return np.asarray(stored, dtype=np.float32)


FLOAT16 = Float16Codec()
CODECS: dict[str, TokenCodec] = {FLOAT16.name: FLOAT16}
