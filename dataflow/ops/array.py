"""Shape and movement ops: identity, reshape, transpose, expand_dims, squeeze, shape/size/rank,
fill, zeros/ones(_like), broadcast_to, and SumToShape (the inverse of broadcasting, for gradients).

Shape-valued inputs (Reshape's ``shape``, Fill's ``dims``) are tensors as in TF; when they are known at
graph-build time the static shape of the output is known too.
"""

from __future__ import annotations

import math

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, broadcast_shapes
from .common import (
    broadcast_view, constant_value, normalize_axis, same_as_input, shape_of, shape_tensor_as_static, shape_value)
from .reduction import sum_leading


def _identity_kernel(xp, x):
    return x


register(OpDef("Identity", same_as_input, _identity_kernel, grad=lambda op, g: [g], view=True))
register(OpDef("StopGradient", same_as_input, _identity_kernel, differentiable=False, view=True))


# ---- Reshape --------------------------------------------------------------------------------
def _reshape_infer(op):
    x, shape_t = op.inputs
    target = shape_tensor_as_static(shape_t)
    value = constant_value(shape_t)
    if value is not None:
        dims = [int(d) for d in np.asarray(value).reshape(-1)]
        if dims.count(-1) > 1:
            raise ValueError(f"Reshape can only infer one dimension, got shape {dims}")
        n = x.shape.num_elements()
        known = int(np.prod([d for d in dims if d != -1])) if dims else 1
        if -1 in dims:
            if n is not None:
                if known == 0 or n % known:
                    raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims}")
                dims[dims.index(-1)] = n // known
                target = TensorShape(dims)
        elif n is not None and n != known:
            raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims} "
                             f"({known} elements)")
    return [(x.dtype, target)]


def _reshape_kernel(xp, x, shape):
    dims = shape_value(shape)
    try:
        return x.reshape(dims) if xp is np else xp.reshape(x, dims)  # the method: no NumPy Python wrapper
    except ValueError:
        from ..framework.errors import InvalidArgumentError

        known = int(np.prod([d for d in dims if d != -1]))
        raise InvalidArgumentError(None, None, f"Input to reshape is a tensor with {int(np.prod(x.shape))} "
                                   f"values, but the requested shape {'requires a multiple of' if -1 in dims else 'has'}"
                                   f" {known}") from None


register(OpDef("Reshape", _reshape_infer, _reshape_kernel,
               grad=lambda op, g: [reshape(g, shape_of(op.inputs[0])), None], view=True))


def reshape(tensor, shape, name=None) -> Tensor:
    """``tensor`` with the same elements in ``shape`` (one dim may be -1)."""
    tensor = convert_to_tensor(tensor)
    return make_op("Reshape", [tensor, _shape_arg(shape)], name=name).outputs[0]


# ---- Shape, Size, Rank ------------------------------------------------------------------------
def _shape_kernel(xp, x, *, out_type):
    return np.array(x.shape, dtype=out_type.as_numpy_dtype)


def _size_kernel(xp, x, *, out_type):
    return np.array(math.prod(x.shape), dtype=out_type.as_numpy_dtype)


def _rank_kernel(xp, x):
    return np.array(len(x.shape), dtype=np.int32)


register(OpDef("Shape", lambda op: [(op.attrs["out_type"], TensorShape([op.inputs[0].shape.ndims]))],
               _shape_kernel, differentiable=False))
register(OpDef("Size", lambda op: [(op.attrs["out_type"], TensorShape([]))], _size_kernel,
               differentiable=False))
register(OpDef("Rank", lambda op: [(dtypes.int32, TensorShape([]))], _rank_kernel, differentiable=False))


def shape(input, name=None, out_type=dtypes.int32) -> Tensor:
    """The dynamic shape of ``input`` as a 1-D int tensor."""
    return make_op("Shape", [convert_to_tensor(input)], {"out_type": dtypes.as_dtype(out_type)},
                   name).outputs[0]


def size(input, name=None, out_type=dtypes.int32) -> Tensor:
    """The number of elements of ``input``."""
    return make_op("Size", [convert_to_tensor(input)], {"out_type": dtypes.as_dtype(out_type)},
                   name).outputs[0]


def rank(input, name=None) -> Tensor:
    """The number of dimensions of ``input``."""
    return make_op("Rank", [convert_to_tensor(input)], name=name).outputs[0]


# ---- Fill, zeros, ones ------------------------------------------------------------------------
def _fill_kernel(xp, dims, value):
    if xp is not np:
        return xp.full(shape_value(dims), value, dtype=value.dtype)
    out = np.empty(shape_value(dims), dtype=value.dtype)  # np.full's Python wrapper costs about as much
    out[...] = value
    return out


def _fill_grad(op, g):
    from .reduction import reduce_sum

    return [None, reduce_sum(g)]


register(OpDef("Fill", lambda op: [(op.inputs[1].dtype, shape_tensor_as_static(op.inputs[0]))],
               _fill_kernel, grad=_fill_grad))


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` filled with the scalar ``value``."""
    return make_op("Fill", [_shape_arg(dims), convert_to_tensor(value)], name=name).outputs[0]


def _shape_arg(shape):
    if isinstance(shape, Tensor):
        return shape
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if isinstance(shape, (list, tuple)) and any(isinstance(d, Tensor) for d in shape):
        from .indexing import stack

        return stack([convert_to_tensor(d, dtype=dtypes.int32) for d in shape])
    return convert_to_tensor(np.asarray(shape, dtype=np.int32).reshape(-1))


def zeros(shape, dtype=dtypes.float32, name=None) -> Tensor:
    """A tensor of zeros."""
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "zeros", []) as scope:
        return fill(_shape_arg(shape), np.zeros((), dtype.as_numpy_dtype) if dtype is not dtypes.string
                    else b"", name=scope)


def ones(shape, dtype=dtypes.float32, name=None) -> Tensor:
    """A tensor of ones."""
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "ones", []) as scope:
        return fill(_shape_arg(shape), np.ones((), dtype.as_numpy_dtype), name=scope)


def _zeros_like_kernel(xp, x):
    return xp.zeros_like(x)


def _ones_like_kernel(xp, x):
    return xp.ones_like(x)


register(OpDef("ZerosLike", same_as_input, _zeros_like_kernel, differentiable=False))
register(OpDef("OnesLike", same_as_input, _ones_like_kernel, differentiable=False))


def zeros_like(tensor, dtype=None, name=None, optimize=True) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``tensor``."""
    from .math import cast

    tensor = convert_to_tensor(tensor)
    out = make_op("ZerosLike", [tensor], name=name).outputs[0]
    return out if dtype is None else cast(out, dtype)


def ones_like(tensor, dtype=None, name=None, optimize=True) -> Tensor:
    """Ones with the shape (and dtype, unless given) of ``tensor``."""
    from .math import cast

    tensor = convert_to_tensor(tensor)
    out = make_op("OnesLike", [tensor], name=name).outputs[0]
    return out if dtype is None else cast(out, dtype)


# ---- broadcasting and its inverse ------------------------------------------------------------
def _broadcast_to_kernel(xp, x, shape):
    dims = shape_value(shape)
    return x if x.shape == dims else broadcast_view(xp, x, dims)


def _broadcast_to_infer(op):
    x, s = op.inputs
    target = shape_tensor_as_static(s)
    broadcast_shapes(x.shape, target)  # raises if incompatible
    return [(x.dtype, target)]


register(OpDef("BroadcastTo", _broadcast_to_infer, _broadcast_to_kernel,
               grad=lambda op, g: [sum_to_shape(g, shape_of(op.inputs[0])), None], view=True))


def broadcast_to(input, shape, name=None) -> Tensor:
    """``input`` broadcast (NumPy rules) to ``shape``."""
    return make_op("BroadcastTo", [convert_to_tensor(input), _shape_arg(shape)], name=name).outputs[0]


_SUMMED_AXES: dict = {}  # (g's shape, target shape) -> the axes SumToShape sums


def _sum_to_shape_kernel(xp, g, shape):
    shape = shape_value(shape)
    if g.shape == shape:
        return g
    axes = _SUMMED_AXES.get((g.shape, shape))
    if axes is None:
        lead = len(g.shape) - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape) if d == 1 and g.shape[i + lead] != 1)
        if len(_SUMMED_AXES) > 4096:
            _SUMMED_AXES.clear()
        _SUMMED_AXES[(g.shape, shape)] = axes
    s = sum_leading(xp, g, axes)
    if xp is not np:
        return xp.reshape(xp.sum(g, axis=axes) if s is None else s, shape)
    if s is None:  # the ufunc's own reduce: np.sum's Python layers cost as much as a small sum
        s = np.add.reduce(g, axis=axes, dtype=g.dtype)
    return s if s.shape == shape else s.reshape(shape)


register(OpDef("SumToShape", lambda op: [(op.inputs[0].dtype, shape_tensor_as_static(op.inputs[1]))],
               _sum_to_shape_kernel,
               grad=lambda op, g: [broadcast_to(g, shape_of(op.inputs[0])), None]))


def sum_to_shape(g: Tensor, shape) -> Tensor:
    """Sum ``g`` over the axes that broadcasting ``shape`` up to ``g``'s shape added or stretched."""
    return make_op("SumToShape", [g, _shape_arg(shape)], name="SumToShape").outputs[0]


# ---- ExpandDims, Squeeze, Transpose ---------------------------------------------------------
def _expand_dims_infer(op):
    x = op.inputs[0]
    axis = op.attrs["axis"]
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    dims = x.shape.as_list()
    n = len(dims) + 1
    if not -n <= axis < n:
        raise ValueError(f"ExpandDims axis {axis} out of range for rank {len(dims)}")
    dims.insert(axis % n, 1)
    return [(x.dtype, TensorShape(dims))]


def _expand_dims_kernel(xp, x, *, axis):
    dims = list(x.shape)
    dims.insert(axis if axis >= 0 else len(dims) + 1 + axis, 1)
    return x.reshape(dims)  # a unit axis: always a view


register(OpDef("ExpandDims", _expand_dims_infer, _expand_dims_kernel,
               grad=lambda op, g: [reshape(g, shape_of(op.inputs[0]))], view=True))


def expand_dims(input, axis=None, name=None, dim=None) -> Tensor:
    """Insert a dimension of size 1 at ``axis``."""
    from .common import static_axis

    axis = static_axis(dim if axis is None else axis)
    return make_op("ExpandDims", [convert_to_tensor(input)], {"axis": axis}, name).outputs[0]


def _squeeze_infer(op):
    x = op.inputs[0]
    axes = op.attrs["squeeze_dims"]
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    dims = x.shape.as_list()
    axes = normalize_axis(axes, len(dims)) if axes else None
    out = []
    for i, d in enumerate(dims):
        if axes is None:
            if d == 1:
                continue
            if d is None:
                return [(x.dtype, TensorShape(None))]
        elif i in axes:
            if d not in (1, None):
                raise ValueError(f"Can not squeeze dim[{i}], expected a dimension of 1, got {d}")
            continue
        out.append(d)
    return [(x.dtype, TensorShape(out))]


def _squeeze_kernel(xp, x, *, squeeze_dims):
    if squeeze_dims:
        return xp.squeeze(x, axis=tuple(squeeze_dims))
    return xp.squeeze(x)


register(OpDef("Squeeze", _squeeze_infer, _squeeze_kernel,
               grad=lambda op, g: [reshape(g, shape_of(op.inputs[0]))], view=True))


def squeeze(input, axis=None, name=None, squeeze_dims=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``axis``)."""
    axis = squeeze_dims if axis is None else axis
    axis = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return make_op("Squeeze", [convert_to_tensor(input)], {"squeeze_dims": tuple(axis)}, name).outputs[0]


def _transpose_infer(op):
    x = op.inputs[0]
    perm = op.attrs["perm"]
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None if perm is None else [None] * len(perm)))]
    dims = x.shape.as_list()
    if perm is None:
        return [(x.dtype, TensorShape(dims[::-1]))]
    if sorted(perm) != list(range(len(dims))):
        raise ValueError(f"transpose perm {list(perm)} is not a permutation of a rank-{len(dims)} tensor")
    return [(x.dtype, TensorShape([dims[p] for p in perm]))]


def _transpose_kernel(xp, x, *, perm):
    return xp.transpose(x, perm)


def _transpose_grad(op, g):
    perm = op.attrs["perm"]
    inv = None if perm is None else tuple(int(i) for i in np.argsort(perm))
    return [make_op("Transpose", [g], {"perm": inv}).outputs[0]]


register(OpDef("Transpose", _transpose_infer, _transpose_kernel, grad=_transpose_grad, view=True))


def transpose(a, perm=None, name="transpose", conjugate=False) -> Tensor:
    """Permute the dimensions of ``a`` (reverse them when ``perm`` is None)."""
    from .common import static_axis

    perm = None if perm is None else tuple(static_axis(perm, "perm")) if not isinstance(
        static_axis(perm, "perm"), int) else (static_axis(perm, "perm"),)
    return make_op("Transpose", [convert_to_tensor(a)], {"perm": perm}, name).outputs[0]


def identity(input, name=None) -> Tensor:
    """``input`` itself, as a new op (a read of a variable, a named alias)."""
    return make_op("Identity", [convert_to_tensor(input)], name=name).outputs[0]


def stop_gradient(input, name=None) -> Tensor:
    """``input``, through which no gradient flows."""
    return make_op("StopGradient", [convert_to_tensor(input)], name=name).outputs[0]
