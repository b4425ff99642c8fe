"""Joining, splitting and slicing: stack/unstack, concat, split, slice, strided_slice and ``tensor[...]``,
tile, reverse. Gathering, scattering and padding (gather, gather_nd, scatter_nd, unsorted_segment_sum,
pad, one_hot, where/select, range, boolean_mask) live in :mod:`dataflow.ops.gather`; this module's
``__all__`` re-exports them, so ``dataflow.ops.indexing`` is the whole public indexing API.

Axes are attrs known when the graph is built (as reductions). Index-valued arguments (Slice's begin
and size, StridedSlice's begin/end/strides, Tile's multiples, Pad's paddings) are int tensors, as in
TF: constant ones are read statically (``_static_ints``) so the output's static shape is known and
statically out-of-range indices are a ValueError; computed ones are read by the kernel when it runs.

A strided slice is described as TF does: begin/end/strides vectors plus five bit masks. Both the kernel
and the shape function turn them into one Python index tuple (``_strided_index``: ints, slices,
``None`` for a new axis, ``...``), so NumPy's indexing is the definition of the op, and the shape
function walks the same tuple with unknown values standing in where a tensor is not constant.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, _OperatorMixin, convert_to_tensor, is_tensor_like, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import Dimension, TensorShape
from .array import identity, ones_like, reshape, transpose
from .common import constant_value, normalize_axis, shape_of, shape_tensor_as_static, shape_value, static_axis
from .gather import (  # noqa: F401  (re-exported: see __all__)
    _axis_for, _dim, _int_tensor, _outputs, _plain, _static_ints, boolean_mask, gather, gather_nd, one_hot,
    pad, range, scatter_nd, select, unsorted_segment_sum, where)
from .math import cast, subtract
from .reduction import reduce_sum

# NOTE: this module defines tf.slice and re-exports tf.range: Python's builtins go by these names.
_pyslice = builtins.slice
_pyrange = builtins.range
_UNKNOWN = object()  # a begin/end/stride that is a computed tensor (not known at graph-build time)


# ---- Pack, Unpack ----------------------------------------------------------------------------------------
def _pack_infer(op):
    axis = op.attrs["axis"]
    shape = op.inputs[0].shape
    for x in op.inputs[1:]:
        if x.dtype is not op.inputs[0].dtype:
            raise TypeError(f"Pack: all inputs must have the same dtype, got {op.inputs[0].dtype.name} and "
                            f"{x.dtype.name}")
        shape = shape.merge_with(x.shape)
    if shape.ndims is None:
        return [(op.inputs[0].dtype, TensorShape(None))]
    dims = shape.as_list()
    n = len(dims) + 1
    if not -n <= axis < n:
        raise ValueError(f"Pack axis {axis} out of range for rank {len(dims)}")
    dims.insert(axis % n, len(op.inputs))
    return [(op.inputs[0].dtype, TensorShape(dims))]


def _pack_kernel(xp, *xs, axis):
    return xp.stack(xs, axis=axis)


def _pack_grad(op, g):
    return unstack(g, num=len(op.inputs), axis=op.attrs["axis"])


register(OpDef("Pack", _pack_infer, _pack_kernel, grad=_pack_grad))


def _unpack_infer(op):
    x = op.inputs[0]
    axis, num = op.attrs["axis"], op.attrs["num"]
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))] * num
    dims = x.shape.as_list()
    del dims[axis % len(dims)]
    return [(x.dtype, TensorShape(dims))] * num


def _unpack_kernel(xp, x, *, axis, num):
    return _outputs(xp.take(x, i, axis=axis) for i in _pyrange(num))


register(OpDef("Unpack", _unpack_infer, _unpack_kernel, grad=lambda op, *gs: [stack(list(gs), axis=op.attrs["axis"])]))


def stack(values, axis=0, name="stack") -> Tensor:
    """Stack a list of same-shaped tensors along a new ``axis``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.stack([[1, 2], [3, 4]], axis=1))
    array([[1, 3],
           [2, 4]], dtype=int32)
    """
    values = [convert_to_tensor(v) for v in values]
    return make_op("Pack", values, {"axis": int(axis)}, name).outputs[0]


def unstack(value, num=None, axis=0, name="unstack") -> list:
    """Split ``value`` along ``axis`` into a list of tensors of one less rank.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.unstack([[1, 2], [3, 4]]))
    [array([1, 2], dtype=int32), array([3, 4], dtype=int32)]
    """
    value = convert_to_tensor(value)
    if num is None:
        if value.shape.ndims is None or value.shape[axis].value is None:
            raise ValueError(f"Cannot infer num from shape {value.shape}")
        num = value.shape[axis].value
    if value.shape.ndims is not None:
        axis = axis % value.shape.ndims
    return make_op("Unpack", [value], {"axis": int(axis), "num": int(num)}, name).outputs


# ---- ConcatV2 ------------------------------------------------------------------------------------------
def _concat_infer(op):
    xs, axis = op.inputs, op.attrs["axis"]
    for x in xs[1:]:
        if x.dtype is not xs[0].dtype:
            raise TypeError(f"ConcatV2: all inputs must have the same dtype, got {xs[0].dtype.name} and "
                            f"{x.dtype.name}")
    ranks = {x.shape.ndims for x in xs if x.shape.ndims is not None}
    if len(ranks) > 1:
        raise ValueError(f"ConcatV2: inputs must have the same rank, got shapes {[str(x.shape) for x in xs]}")
    if not ranks:
        return [(xs[0].dtype, TensorShape(None))]
    rank = ranks.pop()
    if rank == 0:
        raise ValueError("Can't concatenate scalars (use tf.stack instead)")
    axis = normalize_axis(axis, rank)[0]
    dims, total = [None] * rank, 0
    for x in xs:
        if x.shape.ndims is None:
            total = None
            continue
        d = x.shape.as_list()
        total = None if total is None or d[axis] is None else total + d[axis]
        for i in _pyrange(rank):
            if i != axis:
                if dims[i] is not None and d[i] is not None and dims[i] != d[i]:
                    raise ValueError(f"ConcatV2: dimension {i} of the inputs must match, got shapes "
                                     f"{[str(x.shape) for x in xs]}")
                dims[i] = d[i] if dims[i] is None else dims[i]
    dims[axis] = total
    return [(xs[0].dtype, TensorShape(dims))]


def _concat_kernel(xp, *xs, axis):
    return xp.concatenate(xs, axis=axis)


def _concat_grad(op, g):
    axis = op.attrs["axis"]
    return split(g, [_dim(x, axis) for x in op.inputs], axis=axis)


register(OpDef("ConcatV2", _concat_infer, _concat_kernel, grad=_concat_grad))


def concat(values, axis, name="concat") -> Tensor:
    """Join a list of tensors along an existing ``axis``.

    TF1's old argument order ``tf.concat(axis, values)`` works too (the list is recognized).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.concat([[[1, 2]], [[3, 4]]], axis=0))
    array([[1, 2],
           [3, 4]], dtype=int32)
    """
    if isinstance(axis, (list, tuple)) and not isinstance(values, (list, tuple)):
        values, axis = axis, values  # NOTE: TF < 1.0 took (concat_dim, values)
    if not isinstance(values, (list, tuple)):
        values = [values]
    if not values:
        raise ValueError("concat needs at least one value")
    dtype = next((convert_to_tensor(v).dtype for v in values if is_tensor_like(v)), None)
    values = [convert_to_tensor(v) if is_tensor_like(v) else convert_to_tensor(v, dtype=dtype) for v in values]
    if len(values) == 1:
        return identity(values[0], name=name)
    axis = static_axis(axis)
    rank = next((v.shape.ndims for v in values if v.shape.ndims is not None), None)
    if rank is not None and rank > 0:
        axis = normalize_axis(axis, rank)[0]
    return make_op("ConcatV2", values, {"axis": axis}, name).outputs[0]


# ---- Split, SplitV -------------------------------------------------------------------------------------
def _split_infer(op):
    x, axis, num = op.inputs[0], op.attrs["axis"], op.attrs["num_split"]
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))] * num
    dims = x.shape.as_list()
    axis = normalize_axis(axis, len(dims))[0]
    if dims[axis] is not None:
        if dims[axis] % num:
            raise ValueError(f"Dimension {axis} of size {dims[axis]} can't be split evenly into {num} parts")
        dims[axis] //= num
    return [(x.dtype, TensorShape(dims))] * num


def _split_kernel(xp, x, *, num_split, axis):
    return _outputs(xp.split(x, num_split, axis=axis))


def _resolve_sizes(sizes, total):
    """Split sizes with one -1 filled in from ``total``; ValueError when they do not add up."""
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"size_splits {sizes} may hold one -1, other sizes must be >= 0")
    if -1 in sizes:
        rest = total - sum(s for s in sizes if s != -1)
        if rest < 0:
            raise ValueError(f"size_splits {sizes} add up to more than the dimension's {total}")
        sizes = [rest if s == -1 else s for s in sizes]
    if sum(sizes) != total:
        raise ValueError(f"size_splits {sizes} must add up to the size of the split dimension ({total})")
    return sizes


def _split_v_infer(op):
    x, sizes_t = op.inputs
    axis, num = op.attrs["axis"], op.attrs["num_split"]
    sizes = _static_ints(sizes_t)
    if sizes is not None and len(sizes) != num:
        raise ValueError(f"SplitV: size_splits has {len(sizes)} elements, expected num_split = {num}")
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))] * num
    dims = x.shape.as_list()
    axis = normalize_axis(axis, len(dims))[0]
    sizes = sizes or [None] * num
    if None not in sizes and dims[axis] is not None:
        sizes = _resolve_sizes(sizes, dims[axis])
    out = []
    for s in sizes:
        d = list(dims)
        d[axis] = None if s is None or s < 0 else s
        out.append((x.dtype, TensorShape(d)))
    return out


def _split_v_kernel(xp, x, size_splits, *, num_split, axis):
    sizes = _resolve_sizes([int(s) for s in size_splits], x.shape[axis])
    return _outputs(xp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis))


register(OpDef("Split", _split_infer, _split_kernel, grad=lambda op, *gs: [concat(list(gs), op.attrs["axis"])],
               view=True))
register(OpDef("SplitV", _split_v_infer, _split_v_kernel,
               grad=lambda op, *gs: [concat(list(gs), op.attrs["axis"]), None], view=True))


def split(value, num_or_size_splits, axis=0, num=None, name="split") -> list:
    """Split ``value`` along ``axis`` into ``num_or_size_splits`` equal parts, or parts of the given
    sizes (one of them may be -1: the rest). TF < 1.0's ``tf.split(axis, num, value)`` works too.

    Examples
    --------
    >>> import dataflow as tf
    >>> a, b = tf.split(tf.zeros([5, 2]), [2, -1])
    >>> a.shape.as_list(), b.shape.as_list()
    ([2, 2], [3, 2])
    """
    if isinstance(value, (int, np.integer)) and not isinstance(axis, (int, np.integer)):
        value, axis = axis, value  # NOTE: TF < 1.0 took (split_dim, num_split, value)
    value = convert_to_tensor(value)
    axis = _axis_for(value, axis)
    splits = _plain(num_or_size_splits)
    if isinstance(splits, (int, np.integer)):
        return make_op("Split", [value], {"num_split": int(splits), "axis": axis}, name).outputs
    sizes = _int_tensor(splits)
    if num is None:
        if sizes.shape.ndims != 1 or sizes.shape[0].value is None:
            raise ValueError(f"Cannot infer num from shape {sizes.shape} of size_splits: pass num")
        num = sizes.shape[0].value
    return make_op("SplitV", [value, sizes], {"num_split": int(num), "axis": axis}, name).outputs


# ---- Slice -----------------------------------------------------------------------------------------------
def _slice_infer(op):
    x, begin_t, size_t = op.inputs
    begin, size = _static_ints(begin_t), _static_ints(size_t)
    rank = x.shape.ndims
    for v, what in ((begin, "begin"), (size, "size")):
        if v is not None and rank is not None and len(v) != rank:
            raise ValueError(f"Slice: {what} has {len(v)} elements for an input of rank {rank}")
        rank = len(v) if rank is None and v is not None else rank
    if rank is None:
        return [(x.dtype, TensorShape(None))]
    dims = x.shape.as_list() if x.shape.ndims is not None else [None] * rank
    begin, size = begin or [None] * rank, size or [None] * rank
    out = []
    for i, (d, b, s) in enumerate(zip(dims, begin, size)):
        if s is not None and s < -1 or b is not None and (b < 0 or d is not None and b > d):
            raise ValueError(f"Slice: begin {b} and size {s} of dimension {i} are out of range for size {d}")
        if s is not None and s >= 0 and b is not None and d is not None and b + s > d:
            raise ValueError(f"Slice: begin {b} + size {s} of dimension {i} exceeds its size {d}")
        out.append(s if s is not None and s >= 0 else (d - b if s == -1 and None not in (d, b) else None))
    return [(x.dtype, TensorShape(out))]


def _slice_kernel(xp, x, begin, size):
    if len(begin) != x.ndim or len(size) != x.ndim:
        raise ValueError(f"Slice: begin and size must have {x.ndim} elements, got {len(begin)} and {len(size)}")
    idx = []
    for i, (d, b, s) in enumerate(zip(x.shape, begin, size)):
        b, s = int(b), int(s)
        e = d if s == -1 else b + s
        if not 0 <= b <= e <= d or s < -1:
            raise ValueError(f"Expected begin[{i}] = {b} and size[{i}] = {s} to lie in [0, {d}]")
        idx.append(_pyslice(b, e))
    return x[tuple(idx)]


def _slice_grad(op, g):
    x, begin, _ = op.inputs
    y = op.outputs[0]
    b = constant_value(begin)
    if b is not None and x.shape.is_fully_defined() and y.shape.is_fully_defined():
        b = np.asarray(b, np.int64)
        after = np.asarray(x.shape.as_list()) - b - np.asarray(y.shape.as_list())
        paddings = np.stack([b, after], axis=1).astype(np.int32)
    else:
        after = subtract(subtract(shape_of(x, begin.dtype), begin), shape_of(y, begin.dtype))
        paddings = stack([begin, after], axis=1)
    return [pad(g, paddings), None, None]


register(OpDef("Slice", _slice_infer, _slice_kernel, grad=_slice_grad, view=True))


def slice(input_, begin, size, name=None) -> Tensor:  # noqa: A001 (TF's name)
    """The block of ``input_`` starting at ``begin`` with extent ``size`` (-1: to the end).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.slice([[1, 2, 3], [4, 5, 6]], [0, 1], [2, -1]))
    array([[2, 3],
           [5, 6]], dtype=int32)
    """
    x = convert_to_tensor(input_)
    begin = _int_tensor(begin)
    size = _int_tensor(size, dtype=begin.dtype)
    return make_op("Slice", [x, begin, size], name=name or "Slice").outputs[0]


# ---- StridedSlice, StridedSliceGrad, tensor[...] -------------------------------------------------------------
_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _strided_index(begin, end, strides, *, begin_mask, end_mask, ellipsis_mask, new_axis_mask,
                   shrink_axis_mask) -> tuple:
    """TF's begin/end/strides and masks as the Python index tuple that means the same slice."""
    idx = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        bit = 1 << i
        if ellipsis_mask & bit:
            idx.append(Ellipsis)
        elif new_axis_mask & bit:
            idx.append(None)
        elif shrink_axis_mask & bit:
            idx.append(b)  # NOTE: as TF, a shrunk axis reads begin only (end is begin + 1)
        else:
            idx.append(_pyslice(None if begin_mask & bit else b, None if end_mask & bit else e, s))
    return tuple(idx)


def _strided_shape(shape: TensorShape, idx: tuple) -> TensorShape:
    """The static shape of ``x[idx]`` for ``x`` of ``shape``; ``_UNKNOWN`` marks computed values."""
    if sum(1 for i in idx if i is Ellipsis) > 1:
        raise ValueError("Multiple ellipses in slice spec not allowed")
    for i in idx:
        if isinstance(i, _pyslice) and i.step == 0:
            raise ValueError("strides must be non-zero")
    if shape.ndims is None:
        return TensorShape(None)
    dims = shape.as_list()
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if used > len(dims):
        raise ValueError(f"Index out of range: {used} indices for a tensor of rank {len(dims)}")
    full = (_pyslice(None),) * (len(dims) - used)
    idx = tuple(j for i in idx for j in (full if i is Ellipsis else (i,)))
    if Ellipsis not in idx and len(idx) < len(dims) + sum(1 for i in idx if i is None):
        idx = idx + full
    out, k = [], 0
    for i in idx:
        if i is None:
            out.append(1)
            continue
        d = dims[k]
        k += 1
        if isinstance(i, _pyslice):
            known = d is not None and _UNKNOWN not in (i.start, i.stop, i.step)
            out.append(len(_pyrange(*i.indices(d))) if known else None)
        elif i is not _UNKNOWN and d is not None and not -d <= i < d:
            raise ValueError(f"slice index {i} of dimension {k - 1} out of bounds (size {d})")
    return TensorShape(out)


def _strided_slice_static(op, shape: TensorShape) -> TensorShape:
    values = [_static_ints(t) for t in op.inputs[1:4]]
    lengths = {len(v) for v in values if v is not None}
    if len(lengths) > 1:
        raise ValueError(f"begin, end and strides must have the same length, got {sorted(lengths)}")
    if not lengths:
        return TensorShape(None)
    n = lengths.pop()
    b, e, s = ([_UNKNOWN if x is None else x for x in v] if v is not None else [_UNKNOWN] * n for v in values)
    return _strided_shape(shape, _strided_index(b, e, s, **{m: op.attrs[m] for m in _MASKS}))


def _strided_slice_kernel(xp, x, begin, end, strides, **masks):
    idx = _strided_index([int(b) for b in begin], [int(e) for e in end], [int(s) for s in strides], **masks)
    if any(isinstance(i, _pyslice) and i.step == 0 for i in idx):
        raise ValueError("strides must be non-zero")
    return xp.asarray(x[idx])


def _with_masks(fn):
    """``fn`` with the five mask attrs as keyword-only parameters (the attrs the backend binds)."""
    def kernel(xp, *arrays, begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask):
        return fn(xp, *arrays, begin_mask=begin_mask, end_mask=end_mask, ellipsis_mask=ellipsis_mask,
                  new_axis_mask=new_axis_mask, shrink_axis_mask=shrink_axis_mask)

    kernel.__name__ = fn.__name__
    return kernel


def _strided_slice_grad_kernel(xp, shape, begin, end, strides, dy, **masks):
    out = xp.zeros(shape_value(shape), dtype=dy.dtype)
    out[_strided_index([int(b) for b in begin], [int(e) for e in end], [int(s) for s in strides], **masks)] = dy
    return out


def _strided_slice_grad(op, g):
    x, begin, end, strides = op.inputs
    masks = {m: op.attrs[m] for m in _MASKS}
    dx = make_op("StridedSliceGrad", [shape_of(x, begin.dtype), begin, end, strides, g], masks).outputs[0]
    return [dx, None, None, None]


def _strided_slice_grad_grad(op, g):
    _, begin, end, strides, _ = op.inputs
    return [None, None, None, None, make_op("StridedSlice", [g, begin, end, strides],
                                            {m: op.attrs[m] for m in _MASKS}).outputs[0]]


register(OpDef("StridedSlice", lambda op: [(op.inputs[0].dtype, _strided_slice_static(op, op.inputs[0].shape))],
               _with_masks(_strided_slice_kernel), grad=_strided_slice_grad, view=True))
register(OpDef("StridedSliceGrad",
               lambda op: [(op.inputs[4].dtype, shape_tensor_as_static(op.inputs[0]))],
               _with_masks(_strided_slice_grad_kernel), grad=_strided_slice_grad_grad))


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None) -> Tensor:
    """``input_[begin:end:strides]`` per dimension, TF's masks saying which entries are ``:`` at the
    start (begin_mask) or end (end_mask), ``...``, ``tf.newaxis`` or a single index (shrink_axis_mask).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.strided_slice([[1, 2, 3], [4, 5, 6]], [0, 2], [2, 0], [1, -1]))
    array([[3, 2],
           [6, 5]], dtype=int32)
    """
    x = convert_to_tensor(input_)
    begin = _int_tensor(begin)
    end = _int_tensor(end, dtype=begin.dtype)
    if strides is None:
        n = begin.shape[0].value if begin.shape.ndims == 1 else None
        strides = np.ones([n], begin.dtype.as_numpy_dtype) if n is not None else ones_like(begin)
    strides = _int_tensor(strides, dtype=begin.dtype)
    masks = {m: int(v) for m, v in zip(_MASKS, (begin_mask, end_mask, ellipsis_mask, new_axis_mask,
                                                shrink_axis_mask))}
    return make_op("StridedSlice", [x, begin, end, strides], masks, name or "StridedSlice").outputs[0]


def _check_index(idx):
    if isinstance(idx, (int, np.integer, Dimension)):
        return
    if is_tensor_like(idx):
        t = convert_to_tensor(idx)
        if t.dtype in (dtypes.int32, dtypes.int64) and t.shape.ndims in (None, 0):
            return
    raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                    f"tf.int32/tf.int64 tensors are valid indices, got {idx!r}")


def _getitem(tensor, slice_spec):
    """``tensor[slice_spec]`` as one StridedSlice: ints, slices (any step), ``None``, ``...``, scalar int
    tensors (TF1's ``_slice_helper``)."""
    if not isinstance(slice_spec, tuple):
        slice_spec = (slice_spec,)
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_MASKS, 0)
    for i, s in enumerate(slice_spec):
        bit = 1 << i
        if isinstance(s, _pyslice):
            for part, mask in ((s.start, "begin_mask"), (s.stop, "end_mask")):
                if part is None:
                    masks[mask] |= bit
                else:
                    _check_index(part)
            if s.step is not None:
                _check_index(s.step)
            begin.append(0 if s.start is None else s.start)
            end.append(0 if s.stop is None else s.stop)
            strides.append(1 if s.step is None else s.step)
        elif s is Ellipsis or s is None:
            masks["ellipsis_mask" if s is Ellipsis else "new_axis_mask"] |= bit
            begin.append(0)
            end.append(0)
            strides.append(1)
        else:
            _check_index(s)
            begin.append(s)
            end.append(int(s) + 1 if not is_tensor_like(s) else s)  # a shrunk axis reads begin only
            strides.append(1)
            masks["shrink_axis_mask"] |= bit
    with name_scope(None, "strided_slice", [tensor]) as scope:
        b = _int_tensor(begin)
        return strided_slice(tensor, b, _int_tensor(end, b.dtype), _int_tensor(strides, b.dtype), **masks,
                             name=scope)


_OperatorMixin.__getitem__ = _getitem


# ---- Tile ------------------------------------------------------------------------------------------------
def _tile_infer(op):
    x, multiples_t = op.inputs
    m = _static_ints(multiples_t)
    if m is not None and x.shape.ndims is not None and len(m) != x.shape.ndims:
        raise ValueError(f"Tile: multiples has {len(m)} elements for an input of rank {x.shape.ndims}")
    if x.shape.ndims is None and m is None:
        return [(x.dtype, TensorShape(None))]
    dims = x.shape.as_list() if x.shape.ndims is not None else [None] * len(m)
    m = m or [None] * len(dims)
    if any(k is not None and k < 0 for k in m):
        raise ValueError(f"Tile: multiples must be >= 0, got {m}")
    return [(x.dtype, TensorShape([None if d is None or k is None else d * k for d, k in zip(dims, m)]))]


def _tile_kernel(xp, x, multiples):
    if len(multiples) != x.ndim:
        raise ValueError(f"Tile: multiples has {len(multiples)} elements for an input of rank {x.ndim}")
    return xp.tile(x, tuple(int(k) for k in multiples))


def _tile_grad(op, g):
    # Tiling x of shape [d0, d1..] by [m0, m1..] is g reshaped to [m0, d0, m1, d1..] summed over the m's.
    x, multiples = op.inputs
    rank = x.shape.ndims if x.shape.ndims is not None else multiples.shape[0].value
    if rank is None:
        raise NotImplementedError("The gradient of tile needs the rank of its input or of multiples")
    m = constant_value(multiples)
    if m is not None and x.shape.is_fully_defined():
        split_shape = np.stack([np.asarray(m), x.shape.as_list()], axis=1).reshape(-1).astype(np.int32)
    else:
        split_shape = reshape(transpose(stack([cast(multiples, dtypes.int32), shape_of(x)])), [-1])
    return [reduce_sum(reshape(g, split_shape), axis=list(_pyrange(0, 2 * rank, 2))), None]


register(OpDef("Tile", _tile_infer, _tile_kernel, grad=_tile_grad))


def tile(input, multiples, name=None) -> Tensor:  # noqa: A002 (TF's name)
    """``input`` repeated ``multiples[i]`` times along each dimension ``i``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.tile([[1, 2]], [2, 2]))
    array([[1, 2, 1, 2],
           [1, 2, 1, 2]], dtype=int32)
    """
    return make_op("Tile", [convert_to_tensor(input), _int_tensor(multiples)], name=name or "Tile").outputs[0]


# ---- ReverseV2 -------------------------------------------------------------------------------------------
def _reverse_kernel(xp, x, *, axis):
    return xp.flip(x, axis) if axis else x


register(OpDef("ReverseV2", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _reverse_kernel,
               grad=lambda op, g: [make_op("ReverseV2", [g], dict(op.attrs)).outputs[0]], view=True))


def reverse(tensor, axis, name=None) -> Tensor:
    """``tensor`` with the order of its elements reversed along each of ``axis`` (a list of ints).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.reverse([[1, 2], [3, 4]], [1]))
    array([[2, 1],
           [4, 3]], dtype=int32)
    """
    x = convert_to_tensor(tensor)
    axis = static_axis(axis)
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    if x.shape.ndims is not None:
        axis = normalize_axis(axis, x.shape.ndims)
        if len(set(axis)) != len(axis):
            raise ValueError(f"reverse: axis {list(axis)} names a dimension twice")
    return make_op("ReverseV2", [x], {"axis": tuple(axis)}, name or "ReverseV2").outputs[0]


reverse_v2 = reverse

__all__ = ["boolean_mask", "concat", "gather", "gather_nd", "one_hot", "pad", "range", "reverse",
           "reverse_v2", "scatter_nd", "select", "slice", "split", "stack", "strided_slice", "tile",
           "unsorted_segment_sum", "unstack", "where"]
