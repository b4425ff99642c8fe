"""Gathering, scattering and padding: gather, gather_nd, scatter_nd, unsorted_segment_sum, pad, one_hot,
where/select, range and boolean_mask; and the helpers for index-valued arguments that
:mod:`dataflow.ops.indexing` shares (this module is the lower of the two: it imports nothing from there,
and ``indexing.__all__`` re-exports its public names).

Gather and scatter are each other's gradients: GatherV2's is an UnsortedSegmentSum of the output gradient
(dense: no IndexedSlices), UnsortedSegmentSum's a GatherV2; GatherNd's a ScatterNd and ScatterNd's a
GatherNd. Indices are checked when the kernel runs (NumPy would wrap negative ones around), so a bad
runtime index is TF's InvalidArgumentError; constant indices are checked when the graph is built.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, is_tensor_like, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import Dimension, TensorShape
from .array import expand_dims, fill, rank, reshape, squeeze, transpose, zeros_like
from .common import (binary_inputs, constant_value, normalize_axis, shape_of, shape_tensor_as_static, shape_value,
                     static_axis)
from .math import cast, greater_equal, maximum, where_v2
from .reduction import reduce_prod, reduce_sum

# NOTE: this module defines tf.range: Python's builtin goes by another name here.
_pyrange = builtins.range
_pyslice = builtins.slice


# ---- helpers for index-valued arguments ---------------------------------------------------------------
def _static_ints(t: Tensor):
    """The elements of a 1-D int tensor known at graph-build time: a list of ints, with None where an
    element is computed; None when even the length is unknown."""
    v = constant_value(t)
    if v is not None:
        return [int(a) for a in np.asarray(v).reshape(-1)]
    if t.op.type == "Pack" and t.op.attrs["axis"] == 0:
        vals = [constant_value(i) for i in t.op.inputs]
        return [None if c is None or np.ndim(c) else int(c) for c in vals]
    if t.shape.ndims == 1 and t.shape[0].value is not None:
        return [None] * t.shape[0].value
    return None


def _plain(value):
    """Dimensions -> ints, recursively through lists."""
    if isinstance(value, Dimension):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _has_tensor(value) -> bool:
    if is_tensor_like(value):
        return True
    return isinstance(value, (list, tuple)) and any(_has_tensor(v) for v in value)


def _int_tensor(value, dtype=None) -> Tensor:
    """An index-valued argument (a Python int or list, a tensor, or a list mixing both) as an int tensor:
    int32 unless some element is int64 (or needs 64 bits)."""
    if is_tensor_like(value):
        t = convert_to_tensor(value)
    elif isinstance(value, (list, tuple)) and _has_tensor(value):
        parts = [_int_tensor(v) for v in value]
        dt = dtype or (dtypes.int64 if any(p.dtype is dtypes.int64 for p in parts) else dtypes.int32)
        return make_op("Pack", [cast(p, dt) for p in parts], {"axis": 0}, "stack").outputs[0]
    else:
        arr = np.asarray(_plain(value))
        if arr.size and arr.dtype.kind not in "iu":
            raise TypeError(f"Expected int32 or int64 indices, got {value!r}")
        big = arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min)
        np_dtype = dtype.as_numpy_dtype if dtype is not None else np.int64 if big else np.int32
        return convert_to_tensor(arr.astype(np_dtype))
    if not t.dtype.is_integer:
        raise TypeError(f"Expected int32 or int64 indices, got a {t.dtype.name} tensor {t.name}")
    return t if dtype is None else cast(t, dtype)


def _dim(x: Tensor, axis: int):
    """``x``'s size along ``axis``: a Python int if static, else a scalar int32 tensor."""
    d = x.shape[axis].value if x.shape.ndims is not None else None
    return d if d is not None else shape_of(x)[axis]


def _outputs(arrays):
    """A kernel's outputs: a tuple, unless there is exactly one (the runtime then expects the array)."""
    arrays = tuple(arrays)
    return arrays[0] if len(arrays) == 1 else arrays


def _axis_for(x: Tensor, axis) -> int:
    axis = static_axis(axis)
    if not isinstance(axis, int):
        raise TypeError(f"axis must be a scalar, got {axis!r}")
    return normalize_axis(axis, x.shape.ndims)[0] if x.shape.ndims is not None else axis


# ---- Pad, PadV2, MirrorPad, MirrorPadGrad ------------------------------------------------------------------
def _pad_infer(op):
    x, p = op.inputs[0], op.inputs[1]
    if len(op.inputs) == 3 and op.inputs[2].dtype is not x.dtype:
        raise TypeError(f"PadV2: constant_values has dtype {op.inputs[2].dtype.name}, the input {x.dtype.name}")
    mode = op.attrs.get("mode")
    if p.shape.ndims is not None and (p.shape.ndims != 2 or p.shape[1].value not in (None, 2)):
        raise ValueError(f"paddings must be a matrix with 2 columns, got shape {p.shape}")
    rank = x.shape.ndims if x.shape.ndims is not None else p.shape[0].value if p.shape.ndims else None
    if p.shape.ndims and None not in (x.shape.ndims, p.shape[0].value) and p.shape[0].value != x.shape.ndims:
        raise ValueError(f"paddings has {p.shape[0].value} rows for an input of rank {x.shape.ndims}")
    if rank is None:
        return [(x.dtype, TensorShape(None))]
    dims = x.shape.as_list() if x.shape.ndims is not None else [None] * rank
    v = constant_value(p)
    if v is None:
        return [(x.dtype, TensorShape([None] * rank))]
    v = np.asarray(v).reshape(rank, 2)
    for d, (a, b) in zip(dims, v.tolist()):
        _check_pad(d, a, b, mode)
    return [(x.dtype, TensorShape([None if d is None else d + int(a) + int(b) for d, (a, b) in zip(dims, v)]))]


def _check_pad(d, a, b, mode):
    if a < 0 or b < 0:
        raise ValueError(f"Paddings must be non-negative, got {[a, b]}")
    limit = {"REFLECT": None if d is None else d - 1, "SYMMETRIC": d}.get(mode)
    if limit is not None and (a > limit or b > limit):
        raise ValueError(f"Paddings {[a, b]} must be no greater than {limit} for {mode} mode "
                         f"on a dimension of size {d}")


def _pad_widths(x, paddings, mode=None):
    if tuple(paddings.shape) != (x.ndim, 2):
        raise ValueError(f"paddings must have shape [{x.ndim}, 2], got {list(paddings.shape)}")
    widths = [(int(a), int(b)) for a, b in paddings]
    for d, (a, b) in zip(x.shape, widths):
        _check_pad(d, a, b, mode)
    return widths


def _pad_kernel(xp, x, paddings):
    return xp.pad(x, _pad_widths(x, paddings))


def _pad_v2_kernel(xp, x, paddings, constant_values):
    return xp.pad(x, _pad_widths(x, paddings), constant_values=constant_values)


def _mirror_pad_kernel(xp, x, paddings, *, mode):
    return xp.pad(x, _pad_widths(x, paddings, mode), mode=mode.lower())


def _mirror_pad_grad_kernel(xp, g, paddings, *, mode):
    # Each output element of MirrorPad copies one input element: add the gradient back into it.
    widths = [(int(a), int(b)) for a, b in paddings]
    for axis, (a, b) in enumerate(widths):
        n = g.shape[axis] - a - b
        source = xp.asarray(np.pad(np.arange(n), (a, b), mode=mode.lower()))
        out = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1:], dtype=g.dtype)
        xp.add.at(out, (_pyslice(None),) * axis + (source,), g)
        g = out
    return g


def _unpadded(op, g):
    """The part of the gradient ``g`` of a padding op that lies over its input: a Slice."""
    x, p = op.inputs[0], op.inputs[1]
    v = constant_value(p)
    begin = _int_tensor(np.asarray(v)[:, 0]) if v is not None else p[:, 0]
    return make_op("Slice", [g, begin, shape_of(x, begin.dtype)]).outputs[0]


def _pad_v2_grad(op, g):
    inner = _unpadded(op, g)
    return [inner, None, reduce_sum(g) - reduce_sum(inner)]


register(OpDef("Pad", _pad_infer, _pad_kernel, grad=lambda op, g: [_unpadded(op, g), None]))
register(OpDef("PadV2", _pad_infer, _pad_v2_kernel, grad=_pad_v2_grad))
register(OpDef("MirrorPad", _pad_infer, _mirror_pad_kernel,
               grad=lambda op, g: [make_op("MirrorPadGrad", [g, op.inputs[1]], dict(op.attrs)).outputs[0], None]))


def _mirror_pad_grad_infer(op):
    g, p = op.inputs
    v = constant_value(p)
    if g.shape.ndims is None or v is None:
        return [(g.dtype, TensorShape(None) if g.shape.ndims is None else TensorShape([None] * g.shape.ndims))]
    return [(g.dtype, TensorShape([None if d is None else d - int(a) - int(b)
                                   for d, (a, b) in zip(g.shape.as_list(), np.asarray(v).reshape(-1, 2))]))]


register(OpDef("MirrorPadGrad", _mirror_pad_grad_infer, _mirror_pad_grad_kernel,
               grad=lambda op, g: [make_op("MirrorPad", [g, op.inputs[1]], dict(op.attrs)).outputs[0], None]))


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0) -> Tensor:
    """``tensor`` padded by ``paddings[i] = [before, after]`` along each dimension ``i``: with
    ``constant_values``, or by mirroring (``"REFLECT"`` leaves out the edge, ``"SYMMETRIC"`` repeats it).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.pad([[1, 2, 3]], [[0, 0], [2, 1]], "REFLECT"))
    array([[3, 2, 1, 2, 3, 2]], dtype=int32)
    """
    x = convert_to_tensor(tensor)
    p = _int_tensor(paddings)
    mode = str(mode).upper()
    if mode == "CONSTANT":
        c = constant_value(constant_values) if is_tensor_like(constant_values) else constant_values
        if c is not None and not isinstance(c, Tensor) and np.all(np.asarray(c) == 0):
            return make_op("Pad", [x, p], name=name or "Pad").outputs[0]
        c = convert_to_tensor(constant_values) if is_tensor_like(constant_values) else \
            convert_to_tensor(constant_values, dtype=x.dtype)
        return make_op("PadV2", [x, p, c], name=name or "PadV2").outputs[0]
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"Unknown padding mode: {mode}")
    return make_op("MirrorPad", [x, p], {"mode": mode}, name or "MirrorPad").outputs[0]


# ---- GatherV2, UnsortedSegmentSum ------------------------------------------------------------------------
def _check_indices(xp, indices, n: int, what: str = "indices"):
    """IndexError (InvalidArgumentError when run) naming the first of ``indices`` outside ``[0, n)``."""
    bad = (indices < 0) | (indices >= n)
    if bad.any():
        pos = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise IndexError(f"{what}[{','.join(map(str, pos))}] = {int(indices[pos])} is not in [0, {n})")


def _gather_infer(op):
    params, indices = op.inputs
    if not indices.dtype.is_integer:
        raise TypeError(f"GatherV2: indices must be int32 or int64, got {indices.dtype.name}")
    if params.shape.ndims is None or indices.shape.ndims is None:
        return [(params.dtype, TensorShape(None))]
    p = params.shape.as_list()
    if not p:
        raise ValueError("GatherV2: params must be at least 1-D")
    axis = normalize_axis(op.attrs["axis"], len(p))[0]
    v = constant_value(indices)
    if v is not None and p[axis] is not None:
        try:
            _check_indices(np, np.asarray(v), p[axis])
        except IndexError as e:
            raise ValueError(str(e)) from None
    return [(params.dtype, TensorShape(p[:axis] + indices.shape.as_list() + p[axis + 1:]))]


def _gather_kernel(xp, params, indices, *, axis):
    _check_indices(xp, indices, params.shape[axis])
    return xp.take(params, indices, axis=axis)


def _is_variable(t: Tensor) -> bool:
    """A variable's ref, or its read (``v/read``, an Identity of the ref)."""
    return t._is_ref or (t.op.type == "Identity" and t.op.inputs[0]._is_ref)


def _sparse_rows(g: Tensor, params: Tensor, indices: Tensor):
    """TF's gradient of a gather from a variable: only the gathered rows, as ``tf.IndexedSlices``."""
    from ..framework.indexed_slices import IndexedSlices
    from .indexing import concat

    inner = params.shape.as_list()[1:] if params.shape.ndims is not None else None
    if inner is not None and None not in inner:
        values = reshape(g, [-1] + inner)
    else:
        values = reshape(g, concat([[-1], shape_of(params)[1:]], 0))
    return IndexedSlices(values, reshape(indices, [-1]), shape_of(params))


def _gather_grad(op, g):
    params, indices = op.inputs
    axis = op.attrs["axis"]
    n = _dim(params, axis)
    if axis == 0 and _is_variable(params):
        return [_sparse_rows(g, params, indices), None]
    if axis == 0:
        return [unsorted_segment_sum(g, indices, n), None]
    if axis < 0:
        raise NotImplementedError("The gradient of gather along a negative axis needs the rank of params")
    # g is params.shape[:axis] + indices.shape + params.shape[axis + 1:]: as [outer, k, inner] the
    # gathered rows are axis 1; move them to the front, segment-sum them, and move them back.
    p = params.shape
    if p.ndims is not None and p.is_fully_defined():
        outer, inner = int(np.prod(p.as_list()[:axis])), int(np.prod(p.as_list()[axis + 1:]))
    else:
        full = shape_of(params)
        outer, inner = reduce_prod(full[:axis]), reduce_prod(full[axis + 1:])
    rows = transpose(reshape(g, _int_tensor([outer, -1, inner])), [1, 0, 2])
    summed = unsorted_segment_sum(rows, reshape(indices, [-1]), n)
    return [reshape(transpose(summed, [1, 0, 2]), shape_of(params)), None]


register(OpDef("GatherV2", _gather_infer, _gather_kernel, grad=_gather_grad))


def _segment_infer(op):
    data, ids, num = op.inputs
    if not ids.dtype.is_integer:
        raise TypeError(f"{op.type}: segment_ids must be int32 or int64, got {ids.dtype.name}")
    if data.shape.ndims is None or ids.shape.ndims is None:
        return [(data.dtype, TensorShape(None))]
    k = ids.shape.ndims
    if data.shape.ndims < k or not data.shape[:k].is_compatible_with(ids.shape):
        raise ValueError(f"{op.type}: data shape {data.shape} must start with segment_ids shape {ids.shape}")
    n = constant_value(num)
    return [(data.dtype, TensorShape([None if n is None else int(n)]).concatenate(data.shape[k:]))]


def _unsorted_segment_sum_kernel(xp, data, segment_ids, num_segments):
    n, k = int(num_segments), segment_ids.ndim
    if data.shape[:k] != segment_ids.shape:
        raise ValueError(f"data shape {list(data.shape)} must start with segment_ids shape "
                         f"{list(segment_ids.shape)}")
    _check_indices(xp, xp.where(segment_ids < 0, 0, segment_ids), n, "segment_ids")
    out = xp.zeros((n,) + data.shape[k:], dtype=data.dtype)
    keep = segment_ids >= 0  # NOTE: as TF, rows with a negative segment id are dropped
    xp.add.at(out, segment_ids[keep], data[keep])
    return out


def _unsorted_segment_sum_grad(op, g):
    data, ids, _ = op.inputs
    gathered = gather(g, maximum(ids, 0))
    keep = greater_equal(ids, 0)
    if data.shape.ndims is not None and ids.shape.ndims is not None:
        for _ in _pyrange(data.shape.ndims - ids.shape.ndims):
            keep = expand_dims(keep, -1)
    else:
        from .indexing import concat

        ones = fill(reshape(rank(data) - rank(ids), [1]), np.int32(1))
        keep = reshape(keep, concat([shape_of(ids), ones], 0))
    return [where_v2(keep, gathered, zeros_like(gathered)), None, None]


register(OpDef("UnsortedSegmentSum", _segment_infer, _unsorted_segment_sum_kernel,
               grad=_unsorted_segment_sum_grad))


def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0) -> Tensor:
    """Slices of ``params`` along ``axis`` at ``indices``: ``params[:, ..., indices, ...]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.gather([10, 20, 30], [[2, 0]]))
    array([[30, 10]], dtype=int32)
    """
    if batch_dims:
        raise NotImplementedError("gather with batch_dims != 0 is not supported")
    params = convert_to_tensor(params)
    axis = 0 if axis is None else _axis_for(params, axis)
    return make_op("GatherV2", [params, _int_tensor(indices)], {"axis": axis}, name or "GatherV2").outputs[0]


def unsorted_segment_sum(data, segment_ids, num_segments, name=None) -> Tensor:
    """``out[i] = sum(data[j] for j where segment_ids[j] == i)``, ``num_segments`` rows (negative ids are
    dropped); ``segment_ids`` may have several dimensions, matching the leading ones of ``data``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.unsorted_segment_sum([1., 2., 3.], [1, 0, 1], 3))
    array([2., 4., 0.], dtype=float32)
    """
    ids = _int_tensor(segment_ids)
    return make_op("UnsortedSegmentSum", [convert_to_tensor(data), ids, _int_tensor(num_segments, ids.dtype)],
                   name=name or "UnsortedSegmentSum").outputs[0]


# ---- GatherNd, ScatterNd ---------------------------------------------------------------------------------
def _nd_index(xp, indices, shape) -> tuple:
    """The rows of ``indices`` (last axis: a position in the leading dims of ``shape``) as an index tuple."""
    k = indices.shape[-1]
    if k > len(shape):
        raise ValueError(f"index depth {k} exceeds the rank {len(shape)} of the indexed tensor")
    bad = ((indices < 0) | (indices >= xp.asarray(shape[:k], dtype=indices.dtype))).any(axis=-1)
    if bad.any():
        pos = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise IndexError(f"indices{list(pos)} = {indices[pos].tolist()} does not index into param shape "
                         f"{list(shape)}")
    return tuple(indices[..., j] for j in _pyrange(k))


def _gather_nd_infer(op):
    params, indices = op.inputs
    if not indices.dtype.is_integer:
        raise TypeError(f"GatherNd: indices must be int32 or int64, got {indices.dtype.name}")
    p, i = params.shape, indices.shape
    if p.ndims is None or i.ndims is None or i.ndims == 0 or i[-1].value is None:
        return [(params.dtype, TensorShape(None))]
    k = i[-1].value
    if k > p.ndims:
        raise ValueError(f"GatherNd: index depth {k} exceeds the rank {p.ndims} of params")
    v = constant_value(indices)
    if v is not None and p[:k].is_fully_defined():
        try:
            _nd_index(np, np.asarray(v), p.as_list()[:k])
        except IndexError as e:
            raise ValueError(str(e)) from None
    return [(params.dtype, i[:-1].concatenate(p[k:]))]


def _gather_nd_kernel(xp, params, indices):
    if indices.shape[-1] == 0:
        return xp.broadcast_to(params, indices.shape[:-1] + params.shape).copy()
    return params[_nd_index(xp, indices, params.shape)]


def _scatter_nd_kernel(xp, indices, updates, shape):
    shape = shape_value(shape)
    want = indices.shape[:-1] + shape[indices.shape[-1]:]
    if updates.shape != want:
        raise ValueError(f"updates must have shape {list(want)} for indices of shape {list(indices.shape)} "
                         f"into shape {list(shape)}, got {list(updates.shape)}")
    out = xp.zeros(shape, dtype=updates.dtype)
    xp.add.at(out, _nd_index(xp, indices, shape), updates)  # NOTE: as TF, repeated indices add up
    return out


register(OpDef("GatherNd", _gather_nd_infer, _gather_nd_kernel,
               grad=lambda op, g: [scatter_nd(op.inputs[1], g, shape_of(op.inputs[0], op.inputs[1].dtype)),
                                   None]))
register(OpDef("ScatterNd", lambda op: [(op.inputs[1].dtype, shape_tensor_as_static(op.inputs[2]))],
               _scatter_nd_kernel, grad=lambda op, g: [None, gather_nd(g, op.inputs[0]), None]))


def gather_nd(params, indices, name=None) -> Tensor:
    """Elements (or slices) of ``params`` at the positions in the last axis of ``indices``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.gather_nd([[1, 2], [3, 4]], [[1, 0], [0, 1]]))
    array([3, 2], dtype=int32)
    """
    return make_op("GatherNd", [convert_to_tensor(params), _int_tensor(indices)], name=name or "GatherNd").outputs[0]


def scatter_nd(indices, updates, shape, name=None) -> Tensor:
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (the inverse of gather_nd).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.scatter_nd([[1], [3]], [5, 6], [4]))
    array([0, 5, 0, 6], dtype=int32)
    """
    indices = _int_tensor(indices)
    return make_op("ScatterNd", [indices, convert_to_tensor(updates), _int_tensor(shape, indices.dtype)],
                   name=name or "ScatterNd").outputs[0]


# ---- OneHot ----------------------------------------------------------------------------------------------
def _one_hot_infer(op):
    indices, depth, on, off = op.inputs
    if on.dtype is not off.dtype:
        raise TypeError(f"OneHot: on_value ({on.dtype.name}) and off_value ({off.dtype.name}) must match")
    if indices.shape.ndims is None:
        return [(on.dtype, TensorShape(None))]
    dims, axis = indices.shape.as_list(), op.attrs["axis"]
    if not -1 <= axis <= len(dims):
        raise ValueError(f"OneHot: axis {axis} must be in [-1, {len(dims)}]")
    d = constant_value(depth)
    if d is not None and int(d) < 0:
        raise ValueError(f"OneHot: depth must be non-negative, got {int(d)}")
    dims.insert(len(dims) if axis == -1 else axis, None if d is None else int(d))
    return [(on.dtype, TensorShape(dims))]


def _one_hot_kernel(xp, indices, depth, on_value, off_value, *, axis):
    if int(depth) < 0:
        raise ValueError(f"depth must be non-negative, got {int(depth)}")
    hot = xp.expand_dims(indices, -1) == xp.arange(int(depth))
    out = xp.where(hot, on_value, off_value)
    return out if axis == -1 else xp.moveaxis(out, -1, axis)


register(OpDef("OneHot", _one_hot_infer, _one_hot_kernel, differentiable=False))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None) -> Tensor:
    """``on_value`` where the new axis's position equals ``indices``, else ``off_value`` (indices outside
    ``[0, depth)`` give all ``off_value``). The dtype is ``dtype``, else that of on/off_value, else float32.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.one_hot([0, 2, -1], 3))
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float32)
    """
    with name_scope(name, "one_hot", [indices, depth, on_value, off_value]) as scope:
        given = [convert_to_tensor(v).dtype for v in (on_value, off_value) if v is not None]
        if dtype is not None and any(d is not dtypes.as_dtype(dtype) for d in given):
            raise TypeError(f"dtype {dtypes.as_dtype(dtype).name} does not match on/off_value's {given[0].name}")
        dtype = dtypes.as_dtype(dtype) if dtype is not None else given[0] if given else dtypes.float32
        on = convert_to_tensor(1 if on_value is None else on_value, dtype=dtype)
        off = convert_to_tensor(0 if off_value is None else off_value, dtype=dtype)
        return make_op("OneHot", [_int_tensor(indices), _int_tensor(depth, dtypes.int32), on, off],
                       {"axis": -1 if axis is None else int(axis)}, scope).outputs[0]


# ---- Where, Select ---------------------------------------------------------------------------------------
def _where_kernel(xp, condition):
    return xp.argwhere(condition).astype(np.int64)


register(OpDef("Where", lambda op: [(dtypes.int64, TensorShape([None, op.inputs[0].shape.ndims]))],
               _where_kernel, differentiable=False))


def _select_infer(op):
    c, x, y = op.inputs
    if x.dtype is not y.dtype:
        raise TypeError(f"Select: x and y must have the same dtype, got {x.dtype.name} and {y.dtype.name}")
    shape = x.shape.merge_with(y.shape)
    cs = c.shape
    if cs.ndims and shape.ndims is not None:
        ok = cs[0].is_compatible_with(shape[0]) if cs.ndims == 1 and shape.ndims > 1 else \
            cs.is_compatible_with(shape)
        if not ok:
            raise ValueError(f"Select: condition of shape {cs} must have the shape {shape} of x and y, or be a "
                             "vector matching their first dimension")
    return [(x.dtype, shape)]


def _select_kernel(xp, condition, x, y):
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {list(x.shape)} and {list(y.shape)}")
    if condition.ndim == 1 and x.ndim > 1 and condition.shape[0] == x.shape[0]:
        condition = condition.reshape(condition.shape + (1,) * (x.ndim - 1))
    elif condition.ndim and condition.shape != x.shape:
        raise ValueError(f"condition of shape {list(condition.shape)} must be a scalar, a vector of length "
                         f"{x.shape[0] if x.ndim else 1} or have the shape {list(x.shape)} of x")
    return xp.where(condition, x, y)


def _select_grad(op, g):
    c = op.inputs[0]
    zeros = zeros_like(g)
    return [None, select(c, g, zeros), select(c, zeros, g)]


register(OpDef("Select", _select_infer, _select_kernel, grad=_select_grad))


def where(condition, x=None, y=None, name=None) -> Tensor:
    """TF1's ``tf.where``: with ``condition`` only, the int64 coordinates of its true (nonzero) elements,
    shape ``[num_true, rank]``; with ``x`` and ``y``, :func:`select`.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.where([[True, False], [False, True]]))
    array([[0, 0],
           [1, 1]])
    """
    if x is None and y is None:
        return make_op("Where", [convert_to_tensor(condition)], name=name or "Where").outputs[0]
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    return select(condition, x, y, name=name)


def select(condition, t, e, name=None) -> Tensor:
    """Elements of ``t`` where ``condition`` is true, else of ``e`` (TF1's Select: ``condition`` has the
    shape of ``t`` and ``e``, or is a vector choosing whole rows, or is a scalar; no broadcasting).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.select([True, False], [[1, 2], [3, 4]], [[5, 6], [7, 8]]))
    array([[1, 2],
           [7, 8]], dtype=int32)
    """
    c = convert_to_tensor(condition, dtype=dtypes.bool_)
    t, e = binary_inputs(t, e)
    return make_op("Select", [c, t, e], name=name or "Select").outputs[0]


# ---- Range -----------------------------------------------------------------------------------------------
def _range_size(start, limit, delta, integer: bool) -> int:
    if delta == 0:
        raise ValueError("Requires delta != 0")
    if delta > 0 and start > limit or delta < 0 and start < limit:
        raise ValueError(f"Requires start <= limit when delta > 0 (start < limit when delta < 0): "
                         f"start = {start}, limit = {limit}, delta = {delta}")
    if integer:
        return (abs(limit - start) + abs(delta) - 1) // abs(delta)
    return int(np.ceil(abs((limit - start) / delta)))


def _range_infer(op):
    start, limit, delta = op.inputs
    values = [constant_value(t) for t in op.inputs]
    for t in op.inputs:
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"Range: start, limit and delta must be scalars, got shape {t.shape}")
    if any(v is None for v in values):
        return [(start.dtype, TensorShape([None]))]
    s, lim, d = (np.asarray(v).item() for v in values)
    return [(start.dtype, TensorShape([_range_size(s, lim, d, start.dtype.is_integer)]))]


def _range_kernel(xp, start, limit, delta):
    s, lim, d = start.item(), limit.item(), delta.item()
    _range_size(s, lim, d, start.dtype.kind in "iu")
    return xp.arange(s, lim, d, dtype=start.dtype)


register(OpDef("Range", _range_infer, _range_kernel, differentiable=False))

_RANGE_DTYPES = [dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64]


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:  # noqa: A001 (TF's name)
    """``[start, start + delta, ...]`` up to but not including ``limit`` (``range(n)`` counts from 0).
    Without ``dtype``, the widest of the arguments' dtypes: Python ints give int32, floats float32.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.range(1, 2, 0.25))
    array([1.  , 1.25, 1.5 , 1.75], dtype=float32)
    """
    if limit is None:
        start, limit = 0, start
    with name_scope(name, "Range", [start, limit, delta]) as scope:
        values = (start, limit, delta)
        if dtype is not None:
            args = [convert_to_tensor(v, dtype=dtype) for v in values]
        else:
            tensors = [convert_to_tensor(v) if is_tensor_like(v) else None for v in values]
            kinds = [dtypes.infer_dtype(v) if t is None else t.dtype for t, v in zip(tensors, values)]
            dtype = max(kinds, key=lambda d: _RANGE_DTYPES.index(d) if d in _RANGE_DTYPES else -1)
            args = [convert_to_tensor(v, dtype=dtype) if t is None else cast(t, dtype)
                    for t, v in zip(tensors, values)]
        return make_op("Range", args, name=scope).outputs[0]


# ---- boolean_mask ----------------------------------------------------------------------------------------
def boolean_mask(tensor, mask, name="boolean_mask", axis=None) -> Tensor:
    """The slices of ``tensor`` (along ``axis`` and the mask's dims) where ``mask`` is true, stacked on
    one dimension: a GatherV2 of the Where of the flattened mask.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.boolean_mask([[1, 2], [3, 4], [5, 6]], [True, False, True]))
    array([[1, 2],
           [5, 6]], dtype=int32)
    """
    with name_scope(name, "boolean_mask", [tensor, mask]):
        tensor = convert_to_tensor(tensor)
        mask = convert_to_tensor(mask, dtype=dtypes.bool_)
        k = mask.shape.ndims
        if k is None:
            raise ValueError("Number of mask dimensions must be specified, even if some dimensions are None.")
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        axis = 0 if axis is None else static_axis(axis)
        rank = tensor.shape.ndims
        if rank is not None:
            axis = normalize_axis(axis, rank)[0]
            tensor.shape[axis:axis + k].assert_is_compatible_with(mask.shape)
        shape = shape_of(tensor)
        masked = tensor.shape[axis:axis + k] if rank is not None else TensorShape(None)
        n = masked.num_elements() if masked.ndims == k else None
        n = reduce_prod(shape[axis:axis + k]) if n is None else n
        if rank is not None:
            flat = _int_tensor([_dim(tensor, i) for i in _pyrange(axis)] + [n] +
                               [_dim(tensor, i) for i in _pyrange(axis + k, rank)])
        else:
            from .indexing import concat

            flat = concat([shape[:axis], reshape(n, [1]), shape[axis + k:]], 0)
        where_true = squeeze(where(reshape(mask, [-1])), [1])
        out = gather(reshape(tensor, flat), where_true, axis=axis)
        if rank is not None:
            out.set_shape(tensor.shape[:axis].concatenate([None]).concatenate(tensor.shape[axis + k:]))
        return out
