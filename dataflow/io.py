"""``tf.io``: TFRecord files (TF 1.13+ names).

Examples
--------
>>> import dataflow as tf
>>> tf.io.TFRecordWriter is tf.python_io.TFRecordWriter
True
"""

from pipelines.records import TFRecordCompressionType, TFRecordOptions, TFRecordWriter, tf_record_iterator

__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "tf_record_iterator"]
