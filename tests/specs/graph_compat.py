"""Ops of graphs written by TensorFlow (dataflow/ops/graph_compat.py)."""

import numpy as np

from dataflow.framework.graph import make_op
from dataflow.ops.graph_compat import broadcast_gradient_args
from opspec import OpSpec

SPECS = [
    OpSpec("broadcast_gradient_args", lambda a, b: make_op("BroadcastGradientArgs", [a, b]).outputs,
           lambda a, b: list(broadcast_gradient_args(a, b)),
           lambda rng: [np.array([2, 1, 4], np.int32), np.array([3, 1], np.int32)], grad=False),
]
