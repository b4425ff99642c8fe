"""Helpers shared by the op families: inference rules, constant-value lookup, static shapes."""

from __future__ import annotations

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor
from ..framework.tensor_shape import TensorShape, broadcast_shapes


def same_as_input(op):
    """One output with input 0's dtype and shape (elementwise unary ops)."""
    x = op.inputs[0]
    return [(x.dtype, x.shape)]


def broadcast_binary(op):
    """One output: inputs' common dtype, NumPy-broadcast shape; ValueError if dtypes differ."""
    x, y = op.inputs[0], op.inputs[1]
    if x.dtype is not y.dtype:
        raise TypeError(f"Input 'y' of '{op.type}' Op has type {y.dtype.name} that does not match type "
                        f"{x.dtype.name} of argument 'x'.")
    return [(x.dtype, broadcast_shapes(x.shape, y.shape))]


def broadcast_to_bool(op):
    (dt, shape), = broadcast_binary(op)
    return [(dtypes.bool_, shape)]


def out(dtype, shape=None):
    """An ``infer`` returning a fixed dtype and (static) shape; attrs may name them."""
    return lambda op: [(dtypes.as_dtype(op.attrs.get("dtype", dtype)),
                        TensorShape(op.attrs.get("shape", shape)))]


# constant_value evaluates other ops only on and into small arrays, and only this far up the graph.
_FOLD_MAX_ELEMENTS = 1000
_FOLD_MAX_DEPTH = 64
_NEVER_FOLDED = {"PlaceholderWithDefault"}  # has a kernel, but a feed replaces its value


def constant_value(t):
    """The value of ``t`` if it is known when the graph is built, else None.

    Known: a Const; the Shape, Size or Rank of a tensor whose static shape says it; and any other op
    without state whose inputs are all known, evaluated here with its NumPy kernel when its inputs and
    outputs are small (``tf.rank(x) - 1`` is known when the rank is).
    """
    return _constant_value(t, {}, 0)


def _constant_value(t, memo: dict, depth: int):
    if not isinstance(t, Tensor):
        return t
    if t not in memo:  # a DAG of constants is evaluated once per node, not once per path
        memo[t] = _evaluate(t, memo, depth)
    return memo[t]


def _evaluate(t: Tensor, memo: dict, depth: int):
    op = t.op
    if op.type == "Const":
        return op.attrs["value"]
    if op.type == "Shape" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.as_list(), dtype=op.outputs[0].dtype.as_numpy_dtype)
    if op.type == "Size" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.num_elements(), dtype=op.outputs[0].dtype.as_numpy_dtype)
    if op.type == "Rank" and op.inputs[0].shape.ndims is not None:
        return np.array(op.inputs[0].shape.ndims, dtype=np.int32)
    if op.type in ("Shape", "Size", "Rank"):
        return None  # computed from the input's value, which need not be known
    if op.type in ("Identity", "StopGradient"):
        return _constant_value(op.inputs[0], memo, depth + 1)
    opdef = op.op_def
    if (opdef.kernel is None or opdef.stateful or opdef.bind is not None or opdef.ref_inputs
            or op.type in _NEVER_FOLDED or depth >= _FOLD_MAX_DEPTH
            or any(k not in op.attrs for k in opdef.kernel_attrs)):
        return None
    # Pack, slices, concatenation and gathers of known values were always evaluated, whatever their size.
    if op.type not in ("Pack", "StridedSlice", "Slice", "ConcatV2", "GatherV2") and \
            not all(_small(x) for x in (*op.inputs, *op.outputs)):
        return None
    vals = []
    for x in op.inputs:
        v = _constant_value(x, memo, depth + 1)
        if v is None:
            return None
        vals.append(v)
    try:
        with np.errstate(all="ignore"):
            value = opdef.kernel(np, *vals, **{k: op.attrs[k] for k in opdef.kernel_attrs})
    except Exception:  # noqa: BLE001  (an invalid value is reported when the graph runs, as TF)
        return None
    value = np.asarray(value[t.value_index] if len(op.outputs) > 1 else value)
    if not t.shape.is_compatible_with(value.shape):
        return None
    return value if t.dtype is dtypes.string else value.astype(t.dtype.as_numpy_dtype, copy=False)


def _small(x: Tensor) -> bool:
    n = x.shape.num_elements()
    return n is not None and n <= _FOLD_MAX_ELEMENTS


def shape_tensor_as_static(t) -> TensorShape:
    """What a shape-valued tensor (the ``shape`` input of Reshape, Fill...) says statically."""
    v = constant_value(t)
    if v is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.asarray(v).reshape(-1)])
    if isinstance(t, Tensor) and t.op.type == "Shape":
        return t.op.inputs[0].shape
    if isinstance(t, Tensor) and t.op.type == "Pack":
        dims = []
        for i in t.op.inputs:
            c = constant_value(i)
            dims.append(None if c is None or int(c) < 0 else int(c))
        return TensorShape(dims)
    if isinstance(t, Tensor) and t.shape.ndims == 1 and t.shape[0].value is not None:
        return TensorShape([None] * t.shape[0].value)
    return TensorShape(None)


def shape_value(shape) -> tuple:
    """A shape tensor's value in a kernel (a host array of ints) as a tuple of Python ints."""
    return tuple(shape.tolist()) if hasattr(shape, "tolist") else tuple(int(d) for d in shape)


def broadcast_view(xp, x, dims: tuple):
    """``xp.broadcast_to(x, dims)``: for a C-contiguous NumPy ``x`` the same read-only zero-stride view,
    made directly (np.broadcast_to's Python layers cost a few microseconds, a kernel's whole budget)."""
    lead = len(dims) - x.ndim
    if xp is np and lead >= 0 and x.flags.c_contiguous and all(n in (1, d) for n, d in zip(x.shape, dims[lead:])):
        strides = (0,) * lead + tuple(st if n == d else 0 for n, d, st in zip(x.shape, dims[lead:], x.strides))
        view = np.ndarray(dims, x.dtype, x, 0, strides)
        view.flags.writeable = False
        return view
    return xp.broadcast_to(x, dims)  # and its error when x does not broadcast to dims


def shape_of(x: Tensor, dtype=dtypes.int32) -> Tensor:
    """``tf.shape(x)``, as a constant when the static shape is fully known (cheaper to run)."""
    from .array import shape as _shape
    from .constant import constant

    if x.shape.is_fully_defined():
        return constant(np.array(x.shape.as_list(), dtype=dtype.as_numpy_dtype), name="Shape")
    return _shape(x, out_type=dtype)


def normalize_axis(axis, ndims, what="axis"):
    """Python int or list of axes (negative allowed) -> tuple of non-negative ints; None -> None."""
    if axis is None:
        return None
    axes = [int(a) for a in np.asarray(axis).reshape(-1)]
    if ndims is None:
        if any(a < 0 for a in axes):
            return None
        return tuple(axes)
    out = []
    for a in axes:
        if not -ndims <= a < max(ndims, 1):
            raise ValueError(f"Invalid {what} {a} for a tensor of rank {ndims}")
        out.append(a % ndims if ndims else 0)
    return tuple(out)


def static_axis(axis, name="axis"):
    """Axis arguments must be known when the graph is built (a Python value or a Const)."""
    if axis is None:
        return None
    v = constant_value(axis) if isinstance(axis, Tensor) else axis
    if v is None:
        from ..framework import errors

        raise errors.UnimplementedError(None, getattr(axis, "op", None), f"{name} must be known when the graph is "
                                        f"built here (a computed {name} is not supported by this op): {axis!r}")
    v = np.asarray(v)
    return int(v) if v.ndim == 0 else tuple(int(a) for a in v.reshape(-1))


def to_tensor(x, dtype=None, name=None) -> Tensor:
    return convert_to_tensor(x, dtype=dtype, name=name)


def binary_inputs(x, y):
    """Convert ``x`` and ``y`` for a binary op: a Python value takes the tensor operand's dtype."""
    if _is_tensor_like(x) or not _is_tensor_like(y):
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=_dtype_for(y, x.dtype))
    else:
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype=_dtype_for(x, y.dtype))
    return x, y


def _dtype_for(value, dtype):
    """The dtype to convert ``value`` to next to a tensor of ``dtype``: its own if it is a tensor."""
    return None if _is_tensor_like(value) else dtype


def _is_tensor_like(value) -> bool:
    return isinstance(value, Tensor) or hasattr(value, "_as_graph_element")
