"""The backend contract: what one device kind provides to the runtime.

A backend is a device kind (``CPU``, ``OPENCL``, ``CUDA``) and an index. The planner asks it whether it
has a kernel for an op (:meth:`Backend.has_kernel`) and binds one (:meth:`Backend.bind`), once per plan;
a run then calls the bound kernels on the backend's arrays. Values cross devices only through
:meth:`Backend.to_host` / :meth:`Backend.from_host` (the plan's ``_Send``/``_Recv`` steps), so every
backend's arrays stay on their device between the ops of a segment and, in variable slots, between runs.

Backends are found by name (:func:`backends.get`): a backend pickles as ``get(name, index)``, so a plan
shipped to a dask.distributed worker finds the worker's own instance.
"""

from __future__ import annotations

import functools


class Backend:
    """Base class of the device backends.

    Attributes
    ----------
    name : str
        The device type as in device strings (``"CPU"``, ``"OPENCL"``, ``"CUDA"``).
    index : int
        The device index (``/device:OPENCL:0`` -> 0).
    xp : module-like
        The array namespace the kernels of ``dataflow/ops`` are written against (NumPy, CuPy), or the
        backend's own vocabulary object (OpenCL).
    """

    name = "?"
    index = 0
    xp = None

    # ---- kernels ------------------------------------------------------------------------------
    def has_kernel(self, op) -> bool:
        """Whether this device can run ``op`` (placement uses it for soft placement and its errors)."""
        return op.op_def.kernel is not None

    def bind(self, op, state, xp=None):
        """A callable taking the op's input arrays (device arrays, or slots for ref inputs) and returning
        its output(s) as device arrays. Attrs and session state are resolved here, once per plan."""
        opdef = op.op_def
        kwargs = {k: op.attrs[k] for k in opdef.kernel_attrs if k in op.attrs}
        if opdef.bind is not None:  # a functional op's bodies are placed and compiled for this device
            kwargs.update(opdef.bind(op, state, backend=self) if getattr(opdef.bind, "on_device", False)
                          else opdef.bind(op, state))
        return functools.partial(opdef.kernel, xp if xp is not None else self.xp, **kwargs)

    def host_shape_arithmetic(self, op, state, kernel):
        """``kernel``, or for an integer op (not stateful) a callable running NumPy's kernel on the host when
        every input is a host value: shape arithmetic (Shape, Pack, StridedSlice of shapes) stays on the
        host, as TF keeps int32 tensors in host memory on its GPU devices."""
        if op.op_def.stateful or op.op_def.ref_inputs or not all(t.dtype.is_integer for t in op.outputs):
            return kernel
        import numpy as np

        host = Backend.bind(self, op, state, np)

        def run(*xs):
            if all(isinstance(x, (np.ndarray, np.generic, int, float)) for x in xs):
                return host(*xs)
            return kernel(*xs)
        return run

    def compile_fused(self, program, outputs, in_dtypes, out_dtypes):
        """One kernel for a ``FusedElementwise`` program (see ``backends.fused``): a callable taking the
        fused op's input arrays and returning its output arrays."""
        raise NotImplementedError(f"{self.name} backend has no fused elementwise kernels")

    # ---- memory -------------------------------------------------------------------------------
    def allocate(self, shape, dtype):
        """An uninitialized device array."""
        raise NotImplementedError

    def to_host(self, x):
        """A NumPy array (or the host value itself) with the value of device array ``x``."""
        return x

    def from_host(self, x):
        """The device array holding host value ``x`` (NumPy array or scalar)."""
        return x

    def constant(self, value):
        """A graph constant as this device's kernels receive it (a backend may upload it once here)."""
        return value

    def is_device_array(self, x) -> bool:
        return False

    def synchronize(self) -> None:
        """Wait until the device has finished the work queued so far."""

    # ---- identity -----------------------------------------------------------------------------
    @property
    def device(self) -> str:
        """The canonical device string, ``/device:OPENCL:0``."""
        return f"/device:{self.name}:{self.index}"

    def __reduce__(self):
        from . import get

        return get, (self.name, self.index)

    def __repr__(self):
        return f"<{type(self).__name__} {self.device}>"


class ConstantCache:
    """Graph constants uploaded to a device once (on first use) and reused by every run; a mixin of the
    device backends (``_const_kinds``: the dtype kinds they hold on the device)."""

    _const_kinds = "biuf"

    def _init_constants(self) -> None:
        import threading

        self._consts: dict = {}
        self._consts_lock = threading.Lock()

    def constant(self, value):
        """Register a graph constant (its device copy is made by :meth:`operand` when first used)."""
        import numpy as np

        if isinstance(value, np.ndarray) and value.dtype.kind in self._const_kinds:
            with self._consts_lock:
                if id(value) not in self._consts:
                    if len(self._consts) > 4096:
                        self._consts.clear()
                    self._consts[id(value)] = (value, None)
        return value

    def operand(self, x, copy: bool = False):
        """``x`` as a device array: registered constants uploaded once, other host values each time."""
        if self.is_device_array(x):
            return x
        entry = self._consts.get(id(x))
        if entry is not None and entry[0] is x:
            if entry[1] is None:
                entry = self._consts[id(x)] = (x, self.from_host(x))
            return entry[1]
        return self.from_host(x)
