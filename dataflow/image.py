"""``tf.image``: image codecs (PNG; JPEG through Pillow).

Examples
--------
>>> import dataflow as tf
>>> tf.image.decode_png is tf.io.decode_png
True
"""

from .ops.jpeg import decode_jpeg, encode_jpeg
from .ops.png import decode_png, encode_png

__all__ = ["decode_jpeg", "decode_png", "encode_jpeg", "encode_png"]
