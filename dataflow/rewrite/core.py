"""The state the passes share, and the walk that every local rewrite runs inside.

Rewrites never touch the user's Graph. A rewritten op is a *detached* :class:`Operation`: it points
at the user's graph (for seeds and error messages) but is not in ``graph.get_operations()`` and made
no version bump. It keeps a back-reference ``_origin`` (the user's ops it stands for) and, when it
replaces one op, that op's name and creating traceback, so a failing kernel names the user's op and
line. An op whose inputs changed is *cloned* (same name, type, attrs, device); its session state is
still the user's op's: a clone's ``OpDef.bind`` is given the user's op (random generators, Print's
counters, py_funcs), and VariableV2, whose slot is looked up by the op itself, is never cloned.

:class:`Rewriter` holds what every pass needs:

``fed``         tensors whose value comes from the feeds: never replaced, never treated as constants.
``preserved``   ops a fetch names (fetched tensors' producers, target ops): a rewrite may replace
                one only by a new op carrying its name (a folded Const, a fused op rooted at it),
                never merge it into another op or bypass it.
``subst``       tensor -> tensor and ``opmap`` op -> op: what each old tensor and op became; chains
                are followed to the end (:meth:`Rewriter.tensor`, :meth:`Rewriter.op`).

:meth:`Rewriter.walk` runs one local rule over the ops in topological order (PyTensor's "node
rewriter" driven by a walker): each op first gets its inputs and control inputs substituted (a clone
when any changed), then the rule may return replacement tensors for its outputs, after emitting any
new ops it needs. The op list after a pass is re-pruned by the caller, which drops dead ops.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..framework.graph import Operation, Tensor
from ..framework.tensor_shape import TensorShape

_NO_CODE = {"Const", "NoOp", "Placeholder"}
_NEVER_FOLDED = {"PlaceholderWithDefault"}  # a feed may replace its value


def detached_op(like: Operation, op_type: str, inputs: list, attrs: dict, name: str | None = None,
                control_inputs=(), origin=None, specs=None) -> Operation:
    """A new op outside the graph, placed and named like ``like`` (name ``name`` if given).

    ``specs``: ``[(dtype, shape, is_ref?), ...]`` for its outputs; inferred by the op's shape function
    when None.
    """
    op = Operation(like.graph, op_type, name or like.name, inputs, attrs, list(control_inputs), like.device,
                   like.traceback)
    op._gradient_override = None
    op._id = like._id
    op._origin = tuple(origin) if origin is not None else getattr(like, "_origin", (like,))
    specs = specs if specs is not None else op.op_def.infer(op)
    op.outputs = [Tensor(op, i, s[0], s[1], len(s) > 2 and s[2]) for i, s in enumerate(specs)]
    return op


NOTHING = object()  # what a replaced op maps to when ops waiting for it need wait for nothing


def _bind_as(original: Operation, bind, op: Operation, state, **device) -> dict:
    return bind(original, state, **device)


def origin_of(op: Operation) -> tuple:
    """The user's ops that ``op`` stands for (itself when it is one)."""
    return getattr(op, "_origin", (op,))


def constant(like: Operation, value: np.ndarray, dtype, name: str | None = None) -> Tensor:
    """A detached Const holding ``value``."""
    value = np.asarray(value, dtype=dtype.as_numpy_dtype)
    return detached_op(like, "Const", [], {"value": value, "dtype": dtype}, name,
                       specs=[(dtype, TensorShape(value.shape))]).outputs[0]


class Rewriter:
    """The shared state of one optimize() call (see the module docstring)."""

    def __init__(self, fed, fetch_targets):
        self.fed = set(fed)
        self.preserved = {f.op if isinstance(f, Tensor) else f for f in fetch_targets}
        self.subst: dict = {}
        self.opmap: dict = {}
        self.changed = 0  # rewrites applied (passes loop while they find some)

    # ---- following substitutions ----------------------------------------------------------------
    def tensor(self, t: Tensor) -> Tensor:
        while t in self.subst:
            t = self.subst[t]
        return t

    def op(self, o: Operation) -> Operation:
        while o in self.opmap:
            o = self.opmap[o]
        return o

    def target(self, f):
        return self.op(f) if isinstance(f, Operation) else self.tensor(f)

    # ---- facts about tensors and ops -------------------------------------------------------------
    def const_value(self, t: Tensor):
        """``t``'s value when it is a Const that is not fed, else None."""
        if t.op.type == "Const" and t not in self.fed:
            return t.op.attrs["value"]
        return None

    def pure(self, op: Operation) -> bool:
        """Whether ``op`` may be merged, folded or replaced: a kernel without state, refs or feeds."""
        d = op.op_def
        return not (d.stateful or d.bind is not None or d.ref_inputs or op.type in _NO_CODE
                    or op.type in _NEVER_FOLDED or any(t._is_ref for t in op._inputs)
                    or any(t in self.fed for t in op.outputs) or not op.outputs)

    def replaceable(self, op: Operation) -> bool:
        """``pure``, and its outputs may become other ops' tensors: not preserved, no control inputs."""
        return self.pure(op) and op not in self.preserved and not op._control_inputs

    # ---- the walk ----------------------------------------------------------------------------------
    def refresh(self, op: Operation) -> Operation:
        """``op`` with substituted inputs and control inputs: itself if none changed, else a clone."""
        if any(t in self.fed for t in op.outputs) or op.type == "VariableV2":
            return op  # its outputs must stay the tensors that are fed (or the slot's owner)
        ins = [self.tensor(t) for t in op._inputs]
        ctrls = [c for c in dict.fromkeys(self.op(c) for c in op._control_inputs) if c is not NOTHING]
        if all(a is b for a, b in zip(ins, op._inputs)) and ctrls == op._control_inputs:
            return op
        clone = detached_op(op, op.type, ins, dict(op.attrs), control_inputs=ctrls,
                            specs=[(t.dtype, t.shape, t._is_ref) for t in op.outputs])
        if hasattr(op, "_step_ops"):
            clone._step_ops = op._step_ops
        user_op = origin_of(op)[-1]
        if op.op_def.bind is not None and user_op.type == op.type:  # session state (Print's counter, a
            # py_func) stays the user's op's
            bind = functools.partial(_bind_as, user_op, op.op_def.bind)
            bind.on_device = getattr(op.op_def.bind, "on_device", False)  # a While's: placed bodies
            clone.op_def = dataclasses.replace(op.op_def, bind=bind)
        self.replace(op, clone.outputs, clone)
        if op in self.preserved:
            self.preserved.add(clone)
        return clone

    def replace(self, op: Operation, tensors, new_op: Operation | None = None) -> None:
        for old, new in zip(op.outputs, tensors):
            if new is not old:
                self.subst[old] = new
        if new_op is None and tensors:
            # an op waiting for ``op`` now waits for what computes its value; for a fed value, nothing
            t = tensors[0]
            new_op = NOTHING if t in self.fed or t.op.type == "Placeholder" else t.op
        if new_op is not None and new_op is not op:
            self.opmap[op] = new_op

    def walk(self, ops: list, rule) -> list:
        """Run ``rule(op, emit) -> [replacement tensors] | None`` over ``ops``; the new op list.

        ``emit(new_op)`` places a new op before the current one.
        """
        out: list = []
        for op in ops:
            op = self.refresh(op)
            emitted: list = []
            repl = rule(op, emitted.append)
            out.extend(emitted)
            if repl is None:
                out.append(op)
            else:
                self.replace(op, repl)
                self.changed += 1
        return out


def attr_key(value):
    """A hashable stand-in for an attr value (None when it has none): for CSE keys."""
    if isinstance(value, np.ndarray):
        if value.size > 4096 or value.dtype.kind == "O":
            return None
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        parts = tuple(attr_key(v) for v in value)
        return None if any(p is None and v is not None for p, v in zip(parts, value)) else (type(value).__name__,) + parts
    try:
        hash(value)
    except TypeError:
        return None
    return ("v", type(value).__name__, value)
