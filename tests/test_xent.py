"""The fused softmax cross-entropy ops (dataflow/ops/xent.py): one op forward, TF's gradients, second
derivatives through ``backprop``, and clear errors."""

import numpy as np
import pytest

import dataflow as tf


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _data(rng, b=5, n=4):
    logits = rng.normal(0, 2, (b, n))
    labels = rng.uniform(0, 1, (b, n))
    return logits, labels / labels.sum(-1, keepdims=True), rng.integers(0, n, b)


def test_rank2_losses_are_one_fused_op_with_tfs_outputs():
    logits, labels, sparse = _data(np.random.default_rng(0))
    with tf.Graph().as_default() as g:
        x = tf.constant(logits, tf.float64)
        dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=x)
        sp = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=sparse, logits=x)
        types = [op.type for op in g.get_operations()]
        assert types.count("SoftmaxCrossEntropyWithLogits") == 1
        assert types.count("SparseSoftmaxCrossEntropyWithLogits") == 1
        assert "Exp" not in types and "Max" not in types  # nothing composed
        backprop = dense.op.outputs[1]
        with tf.Session() as sess:
            d, s, bp = sess.run([dense, sp, backprop])
    log_sm = np.log(_softmax(logits))
    np.testing.assert_allclose(d, -(labels * log_sm).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(s, -log_sm[np.arange(5), sparse], rtol=1e-12)
    np.testing.assert_allclose(bp, _softmax(logits) - labels, atol=1e-15)


@pytest.mark.parametrize("sparse", [False, True])
def test_second_derivatives_flow_through_backprop(sparse):
    """The Hessian of the summed loss with respect to the logits is diag(s) - s s^T per row (the
    labels sum to one), and the mixed derivative with respect to the labels is -I (dense labels)."""
    logits, labels, sparse_labels = _data(np.random.default_rng(1), b=3, n=4)
    with tf.Graph().as_default():
        x = tf.constant(logits)
        z = tf.constant(labels)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=sparse_labels, logits=x)
                             if sparse else tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x))
        h, = tf.hessians(loss, x)
        v_value = np.random.default_rng(2).normal(size=(3, 4))
        v = tf.constant(v_value)
        gx, = tf.gradients(loss, x)
        mixed = None if sparse else tf.gradients(tf.reduce_sum(gx * v), z)[0]
        with tf.Session() as sess:
            hv = sess.run(h)
            mv = None if sparse else sess.run(mixed)
    s = _softmax(logits)
    want = np.zeros((3, 4, 3, 4))
    for i in range(3):
        want[i, :, i, :] = np.diag(s[i]) - np.outer(s[i], s[i])
    np.testing.assert_allclose(hv, want, atol=1e-12)
    if not sparse:
        np.testing.assert_allclose(mv, -v_value, atol=1e-12)


def test_gradients_match_central_differences_in_float64():
    logits, labels, sparse = _data(np.random.default_rng(3))
    with tf.Graph().as_default():
        x = tf.constant(logits)  # compute_gradient feeds each x in turn; the other keeps its value
        z = tf.constant(labels)
        w = tf.constant(np.linspace(0.5, 2.0, 5))
        for loss in (tf.reduce_sum(w * tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x)),
                     tf.reduce_sum(w * tf.nn.sparse_softmax_cross_entropy_with_logits(labels=sparse, logits=x))):
            with tf.Session():
                err = tf.test.compute_gradient_error([x, z], [logits.shape, labels.shape], loss, [],
                                                     x_init_value=[logits, labels], delta=1e-6)
            assert err < 1e-6


def test_mismatched_runtime_shapes_and_bad_labels_are_invalid_argument_errors():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        z = tf.placeholder(tf.float32, [None, 3])
        k = tf.placeholder(tf.int32, [None])
        dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x)
        sp = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=k, logits=x)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"logits_size=\[4, 3\] labels_size=\[2, 3\]"):
                sess.run(dense, {x: np.zeros((4, 3)), z: np.zeros((2, 3))})
            with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 3 which is outside"):
                sess.run(sp, {x: np.zeros((2, 3)), k: [0, 3]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="same first dimension"):
                sess.run(sp, {x: np.zeros((2, 3)), k: [0, 1, 2]})
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Incompatible shapes"):  # static: the composed form's check
            tf.nn.softmax_cross_entropy_with_logits_v2(labels=np.zeros((2, 3)), logits=np.zeros((2, 4)))
