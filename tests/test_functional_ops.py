"""tf.map_fn, tf.scan, tf.foldl, tf.foldr (loops over a TensorArray): NumPy values and gradients."""

import numpy as np

import dataflow as tf


def _run(f, feed=None):
    with tf.Session() as sess:
        return sess.run(f, feed)


def test_map_fn_values_structures_and_dtype():
    assert _run(tf.map_fn(lambda x: x * x, tf.constant([1.0, 2.0, 3.0]))).tolist() == [1.0, 4.0, 9.0]
    x = tf.placeholder(tf.float32, [None, 2])
    m = tf.map_fn(lambda r: (r[0] * r[1], tf.cast(r[0] > 0, tf.int32)), x, dtype=(tf.float32, tf.int32))
    a, b = _run(m, {x: [[1, 2], [-3, 4], [5, 6]]})
    assert a.tolist() == [2, -12, 30] and b.tolist() == [1, 0, 1]
    pairs = tf.map_fn(lambda p: p[0] + p[1], (tf.constant([1, 2]), tf.constant([10, 20])), dtype=tf.int32)
    assert _run(pairs).tolist() == [11, 22]


def test_scan_and_folds():
    c = tf.constant([1, 2, 3, 4])
    assert _run(tf.scan(lambda a, x: a + x, c)).tolist() == [1, 3, 6, 10]
    assert _run(tf.scan(lambda a, x: a + x, c, initializer=tf.constant(10))).tolist() == [11, 13, 16, 20]
    assert _run(tf.scan(lambda a, x: a * 10 + x, tf.constant([1, 2, 3]), reverse=True)).tolist() == [321, 32, 3]
    assert _run(tf.foldl(lambda a, x: a * 10 + x, tf.constant([1, 2, 3]))) == 123
    assert _run(tf.foldr(lambda a, x: a * 10 + x, tf.constant([1, 2, 3]))) == 321
    fib = tf.scan(lambda a, _: (a[1], a[0] + a[1]), tf.range(6), initializer=(tf.constant(0), tf.constant(1)))
    assert _run(fib)[0].tolist() == [1, 1, 2, 3, 5, 8]


def test_gradients_through_scan_and_map_fn():
    x = tf.placeholder(tf.float64, [4, 2])
    w = tf.placeholder(tf.float64, [2])
    y = tf.scan(lambda a, e: tf.tanh(a * w + e), x, initializer=tf.zeros([2], tf.float64))
    z = tf.map_fn(lambda r: tf.reduce_sum(tf.sin(r) * w), x)
    rng = np.random.default_rng(4)
    xv, wv = rng.standard_normal((4, 2)), rng.standard_normal(2)
    with tf.Session() as sess:
        for out, shape in ((y, [4, 2]), (z, [4])):
            for t, v, other in ((x, xv, {w: wv}), (w, wv, {x: xv})):
                err = tf.test.compute_gradient_error(t, list(v.shape), out, shape, x_init_value=v,
                                                     extra_feed_dict=other, session=sess, delta=1e-6)
                assert err < 1e-6
