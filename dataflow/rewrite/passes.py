"""The local passes: CSE, constant folding, arithmetic simplification, dependency optimization.

Each pass is a rule ``rule(rw, op, emit) -> [tensors] | None`` run by :meth:`Rewriter.walk` over the
ops in topological order: return the tensors that replace ``op``'s outputs (after ``emit``-ting any
new detached op they need), or None to keep ``op``. Rules only fire on ops that are safe to touch
(``Rewriter.pure``: no state, randomness, refs or feeds; see ``core.py``), and a replacement always
has the replaced tensor's dtype and static shape, so consumers see what they saw.
"""

from __future__ import annotations

import functools

import numpy as np

from ..framework import dtypes
from .core import Rewriter, attr_key, constant, detached_op

FOLD_MAX_BYTES = 10 * 1024 * 1024  # TF's constant folding limit on a folded tensor


# ---- common subexpression elimination ----------------------------------------------------------
def cse(rw: Rewriter, ops: list) -> list:
    """Ops of one type, device and attrs over the same inputs (and control inputs) are merged into
    the first; Consts with equal small values are merged too (PyTensor's ``MergeOptimizer``)."""
    seen: dict = {}

    def rule(op, emit):
        if not (rw.pure(op) or op.type == "Const") or any(t in rw.fed for t in op.outputs):
            return None
        attrs = tuple(sorted((k, attr_key(v)) for k, v in op.attrs.items()))
        if any(a is None and op.attrs[k] is not None for k, a in attrs):
            return None
        key = (op.type, op.device, tuple(op._inputs), tuple(op._control_inputs), attrs)
        first = seen.get(key)
        if first is None:
            seen[key] = op
            return None
        if op in rw.preserved or not _same_outputs(first, op):
            return None
        return list(first.outputs)

    return rw.walk(ops, rule)


def _same_outputs(a, b) -> bool:
    return all(x.dtype == y.dtype and x.shape == y.shape for x, y in zip(a.outputs, b.outputs))


# ---- constant folding --------------------------------------------------------------------------
def fold_constants(rw: Rewriter, ops: list) -> list:
    """Ops whose inputs are all (unfed) constants are evaluated now, with their NumPy kernel, into a
    Const named like them; Shape, Size and Rank of a statically known shape too. Never stateful or
    random ops, never fed tensors, never outputs over ``FOLD_MAX_BYTES``; an op whose kernel fails
    is left to fail when the graph runs, with its usual error."""

    def rule(op, emit):
        if not rw.pure(op) or op._control_inputs or len(op.outputs) != 1 or op.op_def.kernel is None:
            return None
        out = op.outputs[0]
        if out.dtype is dtypes.string or (out.shape.num_elements() or 0) * out.dtype.size > FOLD_MAX_BYTES:
            return None
        if op.type in ("Shape", "Size", "Rank") and op._inputs[0].shape.is_fully_defined():
            shape = op._inputs[0].shape.as_list()
            value = {"Shape": shape, "Size": int(np.prod(shape)), "Rank": len(shape)}[op.type]
        else:
            values = [rw.const_value(t) for t in op._inputs]
            if any(v is None for v in values):
                return None
            kernel = functools.partial(op.op_def.kernel, np, **{k: op.attrs[k] for k in op.op_def.kernel_attrs
                                                              if k in op.attrs})
            try:
                with np.errstate(all="ignore"):
                    value = kernel(*values)
            except Exception:
                return None
            if not isinstance(value, (np.ndarray, np.generic, int, float, bool)):
                return None  # an opaque value (a TensorArray's storage before its first write): not a constant
        value = np.array(value, dtype=out.dtype.as_numpy_dtype)
        if not out.shape.is_compatible_with(value.shape) or value.nbytes > FOLD_MAX_BYTES:
            return None
        c = constant(op, value, out.dtype)
        emit(c.op)
        return [c]

    return rw.walk(ops, rule)


# ---- arithmetic simplification -------------------------------------------------------------------
def _all_equal(value, scalar) -> bool:
    return value is not None and value.size > 0 and value.dtype.kind in "biufc" and bool(np.all(value == scalar))


def _passes_through(op, x) -> bool:
    """``op``'s output may be ``x`` itself: same dtype and static shape (no broadcast, no cast)."""
    out = op.outputs[0]
    return x.dtype == out.dtype and x.shape.is_fully_defined() and x.shape == out.shape


def _mul_factors(rw, t):
    """``(a, b)`` when ``t`` is a Mul's output that may be rewritten away, else None."""
    op = t.op
    if op.type == "Mul" and rw.replaceable(op) and rw.uses.get((op.name, t.value_index)) == 1:
        return tuple(op._inputs)
    return None


def _hoist_common_factor(rw, op, emit):
    """``c*a + c*b`` -> ``c*(a + b)``; AddN of products that share a factor -> ``c * AddN(...)``."""
    terms = [_mul_factors(rw, t) for t in op._inputs]
    if len(terms) < 2 or any(f is None for f in terms):
        return None
    common = [c for c in terms[0] if all(c in f for f in terms[1:])]
    if not common:
        return None
    c = common[0]
    rest = [f[1] if f[0] is c else f[0] for f in terms]
    if op.type == "AddN" and any(r.shape != rest[0].shape or not r.shape.is_fully_defined() for r in rest):
        return None  # AddN's operands must have one shape
    inner = detached_op(op, op.type, rest, dict(op.attrs), name=f"{op.name}/HoistCommonFactor_{op.type}")
    outer = detached_op(op, "Mul", [c, inner.outputs[0]], {})
    if outer.outputs[0].shape != op.outputs[0].shape or outer.outputs[0].dtype != op.outputs[0].dtype:
        return None
    emit(inner)
    emit(outer)
    return [outer.outputs[0]]


def _bypass(rw, op):
    """The rule's replacement for ops that become one of their inputs, or None."""
    t, ins = op.type, op._inputs
    if not rw.replaceable(op):
        return None
    if t == "Mul":
        for i in (0, 1):
            if _all_equal(rw.const_value(ins[1 - i]), 1) and _passes_through(op, ins[i]):
                return ins[i]
    if t == "Add":
        for i in (0, 1):
            if _all_equal(rw.const_value(ins[1 - i]), 0) and _passes_through(op, ins[i]):
                return ins[i]
    if t == "Sub" and _all_equal(rw.const_value(ins[1]), 0) and _passes_through(op, ins[0]):
        return ins[0]
    if t == "Neg" and ins[0].op.type == "Neg" and rw.pure(ins[0].op) and not ins[0].op._control_inputs:
        return ins[0].op._inputs[0]
    if t == "Cast" and op.attrs["DstT"] == ins[0].dtype:
        return ins[0]
    if t == "Transpose" and op.attrs["perm"] is not None \
            and list(op.attrs["perm"]) == list(range(len(op.attrs["perm"]))) and _passes_through(op, ins[0]):
        return ins[0]
    if t == "Reshape" and ins[0].shape.is_fully_defined() and ins[0].shape == op.outputs[0].shape:
        return ins[0]
    return None


def _collapse(rw, op, emit):
    """Two stacked ops of one kind as one: casts through a wider type, reshape of reshape,
    transpose of transpose."""
    t, ins = op.type, op._inputs
    inner = ins[0].op if ins else None
    if inner is None or inner.type != t or not rw.pure(inner) or inner._control_inputs:
        return None
    x = inner._inputs[0]
    if t == "Cast":
        mid, src = np.dtype(inner.attrs["DstT"].as_numpy_dtype), np.dtype(x.dtype.as_numpy_dtype)
        if x.dtype is dtypes.string or not np.can_cast(src, mid, "safe"):
            return None  # the first cast may round or wrap: both must run
        new = detached_op(op, "Cast", [x], dict(op.attrs))
    elif t == "Reshape":
        new = detached_op(op, "Reshape", [x, ins[1]], dict(op.attrs))
    elif t == "Transpose":
        p1, p2 = inner.attrs["perm"], op.attrs["perm"]
        if p1 is None or p2 is None:  # None: the axes reversed, for any rank
            return None
        new = detached_op(op, "Transpose", [x], {**op.attrs, "perm": tuple(p1[k] for k in p2)})
    else:
        return None
    if new.outputs[0].shape != op.outputs[0].shape:
        return None
    emit(new)
    return [new.outputs[0]]


def _zeros_for(rw, op, emit):
    """``x - x`` -> zeros, for integer x (for floats, inf - inf and NaN - NaN are NaN, not 0)."""
    a, b = op._inputs
    out = op.outputs[0]
    if a is not b or not out.dtype.is_integer or not out.shape.is_fully_defined():
        return None
    c = constant(op, np.zeros(out.shape.as_list()), out.dtype)
    emit(c.op)
    return [c]


def arithmetic(rw: Rewriter, ops: list) -> list:
    """Grappler's arithmetic optimizer, the cases that pay here (see ``dataflow.rewrite``'s docstring)."""
    rw.uses = use_counts(ops)

    def rule(op, emit):
        if not rw.pure(op) or op._control_inputs:
            return None
        new = None
        if op.type in ("Add", "AddN"):
            new = _hoist_common_factor(rw, op, emit)
        elif op.type in ("Cast", "Reshape", "Transpose"):
            new = _collapse(rw, op, emit)
        elif op.type == "Sub":
            new = _zeros_for(rw, op, emit)
        if new is not None:
            return new
        x = _bypass(rw, op)
        return None if x is None else [x]

    return rw.walk(ops, rule)


def use_counts(ops) -> dict:
    """``(op name, output index) -> number of reads`` among ``ops``. Keyed by name: a clone made while
    a pass walks keeps its original's name, so the count still applies to it."""
    out: dict = {}
    for op in ops:
        for t in op._inputs:
            key = (t.op.name, t.value_index)
            out[key] = out.get(key, 0) + 1
    return out


# ---- dependency optimization -------------------------------------------------------------------
def dependencies(rw: Rewriter, ops: list) -> list:
    """Identity and StopGradient ops that nothing fetches become their input (TF's dependency
    optimizer); an Identity of a variable's ref (a read) stays: it orders the read; so does one on
    another device than its input (it moves the value there)."""

    def rule(op, emit):
        if op.type in ("Identity", "StopGradient") and rw.replaceable(op) and op.device == op._inputs[0].op.device:
            return [op._inputs[0]]
        return None

    return rw.walk(ops, rule)
