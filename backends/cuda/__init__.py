"""The CUDA backend (CuPy): ``xp`` is CuPy, so the kernels of ``dataflow/ops`` run as written.

Elementwise ops and fused programs are ``cupy.ElementwiseKernel`` objects generated from the per-op
expression table (``backends/cexpr.py``, CUDA C by ``backends/cuda/source.py``); matmul is cuBLAS
(``cupy.matmul``); convolution is the ops' im2col + GEMM on CuPy arrays. ``per_process_gpu_memory_fraction``
sets the CuPy memory pool's limit (the pool always grows on demand, as ``allow_growth=True``). Only where a
GPU exists (``cupy.cuda.runtime.getDeviceCount()``); elsewhere asking for it is a MissingBackendError.

Host memory, as TF's GPU kernels declare it: the inputs that a kernel reads as Python numbers (shapes,
axes, sizes, paddings, counts: :data:`HOST_PARAMS`, by the kernel's parameter names) come to the host;
every other numeric input is a CuPy array (host values are uploaded, graph constants once). Integer ops
whose inputs are all host values (shape arithmetic) run on the host, as TF keeps int32 in host memory.
"""

from __future__ import annotations

import functools

import numpy as np

from ..base import Backend, ConstantCache
from . import source

_INSTALL = "pip install cupy-cuda12x"
# ops whose NumPy kernels call NumPy directly (host-only code paths): they run on the CPU
HOST_ONLY = frozenset({"PyFunc", "PyFuncStateless", "Print", "PrintV2", "Assert", "Multinomial",
                       # control flow: bodies are planned for the CPU (see docs/DESIGN.md, known limits)
                       "While", "If", "WhileGrad", "IfGrad", "TensorArray", "TensorArrayWrite",
                       "TensorArrayRead", "TensorArrayGather", "TensorArrayScatter", "TensorArrayStack",
                       "TensorArrayUnstack", "TensorArraySize", "TensorArrayConcat", "TensorArraySplit",
                       "TensorArrayGradRow", "TensorArrayGradStack", "TensorArrayPutRow", "TensorArrayUnwrite",
                       # host-style kernels (Python loops, codecs, NumPy-only calls), as TF's CPU-only kernels
                       "ComputeAccidentalHits", "DecodeCSV", "EncodePng", "DecodePng", "SparseToDense"})
_HOST_DTYPES = frozenset({"string", "variant", "resource"})
# kernel parameters read on the host (TF's HostMemory arguments)
HOST_PARAMS = frozenset({"shape", "dims", "multiples", "paddings", "size", "begin", "sizes", "in_shape",
                         "num_segments", "depth", "k_input", "num_samples", "size_splits", "output_shape", "axis",
                         "num", "start", "limit", "index", "pred", "history", "constant_values"})
# variadic kernels: which of their inputs are host memory, by position
_HOST_POSITIONS = {"StridedSlice": lambda n: range(1, n), "StridedSliceGrad": lambda n: range(0, n - 1),
                   "Range": lambda n: range(n), "TensorArrayUnwrite": lambda n: (2,)}


class CudaBackend(ConstantCache, Backend):
    _const_kinds = "biufc"
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
        self._init_constants()

    def configure(self, gpu_options) -> None:
        """Apply ``ConfigProto.gpu_options``: a memory fraction below 1 caps CuPy's pool."""
        fraction = getattr(gpu_options, "per_process_gpu_memory_fraction", 1.0) or 1.0
        if fraction < 1.0:
            with self.cupy.cuda.Device(self.index):
                total = self.cupy.cuda.runtime.memGetInfo()[1]
                self.cupy.get_default_memory_pool().set_limit(size=int(total * fraction))

    def has_kernel(self, op) -> bool:
        if op.type == "FusedElementwise":
            try:
                source.fused_parts(op.attrs["program"], op.attrs["outputs"],
                                   [t.dtype.as_numpy_dtype for t in op.inputs],
                                   [t.dtype.as_numpy_dtype for t in op.outputs])
            except KeyError:  # a step without a C expression
                return False
        return op.op_def.kernel is not None and op.type not in HOST_ONLY and not any(
            t.dtype.name in _HOST_DTYPES for t in (*op.inputs, *op.outputs))  # strings: CPU kernels, as TF

    def bind(self, op, state):
        ins = [t.dtype.as_numpy_dtype for t in op.inputs]
        if op.op_def.xp_name is not None or op.type in ("Relu", "ReluGrad", "Sigmoid", "Rsqrt"):
            try:
                k = self._elementwise(op.type, tuple(ins), op.outputs[0].dtype.as_numpy_dtype)
                return lambda *xs: k(*[self.operand(x) for x in xs])  # constants arrive as NumPy values
            except KeyError:
                pass
        if op.type == "FusedElementwise":
            return self._bind_fused(op, state)
        kernel = super().bind(op, state)
        host = self.host_inputs(op)
        refs = set(range(len(op.inputs))) if not isinstance(op.op_def.ref_inputs, tuple) \
            else set(op.op_def.ref_inputs)
        keep = host | refs
        device = [i for i in range(len(op.inputs)) if i not in keep]
        to_host, operand = self.to_host, self.operand

        def run(*xs):
            xs = list(xs)
            for i in host:
                if i < len(xs):
                    xs[i] = to_host(xs[i])
            for i in device:
                xs[i] = operand(xs[i])
            return kernel(*xs)

        return self.host_shape_arithmetic(op, state, run)

    @staticmethod
    def host_inputs(op) -> frozenset:
        """Indices of ``op``'s inputs its kernel reads on the host (TF's HostMemory arguments)."""
        import inspect

        n = len(op.inputs)
        if op.type in _HOST_POSITIONS:
            return frozenset(_HOST_POSITIONS[op.type](n))
        params = [p for p in inspect.signature(op.op_def.kernel).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
        return frozenset(i for i, p in enumerate(params[:n]) if p.name in HOST_PARAMS)

    def _elementwise(self, op_type, in_dtypes, out_dtype):
        key = (op_type, in_dtypes, np.dtype(out_dtype).name)
        k = self._kernels.get(key)
        if k is None:
            ins, outs, body = source.elementwise_parts(op_type, in_dtypes, out_dtype)
            k = self._kernels[key] = self.cupy.ElementwiseKernel(ins, outs, body, f"df_{op_type.lower()}")
        return k

    def _bind_fused(self, op, state):
        """The FusedElementwise op with this device's one-kernel program (errors name the user's op)."""
        kwargs = dict(op.op_def.bind(op, state))
        k = self._fused_kernel(op.attrs["program"], op.attrs["outputs"],
                               tuple(np.dtype(t.dtype.as_numpy_dtype) for t in op.inputs),
                               tuple(np.dtype(t.as_numpy_dtype) for t in op.attrs["out_types"]))
        n_out = len(op.attrs["outputs"])
        operand = self.operand

        def run(*xs, out=None):
            xs = [operand(x) for x in xs]
            if out is not None and n_out == 1 and isinstance(out, self.cupy.ndarray):
                res = k(*xs, out)
            else:
                res = k(*xs)
            return res if isinstance(res, tuple) else (res,)

        kwargs["run"] = run
        return functools.partial(op.op_def.kernel, self.cupy, **kwargs)

    def _fused_kernel(self, program, outputs, in_dtypes, out_dtypes):
        key = ("fused", program, outputs, in_dtypes, out_dtypes)
        k = self._kernels.get(key)
        if k is None:
            ins, outs, body = source.fused_parts(program, outputs, in_dtypes, out_dtypes)
            k = self._kernels[key] = self.cupy.ElementwiseKernel(ins, outs, body, "df_fused")
        return k

    def compile_fused(self, program, outputs, in_dtypes, out_dtypes):
        k = self._fused_kernel(program, outputs, tuple(np.dtype(d) for d in in_dtypes),
                               tuple(np.dtype(d) for d in out_dtypes))
        return lambda *xs: k(*[self.operand(x) for x in xs])

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

