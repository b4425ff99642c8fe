"""``tf.IndexedSlices``: a sparse gradient, the rows ``values`` of a dense tensor at ``indices``.

The gradient of a gather from a variable (``tf.nn.embedding_lookup``) is an IndexedSlices: only the
looked-up rows, never the whole embedding. ``tf.gradients`` returns it as is; the optimizers apply it
with TF's sparse updates (``ScatterSub``, ``SparseApplyMomentum`` ... in ``ops/sparse_training.py``),
which touch only those rows. Gradients arriving at one tensor from several paths are summed as TF
does: IndexedSlices only are concatenated (still sparse), a mix is densified and added. Converting an
IndexedSlices to a Tensor (``tf.convert_to_tensor``, or any op taking it) densifies it with an
``UnsortedSegmentSum`` (duplicate indices add up), warning as TF for very large or unknown shapes.
"""

from __future__ import annotations

import collections
import warnings

import numpy as np

from .graph import Tensor, register_tensor_conversion_function

# TF warns when densifying to more than this many elements (gradients_util._LARGE_SPARSE_NUM_ELEMENTS)
LARGE_SPARSE_NUM_ELEMENTS = 100000000


class IndexedSlices:
    """Rows ``values[i]`` of a dense tensor of shape ``dense_shape`` at row ``indices[i]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.reset_default_graph()
    >>> emb = tf.Variable(tf.zeros([1000, 4]))
    >>> loss = tf.reduce_sum(tf.nn.embedding_lookup(emb, [3, 7]))
    >>> g = tf.gradients(loss, emb)[0]
    >>> type(g).__name__, g.values.shape.as_list()
    ('IndexedSlices', [2, 4])
    """

    def __init__(self, values: Tensor, indices: Tensor, dense_shape: Tensor | None = None):
        self._values = values
        self._indices = indices
        self._dense_shape = dense_shape

    @property
    def values(self) -> Tensor:
        return self._values

    @property
    def indices(self) -> Tensor:
        return self._indices

    @property
    def dense_shape(self) -> Tensor | None:
        return self._dense_shape

    @property
    def name(self) -> str:
        return self._values.name

    @property
    def op(self):
        return self._values.op

    @property
    def graph(self):
        return self._values.graph

    @property
    def device(self) -> str:
        return self._values.device

    @property
    def dtype(self):
        return self._values.dtype

    def get_shape(self):
        from .tensor_shape import TensorShape

        from ..ops.common import shape_tensor_as_static

        if self._dense_shape is None:
            return TensorShape(None)
        return shape_tensor_as_static(self._dense_shape)

    shape = property(get_shape)

    def __neg__(self) -> "IndexedSlices":
        from ..ops.math import negative

        return IndexedSlices(negative(self._values), self._indices, self._dense_shape)

    def __repr__(self):
        return (f"IndexedSlices(indices={self._indices!r}, values={self._values!r}"
                + (f", dense_shape={self._dense_shape!r})" if self._dense_shape is not None else ")"))


IndexedSlicesValue = collections.namedtuple("IndexedSlicesValue", ["values", "indices", "dense_shape"])


def to_dense(value: IndexedSlices, dtype=None, name=None, as_ref=False) -> Tensor:
    """The dense tensor of ``value`` (TF's ``_IndexedSlicesToTensor``, with its memory warnings)."""
    from ..ops.gather import unsorted_segment_sum

    if dtype is not None and not value.dtype.is_compatible_with(dtype):
        raise ValueError(f"Tensor conversion requested dtype {dtype} for IndexedSlices with dtype "
                         f"{value.dtype.name}")
    if value.dense_shape is None:
        raise ValueError(f"Tensor conversion requested for IndexedSlices without dense_shape: {value!r}")
    shape = value.get_shape()
    if shape.is_fully_defined():
        n = int(np.prod(shape.as_list()))
        if n >= LARGE_SPARSE_NUM_ELEMENTS:
            warnings.warn(f"Converting sparse IndexedSlices to a dense Tensor with {n} elements. This may "
                          "consume a large amount of memory.", stacklevel=3)
        return unsorted_segment_sum(value.values, value.indices, shape.as_list()[0], name=name)
    warnings.warn("Converting sparse IndexedSlices to a dense Tensor of unknown shape. This may consume a "
                  "large amount of memory.", stacklevel=3)
    return unsorted_segment_sum(value.values, value.indices, value.dense_shape[0], name=name)


register_tensor_conversion_function(IndexedSlices, to_dense)


def aggregate(grads: list):
    """TF's sum of gradients from several paths: IndexedSlices alone stay sparse (concatenated)."""
    from ..ops.indexing import concat

    if all(isinstance(g, IndexedSlices) for g in grads):
        return IndexedSlices(concat([g.values for g in grads], 0), concat([g.indices for g in grads], 0),
                             grads[0].dense_shape)
    from ..ops.math import add_n

    return add_n([to_dense(g) if isinstance(g, IndexedSlices) else g for g in grads])


def deduplicate(grad: IndexedSlices) -> IndexedSlices:
    """``grad`` with each row index once, the values of repeated indices summed (TF's
    ``_deduplicate_indexed_slices``): what the sparse optimizer updates need."""
    from ..ops.array import shape
    from ..ops.gather import unsorted_segment_sum
    from ..ops.sequence_ops import unique

    unique_indices, positions = unique(grad.indices)
    summed = unsorted_segment_sum(grad.values, positions, shape(unique_indices)[0])
    return IndexedSlices(summed, unique_indices, grad.dense_shape)
