"""Optimizer update primitives (TF's ``Apply*`` ops): each reads its variables' slots and replaces their values.

One table row per op gives TF's input order (``SIGNATURES``): the leading inputs are refs (the
variable, then its optimizer slots), ``grad`` has the variable's shape, ``global_step`` is an int64
scalar, every other input is a scalar of the variable's dtype. One shape function checks all of them.

Each kernel is TF's formula (``tensorflow/core/kernels/training_ops.cc``), evaluated in the variable's
dtype with TF's operation order, so float32 trajectories follow TensorFlow's. The op's output is the
variable's new value.

Memory: an update writes its new values over the old arrays only when nothing but the slot refers to
them (``_owned``: an exact reference count), which is the case in a training loop once the run's reads
of the variable are dead; otherwise (a read still live, a fetched value, a view) it writes fresh arrays
and the old values stay as they were, so no one ever sees a value change. Either way a kernel makes the
minimum of passes over memory with one or two temporaries, which it keeps from one run to the next
(``Scratch``, one per op and plan, bound like a slot): Adam is twelve elementwise passes. Reusing memory
matters: fresh large arrays cost page faults on every step (more than half of Adam's time on a 784x256
matrix). NOTE: as with TF1's unlocked updates, a read that runs concurrently
with an update it is not ordered against (two devices' tasks at once) may see a partial update.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

from ..framework import dtypes
from ..framework.graph import convert_to_tensor, make_op
from ..framework.registry import OpDef, register
from .blas import axpy_into
from .parallel import run_rows

SIGNATURES = {
    "ApplyGradientDescent": ("var", "alpha", "delta"),
    "ApplyMomentum": ("var", "accum", "lr", "grad", "momentum"),
    "ApplyAdagrad": ("var", "accum", "lr", "grad"),
    "ApplyAdagradDA": ("var", "gradient_accumulator", "gradient_squared_accumulator", "grad", "lr", "l1",
                       "l2", "global_step"),
    "ApplyAdadelta": ("var", "accum", "accum_update", "lr", "rho", "epsilon", "grad"),
    "ApplyAdam": ("var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"),
    "ApplyRMSProp": ("var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"),
    "ApplyCenteredRMSProp": ("var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"),
    "ApplyFtrl": ("var", "accum", "linear", "grad", "lr", "l1", "l2", "lr_power"),
    "ApplyFtrlV2": ("var", "accum", "linear", "grad", "lr", "l1", "l2", "l2_shrinkage", "lr_power"),
}
# the ref inputs of each op: the variable and its slots, always first in TF's order
N_REFS = {"ApplyGradientDescent": 1, "ApplyMomentum": 2, "ApplyAdagrad": 2, "ApplyAdagradDA": 3,
          "ApplyAdadelta": 3, "ApplyAdam": 3, "ApplyRMSProp": 3, "ApplyCenteredRMSProp": 4, "ApplyFtrl": 3,
          "ApplyFtrlV2": 3}
_TENSOR_INPUTS = {"grad", "delta"}


def _apply_infer(op):
    """Check every input against the op's signature; the output is the variable's new value."""
    names = SIGNATURES[op.type]
    var = op.inputs[0]
    if len(op.inputs) != len(names):
        raise ValueError(f"{op.type} takes {len(names)} inputs ({', '.join(names)}), got {len(op.inputs)}")
    for i, (name, t) in enumerate(zip(names, op.inputs)):
        want = dtypes.int64 if name == "global_step" else var.dtype
        if t.dtype is not want:
            raise TypeError(f"{op.type}: input '{name}' has dtype {t.dtype.name}, expected {want.name}")
        if i < N_REFS[op.type] or name in _TENSOR_INPUTS:
            if not var.shape.is_compatible_with(t.shape):
                raise ValueError(f"{op.type}: '{name}' has shape {t.shape}, the variable has shape {var.shape}")
        elif t.shape.ndims not in (None, 0):
            raise ValueError(f"{op.type}: '{name}' must be a scalar, got shape {t.shape}")
    return [(var.dtype, var.shape)]


def _register(op_type: str):
    def deco(kernel):
        register(OpDef(op_type, _apply_infer, kernel, stateful=True, ref_inputs=tuple(range(N_REFS[op_type])),
                       differentiable=False, bind=_bind_scratch))
        return kernel

    return deco


def _apply(op_type: str, args: tuple, attrs: dict | None, name: str | None):
    """Build ``op_type`` from its arguments in TF's order: refs first, then values."""
    n = N_REFS[op_type]
    refs = [a._ref() if hasattr(a, "_ref") else convert_to_tensor(a) for a in args[:n]]
    dtype = refs[0].dtype
    values = [convert_to_tensor(a, dtype=dtypes.int64 if k == "global_step" else dtype)
              for k, a in zip(SIGNATURES[op_type][n:], args[n:])]
    return make_op(op_type, refs + values, attrs, name).outputs[0]


# ---- kernels: TF's formulas. Slots: ``.read()`` the current value, ``.assign(new, False)`` replace it ----
class _Holder:
    __slots__ = ("value",)


def _sole_refcount() -> int:
    """What ``sys.getrefcount`` reads in :func:`_owned` for an array that only its slot holds
    (calibrated with the same code shape: interpreters differ)."""
    holder = _Holder()
    holder.value = np.zeros(2)
    v = holder.value
    return sys.getrefcount(v)


_SOLE = _sole_refcount()


def _owned(xp, slot):
    """The slot's current array if nothing but the slot refers to it, so an update may overwrite it; else None.

    NOTE: CPython's reference counts are exact: any other holder of the value (a read still live in the
    run, a view of it, a fetched value, a Dask result) adds a reference and gets None, and the update
    then writes fresh arrays, leaving the held value as it was. An array nobody else can see may be
    reused: it saves the page faults of fresh large allocations (about half of Adam's time on 784x256).
    """
    v = slot.value
    if sys.getrefcount(v) > _SOLE:  # the slot, ``v`` and the call's argument: nothing else
        return None
    if isinstance(v, xp.ndarray) and getattr(v, "base", None) is None and getattr(v.flags, "writeable", True):
        return v
    return None


class Scratch:
    """The temporaries of one update op, kept from one run to the next (a fresh large temporary would be
    faulted in on every step). A stack: concurrent runs of one plan each take their own."""

    __slots__ = ("_free",)

    def __init__(self):
        self._free: list = []

    def take(self, xp, like):
        """An uninitialized array shaped like ``like`` (the variable's value)."""
        if self._free:
            t = self._free.pop()
            if t.shape == like.shape and t.dtype == like.dtype:
                return t
        return xp.empty_like(like)

    def give(self, result, *temps):
        """Keep ``temps`` for the next run, except one that became the variable's new value."""
        for t in temps:
            if t is not result:
                self._free.append(t)


def _bind_scratch(op, state) -> dict:
    return {"scratch": Scratch()}


def _check_shape(var, grad, what="grad"):
    if var.shape != grad.shape:
        raise ValueError(f"var and {what} do not have the same shape{list(var.shape)} {list(grad.shape)}")


def _or(out, t):
    """Where the variable's new value goes: its owned old array, else the temporary ``t`` becomes it."""
    return t if out is None else out


_CHUNK_MIN = 1 << 20  # elements: below this, a thread hand-off costs more than it saves (measured)
_BLOCK = 1 << 17
# elements: smaller variables update in whole-array passes; their few arrays stay in the L3 cache
# anyway, and the per-block calls cost more than blocking saves (784x256 in the MLP benchmark: 308 ->
# ~280 us per Adam update, in-step)
_BLOCKED_FROM = 1 << 19


def _elementwise_chunks(xp, body, *arrays):
    """``body(*arrays)`` where every step is elementwise: on large NumPy arrays, in cache-sized blocks,
    split over the cores (``parallel.run_rows``; TF's Eigen kernels are threaded too)."""
    n = arrays[0].size
    if n < _BLOCKED_FROM or xp is not np or not all(a.flags.c_contiguous and a.size == n for a in arrays):
        body(*arrays)
        return
    flat = [a.reshape(-1) for a in arrays]

    def blocks(lo, hi):
        # NOTE: cache-sized blocks: all of body's passes over one block run while it is in cache, so
        # memory traffic is about one pass instead of one per step (the update is bandwidth-bound)
        for b in range(lo, hi, _BLOCK):
            e = min(b + _BLOCK, hi)
            body(*[a[b:e] for a in flat])

    run_rows(xp, n, n if n >= _CHUNK_MIN else 0, blocks)


def _sqrt_scalar(xp, s):
    """``xp.sqrt(s)`` of a scalar of the variable's dtype. NumPy's ufunc on a scalar costs about a
    microsecond; for a real float, the square root in double precision rounded to ``s``'s type is the
    same correctly rounded value (double has more than twice the bits of float32 and float16)."""
    if xp is np and s.dtype.kind == "f" and s >= 0:
        return s.dtype.type(math.sqrt(s))
    return xp.sqrt(s)


def _into(xp, out, like):
    """Where a slot's new value goes: its owned old array, else a new one."""
    return xp.empty_like(like) if out is None else out


@_register("ApplyGradientDescent")
def _gradient_descent(xp, var, alpha, delta, *, scratch=None):
    # var -= alpha * delta
    scratch = scratch or Scratch()
    out = _owned(xp, var)
    w = var.read()
    _check_shape(w, delta, "delta")
    t = scratch.take(xp, w)
    new = var.assign(axpy_into(xp, -alpha[()], delta, w, _or(out, t), tmp=t), False)
    scratch.give(new, t)
    return new


@_register("ApplyMomentum")
def _momentum(xp, var, accum, lr, grad, momentum, *, use_nesterov=False, scratch=None):
    # accum = accum * momentum + grad
    # var -= accum * lr                              (use_nesterov: var -= grad * lr + accum * momentum * lr)
    scratch = scratch or Scratch()
    w_out, a_out = _owned(xp, var), _owned(xp, accum)
    w = var.read()
    _check_shape(w, grad)
    t = scratch.take(xp, w)
    a = xp.multiply(accum.read(), momentum, out=_into(xp, a_out, w))
    a += grad
    if use_nesterov:
        xp.multiply(a, momentum * lr, out=t)
        t += grad * lr
        new = xp.subtract(w, t, out=_or(w_out, t))
    else:
        new = axpy_into(xp, -lr[()], a, w, _or(w_out, t), tmp=t)  # var -= lr * accum (one BLAS pass)
    accum.assign(a, False)
    new = var.assign(new, False)
    scratch.give(new, t)
    return new


@_register("ApplyAdagrad")
def _adagrad(xp, var, accum, lr, grad, *, scratch=None):
    # accum += grad^2;  var -= lr * grad / sqrt(accum)
    scratch = scratch or Scratch()
    w_out, a_out = _owned(xp, var), _owned(xp, accum)
    w = var.read()
    _check_shape(w, grad)
    t = xp.multiply(grad, grad, out=scratch.take(xp, w))
    a = xp.add(accum.read(), t, out=_into(xp, a_out, w))
    xp.sqrt(a, out=t)
    xp.divide(grad, t, out=t)
    t *= lr
    accum.assign(a, False)
    new = var.assign(xp.subtract(w, t, out=_or(w_out, t)), False)
    scratch.give(new, t)
    return new


@_register("ApplyAdagradDA")
def _adagrad_da(xp, var, gradient_accumulator, gradient_squared_accumulator, grad, lr, l1, l2, global_step, *,
                scratch=None):
    # g += grad; gg += grad^2; T = global_step (AdagradDAOptimizer passes its global step + 1)
    # var = -sign(g) * lr * max(|g| - l1 * T, 0) / (l2 * T * lr + sqrt(gg))     (l1 > 0)
    # var = -lr * g / (l2 * T * lr + sqrt(gg))                                  (l1 == 0)
    scratch = scratch or Scratch()
    w_out = _owned(xp, var)
    g_out, gg_out = _owned(xp, gradient_accumulator), _owned(xp, gradient_squared_accumulator)
    w = var.read()
    _check_shape(w, grad)
    step = w.dtype.type(global_step)
    t = scratch.take(xp, w)
    num = scratch.take(xp, w) if w_out is None else w_out
    g = xp.add(gradient_accumulator.read(), grad, out=_into(xp, g_out, w))
    xp.multiply(grad, grad, out=t)
    gg = xp.add(gradient_squared_accumulator.read(), t, out=_into(xp, gg_out, w))
    del w
    xp.sqrt(gg, out=t)
    t += l2 * (step * lr)
    if l1 > 0:
        xp.abs(g, out=num)
        num -= step * l1
        xp.maximum(num, 0, out=num)
        num *= xp.sign(g)
        num *= -lr
    else:
        xp.multiply(g, -lr, out=num)
    gradient_accumulator.assign(g, False)
    gradient_squared_accumulator.assign(gg, False)
    new = var.assign(xp.divide(num, t, out=num), False)
    scratch.give(new, t, num)
    return new


@_register("ApplyAdadelta")
def _adadelta(xp, var, accum, accum_update, lr, rho, epsilon, grad, *, scratch=None):
    # accum = rho * accum + (1 - rho) * grad^2
    # update = sqrt(accum_update + eps) / sqrt(accum + eps) * grad
    # var -= lr * update;  accum_update = rho * accum_update + (1 - rho) * update^2
    scratch = scratch or Scratch()
    w_out, a_out, au_out = _owned(xp, var), _owned(xp, accum), _owned(xp, accum_update)
    w = var.read()
    _check_shape(w, grad)
    one_minus_rho = 1 - rho
    t, update = scratch.take(xp, w), scratch.take(xp, w)
    xp.multiply(grad, grad, out=t)
    t *= one_minus_rho
    a = xp.multiply(accum.read(), rho, out=_into(xp, a_out, w))
    a += t
    au0 = accum_update.read()
    xp.add(au0, epsilon, out=update)
    xp.sqrt(update, out=update)
    xp.add(a, epsilon, out=t)
    xp.sqrt(t, out=t)
    update /= t
    update *= grad
    xp.multiply(update, update, out=t)
    t *= one_minus_rho
    au = xp.multiply(au0, rho, out=_into(xp, au_out, w))
    au += t
    update *= lr
    accum.assign(a, False)
    accum_update.assign(au, False)
    new = var.assign(xp.subtract(w, update, out=_or(w_out, update)), False)
    scratch.give(new, t, update)
    return new


@_register("ApplyAdam")
def _adam(xp, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_nesterov=False,
          scratch=None):
    # NOTE: TF1's Adam: the bias correction is folded into the step size, and epsilon is added to
    # sqrt(v) *outside* the correction ("epsilon hat" of Kingma & Ba, sec. 2):
    #   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    #   m = m + (grad - m) * (1 - beta1);  v = v + (grad^2 - v) * (1 - beta2)
    #   var -= alpha * m / (sqrt(v) + epsilon)   (use_nesterov: m -> m * beta1 + grad * (1 - beta1))
    # Twelve passes over memory, one temporary (t).
    scratch = scratch or Scratch()
    w_out, m_out, v_out = _owned(xp, var), _owned(xp, m), _owned(xp, v)
    w = var.read()
    _check_shape(w, grad)
    # NumPy scalars of the variable's dtype: the same float32 arithmetic as 0-d arrays, faster
    beta1, beta2, epsilon = beta1[()], beta2[()], epsilon[()]
    one = beta1.dtype.type(1)
    alpha = lr[()] * _sqrt_scalar(xp, one - beta2_power[()]) / (one - beta1_power[()])
    scalars = (one - beta1, one - beta2, epsilon, alpha, beta1 if use_nesterov else None)
    m0, v0 = m.read(), v.read()
    t = scratch.take(xp, w)
    m_t, v_t = _into(xp, m_out, w), _into(xp, v_out, w)
    w_t = _or(w_out, t)
    if w.size < _BLOCKED_FROM:  # the common case, called directly (a small variable's update is mostly overhead)
        _adam_passes(xp, scalars, w, m0, v0, grad, t, m_t, v_t, w_t)
    else:
        _elementwise_chunks(xp, functools.partial(_adam_passes, xp, scalars), w, m0, v0, grad, t, m_t, v_t, w_t)
    del m0, v0
    m.assign(m_t, False)
    v.assign(v_t, False)
    new = var.assign(w_t, False)
    scratch.give(new, t)
    return new


def _adam_passes(xp, scalars, w, m0, v0, grad, t, m_t, v_t, w_t):
    """Adam's twelve passes over (a block of) the arrays; ``t`` is the temporary."""
    decay1, decay2, epsilon, alpha, nesterov_beta1 = scalars
    xp.subtract(grad, m0, out=t)
    t *= decay1
    xp.add(m0, t, out=m_t)
    xp.multiply(grad, grad, out=t)
    t -= v0
    t *= decay2
    xp.add(v0, t, out=v_t)
    xp.sqrt(v_t, out=t)
    t += epsilon
    if nesterov_beta1 is not None:
        num = xp.multiply(grad, decay1)
        num += m_t * nesterov_beta1
        xp.divide(num, t, out=t)
    else:
        xp.divide(m_t, t, out=t)
    # NOTE: not axpy_into: on cache-sized blocks OpenBLAS's threaded axpy lost to these two passes
    # (a small CNN's 3.2M-weight layer: 24.2 -> 21.2 steps/s)
    t *= alpha
    xp.subtract(w, t, out=w_t)


@_register("ApplyRMSProp")
def _rms_prop(xp, var, ms, mom, lr, rho, momentum, epsilon, grad, *, scratch=None):
    # NOTE: epsilon is inside the square root here (unlike Adam).
    # ms = ms + (grad^2 - ms) * (1 - rho);  mom = mom * momentum + lr * grad / sqrt(ms + epsilon)
    # var -= mom
    scratch = scratch or Scratch()
    w_out, ms_out, mom_out = _owned(xp, var), _owned(xp, ms), _owned(xp, mom)
    w = var.read()
    _check_shape(w, grad)
    ms0 = ms.read()
    t = xp.multiply(grad, grad, out=scratch.take(xp, w))
    t -= ms0
    t *= 1 - rho
    ms_t = xp.add(ms0, t, out=_into(xp, ms_out, w))
    del ms0
    xp.add(ms_t, epsilon, out=t)
    xp.sqrt(t, out=t)
    xp.divide(grad, t, out=t)
    t *= lr
    mom_t = xp.multiply(mom.read(), momentum, out=_into(xp, mom_out, w))
    mom_t += t
    ms.assign(ms_t, False)
    mom.assign(mom_t, False)
    new = var.assign(xp.subtract(w, mom_t, out=_or(w_out, t)), False)
    scratch.give(new, t)
    return new


@_register("ApplyCenteredRMSProp")
def _centered_rms_prop(xp, var, mg, ms, mom, lr, rho, momentum, epsilon, grad, *, scratch=None):
    # ms = ms + (grad^2 - ms) * (1 - rho);  mg = mg + (grad - mg) * (1 - rho)
    # mom = mom * momentum + lr * grad / sqrt(ms - mg^2 + epsilon);  var -= mom
    scratch = scratch or Scratch()
    w_out, mg_out, ms_out, mom_out = _owned(xp, var), _owned(xp, mg), _owned(xp, ms), _owned(xp, mom)
    w = var.read()
    _check_shape(w, grad)
    one_minus_rho = 1 - rho
    ms0, mg0 = ms.read(), mg.read()
    t = xp.multiply(grad, grad, out=scratch.take(xp, w))
    t -= ms0
    t *= one_minus_rho
    ms_t = xp.add(ms0, t, out=_into(xp, ms_out, w))
    xp.subtract(grad, mg0, out=t)
    t *= one_minus_rho
    mg_t = xp.add(mg0, t, out=_into(xp, mg_out, w))
    del ms0, mg0
    xp.multiply(mg_t, mg_t, out=t)
    xp.subtract(ms_t, t, out=t)
    t += epsilon
    xp.sqrt(t, out=t)
    xp.divide(grad, t, out=t)
    t *= lr
    mom_t = xp.multiply(mom.read(), momentum, out=_into(xp, mom_out, w))
    mom_t += t
    mg.assign(mg_t, False)
    ms.assign(ms_t, False)
    mom.assign(mom_t, False)
    new = var.assign(xp.subtract(w, mom_t, out=_or(w_out, t)), False)
    scratch.give(new, t)
    return new


def _ftrl(xp, var, accum, linear, grad, shrinkage, lr, l1, l2, lr_power, scratch):
    # new_accum = accum + grad^2
    # linear += grad + shrinkage - (new_accum^-lr_power - accum^-lr_power) / lr * var
    # var = (l1 * sign(linear) - linear) / (new_accum^-lr_power / lr + 2 * l2)  where |linear| > l1, else 0
    # (lr_power == -0.5, the default, takes square roots rather than powers, as TF does)
    scratch = scratch or Scratch()
    w_out, acc_out, lin_out = _owned(xp, var), _owned(xp, accum), _owned(xp, linear)
    w, acc0 = var.read(), accum.read()
    _check_shape(w, grad)
    sqrt_case = lr_power == -0.5
    t, p_new = scratch.take(xp, w), scratch.take(xp, w)
    if sqrt_case:                           # t = accum^-p, then its change
        xp.sqrt(acc0, out=t)
    else:
        xp.power(acc0, -lr_power, out=t)
    xp.multiply(grad, grad, out=p_new)
    new_acc = xp.add(acc0, p_new, out=_into(xp, acc_out, w))
    del acc0
    if sqrt_case:
        xp.sqrt(new_acc, out=p_new)
    else:
        xp.power(new_acc, -lr_power, out=p_new)
    t -= p_new
    t /= lr
    t *= w                                  # -(new_accum^-p - accum^-p) / lr * var
    if shrinkage is not None:               # ApplyFtrlV2: 2 * l2_shrinkage * var
        t += xp.multiply(w, 2 * shrinkage)
    del w
    t += grad
    lin = xp.add(linear.read(), t, out=_into(xp, lin_out, t))
    x = xp.sign(lin, out=_or(w_out, t))
    x *= l1
    x -= lin
    p_new /= lr
    p_new += 2 * l2
    x /= p_new
    xp.copyto(x, 0, where=xp.logical_not(xp.abs(lin) > l1))
    accum.assign(new_acc, False)
    linear.assign(lin, False)
    new = var.assign(x, False)
    scratch.give(new, t, p_new)
    return new


@_register("ApplyFtrl")
def _apply_ftrl(xp, var, accum, linear, grad, lr, l1, l2, lr_power, *, scratch=None):
    return _ftrl(xp, var, accum, linear, grad, None, lr, l1, l2, lr_power, scratch)


@_register("ApplyFtrlV2")
def _apply_ftrl_v2(xp, var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power, *, scratch=None):
    # as ApplyFtrl, but linear accumulates grad + 2 * l2_shrinkage * var (accum still takes grad^2)
    return _ftrl(xp, var, accum, linear, grad, l2_shrinkage, lr, l1, l2, lr_power, scratch)


# ---- the TF API (tf.raw_ops / gen_training_ops names and argument orders) ----------------------------
def apply_gradient_descent(var, alpha, delta, use_locking=False, name=None):
    """``var -= alpha * delta``."""
    return _apply("ApplyGradientDescent", (var, alpha, delta), {"use_locking": use_locking}, name)


def apply_momentum(var, accum, lr, grad, momentum, use_locking=False, use_nesterov=False, name=None):
    """``accum = accum * momentum + grad; var -= lr * accum`` (Nesterov: ``var -= lr * (grad + momentum * accum)``)."""
    return _apply("ApplyMomentum", (var, accum, lr, grad, momentum),
                  {"use_locking": use_locking, "use_nesterov": use_nesterov}, name)


def apply_adagrad(var, accum, lr, grad, use_locking=False, update_slots=True, name=None):
    """``accum += grad^2; var -= lr * grad / sqrt(accum)``."""
    if not update_slots:
        raise NotImplementedError("apply_adagrad(update_slots=False) is not supported")
    return _apply("ApplyAdagrad", (var, accum, lr, grad), {"use_locking": use_locking}, name)


def apply_adagrad_da(var, gradient_accumulator, gradient_squared_accumulator, grad, lr, l1, l2, global_step,
                     use_locking=False, name=None):
    """Adagrad dual averaging (Duchi et al.): the variable is recomputed from the accumulators."""
    return _apply("ApplyAdagradDA", (var, gradient_accumulator, gradient_squared_accumulator, grad, lr, l1, l2,
                                     global_step), {"use_locking": use_locking}, name)


def apply_adadelta(var, accum, accum_update, lr, rho, epsilon, grad, use_locking=False, name=None):
    """Adadelta (Zeiler 2012), scaled by ``lr``."""
    return _apply("ApplyAdadelta", (var, accum, accum_update, lr, rho, epsilon, grad),
                  {"use_locking": use_locking}, name)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, use_locking=False,
               use_nesterov=False, name=None):
    """TF1's Adam step: ``var -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)``."""
    return _apply("ApplyAdam", (var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad),
                  {"use_locking": use_locking, "use_nesterov": use_nesterov}, name)


def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, use_locking=False, name=None):
    """RMSProp with momentum: ``mom = momentum * mom + lr * grad / sqrt(ms + epsilon); var -= mom``."""
    return _apply("ApplyRMSProp", (var, ms, mom, lr, rho, momentum, epsilon, grad), {"use_locking": use_locking},
                  name)


def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, use_locking=False, name=None):
    """Centered RMSProp: the second moment is centered by the running mean gradient ``mg``."""
    return _apply("ApplyCenteredRMSProp", (var, mg, ms, mom, lr, rho, momentum, epsilon, grad),
                  {"use_locking": use_locking}, name)


def apply_ftrl(var, accum, linear, grad, lr, l1, l2, lr_power, use_locking=False, multiply_linear_by_lr=False,
               name=None):
    """FTRL-Proximal (McMahan et al. 2013)."""
    if multiply_linear_by_lr:
        raise NotImplementedError("apply_ftrl(multiply_linear_by_lr=True) is not supported")
    return _apply("ApplyFtrl", (var, accum, linear, grad, lr, l1, l2, lr_power), {"use_locking": use_locking}, name)


def apply_ftrl_v2(var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power, use_locking=False,
                  multiply_linear_by_lr=False, name=None):
    """FTRL-Proximal with L2 shrinkage on the gradient that feeds ``linear``."""
    if multiply_linear_by_lr:
        raise NotImplementedError("apply_ftrl_v2(multiply_linear_by_lr=True) is not supported")
    return _apply("ApplyFtrlV2", (var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power),
                  {"use_locking": use_locking}, name)
