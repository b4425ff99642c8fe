"""Gradients of ``While`` and ``If``: the body's vector-Jacobian product, run backwards.

For a loop, ``tf.gradients`` builds, once per ``While`` op, the gradient of the body's float outputs
with respect to its float loop variables and float captures (variables too), inside the body's own
:class:`~dataflow.framework.func_graph.FuncGraph`, seeded by placeholders ``grad_y`` (with
:func:`dataflow.autodiff.gradients`, so every op's rule applies and a nested loop's gradient is one
more ``WhileGrad`` in the body). The forward tensors those gradient ops read (``saved``: a tanh's
output, a variable's value as read in that iteration, a nested loop's History) and the loop
variables they read are then recorded by the forward ``While`` at every iteration, in its History.

``WhileGrad`` walks the History backwards: ``grad_y`` of iteration ``i`` is the gradient of its
loop variables from iteration ``i + 1``; the gradients of captured tensors are summed over the
iterations. Nothing is recomputed, so random ops and assignments in the body run once, in the
forward loop. ``If`` records the taken branch's saved values and ``IfGrad`` runs that branch's
gradient program. Gradients of these gradients are not supported (LookupError).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..framework import errors
from ..framework.graph import make_op
from ..framework.registry import OpDef, register


def _differentiable(t) -> bool:
    return t.dtype.is_floating or t.dtype.is_complex


@dataclass
class BodyGrad:
    """The gradient of one body: ``grad_ys`` placeholders (one per differentiated output), ``grads``
    (one per differentiated argument), the forward tensors it reads (``saved``) and the argument
    placeholders it reads (``used_args``)."""

    grad_ys: list
    grads: list
    saved: list
    used_args: set


def body_gradient(g, ys: list, xs: list) -> BodyGrad:
    """Build d(ys)/d(xs) inside body ``g``, seeded by new placeholders."""
    from ..autodiff import gradients

    first = len(g._ops)
    with g.as_default():
        grad_ys = [g.placeholder(y.dtype, y.shape, "grad_y") for y in ys]
        grads = gradients(ys, xs, grad_ys=grad_ys, unconnected_gradients="zero")
    new = set(g._ops[first:])
    args = set(g.args)
    read = [t for op in g._ops[first:] for t in op._inputs if t.op not in new] + \
        [t for t in grads if t.op not in new]
    saved = [t for t in dict.fromkeys(read) if t not in args and t.op.type != "Const"]
    return BodyGrad(grad_ys, grads, saved, {t for t in read if t in args})


def _no_second_order(op, *grads):
    raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op.type}): gradients of "
                      "while_loop/cond gradients are not supported")


def _results(values: tuple):
    """A kernel's results: a one-output op returns the value itself."""
    return values[0] if len(values) == 1 else values


def _zeros_for(value, from_host):
    """Zeros like ``value`` (an array on the op's device, a TensorList, a variable's slot), on that device."""
    value = value.read() if hasattr(value, "read") else value
    if not hasattr(value, "shape"):  # a TensorList (its zero: no element written), a Python number
        return np.zeros_like(value)
    return from_host(np.zeros(value.shape, value.dtype))


# ---- While -----------------------------------------------------------------------------------
@dataclass
class WhileGradInfo:
    """A While's gradients: one body gradient per set of captures differentiated (``variants``,
    keyed by capture indices), and what the forward loop records for all of them per iteration."""

    var_idx: list                                # differentiated loop variables (every float one)
    variants: dict = field(default_factory=dict)  # tuple of capture indices -> BodyGrad
    recorded_vars: list = field(default_factory=list)  # loop variables the gradients read
    saved: list = field(default_factory=list)          # body tensors the gradients read


def _while_variant(op, cap_idx: tuple) -> WhileGradInfo:
    n = op.attrs["n_vars"]
    body = op.attrs["body"]
    info = op.attrs.get("grad")
    if info is None:
        info = WhileGradInfo([j for j in range(n) if _differentiable(op.inputs[j])])
        op.attrs["grad"] = info
    if cap_idx not in info.variants:
        bg = body_gradient(body, [body.outputs[j] for j in info.var_idx],
                           [body.inputs[j] for j in info.var_idx] + [body.args[n + k] for k in cap_idx])
        info.variants[cap_idx] = bg
        info.recorded_vars = [j for j in range(n) if j in info.recorded_vars or body.inputs[j] in bg.used_args]
        info.saved = list(dict.fromkeys(info.saved + bg.saved))
        op.graph._bump()  # plans made before must record the loop's history now
    return info


def while_grad(op, *grads, needed):
    """The gradient rule of ``While``: one ``WhileGrad`` op (float loop variables, and the captures in
    ``needed``: a loop does not sum gradients of captured data no one asked for)."""
    from .array import zeros_like

    n, has_max = op.attrs["n_vars"], op.attrs["has_max"]
    result = [None] * len(op.inputs)
    if not op.attrs["back_prop"]:
        return result
    caps = op.inputs[n + has_max:]
    cap_idx = tuple(k for k, c in enumerate(caps) if _differentiable(c) and needed[n + has_max + k])
    info = _while_variant(op, cap_idx)
    if not info.var_idx and not cap_idx:
        return result
    gys = [grads[j] if grads[j] is not None else zeros_like(op.outputs[j]) for j in info.var_idx]
    refs = tuple(1 + len(gys) + k for k, c in enumerate(caps) if c._is_ref)
    shapes = [op.outputs[j].shape for j in info.var_idx] + [caps[k].shape for k in cap_idx]
    dts = [op.inputs[j].dtype for j in info.var_idx] + [caps[k].dtype for k in cap_idx]
    wg = make_op("WhileGrad", [op.outputs[n], *gys, *caps],
                 {"forward": op, "n_gy": len(gys), "cap_idx": cap_idx, "shapes": shapes, "dtypes": dts,
                  "_ref_inputs": refs}, name="WhileGrad")
    for j, jj in enumerate(info.var_idx):
        result[jj] = wg.outputs[j]
    for k, kk in enumerate(cap_idx):
        result[n + has_max + kk] = wg.outputs[len(gys) + k]
    return result


def _bind_while_grad(op, state, backend=None):
    from ..runtime.program import compile_program

    fwd = op.attrs["forward"]
    info: WhileGradInfo = fwd.attrs["grad"]
    bg = info.variants[op.attrs["cap_idx"]]
    body, n = fwd.attrs["body"], fwd.attrs["n_vars"]
    args = [body.inputs[j] for j in info.recorded_vars] + body.args[n:] + info.saved + bg.grad_ys
    program = compile_program(f"{op.name}/body_grad", args, bg.grads, state, backend=backend)
    from_host = backend.from_host if backend is not None else np.asarray
    return {"program": program, "n_rec": len(info.recorded_vars), "from_host": from_host}


_bind_while_grad.on_device = True  # its body's gradient runs on the device of the op (Backend.bind)


def _while_grad_kernel(xp, history, *inputs, n_gy, cap_idx, program, n_rec, from_host):
    if history.records is None:
        raise errors.InternalError(None, None, "The loop ran without recording its history for the gradient")
    gys = inputs[:n_gy]
    caps = inputs[n_gy:]
    acc = [None] * len(cap_idx)
    for rec in reversed(history.records):
        out = program(*rec[:n_rec], *caps, *rec[n_rec:], *gys)
        gys = out[:n_gy]
        for k, g in enumerate(out[n_gy:]):
            acc[k] = g if acc[k] is None else acc[k] + g
    return _results((*gys, *[_zeros_for(caps[kk], from_host) if a is None else a for a, kk in zip(acc, cap_idx)]))


register(OpDef("WhileGrad", lambda op: list(zip(op.attrs["dtypes"], op.attrs["shapes"])), _while_grad_kernel,
               grad=_no_second_order, bind=_bind_while_grad))


# ---- If --------------------------------------------------------------------------------------
@dataclass
class IfGradInfo:
    """An If's gradients: per set of captures differentiated, one BodyGrad per branch; what each
    branch records for all of them (``saved``, per branch)."""

    out_idx: list
    variants: dict = field(default_factory=dict)  # tuple of capture indices -> [BodyGrad per branch]
    saved: list = field(default_factory=lambda: [[], []])


def _if_variant(op, cap_idx: tuple) -> IfGradInfo:
    info = op.attrs.get("grad")
    if info is None:
        info = IfGradInfo([i for i in range(op.attrs["n_out"]) if _differentiable(op.outputs[i])])
        op.attrs["grad"] = info
    if cap_idx not in info.variants:
        branches = [body_gradient(g, [g.outputs[i] for i in info.out_idx], [g.args[k] for k in cap_idx])
                    for g in op.attrs["branches"]]
        info.variants[cap_idx] = branches
        info.saved = [list(dict.fromkeys(old + bg.saved)) for old, bg in zip(info.saved, branches)]
        op.graph._bump()
    return info


def if_grad(op, *grads, needed):
    """The gradient rule of ``If``: one ``IfGrad`` op running the taken branch's gradient."""
    from .array import zeros_like

    result = [None] * len(op.inputs)
    caps = op.inputs[1:]
    cap_idx = tuple(k for k, c in enumerate(caps) if _differentiable(c) and needed[1 + k])
    info = _if_variant(op, cap_idx)
    if not info.out_idx or not cap_idx:
        return result
    gys = [grads[i] if grads[i] is not None else zeros_like(op.outputs[i]) for i in info.out_idx]
    refs = tuple(1 + len(gys) + k for k, c in enumerate(caps) if c._is_ref)
    ig = make_op("IfGrad", [op.outputs[op.attrs["n_out"]], *gys, *caps],
                 {"forward": op, "n_gy": len(gys), "cap_idx": cap_idx,
                  "shapes": [caps[k].shape for k in cap_idx], "dtypes": [caps[k].dtype for k in cap_idx],
                  "_ref_inputs": refs}, name="IfGrad")
    for k, kk in enumerate(cap_idx):
        result[1 + kk] = ig.outputs[k]
    return result


def _bind_if_grad(op, state, backend=None):
    from ..runtime.program import compile_program

    fwd = op.attrs["forward"]
    info: IfGradInfo = fwd.attrs["grad"]
    programs = tuple(compile_program(f"{op.name}/branch{b}_grad", g.args + saved + bg.grad_ys, bg.grads, state,
                                     backend=backend)
                     for b, (g, bg, saved) in enumerate(zip(fwd.attrs["branches"], info.variants[op.attrs["cap_idx"]],
                                                            info.saved)))
    return {"programs": programs}


_bind_if_grad.on_device = True


def _if_grad_kernel(xp, history, *inputs, n_gy, programs):
    gys, caps = inputs[:n_gy], inputs[n_gy:]
    return _results(tuple(programs[history.branch](*caps, *history.records, *gys)))


register(OpDef("IfGrad", lambda op: list(zip(op.attrs["dtypes"], op.attrs["shapes"])), _if_grad_kernel,
               grad=_no_second_order, bind=_bind_if_grad))

__all__ = ["body_gradient", "if_grad", "while_grad"]
