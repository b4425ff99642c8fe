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


@pytest.mark.parametrize("reduce, axis, keepdims", [
    (tf.reduce_mean, None, False), (tf.reduce_mean, 1, False), (tf.reduce_sum, [0, 2], True),
    (tf.reduce_sum, -1, False), (tf.reduce_mean, [0, 1, 2], True)])
def test_sum_and_mean_gradients_are_one_reduce_grad_op(reduce, axis, keepdims):
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((4, 3, 5))
    gv = rng.standard_normal(np.sum(xv, axis=None if axis is None else tuple(np.atleast_1d(axis)),
                                    keepdims=keepdims).shape)
    x = tf.placeholder(tf.float64, [None, 3, 5])  # a batch of unknown size: the count is a runtime value
    y = reduce(x, axis=axis, keepdims=keepdims)
    g = tf.placeholder(tf.float64, y.shape)
    (gx,) = tf.gradients(y, x, grad_ys=g)
    assert gx.op.type == "ReduceGrad"
    axes = tuple(range(3)) if axis is None else tuple(a % 3 for a in np.atleast_1d(axis))
    kept = np.reshape(gv, [1 if i in axes else d for i, d in enumerate(xv.shape)])
    if reduce is tf.reduce_mean:
        kept = kept / np.prod([xv.shape[a] for a in axes])
    with tf.Session() as sess:
        got = sess.run(gx, {x: xv, g: gv})
        np.testing.assert_allclose(got, np.broadcast_to(kept, xv.shape), rtol=1e-12)
        got[...] = 0  # a fetched value is the caller's own writable copy
        # its gradient (linear in g): the same reduction of the incoming gradient
        err = tf.test.compute_gradient_error(g, gv.shape, gx, xv.shape, x_init_value=gv,
                                             extra_feed_dict={x: xv})
    assert err < 1e-8


def test_mean_gradient_over_an_empty_axis_is_empty():
    x = tf.placeholder(tf.float32, [None, 0])
    (gx,) = tf.gradients(tf.reduce_mean(x, axis=1), x)
    with tf.Session() as sess:
        assert sess.run(gx, {x: np.zeros((3, 0), np.float32)}).shape == (3, 0)
