"""The OpenCL ``Multinomial``: categorical sampling by inverse CDF on the device.

The CPU op (``dataflow/ops/multinomial.py``) draws ``u = rng.random((batch, num_samples))`` from the
session's generator for the op (seeded from the graph and op seeds), scales each row's draws to the row's
total ``sum(exp(logits - max))`` and finds each in the row's cumulative sums (``searchsorted``, side
right). The device replays that stream exactly: the uniforms come from the SAME generator (the one
generator per op that ``OpDef.bind`` hands out, so a new session replays the draws and each run draws
new ones, whichever device the op is on), copied to the device as the other random ops' values are
(``kernels._random``); the device does the rest, in float64 as the CPU (float32 where the device has no
cl_khr_fp64):

1. ``cdf``: a work item per row computes the row's maximum and cumulative sums of ``exp(x - max)``
   (a NaN logit makes the maximum and so the whole row NaN, as NumPy's);
2. ``pick``: a work item per sample binary-searches its row for the first cumulative sum above
   ``u * total`` (a NaN target finds none: the last class, as the CPU op's clamp).

So a device run returns exactly the CPU's samples (up to the last bit of ``exp``), which is what the tests
check. Degenerate shapes and bad arguments (no classes, no samples, a negative count) go to the CPU
kernel, which raises TF's errors and draws nothing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dataflow.framework.registry import OP_DEFS

from .kernels import _host, _np, kernel
from .runtime import ctype


@lru_cache(maxsize=16)
def _source(dtype: str, acc: str, out: str) -> str:
    t, o = ctype(dtype), ctype(out)
    return f"""
__kernel void cdf(__global {acc} *cdf, __global const {t} *x, const long classes, const long rows) {{
    const long r = get_global_id(0); if (r < rows) {{
        __global const {t} *row = x + r * classes; __global {acc} *c = cdf + r * classes;
        {acc} m = -INFINITY;
        for (long j = 0; j < classes; j++) {{ const {acc} v = row[j]; if (v > m || v != v) m = v; if (m != m) break; }}
        {acc} s = 0;
        for (long j = 0; j < classes; j++) {{ s += exp(({acc})row[j] - m); c[j] = s; }}
    }}
}}
__kernel void pick(__global {o} *out, __global const {acc} *cdf, __global const {acc} *u, const long classes,
                   const long samples, const long n) {{
    const long i = get_global_id(0); if (i < n) {{
        __global const {acc} *c = cdf + (i / samples) * classes;
        const {acc} target = u[i] * c[classes - 1];
        long lo = 0, hi = classes;
        while (lo < hi) {{ const long mid = (lo + hi) / 2; if (c[mid] > target) hi = mid; else lo = mid + 1; }}
        out[i] = ({o})(lo < classes ? lo : classes - 1);
    }}
}}
"""


@kernel("Multinomial")
def _multinomial(dev, op, state=None):
    opdef = OP_DEFS["Multinomial"]
    out_dt = np.dtype(_np(op.attrs["output_dtype"]))
    if state is None:  # asked only whether a kernel exists
        return lambda *xs: None
    rng = opdef.bind(op, state)["rng"]
    host = opdef.kernel

    def run(logits, num_samples):
        x, n = dev.operand(logits), int(_host(num_samples))
        if x.ndim != 2 or n < 0 or 0 in x.shape or n == 0:
            return dev.from_host(host(np, x.get(), n, output_dtype=op.attrs["output_dtype"], rng=rng))
        batch, classes = x.shape
        acc = np.dtype(np.float64 if dev.fp64 else np.float32)
        u = dev.from_host(rng.random((batch, n)).astype(acc, copy=False))  # the CPU op's stream
        src = _source(x.dtype.name, ctype(acc), out_dt.name)
        cdf, out = dev.empty((batch, classes), acc), dev.empty((batch, n), out_dt)
        dev.launch(dev.kernel(src, "cdf"), batch, cdf.data, x.data, np.int64(classes), np.int64(batch))
        dev.launch(dev.kernel(src, "pick"), out.size, out.data, cdf.data, u.data, np.int64(classes), np.int64(n),
                   np.int64(out.size))
        return out
    return run
