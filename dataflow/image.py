"""``tf.image``: image codecs (PNG).

Examples
--------
>>> import dataflow as tf
>>> tf.image.decode_png is tf.io.decode_png
True
"""

from .ops.png import decode_png, encode_png

__all__ = ["decode_png", "encode_png"]
