"""Compiled function bodies: a :class:`~dataflow.framework.func_graph.FuncGraph` as one program.

A functional op (``While``, ``If``, their gradients) runs its bodies through programs made once per
plan, when the plan binds the op's kernel: the body's ops needed for the requested outputs are
pruned (stopping at the arguments), and :func:`~dataflow.runtime.plan.generate` writes them as one
straight-line Python function, exactly as it writes a segment of the outer graph. So a kernel that
fails in a body is reported as the body op, with the user's line that made it; a variable captured
by reference is read where each body op uses it (its slot is the argument); and a nested loop is
one more bound kernel in the body's program.

**Placement.** A body is placed with the outer graph's rules (``backends/placement.py``): an op given a
device type by a ``tf.device`` scope inside the body goes there, any other op (its device inherited
from the scopes the body was built under) goes to the device the functional op runs on (``home``:
so a loop soft-placed to the CPU runs its body there too); soft placement
(``ConfigProto.allow_soft_placement`` of the session, ``SessionState.config``) moves ops without a
kernel there to the CPU. A body whose ops all run on CPU devices is one straight-line function, as
before. Otherwise the body is cut into segments (:func:`~dataflow.runtime.plan.segment`'s rule), each
generated for its backend, run in order by :class:`PlacedProgram`, with a copy (``_Send``/``_Recv``
through the host, as :func:`~dataflow.runtime.plan._transfer`) on each value crossing devices. The
program's arguments and results live on ``home``: a loop on an OpenCL device keeps its loop variables
as device arrays from one iteration to the next, and only what the loop kernel itself needs on the
host (the scalar predicate) is copied back.
"""

from __future__ import annotations

import functools
import uuid

import numpy as np

from ..framework.device import LOCAL_CPU, canonical_device
from ..framework.graph import Operation, Tensor
from .plan import Segment, SegmentSpec, Snapshot, _crosses, _transfer, generate, lazy_reads, prune, segment


def compile_program(name: str, args: list, outputs: list, state, targets=(), backend=None):
    """A callable ``program(*arg_values) -> tuple`` computing ``outputs`` of a body from ``args``.

    ``args``: the body's placeholder tensors, in call order (a ref placeholder takes a variable's
    slot). ``outputs``: tensors of the body; a variable snapshot among them is returned as its value
    at the point it is read. ``targets``: ops that must run for their effect. ``backend``: the device
    of the functional op (its body's default device; None: the CPU). Arguments and results are values
    on that device.
    """
    from backends import backend_for_device, get

    fed = set(args)
    ops = prune([t for t in outputs if t not in fed], list(targets), fed)
    lazy = lazy_reads(ops, set())
    outs = [Snapshot(t, copy=False) if t in lazy else t for t in outputs] + list(targets)
    key = f"{name}-{uuid.uuid4().hex[:8]}"
    home = backend if backend is not None else get("CPU", 0)
    placement = place_body(ops, home, getattr(state, "config", None))
    n = len(outputs)
    if all(b.name == "CPU" for b in (home, *placement.values())):  # CPU devices share memory: one function
        spec = SegmentSpec(LOCAL_CPU, backend_for_device(canonical_device(""), None), ops)
        seg, _ = generate(spec, key, list(args), outs, state, set(), pass_refs=True, lazy=lazy)
        return seg if not targets else lambda *values: seg(*values)[:n]
    return PlacedProgram(key, list(args), outs, n, segment(ops, placement), home, state, lazy)


def place_body(ops, home, config=None) -> dict:
    """``{op: backend}`` for a body's ops: a device set inside the body, else ``home`` (module docstring)."""
    from backends.placement import place

    return place(ops, config, default=home)


class PlacedProgram:
    """A body placed on several devices: its segments, run in order, with copies between devices.

    State: ``steps`` = (segment, picks) where a pick is (index in the run's value list, mover or None);
    a run's value list starts with the arguments and grows by each segment's exports; ``out_picks``
    select (and move to ``home``) the program's results. ``transfers`` lists the copies as
    (tensor, from device, to device), what a test or a reader of the plan can inspect.
    """

    def __init__(self, key, args, outs, n, specs, home, state, lazy):
        self.key, self.n, self.home = key, n, home
        self.transfers: list = []
        seg_of = {op: i for i, s in enumerate(specs) for op in s.ops}
        export: dict[int, list] = {i: [] for i in range(len(specs))}
        for i, s in enumerate(specs):
            for op in s.ops:
                for t in op._inputs:
                    j = seg_of.get(t.op)
                    if j is not None and j != i and t.op.type != "Const":
                        export[j].append(t)
        for o in outs:
            t = o.tensor if isinstance(o, Snapshot) else o
            op = t if isinstance(t, Operation) else t.op
            if op in seg_of and not (isinstance(t, Tensor) and t in args):
                export[seg_of[op]].append(o)
        index = {t: k for k, t in enumerate(args)}
        where = {t: home for t in args}
        self.steps = []
        for i, s in enumerate(specs):
            own = set(s.ops)
            params = list(dict.fromkeys(t for op in s.ops for t in op._inputs
                                        if t.op not in own and t.op.type != "Const"))
            names = list(dict.fromkeys(export[i]))
            seg, _ = generate(s, f"{key}/{i}", params, names, state, set(), pass_refs=True, lazy=lazy)
            self.steps.append((seg, [(index[t], self._mover(t, where[t], s.backend)) for t in params]))
            for o in names:
                index[o] = len(index)
                where[o] = s.backend
        self.out_picks = [(index[o], self._mover(o, where[o], home)) for o in outs[:n]]

    def _mover(self, t, src, dst):
        if not _crosses(src, dst):
            return None
        self.transfers.append((getattr(t, "tensor", t), src.device, dst.device))
        return functools.partial(move, src, dst)

    def __call__(self, *values):
        env = list(values)
        for seg, picks in self.steps:
            env.extend(seg(*[env[k] if mv is None else mv(env[k]) for k, mv in picks]))
        return tuple(env[k] if mv is None else mv(env[k]) for k, mv in self.out_picks)

    def __repr__(self):
        return f"<PlacedProgram {self.key}: {len(self.steps)} segments, {len(self.transfers)} copies>"


def move(src, dst, value):
    """``value`` copied from ``src``'s device to ``dst``'s: arrays through the host, a TensorArray's
    elements one by one, a variable's slot as a reader that copies (:func:`~dataflow.runtime.plan._transfer`);
    a host integer scalar stays on the host (every backend's kernels take host scalars)."""
    from ..ops.tensor_array import TensorList

    if isinstance(value, TensorList):
        return TensorList([None if x is None else _transfer(src, dst, x) for x in value.items], value.dtype)
    if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 and value.dtype.kind in "iub":
        return value  # NOTE: host integer scalars (counters, indices) stay in host memory, as TF keeps int32
    return _transfer(src, dst, value)


__all__ = ["PlacedProgram", "Segment", "compile_program", "move", "place_body"]
