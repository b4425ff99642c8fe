"""Backends: one package per device kind, found by name and imported on first use.

==========  =====================  ==========================================================
name        package                library (what to install when it is missing)
==========  =====================  ==========================================================
``CPU``     ``backends.numpy``     NumPy (always present): the reference semantics of every op
``OPENCL``  ``backends.opencl``    ``pip install "pyopencl[pocl]"`` (PoCL runs OpenCL on a CPU)
``CUDA``    ``backends.cuda``      ``pip install cupy-cuda12x`` and an NVIDIA GPU
==========  =====================  ==========================================================

``get(name, index)`` returns the one backend object of a device (cached, so a plan pickled to a Dask
worker finds that worker's instance by name). ``import dataflow`` imports none of pyopencl or CuPy:
a backend imports its library when it is first asked for, and a missing library is a
:class:`MissingBackendError` saying what to install. Placement (which backend runs an op, with TF's
soft placement) is :func:`backends.placement.place`.
"""

from __future__ import annotations

import importlib
import threading

from .base import Backend

__all__ = ["Backend", "MissingBackendError", "get", "available", "available_backends", "backend_for_device"]

_PACKAGES = {"CPU": ("backends.numpy", "NumpyBackend"),
             "OPENCL": ("backends.opencl", "OpenCLBackend"),
             "CUDA": ("backends.cuda", "CudaBackend")}
_INSTANCES: dict = {}
_LOCK = threading.Lock()


class MissingBackendError(ImportError):
    """A device kind whose library or hardware is not present (the message says what to install)."""


def get(name: str, index: int = 0) -> Backend:
    """The backend of device ``/device:<name>:<index>``.

    Raises
    ------
    MissingBackendError
        The library is not installed or has no such device (``pip install "pyopencl[pocl]"`` ...).
    KeyError
        ``name`` is no device kind.
    """
    name = name.upper()
    key = (name, int(index))
    b = _INSTANCES.get(key)
    if b is not None:
        return b
    if name not in _PACKAGES:
        raise KeyError(f"No backend for device type {name!r}; known: {sorted(_PACKAGES)}")
    with _LOCK:
        b = _INSTANCES.get(key)
        if b is None:
            module, cls = _PACKAGES[name]
            b = _INSTANCES[key] = getattr(importlib.import_module(module), cls)(int(index))
    return b


def available(name: str, index: int = 0) -> bool:
    """Whether ``get(name, index)`` would succeed (the library and the device exist)."""
    try:
        get(name, index)
        return True
    except (MissingBackendError, KeyError):
        return False


def available_backends() -> list:
    """Every backend present here: the CPU, then each OpenCL device, then each CUDA GPU."""
    out = [get("CPU", 0)]
    for name in ("OPENCL", "CUDA"):
        i = 0
        while available(name, i):
            out.append(get(name, i))
            i += 1
    return out


def backend_for_device(device: str, config=None) -> Backend:
    """The backend running ops placed on ``device`` (no op in view: see :func:`backends.placement.place`)."""
    from .placement import resolve_device

    return resolve_device(device, config)
