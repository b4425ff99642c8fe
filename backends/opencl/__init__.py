"""The OpenCL backend (pyopencl): any OpenCL device, PoCL on a CPU included.

Arrays are ``pyopencl.array.Array`` (C-contiguous). Each op has a kernel factory in
``backends/opencl/kernels.py`` built from the vocabulary of ``elementwise.py`` (one template over the
per-op C expressions of ``backends/cexpr.py``), ``vocab.py`` (reductions, tiled GEMM) and
``movement.py`` (index-map gathers, im2col). An op without a factory has no OpenCL kernel: placement
moves it to the CPU with ``allow_soft_placement`` or raises InvalidArgumentError.

Constants are uploaded once (cached by the identity of the graph's constant array); feeds are copied
once per run, fetches copied back once. float64 needs ``cl_khr_fp64`` (PoCL has it).
"""

from __future__ import annotations


import numpy as np

from dataflow.framework import errors

from ..base import Backend, ConstantCache

_INSTALL = 'pip install "pyopencl[pocl]"'
_DEVICE_ALWAYS = frozenset({"RandomUniformInt", "RandomShuffle"})


def _devices():
    try:
        import pyopencl as cl
    except ImportError as e:
        from .. import MissingBackendError

        raise MissingBackendError(f"The OpenCL backend needs pyopencl: {_INSTALL} ({e})") from None
    out = []
    try:
        for p in cl.get_platforms():
            out.extend(p.get_devices())
    except cl.Error:
        pass
    return cl, out


class OpenCLBackend(ConstantCache, Backend):
    name = "OPENCL"

    def __init__(self, index: int = 0):
        from .. import MissingBackendError
        from .runtime import Device

        cl, devices = _devices()
        if index >= len(devices):
            raise MissingBackendError(f"No OpenCL device {index}: {len(devices)} found (install a driver, or "
                                      f"{_INSTALL} for PoCL's CPU device)")
        self.index = index
        self.dev = Device(cl, devices[index])
        self.dev.operand = self.operand
        self.dev.from_host = self.from_host
        self.dev.backend = self  # kernels that compile programs for this device (loop bodies) need it
        self.is_gpu = self.dev.is_gpu
        self._init_constants()

    @property
    def xp(self):
        """The kernel vocabulary of this device (``backends.opencl.kernels``)."""
        from . import kernels

        return kernels

    # ---- kernels ------------------------------------------------------------------------------
    def _factory(self, op):
        from .kernels import KERNELS

        return KERNELS.get(op.type)

    def has_kernel(self, op) -> bool:
        f = self._factory(op)
        if f is None:
            return False
        try:
            return f(self.dev, op, None) is not None
        except (KeyError, TypeError, ValueError, errors.OpError):
            return False

    def bind(self, op, state):
        f = self._factory(op)
        k = f(self.dev, op, state) if f is not None else None
        if k is None:
            raise errors.InvalidArgumentError(None, op, f"No OpenCL kernel for op {op.type} ('{op.name}') "
                                              f"with dtypes {[t.dtype.name for t in op.inputs]}")
        return k if op.type in _DEVICE_ALWAYS else self.host_shape_arithmetic(op, state, k)

    def compile_fused(self, program, outputs, in_dtypes, out_dtypes):
        from .kernels import fused

        return fused(self.dev, program, outputs, in_dtypes, out_dtypes)

    # ---- memory -------------------------------------------------------------------------------
    def allocate(self, shape, dtype):
        return self.dev.empty(shape, dtype)

    def is_device_array(self, x) -> bool:
        import pyopencl.array as cla

        return isinstance(x, cla.Array)

    def to_host(self, x):
        return x.get() if self.is_device_array(x) else x

    def from_host(self, x):
        import pyopencl.array as cla

        if isinstance(x, cla.Array):
            return x
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            return x  # strings and objects stay host values
        self.dev.check_dtype(a.dtype, "array")
        return cla.to_device(self.dev.queue, a if a.flags.c_contiguous else a.copy(), allocator=self.dev.pool)

    def synchronize(self) -> None:
        self.dev.queue.finish()
