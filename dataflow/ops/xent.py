"""TF's fused softmax cross-entropy ops, for 2-D logits ``[batch, classes]``.

``SoftmaxCrossEntropyWithLogits(features, labels) -> (loss, backprop)`` and
``SparseSoftmaxCrossEntropyWithLogits(features, labels) -> (loss, backprop)`` as TF's kernels: one
pass computes the stable log-softmax, the per-example loss and ``backprop = softmax - labels`` (for
sparse labels, ``softmax - one_hot(labels)``), so the gradient is ``grad_loss[:, None] * backprop``
with no further ops. Composed from primitives the same loss and its gradient take about 40 small
ops (max, shifts, sums, broadcasts and their gradients), which on a small model costs more than the
arithmetic.

Gradients of any order: ``backprop`` is an output of the op, so a gradient flowing into it
(``grad_grad``, from a second derivative) is passed on as TF does, through the softmax's Jacobian:
``(grad_grad - sum(grad_grad * softmax)) * softmax`` for the logits, and (for dense labels) minus
``grad_grad`` for the labels (TF drops that term; it is the derivative of ``-labels`` in backprop).

``nn_ops`` uses these ops for rank-2 logits whose labels have the logits' shape; other ranks, axes
and broadcasting labels go through the composed form there.
"""

from __future__ import annotations

from ..framework.graph import Tensor, make_op
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from .array import expand_dims
from .reduction import reduce_sum


def _pair_infer(op):
    features, labels = op.inputs
    if not features.dtype.is_floating:
        raise TypeError(f"{op.type}: features must be floating point, got {features.dtype.name}")
    shape = features.shape.with_rank(2) if features.shape.ndims is not None else TensorShape([None, None])
    return [(features.dtype, TensorShape(shape.as_list()[:1])), (features.dtype, shape)]


def _xent_infer(op):
    features, labels = op.inputs
    if labels.dtype is not features.dtype:
        raise TypeError(f"{op.type}: labels ({labels.dtype.name}) and features ({features.dtype.name}) differ")
    if not features.shape.is_compatible_with(labels.shape):
        raise ValueError(f"logits and labels must be broadcastable: logits_size={features.shape} "
                         f"labels_size={labels.shape}")
    loss, backprop = _pair_infer(op)
    shape = backprop[1].merge_with(labels.shape)
    return [(loss[0], TensorShape(shape.as_list()[:1])), (backprop[0], shape)]


def _sparse_xent_infer(op):
    features, labels = op.inputs
    if not labels.dtype.is_integer:
        raise TypeError(f"{op.type}: labels must be int32 or int64, got {labels.dtype.name}")
    return _pair_infer(op)


def _log_softmax_rows(xp, features):
    """``(log_softmax, exp(shifted), row sums of exp(shifted))`` of ``[batch, classes]``, stably."""
    z = features - features.max(axis=1, keepdims=True)
    e = xp.exp(z)
    s = e.sum(axis=1, keepdims=True)
    z -= xp.log(s)
    return z, e, s


def _xent_kernel(xp, features, labels):
    if features.shape != labels.shape:
        raise ValueError(f"logits and labels must be broadcastable: logits_size={list(features.shape)} "
                         f"labels_size={list(labels.shape)}")
    if features.shape[1] == 0:
        return xp.zeros(features.shape[0], features.dtype), xp.zeros_like(features)
    log_sm, e, s = _log_softmax_rows(xp, features)
    loss = -(labels * log_sm).sum(axis=1)
    e /= s
    e -= labels
    return loss, e


def check_label_range(xp, labels, n: int):
    """Raise TF's error when a label is outside [0, n) (TF's CPU kernel checks; a silent pick would not)."""
    bad = (labels < 0) | (labels >= n)
    if bad.any():
        flat = labels.reshape(-1)
        first = int(flat[int(xp.argmax(bad.reshape(-1)))])
        shown = " ".join(str(int(v)) for v in flat)  # all of them, as TF
        raise ValueError(f"Received a label value of {first} which is outside the valid range of [0, {n}).  "
                         f"Label values: {shown}")


def _sparse_xent_kernel(xp, features, labels):
    b, n = features.shape
    if labels.shape != (b,):
        raise ValueError(f"logits and labels must have the same first dimension, got logits shape "
                         f"{list(features.shape)} and labels shape {list(labels.shape)}")
    check_label_range(xp, labels, n)
    log_sm, e, s = _log_softmax_rows(xp, features)
    rows = xp.arange(b)
    # NOTE: the label's log-probability is picked by index, not a product with a one-hot, so that a
    # -inf logit elsewhere does not turn into 0 * -inf = NaN
    loss = -log_sm[rows, labels]
    e /= s
    e[rows, labels] -= 1
    return loss, e


def _is_zeros(t: Tensor) -> bool:
    return t.op.type == "ZerosLike"  # what the gradient engine passes for an output with no gradient


def _through_softmax(op, grad, grad_grad):
    """``grad`` plus ``grad_grad`` carried back through backprop's softmax (second derivatives)."""
    if _is_zeros(grad_grad):
        return grad
    from .nn_ops import softmax

    sm = softmax(op.inputs[0])
    return grad + (grad_grad - reduce_sum(grad_grad * sm, -1, keepdims=True)) * sm


def _xent_grad(op, grad_loss, grad_grad):
    from .nn_ops import log_softmax

    g = expand_dims(grad_loss, -1)
    labels_grad = g * -log_softmax(op.inputs[0])
    if not _is_zeros(grad_grad):
        labels_grad = labels_grad - grad_grad
    return [_through_softmax(op, g * op.outputs[1], grad_grad), labels_grad]


def _sparse_xent_grad(op, grad_loss, grad_grad):
    return [_through_softmax(op, expand_dims(grad_loss, -1) * op.outputs[1], grad_grad), None]


register(OpDef("SoftmaxCrossEntropyWithLogits", _xent_infer, _xent_kernel, grad=_xent_grad))
register(OpDef("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent_infer, _sparse_xent_kernel,
               grad=_sparse_xent_grad))


def fused_xent(logits: Tensor, labels: Tensor, name) -> Tensor:
    """The per-example loss of ``SoftmaxCrossEntropyWithLogits`` (rank-2 logits, labels of their shape)."""
    return make_op("SoftmaxCrossEntropyWithLogits", [logits, labels], name=name).outputs[0]


def fused_sparse_xent(logits: Tensor, labels: Tensor, name) -> Tensor:
    """The per-example loss of ``SparseSoftmaxCrossEntropyWithLogits`` (rank-2 logits, rank-1 labels)."""
    return make_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], name=name).outputs[0]

