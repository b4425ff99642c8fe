"""PNG decoding and encoding against TensorFlow: tests/golden/png_oracle.py decoded PNGs written by TF
(libpng), Pillow (palettes, 1/4-bit, transparency) and dataflow with tf.io.decode_png for every channels and
dtype; dataflow must decode each to the same array. Adam7 interlacing is checked with a PNG built here."""

import os
import struct
import zlib

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops import png
from golden.png_oracle import OUT, image

ORACLE = np.load(os.path.join(os.path.dirname(__file__), "golden", "png_oracle.npz"))


def _filters(data: bytes) -> set:
    """The filter types used by a non-interlaced 8-bit-or-more PNG's rows."""
    chunks = dict(png._chunks(data))
    w, h, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    stride = (w * png._CHANNELS[color] * depth + 7) // 8
    raw = zlib.decompress(chunks[b"IDAT"])
    return {raw[y * (stride + 1)] for y in range(h)}


def test_tensorflows_pngs_use_every_filter():
    """So the decoding tests below cover all five filters (None, Sub, Up, Average, Paeth)."""
    used = set()
    for name in os.listdir(OUT):
        if name.startswith("tf_"):
            used |= _filters(open(os.path.join(OUT, name), "rb").read())
    assert used == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("key", sorted(ORACLE.files))
def test_decode_matches_tensorflow(key):
    name, channels, dtype = key.split("|")
    data = open(os.path.join(OUT, name), "rb").read()
    got = png.decode(data, int(channels), np.dtype(dtype))
    want = ORACLE[key]
    assert got.dtype == want.dtype and got.shape == want.shape, key
    np.testing.assert_array_equal(got, want, err_msg=key)


def test_ops_round_trip_and_errors():
    contents = tf.placeholder(tf.string, [])
    decoded = tf.image.decode_png(contents, channels=3)
    assert decoded.shape.as_list() == [None, None, 3]
    img16 = image((5, 7, 4), np.uint16)
    with tf.Session() as sess:
        encoded = sess.run(tf.io.encode_png(img16, compression=9))
        np.testing.assert_array_equal(sess.run(tf.io.decode_png(encoded, dtype=tf.uint16)), img16)
        np.testing.assert_array_equal(sess.run(decoded, {contents: encoded}), (img16[..., :3] >> 8).astype(np.uint8))
        with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
            sess.run(decoded, {contents: b"notapng"})
        broken = bytearray(encoded)
        broken[40] ^= 0xFF
        with pytest.raises(tf.errors.InvalidArgumentError, match="PNG"):
            sess.run(decoded, {contents: bytes(broken)})
        with pytest.raises(tf.errors.InvalidArgumentError, match="PNG"):
            sess.run(decoded, {contents: encoded[:-20]})
    with pytest.raises(TypeError):
        tf.image.encode_png(np.zeros((2, 2, 3), np.float32))


def _adam7_png(img: np.ndarray) -> bytes:
    """An interlaced 8-bit RGB PNG, each pass's rows with filter 1 (Sub), built by hand."""
    raw = b""
    for x0, y0, dx, dy in png._ADAM7:
        sub = img[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub.reshape(sub.shape[0], -1).astype(np.int64):
            filtered = (row - np.concatenate([[0, 0, 0], row[:-3]])) % 256
            raw += b"\x01" + filtered.astype(np.uint8).tobytes()
    h, w = img.shape[:2]

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (png._SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_adam7_interlaced():
    img = image((11, 13, 3), seed=7)
    np.testing.assert_array_equal(png.decode(_adam7_png(img)), img)
