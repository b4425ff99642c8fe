"""``tf.python_io``: TFRecord files (TF 1.x's names for what ``tf.io`` also has).

Examples
--------
>>> import dataflow as tf
>>> with tf.python_io.TFRecordWriter("memory://python_io_doc.tfrecord") as w:
...     w.write(b"record")
>>> list(tf.python_io.tf_record_iterator("memory://python_io_doc.tfrecord"))
[b'record']
"""

from pipelines.records import TFRecordCompressionType, TFRecordOptions, TFRecordWriter, tf_record_iterator

__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "tf_record_iterator"]
