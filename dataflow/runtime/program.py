"""Compiled function bodies: a :class:`~dataflow.framework.func_graph.FuncGraph` as one program.

A functional op (``While``, ``If``, their gradients) runs its bodies through programs made once per
plan, when the plan binds the op's kernel: the body's ops needed for the requested outputs are
pruned (stopping at the arguments), and :func:`~dataflow.runtime.plan.generate` writes them as one
straight-line Python function, exactly as it writes a segment of the outer graph. So a kernel that
fails in a body is reported as the body op, with the user's line that made it; a variable captured
by reference is read where each body op uses it (its slot is the argument); and a nested loop is
one more bound kernel in the body's program.
"""

from __future__ import annotations

import uuid

from ..framework.device import LOCAL_CPU, canonical_device
from .plan import Segment, SegmentSpec, Snapshot, generate, lazy_reads, prune


def compile_program(name: str, args: list, outputs: list, state, targets=()) -> Segment:
    """A callable ``program(*arg_values) -> tuple`` computing ``outputs`` of a body from ``args``.

    ``args``: the body's placeholder tensors, in call order (a ref placeholder takes a variable's
    slot). ``outputs``: tensors of the body; a variable snapshot among them is returned as its value
    at the point it is read. ``targets``: ops that must run for their effect.
    """
    from backends import backend_for_device

    fed = set(args)
    ops = prune([t for t in outputs if t not in fed], list(targets), fed)
    lazy = lazy_reads(ops, set())
    outs = [Snapshot(t, copy=False) if t in lazy else t for t in outputs] + list(targets)
    spec = SegmentSpec(LOCAL_CPU, backend_for_device(canonical_device(""), None), ops)
    key = f"{name}-{uuid.uuid4().hex[:8]}"
    seg, _ = generate(spec, key, list(args), outs, state, set(), pass_refs=True, lazy=lazy)
    n = len(outputs)
    if not targets:
        return seg
    return lambda *values: seg(*values)[:n]
