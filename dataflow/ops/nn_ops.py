"""``tf.nn`` without convolution and pooling: activations, softmax and cross-entropies, normalization,
dropout, embedding lookup, top-k.

Almost all of it is composed from primitives (elementwise math, reductions, select), so kernels and
gradient rules are the primitives' own and higher-order gradients come free. Two primitives live here:
``TopKV2``, because sorting is not expressible with the others, and ``CheckLabelRange``, the run-time
check of sparse labels that TF's fused cross-entropy kernel makes.

Where TensorFlow's registered gradient differs from the naive composite's -- relu6 and leaky_relu at
their kinks, softmax cross-entropy (TF's gradient is ``softmax - labels`` even when the labels do not
sum to one), the batch statistics returned by ``fused_batch_norm`` (TF passes no gradient through them)
-- the composite is written so that its gradient is TF's; a ``# NOTE:`` says how.
"""

from __future__ import annotations

import collections
import numbers

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from .array import expand_dims, identity, ones_like, reshape, size, squeeze, stop_gradient, zeros_like
from .common import constant_value, normalize_axis, shape_of, static_axis
from .constant import constant
from .indexing import concat, gather, unsorted_segment_sum, unstack
from .indexing import range as range_
from .linalg import matmul
from .math import (
    abs, add, cast, equal, exp, expm1, greater, greater_equal, is_finite, less, log, log1p, logical_and, maximum,
    minimum, multiply, relu, rsqrt, sigmoid, sqrt, square, squared_difference, tanh, where_v2)
from .random import random_uniform
from .reduction import reduce_max, reduce_mean, reduce_prod, reduce_sum
from .xent import check_label_range, fused_sparse_xent, fused_xent

__all__ = [
    "relu", "relu6", "elu", "selu", "leaky_relu", "softplus", "softsign", "sigmoid", "tanh", "swish",
    "softmax", "log_softmax", "reduce_logsumexp", "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2", "sparse_softmax_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits", "weighted_cross_entropy_with_logits", "l2_loss", "l2_normalize",
    "bias_add", "xw_plus_b", "relu_layer", "moments", "batch_normalization", "fused_batch_norm", "dropout",
    "batch_norm_with_global_normalization",
    "embedding_lookup", "top_k", "in_top_k", "zero_fraction",
]


def _axis(axis, x: Tensor, default=-1) -> int:
    """A single static axis, normalized when the rank is known."""
    axis = static_axis(default if axis is None else axis)
    if not isinstance(axis, int):
        raise ValueError(f"Expected a single axis, got {axis}")
    if x.shape.ndims is not None:
        axis = normalize_axis(axis, x.shape.ndims)[0]
    return axis


def _floating(x, param: str = "features") -> Tensor:
    """``x`` as a tensor, which must be floating point (TF's float-only ops)."""
    x = convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise TypeError(f"Value passed to parameter '{param}' has DataType {x.dtype.name} not in list of "
                        "allowed values: float16, float32, float64")
    return x


def _iota_last(x: Tensor, dtype) -> Tensor:
    """0, 1, ..., n-1 along ``x``'s last axis (n its last dimension), broadcastable against ``x``."""
    dtype = dtypes.as_dtype(dtype)
    n = x.shape[-1].value if x.shape.ndims else None
    if n is not None:
        return constant(np.arange(n, dtype=dtype.as_numpy_dtype))
    return range_(shape_of(x, dtype)[-1])


def _one_hot_mask(labels: Tensor, logits: Tensor) -> Tensor:
    """bool ``[..., n]``: True where the last index equals ``labels[...]``."""
    return equal(expand_dims(labels, -1), _iota_last(logits, labels.dtype))


# ---- activations ---------------------------------------------------------------------------
def relu6(features, name=None) -> Tensor:
    """``min(max(features, 0), 6)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.nn.relu6([-1.0, 3.0, 8.0]))
    array([0., 3., 6.], dtype=float32)
    """
    with name_scope(name, "Relu6", [features]) as scope:
        x = convert_to_tensor(features)
        # NOTE: a select rather than minimum(relu(x), 6): TF's Relu6Grad passes the gradient only
        # where 0 < x < 6, so it is 0 at both kinks (minimum would pass it at x == 6).
        return where_v2(less(x, 6), relu(x), 6, name=scope)


def elu(features, name=None) -> Tensor:
    """``features`` where positive, else ``exp(features) - 1``."""
    with name_scope(name, "Elu", [features]) as scope:
        x = _floating(features)
        # NOTE: expm1 of min(x, 0): the branch not taken must stay finite, or its zero gradient times
        # exp(large x) would be NaN.
        return where_v2(greater(x, 0), x, expm1(minimum(x, 0)), name=scope)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None) -> Tensor:
    """Scaled ELU: ``scale * (x if x > 0 else alpha * (exp(x) - 1))`` (Klambauer et al., 2017)."""
    with name_scope(name, "Selu", [features]) as scope:
        x = _floating(features)
        neg = expm1(minimum(x, 0)) * _SELU_ALPHA  # NOTE: min(x, 0) as in elu
        # NOTE: x >= 0 picks the linear piece at 0, whose slope (scale) is TF's SeluGrad there.
        return multiply(where_v2(greater_equal(x, 0), x, neg), _SELU_SCALE, name=scope)


def leaky_relu(features, alpha=0.2, name=None) -> Tensor:
    """``features`` where positive, else ``alpha * features``; integers are cast to float32."""
    with name_scope(name, "LeakyRelu", [features, alpha]) as scope:
        x = convert_to_tensor(features)
        if x.dtype.is_integer:
            x = cast(x, dtypes.float32)
        # NOTE: a select (TF's LeakyRelu kernel), not maximum(alpha * x, x), which is wrong for alpha > 1;
        # the gradient at 0 is alpha, as TF's.
        return where_v2(greater(x, 0), x, x * alpha, name=scope)


def softplus(features, name=None) -> Tensor:
    """``log(exp(features) + 1)``, computed without overflow."""
    with name_scope(name, "Softplus", [features]) as scope:
        x = _floating(features)
        # NOTE: max(x, 0) + log1p(exp(-|x|)) never overflows. Both pieces are selects on x >= 0 so
        # that the gradient at 0 is 1 - 1/2 = sigmoid(0), as TF's SoftplusGrad (abs' would give 0).
        nonneg = greater_equal(x, 0)
        zeros = zeros_like(x)
        return add(where_v2(nonneg, x, zeros), log1p(exp(where_v2(nonneg, -x, x))), name=scope)


def softsign(features, name=None) -> Tensor:
    """``features / (abs(features) + 1)``."""
    with name_scope(name, "Softsign", [features]) as scope:
        x = _floating(features)
        return multiply(x, 1 / (abs(x) + 1), name=scope)


def swish(features, name=None) -> Tensor:
    """``features * sigmoid(features)`` (SiLU)."""
    with name_scope(name, "swish", [features]) as scope:
        x = convert_to_tensor(features)
        return multiply(x, sigmoid(x), name=scope)


# ---- softmax and log-sum-exp ---------------------------------------------------------------
def _shifted(logits: Tensor, axis: int) -> Tensor:
    # NOTE: subtracting the max keeps exp from overflowing; the result does not depend on the shift, so
    # no gradient flows through it (stop_gradient also saves the max's gradient in the backward pass).
    return logits - stop_gradient(reduce_max(logits, axis, keepdims=True))


def softmax(logits, axis=None, name=None, dim=None) -> Tensor:
    """``exp(logits) / reduce_sum(exp(logits), axis)``, along ``axis`` (default -1; ``dim`` is TF1's name).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.nn.softmax([[0.0, 0.0], [0.0, 1000.0]]))
    array([[0.5, 0.5],
           [0. , 1. ]], dtype=float32)
    """
    with name_scope(name, "Softmax", [logits]) as scope:
        x = _floating(logits, "logits")
        axis = _axis(dim if axis is None else axis, x)
        e = exp(_shifted(x, axis))
        return multiply(e, 1 / reduce_sum(e, axis, keepdims=True), name=scope)


def log_softmax(logits, axis=None, name=None, dim=None) -> Tensor:
    """``logits - log(reduce_sum(exp(logits), axis))``, computed stably."""
    with name_scope(name, "LogSoftmax", [logits]) as scope:
        x = _floating(logits, "logits")
        axis = _axis(dim if axis is None else axis, x)
        s = _shifted(x, axis)
        return add(s, -log(reduce_sum(exp(s), axis, keepdims=True)), name=scope)


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None) -> Tensor:
    """``log(reduce_sum(exp(input_tensor), axis))`` without overflow.

    Examples
    --------
    >>> import dataflow as tf
    >>> float(tf.Session().run(tf.reduce_logsumexp([1000.0, 1000.0])))
    1000.6931...
    """
    x = convert_to_tensor(input_tensor)
    keepdims = bool(keep_dims if keepdims is None and keep_dims is not None else keepdims or False)
    axis = static_axis(reduction_indices if axis is None else axis)
    with name_scope(name, "ReduceLogSumExp", [x]) as scope:
        raw_max = reduce_max(x, axis, keepdims=True)
        # NOTE: as TF, an infinite max is replaced by 0 so that inf - inf does not make a NaN.
        my_max = stop_gradient(where_v2(is_finite(raw_max), raw_max, zeros_like(raw_max)))
        lse = log(reduce_sum(exp(x - my_max), axis, keepdims=keepdims))
        if not keepdims:
            my_max = reduce_sum(my_max, axis)  # drops the kept size-1 axes
        return add(lse, my_max, name=scope)


# ---- cross-entropies -----------------------------------------------------------------------
def _check_named(fn_name, sentinel, labels, logits):
    if sentinel is not None:
        raise ValueError(f"Only call `{fn_name}` with named arguments (labels=..., logits=..., ...)")
    if labels is None or logits is None:
        raise ValueError("Both labels and logits must be provided.")


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None) -> Tensor:
    """``-reduce_sum(labels * log_softmax(logits), axis)``; gradients flow into labels and logits.

    The gradient with respect to ``logits`` is TF's ``softmax(logits) - labels`` (which is the true
    derivative only when each row of labels sums to one).
    """
    with name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = _floating(logits, "logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype)
        axis = _axis(dim if axis is None else axis, logits)
        lr, gr = labels.shape.ndims, logits.shape.ndims
        if lr is not None and gr is not None and lr != gr and axis == gr - 1:
            return _xent_as_matrices(labels, logits, scope)
        if logits.shape.ndims == 2 and axis == 1 and labels.shape.ndims == 2 and \
                labels.shape.is_compatible_with(logits.shape) and labels.shape[0].value != 1:
            return fused_xent(logits, labels, scope)  # TF's fused op: the common case, in one op
        s = _shifted(logits, axis)
        lse = log(reduce_sum(exp(s), axis, keepdims=True))
        # NOTE: lse enters the labels term held constant, and once more as (lse - stop_gradient(lse)),
        # which is 0 but has gradient softmax: d/dlogits is then softmax - labels (TF's kernel), not
        # softmax * sum(labels) - labels; d/dlabels is lse - s = -log_softmax, as TF.
        lse_c = stop_gradient(lse)
        return add(reduce_sum(labels * (lse_c - s), axis), squeeze(lse - lse_c, [axis]), name=scope)


def _xent_as_matrices(labels: Tensor, logits: Tensor, scope: str) -> Tensor:
    """TF's route when labels and logits differ in rank: both flattened to ``[rows, classes]`` matrices
    (rows broadcast, as TF's kernel: labels ``[1, N, C]`` against logits ``[N, C]``), the cost reshaped to
    ``logits.shape[:-1]``."""
    classes = logits.shape[-1].value if logits.shape[-1].value is not None else labels.shape[-1].value
    if classes is None:
        classes = shape_of(logits)[-1]
    lab2 = reshape(labels, concat([[-1], [classes]], 0) if isinstance(classes, Tensor) else [-1, classes])
    log2 = reshape(logits, concat([[-1], [classes]], 0) if isinstance(classes, Tensor) else [-1, classes])
    cost = softmax_cross_entropy_with_logits_v2(lab2, log2, axis=1)
    out = logits.shape.as_list()[:-1]
    if all(d is not None for d in out):
        cost = reshape(cost, out, name=scope)
    else:
        from .indexing import strided_slice

        cost = reshape(cost, strided_slice(shape_of(logits), [0], [-1], [1]), name=scope)
        cost.set_shape(out)
    return cost


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None,
                                      axis=None) -> Tensor:
    """TF1's softmax cross-entropy: as the ``_v2`` but no gradient flows into ``labels``."""
    _check_named("softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    with name_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        labels = stop_gradient(labels, name="labels_stop_gradient")
    return softmax_cross_entropy_with_logits_v2(labels, logits, axis=dim if axis is None else axis, name=scope)


def _check_label_range_infer(op):
    labels = op.inputs[0]
    return [(labels.dtype, labels.shape)]


def _check_label_range_kernel(xp, labels, logits):
    check_label_range(xp, labels, logits.shape[-1])
    return labels


# ``labels``, passed through once every label is in [0, logits.shape[-1]) (else InvalidArgumentError).
register(OpDef("CheckLabelRange", _check_label_range_infer, _check_label_range_kernel, differentiable=False,
               view=True))


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None) -> Tensor:
    """Softmax cross-entropy with integer class ``labels`` of shape ``logits.shape[:-1]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0], logits=[[0.0, 0.0]])
    >>> tf.Session().run(loss)
    array([0.6931472], dtype=float32)
    """
    _check_named("sparse_softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    with name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]) as scope:
        logits = _floating(logits, "logits")
        labels = convert_to_tensor(labels)
        if not labels.dtype.is_integer:
            raise TypeError(f"labels must be int32 or int64, got {labels.dtype.name}")
        ls, gs = labels.shape, logits.shape
        if ls.ndims is not None and gs.ndims is not None:
            if ls.ndims != gs.ndims - 1 or not ls.is_compatible_with(gs[:-1]):
                raise ValueError(f"Rank mismatch: Rank of labels (received {ls.ndims}) should equal rank of "
                                 f"logits minus 1 (received {gs.ndims}); shapes {ls} and {gs}.")
        if gs.ndims == 2:
            return fused_sparse_xent(logits, labels, scope)  # TF's fused op
        # NOTE: an out-of-range label is an error when the graph runs, as TF's CPU kernel (a select alone
        # would give a loss of logsumexp and a gradient of softmax, silently).
        labels = make_op("CheckLabelRange", [labels, logits], name="CheckLabelRange").outputs[0]
        s = _shifted(logits, -1 if gs.ndims is None else gs.ndims - 1)
        lse = log(reduce_sum(exp(s), -1))
        # NOTE: the label's logit is picked with a select, not a product with a one-hot, so that a
        # -inf logit elsewhere does not turn into 0 * -inf = NaN. Gradient: softmax - one_hot (TF's).
        picked = reduce_sum(where_v2(_one_hot_mask(labels, logits), s, zeros_like(s)), -1)
        return add(lse, -picked, name=scope)


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None) -> Tensor:
    """``labels * -log(sigmoid(logits)) + (1 - labels) * -log(1 - sigmoid(logits))``, computed stably."""
    _check_named("sigmoid_cross_entropy_with_logits", _sentinel, labels, logits)
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits = _floating(logits, "logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype)
        if not labels.shape.is_compatible_with(logits.shape):
            raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs {labels.shape})")
        # NOTE: TF's formula max(x, 0) - x * z + log(1 + exp(-|x|)): no overflow for any x. Both x-dependent
        # pieces select on x >= 0 (as TF does) so the gradient at 0 is TF's.
        zeros = zeros_like(logits)
        cond = greater_equal(logits, zeros)
        relu_logits = where_v2(cond, logits, zeros)
        neg_abs_logits = where_v2(cond, -logits, logits)
        return add(relu_logits - logits * labels, log1p(exp(neg_abs_logits)), name=scope)


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None,
                                       targets=None) -> Tensor:
    """Sigmoid cross-entropy with the positive term weighted by ``pos_weight`` (``targets``: TF1's name)."""
    labels = targets if labels is None else labels
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("labels (or targets), logits and pos_weight must be provided.")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits = _floating(logits, "logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype)
        if not labels.shape.is_compatible_with(logits.shape):
            raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs {labels.shape})")
        # NOTE: (1 - z) * x + l * (log(1 + exp(-|x|)) + max(-x, 0)), l = 1 + (q - 1) * z: TF's stable form.
        log_weight = 1 + (convert_to_tensor(pos_weight, dtype=logits.dtype) - 1) * labels
        return add((1 - labels) * logits, log_weight * (log1p(exp(-abs(logits))) + relu(-logits)), name=scope)


# ---- losses and normalization --------------------------------------------------------------
def l2_loss(t, name=None) -> Tensor:
    """``sum(t ** 2) / 2``."""
    with name_scope(name, "L2Loss", [t]) as scope:
        t = convert_to_tensor(t)
        return multiply(reduce_sum(square(t)), 0.5, name=scope)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None) -> Tensor:
    """``x / sqrt(max(sum(x ** 2, axis), epsilon))``."""
    with name_scope(name, "l2_normalize", [x]) as scope:
        x = convert_to_tensor(x)
        axis = static_axis(dim if axis is None else axis)
        square_sum = reduce_sum(square(x), axis, keepdims=True)
        return multiply(x, rsqrt(maximum(square_sum, epsilon)), name=scope)


def zero_fraction(value, name=None) -> Tensor:
    """The fraction of zeros in ``value`` (float32 scalar)."""
    with name_scope(name, "zero_fraction", [value]) as scope:
        value = convert_to_tensor(value)
        return reduce_mean(cast(equal(value, zeros_like(value)), dtypes.float32), name=scope)


def _channel_axis(data_format, ndims) -> int:
    if data_format is None or not str(data_format).startswith("NC"):
        return -1 if ndims is None else ndims - 1
    return 1


def bias_add(value, bias, data_format=None, name=None) -> Tensor:
    """``value + bias`` with the 1-D ``bias`` along the channel axis (last, or 1 for ``NC...`` formats)."""
    with name_scope(name, "BiasAdd", [value, bias]) as scope:
        value = convert_to_tensor(value)
        bias = convert_to_tensor(bias, dtype=value.dtype)
        if bias.shape.ndims is not None and bias.shape.ndims != 1:
            raise ValueError(f"Shape must be rank 1 but is rank {bias.shape.ndims} for bias_add's bias")
        nd = value.shape.ndims
        if nd is not None and nd < 2:
            raise ValueError(f"Shape must be at least rank 2 but is rank {nd} for bias_add's value")
        axis = _channel_axis(data_format, nd)
        if nd is not None and not value.shape[axis].is_compatible_with(bias.shape[0]):
            raise ValueError(f"Dimensions must be equal, but are {value.shape[axis]} and {bias.shape[0]} "
                             f"for bias_add with shapes {value.shape} and {bias.shape}")
        if axis == 1 and nd != 2:
            if nd is None:
                raise ValueError("bias_add with an NC... data_format needs the value's rank")
            bias = reshape(bias, [-1] + [1] * (nd - 2))
        return add(value, bias, name=scope)


def xw_plus_b(x, weights, biases, name=None) -> Tensor:
    """``matmul(x, weights) + biases``."""
    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        return bias_add(matmul(x, weights), biases, name=scope)


def relu_layer(x, weights, biases, name=None) -> Tensor:
    """``relu(matmul(x, weights) + biases)``."""
    with name_scope(name, "relu_layer", [x, weights, biases]) as scope:
        return relu(bias_add(matmul(x, weights), biases), name=scope)


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """Mean and (biased) variance of ``x`` over ``axes``; returns ``(mean, variance)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> mean, variance = tf.Session().run(tf.nn.moments(tf.constant([1.0, 2.0, 3.0, 4.0]), axes=[0]))
    >>> float(mean), float(variance)
    (2.5, 1.25)
    """
    keep = bool(keep_dims if keepdims is None and keep_dims is not None else keepdims or False)
    with name_scope(name, "moments", [x]):
        x = convert_to_tensor(x)
        y = cast(x, dtypes.float32) if x.dtype is dtypes.float16 else x
        axes = static_axis(axes)
        mean = reduce_mean(y, axes, keepdims=True, name="mean")
        # NOTE: as TF, the variance's gradient does not flow through the mean: that part sums to zero in
        # the first derivative (but second derivatives then treat the mean as a constant, as TF's do).
        variance = reduce_mean(squared_difference(y, stop_gradient(mean)), axes, keepdims=True, name="variance")
        if not keep:
            mean = reduce_sum(mean, axes, name="Squeeze")  # drops the size-1 axes
            variance = reduce_sum(variance, axes, name="Squeeze_1")
        if x.dtype is dtypes.float16:
            return cast(mean, dtypes.float16), cast(variance, dtypes.float16)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None) -> Tensor:
    """``(x - mean) / sqrt(variance + variance_epsilon) * scale + offset`` (``offset``/``scale`` may be None)."""
    with name_scope(name, "batchnorm", [x, mean, variance, scale, offset]) as scope:
        x = convert_to_tensor(x)
        inv = rsqrt(convert_to_tensor(variance) + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = offset - mean * inv if offset is not None else -mean * inv
        return add(x * cast(inv, x.dtype), cast(shift, x.dtype), name=scope)


def batch_norm_with_global_normalization(t=None, m=None, v=None, beta=None, gamma=None, variance_epsilon=None,
                                         scale_after_normalization=None, name=None, input=None, mean=None,
                                         variance=None) -> Tensor:
    """TF1's ``tf.nn.batch_norm_with_global_normalization``: :func:`batch_normalization` over the last axis
    with ``gamma`` applied only when ``scale_after_normalization``."""
    t = input if t is None else t
    m = mean if m is None else m
    v = variance if v is None else v
    return batch_normalization(t, m, v, beta, gamma if scale_after_normalization else None, variance_epsilon,
                               name=name or "batchnorm")


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """Batch normalization over all axes but the channel one; returns ``(y, mean, variance)``.

    Training: ``y`` uses the batch mean and biased variance; the returned variance is Bessel-corrected
    (``n / (n - 1)``, as TF's kernel), and with ``exponential_avg_factor`` f < 1 the returned statistics
    are ``(1 - f) * given + f * batch``. Inference: ``y`` uses the given ``mean`` and ``variance``,
    which are returned as they are. As TF, no gradient flows through the returned statistics, nor
    (in inference) into ``mean`` and ``variance``.
    """
    with name_scope(name, "FusedBatchNorm", [x, scale, offset]) as scope:
        x = convert_to_tensor(x)
        nd = x.shape.ndims if x.shape.ndims is not None else len(data_format)
        if nd not in (4, 5):
            raise ValueError(f"fused_batch_norm expects a rank 4 or 5 input, got shape {x.shape}")
        axis = _channel_axis(data_format, nd)
        axes = [a for a in range(nd) if a != axis]
        epsilon = max(float(epsilon), 1.001e-5)  # NOTE: TF's kernels need epsilon > 1e-5
        xf = cast(x, dtypes.float32) if x.dtype is dtypes.float16 else x
        scale = convert_to_tensor(scale, dtype=xf.dtype)
        offset = convert_to_tensor(offset, dtype=xf.dtype)

        def per_channel(v):
            return v if axis == nd - 1 else reshape(v, [-1] + [1] * (nd - 2))

        if is_training:
            # NOTE: not moments(): its stop_gradient would make second derivatives wrong (TF's fused op
            # has an exact gradient of its gradient).
            mean_k = reduce_mean(xf, axes, keepdims=True)
            var_k = reduce_mean(squared_difference(xf, mean_k), axes, keepdims=True)
            batch_mean, batch_var = reshape(mean_k, [-1]), reshape(var_k, [-1])
            y = batch_normalization(xf, mean_k, var_k, per_channel(offset), per_channel(scale), epsilon)
            count = _count_per_channel(xf, batch_mean)
            out_mean = batch_mean
            out_var = batch_var * (count / maximum(count - 1, 1))
            f = exponential_avg_factor
            if not (isinstance(f, numbers.Real) and f == 1.0):
                out_mean = (1 - f) * convert_to_tensor(mean, dtype=xf.dtype) + f * out_mean
                out_var = (1 - f) * convert_to_tensor(variance, dtype=xf.dtype) + f * out_var
        else:
            if mean is None or variance is None:
                raise ValueError("fused_batch_norm needs mean and variance when is_training is False")
            out_mean = stop_gradient(convert_to_tensor(mean, dtype=xf.dtype))
            out_var = stop_gradient(convert_to_tensor(variance, dtype=xf.dtype))
            y = batch_normalization(xf, per_channel(out_mean), per_channel(out_var), per_channel(offset),
                                    per_channel(scale), epsilon)
        if x.dtype is dtypes.float16:
            y = cast(y, dtypes.float16)
        # NOTE: TF's FusedBatchNormGrad ignores the gradients of the returned statistics.
        return (identity(y, name=scope), stop_gradient(out_mean, name="mean"),
                stop_gradient(out_var, name="variance"))


def _count_per_channel(x: Tensor, stat: Tensor) -> Tensor:
    """How many elements of ``x`` each element of the per-channel statistic ``stat`` covers."""
    nx, ns = x.shape.num_elements(), stat.shape.num_elements()
    if nx is not None and ns:
        return constant(np.asarray(nx // ns, x.dtype.as_numpy_dtype))
    return cast(size(x), x.dtype) / cast(size(stat), x.dtype)


# ---- dropout and embeddings ----------------------------------------------------------------
def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None) -> Tensor:
    """Zero each element with probability ``rate`` (= 1 - ``keep_prob``), scale the rest by ``1 / (1 - rate)``.

    ``noise_shape`` (broadcastable to ``x``'s shape; None entries take ``x``'s) draws one decision per
    broadcast block. ``seed`` seeds the draw as for the other random ops.

    Examples
    --------
    >>> import dataflow as tf
    >>> y = tf.nn.dropout(tf.ones([1000]), rate=0.5, seed=1)
    >>> sorted(set(tf.Session().run(y).tolist()))
    [0.0, 2.0]
    """
    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'keep_prob' and 'rate'.")
    if keep_prob is not None:
        if not isinstance(keep_prob, (numbers.Real, Tensor)) and not hasattr(keep_prob, "_as_graph_element"):
            raise ValueError(f"keep_prob must be a floating point number or Tensor (got {keep_prob!r})")
        rate = 1 - keep_prob
    if rate is None:
        raise ValueError("You must provide a rate to dropout.")
    with name_scope(name, "dropout", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise ValueError(f"x has to be a floating point tensor since it's going to be scaled. Got a "
                             f"{x.dtype.name} tensor instead.")
        if isinstance(rate, numbers.Real):
            if not 0 <= rate < 1:
                raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate:g}")
            if rate == 0:
                return x
        rate = convert_to_tensor(rate, dtype=x.dtype, name="rate")
        if not rate.shape.is_compatible_with(TensorShape([])):
            raise ValueError(f"rate must be a scalar, got shape {rate.shape}")
        random_tensor = random_uniform(_noise_shape(x, noise_shape), seed=seed, dtype=x.dtype)
        keep_mask = cast(greater_equal(random_tensor, rate), x.dtype)
        ret = multiply(x * (1 / (1 - rate)), keep_mask, name=scope)
        ret.set_shape(x.shape)
        return ret


def _noise_shape(x: Tensor, noise_shape):
    if noise_shape is None:
        return shape_of(x)
    if isinstance(noise_shape, Tensor):
        return noise_shape
    dims = list(noise_shape.as_list() if isinstance(noise_shape, TensorShape) else noise_shape)
    if any(d is None for d in dims):
        if x.shape.ndims is None or len(dims) != x.shape.ndims:
            raise ValueError(f"noise_shape {dims} with None entries needs x of the same known rank")
        xs = x.shape.as_list()
        dims = [xs[i] if d is None else d for i, d in enumerate(dims)]
        if any(d is None for d in dims):
            dyn = unstack(shape_of(x), num=len(dims))
            dims = [dyn[i] if d is None else d for i, d in enumerate(dims)]
    return dims


def _clip_rows_by_norm(x: Tensor, max_norm, first_axis: int) -> Tensor:
    """Rescale each embedding (the axes from ``first_axis`` on) to L2 norm at most ``max_norm``."""
    axes = list(range(first_axis, x.shape.ndims))
    l2sum = reduce_sum(x * x, axes, keepdims=True)
    pred = greater(l2sum, 0)
    # NOTE: sqrt of a selected 1 where the sum is 0, so the gradient of sqrt at 0 (inf) never enters.
    l2norm = where_v2(pred, sqrt(where_v2(pred, l2sum, ones_like(l2sum))), l2sum)
    return x * max_norm / maximum(l2norm, max_norm)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    """Rows of ``params`` (a tensor, or a list of shards partitioned by ``partition_strategy``) at ``ids``.

    Examples
    --------
    >>> import dataflow as tf
    >>> table = tf.constant([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> tf.Session().run(tf.nn.embedding_lookup(table, [2, 0]))
    array([[4., 5.],
           [0., 1.]], dtype=float32)
    """
    if params is None or (isinstance(params, (list, tuple)) and not params):
        raise ValueError("Need at least one param")
    if hasattr(params, "_get_variable_list"):  # a PartitionedVariable: its parts are the shards (as TF)
        params = params._get_variable_list()
    params = list(params) if isinstance(params, (list, tuple)) else [params]
    with name_scope(name, "embedding_lookup", params + [ids]) as scope:
        params = [convert_to_tensor(p) for p in params]
        ids = convert_to_tensor(ids)
        if len(params) == 1:
            table, rows = params[0], ids
        else:
            table, rows = concat(params, 0), _shard_rows(params, ids, partition_strategy)
        if max_norm is None:
            return gather(table, rows, name=scope)
        out = gather(table, rows)
        first = ids.shape.ndims
        if first is None or out.shape.ndims is None:
            raise ValueError("embedding_lookup with max_norm needs ids and params of known rank")
        return identity(_clip_rows_by_norm(out, max_norm, first), name=scope)


def _shard_rows(params, ids, partition_strategy):
    """Row indices into ``concat(params)`` of each id, for TF's "mod" or "div" sharding."""
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    sizes = [p.shape[0].value for p in params]
    n = len(params)
    if any(s is None for s in sizes):
        if partition_strategy == "div":
            return ids
        raise NotImplementedError("embedding_lookup with 'mod' sharding needs shards of known size")
    total = sum(sizes)
    # TF's layouts: "mod" puts id i in shard i % n, "div" gives consecutive blocks, the first
    # total % n shards one id more. Concatenated, a "div" table's row is the id itself.
    want = ([(total - p + n - 1) // n for p in range(n)] if partition_strategy == "mod" else
            [total // n + (p < total % n) for p in range(n)])
    if sizes != want:
        raise ValueError(f"shard sizes {sizes} do not fit the {partition_strategy!r} partition of {total} ids")
    if partition_strategy == "div":
        return ids
    offsets = np.cumsum([0] + sizes[:-1])
    ids_ = np.arange(total)
    row_of_id = (offsets[ids_ % n] + ids_ // n).astype(ids.dtype.as_numpy_dtype)
    return gather(constant(row_of_id), ids)


# ---- top_k / in_top_k ----------------------------------------------------------------------
def _top_k_infer(op):
    x, k = op.inputs[0], op.attrs["k"]
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None)), (dtypes.int32, TensorShape(None))]
    if x.shape.ndims < 1:
        raise ValueError(f"input must be at least 1-D, got shape {x.shape}")
    n = x.shape[-1].value
    if n is not None and k is not None and n < k:
        raise ValueError(f"input must have at least k columns. Had {n}, needed {k}")
    shape = TensorShape(x.shape.as_list()[:-1] + [k])  # k None: a k computed when the graph runs
    return [(x.dtype, shape), (dtypes.int32, shape)]


def _top_k_kernel(xp, x, k_input=None, *, k, sorted):
    if k_input is not None:
        k = int(k_input)
        if k < 0:
            raise ValueError(f"Need k >= 0, got {k}")
    # NOTE: a stable ascending sort of the reversed row, read backwards, is descending with ties in
    # increasing index order (TF's), for every dtype (negating would wrap unsigned integers).
    n = x.shape[-1]
    if k > n:
        raise ValueError(f"input must have at least k columns. Had {n}, needed {k}")
    order = xp.argsort(xp.flip(x, -1), axis=-1, kind="stable")
    idx = (n - 1) - xp.flip(order, -1)[..., :k]
    return xp.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)


def _top_k_grad(op, g_values, g_indices):
    # The values' gradient goes back to the positions they came from: a segment sum into the flattened
    # input at (row * n + index), as TF's scatter.
    x, idx = op.inputs[0], op.outputs[1]
    in_shape = shape_of(x)
    lead = in_shape[:-1]
    offsets = reshape(range_(reduce_prod(lead)) * in_shape[-1], concat([lead, [1]], 0))
    return [reshape(unsorted_segment_sum(g_values, idx + offsets, size(x)), in_shape)] + [None] * (len(op.inputs) - 1)


register(OpDef("TopKV2", _top_k_infer, _top_k_kernel, grad=_top_k_grad))


_TopK = collections.namedtuple("TopKV2", ["values", "indices"])  # what TF's top_k returns


def top_k(input, k=1, sorted=True, name=None):
    """The ``k`` largest entries of the last axis and their int32 indices, largest first (ties: lower index).

    Examples
    --------
    >>> import dataflow as tf
    >>> values, indices = tf.nn.top_k([1.0, 3.0, 3.0, 2.0], k=2)
    >>> tf.Session().run(indices)
    array([1, 2], dtype=int32)
    """
    x = convert_to_tensor(input)
    if isinstance(k, Tensor) and constant_value(k) is None:  # k computed when the graph runs: an input
        k_in = convert_to_tensor(k, dtype=dtypes.int32)
        return _TopK(*make_op("TopKV2", [x, k_in], {"k": None, "sorted": bool(sorted)}, name or "TopKV2").outputs)
    k = static_axis(k, "k")
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative scalar, got {k}")
    values, indices = make_op("TopKV2", [x], {"k": k, "sorted": bool(sorted)}, name or "TopKV2").outputs
    return _TopK(values, indices)


def in_top_k(predictions, targets, k, name=None) -> Tensor:
    """Whether ``targets[i]`` is among the ``k`` largest of ``predictions[i]`` (ties count as in, as TF;
    a non-finite prediction or an out-of-range target gives False)."""
    with name_scope(name, "in_top_k", [predictions, targets]) as scope:
        predictions = convert_to_tensor(predictions)
        targets = convert_to_tensor(targets)
        if not targets.dtype.is_integer:
            raise TypeError(f"targets must be int32 or int64, got {targets.dtype.name}")
        hit = _one_hot_mask(targets, predictions)
        target_value = reduce_sum(where_v2(hit, predictions, zeros_like(predictions)), -1)
        n_larger = reduce_sum(cast(greater(predictions, expand_dims(target_value, -1)), dtypes.int32), -1)
        valid = logical_and(reduce_sum(cast(hit, dtypes.int32), -1) > 0, is_finite(target_value))
        return logical_and(valid, less(n_larger, k), name=scope)

