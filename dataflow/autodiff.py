"""Reverse-mode automatic differentiation over the graph (``tf.gradients``).

Algorithm: find the ops on a path from ``xs`` to ``ys``; seed each y with ``grad_ys`` (ones by
default); visit those ops in reverse creation order (creation order is topological for data edges);
for each op sum the gradients flowing into its outputs, call its rule ``grad(op, *out_grads)`` (or a
``tf.RegisterGradient`` override), sum the input gradients of broadcasting ops back to each input's
shape, and accumulate them on the inputs. Rules build graph ops, so gradients of gradients work.
"""

from __future__ import annotations

import numpy as np

from .framework import registry
from .framework.graph import Operation, Tensor, convert_to_tensor, get_default_graph, name_scope


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _ones_for(y: Tensor) -> Tensor:
    from .ops.array import fill
    from .ops.common import shape_of

    if y.shape.num_elements() == 1:  # a scalar loss: a constant, not a Fill kernel on every run
        return convert_to_tensor(np.ones(y.shape.as_list(), y.dtype.as_numpy_dtype), name="grad_ys")
    return fill(shape_of(y), np.ones((), y.dtype.as_numpy_dtype), name="grad_ys")


def _broadcast_free(op, i: int) -> bool:
    """True when the static shapes prove that input ``i`` of the broadcasting ``op`` was not broadcast,
    so its gradient needs no summing back (the common ``x @ W + b``: x's side, with a None batch)."""
    x = op.inputs[i]
    core = op.op_def.broadcast_core_dims
    others = [t.shape for j, t in enumerate(op.inputs) if j != i]
    if x.shape.ndims is None or any(s.ndims is None for s in others):
        return False
    rank = x.shape.ndims
    if any(s.ndims > rank for s in others):
        return False  # x gains leading dimensions
    dims = x.shape.as_list()
    for d in range(rank - core):
        size = dims[d]
        if size is not None and size != 1:
            continue  # a known size other than 1 is never stretched
        for s in others:
            k = d - (rank - s.ndims)  # the other input's matching dimension, if it has one
            if k < 0:
                continue
            o = s.as_list()[k]
            if size == 1 and o == 1:
                continue
            if size is None and o == 1:
                continue
            return False  # x's 1 (or unknown) may meet a larger size
    return True


def _unbroadcast(g: Tensor | None, op, i: int) -> Tensor | None:
    from .ops.array import sum_to_shape
    from .ops.common import shape_of

    x = op.inputs[i]
    if g is None:
        return None
    gs, xs = g.shape, x.shape
    if gs.is_fully_defined() and xs.is_fully_defined() and gs.as_list() == xs.as_list():
        return g
    if _broadcast_free(op, i):
        return g
    return sum_to_shape(g, shape_of(x))


def _between(ys, xs, stop_ops: set):
    """Ops that lie on a path from an x to a y (reached forward from xs and backward from ys)."""
    forward: set[Operation] = set()
    stack = [t.op for t in xs]
    graph = xs[0].graph if xs else None
    while stack:
        op = stack.pop()
        if op in forward:
            continue
        forward.add(op)
        for t in op.outputs:
            stack.extend(graph._consumers.get(t, ()))
    between: set[Operation] = set()
    stack = [t.op for t in ys]
    seen: set[Operation] = set()
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in forward:
            between.add(op)
            if op in stop_ops:
                continue
            stack.extend(t.op for t in op._inputs)
    return between


def _aggregate(grads: list) -> Tensor | None:
    from .ops.math import add_n

    grads = [g for g in grads if g is not None]
    if not grads:
        return None
    if len(grads) == 1:
        return grads[0]
    return add_n(grads)


def _rule_for(op: Operation):
    override = getattr(op, "_gradient_override", None)
    if override is not None:
        if override not in registry.GRADIENT_OVERRIDES:
            raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {override})")
        return registry.GRADIENT_OVERRIDES[override]
    custom = getattr(op, "_custom_gradient", None)
    if custom is not None:
        return custom
    opdef = op.op_def
    if not opdef.differentiable:
        return None
    if opdef.grad is None:
        raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op.type})")
    return opdef.grad


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None,
              unconnected_gradients="none"):
    """Symbolic derivatives of ``sum(ys)`` with respect to each of ``xs``.

    Returns a list with one tensor per x, or None where x does not affect ys (with
    ``unconnected_gradients="zero"``, zeros instead).

    Examples
    --------
    >>> import dataflow as tf
    >>> x = tf.constant(3.0)
    >>> tf.Session().run(tf.gradients(x * x, x))
    [6.0]
    """
    from .ops.array import zeros_like

    ys = [convert_to_tensor(y) for y in _as_list(ys)]
    xs = [convert_to_tensor(x, as_ref=True) if hasattr(x, "_ref") else convert_to_tensor(x)
          for x in _as_list(xs)]
    grad_ys = [None] * len(ys) if grad_ys is None else _as_list(grad_ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"Passed {len(grad_ys)} grad_ys for {len(ys)} ys")
    stop_ops = {convert_to_tensor(s).op if not isinstance(s, Operation) else s
                for s in _as_list(stop_gradients or [])}
    graph = ys[0].graph if ys else get_default_graph()
    with graph.as_default(), name_scope(name, "gradients", ys + xs):
        between = _between(ys, xs, stop_ops)
        grads: dict[Tensor, list] = {}
        for y, gy in zip(ys, grad_ys):
            if gy is None:
                if not (y.dtype.is_floating or y.dtype.is_complex):
                    raise TypeError(f"Gradients of {y.dtype.name} tensor {y.name} are not supported: "
                                    "pass grad_ys or differentiate a floating point value")
                gy = _ones_for(y)
            else:
                gy = convert_to_tensor(gy, dtype=y.dtype)
            grads.setdefault(y, []).append(gy)
        for op in sorted(between, key=lambda o: o._id, reverse=True):
            out_grads = [_aggregate(grads.get(t, [])) for t in op.outputs]
            for t, g in zip(op.outputs, out_grads):
                if g is not None:
                    grads[t] = [g]
            if all(g is None for g in out_grads) or op in stop_ops:
                continue
            if not op._inputs:  # a source (a variable, a placeholder): nothing to pass back
                continue
            rule = _rule_for(op)
            if rule is None:
                continue
            # a "partial" rule (While, If) takes None for outputs without a gradient, and is told which
            # inputs need one (so a loop does not sum gradients of its captured data over every iteration)
            partial = getattr(rule, "partial", False)
            if any(g is None for g in out_grads) and not partial:
                out_grads = [zeros_like(t) if g is None else g for t, g in zip(op.outputs, out_grads)]
            with name_scope(op.name + "_grad") as grad_scope:
                in_grads = list(rule(op, *out_grads, needed=[x.op in between for x in op._inputs]) if partial
                                else rule(op, *out_grads))
            if len(in_grads) != len(op._inputs):
                raise ValueError(f"Gradient rule for {op.type} returned {len(in_grads)} values for "
                                 f"{len(op._inputs)} inputs")
            for i, (x, g) in enumerate(zip(op._inputs, in_grads)):
                if g is None or x.op not in between:
                    continue
                g = convert_to_tensor(g)
                if op.op_def.broadcasting:
                    with name_scope(grad_scope):
                        g = _unbroadcast(g, op, i)
                grads.setdefault(x, []).append(g)
        out = []
        for x in xs:
            g = _aggregate(grads.get(x, []))
            if g is None and unconnected_gradients == "zero":
                g = zeros_like(x)
            out.append(g)
        return out


def hessians(ys, xs, name="hessians", colocate_gradients_with_ops=False, gate_gradients=False,
             aggregation_method=None):
    """Second derivatives of ``sum(ys)`` for each x, shaped ``x.shape + x.shape``."""
    from .ops.array import reshape
    from .ops.indexing import stack, unstack

    xs = _as_list(xs)
    out = []
    with name_scope(name, "hessians", xs):
        for x in xs:
            x_t = convert_to_tensor(x)
            n = x_t.shape.num_elements()
            if n is None:
                raise ValueError("hessians needs xs with fully defined static shapes")
            (g,) = gradients(ys, x)
            g = reshape(g, [-1])
            rows = [gradients(gi, x)[0] for gi in unstack(g, num=n)]
            rows = [r if r is not None else x_t * 0 for r in rows]
            h = stack(rows)
            out.append(reshape(h, np.concatenate([np.asarray(x_t.shape.as_list()),
                                                  np.asarray(x_t.shape.as_list())]).astype(np.int32)))
    return out
