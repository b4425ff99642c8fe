"""OpenCL decompositions of small and medium batched matrices: ``Cholesky``, ``MatrixInverse``,
``MatrixDeterminant`` (LU with partial pivoting), ``Qr`` (Householder) and ``Svd`` (one-sided Jacobi).

One work-group per matrix: the group's work items share the matrix's rows or columns, work in global
memory (the output or a scratch array of the same size: no limit from local memory) and meet at
barriers between the steps of the algorithm. The steps that are inherently serial and short (a pivot
search, a Householder vector's norm, a sort of ``n`` singular values) run on the group's first item.
This suits the batches of small matrices that models use (up to a few hundred rows); a large single
matrix would want a blocked algorithm over the GEMM.

- ``Cholesky`` (left-looking): for each column ``j``, the first item computes ``L[j,j]`` from row ``j``;
  then the items share the rows below. A pivot that is not positive (or NaN) flags the matrix, and the
  host, reading the flags back, lets the CPU kernel raise TF's error (the lower triangle only is read,
  as LAPACK's ``potrf``).
- LU (``getrf``'s algorithm): per column, the first item finds the pivot (the first largest magnitude)
  and records the row swap; the items swap the rows, scale the column, and update the trailing block.
  A zero pivot leaves its column unscaled (LAPACK does the same), so ``MatrixDeterminant`` is the signed
  product of the diagonal (0 for a singular matrix) and ``MatrixInverse`` flags it: TF's "Input is not
  invertible.". The inverse solves ``L U X = P`` with one item per column of ``X``.
- ``Qr``: LAPACK's ``geqrf``/``orgqr`` (``dlarfg``'s reflector: ``beta = -sign(alpha) ||x||``, ``tau = 0``
  when the column below the diagonal is zero), so ``q`` and ``r`` carry NumPy's signs. The first item
  builds each reflector; the items apply it to the remaining columns; then each item builds columns of
  ``q`` by applying the reflectors in reverse order to a column of the identity.
- ``Svd`` (Hestenes' one-sided Jacobi, on ``A`` or on ``A^T`` when it is wide): sweeps of rotations
  that make every pair of columns orthogonal, pairs in round-robin order (``n/2`` disjoint pairs at
  once, one item each), until a sweep rotates nothing (``|a_p . a_q| <= m eps |a_p| |a_q|``); then the
  column norms are the singular values, sorted descending, and the normalized columns ``U``.
  ``U`` is then re-orthonormalized by the Householder QR above (``q`` times the signs of ``r``'s
  diagonal): this completes it to ``m x m`` for ``full_matrices`` and gives orthonormal columns where a
  singular value is 0 (those columns are last). Singular vectors are unique only up to signs, so they
  may differ from NumPy's; the tests compare singular values and reconstructions.

float32 and float64 (where the device has cl_khr_fp64); empty matrices go to the CPU kernel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dataflow.framework.registry import OP_DEFS

from . import vocab
from .elementwise import contiguous_strides
from .kernels import _np, kernel
from .runtime import ctype

_HEAD = """
#define B0 const long b = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0)
#define SYNC barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE)
"""


@lru_cache(maxsize=8)
def _cholesky_source(dtype: str) -> str:
    t = ctype(dtype)
    return _HEAD + f"""
__kernel void chol(__global {t} *l, __global int *bad, __global const {t} *a, const long n) {{
    B0; a += b * n * n; l += b * n * n;
    for (long e = lid; e < n * n; e += ls) l[e] = e % n <= e / n ? a[e] : ({t})0;
    if (lid == 0) bad[b] = 0;
    SYNC;
    for (long j = 0; j < n; j++) {{
        if (lid == 0) {{
            {t} s = l[j * n + j];
            for (long k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
            if (!(s > 0)) bad[b] = 1;
            l[j * n + j] = sqrt(s);
        }}
        SYNC;
        const {t} d = l[j * n + j];
        for (long i = j + 1 + lid; i < n; i += ls) {{
            {t} s = l[i * n + j];
            for (long k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
            l[i * n + j] = s / d;
        }}
        SYNC;
    }}
}}
"""


@lru_cache(maxsize=8)
def _lu_source(dtype: str, inverse: bool) -> str:
    t = ctype(dtype)
    finish = f"""
    if (lid == 0) {{ int z = 0; for (long i = 0; i < n; i++) z |= lu[i * n + i] == 0; bad[b] = z; }}
    out += b * n * n;
    for (long c = lid; c < n; c += ls) {{  /* column c of X: L U X = P */
        for (long i = 0; i < n; i++) {{
            {t} s = perm[i] == c ? ({t})1 : ({t})0;
            for (long k = 0; k < i; k++) s -= lu[i * n + k] * out[k * n + c];
            out[i * n + c] = s;
        }}
        for (long i = n - 1; i >= 0; i--) {{
            {t} s = out[i * n + c];
            for (long k = i + 1; k < n; k++) s -= lu[i * n + k] * out[k * n + c];
            out[i * n + c] = s / lu[i * n + i];
        }}
    }}""" if inverse else f"""
    if (lid == 0) {{ {t} d = sign; for (long i = 0; i < n; i++) d *= lu[i * n + i]; out[b] = d; }}"""
    return _HEAD + f"""
__kernel void lu(__global {t} *out, __global int *bad, __global {t} *lu, __global long *perm,
                 __global const {t} *a, const long n, const int adjoint) {{
    B0; a += b * n * n; lu += b * n * n; perm += b * n;
    __local long piv; __local int sign;
    for (long e = lid; e < n * n; e += ls) lu[e] = adjoint ? a[(e % n) * n + e / n] : a[e];
    for (long i = lid; i < n; i += ls) perm[i] = i;
    if (lid == 0) sign = 1;
    SYNC;
    for (long k = 0; k < n; k++) {{
        if (lid == 0) {{
            long p = k; {t} best = fabs(lu[k * n + k]);
            for (long i = k + 1; i < n; i++) if (fabs(lu[i * n + k]) > best) {{ best = fabs(lu[i * n + k]); p = i; }}
            piv = p;
            if (p != k) {{ const long q = perm[k]; perm[k] = perm[p]; perm[p] = q; sign = -sign; }}
        }}
        SYNC;
        const long p = piv;
        if (p != k) for (long c = lid; c < n; c += ls) {{
            const {t} v = lu[k * n + c]; lu[k * n + c] = lu[p * n + c]; lu[p * n + c] = v; }}
        SYNC;
        const {t} pv = lu[k * n + k];
        if (pv != 0) for (long i = k + 1 + lid; i < n; i += ls) lu[i * n + k] /= pv;
        SYNC;
        const long r = n - k - 1;
        if (pv != 0) for (long e = lid; e < r * r; e += ls) {{
            const long i = k + 1 + e / r, c = k + 1 + e % r;
            lu[i * n + c] -= lu[i * n + k] * lu[k * n + c];
        }}
        SYNC;
    }}{finish}
}}
"""


@lru_cache(maxsize=8)
def _qr_source(dtype: str) -> str:
    t = ctype(dtype)
    return _HEAD + f"""
__kernel void qr(__global {t} *q, __global {t} *r, __global {t} *v, __global {t} *tau, __global const {t} *a,
                 const long m, const long n, const long qc) {{
    B0; const long K = min(m, n);
    a += b * m * n; r += b * m * n; q += b * m * qc; v += b * m * K; tau += b * K;
    for (long e = lid; e < m * n; e += ls) r[e] = a[e];
    SYNC;
    for (long k = 0; k < K; k++) {{
        if (lid == 0) {{  /* dlarfg: the reflector I - tau v v^T with v[k] = 1 */
            const {t} alpha = r[k * n + k]; {t} xn = 0;
            for (long i = k + 1; i < m; i++) xn += r[i * n + k] * r[i * n + k];
            {t} tk = 0;
            if (xn == 0) {{ for (long i = k + 1; i < m; i++) v[i * K + k] = 0; }}
            else {{
                const {t} beta = -copysign(sqrt(alpha * alpha + xn), alpha), s = 1 / (alpha - beta);
                tk = (beta - alpha) / beta;
                for (long i = k + 1; i < m; i++) {{ v[i * K + k] = r[i * n + k] * s; r[i * n + k] = 0; }}
                r[k * n + k] = beta;
            }}
            tau[k] = tk;
        }}
        SYNC;
        const {t} tk = tau[k];
        if (tk != 0) for (long c = k + 1 + lid; c < n; c += ls) {{
            {t} w = r[k * n + c];
            for (long i = k + 1; i < m; i++) w += v[i * K + k] * r[i * n + c];
            w *= tk; r[k * n + c] -= w;
            for (long i = k + 1; i < m; i++) r[i * n + c] -= v[i * K + k] * w;
        }}
        SYNC;
    }}
    for (long c = lid; c < qc; c += ls) {{  /* q = H_0 ... H_(K-1) I, column c */
        for (long i = 0; i < m; i++) q[i * qc + c] = i == c ? ({t})1 : ({t})0;
        for (long k = K - 1; k >= 0; k--) {{
            const {t} tk = tau[k];
            if (tk == 0) continue;
            {t} w = q[k * qc + c];
            for (long i = k + 1; i < m; i++) w += v[i * K + k] * q[i * qc + c];
            w *= tk; q[k * qc + c] -= w;
            for (long i = k + 1; i < m; i++) q[i * qc + c] -= v[i * K + k] * w;
        }}
    }}
}}
__kernel void signs(__global {t} *q, __global const {t} *r, const long mq, const long qc, const long rn,
                    const long rsize, const long total) {{
    const long e = get_global_id(0); if (e < total) {{
        const long b = e / mq, c = e % qc;
        if (c < rn && r[b * rsize + c * rn + c] < 0) q[e] = -q[e];
    }}
}}
"""


@lru_cache(maxsize=8)
def _svd_source(dtype: str) -> str:
    t = ctype(dtype)
    return _HEAD + f"""
__kernel void svd(__global {t} *s_out, __global {t} *u, __global {t} *vo, __global {t} *w, __global {t} *v,
                  __global {t} *sv, __global long *order, __global const {t} *a, const long m, const long n,
                  const int sweeps, const {t} tol) {{
    B0; a += b * m * n; w += b * m * n; v += b * n * n; sv += b * n; order += b * n;
    s_out += b * n; u += b * m * n; vo += b * n * n;
    __local int rotated;
    for (long e = lid; e < m * n; e += ls) w[e] = a[e];
    for (long e = lid; e < n * n; e += ls) v[e] = e / n == e % n ? ({t})1 : ({t})0;
    const long N = n + (n & 1), M1 = N - 1;  /* round-robin: N - 1 rounds of N / 2 disjoint pairs */
    for (int sweep = 0; sweep < sweeps; sweep++) {{
        if (lid == 0) rotated = 0;
        SYNC;
        for (long s = 0; s < M1; s++) {{
            for (long k = lid; k < N / 2; k += ls) {{
                const long p = k == 0 ? M1 : (s + k) % M1, q = k == 0 ? s : (s - k + M1) % M1;
                if (p >= n || q >= n) continue;
                {t} al = 0, be = 0, ga = 0;
                for (long i = 0; i < m; i++) {{
                    const {t} x = w[i * n + p], y = w[i * n + q]; al += x * x; be += y * y; ga += x * y; }}
                if (!(fabs(ga) > tol * sqrt(al) * sqrt(be))) continue;
                rotated = 1;
                const {t} zeta = (be - al) / (2 * ga);
                const {t} tn = copysign(({t})1, zeta) / (fabs(zeta) + hypot(({t})1, zeta));
                const {t} c = 1 / sqrt(1 + tn * tn), sn = c * tn;
                for (long i = 0; i < m; i++) {{
                    const {t} x = w[i * n + p], y = w[i * n + q];
                    w[i * n + p] = c * x - sn * y; w[i * n + q] = sn * x + c * y; }}
                for (long i = 0; i < n; i++) {{
                    const {t} x = v[i * n + p], y = v[i * n + q];
                    v[i * n + p] = c * x - sn * y; v[i * n + q] = sn * x + c * y; }}
            }}
            SYNC;
        }}
        const int again = rotated;
        SYNC;
        if (!again) break;
    }}
    for (long j = lid; j < n; j += ls) {{
        {t} s = 0;
        for (long i = 0; i < m; i++) s += w[i * n + j] * w[i * n + j];
        sv[j] = sqrt(s);
    }}
    SYNC;
    if (lid == 0) {{  /* descending; equal values keep their column order */
        for (long j = 0; j < n; j++) order[j] = j;
        for (long j = 0; j < n; j++) {{
            long best = j;
            for (long i = j + 1; i < n; i++) if (sv[order[i]] > sv[order[best]]) best = i;
            const long o = order[best];
            for (long i = best; i > j; i--) order[i] = order[i - 1];
            order[j] = o;
        }}
    }}
    SYNC;
    for (long k = lid; k < n; k += ls) {{
        const long j = order[k]; const {t} sg = sv[j], inv = sg > 0 ? 1 / sg : ({t})0;
        s_out[k] = sg;
        for (long i = 0; i < m; i++) u[i * n + k] = w[i * n + j] * inv;
        for (long i = 0; i < n; i++) vo[i * n + k] = v[i * n + j];
    }}
}}
"""


def _local(dev, n: int) -> int:
    """Work items per matrix: 8, or 64 past 8 rows (or columns, or pairs of columns).

    NOTE: two sizes only, since PoCL compiles a kernel once per work-group size (~1 s each); and a
    group of 2 work items crashed PoCL (a segmentation fault in these barrier loops) on this machine."""
    return min(dev.max_group, 64 if n > 8 else 8)


def _groups(dev, src, name, batch, n, *args):
    """One work-group per matrix of the batch."""
    if batch:
        ls = _local(dev, n)
        dev.enqueue(dev.kernel(src, name), (batch * ls,), (ls,), *args)


def _float_factory(make):
    """A factory for float32/float64 ops; empty inputs, and inputs the CPU kernel rejects (not matrices,
    not square where squares are needed), go to the CPU kernel (its result, or TF's error)."""
    def factory(dev, op, state=None):
        if np.dtype(_np(op.inputs[0].dtype)) not in (np.float32, np.float64):
            return None
        opdef = OP_DEFS[op.type]
        host = opdef.kernel
        attrs = {k: op.attrs[k] for k in opdef.kernel_attrs if k in op.attrs}
        run = make(dev, op, lambda x: host(np, x.get(), **attrs))
        square = op.type not in ("Qr", "Svd")

        def guarded(x):
            x = dev.operand(x)
            dev.check_dtype(x.dtype, op.type)
            if x.ndim < 2 or x.size == 0 or (square and x.shape[-1] != x.shape[-2]):
                out = host(np, x.get(), **attrs)
                return [dev.from_host(o) for o in out] if isinstance(out, tuple) else dev.from_host(out)
            return run(x)
        return guarded
    return factory


def _flagged(dev, bad):
    return bool(vocab.reduce(dev, bad, None, "any").get())


@kernel("Cholesky")
@_float_factory
def _cholesky(dev, op, host):
    def run(x):
        n, batch = x.shape[-1], x.size // (x.shape[-1] ** 2)
        out, bad = dev.empty(x.shape, x.dtype), dev.empty((batch,), np.int32)
        _groups(dev, _cholesky_source(x.dtype.name), "chol", batch, n, out.data, bad.data, x.data, np.int64(n))
        if _flagged(dev, bad):
            return dev.from_host(host(x))  # raises TF's error (or, at the edge, the CPU's result)
        return out
    return run


def lu(dev, x, inverse: bool, adjoint: bool = False):
    """(inverses or determinants, per-matrix singular flags) of the matrices ``x [..., n, n]``."""
    n, batch = x.shape[-1], x.size // (x.shape[-1] ** 2)
    out = dev.empty(x.shape if inverse else x.shape[:-2], x.dtype)
    bad, work, perm = dev.empty((batch,), np.int32), dev.empty((batch, n, n), x.dtype), dev.empty((batch, n), np.int64)
    _groups(dev, _lu_source(x.dtype.name, inverse), "lu", batch, n, out.data, bad.data, work.data, perm.data,
            x.data, np.int64(n), np.int32(adjoint))
    return out, bad


@kernel("MatrixInverse")
@_float_factory
def _inverse(dev, op, host):
    def run(x):
        out, bad = lu(dev, x, True, op.attrs["adjoint"])
        if _flagged(dev, bad):
            return dev.from_host(host(x))  # raises TF's "Input is not invertible."
        return out
    return run


@kernel("MatrixDeterminant")
@_float_factory
def _determinant(dev, op, host):
    return lambda x: lu(dev, x, False)[0]


def qr(dev, x, full: bool):
    """(q, r) of the matrices ``x [..., m, n]``, as ``numpy.linalg.qr`` (complete or reduced)."""
    m, n = x.shape[-2:]
    batch, k = x.size // (m * n), min(m, n)
    qc = m if full else k
    q, r = dev.empty(x.shape[:-2] + (m, qc), x.dtype), dev.empty(x.shape, x.dtype)
    v, tau = dev.empty((batch, m, k), x.dtype), dev.empty((batch, k), x.dtype)
    _groups(dev, _qr_source(x.dtype.name), "qr", batch, max(n, qc), q.data, r.data, v.data, tau.data, x.data,
            np.int64(m), np.int64(n), np.int64(qc))
    if not full and k < m:
        r = vocab.copy_view(dev, r, x.shape[:-2] + (k, n), contiguous_strides(x.shape))  # the first k rows
    return q, r


@kernel("Qr")
@_float_factory
def _qr(dev, op, host):
    return lambda x: list(qr(dev, x, op.attrs["full_matrices"]))


def _orthonormal(dev, u, full: bool):
    """``u`` (tall, columns orthonormal or 0) re-orthonormalized: Householder ``q`` with ``r``'s diagonal
    signs, completed to square when ``full``."""
    q, r = qr(dev, u, full)
    m, n, qc = u.shape[-2], u.shape[-1], q.shape[-1]
    src = _qr_source(u.dtype.name)
    dev.launch(dev.kernel(src, "signs"), q.size, q.data, r.data, np.int64(m * qc), np.int64(qc), np.int64(n),
               np.int64(r.shape[-2] * n), np.int64(q.size))
    return q


def svd(dev, x, compute_uv: bool, full: bool):
    """(s, u, v) of the matrices ``x [..., m, n]`` (m, n > 0), ``x = u diag(s) v^T``."""
    m, n = x.shape[-2:]
    wide = m < n
    if wide:  # Jacobi on the columns of the tall A^T: A = V S U^T
        x = vocab.transpose(dev, x, list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2])
        m, n = n, m
    lead, batch = tuple(x.shape[:-2]), x.size // (m * n)
    s, u, v = dev.empty(lead + (n,), x.dtype), dev.empty(lead + (m, n), x.dtype), dev.empty(lead + (n, n), x.dtype)
    work, rot = dev.empty((batch, m, n), x.dtype), dev.empty((batch, n, n), x.dtype)
    sv, order = dev.empty((batch, n), x.dtype), dev.empty((batch, n), np.int64)
    tol = np.asarray(m * np.finfo(x.dtype).eps, x.dtype)
    _groups(dev, _svd_source(x.dtype.name), "svd", batch, max(n // 2, 1), s.data, u.data, v.data,
            work.data, rot.data, sv.data, order.data, x.data, np.int64(m), np.int64(n), np.int32(60), tol[()])
    if not compute_uv:
        return s, None, None
    u = _orthonormal(dev, u, full)
    return (s, v, u) if wide else (s, u, v)


@kernel("Svd")
@_float_factory
def _svd(dev, op, host):
    def run(x):
        s, u, v = svd(dev, x, op.attrs["compute_uv"], op.attrs["full_matrices"])
        if u is None:
            u = v = dev.empty((0,), x.dtype)
        return [s, u, v]
    return run

