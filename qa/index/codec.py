"""Token codecs: word-piece vectors in and out of storage (``qa.core.protocols.TokenCodec``).

float16 is the one codec today: half the bytes of float32, late-interaction scores within about
1e-3 of float32's. The manifest names the codec, so a compressed one can follow without older
indexes being misread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class Float16Codec:
    name = "float16"

    def encode(self, vectors: npt.NDArray[Any]) -> npt.NDArray[np.float16]:
        return np.asarray(vectors).astype(np.float16)

    def decode(self, stored: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        return np.asarray(stored, dtype=np.float32)


FLOAT16 = Float16Codec()
