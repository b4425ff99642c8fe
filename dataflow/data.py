"""``tf.data``: input pipelines as datasets and iterators (``pipelines/datasets.py``, ``pipelines/readers.py``).

Examples
--------
>>> import dataflow as tf
>>> ds = tf.data.Dataset.from_tensor_slices(([1, 2, 3], [4, 5, 6])).batch(2)
>>> a, b = ds.make_one_shot_iterator().get_next()
>>> with tf.Session() as sess:
...     print(sess.run(a + b))
[5 7]
"""

from pipelines.datasets import AUTOTUNE, Dataset
from pipelines.distributed import dask_dataset
from pipelines.readers import FixedLengthRecordDataset, TextLineDataset, TFRecordDataset

from .ops.iterator_ops import Iterator, make_initializable_iterator, make_one_shot_iterator

experimental = __import__("types").SimpleNamespace(AUTOTUNE=AUTOTUNE)

__all__ = ["AUTOTUNE", "Dataset", "dask_dataset", "FixedLengthRecordDataset", "Iterator", "TFRecordDataset", "TextLineDataset",
           "experimental", "make_initializable_iterator", "make_one_shot_iterator"]
