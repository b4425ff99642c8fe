"""OpenCL kernels of the segment reductions, one-hot encoding, ranges and cumulative sums and products.

- Segment reductions (``SegmentSum/Max/Min``, ``UnsortedSegmentSum/Max/Min``: the gradient of a gather,
  so of embedding lookups) read the segment ids on the host: the ids are indices, like the index maps of
  ``movement.py``. They are validated there by the op's own NumPy kernel (run on a zero-width copy of the
  data: TF's error messages, no data copied), sorted into a CSR map (``order``, ``starts``: the rows of each
  segment, in their original order) and uploaded; the data stay on the device, and one kernel
  (:func:`movement.segment_reduce`) reduces each (segment, column) element over its rows, with no atomics.
- ``OneHot`` is one elementwise kernel: the indices broadcast along the new axis, compared with an
  ``arange(depth)`` that varies only along it.
- ``Range`` and ``LinSpace`` are one elementwise kernel over the element index; the size is computed on the host from the
  three scalars (as TF, which keeps them in host memory).
- ``Cumsum`` and ``Cumprod`` are one scan kernel: a work item per line along the axis (exclusive and
  reverse as TF).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from dataflow.framework.registry import OP_DEFS

from . import elementwise as ew
from . import movement as mv
from .kernels import _host, _np, kernel
from .runtime import ctype

# op type -> (reduction, sorted ids)
_SEGMENTS = {"SegmentSum": ("sum", True), "SegmentMax": ("max", True), "SegmentMin": ("min", True),
             "UnsortedSegmentSum": ("sum", False), "UnsortedSegmentMax": ("max", False),
             "UnsortedSegmentMin": ("min", False)}


def _extreme(dtype, kind):
    dtype = np.dtype(dtype)
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return info.min if kind == "max" else info.max


@kernel(*_SEGMENTS)
def _segment(dev, op, state=None):
    kind, sorted_ids = _SEGMENTS[op.type]
    dt = _np(op.outputs[0].dtype)
    if np.dtype(dt).kind not in "biuf" or np.dtype(dt) == bool:
        return None
    ref = OP_DEFS[op.type].kernel

    def run(data, ids, *num):
        data, ids = dev.operand(data), _host(ids)
        k = ids.ndim
        probe_shape = tuple(data.shape[:k]) + ((0,) if data.ndim > k else ())
        probe = np.zeros(probe_shape if data.ndim >= k else data.shape, data.dtype)
        n = ref(np, probe, ids, *[_host(v) for v in num]).shape[0]  # validates: TF's errors
        flat = ids.reshape(-1).astype(np.int64)
        valid = np.nonzero(flat >= 0)[0]
        order = valid[np.argsort(flat[valid], kind="stable")]
        starts = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(flat[valid], minlength=n), out=starts[1:])
        inner = math.prod(data.shape[k:])
        # NOTE: as TF, an empty segment is 0, except the unsorted max/min's (the dtype's lowest/highest)
        empty = 0 if kind == "sum" or sorted_ids else _extreme(dt, kind)
        return mv.segment_reduce(dev, data, mv.upload_map(dev, order), mv.upload_map(dev, starts),
                                 (n,) + tuple(data.shape[k:]), inner, kind, empty)
    return run


@kernel("OneHot")
def _one_hot(dev, op, state=None):
    axis, dt = op.attrs["axis"], _np(op.outputs[0].dtype)
    if np.dtype(dt).kind not in "biuf":
        return None
    ref = OP_DEFS["OneHot"].kernel

    def run(indices, depth, on, off):
        indices, depth = dev.operand(indices), int(_host(depth))
        if depth < 0:
            ref(np, np.zeros((0,), np.int32), depth, None, None, axis=axis)  # raises TF's message
        ax = indices.ndim if axis == -1 else axis
        shape = tuple(indices.shape[:ax]) + (depth,) + tuple(indices.shape[ax:])
        st = list(ew.contiguous_strides(indices.shape))
        ids_strides = tuple(st[:ax]) + (0,) + tuple(st[ax:])
        iota = dev.operand(np.arange(depth, dtype=indices.dtype))
        iota_strides = tuple(1 if d == ax else 0 for d in range(len(shape)))
        on, off = (v if isinstance(v, np.ndarray) else dev.operand(v) for v in (on, off))
        return ew.run(dev, [], [("in0 == in1 ? in2 : in3", dt, None)],
                      [(indices, ids_strides, 0), (iota, iota_strides, 0), on, off], shape)[0]
    return run


@kernel("Range")
def _range(dev, op, state=None):
    from dataflow.ops.gather import _range_size

    dt = _np(op.outputs[0].dtype)

    def run(start, limit, delta):
        s, lim, d = (_host(v).item() for v in (start, limit, delta))
        n = _range_size(s, lim, d, np.dtype(dt).kind in "iu")
        # NOTE: start + i * delta, as np.arange, in the output dtype
        return ew.run(dev, [], [(f"in0 + ({ctype(dt)})i * in1", dt, None)],
                      [np.asarray(s, dt), np.asarray(d, dt)], (n,))[0]
    return run


@kernel("LinSpace")
def _lin_space(dev, op, state=None):
    dt = _np(op.outputs[0].dtype)
    ref = OP_DEFS["LinSpace"].kernel

    def run(start, stop, num):
        start, stop, n = _host(start), _host(stop), int(_host(num))
        if n <= 0:
            ref(np, start, stop, n)  # raises TF's message
        # NOTE: as np.linspace: i * step + start in the dtype, the last element exactly stop
        step = np.asarray((stop - start) / max(n - 1, 1), dt)
        return ew.run(dev, [], [(f"(i == in2 && i > 0) ? in3 : ({ctype(dt)})i * in1 + in0", dt, None)],
                      [np.asarray(start, dt), step, np.int64(n - 1), np.asarray(stop, dt)], (n,))[0]
    return run


@lru_cache(maxsize=64)
def _scan_source(dtype: str, prod: bool, exclusive: bool, reverse: bool) -> str:
    t = ctype(dtype)
    op = "*" if prod else "+"
    first, step = ("(m - 1)", "-inner") if reverse else ("0", "inner")
    body = (f"out[p] = acc; acc = acc {op} x[p];" if exclusive else f"acc = acc {op} x[p]; out[p] = acc;")
    return f"""
__kernel void scan(__global {t} *out, __global const {t} *x, const long m, const long inner, const long n) {{
    const long w = get_global_id(0); if (w < n) {{
        const long o = w / inner, j = w % inner;
        long p = (o * m + {first}) * inner + j;
        {t} acc = ({t}){1 if prod else 0};
        for (long q = 0; q < m; q++, p += {step}) {{ {body} }}
    }}
}}
"""


@kernel("Cumsum", "Cumprod")
def _scan(dev, op, state=None):
    a, dt = op.attrs, _np(op.outputs[0].dtype)
    if np.dtype(dt).kind not in "iuf" or not isinstance(a["axis"], (int, np.integer)):
        return None
    src = _scan_source(np.dtype(dt).name, op.type == "Cumprod", bool(a["exclusive"]), bool(a["reverse"]))

    def run(x):
        x = dev.operand(x)
        ax = a["axis"] % max(x.ndim, 1)
        out = dev.empty(x.shape, x.dtype)
        m, inner = x.shape[ax], math.prod(x.shape[ax + 1:])
        lines = math.prod(x.shape[:ax]) * inner
        if out.size:
            dev.launch(dev.kernel(src, "scan"), lines, out.data, x.data, np.int64(m), np.int64(inner),
                       np.int64(lines))
        return out
    return run
