"""Exact scatter-max/min of floating-point values on the GPU (segment max/min and their gradients).

``cupy.maximum.at`` on float64 did not give the exact maximum on an H200 (CuPy 14.2): the segment-max
gradient, which selects the elements *equal* to their segment's maximum, then found none (the op table's
float64 gradient rows failed while float32 and integer-valued rows passed). This kernel does the update
with a compare-and-swap loop on the value's bits, so the stored value is always one of the inputs,
bit for bit, and NaN wins as in TF's CPU kernels (``np.maximum`` semantics).
"""

from __future__ import annotations

_PREAMBLE = r"""
template <typename T, typename U> __device__ void df_cas_extreme(T* addr, T val, bool is_max) {
    union Bits { T t; U u; };
    U* a = (U*)addr;
    U old = *a, assumed;
    do {
        assumed = old;
        Bits cur, next;
        cur.u = assumed;
        if (cur.t != cur.t) return;                                // NaN already there: it stays
        if (!((val != val) || (is_max ? val > cur.t : val < cur.t))) return;
        next.t = val;
        old = atomicCAS(a, assumed, next.u);
    } while (assumed != old);
}
"""
_KERNELS: dict = {}


def extreme_at(cupy, ufunc: str, out, idx, vals) -> None:
    """``getattr(np, ufunc).at(out, idx, vals)`` for ``ufunc`` in maximum/minimum and float ``out``:
    ``idx`` indexes the first axis of ``out`` (one index per leading row of ``vals``)."""
    dtype = out.dtype
    key = (ufunc, dtype.name)
    k = _KERNELS.get(key)
    if k is None:
        t, u = {"float32": ("float", "unsigned int"), "float64": ("double", "unsigned long long"),
                "float16": (None, None)}[dtype.name]
        if t is None:
            raise TypeError(f"scatter {ufunc} on {dtype}")
        k = _KERNELS[key] = cupy.ElementwiseKernel(
            f"{dtype.name} v, raw int64 ids, int64 r", f"raw {dtype.name} out",
            f"long long s = ids[i / r]; df_cas_extreme<{t}, {u}>(&out[s * r + i % r], v, "
            f"{'true' if ufunc == 'maximum' else 'false'});",
            f"df_scatter_{ufunc}", preamble=_PREAMBLE)
    idx = cupy.asarray(idx, dtype=cupy.int64).reshape(-1)
    vals = cupy.ascontiguousarray(cupy.broadcast_to(vals, (idx.size,) + out.shape[1:]), dtype=dtype)
    r = 1
    for d in out.shape[1:]:
        r *= d
    if idx.size == 0 or r == 0:
        return
    k(vals.reshape(-1), idx, r, out)
