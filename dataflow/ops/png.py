"""PNG images: ``tf.image.decode_png`` / ``tf.image.encode_png`` (also in ``tf.io``), NumPy and zlib only.

Decoding follows the PNG specification (and libpng's conversions, which TensorFlow uses):

1. the signature, then chunks (length, type, data, CRC-32 checked): ``IHDR`` (size, bit depth, color
   type, interlace), ``PLTE``, ``tRNS``, the ``IDAT`` stream (inflated at once), ``IEND``;
2. each scanline's filter is undone: None and Up are one vector operation, Sub is a cumulative sum per
   byte lane (mod 256), Average and Paeth depend on the pixel just decoded and run as a Python loop over
   the line's bytes (the slow path: encoders use them on photographs);
3. samples: bit depths 1/2/4 unpacked and scaled to 0..255, 16 bits read big-endian, palettes looked up,
   a ``tRNS`` chunk becomes an alpha channel; Adam7-interlaced images decode pass by pass;
4. conversion to the requested ``channels`` (0: the image's own; 1: gray by libpng's rgb_to_gray with
   TF's weights 0.299/0.587; 3: RGB; 4: RGBA, alpha from ``tRNS`` or TF's filler) and ``dtype`` (uint8
   keeps a 16-bit sample's high byte, uint16 scales 8-bit samples by 257). Checked against TensorFlow's
   decoder on libpng's, Pillow's and our own files, to the last bit (tests/test_png.py).

Encoding writes filter type 0 scanlines with zlib at ``compression`` (-1: zlib's default), 8- or 16-bit,
gray / gray+alpha / RGB / RGBA for 1-4 channels. Corrupt or unsupported input is InvalidArgumentError.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape

__all__ = ["decode_png", "encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}         # color type -> samples per pixel in the stream
_ADAM7 = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]


def _bad(msg: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, None, msg)


def _chunks(data: bytes):
    if data[:8] != _SIGNATURE:
        raise _bad("Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, BMP, WebP required.")
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise _bad(f"PNG: truncated {kind.decode('latin-1')} chunk at byte {pos}")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise _bad(f"PNG: bad CRC in {kind.decode('latin-1')} chunk at byte {pos}")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise _bad("PNG: no IEND chunk (the file is truncated)")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(raw: memoryview, height: int, stride: int, bpp: int) -> np.ndarray:
    """The ``[height, stride]`` bytes of an image whose scanlines are filtered (a filter byte each)."""
    out = np.zeros((height + 1, stride), dtype=np.uint8)          # row 0: the zero row above the image
    rows = np.frombuffer(raw, dtype=np.uint8, count=height * (stride + 1)).reshape(height, stride + 1)
    for y in range(height):
        kind, line, prev = rows[y, 0], rows[y, 1:], out[y]
        if kind == 0:
            out[y + 1] = line
        elif kind == 2:
            out[y + 1] = line + prev
        elif kind == 1:
            for lane in range(bpp):
                out[y + 1, lane::bpp] = np.cumsum(line[lane::bpp], dtype=np.uint64) % 256
        elif kind in (3, 4):
            cur = bytearray(line.tobytes())
            up = prev.tobytes()
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                if kind == 3:
                    cur[i] = (cur[i] + ((a + up[i]) >> 1)) & 0xFF
                else:
                    cur[i] = (cur[i] + _paeth(a, up[i], up[i - bpp] if i >= bpp else 0)) & 0xFF
            out[y + 1] = np.frombuffer(bytes(cur), dtype=np.uint8)
        else:
            raise _bad(f"PNG: unknown filter type {kind} in row {y}")
    return out[1:]


def _samples(rows: np.ndarray, width: int, channels: int, depth: int) -> np.ndarray:
    """Unfiltered scanlines -> ``[h, w, channels]`` samples (uint8, or uint16 for 16-bit images)."""
    h = rows.shape[0]
    if depth == 16:
        return rows.view(">u2").astype(np.uint16).reshape(h, -1)[:, :width * channels].reshape(h, width, channels)
    if depth == 8:
        return rows[:, :width * channels].reshape(h, width, channels)
    bits = np.unpackbits(rows, axis=1).reshape(h, -1, depth)[:, :width * channels]
    weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
    return (bits * weights).sum(axis=2, dtype=np.uint8).reshape(h, width, channels)


def _pixels(idat: bytes, width: int, height: int, color: int, depth: int, interlace: int) -> np.ndarray:
    channels = _CHANNELS[color]
    bits = channels * depth
    bpp = max(1, bits // 8)
    try:
        raw = memoryview(zlib.decompress(idat))
    except zlib.error as e:
        raise _bad(f"PNG: corrupt image data: {e}") from None
    passes = _ADAM7 if interlace else [(0, 0, 1, 1)]
    out = np.zeros((height, width, channels), dtype=np.uint16 if depth == 16 else np.uint8)
    pos = 0
    for x0, y0, dx, dy in passes:
        w, h = len(range(x0, width, dx)), len(range(y0, height, dy))
        if not w or not h:
            continue
        stride = (w * bits + 7) // 8
        size = h * (stride + 1)
        if pos + size > len(raw):
            raise _bad("PNG: image data is shorter than the image (truncated)")
        rows = _unfilter(raw[pos:pos + size], h, stride, bpp)
        out[y0::dy, x0::dx] = _samples(rows, w, channels, depth)
        pos += size
    return out


def decode(data: bytes, channels: int = 0, dtype=np.uint8) -> np.ndarray:
    """Decode PNG bytes to a ``[height, width, channels]`` array (see the module docstring)."""
    header, palette, trns, idat = None, None, None, []
    for kind, body in _chunks(bytes(data)):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
    if header is None or not idat:
        raise _bad("PNG: missing IHDR or IDAT chunk")
    width, height, depth, color, _, _, interlace = header
    if color not in _CHANNELS or depth not in (1, 2, 4, 8, 16) or (color == 3 and palette is None):
        raise _bad(f"PNG: unsupported bit depth {depth} / color type {color}")
    px = _pixels(b"".join(idat), width, height, color, depth, interlace)
    if color == 3:                                            # palette: RGB, plus alpha from tRNS
        index = px[..., 0]
        if index.max(initial=0) >= len(palette):
            raise _bad("PNG: palette index out of range")
        px = palette[index]
        if trns is not None:
            alpha = np.full(len(palette), 255, np.uint8)
            alpha[:len(trns)] = np.frombuffer(trns, np.uint8)[:len(palette)]
            px = np.concatenate([px, alpha[index][..., None]], axis=2)
    else:
        if depth < 8:                                         # gray 1/2/4 bits -> 0..255
            px = (px * (255 // ((1 << depth) - 1))).astype(np.uint8)
        if trns is not None and color in (0, 2) and channels == 4:   # a transparent color -> alpha (TF: only
            key = np.frombuffer(trns, ">u2").astype(np.int64)         # when RGBA is asked for)
            if depth < 8:
                key = key * (255 // ((1 << depth) - 1))
            opaque = np.any(px != key.reshape(1, 1, -1), axis=2)
            top = 65535 if depth == 16 else 255
            px = np.concatenate([px, (opaque * top).astype(px.dtype)[..., None]], axis=2)
    return _convert(px, channels, np.dtype(dtype), depth)


def _convert(px: np.ndarray, channels: int, dtype: np.dtype, depth: int) -> np.ndarray:
    """Samples -> ``channels`` (in the image's own sample size, as libpng), then -> ``dtype``."""
    have = px.shape[2]
    if channels not in (0, 1, 3, 4):
        raise _bad(f"channels must be 0, 1, 3 or 4, got {channels}")
    if channels not in (0, have):
        color = px[..., :3] if have >= 3 else np.repeat(px[..., :1], 3, axis=2)
        if channels == 1:
            # NOTE: libpng's png_set_rgb_to_gray with TF's weights 0.299/0.587 in 1/32768ths, as libpng
            # rounds them; 8-bit samples are truncated, 16-bit ones rounded (libpng's two code paths).
            r, g, b = (color[..., i].astype(np.int64) for i in range(3))
            gray = 9797 * r + 19234 * g + 3737 * b + (16384 if px.dtype == np.uint16 else 0)
            px = px[..., :1] if have < 3 else (gray >> 15).astype(px.dtype)[..., None]
        elif channels == 3:
            px = np.ascontiguousarray(color)
        else:
            # NOTE: TF asks libpng for a filler of (1 << bit depth) - 1: 1 for a 1-bit image, 15 for 4 bits
            filler = (1 << depth) - 1 if depth <= 8 else 65535
            alpha = px[..., have - 1:] if have in (2, 4) else np.full(px.shape[:2] + (1,), filler, px.dtype)
            px = np.concatenate([color, alpha], axis=2)
    if dtype == np.uint8 and px.dtype == np.uint16:
        return (px >> 8).astype(np.uint8)
    if dtype == np.uint16 and px.dtype == np.uint8:
        return px.astype(np.uint16) * 257
    return px


def encode(image: np.ndarray, compression: int = -1) -> bytes:
    """PNG bytes of a ``[height, width, channels]`` uint8/uint16 array (1-4 channels)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise _bad(f"image must be 3-dimensional with 1-4 channels, got shape {list(image.shape)}")
    if image.dtype not in (np.uint8, np.uint16):
        raise _bad(f"image must be uint8 or uint16, got {image.dtype}")
    h, w, c = image.shape
    depth = 16 if image.dtype == np.uint16 else 8
    rows = image.astype(">u2" if depth == 16 else np.uint8).reshape(h, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    color = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    return (_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, compression)) + chunk(b"IEND", b""))


def _decode_kernel(xp, contents, *, channels, dtype):
    return decode(np.asarray(contents, dtype=object).item(), channels, dtype.as_numpy_dtype)


def _encode_kernel(xp, image, *, compression):
    out = np.empty((), dtype=object)
    out[()] = encode(np.asarray(image), compression)
    return out


register(OpDef("DecodePng", lambda op: [(op.attrs["dtype"], TensorShape([None, None, op.attrs["channels"] or None]))],
               _decode_kernel, differentiable=False))
register(OpDef("EncodePng", lambda op: [(dtypes.string, TensorShape([]))], _encode_kernel, differentiable=False))


def decode_png(contents, channels=0, dtype=dtypes.uint8, name=None):
    """Decode a PNG image (``tf.image.decode_png``, ``tf.io.decode_png``).

    Parameters
    ----------
    contents : scalar string Tensor
        The PNG file's bytes.
    channels : int
        0 (the image's own), 1 (gray), 3 (RGB) or 4 (RGBA).
    dtype : DType
        uint8 or uint16.
    name : str, optional
        The op's name.

    Returns
    -------
    Tensor
        ``[height, width, channels]`` of ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> import dataflow as tf
    >>> img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    >>> sess = tf.Session()
    >>> np.array_equal(sess.run(tf.image.decode_png(tf.image.encode_png(img))), img)
    True
    """
    dtype = dtypes.as_dtype(dtype)
    if dtype not in (dtypes.uint8, dtypes.uint16):
        raise TypeError(f"decode_png: dtype must be uint8 or uint16, got {dtype.name}")
    if channels not in (0, 1, 3, 4):
        raise ValueError(f"channels must be 0, 1, 3 or 4, got {channels}")
    c = convert_to_tensor(contents, dtype=dtypes.string)
    return make_op("DecodePng", [c], {"channels": int(channels), "dtype": dtype}, name or "DecodePng").outputs[0]


def encode_png(image, compression=-1, name=None):
    """Encode a ``[height, width, channels]`` uint8/uint16 image as PNG bytes (``tf.image.encode_png``).

    Parameters
    ----------
    image : Tensor
        1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels.
    compression : int
        zlib level 0-9, or -1 for zlib's default.
    name : str, optional
        The op's name.

    Returns
    -------
    Tensor
        A scalar string.
    """
    img = convert_to_tensor(image)
    if img.dtype not in (dtypes.uint8, dtypes.uint16):
        raise TypeError(f"encode_png: image must be uint8 or uint16, got {img.dtype.name}")
    if not -1 <= int(compression) <= 9:
        raise ValueError(f"compression must be -1..9, got {compression}")
    return make_op("EncodePng", [img], {"compression": int(compression)}, name or "EncodePng").outputs[0]
