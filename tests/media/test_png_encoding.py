"""PNG encoding of frames is lossless with the fast (ISA-L) and the OpenCV encoder alike."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from mosaic.media import store


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 7, 3), (9, 1, 3), (48, 64, 3), (31, 17), (5, 3)])
def test_png_round_trip_is_exact(monkeypatch, fast, shape):
    assert not fast or store._fast_zlib is not None, "isal (a declared dependency) is not importable"
    if not fast:
        monkeypatch.setattr(store, "_fast_zlib", None)
    rng = np.random.default_rng(sum(shape))
    frame = rng.integers(0, 256, size=shape, dtype=np.uint8)
    data = store.encode_png(frame)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    back_cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(back_cv, frame)  # OpenCV gives BGR back, like the input
    back_pil = np.asarray(Image.open(io.BytesIO(data)))
    expected = frame[..., ::-1] if frame.ndim == 3 else frame  # PIL reads RGB
    assert np.array_equal(back_pil, expected)
