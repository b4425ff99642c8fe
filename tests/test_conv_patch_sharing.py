"""A Conv2D and the Conv2DBackpropFilter of the same input share the input's patches within a run
(OpDef.shares, dataflow/runtime/plan.py): the filter gradient is unchanged, nothing is kept after
the run, and ops on different inputs do not share."""

import numpy as np
import pytest

import dataflow as tf
from dataflow.framework import registry


def _holders(sess):
    out = []
    for plan in sess._plans.values():
        for seg in plan.segments:
            out += [v for k, v in seg.fn.__globals__.items() if k.startswith("sh") and isinstance(v, registry.Shared)]
    return out


def _train_grads(channels, data_format="NHWC", share=True, monkeypatch=None):
    rng = np.random.default_rng(0)
    shape = (3, 9, 8, channels) if data_format == "NHWC" else (3, channels, 9, 8)
    x_value = rng.standard_normal(shape).astype(np.float32)
    w_value = rng.standard_normal((3, 5, channels, 4)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.constant(x_value)
        w = tf.Variable(w_value)
        y = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME", data_format=data_format)
        loss = tf.reduce_sum(y * y)
        gw, = tf.gradients(loss, [w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(gw)
            holders = _holders(sess)
    return got, holders


@pytest.mark.parametrize("channels", [1, 8])  # im2col (few channels) and row patches
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_filter_gradient_with_shared_patches_equals_the_unshared_one(channels, data_format, monkeypatch):
    shared, holders = _train_grads(channels, data_format)
    assert len(holders) == 1 and holders[0].value is None  # one pair shared, emptied after the run
    for t in ("Conv2D", "Conv2DBackpropFilter"):
        monkeypatch.setattr(registry.get(t), "shares", None)
    plain, none = _train_grads(channels, data_format)
    assert none == []
    np.testing.assert_allclose(shared, plain, rtol=1e-6, atol=1e-5)


def test_ops_on_different_inputs_do_not_share():
    rng = np.random.default_rng(1)
    with tf.Graph().as_default():
        x1 = tf.constant(rng.standard_normal((2, 6, 6, 4)).astype(np.float32))
        x2 = tf.constant(rng.standard_normal((2, 6, 6, 4)).astype(np.float32))
        dy = tf.constant(rng.standard_normal((2, 6, 6, 3)).astype(np.float32))
        w = tf.constant(rng.standard_normal((3, 3, 4, 3)).astype(np.float32))
        y = tf.nn.conv2d(x1, w, 1, "SAME")
        gw = tf.nn.conv2d_backprop_filter(x2, [3, 3, 4, 3], dy, [1, 1, 1, 1], "SAME")
        with tf.Session() as sess:
            _, got = sess.run([y, gw])
            assert _holders(sess) == []
            x2v, dyv = sess.run([x2, dy])
    xp = np.pad(x2v, ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.einsum("nhwc,nhwo->co", xp[:, 0:6, 0:6], dyv)  # tap (0, 0)
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding, dilations, data_format", [
    ("SAME", (1, 1, 1, 1), "NHWC"), ("VALID", (1, 1, 1, 1), "NHWC"), ("SAME", (1, 2, 1, 1), "NHWC"),
    ([[1, 2], [0, 3]], (1, 1, 2, 1), "NHWC"), ("SAME", (1, 1, 1, 1), "NCHW")])
def test_stride1_input_gradient_by_taps_equals_the_row_patch_form(padding, dilations, data_format, monkeypatch):
    """conv.TAP_GEMM_MIN_CHANNELS picks one GEMM per tap accumulated into the padded gradient; the row-
    patch form is the reference (and both are checked against central differences in the spec rows)."""
    from dataflow.ops import conv

    rng = np.random.default_rng(5)
    x_shape = (3, 9, 8, 5) if data_format == "NHWC" else (3, 5, 9, 8)
    w_value = rng.standard_normal((3, 4, 5, 6))

    def grad(threshold):
        monkeypatch.setattr(conv, "TAP_GEMM_MIN_CHANNELS", threshold)
        with tf.Graph().as_default():
            y_probe = tf.nn.conv2d(tf.zeros(x_shape, tf.float64), w_value, [1, 1, 1, 1], padding,
                                   dilations=dilations, data_format=data_format)
            dy = tf.constant(rng.standard_normal(y_probe.shape.as_list()))
            dx = tf.nn.conv2d_backprop_input(x_shape, tf.constant(w_value), dy, [1, 1, 1, 1], padding,
                                             dilations=dilations, data_format=data_format)
            with tf.Session() as sess:
                return sess.run(dx)

    state = rng.bit_generator.state
    taps = grad(1)
    rng.bit_generator.state = state
    rows = grad(10 ** 9)
    np.testing.assert_allclose(taps, rows, rtol=1e-10, atol=1e-10)
    assert np.abs(taps).max() > 0


def test_concurrent_runs_of_one_plan_keep_their_own_patches():
    """Two threads run the same plan (one Shared holder) on different inputs: each filter gradient is the
    one of its own input (the holder's identity check), as when the runs are serial."""
    import threading

    rng = np.random.default_rng(6)
    inputs = [rng.standard_normal((2, 8, 8, 16)).astype(np.float32) for _ in range(6)]
    w_value = rng.standard_normal((3, 3, 16, 8)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 8, 8, 16])
        w = tf.constant(w_value)
        y = tf.nn.conv2d(x, w, 1, "SAME")
        gw, = tf.gradients(tf.reduce_sum(y * y), [w])
        with tf.Session() as sess:
            serial = [sess.run(gw, {x: v}) for v in inputs]
            got = [None] * len(inputs)

            errors = []

            def work(k):
                try:
                    for _ in range(20):
                        for i in range(k, len(inputs), 2):
                            got[i] = sess.run(gw, {x: inputs[i]})
                            np.testing.assert_allclose(got[i], serial[i], rtol=1e-5, atol=1e-4)
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append(e)

            threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(_holders(sess)) == 1
    assert errors == []
    for a, b in zip(got, serial):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
