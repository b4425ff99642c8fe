"""Large NumPy kernels split over the cores (dataflow/ops/parallel.py) give the serial results exactly."""

import warnings

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops import parallel
from dataflow.ops.conv import _max_pool_grad_kernel, _max_pool_kernel
from dataflow.ops.math import _relu_grad_kernel, _relu_kernel
from dataflow.ops.reduction import sum_leading


@pytest.fixture
def split(monkeypatch):
    """Split from 1,024 elements per part over 3 workers, whatever this machine's CPU count."""
    monkeypatch.setattr(parallel, "WORKERS", 3)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 1024)


def serial(monkeypatch, fn):
    with monkeypatch.context() as m:
        m.setattr(parallel, "WORKERS", 1)
        return fn()


def test_run_rows_covers_each_row_once_on_several_threads(split):
    import threading

    seen, threads = [], set()

    def body(lo, hi):
        seen.extend(range(lo, hi))
        threads.add(threading.get_ident())

    parallel.run_rows(np, 10, 10 * 1024, body)
    assert sorted(seen) == list(range(10))
    assert len(threads) > 1
    seen.clear()
    parallel.run_rows(np, 10, 100, body)  # too little work: one call
    assert seen == list(range(10))


def test_run_rows_raises_after_every_part_finished(split):
    import time

    done = []

    def body(lo, hi):
        if lo == 0:
            raise KeyError("first part")
        time.sleep(0.05)
        done.append(lo)

    with pytest.raises(KeyError, match="first part"):
        parallel.run_rows(np, 3, 3 * 1024, body)
    assert len(done) == 2  # the other parts completed before the error surfaced


def test_workers_take_the_callers_errstate_and_do_not_split_again(split):
    a = np.zeros(8 * 1024)
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            parallel.ufunc_rows(np.true_divide, np.ones_like(a), a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            assert np.isinf(parallel.ufunc_rows(np.true_divide, np.ones_like(a), a)).all()

    inner = []

    def body(lo, hi):  # a nested split on a pool thread runs in place (no deadlock)
        parallel.run_rows(np, 4, 4 * 1024, lambda a, b: inner.append((a, b)))

    parallel.run_rows(np, 3, 3 * 1024, body)
    assert inner.count((0, 4)) >= 2


@pytest.mark.parametrize("ufunc, a, b", [
    (np.add, (64, 8, 8, 32), (32,)),        # a bias add
    (np.multiply, (64, 1, 300), (64, 5, 1)),
    (np.subtract, (1, 40, 300), (64, 40, 1)),  # leading axis from the second operand
    (np.true_divide, (300, 40), (300, 40)),
    (np.greater, (300, 40), (40,)),
])
def test_ufunc_rows_matches_numpy(split, ufunc, a, b):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(a).astype(np.float32)
    y = rng.standard_normal(b).astype(np.float32)
    got = parallel.ufunc_rows(ufunc, x, y)
    want = ufunc(x, y)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    xi, yi = (x * 100).astype(np.int32), (y * 100).astype(np.int32) | 1
    np.testing.assert_array_equal(parallel.ufunc_rows(np.true_divide, xi, yi), np.true_divide(xi, yi))


def test_elementwise_and_pooling_kernels_equal_their_serial_results(split, monkeypatch):
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((16, 12, 12, 8)), 0).astype(np.float32)  # many ties at 0
    g = rng.standard_normal(x.shape).astype(np.float32)
    for kw in (dict(ksize=(1, 2, 2, 1), strides=(1, 2, 2, 1), padding="SAME", data_format="NHWC"),
               dict(ksize=(1, 3, 3, 1), strides=(1, 2, 2, 1), padding="SAME", data_format="NHWC"),
               dict(ksize=(1, 1, 2, 2), strides=(1, 1, 2, 2), padding="VALID", data_format="NCHW")):
        y = _max_pool_kernel(np, x, **kw)
        np.testing.assert_array_equal(y, serial(monkeypatch, lambda: _max_pool_kernel(np, x, **kw)))
        gy = rng.standard_normal(y.shape).astype(np.float32)
        got = _max_pool_grad_kernel(np, x, y, gy, **kw)
        np.testing.assert_array_equal(got, serial(monkeypatch, lambda: _max_pool_grad_kernel(np, x, y, gy, **kw)))
        np.testing.assert_allclose(got.sum(), gy.sum(), rtol=1e-4)  # every gradient routed exactly once
    np.testing.assert_array_equal(_relu_kernel(np, g), np.maximum(g, 0))
    np.testing.assert_array_equal(_relu_grad_kernel(np, g, x - 0.5), g * (x > 0.5))


def test_max_pool_grad_routes_to_the_first_max_of_each_window(split):
    # 2x2 tiles holding ties: TF's CPU kernel routes to the first max in row-major order
    x = np.zeros((4096, 2, 2, 1), np.float32)
    x[1::2, 1, 1, 0] = 1.0  # odd images: a unique max at the last tap
    kw = dict(ksize=(1, 2, 2, 1), strides=(1, 2, 2, 1), padding="VALID", data_format="NHWC")
    y = _max_pool_kernel(np, x, **kw)
    g = np.arange(1, 4097, dtype=np.float32).reshape(4096, 1, 1, 1)
    dx = _max_pool_grad_kernel(np, x, y, g, **kw)
    np.testing.assert_array_equal(dx[0::2, 0, 0, 0], g[0::2, 0, 0, 0])
    np.testing.assert_array_equal(dx[1::2, 1, 1, 0], g[1::2, 0, 0, 0])
    assert np.count_nonzero(dx) == 4096


def test_sums_over_leading_axes_are_one_gemv_and_accurate():
    rng = np.random.default_rng(2)
    g = rng.standard_normal((64, 28, 28, 32)).astype(np.float32)
    exact = g.astype(np.float64).sum(axis=(0, 1, 2))
    s = sum_leading(np, g, (0, 1, 2))
    assert s.dtype == np.float32 and s.shape == (32,)
    assert np.abs(s - exact).max() <= 1e-5 * np.abs(exact).max()
    assert sum_leading(np, g, (1, 2)) is None  # not leading
    assert sum_leading(np, g[:2, :16, :16], (0, 1)) is None  # 32 rows: too few, NumPy's sum
    assert sum_leading(np, g.astype(np.int32), (0,)) is None
    with tf.Graph().as_default():
        t = tf.constant(g)
        bias = tf.Variable(np.zeros(32, np.float32))
        grad, = tf.gradients(tf.reduce_sum(t + bias), [bias])
        s1 = tf.reduce_sum(t, axis=[0, 1, 2], keepdims=True)
        s2 = tf.reduce_sum(t, axis=-1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            a, b, c = sess.run([grad, s1, s2])
    np.testing.assert_allclose(a, np.full(32, 64 * 28 * 28, np.float32))
    assert b.shape == (1, 1, 1, 32)
    np.testing.assert_allclose(b.reshape(32), exact, rtol=0, atol=1e-5 * np.abs(exact).max())
    np.testing.assert_allclose(c, g.sum(-1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [100, 3 * (1 << 17) + 5])  # one block, and several with a partial last one
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_maximum_and_minimum_with_a_scalar_match_numpy(n, dtype):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(n) * 10).astype(dtype).reshape(-1, 1) if n % 2 else \
        (rng.standard_normal(n) * 10).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x.reshape(-1)[:4] = [np.nan, -np.inf, np.inf, -0.0]
    for ufunc in (np.maximum, np.minimum):
        for s in (dtype(0), dtype(3)):
            want = ufunc(x, s)
            for args in ((x, np.asarray(s)), (np.asarray(s), x), (x, np.full((1,) * x.ndim, s))):
                got = parallel.ufunc_rows(ufunc, *args)
                assert got.shape == want.shape and got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(_relu_kernel(np, x), np.maximum(x, 0))


def test_relu_and_clipping_ops_use_the_scalar_path_in_a_session():
    x = np.linspace(-10, 10, 4001, dtype=np.float32).reshape(4001, 1)
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float32, [None, 1])
        outs = [tf.nn.relu(t), tf.nn.relu6(t), tf.clip_by_value(t, -1.5, 2.5), tf.maximum(t, 0.25)]
        with tf.Session() as sess:
            r, r6, c, m = sess.run(outs, {t: x})
    np.testing.assert_array_equal(r, np.maximum(x, 0))
    np.testing.assert_array_equal(r6, np.minimum(np.maximum(x, 0), 6))
    np.testing.assert_array_equal(c, np.clip(x, -1.5, 2.5))
    np.testing.assert_array_equal(m, np.maximum(x, np.float32(0.25)))
