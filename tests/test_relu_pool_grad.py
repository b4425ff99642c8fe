"""Relu's gradient through a max-pool is masked at the pooled size (dataflow/ops/math.py _relu_grad):
same values as ReluGrad(MaxPoolGrad(...), z) at full size, for any pooling geometry."""

import numpy as np
import pytest

import dataflow as tf


def _ops(graph, op_type):
    return [op for op in graph.get_operations() if op.type == op_type]


@pytest.mark.parametrize("ksize, strides, padding, data_format", [
    ((1, 2, 2, 1), (1, 2, 2, 1), "SAME", "NHWC"),    # tiles
    ((1, 3, 3, 1), (1, 2, 2, 1), "SAME", "NHWC"),    # overlapping, padded
    ((1, 1, 2, 2), (1, 1, 2, 2), "VALID", "NCHW"),
])
def test_relu_then_max_pool_gradient_equals_the_full_size_composition(ksize, strides, padding, data_format):
    rng = np.random.default_rng(0)
    shape = (2, 7, 6, 3) if data_format == "NHWC" else (2, 3, 8, 6)
    z_value = rng.standard_normal(shape)
    z_value[0, :2] = 0.0  # ties at 0 (and relu(z) = 0 with z = 0)
    z_value[1, 1] = -1.0  # windows that are entirely negative
    with tf.Graph().as_default():
        z = tf.constant(z_value)
        h = tf.nn.relu(z)
        y = tf.nn.max_pool(h, ksize, strides, padding, data_format=data_format)
        gy_value = rng.standard_normal(y.shape.as_list())
        gy_value.reshape(-1)[:3] = [np.inf, np.nan, -np.inf]
        gy = tf.constant(gy_value)
        dz, = tf.gradients(y, z, grad_ys=gy)
        # the pooled-size mask: ReluGrad's inputs are shaped like y, and the MaxPoolGrad that runs takes it
        assert dz.op.type == "MaxPoolGrad" and dz.op.inputs[2].op.type == "ReluGrad"
        assert dz.op.inputs[2].shape.as_list() == y.shape.as_list()
        from dataflow.framework.graph import make_op
        pool_grad = make_op("MaxPoolGrad", [h, y, gy], {k: v for k, v in y.op.attrs.items()}).outputs[0]
        want = make_op("ReluGrad", [pool_grad, z]).outputs[0]
        with tf.Session() as sess:
            got, ref = sess.run([dz, want])
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(got).any()  # the non-finite gy values reached both forms alike


def test_relu_output_with_another_consumer_takes_the_plain_gradient():
    with tf.Graph().as_default():
        z = tf.constant(np.random.default_rng(1).standard_normal((1, 4, 4, 2)))
        h = tf.nn.relu(z)
        loss = tf.reduce_sum(tf.nn.max_pool(h, 2, 2, "VALID")) + tf.reduce_sum(h * h)
        dz, = tf.gradients(loss, z)
        assert dz.op.type == "ReluGrad" and dz.op.inputs[0].shape.as_list() == [1, 4, 4, 2]
        with tf.Session() as sess:
            got, zv = sess.run([dz, z])
    hv = np.maximum(zv, 0)
    blocks = hv.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(1, 2, 2, 2, 4)
    first = np.zeros_like(blocks)
    np.put_along_axis(first, blocks.argmax(-1)[..., None], 1.0, -1)
    routed = first.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(1, 4, 4, 2)
    np.testing.assert_allclose(got, (routed + 2 * hv) * (zv > 0))
