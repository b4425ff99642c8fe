"""``C += A @ B`` and ``y += a * x`` in one BLAS call each, for the NumPy backend's kernels.

NumPy's ``matmul`` always writes a fresh result, so summing GEMMs (a convolution's kernel rows, its
input gradient's shifted row blocks) costs a temporary and an extra pass over it per GEMM: on the
second conv layer of a small CNN, 8 MB written and re-read five times a step. BLAS's ``gemm`` takes
``beta``: ``C = alpha * A @ B + beta * C`` accumulates in place. :func:`gemm_into` calls the
``cblas_?gemm`` of the OpenBLAS that NumPy itself loaded (found in the process's mapped libraries;
NumPy's wheels name it ``scipy_cblas_sgemm64_``, 64-bit integers), so it is the same library and
kernel NumPy's ``matmul`` uses, with the same threads.

:func:`axpy_into` is ``out = y + alpha * x`` with ``?axpy`` (one pass where NumPy needs two and a
temporary): optimizer updates (``var -= lr * delta``) on large variables.

When no such library is found (another BLAS, another platform), or for other dtypes, layouts that
are not BLAS-compatible, or a non-NumPy ``xp``, it computes ``C += A @ B`` with ``matmul`` and an
add: the same values up to rounding, only slower.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_lock = threading.Lock()
_found = None  # (sgemm, dgemm, saxpy, daxpy) ctypes functions, False when none, None before the lookup
AXPY_MIN = 1 << 15  # elements: below this the ctypes call costs more than NumPy's second pass


def _candidates():
    """(library, symbol prefix, symbol suffix, int type) to try, for BLAS libraries mapped into this process.

    A ``64_`` symbol suffix is OpenBLAS's ILP64 convention (NumPy's wheels: ``scipy_cblas_sgemm64_``);
    unsuffixed symbols are used only from an OpenBLAS whose ``openblas_get_config`` says which integer
    width it was built with (a wrong guess would pass garbage sizes).
    """
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    except OSError:
        return
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        yield lib, "scipy_", "64_", ctypes.c_int64
        yield lib, "", "64_", ctypes.c_int64
        config = getattr(lib, "openblas_get_config", None)
        if config is not None:
            config.restype = ctypes.c_char_p
            yield lib, "", "", ctypes.c_int64 if b"USE64BITINT" in (config() or b"") else ctypes.c_int32


def _works(sgemm) -> bool:
    """A 2x2 product through ``sgemm`` gives the right numbers (the binding is what it seems)."""
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[5, 6], [7, 8]], np.float32)
    c = np.full((2, 2), 1, np.float32)
    sgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, 2, 2, 2, 1.0, a.ctypes.data, 2, b.ctypes.data, 2, 1.0, c.ctypes.data, 2)
    return bool(np.array_equal(c, a @ b + 1))


def _bind(lib, name: str, int_t, real_t):
    fn = getattr(lib, name)
    i, p = int_t, ctypes.c_void_p
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, real_t, p, i, p, i, real_t, p, i]
    fn.restype = None
    return fn


def _bind_axpy(lib, name: str, int_t, real_t):
    fn = getattr(lib, name)
    fn.argtypes = [int_t, real_t, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t]
    fn.restype = None
    return fn


def _lookup():
    global _found
    if _found is not None:  # after the first call: no lock on the kernels' path
        return _found
    with _lock:
        if _found is not None:
            return _found
        _found = False
        for lib, prefix, suffix, int_t in _candidates():
            try:
                fns = (_bind(lib, f"{prefix}cblas_sgemm{suffix}", int_t, ctypes.c_float),
                       _bind(lib, f"{prefix}cblas_dgemm{suffix}", int_t, ctypes.c_double),
                       _bind_axpy(lib, f"{prefix}cblas_saxpy{suffix}", int_t, ctypes.c_float),
                       _bind_axpy(lib, f"{prefix}cblas_daxpy{suffix}", int_t, ctypes.c_double))
            except AttributeError:
                continue
            if not _works(fns[0]):
                continue
            _found = fns
            break
        return _found


def _operand(a):
    """``(transpose flag, leading dimension)`` of a 2-D array BLAS can read in place, else None."""
    item = a.itemsize
    s0, s1 = a.strides
    if s1 == item and s0 % item == 0 and s0 // item >= max(1, a.shape[1]):
        return _NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 // item >= max(1, a.shape[0]):
        return _TRANS, s1 // item
    return None


def gemm_into(xp, a, b, c, beta: float = 1.0) -> None:
    """``c = a @ b + beta * c`` in place (``beta`` 0: ``c = a @ b``): 2-D ``a`` [m, k], ``b`` [k, n], ``c`` [m, n].

    ``c`` must not share memory with ``a`` or ``b`` (BLAS reads them while it writes ``c``).
    """
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape != (m, n):
        raise ValueError(f"gemm_into: shapes {a.shape} @ {b.shape} -> {c.shape} do not match")
    fns = _lookup() if xp is np else False
    ok = (fns and a.dtype == b.dtype == c.dtype and a.dtype in (np.float32, np.float64) and m and n and k
          and c.flags.writeable and c.strides[1] == c.itemsize and c.strides[0] % c.itemsize == 0
          and c.strides[0] // c.itemsize >= n)
    pa = _operand(a) if ok else None
    pb = _operand(b) if pa else None
    if pb is None:
        if beta == 0:
            xp.matmul(a, b, out=c)
        else:
            if beta != 1:
                c *= beta
            c += xp.matmul(a, b)
        return
    fn = fns[0] if a.dtype == np.float32 else fns[1]
    fn(_ROW_MAJOR, pa[0], pb[0], m, n, k, 1.0, a.ctypes.data, pa[1], b.ctypes.data, pb[1], beta,
       c.ctypes.data, c.strides[0] // c.itemsize)


def axpy_into(xp, alpha, x, y, out, tmp=None):
    """``out = y + alpha * x`` elementwise (same shapes) and return ``out``; ``x`` and ``y`` are not changed
    (unless one of them is ``out`` or ``tmp``).

    One BLAS ``axpy`` pass when ``x`` and ``y`` are large contiguous float32/float64 NumPy arrays of one
    dtype and ``out`` is ``y`` (or another array than ``x``, which gets ``y`` copied first); else NumPy's
    ``tmp = alpha * x; out = y + tmp`` (``tmp``: a scratch array like ``x``, or a new one).
    """
    n = y.size
    fns = _lookup() if xp is np and n >= AXPY_MIN else False
    if (fns and out is not x and x.dtype == y.dtype == out.dtype and x.dtype in (np.float32, np.float64)
            and x.size == n == out.size and x.flags.c_contiguous and y.flags.c_contiguous
            and out.flags.c_contiguous and out.flags.writeable):
        if out is not y:
            xp.copyto(out, y)
        (fns[2] if x.dtype == np.float32 else fns[3])(n, float(alpha), x.ctypes.data, 1, out.ctypes.data, 1)
        return out
    tmp = xp.multiply(x, alpha, out=tmp)
    return xp.add(y, tmp, out=out)
