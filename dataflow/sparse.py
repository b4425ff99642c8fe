"""``tf.sparse``: sparse tensors (TF 1.13+ names).

Examples
--------
>>> import dataflow as tf
>>> st = tf.SparseTensor([[1]], [3], [2])
>>> tf.Session().run(tf.sparse.to_dense(st))
array([0, 3], dtype=int32)
"""

from .framework.sparse_tensor import SparseTensor, SparseTensorValue
from .ops.sparse_ops import to_dense

__all__ = ["SparseTensor", "SparseTensorValue", "to_dense"]

from .ops.sparse_feature import sparse_reorder as reorder  # noqa: E402
from .ops.sparse_placeholder import sparse_placeholder as placeholder  # noqa: E402

__all__ += ["placeholder", "reorder"]
