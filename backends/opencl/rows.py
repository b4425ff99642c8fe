"""OpenCL kernels of the sparse variable updates: ``ScatterAdd/Sub/Update`` and ``SparseApplyMomentum``,
``SparseApplyAdagrad`` (the optimizer steps of an embedding: only the rows a batch touched change).

The indices are read on the host (they are indices, as the index maps of ``movement.py``): validated
(TF's error naming the variable), grouped into a CSR map of the distinct rows (``rows``; the positions of
each row's updates, ``order[starts[k]:starts[k+1]]``, in their original order) and uploaded. The
variable and its slots are copied on the device (values handed out by earlier runs never change, as the
dense updates of ``kernels.py``), then ONE generated kernel, a work item per (distinct row, column),
reads the old values, applies the op's C statements once per update position, and writes the copies:

- ``Scatter*``: every position in turn (repeated indices add up, and the last ScatterUpdate wins, as
  NumPy's ``add.at`` and fancy assignment);
- ``SparseApply*``: the LAST position of each row only, from the old values (NumPy's fancy-index
  semantics; TF expects unique indices, which ``Optimizer._apply_sparse_duplicate_indices`` makes).
  Their statements are the dense ``ApplyMomentum``/``ApplyAdagrad`` rows of ``kernels._UPDATES``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from dataflow.ops.sparse_training import check_rows

from . import elementwise as ew
from . import movement as mv
from .kernels import _UPDATES, _host, _np, kernel, update_code
from .runtime import ctype

# op type -> (names of the refs, names of the per-position inputs, names of the scalars, statements, last only)
_SCATTER = {"ScatterAdd": "var = var + upd;", "ScatterSub": "var = var - upd;", "ScatterUpdate": "var = upd;"}
_SPARSE = {"SparseApplyMomentum": ("ApplyMomentum", ["lr", "momentum"]), "SparseApplyAdagrad": ("ApplyAdagrad", ["lr"])}


@lru_cache(maxsize=64)
def _rows_source(dtype: str, it: str, refs: tuple, per_position: tuple, scalars: tuple, code: str) -> str:
    t, i = ctype(dtype), ctype(it)
    params = [f"__global {t} *new_{r}" for r in refs] + [f"__global const {t} *old_{r}" for r in refs]
    params += [f"__global const {t} *at_{u}" for u in per_position] + [f"__global const {t} *s_{s}" for s in scalars]
    load = " ".join(f"{t} {r} = old_{r}[at];" for r in refs) + " " + " ".join(
        f"const {t} {s} = s_{s}[0];" for s in scalars)
    reads = " ".join(f"const {t} {u} = at_{u}[p];" for u in per_position)
    store = " ".join(f"new_{r}[at] = {r};" for r in refs)
    return f"""
__kernel void rows({', '.join(params)}, __global const {i} *rows, __global const {i} *order,
                   __global const {i} *starts, const long inner, const long n) {{
    const long e = get_global_id(0); if (e < n) {{
        const long k = e / inner, j = e % inner, at = rows[k] * inner + j;
        {load}
        for (long q = starts[k]; q < starts[k + 1]; q++) {{
            const long p = order[q] * inner + j; {reads}
            {code}
        }}
        {store}
    }}
}}
"""


def _row_groups(dev, indices, n_rows, slot, last_only):
    """Device (rows, order, starts) of host ``indices`` (validated against ``n_rows``)."""
    flat = np.asarray(indices).reshape(-1).astype(np.int64)
    check_rows(flat, n_rows, slot)
    order = np.argsort(flat, kind="stable")
    rows, counts = np.unique(flat[order], return_counts=True)
    starts = np.zeros(rows.size + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    if last_only:  # the last position of each row
        order, starts = order[starts[1:] - 1], np.arange(rows.size + 1, dtype=np.int64)
    return [mv.upload_map(dev, m) for m in (rows, order, starts)], rows.size


def _update_rows(dev, slots, per_position, scalars, indices, names, code, last_only):
    """Apply ``code`` to the rows ``indices`` of the slots' values (copied); the slots get the copies."""
    old = [s.read() for s in slots]
    dt, inner = old[0].dtype, math.prod(old[0].shape[1:])
    (rows, order, starts), n = _row_groups(dev, _host(indices), old[0].shape[0], slots[0], last_only)
    full = (np.size(indices),) + tuple(old[0].shape[1:])
    per_position = [u if tuple(u.shape) == full else ew.run(dev, [], [("in0", dt, None)], [u], full)[0]
                    for u in (dev.operand(np.asarray(v, dt) if not hasattr(v, "queue") else v) for v in per_position)]
    scalars = [dev.operand(np.asarray(_host(s), dt).reshape(1)) for s in scalars]
    new = [v.copy() for v in old]
    if n and inner:
        src = _rows_source(np.dtype(dt).name, rows.dtype.name, *names, code)
        dev.launch(dev.kernel(src, "rows"), n * inner, *[a.data for a in new + old + per_position + scalars],
                   rows.data, order.data, starts.data, np.int64(inner), np.int64(n * inner))
    for s, v in zip(slots, new):
        s.value = v
    return new[0]


@kernel(*_SCATTER)
def _scatter(dev, op, state=None):
    if np.dtype(_np(op.outputs[0].dtype)).kind not in "iuf":
        return None
    names, code = (("var",), ("upd",), ()), _SCATTER[op.type]
    return lambda ref, indices, updates: _update_rows(dev, [ref], [updates], [], indices, names, code, False)


@kernel(*_SPARSE)
def _sparse_apply(dev, op, state=None):
    dense, scalars = _SPARSE[op.type]
    dt = _np(op.outputs[0].dtype)
    if np.dtype(dt).kind != "f":
        return None
    refs, body = _UPDATES[dense]
    t = ctype(dt)
    code = update_code(body, t, op)
    names = (tuple(refs), ("grad",), tuple(scalars))

    def run(var, accum, lr, grad, indices, *momentum):
        return _update_rows(dev, [var, accum], [grad], [lr, *momentum], indices, names, code, True)
    return run
