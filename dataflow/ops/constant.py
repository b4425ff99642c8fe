"""Graph inputs: constants, placeholders, and the ops that only order others (NoOp, group)."""

from __future__ import annotations

import numpy as np

from ..framework import dtypes
from ..framework.graph import Operation, Tensor, get_default_graph, graph_of, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, as_shape


def _const_infer(op):
    v = op.attrs["value"]
    return [(op.attrs["dtype"], TensorShape(v.shape))]


# Const, Placeholder and NoOp have no kernel: the runtime binds a Const's value, takes a Placeholder's
# value from the feeds, and a NoOp only orders its control inputs.
register(OpDef("Const", _const_infer, differentiable=False))
# a function body's argument for a captured variable is a ref placeholder (attr is_ref)
register(OpDef("Placeholder", lambda op: [(op.attrs["dtype"], op.attrs["shape"], op.attrs.get("is_ref", False))],
               differentiable=False))
register(OpDef("NoOp", lambda op: [], differentiable=False))


def _with_default_kernel(xp, x):
    return x


register(OpDef("PlaceholderWithDefault", lambda op: [(op.inputs[0].dtype, op.attrs["shape"])],
               _with_default_kernel, grad=lambda op, g: [g], view=True))


def to_numpy(value, dtype: dtypes.DType | None = None) -> np.ndarray:
    """A Python/NumPy value as a NumPy array of ``dtype`` (TF's rules: Python floats are float32).

    Raises TypeError when the value does not fit the dtype (2.5 as an int32, a string as a float).
    """
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(value)):
        raise TypeError("Lists of tensors are converted with tf.stack, not tf.constant")
    if dtype is None:
        dtype = dtypes.infer_dtype(value)
    if dtype is dtypes.string:
        arr = np.asarray(value, dtype=object)
        return np.vectorize(lambda s: s.encode() if isinstance(s, str) else s, otypes=[object])(arr) \
            if arr.size else arr
    arr = np.asarray(value)
    npd = np.dtype(dtype.as_numpy_dtype)
    if arr.dtype.kind in "OSU":
        raise TypeError(f"Expected {dtype.name}, got {value!r} of type '{type(value).__name__}' instead.")
    if arr.dtype.kind in "fc" and npd.kind in "iub" and not np.all(np.isfinite(arr) & (arr == np.round(arr.real))):
        raise TypeError(f"Expected {dtype.name}, got {value!r} of type '{type(value).__name__}' instead.")
    if arr.dtype.kind == "c" and npd.kind != "c":
        raise TypeError(f"Expected {dtype.name}, got complex value {value!r}.")
    out = arr.astype(npd)
    if npd.kind in "iu" and arr.dtype.kind in "iu" and arr.size and not np.array_equal(out, arr):
        raise TypeError(f"Value {value!r} out of range for {dtype.name}")
    return out


def _flat(value):
    for v in value:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False) -> Tensor:
    """``tf.constant``: a tensor whose value is fixed in the graph.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.constant(5, shape=[2]))
    array([5, 5], dtype=int32)
    >>> tf.Session().run(tf.constant([1, 2], shape=[4]))  # the last element fills the rest
    array([1, 2, 2, 2], dtype=int32)
    """
    dtype = dtypes.infer_dtype(value) if dtype is None else dtypes.as_dtype(dtype)
    arr = to_numpy(value, dtype)
    if shape is not None:
        shape = tuple(as_shape(shape).as_list())
        if arr.shape != shape:
            if verify_shape:
                raise TypeError(f"Expected Tensor's shape: {shape}, got {arr.shape}.")
            n = int(np.prod(shape))
            if n == 0:  # as TF: an empty shape takes no elements from the value
                arr = arr.reshape(-1)[:0]
            if arr.size > n:
                raise ValueError(f"Too many elements provided. Needed at most {n}, but received {arr.size}")
            flat = arr.reshape(-1)
            if 0 < flat.size < n:  # NOTE: as TF1, the last element fills the rest: [1, 2] as [4] is [1, 2, 2, 2]
                flat = np.concatenate([flat, np.full(n - flat.size, flat[-1], dtype=arr.dtype)])
            arr = flat.reshape(shape) if flat.size == n else \
                np.full(shape, b"" if arr.dtype == object else 0, dtype=arr.dtype)  # no value: zeros
    arr.setflags(write=False)
    return make_op("Const", [], {"value": arr, "dtype": dtype}, name).outputs[0]


def placeholder(dtype, shape=None, name=None) -> Tensor:
    """``tf.placeholder``: a tensor whose value must be fed to ``Session.run``."""
    return get_default_graph().create_op("Placeholder", [], {"dtype": dtypes.as_dtype(dtype),
                                                             "shape": as_shape(shape)}, name).outputs[0]


def placeholder_with_default(input, shape, name=None) -> Tensor:
    """A placeholder that yields ``input`` when it is not fed."""
    from ..framework.graph import convert_to_tensor

    x = convert_to_tensor(input)
    shape = as_shape(shape)
    if not x.shape.is_compatible_with(shape):
        raise ValueError(f"Shapes {x.shape} and {shape} are incompatible for placeholder_with_default")
    return make_op("PlaceholderWithDefault", [x], {"shape": shape}, name).outputs[0]


def no_op(name=None) -> Operation:
    """An op that does nothing; its control inputs still run."""
    return get_default_graph().create_op("NoOp", [], {}, name)


def group(*inputs, name=None) -> Operation:
    """``tf.group``: one op that runs after all ``inputs`` (ops or tensors)."""
    ops = []
    for x in inputs:
        for item in (x if isinstance(x, (list, tuple)) else [x]):
            ops.append(item if isinstance(item, Operation) else getattr(item, "op", item))
    graph = graph_of(ops)
    with graph.as_default(), graph.control_dependencies(ops), name_scope(name, "group_deps", ops) as n:
        return graph.create_op("NoOp", [], {}, n)


def tuple_(tensors, name=None, control_inputs=None):
    """``tf.tuple``: the tensors, each gated on all of them being computed."""
    from .array import identity

    tensors = list(tensors)
    with name_scope(name, "tuple", tensors):
        gate = group(*[t for t in tensors if t is not None], *(control_inputs or []))
        out = []
        with get_default_graph().control_dependencies([gate]):
            for t in tensors:
                out.append(None if t is None else identity(t))
    return out
