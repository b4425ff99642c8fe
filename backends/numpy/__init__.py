"""The NumPy backend: the CPU device, and the reference semantics of every op.

``xp`` is NumPy itself. Binding an op's kernel resolves, once per plan, everything the kernel needs
besides its input arrays (attrs, session state), so a run calls ``kernel(*arrays)`` directly.
"""

from __future__ import annotations

import functools

import numpy

from dataflow.ops import parallel
from dataflow.ops.parallel import MIN_ELEMENTS, ufunc_rows

from ..base import Backend


class NumpyBackend(Backend):
    name = "CPU"
    xp = numpy

    def __init__(self, index: int = 0):
        self.index = index

    def bind(self, op, state, xp=None):
        """A callable taking the op's input arrays and returning its output(s)."""
        opdef = op.op_def
        if opdef.xp_name is not None:
            ufunc = getattr(self.xp, opdef.xp_name)
            size = op.outputs[0].shape.num_elements()
            if ufunc in (numpy.maximum, numpy.minimum):
                return functools.partial(ufunc_rows, ufunc)  # their scalar-operand path
            small = size is not None and size < 2 * MIN_ELEMENTS
            # large (or not statically known) outputs split over the cores when DATAFLOW_NUM_THREADS allows
            return ufunc if small or parallel.WORKERS < 2 else functools.partial(ufunc_rows, ufunc)
        return super().bind(op, state, xp)

    def allocate(self, shape, dtype):
        return numpy.empty(shape, dtype)
