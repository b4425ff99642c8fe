"""Sequences, segments and orderings: sequence_mask, segment reductions, unique, invert_permutation,
reverse_sequence, cumprod, linspace, meshgrid, sort/argsort, count_nonzero, reduce_variance/reduce_std.

Primitives (a kernel and, where differentiable, a gradient rule): SegmentSum/SegmentMax/SegmentMin
(sorted segment ids, checked when the kernel runs: TF's InvalidArgumentError), UnsortedSegmentMax/Min
(next to :mod:`dataflow.ops.gather`'s UnsortedSegmentSum), Unique, InvertPermutation, ReverseSequence,
Cumprod and LinSpace. The rest is composed: the segment means from segment sums, sort and argsort from
TopKV2, meshgrid from reshape and broadcast_to, the moments from reductions.
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, is_tensor_like, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from .array import broadcast_to, expand_dims, fill, ones_like, rank, reshape, size, transpose, zeros_like
from .common import constant_value, normalize_axis, shape_of, static_axis
from .gather import _check_indices, _int_tensor, _segment_infer, gather, unsorted_segment_sum
from .gather import range as _range
from .indexing import concat
from .math import (
    cast, equal, floordiv, greater_equal, less, logical_and, maximum, not_equal, sqrt, square, truediv, where_v2)
from .nn_ops import top_k
from .reduction import cumsum, reduce_max, reduce_mean, reduce_sum

__all__ = ["argsort", "count_nonzero", "cumprod", "invert_permutation", "lin_space", "linspace", "meshgrid",
           "reduce_std", "reduce_variance", "reverse_sequence", "segment_max", "segment_mean", "segment_min",
           "segment_sum", "sequence_mask", "sort", "unique", "unsorted_segment_max", "unsorted_segment_mean",
           "unsorted_segment_min"]


# ---- segment reductions -----------------------------------------------------------------------
def _sorted_segment_infer(op):
    data, ids = op.inputs
    if not ids.dtype.is_integer:
        raise TypeError(f"{op.type}: segment_ids must be int32 or int64, got {ids.dtype.name}")
    if ids.shape.ndims not in (None, 1):
        raise ValueError(f"{op.type}: segment_ids should be a vector, got shape {ids.shape}")
    if data.shape.ndims == 0:
        raise ValueError(f"{op.type}: data must be at least rank 1")
    if data.shape.ndims and ids.shape.ndims and not data.shape[0].is_compatible_with(ids.shape[0]):
        raise ValueError(f"{op.type}: segment_ids should be the same size as dimension 0 of data, got shapes "
                         f"{ids.shape} and {data.shape}")
    v = constant_value(ids)
    n = (int(v[-1]) + 1 if v.size else 0) if v is not None and v.ndim == 1 else None
    rest = data.shape[1:] if data.shape.ndims is not None else TensorShape(None)
    return [(data.dtype, TensorShape([n]).concatenate(rest))]


def _segment_count(data, ids) -> int:
    """The number of sorted segments, ``ids[-1] + 1``, after checking ``ids`` as TF's kernel does."""
    if ids.ndim != 1 or data.ndim < 1 or ids.shape[0] != data.shape[0]:
        raise ValueError(f"segment_ids should be a vector the size of dimension 0 of data, got shapes "
                         f"{list(ids.shape)} and {list(data.shape)}")
    if ids.size and ids[0] < 0:
        raise ValueError(f"segment ids must be >= 0, got {int(ids[0])}")
    down = ids[1:] < ids[:-1]
    if down.any():
        i = int(down.argmax())
        raise ValueError(f"segment ids are not increasing: segment_ids[{i}] = {int(ids[i])} > "
                         f"segment_ids[{i + 1}] = {int(ids[i + 1])}")
    return int(ids[-1]) + 1 if ids.size else 0


def _reduce_into(xp, ufunc: str, data, ids, n: int, empty):
    """``out[s] = ufunc-reduction of data[j] over ids[j] == s``, ``empty`` where no id is s (negative ids are
    dropped, as TF's unsorted kernels)."""
    k = ids.ndim
    if data.shape[:k] != ids.shape:
        raise ValueError(f"data shape {list(data.shape)} must start with segment_ids shape {list(ids.shape)}")
    _check_indices(xp, xp.where(ids < 0, 0, ids), n, "segment_ids")
    out = xp.full((n,) + data.shape[k:], empty, dtype=data.dtype)
    keep = ids >= 0
    if ufunc != "add" and out.dtype.kind == "f" and getattr(xp, "__name__", "") == "cupy":
        from backends.cuda.scatter import extreme_at  # exact on the GPU (see there)

        extreme_at(xp, ufunc, out, ids[keep], data[keep])
    else:
        getattr(xp, ufunc).at(out, ids[keep], data[keep])
    return out


def _lowest(dtype):
    return np.finfo(dtype).min if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _highest(dtype):
    return np.finfo(dtype).max if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).max


def _segment_sum_kernel(xp, data, ids):
    return _reduce_into(xp, "add", data, ids, _segment_count(data, ids), 0)


def _sorted_extreme_kernel(ufunc: str, start):
    def kernel(xp, data, ids):
        n = _segment_count(data, ids)
        out = _reduce_into(xp, ufunc, data, ids, n, start(data.dtype))
        empty = xp.bincount(ids, minlength=n) == 0  # NOTE: as TF, an empty sorted segment is 0
        out[empty] = 0
        return out

    return kernel


def _unsorted_extreme_kernel(ufunc: str, start):
    def kernel(xp, data, ids, num_segments):
        return _reduce_into(xp, ufunc, data, ids, int(num_segments), start(data.dtype))

    return kernel


def _like_data(mask: Tensor, ids: Tensor, data: Tensor) -> Tensor:
    """``mask`` (shaped as ``ids``) with size-1 dims appended up to the rank of ``data``."""
    if data.shape.ndims is not None and ids.shape.ndims is not None:
        for _ in range(data.shape.ndims - ids.shape.ndims):
            mask = expand_dims(mask, -1)
        return mask
    ones = fill(reshape(rank(data) - rank(ids), [1]), np.int32(1))
    return reshape(mask, concat([shape_of(ids), ones], 0))


def _extreme_grad(op, g):
    # As TF: the gradient goes to the elements equal to their segment's max (min), split evenly among ties.
    data, ids = op.inputs[0], op.inputs[1]
    sorted_ids = len(op.inputs) == 2
    safe = ids if sorted_ids else maximum(ids, 0)
    selected = equal(data, gather(op.outputs[0], safe))
    if not sorted_ids:
        selected = logical_and(selected, _like_data(greater_equal(ids, 0), ids, data))
    hits = cast(selected, g.dtype)
    count = segment_sum(hits, ids) if sorted_ids else unsorted_segment_sum(hits, ids, op.inputs[2])
    share = gather(g / maximum(count, np.ones((), g.dtype.as_numpy_dtype)), safe)
    return [where_v2(selected, share, zeros_like(share)), None] + ([] if sorted_ids else [None])


register(OpDef("SegmentSum", _sorted_segment_infer, _segment_sum_kernel,
               grad=lambda op, g: [gather(g, op.inputs[1]), None]))
register(OpDef("SegmentMax", _sorted_segment_infer, _sorted_extreme_kernel("maximum", _lowest), grad=_extreme_grad))
register(OpDef("SegmentMin", _sorted_segment_infer, _sorted_extreme_kernel("minimum", _highest), grad=_extreme_grad))
register(OpDef("UnsortedSegmentMax", _segment_infer, _unsorted_extreme_kernel("maximum", _lowest),
               grad=_extreme_grad))
register(OpDef("UnsortedSegmentMin", _segment_infer, _unsorted_extreme_kernel("minimum", _highest),
               grad=_extreme_grad))


def _sorted_segment(op_type, data, segment_ids, name):
    return make_op(op_type, [convert_to_tensor(data), _int_tensor(segment_ids)], name=name or op_type).outputs[0]


def _unsorted_segment(op_type, data, segment_ids, num_segments, name):
    ids = _int_tensor(segment_ids)
    return make_op(op_type, [convert_to_tensor(data), ids, _int_tensor(num_segments, ids.dtype)],
                   name=name or op_type).outputs[0]


def segment_sum(data, segment_ids, name=None) -> Tensor:
    """``out[i] = sum(data[j] for j where segment_ids[j] == i)``; ``segment_ids`` is sorted, non-negative,
    one per row of ``data``, and there are ``segment_ids[-1] + 1`` rows out (empty segments are 0).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.segment_sum([1., 2., 3., 4.], [0, 0, 2, 2]))
    array([3., 0., 7.], dtype=float32)
    """
    return _sorted_segment("SegmentSum", data, segment_ids, name)


def segment_max(data, segment_ids, name=None) -> Tensor:
    """The maximum of each sorted segment (see :func:`segment_sum`); an empty segment is 0.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.segment_max([1, 5, 3], [0, 0, 1]))
    array([5, 3], dtype=int32)
    """
    return _sorted_segment("SegmentMax", data, segment_ids, name)


def segment_min(data, segment_ids, name=None) -> Tensor:
    """The minimum of each sorted segment (see :func:`segment_sum`); an empty segment is 0.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.segment_min([1, 5, 3], [0, 0, 1]))
    array([1, 3], dtype=int32)
    """
    return _sorted_segment("SegmentMin", data, segment_ids, name)


def _rows(v: Tensor, like: Tensor) -> Tensor:
    """``v`` (one value per segment) shaped to broadcast against the rows of ``like``."""
    if like.shape.ndims is not None:
        return reshape(v, [-1] + [1] * (like.shape.ndims - 1))
    return reshape(v, concat([[-1], fill(reshape(rank(like) - 1, [1]), np.int32(1))], 0))


def segment_mean(data, segment_ids, name=None) -> Tensor:
    """The mean of each sorted segment (see :func:`segment_sum`); an empty segment is 0. Integer data gives
    the integer mean truncated toward zero, as TF.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.segment_mean([1., 2., 6.], [0, 0, 1]))
    array([1.5, 6. ], dtype=float32)
    """
    with name_scope(name, "SegmentMean", [data, segment_ids]):
        data, ids = convert_to_tensor(data), _int_tensor(segment_ids)
        total = segment_sum(data, ids)
        counts = _rows(maximum(segment_sum(ones_like(ids, dtype=data.dtype), ids),
                               np.ones((), data.dtype.as_numpy_dtype)), total)
        if not data.dtype.is_integer:
            return total / counts
        q = floordiv(total, counts)  # NOTE: TF's integer division truncates toward zero; floor, then correct
        return q + cast(logical_and(less(total, 0), not_equal(q * counts, total)), data.dtype)


def unsorted_segment_max(data, segment_ids, num_segments, name=None) -> Tensor:
    """The maximum of the ``data`` rows of each of ``num_segments`` segments; an empty segment is the lowest
    value of the dtype, a negative id drops its row (as TF).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.unsorted_segment_max([1, 5, 3], [1, 0, 1], 2))
    array([5, 3], dtype=int32)
    """
    return _unsorted_segment("UnsortedSegmentMax", data, segment_ids, num_segments, name)


def unsorted_segment_min(data, segment_ids, num_segments, name=None) -> Tensor:
    """The minimum per segment (see :func:`unsorted_segment_max`); an empty segment is the dtype's largest value.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.unsorted_segment_min([1, 5, 3], [1, 0, 1], 2))
    array([5, 1], dtype=int32)
    """
    return _unsorted_segment("UnsortedSegmentMin", data, segment_ids, num_segments, name)


def unsorted_segment_mean(data, segment_ids, num_segments, name=None) -> Tensor:
    """The mean per segment, ``unsorted_segment_sum / max(count, 1)`` (TF's division: integer data gives
    floating point).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.unsorted_segment_mean([1., 5., 3.], [1, 0, 1], 3))
    array([5., 2., 0.], dtype=float32)
    """
    with name_scope(name, "UnsortedSegmentMean", [data, segment_ids, num_segments]):
        data, ids = convert_to_tensor(data), _int_tensor(segment_ids)
        total = unsorted_segment_sum(data, ids, num_segments)
        counts = unsorted_segment_sum(ones_like(ids, dtype=data.dtype), ids, num_segments)
        return truediv(total, _rows(maximum(counts, np.ones((), data.dtype.as_numpy_dtype)), total))


# ---- Unique, InvertPermutation, ReverseSequence -----------------------------------------------
def _vector_input(op, what: str) -> Tensor:
    x = op.inputs[0]
    if x.shape.ndims not in (None, 1):
        raise ValueError(f"{what}: Shape must be rank 1 but is rank {x.shape.ndims}, got shape {x.shape}")
    return x


def _unique_infer(op):
    x = _vector_input(op, "unique")
    if op.attrs["out_idx"] not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"unique: out_idx must be int32 or int64, got {op.attrs['out_idx'].name}")
    return [(x.dtype, TensorShape([None])), (op.attrs["out_idx"], x.shape)]


def _unique_kernel(xp, x, *, out_idx):
    if x.ndim != 1:
        raise ValueError(f"unique expects a 1D vector, got shape {list(x.shape)}")
    _, first, inverse = xp.unique(x, return_index=True, return_inverse=True)
    order = xp.argsort(first)  # sorted values -> first-occurrence order, as TF
    position = xp.empty_like(order)
    position[order] = xp.arange(order.shape[0])
    return x[first[order]], position[inverse.reshape(-1)].astype(out_idx.as_numpy_dtype)


register(OpDef("Unique", _unique_infer, _unique_kernel, differentiable=False))


def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of a vector in order of first occurrence, ``y``, and for each element of ``x``
    its position in ``y``, ``idx`` (``x == y[idx]``).

    Examples
    --------
    >>> import dataflow as tf
    >>> y, idx = tf.unique([4, 1, 4, 2])
    >>> tf.Session().run([y, idx])
    [array([4, 1, 2], dtype=int32), array([0, 1, 0, 2], dtype=int32)]
    """
    y, idx = make_op("Unique", [convert_to_tensor(x)], {"out_idx": dtypes.as_dtype(out_idx)},
                     name or "Unique").outputs
    return y, idx


def _invert_permutation_infer(op):
    x = _vector_input(op, "invert_permutation")
    if x.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"invert_permutation: x must be int32 or int64, got {x.dtype.name}")
    return [(x.dtype, x.shape)]


def _invert_permutation_kernel(xp, x):
    if x.ndim != 1:
        raise ValueError(f"invert_permutation requires input x to be 1-D, got shape {list(x.shape)}")
    n = x.shape[0]
    bad = (x < 0) | (x >= n)
    if bad.any():
        raise ValueError(f"{int(x[int(bad.argmax())])} is not between 0 and {n}")
    y = xp.full(n, -1, dtype=x.dtype)
    y[x] = xp.arange(n, dtype=x.dtype)
    if (y < 0).any():
        counts = xp.bincount(x, minlength=n)
        raise ValueError(f"{int(counts.argmax())} is duplicated in the input.")
    return y


register(OpDef("InvertPermutation", _invert_permutation_infer, _invert_permutation_kernel, differentiable=False))


def invert_permutation(x, name=None) -> Tensor:
    """The inverse of the permutation ``x``: ``y[x[i]] = i``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.invert_permutation([3, 4, 0, 2, 1]))
    array([2, 4, 3, 0, 1], dtype=int32)
    """
    return make_op("InvertPermutation", [_int_tensor(x)], name=name or "InvertPermutation").outputs[0]


def _reverse_sequence_infer(op):
    x, lengths = op.inputs
    seq, batch = op.attrs["seq_dim"], op.attrs["batch_dim"]
    if not lengths.dtype.is_integer:
        raise TypeError(f"reverse_sequence: seq_lengths must be int32 or int64, got {lengths.dtype.name}")
    if lengths.shape.ndims not in (None, 1):
        raise ValueError(f"reverse_sequence: seq_lengths must be 1-D, got shape {lengths.shape}")
    if x.shape.ndims is not None:
        r = x.shape.ndims
        if not (0 <= seq < r and 0 <= batch < r) or seq == batch:
            raise ValueError(f"reverse_sequence: seq_axis {seq} and batch_axis {batch} must be distinct axes of a "
                             f"tensor of rank {r}")
        if lengths.shape.ndims == 1 and not lengths.shape[0].is_compatible_with(x.shape[batch]):
            raise ValueError(f"reverse_sequence: len(seq_lengths) != input.dims({batch}), "
                             f"({lengths.shape[0]} vs. {x.shape[batch]})")
    return [(x.dtype, x.shape)]


def _reverse_sequence_kernel(xp, x, seq_lengths, *, seq_dim, batch_dim):
    b, t = x.shape[batch_dim], x.shape[seq_dim]
    if seq_lengths.shape != (b,):
        raise ValueError(f"len(seq_lens) != input.dims({batch_dim}), ({seq_lengths.shape[0]} vs. {b})")
    if (seq_lengths > t).any() or (seq_lengths < 0).any():
        raise ValueError(f"seq_lens must be in [0, input.dims({seq_dim}) = {t}], got {seq_lengths.tolist()}")
    lens = seq_lengths.astype(np.int64)[:, None]
    pos = xp.arange(t)
    idx = xp.where(pos < lens, lens - 1 - pos, pos)  # [batch, time]: where each output step reads from
    shape = [1] * x.ndim
    shape[batch_dim], shape[seq_dim] = b, t
    idx = idx if batch_dim < seq_dim else idx.T
    return xp.take_along_axis(x, xp.broadcast_to(idx.reshape(shape), x.shape), axis=seq_dim)


register(OpDef("ReverseSequence", _reverse_sequence_infer, _reverse_sequence_kernel,
               grad=lambda op, g: [make_op("ReverseSequence", [g, op.inputs[1]], dict(op.attrs)).outputs[0], None]))


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None, seq_dim=None,
                     batch_dim=None) -> Tensor:
    """Reverse the first ``seq_lengths[b]`` steps along ``seq_axis`` of each slice ``b`` of ``batch_axis``
    (default 0); the steps after them stay in place.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.reverse_sequence([[1, 2, 3], [4, 5, 6]], [2, 3], seq_axis=1))
    array([[2, 1, 3],
           [6, 5, 4]], dtype=int32)
    """
    seq = seq_axis if seq_axis is not None else seq_dim
    batch = batch_axis if batch_axis is not None else batch_dim if batch_dim is not None else 0
    if seq is None:
        raise ValueError("reverse_sequence needs seq_axis")
    x = convert_to_tensor(input)
    seq, batch = int(static_axis(seq)), int(static_axis(batch))
    if x.shape.ndims is not None:
        seq, batch = normalize_axis((seq, batch), x.shape.ndims)
    return make_op("ReverseSequence", [x, _int_tensor(seq_lengths)], {"seq_dim": seq, "batch_dim": batch},
                   name or "ReverseSequence").outputs[0]


# ---- Cumprod, LinSpace -----------------------------------------------------------------------
def _cumprod_kernel(xp, x, *, axis, exclusive, reverse):
    if reverse:
        x = xp.flip(x, axis)
    if exclusive and x.shape[axis]:  # shifted one place: a leading 1, the last element dropped
        head = [slice(None)] * x.ndim
        head[axis] = slice(0, x.shape[axis] - 1)
        widths = [(0, 0)] * x.ndim
        widths[axis] = (1, 0)
        x = xp.pad(x[tuple(head)], widths, constant_values=1)
    out = xp.cumprod(x, axis=axis, dtype=x.dtype)
    return xp.flip(out, axis) if reverse else out


def _cumprod_grad(op, g):
    # NOTE: TF's rule, the reverse cumulative sum of y * g divided by x: NaN where x is 0, as TF's.
    a = op.attrs
    total = cumsum(op.outputs[0] * g, axis=a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])
    return [total / op.inputs[0]]


register(OpDef("Cumprod", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _cumprod_kernel, grad=_cumprod_grad))


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:
    """Cumulative product along ``axis``; ``exclusive`` leaves out each element itself (a leading 1),
    ``reverse`` runs from the end.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.cumprod([1, 2, 3, 4], exclusive=True))
    array([1, 1, 2, 6], dtype=int32)
    """
    x = convert_to_tensor(x)
    axis = static_axis(axis)
    if x.shape.ndims is not None:
        axis = normalize_axis(axis, x.shape.ndims)[0]
    return make_op("Cumprod", [x], {"axis": axis, "exclusive": bool(exclusive), "reverse": bool(reverse)},
                   name or "Cumprod").outputs[0]


def _linspace_infer(op):
    start, stop, num = op.inputs
    if start.dtype not in (dtypes.float32, dtypes.float64) or stop.dtype is not start.dtype:
        raise TypeError(f"LinSpace: start and stop must be both float32 or both float64, got {start.dtype.name} "
                        f"and {stop.dtype.name}")
    if not num.dtype.is_integer:
        raise TypeError(f"LinSpace: num must be int32 or int64, got {num.dtype.name}")
    for t, what in ((start, "start"), (stop, "stop"), (num, "num")):
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"LinSpace: {what} must be a scalar, got shape {t.shape}")
    n = constant_value(num)
    if n is not None and int(n) <= 0:
        raise ValueError(f"Requires num > 0: {int(n)}")
    return [(start.dtype, TensorShape([None if n is None else int(n)]))]


def _linspace_kernel(xp, start, stop, num):
    if int(num) <= 0:
        raise ValueError(f"Requires num > 0: {int(num)}")
    return xp.linspace(start, stop, int(num), dtype=start.dtype)


def _linspace_grad(op, g):
    num = op.inputs[2]
    w = cast(_range(num), g.dtype) / cast(maximum(num - 1, 1), g.dtype)  # d out[i] / d stop
    return [reduce_sum(g * (1 - w)), reduce_sum(g * w), None]


register(OpDef("LinSpace", _linspace_infer, _linspace_kernel, grad=_linspace_grad))


def linspace(start, stop, num, name=None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop``, both included.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.linspace(10., 12., 3))
    array([10., 11., 12.], dtype=float32)
    """
    start = convert_to_tensor(start)
    stop = convert_to_tensor(stop, dtype=None if is_tensor_like(stop) else start.dtype)
    return make_op("LinSpace", [start, stop, _int_tensor(num)], name=name or "LinSpace").outputs[0]


lin_space = linspace


# ---- meshgrid, sort, argsort ----------------------------------------------------------------
def meshgrid(*args, **kwargs) -> list:
    """Coordinate grids from 1-D ``args``: with ``indexing="xy"`` (the default) the first two dims are
    ``len(args[1]), len(args[0])``; with ``"ij"`` the dims follow the args.

    Examples
    --------
    >>> import dataflow as tf
    >>> x, y = tf.meshgrid([1, 2, 3], [4, 5])
    >>> tf.Session().run(x)
    array([[1, 2, 3],
           [1, 2, 3]], dtype=int32)
    """
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this function")
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    with name_scope(name, "meshgrid", args):
        xs = [convert_to_tensor(x) for x in args]
        n = len(xs)
        sizes = [x.shape.num_elements() if x.shape.num_elements() is not None else size(x) for x in xs]
        axes = list(range(n))
        if indexing == "xy" and n > 1:
            axes[0], axes[1] = 1, 0
            sizes[0], sizes[1] = sizes[1], sizes[0]
        return [broadcast_to(reshape(x, [-1 if i == a else 1 for i in range(n)]), sizes) for x, a in zip(xs, axes)]


def _sort(values, axis, direction: str, indices: bool) -> Tensor:
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"direction should be one of ASCENDING, DESCENDING, got {direction!r}")
    x = convert_to_tensor(values)
    if not x.dtype.is_numeric or x.dtype.is_complex:
        raise TypeError(f"sort and argsort need real numbers, got {x.dtype.name}")
    axis = static_axis(axis)
    r = x.shape.ndims
    if r is None or r == 0 or not isinstance(axis, int):
        raise ValueError(f"sort needs an input of known rank >= 1 and an int axis, got shape {x.shape}, axis {axis}")
    axis = normalize_axis(axis, r)[0]
    n = x.shape[axis].value
    if n is None:
        raise ValueError(f"sort needs the size of axis {axis} known when the graph is built, got shape {x.shape}")
    perm = list(range(r))
    perm[axis], perm[-1] = perm[-1], perm[axis]  # a swap: its own inverse
    moved = x if axis == r - 1 else transpose(x, perm)
    if direction == "ASCENDING":
        # NOTE: the largest of an order-reversing map are the smallest; top_k keeps ties in index order (a
        # stable sort). Integers map through -1 - x (max - x unsigned), which, unlike -x, never overflows.
        flip = (lambda t: -t) if x.dtype.is_floating else (lambda t: np.asarray(
            x.dtype.max if x.dtype.is_unsigned else -1, x.dtype.as_numpy_dtype) - t)
        moved = flip(moved)
    out_values, out_indices = top_k(moved, k=n)
    out = out_indices if indices else flip(out_values) if direction == "ASCENDING" else out_values
    return out if axis == r - 1 else transpose(out, perm)


def sort(values, axis=-1, direction="ASCENDING", name=None) -> Tensor:
    """``values`` sorted along ``axis`` (composed from top_k; the axis size must be static).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.sort([3, 1, 2], direction="DESCENDING"))
    array([3, 2, 1], dtype=int32)
    """
    with name_scope(name, "sort", [values]):
        return _sort(values, axis, direction, indices=False)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None) -> Tensor:
    """The int32 indices that sort ``values`` along ``axis``; ties keep their order (always stable).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.argsort([3., 1., 2.]))
    array([1, 2, 0], dtype=int32)
    """
    with name_scope(name, "argsort", [values]):
        return _sort(values, axis, direction, indices=True)


# ---- sequence_mask, count_nonzero, moments ---------------------------------------------------
def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool_, name=None) -> Tensor:
    """``mask[..., j] = j < lengths[...]``, shape ``lengths.shape + [maxlen]``; ``maxlen`` defaults to the
    largest length.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.sequence_mask([1, 3], 4))
    array([[ True, False, False, False],
           [ True,  True,  True, False]])
    """
    with name_scope(name, "SequenceMask", [lengths, maxlen]):
        lengths = convert_to_tensor(lengths)
        if maxlen is None:
            maxlen = reduce_max(lengths)
        else:
            maxlen = convert_to_tensor(maxlen)
            if maxlen.shape.ndims not in (None, 0):
                raise ValueError("maxlen must be scalar for sequence_mask")
        mask = less(_range(maxlen), cast(expand_dims(lengths, -1), maxlen.dtype))
        dtype = dtypes.as_dtype(dtype)
        return mask if dtype is dtypes.bool_ else cast(mask, dtype)


def count_nonzero(input_tensor=None, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None, input=None) -> Tensor:
    """The number of nonzero (true, non-empty) elements over ``axis`` (all axes if None), as ``dtype``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.count_nonzero([[0, 1], [2, 3]], axis=1))
    array([1, 2])
    """
    with name_scope(name, "count_nonzero", [input_tensor if input is None else input]):
        x = convert_to_tensor(input_tensor if input is None else input)
        zero = b"" if x.dtype is dtypes.string else np.zeros((), x.dtype.as_numpy_dtype)
        nonzero = cast(not_equal(x, zero), dtypes.int64)
        counts = reduce_sum(nonzero, axis, keepdims, reduction_indices=reduction_indices, keep_dims=keep_dims)
        return cast(counts, dtype)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """The (biased) variance over ``axis``: the mean of the squared deviations from the mean.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.reduce_variance([[1., 2.], [3., 4.]], axis=0))
    array([1., 1.], dtype=float32)
    """
    with name_scope(name, "reduce_variance", [input_tensor]):
        x = convert_to_tensor(input_tensor)
        means = reduce_mean(x, axis, keepdims=True)
        return reduce_mean(square(x - means), axis, keepdims=bool(keepdims))


def reduce_std(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """The standard deviation over ``axis``, ``sqrt(reduce_variance)`` (its gradient is NaN where it is 0,
    as TF's).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.reduce_std([1., 3.]))
    np.float32(1.0)
    """
    with name_scope(name, "reduce_std", [input_tensor]):
        return sqrt(reduce_variance(input_tensor, axis, keepdims))
