"""OpenCL kernels that select elements: ``TopKV2``, ``Where`` and ``InvertPermutation``.

- ``TopKV2``: a work item per row keeps the row's k largest values in its output row by insertion
  (O(n k) per row; ties in increasing index order and NaN above everything, as the NumPy kernel's
  stable sort). Fits the small k of top-k accuracy and beam search; a large k wants a sort.
- ``Where``: the output's size depends on the data, so, as TF's GPU kernel, it counts on the device,
  reads the count back (one number), then writes the coordinates: the nonzero flags' exclusive
  prefix sum (the scan kernel of ``segments.py``, one line: serial, O(n)) gives each true element its
  output row.
- ``InvertPermutation`` runs on the host: TF registers it with its input and output in host memory
  (an int32 shape-like value); a device input is read back.
"""

from __future__ import annotations

import math

import numpy as np

from dataflow.framework.registry import OP_DEFS

from . import elementwise as ew
from .kernels import _host, _np, kernel
from .runtime import ctype
from .segments import _scan_source


@kernel("TopKV2")
def _top_k(dev, op, state=None):
    dt = _np(op.inputs[0].dtype)
    if np.dtype(dt).kind not in "iuf":
        return None
    ref = OP_DEFS["TopKV2"].kernel

    def run(x, *k_input):
        x = dev.operand(x)
        k = op.attrs["k"] if not k_input else int(_host(k_input[0]))
        n = x.shape[-1] if x.ndim else 0
        if not k_input and k is None or k < 0 or k > n or x.ndim == 0:
            ref(np, np.zeros(x.shape, np.int8), *[_host(v) for v in k_input], k=k, sorted=True)  # TF's errors
        rows = math.prod(x.shape[:-1])
        values, indices = dev.empty(x.shape[:-1] + (k,), x.dtype), dev.empty(x.shape[:-1] + (k,), np.int32)
        if rows and k:
            src = _top_k_source(np.dtype(dt).name)
            dev.launch(dev.kernel(src, "topk"), rows, values.data, indices.data, x.data, np.int64(n),
                       np.int64(k), np.int64(rows))
        return [values, indices]
    return run


def _top_k_source(dtype: str) -> str:
    t = ctype(dtype)
    gt = "(v > vals[p - 1] || (v != v && vals[p - 1] == vals[p - 1]))"  # NaN sorts above every number
    last = "(v > vals[k - 1] || (v != v && vals[k - 1] == vals[k - 1]))"
    return f"""
__kernel void topk(__global {t} *out, __global int *out_i, __global const {t} *x, const long n, const long k,
                   const long rows) {{
    const long r = get_global_id(0); if (r < rows) {{
        __global {t} *vals = out + r * k; __global int *idx = out_i + r * k; long count = 0;
        for (long j = 0; j < n; j++) {{
            const {t} v = x[r * n + j];
            if (count == k && !{last}) continue;
            long p = count < k ? count : k - 1;
            while (p > 0 && {gt}) {{ vals[p] = vals[p - 1]; idx[p] = idx[p - 1]; p--; }}
            vals[p] = v; idx[p] = (int)j;
            if (count < k) count++;
        }}
    }}
}}
"""


@kernel("Where")
def _where(dev, op, state=None):
    if np.dtype(_np(op.inputs[0].dtype)).kind not in "biuf":
        return None

    def run(cond):
        cond = dev.operand(cond)
        n, shape = cond.size, tuple(cond.shape)
        if not n:
            return dev.empty((0, len(shape)), np.int64)
        flags, = ew.run(dev, [], [("in0 != 0", np.int64, None)], [cond.reshape(n)], (n,))
        rows = dev.empty((n,), np.int64)
        dev.launch(dev.kernel(_scan_source("int64", False, True, False), "scan"), 1, rows.data, flags.data,
                   np.int64(n), np.int64(1), np.int64(1))
        count = int(rows[n - 1:].get()[0] + flags[n - 1:].get()[0])  # the one number read back
        out = dev.empty((count, len(shape)), np.int64)
        if count and shape:
            coords = " ".join(f"out[r * {len(shape)} + {d}] = (q / {math.prod(shape[d + 1:])}L) % {s}L;"
                              for d, s in enumerate(shape))
            src = (f"__kernel void where(__global long *out, __global const long *flags, "
                   f"__global const long *rows, const long n) {{\n"
                   f"  const long q = get_global_id(0); if (q < n && flags[q]) {{ const long r = rows[q]; {coords} }}\n}}\n")
            dev.launch(dev.kernel(src, "where"), n, out.data, flags.data, rows.data, np.int64(n))
        return out
    return run


@kernel("InvertPermutation")
def _invert_permutation(dev, op, state=None):
    ref = OP_DEFS["InvertPermutation"].kernel
    return lambda x: ref(np, _host(x))
