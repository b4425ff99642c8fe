"""Gradients through tf.while_loop, tf.cond and TensorArray: central differences in float64
(``tf.test.compute_gradient_error``), NumPy forward values, and optimizers training through loops."""

import numpy as np
import pytest

import dataflow as tf

TOL = 1e-6


def _err(x, x_shape, y, y_shape, x_init, feed=None):
    with tf.Session() as sess:
        return tf.test.compute_gradient_error(x, x_shape, y, y_shape, x_init_value=x_init, extra_feed_dict=feed,
                                              session=sess, delta=1e-6)


def test_power_loop():
    x = tf.placeholder(tf.float64, [3])
    _, y = tf.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y * x), [0, tf.ones([3], tf.float64)])
    xv = np.array([0.7, -1.3, 1.1])
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: xv}), xv ** 5)
        (g,) = tf.gradients(y, x)
        np.testing.assert_allclose(sess.run(g, {x: xv}), 5 * xv ** 4)
    assert _err(x, [3], y, [3], xv) < TOL


def test_gradient_with_respect_to_the_initial_value_and_a_tensor_count():
    x = tf.placeholder(tf.float64, [])
    n = tf.placeholder(tf.int32, [])
    _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, tf.sin(y)), [0, x])
    (g,) = tf.gradients(y, x)
    with tf.Session() as sess:
        for nv in (0, 1, 4):
            ref, dref = 0.4, 1.0
            for _ in range(nv):
                ref, dref = np.sin(ref), dref * np.cos(ref)
            out = sess.run([y, g], {x: 0.4, n: nv})
            np.testing.assert_allclose(out, [ref, dref], rtol=1e-12)
    assert _err(x, [], y, [], np.array(0.4), {n: 3}) < TOL


def _rnn(x, w, u, steps):
    def body(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + tf.matmul(x[t], u))

    h0 = tf.zeros([2, 3], tf.float64)
    return tf.while_loop(lambda t, h: t < steps, body, [0, h0])[1]


def test_rnn_recurrence_with_captured_matrices():
    rng = np.random.default_rng(1)
    xv, wv, uv = rng.standard_normal((4, 2, 5)), rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((5, 3)) * 0.5
    x = tf.placeholder(tf.float64, [4, 2, 5])
    w = tf.placeholder(tf.float64, [3, 3])
    u = tf.placeholder(tf.float64, [5, 3])
    h = _rnn(x, w, u, 4)
    ref = np.zeros((2, 3))
    for t in range(4):
        ref = np.tanh(ref @ wv + xv[t] @ uv)
    feed = {x: xv, w: wv, u: uv}
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(h, feed), ref, rtol=1e-12)
    assert _err(w, [3, 3], h, [2, 3], wv, {x: xv, u: uv}) < TOL
    assert _err(u, [5, 3], h, [2, 3], uv, {x: xv, w: wv}) < TOL
    assert _err(x, [4, 2, 5], h, [2, 3], xv, {w: wv, u: uv}) < TOL


def test_nested_loops():
    x = tf.placeholder(tf.float64, [2])

    def outer(i, acc):
        inner = tf.while_loop(lambda j, p: j < i + 1, lambda j, p: (j + 1, p * x + 0.5), [0, acc])[1]
        return i + 1, tf.sin(inner)

    y = tf.while_loop(lambda i, a: i < 3, outer, [0, tf.ones([2], tf.float64)])[1]
    xv = np.array([0.8, -0.6])
    ref = np.ones(2)
    for i in range(3):
        for _ in range(i + 1):
            ref = ref * xv + 0.5
        ref = np.sin(ref)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: xv}), ref, rtol=1e-12)
    assert _err(x, [2], y, [2], xv) < TOL


def test_cond_on_a_placeholder():
    x = tf.placeholder(tf.float64, [3])
    p = tf.placeholder(tf.bool, [])
    y = tf.cond(p, lambda: tf.exp(x) * x, lambda: tf.sin(x) * 3.0)
    xv = np.array([0.3, -0.5, 1.2])
    (g,) = tf.gradients(tf.reduce_sum(y), x)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: xv, p: True}), np.exp(xv) * (1 + xv))
        np.testing.assert_allclose(sess.run(g, {x: xv, p: False}), 3 * np.cos(xv))
    for pv in (True, False):
        assert _err(x, [3], y, [3], xv, {p: pv}) < TOL


def test_cond_gradient_reaches_only_the_taken_branch_inputs():
    a = tf.placeholder(tf.float64, [])
    b = tf.placeholder(tf.float64, [])
    p = tf.placeholder(tf.bool, [])
    y = tf.cond(p, lambda: a * a, lambda: b * 3.0)
    ga, gb = tf.gradients(y, [a, b])
    with tf.Session() as sess:
        assert sess.run([ga, gb], {a: 2.0, b: 5.0, p: True}) == [4.0, 0.0]
        assert sess.run([ga, gb], {a: 2.0, b: 5.0, p: False}) == [0.0, 3.0]


def test_cond_inside_a_loop():
    x = tf.placeholder(tf.float64, [2])

    def body(i, h):
        return i + 1, tf.cond(tf.equal(i % 2, 0), lambda: tf.sin(h) * x, lambda: h * h + x)

    y = tf.while_loop(lambda i, h: i < 4, body, [0, tf.ones([2], tf.float64)])[1]
    xv = np.array([0.9, -0.4])
    ref = np.ones(2)
    for i in range(4):
        ref = np.sin(ref) * xv if i % 2 == 0 else ref * ref + xv
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: xv}), ref, rtol=1e-12)
    assert _err(x, [2], y, [2], xv) < TOL


def test_tensor_array_gradients_through_a_loop():
    x = tf.placeholder(tf.float64, [5, 3])
    w = tf.placeholder(tf.float64, [3])
    xs = tf.TensorArray(tf.float64, size=5).unstack(x)

    def body(t, h, out):
        h = tf.tanh(h * w + xs.read(t))
        return t + 1, h, out.write(t, h * h)

    _, _, out = tf.while_loop(lambda t, *_: t < 5, body, [0, tf.zeros([3], tf.float64), tf.TensorArray(tf.float64, 5)])
    y = out.stack()
    rng = np.random.default_rng(3)
    xv, wv = rng.standard_normal((5, 3)), rng.standard_normal(3)
    h, ref = np.zeros(3), []
    for t in range(5):
        h = np.tanh(h * wv + xv[t])
        ref.append(h * h)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: xv, w: wv}), ref, rtol=1e-12)
    assert _err(x, [5, 3], y, [5, 3], xv, {w: wv}) < TOL
    assert _err(w, [3], y, [5, 3], wv, {x: xv}) < TOL


def test_dynamic_size_tensor_array_gradient():
    x = tf.placeholder(tf.float64, [4])
    ta = tf.TensorArray(tf.float64, size=0, dynamic_size=True)
    _, ta = tf.while_loop(lambda i, ta: i < 4, lambda i, ta: (i + 1, ta.write(i, x[i] * x[i])), [0, ta])
    y = ta.stack()
    assert _err(x, [4], y, [4], np.array([0.5, -1.0, 2.0, 0.1])) < TOL


def test_gradient_of_an_untouched_loop_var_and_back_prop_false():
    x = tf.placeholder(tf.float64, [])
    _, a, b = tf.while_loop(lambda i, a, b: i < 3, lambda i, a, b: (i + 1, a * x, b), [0, x, x])
    ga, gb = tf.gradients(a, x)[0], tf.gradients(b, x)[0]
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run([ga, gb], {x: 1.5}), [4 * 1.5 ** 3, 1.0])
    _, c = tf.while_loop(lambda i, c: i < 3, lambda i, c: (i + 1, c * x), [0, x], back_prop=False)
    assert tf.gradients(c, x) == [None]


def test_variables_in_the_body_train_with_adam():
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((6, 4, 3))
    target = rng.standard_normal((4, 2))
    x = tf.constant(xv)
    w = tf.Variable(rng.standard_normal((2, 2)) * 0.3)
    u = tf.Variable(rng.standard_normal((3, 2)) * 0.3)

    def body(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + tf.matmul(x[t], u))

    h = tf.while_loop(lambda t, h: t < 6, body, [0, tf.zeros([4, 2], tf.float64)])[1]
    loss = tf.reduce_mean(tf.square(h - target))
    gw, gu = tf.gradients(loss, [w, u])
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        wv, uv = sess.run([w, u])
        hh = np.zeros((4, 2))
        for t in range(6):
            hh = np.tanh(hh @ wv + xv[t] @ uv)
        # the analytic gradient against central differences of the NumPy forward pass
        gwv = sess.run(gw)
        eps, num = 1e-6, np.zeros_like(wv)

        def f(wm):
            hq = np.zeros((4, 2))
            for t in range(6):
                hq = np.tanh(hq @ wm + xv[t] @ uv)
            return np.mean((hq - target) ** 2)

        for idx in np.ndindex(*wv.shape):
            d = np.zeros_like(wv)
            d[idx] = eps
            num[idx] = (f(wv + d) - f(wv - d)) / (2 * eps)
        np.testing.assert_allclose(gwv, num, rtol=1e-5, atol=1e-9)
        assert sess.run(gu).shape == (3, 2)
        first = sess.run(loss)
        np.testing.assert_allclose(first, np.mean((hh - target) ** 2), rtol=1e-12)
        for _ in range(60):
            sess.run(train)
        assert sess.run(loss) < 0.5 * first


def test_cond_gradient_with_variables_and_an_optimizer():
    w = tf.Variable(2.0, dtype=tf.float64)
    p = tf.placeholder(tf.bool, [])
    loss = tf.cond(p, lambda: tf.square(w - 5.0), lambda: tf.square(w + 1.0))
    train = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    with tf.Session() as sess:
        sess.run(w.initializer)
        sess.run(train, {p: True})
        assert sess.run(w) == pytest.approx(2.0 - 0.25 * 2 * (2.0 - 5.0))
        sess.run(train, {p: False})
        assert sess.run(w) == pytest.approx(3.5 - 0.25 * 2 * (3.5 + 1.0))


def test_second_order_through_a_loop_is_reported():
    x = tf.placeholder(tf.float64, [])
    y = tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, y * x), [0, x])[1]
    (g,) = tf.gradients(y, x)
    with pytest.raises(LookupError, match="not supported"):
        tf.gradients(g, x)


def test_only_requested_captures_are_differentiated_and_variants_share_the_forward_loop():
    x = tf.placeholder(tf.float64, [3, 2])
    w = tf.placeholder(tf.float64, [2])
    y = tf.while_loop(lambda t, h: t < 3, lambda t, h: (t + 1, tf.sin(h * w + x[t])), [0, tf.zeros([2], tf.float64)])[1]
    (gw,) = tf.gradients(y, w)
    assert gw.op.type == "WhileGrad" and len(gw.op.outputs) == 2  # h0's gradient and w's: not x's
    gx, gw2 = tf.gradients(y, [x, w])
    assert gx.op is gw2.op and gx.op is not gw.op
    rng = np.random.default_rng(5)
    xv, wv = rng.standard_normal((3, 2)), rng.standard_normal(2)
    with tf.Session() as sess:
        a, b, c = sess.run([gw, gw2, gx], {x: xv, w: wv})
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert _err(x, [3, 2], y, [2], xv, {w: wv}) < TOL


def test_variables_made_in_the_body_train():
    """The dynamic_rnn pattern: the cell makes its variables on its first call, inside the loop body."""
    rng = np.random.default_rng(2)
    xv = rng.standard_normal((5, 4, 3)).astype(np.float32)
    x = tf.placeholder(tf.float32, [5, 4, 3])

    def body(t, h):
        with tf.variable_scope("cell", reuse=tf.AUTO_REUSE):
            k = tf.get_variable("kernel", [3 + 2, 2], initializer=tf.constant_initializer(0.1))
            b = tf.get_variable("bias", [2], initializer=tf.zeros_initializer())
        return t + 1, tf.tanh(tf.matmul(tf.concat([x[t], h], 1), k) + b)

    h = tf.while_loop(lambda t, h: t < 5, body, [0, tf.zeros([4, 2])])[1]
    assert sorted(v.name for v in tf.trainable_variables()) == ["cell/bias:0", "cell/kernel:0"]
    loss = tf.reduce_mean(tf.square(h - 0.5))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: xv})
        for _ in range(30):
            sess.run(train, {x: xv})
        assert sess.run(loss, {x: xv}) < 0.5 * first


@pytest.mark.parametrize("mode", ["sync", "split", "trace"])
def test_gradients_through_loops_under_every_runner(mode):
    w = tf.Variable(np.array([0.5, -0.3]))
    if mode == "split":
        with tf.device("/cpu:1"):  # a second device (/gpu:0 needs a GPU or soft placement)
            scale = w * 1.0
    else:
        scale = w * 1.0
    y = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.sin(h) * scale + w), [0, tf.ones([2], tf.float64)])[1]
    (g,) = tf.gradients(tf.reduce_sum(y), w)
    cfg = tf.ConfigProto(dask_scheduler="sync") if mode == "sync" else None
    with tf.Session(config=cfg) as sess:
        sess.run(w.initializer)
        if mode == "trace":
            opts, meta = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), tf.RunMetadata()
            got = sess.run(g, options=opts, run_metadata=meta)
            assert meta.step_stats is not None
        else:
            got = sess.run(g)
    wv, eps = np.array([0.5, -0.3]), 1e-6

    def f(wq):
        h = np.ones(2)
        for _ in range(3):
            h = np.sin(h) * wq + wq
        return h.sum()

    num = [(f(wv + eps * e) - f(wv - eps * e)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(got, num, rtol=1e-6)


@pytest.mark.parametrize("scheduler", [None, "sync", "threads"])
def test_loop_over_variables_placed_on_another_device(scheduler):
    with tf.device("/cpu:1"):  # another segment: the loop gets the variables' slots across segments
        v = tf.Variable(1.0)
        w = tf.Variable(np.array([0.5, 2.0], np.float32))

    def body(i, s):
        inc = tf.assign_add(v, 1.0)
        with tf.control_dependencies([inc]):
            return i + 1, s + v * tf.reduce_sum(w)

    s = tf.while_loop(lambda i, s: i < 3, body, [0, 0.0])[1]
    (g,) = tf.gradients(s, w)
    with tf.Session(config=tf.ConfigProto(dask_scheduler=scheduler) if scheduler else None) as sess:
        sess.run(tf.global_variables_initializer())
        assert len(sess._make_plan([s, g], {}).segments) > 1
        out = sess.run([s, g])
        assert out[0] == (2.0 + 3.0 + 4.0) * 2.5
        np.testing.assert_array_equal(out[1], [9.0, 9.0])
        assert sess.run(v) == 4.0
