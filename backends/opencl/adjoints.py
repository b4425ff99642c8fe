"""OpenCL kernels of the adjoints of index maps: ``StridedSliceGrad``, ``MirrorPadGrad`` and ``ScatterNd``.

Each is the gradient of a gather (StridedSlice, MirrorPad, GatherNd): the map of that gather is made on
the host by its forward NumPy kernel over an ``arange`` of the input's shape (``movement.host_maps``:
one source of truth for the semantics), inverted into a CSR map (``movement.inverse``) and uploaded,
then one kernel (``movement.gather_sum``) adds, per output element, the incoming values of the positions
that read it (no atomics; repeated ScatterNd indices add up, as TF). The maps depend only on shapes and
small host values (begin/end/strides, paddings), so they are cached; ScatterNd's depend on its indices,
read on the host as the segment ids are (``segments.py``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from dataflow.framework.registry import OP_DEFS
from dataflow.ops.common import shape_value

from . import movement as mv
from .kernels import _host, _np, kernel


def _forward(op_type, op):
    """The NumPy kernel of the forward op ``op_type`` with ``op``'s attrs bound."""
    opdef = OP_DEFS[op_type]
    return functools.partial(opdef.kernel, **{k: op.attrs[k] for k in opdef.kernel_attrs if k in op.attrs})


def _adjoint(dev, cache, forward, in_shape, params, g):
    """``gather_sum`` of ``g`` through the inverse of ``forward``'s map over an input of ``in_shape``."""
    key = (in_shape, tuple((p.dtype.str, p.shape, p.tobytes()) for p in params))

    def make():
        m, = mv.host_maps(forward, [in_shape], params, 1)
        return mv.inverse(dev, m, math.prod(in_shape)), m.shape
    (order, starts), m_shape = cache.get(key, make)
    if tuple(m_shape) != tuple(g.shape):
        raise ValueError(f"gradient shape {list(g.shape)} does not match the forward output {list(m_shape)}")
    return mv.gather_sum(dev, g, order, starts, in_shape)


def _floating_or_int(op):
    return np.dtype(_np(op.outputs[0].dtype)).kind in "iuf"


@kernel("StridedSliceGrad")
def _strided_slice_grad(dev, op, state=None):
    forward, cache = _forward("StridedSlice", op), mv.MapCache(64)

    def run(shape, begin, end, strides, dy):
        in_shape = tuple(int(d) for d in shape_value(_host(shape)))
        return _adjoint(dev, cache, forward, in_shape, [_host(v) for v in (begin, end, strides)], dev.operand(dy))
    return run if _floating_or_int(op) else None


@kernel("MirrorPadGrad")
def _mirror_pad_grad(dev, op, state=None):
    forward, cache = _forward("MirrorPad", op), mv.MapCache(64)

    def run(g, paddings):
        g, paddings = dev.operand(g), _host(paddings)
        in_shape = tuple(int(d) - int(a) - int(b) for d, (a, b) in zip(g.shape, paddings.reshape(-1, 2)))
        return _adjoint(dev, cache, forward, in_shape, [paddings], g)
    return run if _floating_or_int(op) else None


@kernel("ScatterNd")
def _scatter_nd(dev, op, state=None):
    forward, cache = _forward("GatherNd", op), mv.MapCache(8)

    def run(indices, updates, shape):
        indices, updates = _host(indices), dev.operand(updates)
        out_shape = tuple(int(d) for d in shape_value(_host(shape)))
        want = indices.shape[:-1] + out_shape[indices.shape[-1]:]
        if tuple(updates.shape) != want:
            raise ValueError(f"updates must have shape {list(want)} for indices of shape {list(indices.shape)} "
                             f"into shape {list(out_shape)}, got {list(updates.shape)}")
        return _adjoint(dev, cache, forward, out_shape, [indices], updates)
    return run if _floating_or_int(op) else None
