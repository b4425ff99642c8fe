"""Placement: which backend runs each op, as TensorFlow places ops.

An op's device string (``tf.device`` scopes, already merged by the graph) names a device type and index:

- ``CPU`` (or none): the NumPy backend (``/cpu:N`` are logical CPU devices: each its own segment);
- ``OPENCL``: the N-th OpenCL device (``backends.opencl``), any type: PoCL's CPU device included;
- ``CUDA``: the N-th CUDA GPU (``backends.cuda``);
- ``GPU``: CUDA's GPU N where CuPy sees one, else the N-th OpenCL device *of GPU type*. A CPU-type
  OpenCL device (PoCL) is not a GPU: as in TensorFlow on a machine without a GPU, ``/gpu:0`` then needs
  ``allow_soft_placement`` (the op runs on the CPU) or is an InvalidArgumentError.

An op whose device lacks a kernel for it moves to the CPU under ``ConfigProto(allow_soft_placement=True)``;
without it placement raises TF's InvalidArgumentError naming the op and the device. Ops with ref inputs
(Assign, Apply*) run where their variable lives (TF's colocation). ``log_device_placement`` prints each
op's device as TF does. :func:`place` is a pure function of the ops and the config.
"""

from __future__ import annotations

import sys

from dataflow.framework import errors
from dataflow.framework.device import DeviceSpec

from . import available, get

_LOCAL = "/job:localhost/replica:0/task:0"


def _gpu(index: int):
    """The backend behind ``/device:GPU:index``, or None."""
    if available("CUDA", index):
        return get("CUDA", index)
    i = n = 0
    while available("OPENCL", i):
        b = get("OPENCL", i)
        if b.is_gpu:
            if n == index:
                return b
            n += 1
        i += 1
    return None


def resolve_device(device: str, config=None):
    """The backend of a device string, or None when no such device exists here."""
    spec = DeviceSpec.from_string(device or "")
    kind = (spec.device_type or "CPU").upper()
    index = spec.device_index or 0
    if kind == "CPU":
        return get("CPU", index)
    if kind == "GPU":
        return _gpu(index)
    if kind in ("OPENCL", "CUDA") and available(kind, index):
        return get(kind, index)
    return None


def _available_devices() -> str:
    from . import available_backends

    return ", ".join(f"{_LOCAL}/device:{b.name}:{b.index}" for b in available_backends())


def place(ops, config=None, default=None) -> dict:
    """``{op: backend}`` for the ops of a plan (see the module docstring for the rules).

    ``default``: placing a loop or cond body, the backend of its ``While``/``If``: a body op goes there
    unless a ``tf.device`` inside the body gave it a device type of its own.
    """
    from dataflow.framework.func_graph import device_set_in_body

    soft = bool(getattr(config, "allow_soft_placement", False))
    cpu = get("CPU", 0)
    out: dict = {}
    for op in ops:
        want = op.device or ""
        own = default is None or device_set_in_body(op) and DeviceSpec.from_string(want).device_type
        b = resolve_device(want, config) if own else default
        refs = [op.inputs[j].op for j in range(len(op.inputs)) if j in op.op_def.ref_inputs]
        if refs and refs[0] in out:  # colocated with its variable
            b = out[refs[0]]
        if b is None:
            if not soft:
                raise errors.with_op(
                    errors.InvalidArgumentError,
                    f"Cannot assign a device for operation {op.name}: {op.name} was explicitly assigned to "
                    f"{DeviceSpec.from_string(want).to_string()} but available devices are "
                    f"[ {_available_devices()} ]. Make sure the device specification refers to a valid "
                    f"device.", op)
            b = cpu
        elif b is not cpu and b.name != "CPU" and op.type not in ("Const", "Placeholder", "NoOp") \
                and not b.has_kernel(op):
            if not soft:
                raise errors.with_op(
                    errors.InvalidArgumentError,
                    f"Cannot assign a device for operation {op.name}: Could not satisfy explicit device "
                    f"specification '{want or b.device}' because no supported kernel for {b.name} devices is available "
                    f"(no {b.name} kernel for op {op.type}).", op)
            b = cpu
        out[op] = b
    gpu_options = getattr(config, "gpu_options", None)
    for b in set(out.values()):
        if gpu_options is not None and hasattr(b, "configure"):
            b.configure(gpu_options)  # CUDA: the memory pool's limit
    if config is not None and getattr(config, "log_device_placement", False):
        for op in ops:
            print(f"{op.name}: ({op.type}): {_LOCAL}/device:{out[op].name}:{out[op].index}", file=sys.stderr)
    return out
