"""Sparse variable updates: ``ScatterAdd``/``ScatterSub``/``ScatterUpdate`` and TF's
``SparseApplyMomentum``/``SparseApplyAdagrad``: they change only the rows at ``indices``, so an
optimizer step on a large embedding costs the rows a batch touched, not the whole table.

Memory follows ``ops/training.py``: the rows are written into the slot's array when nothing but the slot
refers to it (``_owned``, the case in a training loop), else into a copy, so a value a run returned
never changes. Indices outside ``[0, rows)`` are TF's InvalidArgumentError. ``Scatter*`` apply repeated
indices one after another (``xp.add.at``: they add up); the SparseApply ops expect unique indices, which
``Optimizer._apply_sparse_duplicate_indices`` makes (summing repeated rows) as TF's optimizers do.
"""

from __future__ import annotations

from ..framework import errors
from ..framework.graph import convert_to_tensor, make_op
from ..framework.registry import OpDef, register
from .training import _owned


def check_rows(indices, n: int, slot) -> None:
    """TF's InvalidArgumentError when an index (host array) is outside ``[0, n)``, the rows of ``slot``."""
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = int(indices[(indices < 0) | (indices >= n)][0])
        raise errors.InvalidArgumentError(None, None, f"indices[{bad}] is not in [0, {n}) (variable {slot.name})")


def _checked(xp, slot, indices):
    """The array to write the rows into (the slot's own when owned, else a copy) and the indices."""
    out = _owned(xp, slot)  # before any local reference to the array (it would count)
    w = slot.read()
    check_rows(indices, w.shape[0], slot)
    return (w.copy() if out is None else out), indices


def _scatter(kind: str):
    def kernel(xp, ref, indices, updates):
        out, idx = _checked(xp, ref, indices)
        updates = xp.broadcast_to(updates, idx.shape + out.shape[1:])
        if kind == "update":
            out[idx] = updates
        elif kind == "add":
            xp.add.at(out, idx, updates)
        else:
            xp.subtract.at(out, idx, updates)
        return ref.assign(out, False)

    kernel.__name__ = f"_scatter_{kind}_kernel"
    return kernel


def _scatter_infer(op):
    ref, indices, updates = op.inputs
    if not indices.dtype.is_integer:
        raise TypeError(f"{op.type}: indices must be int32 or int64, got {indices.dtype.name}")
    if updates.dtype is not ref.dtype:
        raise TypeError(f"{op.type}: updates dtype {updates.dtype.name} does not match {ref.dtype.name}")
    if ref.shape.ndims is not None and indices.shape.ndims is not None and updates.shape.ndims not in (None, 0):
        want = indices.shape.concatenate(ref.shape[1:])
        if not want.is_compatible_with(updates.shape):
            raise ValueError(f"{op.type}: updates shape {updates.shape} must be {want}")
    return [(ref.dtype, ref.shape)]


for _kind, _type in (("update", "ScatterUpdate"), ("add", "ScatterAdd"), ("sub", "ScatterSub")):
    register(OpDef(_type, _scatter_infer, _scatter(_kind), stateful=True, ref_inputs=(0,), differentiable=False))


def _scatter_api(op_type: str, doc: str):
    def fn(ref, indices, updates, use_locking=False, name=None):
        ref = ref._ref() if hasattr(ref, "_ref") else ref
        indices = convert_to_tensor(indices)
        updates = convert_to_tensor(updates, dtype=ref.dtype)
        return make_op(op_type, [ref, indices, updates], {"use_locking": use_locking}, name or op_type).outputs[0]

    fn.__doc__ = doc
    return fn


scatter_update = _scatter_api("ScatterUpdate", "``ref[indices] = updates`` (rows); the output is the new value.")
scatter_add = _scatter_api("ScatterAdd", "``ref[indices] += updates``, repeated indices adding up.")
scatter_sub = _scatter_api("ScatterSub", "``ref[indices] -= updates``, repeated indices adding up.")


def _sparse_infer(op):
    var = op.inputs[0]
    return [(var.dtype, var.shape)]


def _sparse_momentum_kernel(xp, var, accum, lr, grad, indices, momentum, *, use_nesterov=False):
    # for each row i: accum[i] = accum[i] * momentum + grad; var[i] -= lr * accum[i]
    #                 (nesterov: var[i] -= lr * grad + lr * momentum * accum[i])
    w, idx = _checked(xp, var, indices)
    a, _ = _checked(xp, accum, indices)
    rows = a[idx] * momentum + grad
    a[idx] = rows
    w[idx] -= (grad * lr + rows * (momentum * lr)) if use_nesterov else rows * lr
    accum.assign(a, False)
    return var.assign(w, False)


def _sparse_adagrad_kernel(xp, var, accum, lr, grad, indices):
    # for each row i: accum[i] += grad^2; var[i] -= lr * grad / sqrt(accum[i])
    w, idx = _checked(xp, var, indices)
    a, _ = _checked(xp, accum, indices)
    rows = a[idx] + grad * grad
    a[idx] = rows
    w[idx] -= lr * grad / xp.sqrt(rows)
    accum.assign(a, False)
    return var.assign(w, False)


register(OpDef("SparseApplyMomentum", _sparse_infer, _sparse_momentum_kernel, stateful=True, ref_inputs=(0, 1),
               differentiable=False))
register(OpDef("SparseApplyAdagrad", _sparse_infer, _sparse_adagrad_kernel, stateful=True, ref_inputs=(0, 1),
               differentiable=False))


def _sparse_apply(op_type, refs, values, attrs, name):
    refs = [r._ref() if hasattr(r, "_ref") else r for r in refs]
    dtype = refs[0].dtype
    ins = [convert_to_tensor(v, dtype=dtype) if k != "indices" else convert_to_tensor(v)
           for k, v in values]
    return make_op(op_type, refs + ins, attrs, name or op_type).outputs[0]


def sparse_apply_momentum(var, accum, lr, grad, indices, momentum, use_locking=False, use_nesterov=False, name=None):
    """Momentum on the rows ``indices`` (unique) of ``var`` and ``accum``, with ``grad`` their gradient rows."""
    return _sparse_apply("SparseApplyMomentum", [var, accum], [("lr", lr), ("grad", grad), ("indices", indices),
                                                               ("momentum", momentum)],
                         {"use_locking": use_locking, "use_nesterov": use_nesterov}, name)


def sparse_apply_adagrad(var, accum, lr, grad, indices, use_locking=False, update_slots=True, name=None):
    """Adagrad on the rows ``indices`` (unique) of ``var`` and ``accum``."""
    return _sparse_apply("SparseApplyAdagrad", [var, accum], [("lr", lr), ("grad", grad), ("indices", indices)],
                         {"use_locking": use_locking}, name)
