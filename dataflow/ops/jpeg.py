"""JPEG images: ``tf.image.decode_jpeg`` / ``tf.image.encode_jpeg`` (also in ``tf.io``), through Pillow.

Pillow (libjpeg-turbo) is imported when a JPEG op first runs, so ``import dataflow`` works without
it; a missing Pillow is an ImportError saying ``pip install pillow``. Decoding gives ``[height, width,
channels]`` uint8 (``channels`` 0: the file's own, 1: gray, 3: RGB; CMYK files are converted to RGB);
``ratio`` 2, 4 or 8 downscales while decoding (libjpeg's DCT scaling, Pillow's ``draft``). Pillow decodes
with libjpeg's accurate integer IDCT and fancy upsampling: the pixels are exactly TF's with
``dct_method="INTEGER_ACCURATE"``; TF's default (``""``: INTEGER_FAST, which Pillow does not offer)
differs by at most a few levels (tests/test_gaps_sparse_jpeg.py, against TensorFlow 2.21's decoder). Encoding takes 1 or 3 channels, ``quality``
0-100, ``progressive``, ``optimize_size`` and ``chroma_downsampling`` (4:2:0, else 4:4:4), and the
density fields. Corrupt data is TF's InvalidArgumentError.
"""

from __future__ import annotations

import io

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape

__all__ = ["decode_jpeg", "encode_jpeg"]


def _pil():
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("JPEG decoding and encoding need Pillow: pip install pillow") from e
    return Image


def decode(data: bytes, channels: int = 0, ratio: int = 1) -> np.ndarray:
    """The pixels of a JPEG file as ``[h, w, c]`` uint8."""
    Image = _pil()
    try:
        img = Image.open(io.BytesIO(data), formats=["JPEG"])
        if ratio > 1:
            img.draft(img.mode, (max(1, -(-img.width // ratio)), max(1, -(-img.height // ratio))))
        img.load()
    except Exception as e:  # noqa: BLE001 - Pillow raises several kinds for bad data
        raise errors.InvalidArgumentError(None, None, f"Invalid JPEG data or crop window, data size {len(data)} "
                                                      f"({type(e).__name__}: {e})") from None
    if channels == 0:
        channels = 1 if img.mode == "L" else 3
    img = img.convert("L" if channels == 1 else "RGB")
    out = np.asarray(img, dtype=np.uint8)
    return out.reshape(out.shape[0], out.shape[1], channels)


def encode(image: np.ndarray, quality: int = 95, progressive: bool = False, optimize_size: bool = False,
           chroma_downsampling: bool = True, density_unit: str = "in", x_density: int = 300,
           y_density: int = 300) -> bytes:
    """JPEG bytes of a ``[h, w, 1 or 3]`` uint8 image."""
    Image = _pil()
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise errors.InvalidArgumentError(None, None, f"image must be 3-dimensional with 1 or 3 channels, got "
                                                      f"shape {list(image.shape)}")
    pil = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image, "L" if image.shape[2] == 1 else "RGB")
    options = {"quality": int(quality), "progressive": bool(progressive), "optimize": bool(optimize_size),
               "subsampling": 2 if chroma_downsampling else 0}
    if density_unit in ("in", "cm"):  # Pillow writes dots per inch; TF's cm density converted
        scale = 2.54 if density_unit == "cm" else 1.0
        options["dpi"] = (round(x_density * scale), round(y_density * scale))
    buf = io.BytesIO()
    pil.save(buf, "JPEG", **options)
    return buf.getvalue()


def _decode_kernel(xp, contents, *, channels, ratio):
    return decode(np.asarray(contents, dtype=object).item(), channels, ratio)


def _encode_kernel(xp, image, *, quality, progressive, optimize_size, chroma_downsampling, x_density, y_density,
                   density_unit):
    out = np.empty((), dtype=object)
    out[()] = encode(np.asarray(image), quality, progressive, optimize_size, chroma_downsampling, density_unit,
                     x_density, y_density)
    return out


register(OpDef("DecodeJpeg", lambda op: [(dtypes.uint8, TensorShape([None, None, op.attrs["channels"] or None]))],
               _decode_kernel, differentiable=False))
register(OpDef("EncodeJpeg", lambda op: [(dtypes.string, TensorShape([]))], _encode_kernel, differentiable=False))


def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True, try_recover_truncated=False,
                acceptable_fraction=1, dct_method="", name=None):
    """Decode a JPEG image (``tf.image.decode_jpeg``, ``tf.io.decode_jpeg``).

    Parameters
    ----------
    contents : scalar string Tensor
        The JPEG file's bytes.
    channels : int
        0 (the file's own), 1 (gray) or 3 (RGB).
    ratio : int
        1, 2, 4 or 8: downscale by this factor while decoding.
    name : str, optional
        The op's name.

    Returns
    -------
    Tensor
        ``[height, width, channels]`` uint8.

    Examples
    --------
    >>> import numpy as np
    >>> import dataflow as tf
    >>> img = np.full((8, 8, 3), 128, np.uint8)
    >>> out = tf.Session().run(tf.image.decode_jpeg(tf.image.encode_jpeg(img)))
    >>> out.shape, int(abs(out.astype(int) - 128).max()) <= 1
    ((8, 8, 3), True)
    """
    if channels not in (0, 1, 3):
        raise ValueError(f"channels must be 0, 1 or 3, got {channels}")
    if ratio not in (1, 2, 4, 8):
        raise ValueError(f"ratio must be 1, 2, 4 or 8, got {ratio}")
    c = convert_to_tensor(contents, dtype=dtypes.string)
    return make_op("DecodeJpeg", [c], {"channels": int(channels), "ratio": int(ratio)},
                   name or "DecodeJpeg").outputs[0]


def encode_jpeg(image, format="", quality=95, progressive=False, optimize_size=False,  # noqa: A002 (TF's name)
                chroma_downsampling=True, density_unit="in", x_density=300, y_density=300, xmp_metadata="",
                name=None):
    """Encode a ``[height, width, channels]`` uint8 image as JPEG bytes (``tf.image.encode_jpeg``).

    Parameters
    ----------
    image : uint8 Tensor
        1 (gray) or 3 (RGB) channels.
    format : str
        ``""`` (from the channels), ``"grayscale"`` or ``"rgb"``.
    quality : int
        0-100.
    name : str, optional
        The op's name.

    Returns
    -------
    Tensor
        A scalar string.
    """
    img = convert_to_tensor(image)
    if img.dtype is not dtypes.uint8:
        raise TypeError(f"encode_jpeg: image must be uint8, got {img.dtype.name}")
    want = {"": None, "grayscale": 1, "rgb": 3}
    if format not in want:
        raise ValueError(f"format must be '', 'grayscale' or 'rgb', got {format!r}")
    c = img.shape[-1].value if img.shape.ndims == 3 else None
    if want[format] is not None and c is not None and c != want[format]:
        raise ValueError(f"encode_jpeg: format {format!r} needs {want[format]} channels, the image has {c}")
    if not 0 <= int(quality) <= 100:
        raise ValueError(f"quality must be in [0, 100], got {quality}")
    attrs = {"quality": int(quality), "progressive": bool(progressive), "optimize_size": bool(optimize_size),
             "chroma_downsampling": bool(chroma_downsampling), "density_unit": str(density_unit),
             "x_density": int(x_density), "y_density": int(y_density)}
    return make_op("EncodeJpeg", [img], attrs, name or "EncodeJpeg").outputs[0]
