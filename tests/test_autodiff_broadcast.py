"""The gradient engine sums a broadcast input's gradient back to its shape, and skips that work when
static shapes prove the input was not broadcast."""

import numpy as np
import pytest

import dataflow as tf


def _sum_to_shape_inputs(grads):
    ops = set()
    stack = [g.op for g in grads]
    while stack:
        op = stack.pop()
        if op in ops:
            continue
        ops.add(op)
        stack.extend(t.op for t in op.inputs)
    return [op for op in ops if op.type == "SumToShape"]


def test_dense_layer_gradient_needs_no_sum_on_the_activation_side():
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.Variable(np.ones((3, 2), np.float32))
    b = tf.Variable(np.zeros(2, np.float32))
    h = tf.matmul(x, w) + b
    gw, gb = tf.gradients(tf.reduce_sum(h), [w, b])
    sums = _sum_to_shape_inputs([gw, gb])
    assert len(sums) == 1  # only the bias, which really is broadcast over the batch
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        gwv, gbv = sess.run([gw, gb], {x: np.arange(12, dtype=np.float32).reshape(4, 3)})
    np.testing.assert_allclose(gbv, [4.0, 4.0])
    np.testing.assert_allclose(gwv, np.tile(np.arange(12).reshape(4, 3).sum(0)[:, None], (1, 2)))


def test_unknown_dimensions_that_may_be_one_keep_the_sum():
    a = tf.placeholder(tf.float64, [None, 3])
    c = tf.placeholder(tf.float64, [None, 3])
    (ga,) = tf.gradients(tf.reduce_sum(a * c), a)
    with tf.Session() as sess:
        # a's batch of 1 broadcasts against c's batch of 4: its gradient must be summed back
        out = sess.run(ga, {a: np.ones((1, 3)), c: np.arange(12.0).reshape(4, 3)})
    np.testing.assert_allclose(out, np.arange(12.0).reshape(4, 3).sum(0, keepdims=True))


def test_batch_matmul_core_dimensions_are_not_treated_as_broadcast():
    a = tf.placeholder(tf.float64, [None, 2, 3])
    b = tf.placeholder(tf.float64, [3, 4])
    ga, gb = tf.gradients(tf.reduce_sum(tf.matmul(a, b)), [a, b])
    av, bv = np.random.default_rng(0).standard_normal((5, 2, 3)), np.random.default_rng(1).standard_normal((3, 4))
    with tf.Session() as sess:
        gav, gbv = sess.run([ga, gb], {a: av, b: bv})
    np.testing.assert_allclose(gav, np.broadcast_to(bv.sum(1), (5, 2, 3)))
    np.testing.assert_allclose(gbv, np.broadcast_to(av.sum((0, 1))[:, None], (3, 4)))


def test_broadcast_to_kernel_view_matches_numpy_and_is_read_only():
    # the kernel's own zero-stride view (no np.broadcast_to call) for C-contiguous inputs
    from dataflow.ops.array import _broadcast_to_kernel

    rng = np.random.default_rng(0)
    cases = [((1,), (128,)), ((3, 1), (2, 3, 4)), ((), (5,)), ((2, 3), (4, 2, 3)), ((0,), (3, 0)), ((1,), (0,))]
    for shape, dims in cases:
        x = rng.standard_normal(shape).astype(np.float32)
        got = _broadcast_to_kernel(np, x, np.array(dims, np.int32))
        np.testing.assert_array_equal(got, np.broadcast_to(x, dims))
        assert got.shape == dims and not got.flags.writeable
    window = np.arange(20, dtype=np.float32)[5:8]  # a contiguous view into a larger array
    np.testing.assert_array_equal(_broadcast_to_kernel(np, window, np.array([2, 3])), [[5, 6, 7]] * 2)
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]  # not contiguous: NumPy's own broadcast_to
    np.testing.assert_array_equal(_broadcast_to_kernel(np, strided, np.array([2, 3, 2])),
                                  np.broadcast_to(strided, (2, 3, 2)))
    with pytest.raises(ValueError):
        _broadcast_to_kernel(np, np.ones(3), np.array([3, 2]))
