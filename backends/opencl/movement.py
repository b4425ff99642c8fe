"""Movement ops through index maps: the NumPy kernel of the op, run once on an array of indices.

Slicing, strided slicing, transposes, reversal, tiling, padding, splitting, stacking, concatenation and
the patch matrices of convolution and pooling only move elements: output element ``i`` is input
element ``map[i]`` (or a fill value). The map depends only on the input shapes, the op's attrs and its
small host-valued inputs (``begin``, ``paddings`` ...), so it is computed once on the host by running
the op's own NumPy kernel on ``arange`` arrays (each op's semantics stay in ``dataflow/ops``, written
once), uploaded, and cached per (op, shapes, host values). Each run is then one gather kernel. Indices
are stored plus one, so 0 marks a padded element (the fill value).

A gather's adjoint (the gradient of a slice or a patch matrix) is a sum over the positions that read an
element: :func:`inverse` builds that CSR map (``order``, ``starts``) once, and :func:`gather_sum` adds
per input element, with no atomics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from .runtime import ctype


class MapCache:
    """Device index maps by key, least recently used evicted (bounded device memory)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
                return v
        v = make()
        with self._lock:
            self._d[key] = v
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return v


def host_maps(kernel, shapes, params, n_data: int):
    """Run ``kernel(np, *index_arrays, *params)``: one int64 array of (global index + 1) per data input,
    numbered consecutively across the data inputs. Returns the output map(s) as a list."""
    arrays, start = [], 1
    for s in shapes[:n_data]:
        n = int(np.prod(s, dtype=np.int64))
        arrays.append(np.arange(start, start + n, dtype=np.int64).reshape(s))
        start += n
    out = kernel(np, *arrays, *params)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


@lru_cache(maxsize=64)
def _gather_source(dtype: str, idx_dtype: str, k: int) -> str:
    t, it = ctype(dtype), ctype(idx_dtype)
    params = "".join(f", __global const {t} *x{j}, const long e{j}" for j in range(k))
    chain, prev = "", "0L"
    for j in range(k):
        chain += f"if (j <= e{j}) v = x{j}[j - 1 - {prev}]; else "
        prev = f"e{j}"
    return f"""
__kernel void gather(__global {t} *out, __global const {it} *map, const {t} fill{params}, const long n) {{
    const long i = get_global_id(0); if (i < n) {{
        const long j = map[i];
        {t} v = fill;
        if (j > 0) {{ {chain}{{}} }}
        out[i] = v;
    }}
}}
"""


def gather(dev, xs, dmap, shape, fill=0):
    """``out.flat[i] = concat(xs)[map[i] - 1]`` (``fill`` where ``map[i] == 0``), of ``shape``."""
    dtype = xs[0].dtype
    out = dev.empty(shape, dtype)
    if out.size == 0:
        return out
    args, end = [], 0
    for x in xs:
        end += x.size
        args += [x.data if x.size else dmap.data, np.int64(end)]
    k = dev.kernel(_gather_source(dtype.name, dmap.dtype.name, len(xs)), "gather")
    fill = np.asarray(fill).astype(dtype if dtype != bool else np.uint8)[()]
    dev.launch(k, out.size, out.data, dmap.data, fill, *args, np.int64(out.size))
    return out


def upload_map(dev, m):
    """A device copy of a host map: int32 when it fits (half the memory traffic of int64)."""
    import pyopencl.array as cla

    m = np.ascontiguousarray(m, np.int32 if m.size == 0 or m.max() < 2**31 - 1 else np.int64)
    return cla.to_device(dev.queue, m, allocator=dev.pool)


def inverse(dev, m, n_in: int):
    """The CSR adjoint of map ``m`` (values 1..n_in, 0 = none): for input element e, the output positions
    reading it are ``order[starts[e]:starts[e+1]]``. Returns device (order, starts)."""
    flat = m.ravel()
    valid = np.nonzero(flat)[0]
    src = flat[valid] - 1
    order = valid[np.argsort(src, kind="stable")]
    starts = np.zeros(n_in + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n_in), out=starts[1:])
    return upload_map(dev, order), upload_map(dev, starts)


@lru_cache(maxsize=64)
def _gather_sum_source(dtype: str, it: str, masked: bool) -> str:
    t, i = ctype(dtype), ctype(it)
    # masked (max pooling's gradient): position p of window w = p / k counts only if it is the window's argmax
    cond = "if (arg[p / k] == p % k) " if masked else ""
    margs = ", __global const long *arg, const long k" if masked else ""
    read = "g[p / k]" if masked else "g[p]"
    return f"""
__kernel void gsum(__global {t} *out, __global const {t} *g, __global const {i} *order,
                   __global const {i} *starts{margs}, const long n) {{
    const long e = get_global_id(0); if (e < n) {{
        {t} acc = 0;
        for (long q = starts[e]; q < starts[e + 1]; q++) {{ const long p = order[q]; {cond}acc += {read}; }}
        out[e] = acc;
    }}
}}
"""


def gather_sum(dev, g, order, starts, shape, argmax=None, k=1):
    """The adjoint of a gather: ``out.flat[e] = sum of g.flat[p]`` over the positions p that read e.
    With ``argmax`` (one per window of ``k`` positions), only the window's argmax position counts."""
    out = dev.empty(shape, g.dtype)
    if out.size == 0:
        return out
    kern = dev.kernel(_gather_sum_source(g.dtype.name, order.dtype.name, argmax is not None), "gsum")
    extra = [argmax.data, np.int64(k)] if argmax is not None else []
    dev.launch(kern, out.size, out.data, g.data, order.data, starts.data, *extra, np.int64(out.size))
    return out


# ---- convolution and pooling geometry (NHWC) ----------------------------------------------------
def _pads(size, k, stride, dilation, padding):
    eff = (k - 1) * dilation + 1
    if padding == "VALID":
        return -(-(size - eff + 1) // stride), 0
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


def patch_map(x_shape, kh, kw, strides, dilations, padding, depthwise_c=None):
    """Map of the patch matrix ``[N, Ho, Wo, kh, kw, C]`` of an NHWC input (values index+1, 0 = padding)."""
    n, h, w, c = x_shape
    ho, ph = _pads(h, kh, strides[1], dilations[1], padding)
    wo, pw = _pads(w, kw, strides[2], dilations[2], padding)
    iy = (np.arange(ho) * strides[1] - ph)[:, None] + np.arange(kh) * dilations[1]   # [Ho, kh]
    ix = (np.arange(wo) * strides[2] - pw)[:, None] + np.arange(kw) * dilations[2]   # [Wo, kw]
    oky = (iy >= 0) & (iy < h)
    okx = (ix >= 0) & (ix < w)
    b = np.arange(n)[:, None, None, None, None, None]
    y = np.clip(iy, 0, h - 1)[None, :, None, :, None, None]
    xx = np.clip(ix, 0, w - 1)[None, None, :, None, :, None]
    ch = np.arange(c)[None, None, None, None, None, :]
    idx = ((b * h + y) * w + xx) * c + ch + 1
    ok = oky[None, :, None, :, None, None] & okx[None, None, :, None, :, None]
    return np.where(ok, idx, 0), (n, ho, wo, c)


@lru_cache(maxsize=64)
def _segment_source(dtype: str, it: str, kind: str) -> str:
    from backends.cexpr import EXPR

    t, i = ctype(dtype), ctype(it)
    step = {"sum": "acc + v", "max": EXPR["Maximum"].format("acc", "v"),
            "min": EXPR["Minimum"].format("acc", "v")}[kind]
    return f"""
__kernel void seg(__global {t} *out, __global const {t} *x, __global const {i} *order,
                  __global const {i} *starts, const {t} empty, const long inner, const long n) {{
    const long e = get_global_id(0); if (e < n) {{
        const long s = e / inner, j = e % inner, lo = starts[s], hi = starts[s + 1];
        {t} acc = lo < hi ? x[order[lo] * inner + j] : empty;
        for (long q = lo + 1; q < hi; q++) {{ const {t} v = x[order[q] * inner + j]; acc = {step}; }}
        out[e] = acc;
    }}
}}
"""


def segment_reduce(dev, x, order, starts, shape, inner: int, kind: str, empty=0):
    """``out[s, j] = kind-reduction of x[r, j]`` over the rows ``r = order[starts[s]:starts[s+1]]`` (in that
    order), ``empty`` where a segment has no rows; ``x`` is read as ``[rows, inner]``, ``kind`` is sum, max
    or min (NaN propagates, as NumPy's)."""
    out = dev.empty(shape, x.dtype)
    if out.size == 0:
        return out
    kern = dev.kernel(_segment_source(x.dtype.name, order.dtype.name, kind), "seg")
    dev.launch(kern, out.size, out.data, x.data if x.size else order.data, order.data, starts.data,
               np.asarray(empty).astype(x.dtype)[()], np.int64(inner), np.int64(out.size))
    return out
