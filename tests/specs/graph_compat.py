"""Ops added for the TF1 surface gaps: BroadcastGradientArgs (graphs written by TensorFlow), SparseReorder
(SparseFeature), DecodeJpeg/EncodeJpeg (round trips here; against TensorFlow in tests/test_gaps_sparse_jpeg.py)."""

import numpy as np

import dataflow as tf
from dataflow.framework.graph import make_op
from dataflow.ops.graph_compat import broadcast_gradient_args
from opspec import OpSpec


def _reorder_ref(indices, values, shape):
    order = np.lexsort(indices.T[::-1])
    return [indices[order], values[order]]


SPECS = [
    OpSpec("broadcast_gradient_args", lambda a, b: make_op("BroadcastGradientArgs", [a, b]).outputs,
           lambda a, b: list(broadcast_gradient_args(a, b)),
           lambda rng: [np.array([2, 1, 4], np.int32), np.array([3, 1], np.int32)], grad=False),
    OpSpec("sparse_reorder", lambda i, v, s: make_op("SparseReorder", [i, v, s]).outputs, _reorder_ref,
           lambda rng: [np.array([[2, 1], [0, 3], [2, 0], [0, 1]], np.int64), rng.standard_normal(4).astype(np.float32),
                        np.array([3, 4], np.int64)], grad=False),
    # a flat color and a gray ramp at quality 100 survive JPEG exactly
    OpSpec("jpeg_round_trip_rgb", lambda i: tf.image.decode_jpeg(tf.image.encode_jpeg(i)), lambda i: i,
           lambda rng: [np.full((8, 16, 3), [200, 100, 50], np.uint8)], grad=False),
    OpSpec("jpeg_round_trip_gray", lambda i: tf.io.decode_jpeg(tf.io.encode_jpeg(i, quality=100)), lambda i: i,
           lambda rng: [(np.arange(64).reshape(8, 8, 1) * 4).astype(np.uint8)], grad=False),
]
