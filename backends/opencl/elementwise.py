"""Elementwise kernels from ONE template: a C expression (``backends/cexpr.py``) over strided operands.

Every elementwise op, every fused program, and every copy that only moves elements (transpose,
broadcast, slice, reverse, concatenation into a part of an output, padding's interior) is one kernel
made by :func:`source` from an :class:`Operand` per input and one for the output:

- ``"flat"``  : contiguous and of the output's shape: read as ``x[i]``;
- ``"scalar"``: a host scalar, passed by value (no device buffer, no upload);
- ``"one"``   : a single-element device array: ``x[0]``;
- ``"strided"``: any other view: an offset and one element stride per output dimension (0 where the
  operand broadcasts), baked into the source as literals.

The element index ``i`` runs over the output in a grid-stride loop; strided operands decompose it into
coordinates once per element. Sources are cached by their text (:meth:`Device.kernel`), launches by
(expression, operand patterns, dtypes) in an LRU cache, so a training step builds each kernel once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .runtime import ctype


@dataclass(frozen=True)
class Operand:
    kind: str                 # "flat" | "scalar" | "one" | "strided"
    dtype: str
    offset: int = 0
    strides: tuple = ()       # element strides per output dimension ("strided")


def contiguous_strides(shape) -> tuple:
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= int(d)
    return tuple(reversed(out))


def broadcast_strides(shape, out_shape) -> tuple:
    """Element strides of a contiguous ``shape`` read at the coordinates of ``out_shape`` (NumPy broadcasting)."""
    st = contiguous_strides(shape)
    lead = len(out_shape) - len(shape)
    return tuple(0 if k < lead or shape[k - lead] == 1 else st[k - lead] for k in range(len(out_shape)))


def _coalesce(shape, stride_sets):
    """Merge adjacent output dimensions that every operand walks contiguously (fewer index divisions)."""
    dims = [(int(d), [s[k] for s in stride_sets]) for k, d in enumerate(shape) if d != 1]
    out: list = []
    for d, st in dims:
        if out:
            pd, pst = out[-1]
            if all(p == s * d for p, s in zip(pst, st)):
                out[-1] = (pd * d, st)
                continue
        out.append((d, st))
    return tuple(d for d, _ in out), [tuple(st[i] for _, st in out) for i in range(len(stride_sets))]


@lru_cache(maxsize=4096)
def source(statements: tuple, outs: tuple, ins: tuple, shape: tuple) -> str:
    """OpenCL C of one elementwise kernel ``ew``.

    ``statements``: C lines using ``in0``.. (values read at the current element), assigning nothing
    themselves; ``outs``: (Operand, expression) per output; ``ins``: Operand per input; ``shape``: the
    (coalesced) output shape, used only by strided operands.
    """
    params, reads = [], []
    for k, (o, _) in enumerate(outs):
        params.append(f"__global {ctype(o.dtype)} *out{k}")
    for k, o in enumerate(ins):
        t = ctype(o.dtype)
        if o.kind == "scalar":
            params.append(f"const {t} in{k}")
        else:
            params.append(f"__global const {t} *p{k}")
            reads.append(f"const {t} in{k} = p{k}[{_index(o, k)}];" if o.kind != "one" else
                         f"const {t} in{k} = p{k}[0];")
    writes = [f"out{k}[{_index(o, 'o%d' % k)}] = {e};" for k, (o, e) in enumerate(outs)]
    coords = ""
    if any(o.kind == "strided" for o in ins) or any(o.kind == "strided" for o, _ in outs):
        coords = "long r = i;"
        for d in range(len(shape) - 1, -1, -1):
            coords += f" const long c{d} = r % {shape[d]}L; r /= {shape[d]}L;"
    body = "\n        ".join([coords] + reads + list(statements) + writes)
    return (f"__kernel void ew({', '.join(params)}, const long n) {{\n"
            f"    const long i = get_global_id(0); if (i < n) {{\n"
            f"        {body}\n    }}\n}}\n")


def _index(o: Operand, k) -> str:
    if o.kind == "flat":
        return "i"
    terms = [f"c{d} * {s}L" for d, s in enumerate(o.strides) if s != 0]
    return " + ".join([f"{o.offset}L"] + terms) if terms else f"{o.offset}L"


def operand_for(x, out_shape, strides=None, offset=0) -> tuple:
    """(Operand, kernel argument) for input ``x``: a device array (contiguous; ``strides`` and ``offset``
    override how it is read) or a host scalar."""
    if not hasattr(x, "data") or isinstance(x, (np.ndarray, np.generic)):
        v = np.asarray(x).reshape(())
        if v.dtype == bool:
            v = v.astype(np.uint8)  # OpenCL C has no bool kernel arguments: uchar, as bool arrays are stored
            return Operand("scalar", "bool"), v[()]
        return Operand("scalar", v.dtype.name), v[()]
    if strides is None:
        if tuple(x.shape) == tuple(out_shape):
            return Operand("flat", x.dtype.name), x.data
        if x.size == 1:
            return Operand("one", x.dtype.name), x.data
        strides = broadcast_strides(x.shape, out_shape)
    return Operand("strided", x.dtype.name, int(offset), tuple(int(s) for s in strides)), x.data


def run(dev, statements, out_specs, inputs, shape):
    """Evaluate elementwise ``statements`` over ``shape``.

    ``out_specs``: (expression, dtype, target) per output, where target is None (a new contiguous
    array) or (array, strides, offset) to write into a view of an existing array. ``inputs``: per
    input, an array/scalar or (array, strides, offset). Returns the output arrays.
    """
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape, dtype=np.int64))
    ins, args = [], []
    for x in inputs:
        o, a = operand_for(x[0], shape, x[1], x[2]) if isinstance(x, tuple) else operand_for(x, shape)
        ins.append(o)
        args.append(a)
    outs, results, out_args = [], [], []
    for expr, dtype, target in out_specs:
        if target is None:
            arr = dev.empty(shape, dtype)
            outs.append((Operand("flat", np.dtype(dtype).name), expr))
        else:
            arr, st, off = target
            outs.append((Operand("strided", np.dtype(dtype).name, int(off), tuple(st)), expr))
        results.append(arr)
        out_args.append(arr.data)
    if n == 0:
        return results
    # coalesce the index space when any operand is strided (fewer divisions per element)
    strided = [k for k, o in enumerate(ins) if o.kind == "strided"] + \
              [len(ins) + k for k, (o, _) in enumerate(outs) if o.kind == "strided"]
    cshape = shape
    if strided:
        sets = [ins[k].strides if k < len(ins) else outs[k - len(ins)][0].strides for k in strided]
        flat_set = contiguous_strides(shape)
        cshape, merged = _coalesce(shape, sets + [flat_set])
        for k, st in zip(strided, merged):
            if k < len(ins):
                ins[k] = Operand("strided", ins[k].dtype, ins[k].offset, st)
            else:
                o, e = outs[k - len(ins)]
                outs[k - len(ins)] = (Operand("strided", o.dtype, o.offset, st), e)
    src = source(tuple(statements), tuple(outs), tuple(ins), cshape)
    for o in ins:
        dev.check_dtype(o.dtype)
    dev.launch(dev.kernel(src, "ew"), n, *out_args, *args, np.int64(n))
    return results
