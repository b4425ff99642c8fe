"""The OpenCL kernel vocabulary beyond elementwise: reductions along any axes, a tiled GEMM, movement.

Reductions view the input as ``(outer, r, inner)`` (the reduced axes made adjacent by a transpose when
they are not) and give each work item one output element, walking ``r`` with stride ``inner`` (so
neighbouring work items read neighbouring memory). A reduction to few outputs over many elements runs
in two passes: partial results over chunks of ``r``, then the chunks. float32 sums accumulate in double
where the device has cl_khr_fp64.

The GEMM, where B is not transposed and has a multiple of 4 columns, gives each work item 8 rows x 4
columns of ``C`` in float4 registers (B read as float4 rows, A as scalars): no barriers, which PoCL runs
best. Otherwise, the tiled GEMM computes a ``TS x TS`` tile of ``C`` per work group from ``TS x TS`` tiles
of ``A`` and ``B`` staged in local memory; each work item accumulates ``WPT`` outputs of one column in registers
(work-per-thread), so each value read from local memory feeds ``WPT`` multiply-adds. Operands are read
through (batch, row, column) strides, so transposed and batched products need no copies.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import elementwise as ew
from .runtime import ctype

# ---- movement ---------------------------------------------------------------------------------


def copy_view(dev, x, shape, strides, offset=0):
    """A new contiguous array of ``shape`` whose element at coordinates c is ``x.flat[offset + c.strides]``."""
    return ew.run(dev, [], [("in0", x.dtype, None)], [(x, tuple(strides), offset)], shape)[0]


def transpose(dev, x, perm):
    st = ew.contiguous_strides(x.shape)
    return copy_view(dev, x, [x.shape[p] for p in perm], [st[p] for p in perm])


def broadcast_to(dev, x, shape):
    if tuple(x.shape) == tuple(shape):
        return x
    return copy_view(dev, x, shape, ew.broadcast_strides(x.shape, shape))


def write_into(dev, out, out_strides, out_offset, x, shape, x_strides=None):
    """Copy ``x`` (contiguous, or read with ``x_strides``) into the view (strides, offset) of ``out``."""
    src = x if x_strides is None else (x, tuple(x_strides), 0)
    ew.run(dev, [], [("in0", out.dtype, (out, tuple(out_strides), out_offset))], [src], shape)
    return out


def fill(dev, shape, dtype, value):
    return ew.run(dev, [], [(f"in0", dtype, None)], [np.asarray(value, dtype)], shape)[0]


def astype(dev, x, dtype):
    if x.dtype == np.dtype(dtype):
        return x
    return ew.run(dev, [], [(f"({ctype(dtype)})(in0)" if np.dtype(dtype) != bool else "(in0 != 0)",
                             dtype, None)], [x], x.shape)[0]


# ---- reductions -------------------------------------------------------------------------------
# kind -> (init, update given v; acc, combine kind for the second pass)
_REDUCE = {
    "sum": ("0", "acc += v;", "sum"),
    "prod": ("1", "acc *= v;", "prod"),
    "max": ("LOWEST", "if (!(acc != acc) && (v > acc || v != v)) acc = v;", "max"),
    "min": ("HIGHEST", "if (!(acc != acc) && (v < acc || v != v)) acc = v;", "min"),
    "all": ("1", "acc = acc && v;", "all"),
    "any": ("0", "acc = acc || v;", "any"),
    "argmax": ("LOWEST", "if ((v > acc || (v != v && acc == acc)) || k == 0) { acc = v; best = k; }", None),
    "argmin": ("HIGHEST", "if ((v < acc || (v != v && acc == acc)) || k == 0) { acc = v; best = k; }", None),
}


def _limits(dtype):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return "-INFINITY", "INFINITY"
    if dt.kind == "b":
        return "0", "1"
    info = np.iinfo(dt)
    suffix = "L" if dt.itemsize == 8 else ""
    lo = f"({info.min + 1}{suffix} - 1)" if info.min < 0 else "0"  # C has no literal for INT64_MIN
    return lo, f"{info.max}{'UL' if dt.kind == 'u' and dt.itemsize == 8 else suffix}"


@lru_cache(maxsize=512)
def _reduce_source(kind, in_dtype, out_dtype, acc_type):
    init, update, _ = _REDUCE[kind]
    lo, hi = _limits(in_dtype)
    init = init.replace("LOWEST", lo).replace("HIGHEST", hi)
    t, to = ctype(in_dtype), ctype(out_dtype)
    result = "best" if kind.startswith("arg") else "acc"
    return f"""
__kernel void red(__global {to} *out, __global const {t} *x, const long outer, const long r,
                  const long inner, const long chunks, const long chunk) {{
    const long n = outer * chunks * inner;
    const long i = get_global_id(0); if (i < n) {{
        const long j = i % inner, oc = i / inner, c = oc % chunks, o = oc / chunks;
        const long k0 = c * chunk, k1 = min(r, k0 + chunk);
        __global const {t} *p = x + o * r * inner + j;
        {acc_type} acc = ({acc_type})({init}); long best = 0;
        for (long k = k0; k < k1; k++) {{ const {acc_type} v = p[k * inner]; {update} }}
        out[i] = ({to})({result});
    }}
}}
"""


def reduce(dev, x, axes, kind, out_dtype=None, keepdims=False):
    """Reduce ``x`` over ``axes`` (None: all) with ``kind`` (sum, prod, max, min, all, any, argmax, argmin)."""
    nd = len(x.shape)
    axes = tuple(range(nd)) if axes is None else tuple(sorted(a % nd for a in axes)) if nd else ()
    out_dtype = np.dtype(out_dtype or x.dtype)
    kept_shape = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    final_shape = kept_shape if keepdims else tuple(d for k, d in enumerate(x.shape) if k not in axes)
    if axes and axes != tuple(range(axes[0], axes[-1] + 1)):  # not adjacent: move them last
        perm = [k for k in range(nd) if k not in axes] + list(axes)
        x = transpose(dev, x, perm)
        axes = tuple(range(nd - len(axes), nd))
    outer = math.prod(x.shape[:axes[0]]) if axes else math.prod(x.shape)
    r = math.prod(x.shape[axes[0]:axes[-1] + 1]) if axes else 1
    inner = math.prod(x.shape[axes[-1] + 1:]) if axes else 1
    dev.check_dtype(x.dtype, "reduction")
    acc = ctype(x.dtype)
    if kind in ("sum", "prod") and x.dtype == np.float32 and dev.fp64:
        acc = "double"
    elif kind in ("all", "any"):
        acc = "int"
    chunks = 1
    if _REDUCE[kind][2] is not None and outer * inner < 4 * dev.compute_units and r >= 16384:
        chunks = min(64 * dev.compute_units, r // 4096)
    chunk = -(-r // chunks)
    mid_dtype = out_dtype if chunks == 1 else (x.dtype if kind not in ("all", "any") else np.dtype(bool))
    out = dev.empty((outer * chunks * inner,), mid_dtype)
    src = _reduce_source(kind, x.dtype.name, np.dtype(mid_dtype).name, acc)
    if out.size:
        dev.launch(dev.kernel(src, "red"), out.size, out.data, x.data, np.int64(outer), np.int64(r),
                   np.int64(inner), np.int64(chunks), np.int64(chunk))
    if chunks > 1:
        out = reduce(dev, out.reshape(outer, chunks, inner), (1,), _REDUCE[kind][2], out_dtype)
    return out.reshape(final_shape)


# ---- matrix products -------------------------------------------------------------------------
TS, WPT = 32, 8
RTS = TS // WPT


@lru_cache(maxsize=16)
def _gemm_source(dtype):
    t = ctype(dtype)
    return f"""
#define TS {TS}
#define WPT {WPT}
#define RTS {RTS}
__kernel __attribute__((reqd_work_group_size(TS, RTS, 1)))
void gemm(const int M, const int N, const int K,
          __global const {t} *A, const long sab, const long sam, const long sak,
          __global const {t} *B, const long sbb, const long sbk, const long sbn,
          __global {t} *C) {{
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int n = get_group_id(0) * TS + tx, m0 = get_group_id(1) * TS;
    const long b = get_global_id(2);
    A += b * sab; B += b * sbb; C += b * (long)M * N;
    __local {t} As[TS][TS + 1];
    __local {t} Bs[TS][TS + 1];
    {t} acc[WPT];
    for (int w = 0; w < WPT; w++) acc[w] = 0;
    for (int t0 = 0; t0 < K; t0 += TS) {{
        for (int w = 0; w < WPT; w++) {{
            const int r = ty + w * RTS, am = m0 + r, ak = t0 + tx, bk = t0 + r;
            As[r][tx] = (am < M && ak < K) ? A[am * sam + ak * sak] : 0;
            Bs[r][tx] = (bk < K && n < N) ? B[bk * sbk + n * sbn] : 0;
        }}
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TS; k++) {{
            const {t} bv = Bs[k][tx];
            for (int w = 0; w < WPT; w++) acc[w] += As[ty + w * RTS][k] * bv;
        }}
        barrier(CLK_LOCAL_MEM_FENCE);
    }}
    for (int w = 0; w < WPT; w++) {{
        const int m = m0 + ty + w * RTS;
        if (m < M && n < N) C[m * (long)N + n] = acc[w];
    }}
}}
"""


R4 = 8  # rows per work item of the float4 kernel


@lru_cache(maxsize=16)
def _gemm4_source(dtype):
    """Each work item: ``R4`` rows x 4 columns of C in float4 registers, B read as float4 rows, A as
    broadcast scalars; no local memory or barriers (PoCL runs it as plain vector loops). Needs N % 4 == 0
    and B not transposed."""
    t = ctype(dtype)
    return f"""
__kernel void gemm4(const int M, const int N, const int K,
                    __global const {t} *A, const long sab, const long sam, const long sak,
                    __global const {t} *B, const long sbb, __global {t} *C) {{
    const int n4 = get_global_id(0), m0 = get_global_id(1) * {R4};
    const long b = get_global_id(2);
    A += b * sab; B += b * sbb; C += b * (long)M * N;
    if (n4 * 4 >= N) return;
    long rows[{R4}];
    for (int r = 0; r < {R4}; r++) rows[r] = min(m0 + r, M - 1) * sam;
    {t}4 acc[{R4}];
    for (int r = 0; r < {R4}; r++) acc[r] = ({t}4)(0);
    for (int k = 0; k < K; k++) {{
        const {t}4 bv = vload4(n4, B + (long)k * N);
        for (int r = 0; r < {R4}; r++) acc[r] += A[rows[r] + k * sak] * bv;
    }}
    for (int r = 0; r < {R4}; r++) if (m0 + r < M) vstore4(acc[r], n4, C + (long)(m0 + r) * N);
}}
"""


def matmul(dev, a, b, transpose_a=False, transpose_b=False):
    """``a @ b`` over the last two axes (leading axes broadcast as batch axes), either operand transposed."""
    dev.check_dtype(a.dtype, "matmul")
    sa, sb = ew.contiguous_strides(a.shape), ew.contiguous_strides(b.shape)
    m, ka = (a.shape[-1], a.shape[-2]) if transpose_a else (a.shape[-2], a.shape[-1])
    kb, n = (b.shape[-1], b.shape[-2]) if transpose_b else (b.shape[-2], b.shape[-1])
    sam, sak = (sa[-1], sa[-2]) if transpose_a else (sa[-2], sa[-1])
    sbk, sbn = (sb[-1], sb[-2]) if transpose_b else (sb[-2], sb[-1])
    batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    nb = math.prod(batch)
    if (a.ndim > 2 and tuple(a.shape[:-2]) != batch) or (b.ndim > 2 and tuple(b.shape[:-2]) != batch):
        a = broadcast_to(dev, a, batch + tuple(a.shape[-2:]))
        b = broadcast_to(dev, b, batch + tuple(b.shape[-2:]))
    sab = m * ka if a.ndim > 2 else 0
    sbb = kb * n if b.ndim > 2 else 0
    out = dev.empty(batch + (m, n), a.dtype)
    if out.size == 0:
        return out
    if ka == 0:
        return fill(dev, out.shape, a.dtype, 0)
    if transpose_b and n % 4 == 0 and n * kb <= (1 << 22):  # a small transposed B: copy it, then gemm4
        perm = list(range(b.ndim - 2)) + [b.ndim - 1, b.ndim - 2]
        b, transpose_b = transpose(dev, b, perm), False
    if not transpose_b and n % 4 == 0:  # NOTE: measured faster on PoCL than the tiled kernel (bench/README.md)
        if transpose_a and m * ka <= (1 << 24):  # A^T read down its columns is cache-hostile: copy it once
            a = transpose(dev, a, list(range(a.ndim - 2)) + [a.ndim - 1, a.ndim - 2])
            sam, sak, transpose_a = ka, 1, False
        k = dev.kernel(_gemm4_source(a.dtype.name), "gemm4")
        local = 32 if n // 4 >= 32 else 1 << max(n // 4 - 1, 0).bit_length()  # no idle work items
        groups = -(-(n // 4) // local)
        dev.enqueue(k, (groups * local, -(-m // R4), nb), (local, 1, 1), np.int32(m), np.int32(n), np.int32(ka),
                    a.data, np.int64(sab), np.int64(sam), np.int64(sak), b.data, np.int64(sbb), out.data)
        return out
    k = dev.kernel(_gemm_source(a.dtype.name), "gemm")
    dev.enqueue(k, (-(-n // TS) * TS, -(-m // TS) * RTS, nb), (TS, RTS, 1), np.int32(m), np.int32(n),
      np.int32(ka), a.data, np.int64(sab), np.int64(sam), np.int64(sak), b.data, np.int64(sbb),
      np.int64(sbk), np.int64(sbn), out.data)
    return out
