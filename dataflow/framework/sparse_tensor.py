"""``tf.SparseTensor``: a sparse tensor as three dense tensors, and its fetched value.

A :class:`SparseTensor` is a graph composite: ``indices`` (int64 ``[nnz, rank]``), ``values`` (``[nnz]``)
and ``dense_shape`` (int64 ``[rank]``) are ordinary tensors of the graph. ``Session.run`` fetches one as a
:class:`SparseTensorValue` (the namedtuple TF1 returns), through ``_fetch_components``: the session
flattens the three tensors into the run's fetches and rebuilds the value from their arrays.

Examples
--------
>>> import dataflow as tf
>>> st = tf.SparseTensor(indices=[[0, 1], [2, 0]], values=[5.0, 7.0], dense_shape=[3, 2])
>>> tf.Session().run(st).values
array([5., 7.], dtype=float32)
"""

from __future__ import annotations

import collections

from . import dtypes
from .graph import Tensor, convert_to_tensor
from .tensor_shape import TensorShape

__all__ = ["SparseTensor", "SparseTensorValue"]

SparseTensorValue = collections.namedtuple("SparseTensorValue", ["indices", "values", "dense_shape"])
SparseTensorValue.__doc__ = "A fetched SparseTensor: NumPy ``indices``, ``values`` and ``dense_shape``."


class SparseTensor:
    """A sparse tensor: ``values[i]`` is at ``indices[i]`` of a ``dense_shape`` tensor, zeros elsewhere.

    Parameters
    ----------
    indices : int64 Tensor or array-like, ``[nnz, rank]``
        Row-major sorted coordinates of the values.
    values : Tensor or array-like, ``[nnz]``
        The values.
    dense_shape : int64 Tensor or array-like, ``[rank]``
        The shape of the dense tensor.
    """

    def __init__(self, indices, values, dense_shape):
        self.indices = convert_to_tensor(indices, dtype=dtypes.int64, name="indices") \
            if not isinstance(indices, Tensor) else indices
        self.values = values if isinstance(values, Tensor) else convert_to_tensor(values, name="values")
        self.dense_shape = convert_to_tensor(dense_shape, dtype=dtypes.int64, name="dense_shape") \
            if not isinstance(dense_shape, Tensor) else dense_shape
        for part, want in ((self.indices, 2), (self.values, 1), (self.dense_shape, 1)):
            if part.shape.ndims not in (None, want):
                raise ValueError(f"SparseTensor part {part.name} must have rank {want}, has shape {part.shape}")

    @classmethod
    def from_value(cls, value: SparseTensorValue) -> "SparseTensor":
        """A SparseTensor of constants holding ``value``."""
        return cls(value.indices, value.values, value.dense_shape)

    @property
    def dtype(self) -> dtypes.DType:
        return self.values.dtype

    @property
    def op(self):
        return self.values.op

    @property
    def graph(self):
        return self.values.graph

    @property
    def shape(self) -> TensorShape:
        from ..ops.common import constant_value

        if getattr(self, "_static_shape", None) is not None:  # a sparse_placeholder's declared shape
            return self._static_shape
        known = constant_value(self.dense_shape)
        if known is not None:
            return TensorShape([int(d) for d in known])
        rank = self.dense_shape.shape[0] if self.dense_shape.shape.ndims else None
        return TensorShape(None if rank is None else [None] * rank)

    def get_shape(self) -> TensorShape:
        return self.shape

    def _fetch_components(self):
        """``(tensors, rebuild)``: what ``Session.run`` fetches for this value and how to rebuild it."""
        return [self.indices, self.values, self.dense_shape], lambda parts: SparseTensorValue(*parts)

    def _feed_components(self, value) -> dict:
        """``{part: array}``: the three placeholders fed from a SparseTensorValue (or a 3-tuple)."""
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            raise TypeError(f"The value fed to the SparseTensor {self.values.name} must be a SparseTensorValue or "
                            f"an (indices, values, dense_shape) tuple, got {type(value).__name__}")
        return dict(zip((self.indices, self.values, self.dense_shape), value))

    def eval(self, feed_dict=None, session=None) -> SparseTensorValue:
        from ..runtime.session import get_default_session

        return (session or get_default_session()).run(self, feed_dict)

    def __repr__(self):
        return f"SparseTensor(indices={self.indices!r}, values={self.values!r}, dense_shape={self.dense_shape!r})"
