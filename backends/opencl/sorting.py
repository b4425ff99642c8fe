"""The OpenCL ``Unique``: a device sort, a pass over the sorted order, a scan, and a scatter.

TF's ``Unique`` returns the distinct values in order of FIRST occurrence (``y``) and each element's
position in ``y`` (``idx``). The device computes it in four steps, reading back one number (the count of
distinct values, which sizes ``y``: the output's size depends on the data, as ``Where``'s):

1. ``perm``: the positions ``0..n-1`` sorted by (value, position) with a bitonic sorting network
   (``log2(P) (log2(P) + 1) / 2`` launches of one compare-exchange per work item, ``P`` = n rounded up
   to a power of two; the padding positions ``>= n`` sort last without reading a value). Sorting by the
   pair makes the order total, so equal values stay in the order they occur;
2. ``groups`` (one work item, O(n), as the scan of ``segments.py``): walking the sorted order, a value
   unequal to its predecessor starts a group; each sorted slot records its group's FIRST position
   (the group's smallest position, since ties sort by position), and ``first[p]`` flags whether
   position ``p`` starts a group;
3. ``first``'s exclusive prefix sum (``segments._scan_source``) gives each first occurrence its slot in
   ``y``: slots in position order are first-occurrence order;
4. ``scatter``: a work item per sorted slot writes ``idx[p] = slot of its group's first position``, and
   the first positions write their value into ``y``.

Equality is ``==``, except that NaNs equal each other and sort last (NumPy's ``unique``, which the CPU
kernel calls, collapses NaNs); ``-0.0 == 0.0`` and the first occurrence's sign is kept.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .kernels import _np, kernel
from .runtime import ctype
from .segments import _scan_source


@lru_cache(maxsize=32)
def _source(dtype: str, it: str) -> str:
    t, i = ctype(dtype), ctype(it)
    return f"""
#define EQ(a, b) ((a) == (b) || ((a) != (a) && (b) != (b)))
#define LT(a, b) ((a) < (b) || ((b) != (b) && (a) == (a)))
__kernel void bitonic(__global long *perm, __global const {t} *x, const long n, const long j, const long k,
                      const long size) {{
    const long a = get_global_id(0), b = a ^ j;
    if (a < size && b > a) {{
        const long p = perm[a], q = perm[b];
        int q_first;  /* (value, position) of q before p's */
        if (p >= n || q >= n) q_first = q < p;
        else q_first = LT(x[q], x[p]) || (EQ(x[q], x[p]) && q < p);
        if (((a & k) == 0) == q_first) {{ perm[a] = q; perm[b] = p; }}
    }}
}}
__kernel void groups(__global long *first_of, __global long *first, __global long *count,
                     __global const long *perm, __global const {t} *x, const long n) {{
    if (get_global_id(0) == 0) {{
        long start = 0, groups = 0;
        for (long s = 0; s < n; s++) {{
            const long p = perm[s];
            const int fresh = s == 0 || !EQ(x[p], x[perm[s - 1]]);
            if (fresh) {{ start = p; groups++; }}
            first_of[s] = start; first[p] = fresh;
        }}
        count[0] = groups;
    }}
}}
__kernel void scatter(__global {t} *y, __global {i} *idx, __global const long *perm,
                      __global const long *first_of, __global const long *slot, __global const {t} *x,
                      const long n) {{
    const long s = get_global_id(0); if (s < n) {{
        const long p = perm[s], f = first_of[s];
        idx[p] = ({i})slot[f];
        if (p == f) y[slot[p]] = x[p];
    }}
}}
"""


def sort_positions(dev, x, src):
    """The device permutation sorting ``x`` (1-D, ``n`` > 0) by (value, position): int64 ``[P]``, its
    first ``n`` entries the sorted positions."""
    n = x.size
    size = 1 << max(n - 1, 0).bit_length()
    perm = dev.from_host(np.arange(size, dtype=np.int64))
    step = dev.kernel(src, "bitonic")
    k = 2
    while k <= size:
        j = k // 2
        while j >= 1:
            dev.launch(step, size, perm.data, x.data, np.int64(n), np.int64(j), np.int64(k), np.int64(size))
            j //= 2
        k *= 2
    return perm


@kernel("Unique")
def _unique(dev, op, state=None):
    dt, it = _np(op.inputs[0].dtype), np.dtype(_np(op.attrs["out_idx"]))
    if np.dtype(dt).kind not in "biuf":
        return None

    def run(x):
        x = dev.operand(x)
        if x.ndim != 1:
            from dataflow.ops.sequence_ops import _unique_kernel
            _unique_kernel(np, x.get(), out_idx=op.attrs["out_idx"])  # raises TF's message
        n = x.size
        if n == 0:
            return [dev.empty((0,), x.dtype), dev.empty((0,), it)]
        src = _source(x.dtype.name, it.name)
        perm = sort_positions(dev, x, src)
        first_of, first, count = dev.empty((n,), np.int64), dev.empty((n,), np.int64), dev.empty((1,), np.int64)
        dev.launch(dev.kernel(src, "groups"), 1, first_of.data, first.data, count.data, perm.data, x.data,
                   np.int64(n))
        slot = dev.empty((n,), np.int64)
        dev.launch(dev.kernel(_scan_source("int64", False, True, False), "scan"), 1, slot.data, first.data,
                   np.int64(n), np.int64(1), np.int64(1))
        y, idx = dev.empty((int(count.get()[0]),), x.dtype), dev.empty((n,), it)  # the one number read back
        dev.launch(dev.kernel(src, "scatter"), n, y.data, idx.data, perm.data, first_of.data, slot.data, x.data,
                   np.int64(n))
        return [y, idx]
    return run
