"""``tf.TensorArray``: a list of same-shaped tensors, as one dense tensor ``[size, *element_shape]``.

TF1's TensorArray is a resource plus a "flow" tensor threaded through writes. Here its value *is*
the flow: an array whose row ``i`` is element ``i`` (:attr:`TensorArray.handle`). A write makes a new
array with one row replaced, so a TensorArray is a plain value that a ``while_loop`` carries as a
loop variable and that gradients flow through like any tensor: the gradient of ``read(i)`` puts its
incoming gradient in row ``i`` of zeros, that of ``write(i, x)`` reads row ``i`` for ``x`` and zeroes it
for the array written into. ``stack`` is the array itself; ``unstack(x)`` makes ``x`` the array.

When the element shape is unknown until the first write (``element_shape=None``), the array is
allocated by that write (an :class:`Unallocated` placeholder value until then). ``dynamic_size``
arrays grow when written past their end. Not modelled: TF's errors for reading an element never
written (it reads zeros here) or writing one twice.
"""

from __future__ import annotations

import copy

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, as_shape
from .common import constant_value


class Unallocated:
    """The value of a TensorArray whose element shape is not known yet (nothing written)."""

    __slots__ = ("size", "dtype")

    def __init__(self, size: int, dtype):
        self.size = size
        self.dtype = dtype


def _index(i, name):
    i = int(np.asarray(i))
    if i < 0:
        raise errors.InvalidArgumentError(None, None, f"{name}: index {i} is negative")
    return i


def _new_kernel(xp, size, *, dtype, element_shape):
    n = int(np.asarray(size))
    if element_shape.is_fully_defined():
        return xp.zeros((n, *element_shape.as_list()), dtype.as_numpy_dtype)
    return Unallocated(n, dtype.as_numpy_dtype)


def _new_infer(op):
    n = constant_value(op.inputs[0])
    elem = op.attrs["element_shape"]
    lead = None if n is None or op.attrs["dynamic_size"] else int(n)
    return [(op.attrs["dtype"], TensorShape([lead]).concatenate(elem) if elem.ndims is not None else
             TensorShape(None))]


register(OpDef("TensorArray", _new_infer, _new_kernel, differentiable=False))


def _write_kernel(xp, handle, index, value, *, dynamic_size):
    i = _index(index, "TensorArrayWrite")
    value = xp.asarray(value)
    if isinstance(handle, Unallocated):
        handle = xp.zeros((handle.size, *value.shape), handle.dtype)
    size = handle.shape[0]
    if i >= size:
        if not dynamic_size:
            raise errors.InvalidArgumentError(
                None, None, f"Tried to write to index {i} but array is not resizeable and size is: {size}")
        handle = xp.concatenate([handle, xp.zeros((i + 1 - size, *handle.shape[1:]), handle.dtype)])
    elif value.ndim and value.shape != handle.shape[1:]:
        raise errors.InvalidArgumentError(
            None, None, f"Could not write to TensorArray index {i}: element shape {list(handle.shape[1:])} "
            f"but the value has shape {list(value.shape)}")
    out = handle.copy() if i < size else handle
    out[i] = value
    return out


def _write_infer(op):
    handle, _, value = op.inputs
    elem = handle.shape[1:] if handle.shape.ndims is not None else TensorShape(None)
    if value.shape.ndims not in (0, None):
        elem = elem.merge_with(value.shape) if elem.ndims is not None else value.shape
    lead = handle.shape[0] if handle.shape.ndims is not None else None
    if op.attrs["dynamic_size"]:
        lead = None
    return [(handle.dtype, TensorShape([lead]).concatenate(elem) if elem.ndims is not None else TensorShape(None))]


def _write_grad(op, g):
    handle, index, _ = op.inputs
    size = op.attrs.get("size_in")
    g_handle = make_op("TensorArrayUnwrite", [g, index] + ([size] if size is not None else []),
                       name="TensorArrayUnwrite").outputs[0]
    return [g_handle, None, _read(g, index)]


register(OpDef("TensorArrayWrite", _write_infer, _write_kernel, grad=_write_grad))


def _unwrite_kernel(xp, g, index, *size):
    i = int(np.asarray(index))
    n = int(np.asarray(size[0])) if size else g.shape[0]
    out = g[:n].copy()
    if i < n:
        out[i] = 0
    return out


def _unwrite_infer(op):
    g = op.inputs[0]
    return [(g.dtype, g.shape if len(op.inputs) == 2 else TensorShape(None))]


# the gradient of a write for the array written into (rows past ``size``, grown by it, dropped)
register(OpDef("TensorArrayUnwrite", _unwrite_infer, _unwrite_kernel,
               grad=lambda op, g: [make_op("TensorArrayUnwrite", [g] + op.inputs[1:]).outputs[0], None]
               + [None] * (len(op.inputs) - 2)))


def _read_kernel(xp, handle, index):
    if isinstance(handle, Unallocated):
        raise errors.InvalidArgumentError(None, None, f"Could not read from TensorArray index {int(index)} because "
                                          "it has not yet been written to.")
    i = _index(index, "TensorArrayRead")
    if i >= handle.shape[0]:
        raise errors.InvalidArgumentError(None, None, f"Tried to read from index {i} but array size is: "
                                          f"{handle.shape[0]}")
    return handle[i]


def _read_grad(op, g):
    from .array import zeros, zeros_like

    handle, index = op.inputs
    base = zeros(handle.shape.as_list(), handle.dtype) if handle.shape.is_fully_defined() else zeros_like(handle)
    return [make_op("TensorArrayWrite", [base, index, g], {"dynamic_size": False}).outputs[0], None]


register(OpDef("TensorArrayRead", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape[1:] if
                                               op.inputs[0].shape.ndims is not None else TensorShape(None))],
               _read_kernel, grad=_read_grad, view=True))


def _read(handle, index):
    return make_op("TensorArrayRead", [handle, convert_to_tensor(index, dtype=dtypes.int32)]).outputs[0]


def _stack_kernel(xp, handle, *, element_shape):
    if isinstance(handle, Unallocated):
        if handle.size == 0 and element_shape.is_fully_defined():
            return xp.zeros((0, *element_shape.as_list()), handle.dtype)
        raise errors.InvalidArgumentError(
            None, None, f"TensorArray has size {handle.size} but nothing was written to it, and element shape "
            f"{element_shape} is not fully defined: cannot stack it.")
    return handle


register(OpDef("TensorArrayStack", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _stack_kernel,
               grad=lambda op, g: [g], view=True))


def _size_kernel(xp, handle):
    return np.array(handle.size if isinstance(handle, Unallocated) else handle.shape[0], np.int32)


register(OpDef("TensorArraySize", lambda op: [(dtypes.int32, TensorShape([]))], _size_kernel,
               differentiable=False))


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
        """The array ``[size, *element_shape]`` (also :attr:`flow`)."""
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
        from .array import shape

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
            if self._dynamic_size:  # the gradient drops the rows this write grew the array by
                op.attrs["size_in"] = shape(self._handle)[0] if self._handle.shape.ndims else \
                    make_op("TensorArraySize", [self._handle]).outputs[0]
            return self._with_handle(op.outputs[0])

    def stack(self, name=None) -> Tensor:
        """All elements as one tensor ``[size, *element_shape]``."""
        with name_scope(name, "TensorArrayStack", [self._handle]):
            return make_op("TensorArrayStack", [self._handle], {"element_shape": self._element_shape}).outputs[0]

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
            return self._with_handle(make_op("Identity", [value], name="TensorArrayUnstack").outputs[0])

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
