"""Reductions along axes (sum, mean, max, min, prod, any, all), argmax/argmin, cumsum.

Axes are attrs known when the graph is built (a Python value or a constant tensor), so the static
shape of the result is known and the kernel is a single ``xp`` call.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from .common import broadcast_view, constant_value, normalize_axis, shape_of, shape_tensor_as_static, shape_value, static_axis


def _reduced_shape(shape: TensorShape, axis, keepdims: bool) -> TensorShape:
    if shape.ndims is None:
        return TensorShape(None)
    dims = shape.as_list()
    axes = range(len(dims)) if axis is None else normalize_axis(axis, len(dims))
    if keepdims:
        return TensorShape([1 if i in axes else d for i, d in enumerate(dims)])
    return TensorShape([d for i, d in enumerate(dims) if i not in axes])


def _reduce_infer(out_dtype=None):
    def infer(op):
        x = op.inputs[0]
        dt = x.dtype if out_dtype is None else out_dtype
        return [(dt, _reduced_shape(x.shape, op.attrs["axis"], op.attrs["keepdims"]))]

    return infer


def _kept(g: Tensor, op) -> Tensor:
    """The reduction's gradient (or output) ``g`` with the reduced axes put back as size 1."""
    from .array import expand_dims, reshape

    axis, keepdims = op.attrs["axis"], op.attrs["keepdims"]
    x = op.inputs[0]
    if keepdims:
        return g
    if axis is None:
        if x.shape.ndims is None:
            return g  # a scalar broadcasts against any shape
        return reshape(g, [1] * x.shape.ndims)
    if x.shape.ndims is not None:
        axes = sorted(normalize_axis(axis, x.shape.ndims))
    elif all(a >= 0 for a in axis) or all(a < 0 for a in axis):
        # NOTE: with the rank unknown, axes counted from the end go in from the last one (-1, then -2...):
        # each then has its final count of dimensions after it (ascending order would give -2 after -1).
        axes = sorted(axis, key=lambda a: a if a >= 0 else -a)
    else:  # axes counted from both ends: put the 1s into the runtime shape instead
        return reshape(g, _kept_shape(x, axis))
    for a in axes:
        g = expand_dims(g, a)
    return g


def _kept_shape(x: Tensor, axis) -> Tensor:
    """``shape(x)`` with the ``axis`` entries set to 1, computed when the graph runs (unknown rank)."""
    from .array import expand_dims, ones_like, rank, shape
    from .gather import range as range_
    from .math import equal, floormod, where_v2

    axes = floormod(convert_to_tensor(np.asarray(axis, np.int32)), rank(x))
    reduced = reduce_any(equal(expand_dims(range_(rank(x)), 1), axes), axis=1)
    return where_v2(reduced, ones_like(shape(x)), shape(x))


def _broadcast_back(g, op):
    from .array import broadcast_to

    return broadcast_to(_kept(g, op), shape_of(op.inputs[0]))


def _count(op) -> Tensor:
    """How many input elements each output element of the reduction ``op`` covers."""
    from .array import size
    from .math import cast

    x, y = op.inputs[0], op.outputs[0]
    dtype = x.dtype.as_numpy_dtype
    if x.shape.ndims is not None:  # the reduced dimensions alone decide it (a batch may be unknown)
        dims = x.shape.as_list()
        axis = op.attrs["axis"]
        reduced = [dims[a] for a in (range(len(dims)) if axis is None else normalize_axis(axis, len(dims)))]
        if None not in reduced:
            return convert_to_tensor(np.asarray(math.prod(reduced), dtype))
    if y.shape.num_elements() == 1:
        return cast(size(x), x.dtype)
    return cast(size(x) // size(y), x.dtype)


def _sum_grad(op, g):
    fused = _reduce_grad(g, op, mean=False)
    return [_broadcast_back(g, op) if fused is None else fused]


def _mean_grad(op, g):
    fused = _reduce_grad(g, op, mean=True)
    # divided before it is broadcast: fewer elements
    return [_broadcast_back(g / _count(op), op) if fused is None else fused]


# ---- ReduceGrad: a Sum's or Mean's gradient as one op -----------------------------------------
# TF builds it from Size, Cast, RealDiv, Reshape, Shape and a broadcast, each a kernel call per run;
# where the input's rank is known (the reduced axes are then plain indices) one primitive does it:
# ReduceGrad(g, shape(x)) = g with the reduced axes put back as 1, divided by their element count for
# a mean, broadcast to shape(x) (a read-only view of g's values). It is linear in g; its gradient is
# the reduction of the incoming gradient over the same axes, so gradients of any order exist.
def _reduce_grad(g: Tensor, op, mean: bool):
    x = op.inputs[0]
    if x.shape.ndims is None:
        return None  # axes counted from the end of an unknown rank: the general path above
    axis = op.attrs["axis"]
    axes = tuple(range(x.shape.ndims)) if axis is None else tuple(sorted(normalize_axis(axis, x.shape.ndims)))
    attrs = {"axis": axes, "keepdims": bool(op.attrs["keepdims"]), "mean": mean}
    return make_op("ReduceGrad", [g, shape_of(x)], attrs).outputs[0]


def _reduce_grad_infer(op):
    g, shape = op.inputs
    return [(g.dtype, shape_tensor_as_static(shape))]


def _reduce_grad_kernel(xp, g, shape, *, axis, keepdims, mean):
    dims = shape_value(shape)
    kept = tuple(1 if i in axis else d for i, d in enumerate(dims))
    if mean:
        n = math.prod(dims[a] for a in axis)
        if n:  # no elements were reduced: the result is empty, nothing to divide
            g = g / g.dtype.type(n)
    g = g.reshape(kept) if xp is np else xp.reshape(g, kept)
    return g if kept == dims else broadcast_view(xp, g, dims)


def _reduce_grad_grad(op, gg):
    fn = reduce_mean if op.attrs["mean"] else reduce_sum
    return [fn(gg, axis=list(op.attrs["axis"]), keepdims=op.attrs["keepdims"]), None]


register(OpDef("ReduceGrad", _reduce_grad_infer, _reduce_grad_kernel, grad=_reduce_grad_grad, view=True))


def _max_min_grad(op, g):
    from .math import cast, equal

    x = op.inputs[0]
    y = _kept(op.outputs[0], op)
    indicators = cast(equal(y, x), g.dtype)
    num_selected = reduce_sum(indicators, op.attrs["axis"], keepdims=True)
    return [indicators / num_selected * _broadcast_back(g, op)]


def _prod_grad(op, g):
    # NOTE: d prod / d x_i is the product of the other elements. Where x_i == 0 that is the product of
    # the nonzero others when x_i is the only zero, else 0; elsewhere it is y / x_i (0 if any zero).
    from .math import cast, equal, where_v2

    x = op.inputs[0]
    axis = op.attrs["axis"]
    is_zero = equal(x, 0)
    nonzero = where_v2(is_zero, np.asarray(1, x.dtype.as_numpy_dtype), x)
    prod_nonzero = reduce_prod(nonzero, axis, keepdims=True)
    zero_count = reduce_sum(cast(is_zero, x.dtype), axis, keepdims=True)
    y = _kept(op.outputs[0], op)
    zero_part = where_v2(equal(zero_count, 1), prod_nonzero, np.asarray(0, x.dtype.as_numpy_dtype))
    local = where_v2(is_zero, zero_part * (x * 0 + 1), y / nonzero)
    return [local * _broadcast_back(g, op)]


def _mean_kernel(xp, x, *, axis, keepdims):
    if x.dtype.kind not in "iu":
        if x.size:
            return xp.mean(x, axis=axis, keepdims=keepdims)
        with warnings.catch_warnings():  # NaN (0 / 0) where nothing was reduced, as TF, without NumPy's warning
            warnings.simplefilter("ignore", RuntimeWarning)
            return xp.mean(x, axis=axis, keepdims=keepdims)
    # NOTE: TF's integer mean is the sum divided in integer arithmetic, truncating toward zero:
    # mean([-1, -2]) is -1. Floor division, corrected by one where a negative sum does not divide.
    s = xp.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
    q = s // max(n, 1)
    return q + ((s < 0) & (q * n != s)).astype(x.dtype)


# Summing over this many leading rows or more is one GEMV with a vector of ones: BLAS is 6x faster
# than NumPy's row-by-row accumulation over N*H*W rows (a convolution's bias gradient: 64x28x28 rows of
# 32, 125 vs 770 us), and its blocked accumulation is also more accurate than NumPy's sequential one
# along a leading axis. Over a batch of 128 rows NumPy is faster in a training step (the MLP
# benchmark's three bias gradients: 36 us as GEMVs, 15 us with NumPy).
ROWS_AS_GEMV = 1024


def sum_leading(xp, x, axes):
    """``sum(x, axis=axes)`` where ``axes`` are x's leading axes; None when that is not the case."""
    k = len(axes)
    if not 0 < k < x.ndim or x.dtype.kind != "f" or x.dtype.itemsize < 4:
        return None
    rows = math.prod(x.shape[:k])
    if rows < ROWS_AS_GEMV or tuple(sorted(a % x.ndim for a in axes)) != tuple(range(k)):
        return None
    ones = _ones.get((rows, x.dtype.char)) if xp is np else None
    if ones is None:
        ones = xp.ones(rows, dtype=x.dtype)
        if xp is np:
            if len(_ones) > 64:
                _ones.clear()
            ones.flags.writeable = False
            _ones[(rows, x.dtype.char)] = ones
    return xp.matmul(ones, xp.reshape(x, (rows, -1))).reshape(x.shape[k:])


_ones: dict = {}  # (rows, dtype char) -> a read-only vector of ones (NumPy)


def _empty_extremum(xp, x, fn: str, axis, keepdims: bool):
    """Max/Min of an empty array: TF's identity (the lowest value for max, the highest for min)."""
    if x.dtype.kind == "f":
        init = -np.inf if fn == "max" else np.inf
    elif x.dtype.kind == "b":
        init = fn == "min"
    else:
        info = np.iinfo(x.dtype)
        init = info.min if fn == "max" else info.max
    return getattr(xp, fn)(x, axis=axis, keepdims=keepdims, initial=init)


def _reduction(name, fn):
    # NOTE: NumPy would widen int32 sums and products to int64; TF keeps the input dtype
    if fn == "sum":
        def kernel(xp, x, *, axis, keepdims):
            if axis is not None:
                s = sum_leading(xp, x, axis)
                if s is not None:
                    return xp.expand_dims(s, tuple(range(len(axis)))) if keepdims else s
            return xp.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
    elif fn == "prod":
        def kernel(xp, x, *, axis, keepdims):
            return getattr(xp, fn)(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
    elif fn in ("max", "min"):
        def kernel(xp, x, *, axis, keepdims):
            if x.size == 0:  # as TF: the identity of the reduction (-inf for max), not an error
                return _empty_extremum(xp, x, fn, axis, keepdims)
            return getattr(xp, fn)(x, axis=axis, keepdims=keepdims)
    else:
        def kernel(xp, x, *, axis, keepdims):
            return getattr(xp, fn)(x, axis=axis, keepdims=keepdims)

    kernel.__name__ = f"_{fn}_kernel"
    return kernel


for _t, _kernel, _grad, _out in [("Sum", _reduction("Sum", "sum"), _sum_grad, None),
                                 ("Mean", _mean_kernel, _mean_grad, None),
                                 ("Max", _reduction("Max", "max"), _max_min_grad, None),
                                 ("Min", _reduction("Min", "min"), _max_min_grad, None),
                                 ("Prod", _reduction("Prod", "prod"), _prod_grad, None),
                                 ("Any", _reduction("Any", "any"), None, dtypes.bool_),
                                 ("All", _reduction("All", "all"), None, dtypes.bool_)]:
    register(OpDef(_t, _reduce_infer(_out), _kernel, grad=_grad, differentiable=_grad is not None))


# ---- ReduceAxes: a reduction over axes computed when the graph runs ---------------------------
# TF's reductions take their axes as a tensor; ours are attrs (a known output shape, one xp call).
# A computed axis (``reduce_sum(x, axis=placeholder)``) makes this op instead, which reads the axes
# when it runs and calls the static op's kernel; its output shape is known only as far as the axes'.
def _computed_axes(xp, x, axis):
    flat = [int(a) for a in np.asarray(axis).reshape(-1)]
    for a in flat:
        if not -x.ndim <= a < max(x.ndim, 1):
            from ..framework import errors

            raise errors.InvalidArgumentError(None, None, f"Invalid reduction dimension ({a} for input with "
                                              f"{x.ndim} dimension(s)")
    return tuple(sorted({a % max(x.ndim, 1) for a in flat}))


def _reduce_axes_kernel(xp, x, axis, *, fn, keepdims):
    from ..framework.registry import OP_DEFS

    return OP_DEFS[fn].kernel(xp, x, axis=_computed_axes(xp, x, axis), keepdims=keepdims)


def _reduce_axes_infer(op):
    x, axis = op.inputs
    dt = dtypes.bool_ if op.attrs["fn"] in ("Any", "All") else x.dtype
    if op.attrs["keepdims"] and x.shape.ndims is not None:
        return [(dt, TensorShape([None] * x.shape.ndims))]
    if x.shape.ndims is not None and axis.shape.num_elements() == 1:
        return [(dt, TensorShape([None] * (x.shape.ndims - 1)))]
    return [(dt, TensorShape(None))]


def _kept_shape_of(x: Tensor, axis: Tensor) -> Tensor:
    """``shape(x)`` with the dimensions ``axis`` (a tensor) set to 1."""
    from .array import expand_dims, ones_like, rank, reshape, shape
    from .gather import range as range_
    from .math import cast, equal, floormod, where_v2

    axes = floormod(reshape(cast(axis, dtypes.int32), [-1]), rank(x))
    reduced = reduce_any(equal(expand_dims(range_(rank(x)), 1), axes), axis=1)
    return where_v2(reduced, ones_like(shape(x)), shape(x))


def _reduce_axes_grad(op, g):
    from .array import broadcast_to, reshape, shape, size
    from .math import cast, equal

    x, axis = op.inputs
    fn, kept = op.attrs["fn"], _kept_shape_of(x, axis)
    spread = broadcast_to(reshape(g, kept), shape(x))
    if fn == "Sum":
        return [spread, None]
    if fn == "Mean":
        return [spread / cast(size(x) // size(op.outputs[0]), x.dtype), None]
    if fn in ("Max", "Min"):  # shared equally among the elements equal to the extremum, as TF
        hit = cast(equal(x, broadcast_to(reshape(op.outputs[0], kept), shape(x))), x.dtype)
        ties = broadcast_to(reshape(make_op("ReduceAxes", [hit, axis], {"fn": "Sum", "keepdims": True}).outputs[0],
                                    kept), shape(x))
        return [spread * hit / ties, None]
    raise LookupError(f"No gradient defined for {fn} over computed axes ('{op.name}')")


register(OpDef("ReduceAxes", _reduce_axes_infer, _reduce_axes_kernel, grad=_reduce_axes_grad))


def _reduce(op_type, default_name, input_tensor, axis, keepdims, name, reduction_indices, keep_dims):
    x = convert_to_tensor(input_tensor)
    keepdims = bool(keep_dims if keepdims is None and keep_dims is not None else keepdims or False)
    axis = reduction_indices if axis is None else axis
    if isinstance(axis, Tensor) and constant_value(axis) is None:
        return make_op("ReduceAxes", [x, axis], {"fn": op_type, "keepdims": keepdims}, name or default_name).outputs[0]
    axis = static_axis(axis)
    if isinstance(axis, int):
        axis = (axis,)
    if axis is not None and x.shape.ndims is not None:
        axis = normalize_axis(axis, x.shape.ndims)
    return make_op(op_type, [x], {"axis": axis, "keepdims": keepdims}, name or default_name).outputs[0]


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Sum over ``axis`` (all axes if None).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.reduce_sum([[1, 2], [3, 4]], axis=0))
    array([4, 6], dtype=int32)
    """
    return _reduce("Sum", "Sum", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Mean over ``axis``; integer inputs give the integer mean truncated toward zero, as TF."""
    return _reduce("Mean", "Mean", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Maximum over ``axis``."""
    return _reduce("Max", "Max", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Minimum over ``axis``."""
    return _reduce("Min", "Min", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Product over ``axis``."""
    return _reduce("Prod", "Prod", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Logical OR over ``axis``."""
    return _reduce("Any", "Any", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_all(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """Logical AND over ``axis``."""
    return _reduce("All", "All", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


# ---- argmax / argmin / cumsum -----------------------------------------------------------------
def _arg_infer(op):
    x = op.inputs[0]
    return [(op.attrs["output_type"], _reduced_shape(x.shape, (op.attrs["axis"],), False))]


def _argmax_kernel(xp, x, *, axis, output_type):
    return xp.argmax(x, axis=axis).astype(output_type.as_numpy_dtype)


def _argmin_kernel(xp, x, *, axis, output_type):
    return xp.argmin(x, axis=axis).astype(output_type.as_numpy_dtype)


register(OpDef("ArgMax", _arg_infer, _argmax_kernel, differentiable=False))
register(OpDef("ArgMin", _arg_infer, _argmin_kernel, differentiable=False))


def _arg(op_type, input, axis, name, dimension, output_type):
    x = convert_to_tensor(input)
    axis = static_axis(dimension if axis is None else axis)
    axis = 0 if axis is None else axis
    if x.shape.ndims is not None:
        axis = normalize_axis(axis, x.shape.ndims)[0]
    return make_op(op_type, [x], {"axis": axis, "output_type": dtypes.as_dtype(output_type)}, name).outputs[0]


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):
    """Index of the largest value along ``axis`` (int64 by default, as TF)."""
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):
    """Index of the smallest value along ``axis``."""
    return _arg("ArgMin", input, axis, name, dimension, output_type)


def _cumsum_kernel(xp, x, *, axis, exclusive, reverse):
    if reverse:
        x = xp.flip(x, axis)
    if exclusive and x.shape[axis]:
        # NOTE: shift x one place along the axis (a leading 0, the last element dropped) rather than
        # subtract x from the inclusive sum: inf - inf would be NaN, and big + small - big loses small.
        head = [slice(None)] * x.ndim
        head[axis] = slice(0, x.shape[axis] - 1)
        widths = [(0, 0)] * x.ndim
        widths[axis] = (1, 0)
        x = xp.pad(x[tuple(head)], widths)
    out = xp.cumsum(x, axis=axis, dtype=x.dtype)
    return xp.flip(out, axis) if reverse else out


def _cumsum_grad(op, g):
    a = op.attrs
    return [make_op("Cumsum", [g], {"axis": a["axis"], "exclusive": a["exclusive"],
                                    "reverse": not a["reverse"]}).outputs[0]]


register(OpDef("Cumsum", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _cumsum_kernel,
               grad=_cumsum_grad))


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum along ``axis``; ``exclusive`` leaves out each element itself."""
    x = convert_to_tensor(x)
    axis = static_axis(axis)
    if x.shape.ndims is not None:
        axis = normalize_axis(axis, x.shape.ndims)[0]
    return make_op("Cumsum", [x], {"axis": axis, "exclusive": bool(exclusive), "reverse": bool(reverse)},
                   name).outputs[0]
