"""Sparse tensors made dense: ``tf.sparse.to_dense``, ``tf.sparse_tensor_to_dense``, ``tf.sparse_to_dense``.

One primitive, TF's ``SparseToDense(sparse_indices, output_shape, sparse_values, default_value)``: a
``default_value``-filled array of ``output_shape`` with the values scattered at the indices (a scalar
value is used at every index). With ``validate_indices`` it checks, as TF, that each index is in range
and that the indices are sorted row-major without repeats; otherwise InvalidArgumentError.
The gradient flows to the values (a gather of the output gradient) and to the default (the rest's sum).
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.sparse_tensor import SparseTensor
from ..framework.tensor_shape import TensorShape
from .common import constant_value

__all__ = ["sparse_tensor_to_dense", "sparse_to_dense", "to_dense"]


def _check_indices(idx: np.ndarray, shape: np.ndarray) -> None:
    bad = np.nonzero(((idx < 0) | (idx >= shape)).any(axis=1))[0]
    if bad.size:
        i = int(bad[0])
        raise errors.InvalidArgumentError(
            None, None, f"indices[{i}] = [{','.join(map(str, idx[i]))}] is out of bounds: need 0 <= index < "
                        f"[{','.join(map(str, shape))}]")
    if len(idx) > 1:
        flat = np.ravel_multi_index(idx.T, shape) if shape.size else np.zeros(len(idx), np.int64)
        order = np.nonzero(np.diff(flat) <= 0)[0]
        if order.size:
            i = int(order[0]) + 1
            kind = "repeated" if flat[i] == flat[i - 1] else "out of order"
            raise errors.InvalidArgumentError(
                None, None, f"indices[{i}] = [{','.join(map(str, idx[i]))}] is {kind}. Many sparse ops "
                            "require sorted indices.\n    Use `tf.sparse.reorder` to create a correctly "
                            "ordered copy.\n\n")


def _sparse_to_dense_kernel(xp, indices, output_shape, values, default_value, *, validate_indices):
    shape = np.asarray(output_shape, dtype=np.int64).reshape(-1)
    idx = np.asarray(indices, dtype=np.int64)
    if idx.ndim < 2:
        idx = idx.reshape(-1, 1) if shape.size == 1 else idx.reshape(1, -1)
    if validate_indices:
        _check_indices(idx, shape)
    values = np.asarray(values)
    out = np.full(tuple(shape), default_value, dtype=values.dtype)
    if idx.size:
        out[tuple(idx.T)] = values
    return out


def _sparse_to_dense_infer(op):
    values = op.inputs[2]
    known = constant_value(op.inputs[1])
    if known is not None:
        return [(values.dtype, TensorShape([int(d) for d in np.asarray(known).reshape(-1)]))]
    rank = op.inputs[1].shape.as_list()[0] if op.inputs[1].shape.ndims == 1 else None
    return [(values.dtype, TensorShape(None if rank is None else [None] * int(rank)))]


def _sparse_to_dense_grad(op, grad):
    from .array import reshape
    from .gather import gather_nd
    from .reduction import reduce_sum

    indices, _, values, _ = op.inputs
    picked = gather_nd(grad, indices)
    rest = reduce_sum(grad) - reduce_sum(picked)     # the default fills every other position
    return [None, None, reduce_sum(picked) if values.shape.ndims == 0 else picked, reshape(rest, [])]


register(OpDef("SparseToDense", _sparse_to_dense_infer, _sparse_to_dense_kernel, grad=_sparse_to_dense_grad))


def sparse_to_dense(sparse_indices, output_shape, sparse_values, default_value=0, validate_indices=True,
                    name=None):
    """A dense tensor of ``output_shape`` holding ``sparse_values`` at ``sparse_indices``, else the default.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.sparse_to_dense([[0, 1], [1, 0]], [2, 2], [5, 6]))
    array([[0, 5],
           [6, 0]], dtype=int32)
    """
    with name_scope(name, "SparseToDense", [sparse_indices, output_shape, sparse_values]) as scope:
        values = convert_to_tensor(sparse_values)
        indices = convert_to_tensor(sparse_indices)
        if not indices.dtype.is_integer:
            raise TypeError(f"sparse_indices must be int32 or int64, got {indices.dtype.name}")
        shape = convert_to_tensor(output_shape, dtype=indices.dtype)
        default = convert_to_tensor(default_value, dtype=values.dtype)
        return make_op("SparseToDense", [indices, shape, values, default],
                       {"validate_indices": bool(validate_indices)}, scope).outputs[0]


def to_dense(sp_input: SparseTensor, default_value=None, validate_indices=True, name=None):
    """``tf.sparse.to_dense``: the dense tensor of a :class:`SparseTensor` (``default_value`` elsewhere,
    0 or b"" by default).

    Examples
    --------
    >>> import dataflow as tf
    >>> st = tf.SparseTensor([[0, 0], [1, 2]], [1.0, 2.0], [2, 3])
    >>> tf.Session().run(tf.sparse.to_dense(st))
    array([[1., 0., 0.],
           [0., 0., 2.]], dtype=float32)
    """
    if not isinstance(sp_input, SparseTensor):
        raise TypeError(f"Input must be a SparseTensor, got {type(sp_input).__name__}")
    if default_value is None:
        default_value = b"" if sp_input.dtype is dtypes.string else 0
    return sparse_to_dense(sp_input.indices, sp_input.dense_shape, sp_input.values, default_value,
                           validate_indices, name or "SparseToDense")


def sparse_tensor_to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    """TF1's name of :func:`to_dense`."""
    return to_dense(sp_input, default_value, validate_indices, name)
