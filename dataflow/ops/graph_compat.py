"""Ops that exist so that graphs written by TensorFlow import and run (``tf.train.import_meta_graph``).

TensorFlow's own gradient code emits a few ops that our gradient engine never needs (it un-broadcasts
once, centrally: ``SumToShape``). A GraphDef written by TensorFlow contains them, so they are here.

``BroadcastGradientArgs(s0, s1)`` returns, for two shapes that broadcast against each other, the
axes of the broadcast result that each input's gradient must be summed over (TF's ``r0``, ``r1``).
"""

from __future__ import annotations

import numpy as np

from ..framework.errors import InvalidArgumentError
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape


def broadcast_gradient_args(s0, s1) -> tuple[np.ndarray, np.ndarray]:
    """The reduction axes of two broadcast input shapes (TF's ``BroadcastGradientArgs``)."""
    s0, s1 = [int(d) for d in np.asarray(s0).ravel()], [int(d) for d in np.asarray(s1).ravel()]
    if s0 == s1:  # TF's fast path: nothing to reduce (even for axes of size 1)
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    n = max(len(s0), len(s1))
    a, b = [1] * (n - len(s0)) + s0, [1] * (n - len(s1)) + s1
    r0, r1 = [], []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise InvalidArgumentError(None, None, f"Incompatible shapes: [{','.join(map(str, s0))}] vs. "
                                                   f"[{','.join(map(str, s1))}]")
        if x == 1:  # an axis of size 1 in both is reduced in both, as TF does
            r0.append(i)
        if y == 1:
            r1.append(i)
    return np.array(r0, np.int32), np.array(r1, np.int32)


def _bga_infer(op):
    dt = op.inputs[0].dtype
    return [(dt, TensorShape([None])), (dt, TensorShape([None]))]


def _bga_kernel(xp, s0, s1):
    r0, r1 = broadcast_gradient_args(s0, s1)
    dt = np.asarray(s0).dtype
    return r0.astype(dt), r1.astype(dt)


register(OpDef("BroadcastGradientArgs", _bga_infer, _bga_kernel, differentiable=False))


# ---- TF ops that are composites here -----------------------------------------------------------------
# TF op type -> fn(inputs, attrs) -> output tensors, built from our ops. The importer names the result
# after the node (an Identity, or IdentityN for several outputs), so "node:0" still resolves.
def _bias_add(inputs, attrs):
    if attrs.get("data_format", "NHWC") not in ("NHWC", "N...C"):
        raise ValueError("BiasAdd with data_format NCHW does not import")
    return [inputs[0] + inputs[1]]


def _bias_add_grad(inputs, attrs):
    from .reduction import reduce_sum

    g = inputs[0]
    if attrs.get("data_format", "NHWC") not in ("NHWC", "N...C") or g.shape.ndims is None:
        raise ValueError("BiasAddGrad needs data_format NHWC and a gradient of known rank")
    return [reduce_sum(g, axis=list(range(g.shape.ndims - 1)))]


def _shape_n(inputs, attrs):
    from ..framework import dtypes
    from .array import shape

    return [shape(x, out_type=attrs.get("out_type") or dtypes.int32) for x in inputs]


def _softmax(inputs, attrs, log=False):
    from .nn_ops import log_softmax, softmax

    return [(log_softmax if log else softmax)(inputs[0])]


def _clip(inputs, attrs):
    from .math import maximum, minimum

    return [minimum(maximum(inputs[0], inputs[1]), inputs[2])]


def _l2_loss(inputs, attrs):
    from .reduction import reduce_sum

    return [reduce_sum(inputs[0] * inputs[0]) / 2.0]


def _identity(inputs, attrs):
    from .array import identity

    return [identity(inputs[0])]


COMPOSITES = {
    "BiasAdd": _bias_add, "BiasAddV1": _bias_add, "BiasAddGrad": _bias_add_grad, "ShapeN": _shape_n,
    "Softmax": _softmax, "LogSoftmax": lambda i, a: _softmax(i, a, log=True), "ClipByValue": _clip,
    "L2Loss": _l2_loss, "PreventGradient": _identity, "Snapshot": _identity,
    # y = f(x) gradients, given (y, dy): TF's *Grad ops of tanh, sigmoid, rsqrt, sqrt, reciprocal
    "TanhGrad": lambda i, a: [i[1] * (1.0 - i[0] * i[0])],
    "SigmoidGrad": lambda i, a: [i[1] * i[0] * (1.0 - i[0])],
    "RsqrtGrad": lambda i, a: [i[1] * -0.5 * i[0] * i[0] * i[0]],
    "SqrtGrad": lambda i, a: [i[1] * 0.5 / i[0]],
    "ReciprocalGrad": lambda i, a: [-i[1] * i[0] * i[0]],
}
