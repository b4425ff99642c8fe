"""Large NumPy kernels split over the CPU's cores.

NumPy runs one ufunc on one core; TensorFlow's CPU kernels (Eigen) split elementwise work, pooling
and patch building over a thread pool. Kernels here do the same through two helpers:

* :func:`run_rows` calls ``body(lo, hi)`` for ranges of rows (the leading axis of whatever the body
  slices) covering ``[0, n)``, on a process-wide thread pool when ``xp`` is NumPy and there are at least
  ``MIN_ELEMENTS`` elements per part; the caller's thread does the first part. Bodies write disjoint
  rows of preallocated outputs, so the result is the same as one ``body(0, n)`` call, bit for bit.
* :func:`ufunc_rows`: a NumPy ufunc with broadcasting, computed that way into one output.
* :func:`ufunc_with_scalar`: ``maximum``/``minimum`` of an array and a scalar (ReLU, clipping)
  against a block filled with the scalar: NumPy's loops for these two are about 4x slower with a
  scalar operand than with two arrays (NumPy 2.4: 600 us vs 150 us on 1.6M float32 here).

Any other ``xp`` (CuPy, the OpenCL array module) runs ``body(0, n)`` once: its device is parallel
already. NumPy releases the GIL inside ufuncs, copies and BLAS calls, so the threads run at once.
The pool's threads take the caller's ``np.errstate`` (it is thread-local). A body run on the pool
never splits again (it runs its nested work in place), so the pool cannot deadlock on itself.

``DATAFLOW_NUM_THREADS`` sets the threads; the default is 1 (off). Measured in the training
benchmarks (bench/README.md), splitting made steps no faster or slightly slower: after each GEMM,
OpenBLAS's own worker threads spin for about 0.1 s (OPENBLAS_THREAD_TIMEOUT's default, 2^28 cycles)
on the other cores, so a second NumPy thread competes with a spinning one. Graphs without GEMMs
(elementwise preprocessing, large pooling) do gain: the max-pool gradient of a 64x28x28x32 batch
runs about 1.8x faster on 2 cores (3.3 -> 1.8 ms, measured alone).
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

WORKERS = max(1, min(int(os.environ.get("DATAFLOW_NUM_THREADS", 1)), os.cpu_count() or 1))
# below this many elements per part, handing work to a thread costs more than it saves (measured on
# ReLU, bias adds and pooling of a small CNN: a hand-off is about 20 us)
MIN_ELEMENTS = 1 << 16

_pool = None
_pool_lock = threading.Lock()
_local = threading.local()


def _get_pool():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                from concurrent.futures import ThreadPoolExecutor

                _pool = ThreadPoolExecutor(max(1, WORKERS - 1), thread_name_prefix="dataflow-cpu",
                                           initializer=_mark_worker)
    return _pool


def _mark_worker():
    _local.worker = True


def parts(xp, n_rows: int, n_elements: int) -> int:
    """How many parts :func:`run_rows` splits ``n_rows`` rows holding ``n_elements`` elements into."""
    if xp is not np or WORKERS < 2 or getattr(_local, "worker", False):
        return 1
    return max(1, min(WORKERS, n_rows, n_elements // MIN_ELEMENTS))


def _in_errstate(err, body, lo, hi):
    with np.errstate(**err):
        body(lo, hi)


def run_rows(xp, n_rows: int, n_elements: int, body) -> None:
    """``body(lo, hi)`` over row ranges covering ``[0, n_rows)``: on the thread pool when worth it."""
    k = parts(xp, n_rows, n_elements)
    if k < 2:
        body(0, n_rows)
        return
    bounds = [n_rows * i // k for i in range(k + 1)]
    err = np.geterr()
    pool = _get_pool()
    futures = [pool.submit(_in_errstate, err, body, bounds[i], bounds[i + 1]) for i in range(1, k)]
    try:
        body(bounds[0], bounds[1])
    finally:
        # every part finishes before the outputs are used or an error is raised (the first one wins)
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


_FILL_BLOCK = 1 << 17  # elements of the scalar-filled block: in cache, and few calls per array
_fills: dict = {}  # (dtype char, scalar) -> a read-only block of it


def ufunc_with_scalar(ufunc, x, scalar):
    """``ufunc(x, scalar)`` for ``maximum``/``minimum``, a C-contiguous ``x`` and a scalar of its dtype."""
    n = x.size
    key = (x.dtype.char, scalar)
    fill = _fills.get(key)
    if fill is None:
        if len(_fills) > 32:
            _fills.clear()
        fill = _fills[key] = np.full(_FILL_BLOCK, scalar, dtype=x.dtype)
        fill.flags.writeable = False
    if n <= _FILL_BLOCK:
        return ufunc(x, fill[:n].reshape(x.shape))
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for lo in range(0, n, _FILL_BLOCK):
        hi = min(lo + _FILL_BLOCK, n)
        ufunc(flat[lo:hi], fill[:hi - lo], out=out[lo:hi])
    return out.reshape(x.shape)


def _scalar_operand(ufunc, args):
    """``(array, scalar)`` when ``ufunc(*args)`` can go through :func:`ufunc_with_scalar`, else None."""
    if len(args) != 2 or (ufunc is not np.maximum and ufunc is not np.minimum):
        return None
    x, s = args
    if x.size == 1:
        x, s = s, x
    if (s.size != 1 or x.size < 64 or not isinstance(x, np.ndarray) or x.dtype != s.dtype
            or not x.flags.c_contiguous or np.ndim(s) > x.ndim):
        return None
    return x, s.reshape(())[()]


def ufunc_rows(ufunc, *args):
    """``ufunc(*args)`` (NumPy broadcasting), split over the output's leading axis when it is large."""
    pair = _scalar_operand(ufunc, args)
    if pair is not None:
        return ufunc_with_scalar(ufunc, *pair)
    for a in args:  # the common case, small inputs, decided cheaply
        if a.size >= 2 * MIN_ELEMENTS:
            break
    else:
        return ufunc(*args)
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    size = math.prod(shape)
    if size < 2 * MIN_ELEMENTS or not shape or parts(np, shape[0], size) < 2:
        return ufunc(*args)
    try:
        dtype = ufunc.resolve_dtypes(tuple(np.asarray(a).dtype for a in args) + (None,) * ufunc.nout)[-1]
    except (TypeError, ValueError):  # no loop for these dtypes: let the plain call raise NumPy's error
        return ufunc(*args)
    nd = len(shape)
    # inputs with the full leading axis are sliced; the rest broadcast along it
    split = [isinstance(a, np.ndarray) and a.ndim == nd and a.shape[0] != 1 for a in args]
    out = np.empty(shape, dtype)

    def body(lo, hi):
        ufunc(*[a[lo:hi] if s else a for a, s in zip(args, split)], out=out[lo:hi])

    run_rows(np, shape[0], size, body)
    return out
