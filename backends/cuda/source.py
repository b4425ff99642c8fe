"""CUDA C of the elementwise kernels, from the same per-op expression table as OpenCL (``backends/cexpr.py``).

:func:`elementwise_parts` gives what ``cupy.ElementwiseKernel(in_params, out_params, operation)`` takes
(parameters typed by NumPy dtype names, as CuPy reads them: ``float`` there would mean NumPy's float64;
the operation is CUDA C);
:func:`global_source` wraps the same operation in the ``__global__`` function CuPy would generate (a
grid-stride loop over contiguous operands), so ``nvcc -ptx`` can check the generated C on a machine with
nvcc and no GPU (``tests/test_backends.py``). Importing this module needs neither CuPy nor a GPU.
"""

from __future__ import annotations

import numpy as np

from .. import cexpr

_CTYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long", "bool": "bool",
           "int8": "signed char", "uint8": "unsigned char", "int16": "short", "uint16": "unsigned short",
           "uint32": "unsigned int", "uint64": "unsigned long long"}


def ctype(dtype) -> str:
    return _CTYPES[np.dtype(dtype).name]


def param(dtype, name: str) -> str:
    """One ElementwiseKernel parameter: CuPy parses the type as a NumPy dtype name."""
    return f"{np.dtype(dtype).name} {name}"


def elementwise_parts(op_type: str, in_dtypes, out_dtype) -> tuple[str, str, str]:
    """(in_params, out_params, operation) of one op's ``cupy.ElementwiseKernel``."""
    expr = cexpr.expression(op_type, in_dtypes, len(in_dtypes))
    if expr is None:
        raise KeyError(f"no C expression for {op_type} on {[np.dtype(d).name for d in in_dtypes]}")
    ins = ", ".join(param(d, f"x{i}") for i, d in enumerate(in_dtypes))
    t = ctype(out_dtype)
    return ins, param(out_dtype, "y0"), f"y0 = ({t})({expr.format(*[f'x{i}' for i in range(len(in_dtypes))], T=t)})"


def fused_parts(program, outputs, in_dtypes, out_dtypes) -> tuple[str, str, str]:
    """(in_params, out_params, operation) of a ``FusedElementwise`` program as one ElementwiseKernel."""
    lines, outs = cexpr.program_expression(program, outputs, in_dtypes, out_dtypes, ctype, lambda i: f"x{i}")
    ins = ", ".join(param(d, f"x{i}") for i, d in enumerate(in_dtypes))
    out_params = ", ".join(param(d, f"y{k}") for k, d in enumerate(out_dtypes))
    body = " ".join(lines + [f"y{k} = {o};" for k, o in enumerate(outs)])
    return ins, out_params, body


def global_source(in_params: str, out_params: str, operation: str, name: str = "ew") -> str:
    """The ``__global__`` kernel equivalent to ``ElementwiseKernel(in_params, out_params, operation)``
    over contiguous operands of one shape."""
    params, loads = [], []
    for p in [q.strip() for q in in_params.split(",") if q.strip()]:
        t, v = p.rsplit(" ", 1)
        t = ctype(t)
        params.append(f"const {t}* __restrict__ {v}_p")
        loads.append(f"const {t} {v} = {v}_p[i];")
    outs = []
    for p in [q.strip() for q in out_params.split(",") if q.strip()]:
        t, v = p.rsplit(" ", 1)
        t = ctype(t)
        params.append(f"{t}* __restrict__ {v}_p")
        outs.append((t, v))
    decl = " ".join(f"{t} {v};" for t, v in outs)
    store = " ".join(f"{v}_p[i] = {v};" for _, v in outs)
    return (f'extern "C" __global__ void {name}({", ".join(params)}, const long long n) {{\n'
            f"    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;\n"
            f"         i += (long long)blockDim.x * gridDim.x) {{\n"
            f"        {' '.join(loads)} {decl}\n        {operation};\n        {store}\n    }}\n}}\n")
