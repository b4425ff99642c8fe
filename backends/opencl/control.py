"""Control flow on the OpenCL device: ``While``/``If`` (and their gradients) and TensorArrays.

A functional op's kernel is its NumPy kernel over programs compiled for this device: binding it
places the bodies' ops (``dataflow/runtime/program.py``: their own ``tf.device``, else this device,
soft placement to the CPU) and generates each segment for its backend. So a loop's variables stay
device arrays across iterations; the kernel reads back only the scalar predicate of each iteration.
Whether a kernel exists does not depend on the body (``has_kernel`` is true): a body op with no
kernel here is placed on its own, as TF places each op of a function body.

A TensorArray's value is a :class:`~dataflow.ops.tensor_array.TensorList` of device arrays: its ops
are the NumPy kernels over a small vocabulary (:class:`ListVocab`: ``asarray`` uploads, ``zeros``
fills, ``stack`` copies rows into one buffer); ``unstack`` copies each row into an array of its own
(device copies, ``enqueue_copy``: no host round trip). Gradients of TensorArrays are TensorLists too:
``AddN`` sums them element by element (one generated kernel per element, ``None`` being zero).
"""

from __future__ import annotations

import functools

import numpy as np

from dataflow.framework.registry import OP_DEFS

from ..base import Backend
from . import elementwise as ew
from . import vocab
from .kernels import KERNELS, kernel


@kernel("While", "If", "WhileGrad", "IfGrad")
def _functional(dev, op, state=None):
    if state is None:  # asked only whether a kernel exists: the bodies are placed op by op when bound
        return _functional
    return Backend.bind(dev.backend, op, state)


class ListVocab:
    """The array functions the TensorArray kernels call (``xp.asarray``, ``zeros``, ``stack``), on one device."""

    def __init__(self, dev):
        self.dev = dev

    def asarray(self, x):
        return self.dev.operand(x)

    def zeros(self, shape, dtype):
        return vocab.fill(self.dev, tuple(int(d) for d in shape), np.dtype(dtype), 0)

    def zeros_like(self, x):
        return self.zeros(x.shape, x.dtype)

    def stack(self, rows):
        return stack(self.dev, rows)


def _copy_into(dev, dst, dst_offset: int, src, src_offset: int, nbytes: int) -> None:
    if nbytes:
        dev.cl.enqueue_copy(dev.queue, dst.base_data, src.base_data, byte_count=nbytes,
                            src_offset=src.offset + src_offset, dst_offset=dst.offset + dst_offset)


def stack(dev, rows):
    """Device arrays of one shape stacked along a new first axis (one device copy per row)."""
    rows = [dev.operand(r) for r in rows]
    shape, dtype = tuple(rows[0].shape), rows[0].dtype
    for r in rows[1:]:
        if tuple(r.shape) != shape:
            raise ValueError(f"all input arrays must have the same shape: {shape} and {tuple(r.shape)}")
    out = dev.empty((len(rows), *shape), dtype)
    for k, r in enumerate(rows):
        _copy_into(dev, out, k * r.nbytes, r, 0, r.nbytes)
    return out


def unstack(dev, value) -> list:
    """The rows of a device array along its first axis, each a device array of its own."""
    v = dev.operand(value)
    if v.ndim == 0:
        raise ValueError("Cannot unstack a scalar (a TensorArray needs a value of rank 1 or more)")
    rows = []
    for k in range(v.shape[0]):
        r = dev.empty(v.shape[1:], v.dtype)
        _copy_into(dev, r, 0, v, k * r.nbytes, r.nbytes)
        rows.append(r)
    return rows


_LIST_OPS = ("TensorArray", "TensorArrayWrite", "TensorArrayRead", "TensorArrayUnwrite", "TensorArrayGradRow",
             "TensorArrayPutRow", "TensorArrayStack", "TensorArrayGradStack", "TensorArraySize")


@kernel(*_LIST_OPS)
def _list_op(dev, op, state=None):
    if np.dtype(op.outputs[0].dtype.as_numpy_dtype).kind not in "biuf":
        return None  # string TensorArrays stay on the host
    opdef = OP_DEFS[op.type]
    attrs = {k: op.attrs[k] for k in opdef.kernel_attrs if k in op.attrs}
    return functools.partial(opdef.kernel, ListVocab(dev), **attrs)


@kernel("TensorArrayUnstack")
def _unstack_op(dev, op, state=None):
    from dataflow.ops.tensor_array import TensorList

    dtype = np.dtype(op.attrs["dtype"].as_numpy_dtype)
    if dtype.kind not in "biuf":
        return None
    return lambda value: TensorList(unstack(dev, value), dtype)


_ADD_N = KERNELS["AddN"]


@kernel("AddN")
def _add_n(dev, op, state=None):
    k = _ADD_N(dev, op, state)
    if k is None:
        return None
    return lambda *xs: add_lists(dev, xs) if _is_list(xs[0]) else k(*xs)


def _is_list(x) -> bool:
    from dataflow.ops.tensor_array import TensorList

    return isinstance(x, TensorList)


def add_lists(dev, lists):
    """TensorLists summed element by element (a gradient reaching a TensorArray by several paths)."""
    from dataflow.ops.tensor_array import TensorList

    n = len(lists[0])
    if any(len(x) != n for x in lists):
        raise ValueError(f"Cannot add TensorArray gradients of sizes {sorted({len(x) for x in lists})}")
    items = []
    for i in range(n):
        present = [dev.operand(x.items[i]) for x in lists if x.items[i] is not None]
        if len(present) > 1:
            text = " + ".join(f"in{k}" for k in range(len(present)))
            shape = np.broadcast_shapes(*[tuple(p.shape) for p in present])
            present = ew.run(dev, [], [(text, present[0].dtype, None)], present, shape)
        items.append(present[0] if present else None)
    return TensorList(items, lists[0].dtype)
