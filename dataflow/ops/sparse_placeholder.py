"""``tf.sparse_placeholder``: a SparseTensor of three placeholders, fed as one value.

The placeholders are TF's: ``name/indices`` (int64 ``[None, rank]``), ``name/values`` (``[None]``) and
``name/shape`` (int64 ``[rank]``; when the shape is given, a ``PlaceholderWithDefault`` of it, ``-1`` for
unknown dimensions, so it may still be fed). ``Session.run`` accepts the SparseTensor as a feed key
with a :class:`SparseTensorValue` or an ``(indices, values, dense_shape)`` tuple as its value: it
feeds the three parts (:meth:`SparseTensor._feed_components`).
"""

from __future__ import annotations

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor
from ..framework.sparse_tensor import SparseTensor
from ..framework.tensor_shape import TensorShape
from .constant import placeholder, placeholder_with_default


def sparse_placeholder(dtype, shape=None, name=None) -> SparseTensor:
    """A SparseTensor to feed (``tf.sparse_placeholder``).

    Parameters
    ----------
    dtype : DType
        The values' type.
    shape : list or Tensor, optional
        The dense shape (None dims unknown); None: the rank is unknown too.
    name : str, optional
        Prefix of the three placeholders' names.

    Examples
    --------
    >>> import dataflow as tf
    >>> sp = tf.sparse_placeholder(tf.float32, shape=[2, 3])
    >>> dense = tf.sparse_tensor_to_dense(sp)
    >>> tf.Session().run(dense, {sp: ([[0, 1], [1, 2]], [5.0, 7.0], [2, 3])})
    array([[0., 5., 0.],
           [0., 0., 7.]], dtype=float32)
    """
    def sub(suffix):
        return f"{name}/{suffix}" if name is not None else None

    if shape is None:
        rank = None
        dense_shape = placeholder(dtypes.int64, shape=[None], name=sub("shape"))
        static = TensorShape(None)
    else:
        if isinstance(shape, Tensor):
            rank = shape.shape[0].value if shape.shape.ndims else None
            static = TensorShape(None if rank is None else [None] * rank)
            default = shape
        else:
            dims = [None if d is None or d == -1 else int(d) for d in TensorShape(shape).as_list()]
            rank, static = len(dims), TensorShape(dims)
            default = convert_to_tensor([-1 if d is None else d for d in dims], dtype=dtypes.int64,
                                        name=sub("shape_default"))
        dense_shape = placeholder_with_default(default, shape=[rank], name=sub("shape"))
    result = SparseTensor(indices=placeholder(dtypes.int64, shape=[None, rank], name=sub("indices")),
                          values=placeholder(dtype, shape=[None], name=sub("values")),
                          dense_shape=dense_shape)
    result._static_shape = static
    return result
