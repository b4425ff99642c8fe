"""``tf.TensorArray``: a list of same-shaped tensors, threaded through writes as one value.

TF1's TensorArray is a resource plus a "flow" tensor threaded through writes. Here the flow *is* the
value: a :class:`TensorList`, an immutable tuple of element arrays (:attr:`TensorArray.handle`). A
write makes a new tuple with one element replaced (pointer copies, not data: a loop writing T
elements costs O(T) per write in pointers only), so a TensorArray is a plain value that a
``while_loop`` carries as a loop variable, and gradients flow through it as through any value. The
static shape of the handle tensor is ``[size, *element_shape]``, as if stacked.

Gradients are TensorLists too, ``None`` standing for a zero element: ``read(i)``'s puts its gradient
at ``i`` (``TensorArrayPutRow``), ``write(i, x)``'s reads element ``i`` for ``x``
(``TensorArrayGradRow``) and clears it for the list written into (``TensorArrayUnwrite``); ``stack``
and ``unstack`` are each other's gradient. Adding gradient lists adds elementwise (``np.add`` and
``np.zeros_like`` accept them), so ``AddN`` and the loops' accumulations work unchanged. As in TF,
writing an element twice is an InvalidArgumentError, and reading one never written gives zeros when
the element shape is known (else an InvalidArgumentError).
"""

from __future__ import annotations

import copy

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, as_shape
from .common import constant_value


class TensorList:
    """A TensorArray's value: ``items`` (a tuple of arrays, None where not written or zero) and the
    element ``dtype``. Immutable; ``np.add`` adds two lists elementwise, ``np.zeros_like`` gives an
    all-zero list of the same length."""

    __slots__ = ("items", "dtype")

    def __init__(self, items, dtype):
        self.items = tuple(items)
        self.dtype = np.dtype(dtype)

    def __len__(self):
        return len(self.items)

    def copy(self) -> "TensorList":
        return self

    def __add__(self, other):
        if not isinstance(other, TensorList):
            return NotImplemented
        if len(other) != len(self):
            raise ValueError(f"Cannot add TensorArray gradients of sizes {len(self)} and {len(other)}")
        return TensorList((b if a is None else a if b is None else a + b for a, b in zip(self.items, other.items)),
                          self.dtype)

    __radd__ = __add__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.add and method == "__call__" and len(inputs) == 2 and not kwargs:
            return inputs[0] + inputs[1]
        return NotImplemented

    def __array_function__(self, func, types, args, kwargs):
        if func is np.zeros_like:
            return TensorList([None] * len(self), self.dtype)
        return NotImplemented

    def __repr__(self):
        return f"<TensorList of {len(self)} {self.dtype}>"


def _as_int(x) -> int:
    """An index or size as a Python int (a device scalar is read back: ``get()``)."""
    return int(x.get() if hasattr(x, "get") and not isinstance(x, (np.ndarray, np.generic)) else np.asarray(x))


def _index(i, name):
    i = _as_int(i)
    if i < 0:
        raise errors.InvalidArgumentError(None, None, f"{name}: index {i} is negative")
    return i


def _handle_shape(lead, elem: TensorShape) -> TensorShape:
    return TensorShape([lead]).concatenate(elem) if elem.ndims is not None else TensorShape(None)


def _new_kernel(xp, size, *, dtype):
    return TensorList([None] * _as_int(size), dtype.as_numpy_dtype)


def _new_infer(op):
    n = constant_value(op.inputs[0])
    lead = None if n is None or op.attrs["dynamic_size"] else int(n)
    return [(op.attrs["dtype"], _handle_shape(lead, op.attrs["element_shape"]))]


register(OpDef("TensorArray", _new_infer, _new_kernel, differentiable=False))


def _write_kernel(xp, handle, index, value, *, dynamic_size):
    i = _index(index, "TensorArrayWrite")
    items = list(handle.items)
    if i >= len(items):
        if not dynamic_size:
            raise errors.InvalidArgumentError(
                None, None, f"Tried to write to index {i} but array is not resizeable and size is: {len(items)}")
        items.extend([None] * (i + 1 - len(items)))
    elif items[i] is not None:
        raise errors.InvalidArgumentError(None, None, f"Could not write to TensorArray index {i} because it has "
                                          "already been written to.")
    items[i] = xp.asarray(value)
    return TensorList(items, handle.dtype)


def _write_infer(op):
    handle, _, value = op.inputs
    elem = handle.shape[1:] if handle.shape.ndims is not None else TensorShape(None)
    elem = elem.merge_with(value.shape) if elem.ndims is not None else value.shape
    lead = None if op.attrs["dynamic_size"] or handle.shape.ndims is None else handle.shape[0]
    return [(handle.dtype, _handle_shape(lead, elem))]


def _write_grad(op, g):
    handle, index, value = op.inputs
    size = op.attrs.get("size_in")
    g_handle = make_op("TensorArrayUnwrite", [g, index] + ([size] if size is not None else []),
                       name="TensorArrayUnwrite").outputs[0]
    g_value = make_op("TensorArrayGradRow", [g, index, value], name="TensorArrayGradRow").outputs[0]
    return [g_handle, None, g_value]


register(OpDef("TensorArrayWrite", _write_infer, _write_kernel, grad=_write_grad))


def _unwrite_kernel(xp, g, index, *size):
    i = _as_int(index)
    n = _as_int(size[0]) if size else len(g)
    items = list(g.items[:n])
    if i < n:
        items[i] = None
    return TensorList(items, g.dtype)


def _unwrite_infer(op):
    g = op.inputs[0]
    return [(g.dtype, g.shape if len(op.inputs) == 2 else TensorShape(None))]


# the gradient of a write, for the list written into (elements past ``size``, grown by it, dropped)
register(OpDef("TensorArrayUnwrite", _unwrite_infer, _unwrite_kernel, differentiable=False))


def _grad_row_kernel(xp, g, index, like):
    row = g.items[_as_int(index)] if _as_int(index) < len(g) else None
    return xp.zeros_like(like) if row is None else row


# the gradient of a write, for the value written: element ``index`` of the list's gradient (or zeros)
register(OpDef("TensorArrayGradRow", lambda op: [(op.inputs[2].dtype, op.inputs[2].shape)], _grad_row_kernel,
               differentiable=False))


def _unwritten(xp, handle, i, element_shape):
    """What TF reads from an element never written: zeros when the element shape is known (statically,
    or from a written element), else an InvalidArgumentError."""
    for r in handle.items:
        if r is not None:
            return xp.zeros_like(r)
    if element_shape.is_fully_defined():
        return xp.zeros(element_shape.as_list(), handle.dtype)
    raise errors.InvalidArgumentError(
        None, None, f"Could not read from TensorArray index {i}.  Furthermore, the element shape is not fully "
        f"defined: {element_shape}.  If you set the full element_shape property on the TensorArray, the "
        "proper all-zeros tensor will be returned instead of incurring this error.")


def _read_kernel(xp, handle, index, *, element_shape):
    i = _index(index, "TensorArrayRead")
    if i >= len(handle):
        raise errors.InvalidArgumentError(None, None, f"Tried to read from index {i} but array size is: {len(handle)}")
    row = handle.items[i]
    return _unwritten(xp, handle, i, element_shape) if row is None else row


def _read_grad(op, g):
    handle, index = op.inputs
    return [make_op("TensorArrayPutRow", [handle, index, g], name="TensorArrayPutRow").outputs[0], None]


register(OpDef("TensorArrayRead", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape[1:] if
                                               op.inputs[0].shape.ndims is not None else TensorShape(None))],
               _read_kernel, grad=_read_grad, view=True))


def _put_row_kernel(xp, like, index, g):
    items = [None] * len(like)
    items[_as_int(index)] = g
    return TensorList(items, like.dtype)


# the gradient of a read: a list the length of the one read, zero but for element ``index``
register(OpDef("TensorArrayPutRow", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _put_row_kernel,
               differentiable=False))


def _stack_kernel(xp, handle, *, element_shape):
    rows = handle.items
    if not rows:
        if element_shape.is_fully_defined():
            return xp.zeros((0, *element_shape.as_list()), handle.dtype)
        raise errors.InvalidArgumentError(
            None, None, f"TensorArray has size zero, but element shape {element_shape} is not fully defined. "
            "Currently only static shapes are supported when packing zero-size TensorArrays.")
    return xp.stack([_unwritten(xp, handle, i, element_shape) if r is None else r for i, r in enumerate(rows)])


def _stack_grad(op, g):
    return [make_op("TensorArrayUnstack", [g], {"dtype": op.inputs[0].dtype}).outputs[0]]


register(OpDef("TensorArrayStack", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _stack_kernel,
               grad=_stack_grad))


def _unstack_kernel(xp, value, *, dtype):
    value = xp.asarray(value)
    return TensorList(list(value), value.dtype)


def _unstack_grad(op, g):
    return [make_op("TensorArrayGradStack", [g, op.inputs[0]]).outputs[0]]


register(OpDef("TensorArrayUnstack", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _unstack_kernel,
               grad=_unstack_grad))


def _grad_stack_kernel(xp, g, like):
    if isinstance(g, TensorList):
        return xp.stack([xp.zeros_like(like[i]) if r is None else r for i, r in enumerate(g.items)]) if len(g) \
            else xp.zeros_like(like)
    return g


# the gradient of an unstack: the gradient list stacked, zeros for its zero elements
register(OpDef("TensorArrayGradStack", lambda op: [(op.inputs[1].dtype, op.inputs[1].shape)], _grad_stack_kernel,
               differentiable=False))


def _size_kernel(xp, handle):
    return np.array(len(handle), np.int32)


register(OpDef("TensorArraySize", lambda op: [(dtypes.int32, TensorShape([]))], _size_kernel,
               differentiable=False))


def _element_shape(handle: Tensor) -> TensorShape:
    return handle.shape[1:] if handle.shape.ndims is not None else TensorShape(None)


def _read(handle, index):
    return make_op("TensorArrayRead", [handle, convert_to_tensor(index, dtype=dtypes.int32)],
                   {"element_shape": _element_shape(handle)}).outputs[0]


class TensorArray:
    """A list of tensors of one dtype and shape (TF1's ``tf.TensorArray``), written and read by index,
    typically inside ``tf.while_loop``.

    Examples
    --------
    >>> import dataflow as tf
    >>> ta = tf.TensorArray(tf.float32, size=3)
    >>> _, ta = tf.while_loop(lambda i, ta: i < 3,
    ...                       lambda i, ta: (i + 1, ta.write(i, tf.cast(i, tf.float32) * 2.0)), [0, ta])
    >>> print(tf.Session().run(ta.stack()))
    [0. 2. 4.]
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):
        if handle is None and flow is None and size is None:
            raise ValueError("Size must be provided if handle is not provided")
        if (handle is not None or flow is not None) and size is not None:
            raise ValueError("Cannot provide both a handle and size at the same time")
        self._dtype = dtypes.as_dtype(dtype)
        self._dynamic_size = bool(dynamic_size)
        self._infer_shape = infer_shape
        self._element_shape = as_shape(element_shape) if element_shape is not None else TensorShape(None)
        self._size_in = None
        given = flow if flow is not None else handle
        if given is not None:
            self._handle = convert_to_tensor(given)
            return
        with name_scope(name, "TensorArray", [size]) as scope:
            size = convert_to_tensor(size, dtype=dtypes.int32, name="size")
            self._handle = make_op("TensorArray", [size], {"dtype": self._dtype, "element_shape": self._element_shape,
                                                           "dynamic_size": self._dynamic_size}, scope).outputs[0]

    # ---- the value ----------------------------------------------------------------------------
    @property
    def handle(self) -> Tensor:
        """The value (a :class:`TensorList`, static shape ``[size, *element_shape]``; also :attr:`flow`)."""
        return self._handle

    flow = handle

    @property
    def dtype(self):
        return self._dtype

    @property
    def dynamic_size(self) -> bool:
        return self._dynamic_size

    @property
    def element_shape(self) -> TensorShape:
        s = self._handle.shape
        return s[1:] if s.ndims is not None else self._element_shape

    def _with_handle(self, handle: Tensor) -> "TensorArray":
        out = copy.copy(self)
        out._handle = handle
        return out

    # ---- reads and writes ---------------------------------------------------------------------
    def read(self, index, name=None) -> Tensor:
        """Element ``index``."""
        with name_scope(name, "TensorArrayRead", [self._handle]):
            return _read(self._handle, index)

    def write(self, index, value, name=None) -> "TensorArray":
        """A TensorArray with element ``index`` set to ``value`` (use the result, as in TF)."""
        with name_scope(name, "TensorArrayWrite", [self._handle]):
            value = convert_to_tensor(value)
            if value.dtype is not self._dtype:
                raise errors.InvalidArgumentError(None, None, f"TensorArray dtype is {self._dtype.name} but Op is "
                                                  f"trying to write dtype {value.dtype.name}")
            elem = self.element_shape
            if self._infer_shape and elem.ndims is not None and not elem.is_compatible_with(value.shape):
                raise ValueError(f"Inconsistent shapes: saw {value.shape} but expected {elem} "
                                 "(and infer_shape=True)")
            index = convert_to_tensor(index, dtype=dtypes.int32)
            inputs = [self._handle, index, value]
            op = make_op("TensorArrayWrite", inputs, {"dynamic_size": self._dynamic_size})
            if self._dynamic_size:  # the gradient drops the elements this write grew the list by
                op.attrs["size_in"] = make_op("TensorArraySize", [self._handle]).outputs[0]
            return self._with_handle(op.outputs[0])

    def stack(self, name=None) -> Tensor:
        """All elements as one tensor ``[size, *element_shape]``."""
        with name_scope(name, "TensorArrayStack", [self._handle]):
            elem = _element_shape(self._handle)
            return make_op("TensorArrayStack", [self._handle], {"element_shape": elem}).outputs[0]

    def gather(self, indices, element_shape=None, name=None) -> Tensor:
        """Elements ``indices`` stacked."""
        from .gather import gather

        with name_scope(name, "TensorArrayGather", [self._handle]):
            return gather(self.stack(), indices)

    def concat(self, name=None) -> Tensor:
        """The elements concatenated along their first axis."""
        from .array import reshape, shape
        from .indexing import concat

        with name_scope(name, "TensorArrayConcat", [self._handle]):
            stacked = self.stack()
            dims = shape(stacked)
            return reshape(stacked, concat([[-1], dims[2:]], 0))

    def unstack(self, value, name=None) -> "TensorArray":
        """A TensorArray whose element ``i`` is ``value[i]``."""
        with name_scope(name, "TensorArrayUnstack", [value]):
            value = convert_to_tensor(value, dtype=self._dtype)
            return self._with_handle(make_op("TensorArrayUnstack", [value], {"dtype": self._dtype}).outputs[0])

    def scatter(self, indices, value, name=None) -> "TensorArray":
        """A TensorArray with elements ``indices`` set to the rows of ``value``."""
        ta = self
        idx = constant_value(convert_to_tensor(indices))
        if idx is None:
            raise NotImplementedError("TensorArray.scatter needs constant indices")
        value = convert_to_tensor(value, dtype=self._dtype)
        with name_scope(name, "TensorArrayScatter", [value]):
            for k, i in enumerate(np.asarray(idx).ravel().tolist()):
                ta = ta.write(int(i), value[k])
        return ta

    def size(self, name=None) -> Tensor:
        """The number of elements (an int32 scalar)."""
        with name_scope(name, "TensorArraySize", [self._handle]):
            return make_op("TensorArraySize", [self._handle]).outputs[0]

    def identity(self) -> "TensorArray":
        from .array import identity

        return self._with_handle(identity(self._handle))

    def close(self, name=None):
        from .constant import no_op

        return no_op(name=name or "TensorArrayClose")

    def __repr__(self):
        return f"<dataflow.TensorArray dtype={self._dtype.name} handle={self._handle.name}>"
