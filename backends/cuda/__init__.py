"""The CUDA backend (CuPy): ``xp`` is CuPy, so the kernels of ``dataflow/ops`` run as written.

Elementwise ops and fused programs are ``cupy.ElementwiseKernel`` objects generated from the per-op
expression table (``backends/cexpr.py``, CUDA C by ``backends/cuda/source.py``); matmul is cuBLAS
(``cupy.matmul``); convolution is the ops' im2col + GEMM on CuPy arrays. ``gpu_options.allow_growth``
and ``per_process_gpu_memory_fraction`` set the CuPy memory pool's limit. Only where a GPU exists
(``cupy.cuda.runtime.getDeviceCount()``); elsewhere asking for it is a MissingBackendError.
"""

from __future__ import annotations

import numpy as np

from ..base import Backend
from . import source

_INSTALL = "pip install cupy-cuda12x"
# ops whose NumPy kernels call NumPy directly (host-only code paths): they run on the CPU
HOST_ONLY = frozenset({"PyFunc", "PyFuncStateless", "Print", "PrintV2", "Assert", "Unique", "Svd", "Qr",
                       "Cholesky", "MatrixDeterminant", "MatrixInverse", "Einsum", "TopKV2", "Multinomial"})


class CudaBackend(Backend):
    name = "CUDA"
    is_gpu = True

    def __init__(self, index: int = 0):
        from .. import MissingBackendError

        try:
            import cupy
        except ImportError as e:
            raise MissingBackendError(f"The CUDA backend needs CuPy: {_INSTALL} ({e})") from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception:  # no driver, no device
            count = 0
        if index >= count:
            raise MissingBackendError(f"No CUDA GPU {index}: {count} found")
        self.index = index
        self.cupy = cupy
        self.xp = cupy
        self._kernels: dict = {}

    def configure(self, gpu_options) -> None:
        """Apply ``ConfigProto.gpu_options``: a memory fraction below 1 caps CuPy's pool."""
        fraction = getattr(gpu_options, "per_process_gpu_memory_fraction", 1.0) or 1.0
        if fraction < 1.0:
            with self.cupy.cuda.Device(self.index):
                total = self.cupy.cuda.runtime.memGetInfo()[1]
                self.cupy.get_default_memory_pool().set_limit(size=int(total * fraction))

    def has_kernel(self, op) -> bool:
        return op.op_def.kernel is not None and op.type not in HOST_ONLY

    def bind(self, op, state):
        ins = [t.dtype.as_numpy_dtype for t in op.inputs]
        if op.op_def.xp_name is not None or op.type in ("Relu", "ReluGrad", "Sigmoid", "Rsqrt"):
            try:
                k = self._elementwise(op.type, tuple(ins), op.outputs[0].dtype.as_numpy_dtype)
                return lambda *xs: k(*[self.from_host(x) for x in xs])  # constants arrive as NumPy values
            except KeyError:
                pass
        return super().bind(op, state)

    def _elementwise(self, op_type, in_dtypes, out_dtype):
        key = (op_type, in_dtypes, np.dtype(out_dtype).name)
        k = self._kernels.get(key)
        if k is None:
            ins, outs, body = source.elementwise_parts(op_type, in_dtypes, out_dtype)
            k = self._kernels[key] = self.cupy.ElementwiseKernel(ins, outs, body, f"df_{op_type.lower()}")
        return k

    def compile_fused(self, program, outputs, in_dtypes, out_dtypes):
        ins, outs, body = source.fused_parts(program, outputs, in_dtypes, out_dtypes)
        k = self.cupy.ElementwiseKernel(ins, outs, body, "df_fused")
        return lambda *xs: k(*[self.from_host(x) for x in xs])

    def allocate(self, shape, dtype):
        return self.cupy.empty(shape, dtype)

    def is_device_array(self, x) -> bool:
        return isinstance(x, self.cupy.ndarray)

    def to_host(self, x):
        return x.get() if isinstance(x, self.cupy.ndarray) else x

    def from_host(self, x):
        if isinstance(x, self.cupy.ndarray):
            return x
        a = np.asarray(x)
        if a.dtype.kind not in "biufc":
            return x
        with self.cupy.cuda.Device(self.index):
            return self.cupy.asarray(a)

    def synchronize(self) -> None:
        self.cupy.cuda.Device(self.index).synchronize()

