"""pHash baseline: Hamming distance of 64-bit perceptual hashes as a cosine.

Bits map to +-1/8, so the vector has unit length and cos = 1 - 2h/64: the
cosine distance is h/32, and the whole matching engine (thresholds, Min2,
fusion) works on hashes unchanged. A distance threshold T means h < 32 T.

:func:`~shopee_core.data.images.image_phash` is the one way the project hashes an image,
the way the data's ``image_phash`` column was made.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import DataError

_HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")


def embeddings(hashes) -> np.ndarray:
    hashes = [str(h) for h in hashes]
    bad = [h for h in hashes if not _HEX16.match(h)]
    if bad:
        raise DataError(f"{len(bad)} image_phash values are not 16 hex digits (first: {bad[0]!r})")
    as_int = np.array([int(h, 16) for h in hashes], dtype=np.uint64)
    bits = (as_int[:, None] >> np.arange(63, -1, -1, dtype=np.uint64)) & np.uint64(1)
    return (bits.astype(np.float32) * 2.0 - 1.0) / 8.0


def hamming_to_distance(h: float) -> float:
    return h / 32.0
