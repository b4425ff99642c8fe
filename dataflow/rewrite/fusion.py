"""Elementwise fusion (TF's ``remapping`` switch): trees of elementwise ops become one FusedElementwise.

Algorithm (greedy, from the outputs back, as PyTensor's ``FusionOptimizer``):

1. Walk the ops from last to first. An elementwise op not yet in a group starts one as its *root*.
2. Grow the group backwards: a member's input produced by a fusible op on the same device joins,
   unless it is fetched (only a root may be: the fused op carries the root's name), it is fed, or
   joining would make the group non-convex (a path leaving the group and coming back, which would
   make the fused op depend on itself), or its static shape is not the root's (a value broadcast
   into the root, a row's mean, would be recomputed for every block: it makes a group of its own).
   A joining op whose value is also read outside the group becomes an extra output.
3. Groups of two or more ops become one op: its inputs are the group's outside inputs, its
   ``program`` the members in topological order (see ``dataflow/ops/fused.py`` for the contract),
   its outputs the root and the extra outputs. It takes the root's name and device; ``_origin`` and
   ``_step_ops`` keep the user's ops, for errors.

An op is fusible when it is one of :data:`FUSIBLE`, pure (``Rewriter.pure``), without control inputs,
of a numeric dtype, and its NumPy kernel's result dtype is its static dtype (so a step can write
into a buffer of that dtype).
"""

from __future__ import annotations

import numpy as np

from ..framework.tensor_shape import TensorShape
from ..ops import fused
from ..ops.math import BINARY, COMPARISONS, UNARY
from .core import Rewriter, detached_op, origin_of

FUSIBLE = ({t for t, *_ in UNARY} | {t for t, *_ in BINARY} | {t for t, _ in COMPARISONS}
           | {"Cast", "SelectV2", "AddN", "ReluGrad"})


def _attrs_tuple(op) -> tuple:
    return tuple((k, op.attrs[k]) for k in op.op_def.kernel_attrs if k in op.attrs)


def fusible(rw: Rewriter, op) -> bool:
    if op.type not in FUSIBLE or not rw.pure(op) or op._control_inputs or len(op.outputs) != 1:
        return False
    out = op.outputs[0]
    if out.shape.ndims is None or any(t.dtype.as_numpy_dtype is object or t.shape.ndims is None
                                      for t in op._inputs + [out]):
        return False
    try:
        step = ((op.type, tuple(("in", i) for i in range(len(op._inputs))), _attrs_tuple(op)),)
        dt = fused.step_dtypes(step, [np.dtype(t.dtype.as_numpy_dtype) for t in op._inputs])[0]
    except Exception:
        return False
    return dt == np.dtype(out.dtype.as_numpy_dtype)


def readers(ops) -> tuple[dict, dict]:
    """``(tensor -> ops reading it, op -> ops with it as a control input)`` among ``ops``."""
    consumers: dict = {}
    ctrl_consumers: dict = {}
    for op in ops:
        for t in op._inputs:
            consumers.setdefault(t, []).append(op)
        for c in op._control_inputs:
            ctrl_consumers.setdefault(c, []).append(op)
    return consumers, ctrl_consumers


def _successors(op, consumers, ctrl_consumers):
    for t in op.outputs:
        yield from consumers.get(t, ())
    yield from ctrl_consumers.get(op, ())


def _convex(group: set, index: dict, consumers, ctrl_consumers) -> bool:
    """No path leaves ``group`` and comes back (only ops up to the root's position can be on one)."""
    hi = max(index[m] for m in group)
    stack = [c for m in group for c in _successors(m, consumers, ctrl_consumers)
             if c not in group and index.get(c, hi + 1) <= hi]
    seen: set = set()
    while stack:
        q = stack.pop()
        if q in seen:
            continue
        seen.add(q)
        for c in _successors(q, consumers, ctrl_consumers):
            if c in group:
                return False
            if c not in seen and index.get(c, hi + 1) <= hi:
                stack.append(c)
    return True


def find_groups(rw: Rewriter, ops: list) -> list:
    """The fusion groups of ``ops``: lists of ops in topological order, the root last."""
    index = {op: i for i, op in enumerate(ops)}
    consumers, ctrl_consumers = readers(ops)
    ok = {op: fusible(rw, op) for op in ops}
    assigned: set = set()
    groups = []
    for root in reversed(ops):
        if root in assigned or not ok[root]:
            continue
        group = {root}
        frontier = [root]
        while frontier:
            m = frontier.pop()
            for t in m._inputs:
                p = t.op
                if p in group or p in assigned or not ok.get(p) or p.device != root.device or p in rw.preserved:
                    continue
                if p.outputs[0].shape != root.outputs[0].shape:
                    continue  # a smaller value would be recomputed for every block it is broadcast over
                group.add(p)
                if not _convex(group, index, consumers, ctrl_consumers):
                    group.discard(p)
                    continue
                frontier.append(p)
        if len(group) > 1:
            assigned |= group
            groups.append(sorted(group, key=index.__getitem__))
    return groups


def build_fused(rw: Rewriter, group: list, consumers: dict, ctrl_consumers: dict):
    """The FusedElementwise op standing for ``group`` (root last); records the substitutions."""
    members = set(group)
    step_of = {m: j for j, m in enumerate(group)}
    inputs: list = []
    program = []
    for m in group:
        args = []
        for t in m._inputs:
            if t.op in members:
                args.append(("step", step_of[t.op]))
            else:
                if t not in inputs:
                    inputs.append(t)
                args.append(("in", inputs.index(t)))
        program.append((m.type, tuple(args), _attrs_tuple(m)))
    root = group[-1]
    out_members = [m for m in group[:-1] if any(c not in members for c in _successors(m, consumers, ctrl_consumers))]
    out_members.append(root)
    outs = [m.outputs[0] for m in out_members]
    attrs = {"program": tuple(program), "outputs": tuple(step_of[m] for m in out_members),
             "out_types": tuple(t.dtype for t in outs), "out_shapes": tuple(t.shape.as_list() for t in outs)}
    origin = tuple(o for m in group for o in origin_of(m))
    op = detached_op(root, "FusedElementwise", inputs, attrs, origin=origin,
                     specs=[(t.dtype, TensorShape(t.shape)) for t in outs])
    op._step_ops = tuple(origin_of(m)[-1] for m in group)  # the user's op of each step, for errors
    for m, t in zip(out_members, op.outputs):
        rw.replace(m, [t], op)
    for m in group:
        rw.opmap[m] = op
    if root in rw.preserved:
        rw.preserved.add(op)
    return op


def fuse(rw: Rewriter, ops: list) -> list:
    """``ops`` with each fusion group replaced by its FusedElementwise op (at the root's place; the
    caller re-prunes, which puts every op back in topological order)."""
    groups = find_groups(rw, ops)
    if not groups:
        return ops
    consumers, ctrl_consumers = readers(ops)
    fused_at = {}
    gone = set()
    for group in groups:
        fused_at[group[-1]] = build_fused(rw, group, consumers, ctrl_consumers)
        gone.update(group)
        rw.changed += 1
    out = [fused_at.get(op, op) for op in ops if op not in gone or op in fused_at]
    # consumers of fused values read the fused op: a walk in an order where, counting what each
    # input has become, producers come first (so an op cloned for its new inputs is read as the clone)
    return rw.walk(_resolved_order(rw, out), lambda op, emit: None)


def _resolved_order(rw: Rewriter, ops: list) -> list:
    """``ops`` in a topological order of their inputs and control inputs as substituted so far."""
    present = set(ops)
    done: set = set()
    order: list = []
    for root in ops:
        stack = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if expanded:
                order.append(op)
                continue
            if op in done:
                continue
            done.add(op)
            stack.append((op, True))
            deps = [rw.op(c) for c in op._control_inputs] + [rw.tensor(t).op for t in op._inputs]
            stack.extend((d, False) for d in reversed(deps) if d in present and d not in done)
    return order
