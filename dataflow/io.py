"""``tf.io`` (TF 1.13+ names): TFRecord files, Example parsing, decoding, ``gfile``.

Examples
--------
>>> import dataflow as tf
>>> tf.io.TFRecordWriter is tf.python_io.TFRecordWriter
True
>>> tf.io.parse_example is tf.parse_example
True
"""

from pipelines.records import TFRecordCompressionType, TFRecordOptions, TFRecordWriter, tf_record_iterator

from . import gfile
from .ops.decode_ops import decode_csv, decode_raw
from .ops.png import decode_png, encode_png
from .ops.sequence_example_ops import parse_single_sequence_example
from .ops.parsing_ops import (
    FixedLenFeature, FixedLenSequenceFeature, VarLenFeature, parse_example, parse_single_example)

__all__ = ["FixedLenFeature", "FixedLenSequenceFeature", "TFRecordCompressionType", "TFRecordOptions",
           "TFRecordWriter", "VarLenFeature", "decode_csv", "decode_png", "decode_raw", "encode_png", "gfile", "parse_example",
           "parse_single_example", "parse_single_sequence_example", "tf_record_iterator"]

from .ops.sparse_feature import SparseFeature  # noqa: E402
from .ops.sparse_placeholder import sparse_placeholder  # noqa: E402
from .ops.jpeg import decode_jpeg, encode_jpeg  # noqa: E402

__all__ += ["SparseFeature", "decode_jpeg", "encode_jpeg", "sparse_placeholder"]
