"""A grayscale PNG encoder (zlib only), so spike rasters need no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def encode_gray(image: np.ndarray) -> bytes:
    """Encode an 8-bit grayscale image as PNG bytes.

    Parameters
    ----------
    image : numpy.ndarray of uint8, shape (height, width)
        Row 0 is the top of the picture.

    Returns
    -------
    bytes
        A complete PNG file (colour type 0, bit depth 8, no filtering).
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 2 or 0 in image.shape:
        raise ValueError(f"encode_gray image must be a non-empty 2-D uint8 array; got shape "
                         f"{image.shape}.")
    height, width = image.shape
    # Every scanline starts with its filter type byte (0: none).
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b""))
