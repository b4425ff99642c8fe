"""gemm_into (dataflow/ops/blas.py): C = A @ B + beta * C in place through NumPy's own OpenBLAS,
for every operand layout, and the matmul fallback."""

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops import blas


def _layouts(a):
    yield "C", a
    yield "F", np.asfortranarray(a)
    yield "slice", np.pad(a, ((1, 2), (3, 1)))[1:-2, 3:-1]      # leading dimension > width
    yield "strided", np.repeat(a, 2, axis=1)[:, ::2]           # not BLAS-readable: the fallback


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.5])
def test_gemm_into_matches_numpy_for_every_layout(dtype, beta):
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((37, 23)).astype(dtype)
    b0 = rng.standard_normal((23, 19)).astype(dtype)
    tol = dict(rtol=1e-2, atol=1e-2) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-5)
    want = a0.astype(np.float64) @ b0.astype(np.float64)
    for _, a in _layouts(a0):
        for _, b in _layouts(b0):
            big = rng.standard_normal((40, 25)).astype(dtype)
            before = big.copy()
            c = big[2:39, 4:23]  # the output, with a leading dimension of 25
            expected = want + beta * before[2:39, 4:23].astype(np.float64) if beta else want
            blas.gemm_into(np, a, b, c, beta=beta)
            np.testing.assert_allclose(c, expected, **tol)
            outside = np.ones(big.shape, bool)
            outside[2:39, 4:23] = False
            np.testing.assert_array_equal(big[outside], before[outside])  # nothing else written


def test_gemm_into_uses_openblas_here_and_falls_back_without_it(monkeypatch):
    assert blas._lookup(), "NumPy's OpenBLAS should be found on this platform"
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 5)), rng.standard_normal((5, 3))
    c = np.ones((8, 3))
    monkeypatch.setattr(blas, "_found", False)
    blas.gemm_into(np, a, b, c)
    np.testing.assert_allclose(c, 1 + a @ b)


def test_gemm_into_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="do not match"):
        blas.gemm_into(np, np.ones((2, 3)), np.ones((4, 5)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="do not match"):
        blas.gemm_into(np, np.ones((2, 3)), np.ones((3, 5)), np.ones((2, 4)))


@pytest.mark.parametrize("n", [100, 3 * blas.AXPY_MIN + 7])  # NumPy's two passes, and BLAS's one
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_axpy_into_matches_numpy_and_leaves_its_inputs(n, dtype):
    rng = np.random.default_rng(2)
    x0, y0 = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    want = y0.astype(np.float64) - 0.37 * x0.astype(np.float64)
    tol = dict(rtol=0, atol=2e-3 if dtype == np.float16 else 1e-6)
    for target in ("y", "new", "x", "tmp"):
        x, y = x0.copy(), y0.copy()
        tmp = np.empty_like(x)
        out = {"y": y, "new": np.empty_like(y), "x": x, "tmp": tmp}[target]
        got = blas.axpy_into(np, dtype(-0.37), x, y, out, tmp=tmp)
        assert got is out
        np.testing.assert_allclose(got, want, **tol)
        if target != "x":
            np.testing.assert_array_equal(x, x0)
        if target != "y":
            np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("optimizer", [lambda: tf.train.GradientDescentOptimizer(0.1),
                                       lambda: tf.train.MomentumOptimizer(0.1, 0.9),
                                       lambda: tf.train.AdamOptimizer(0.1)])
def test_optimizer_updates_of_large_variables_match_their_formulas(optimizer):
    """Variables large enough for the BLAS axpy path, owned by their slot or fetched (not owned)."""
    n = 2 * blas.AXPY_MIN + 3
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    with tf.Graph().as_default():
        w = tf.Variable(w0)
        g = tf.placeholder(tf.float32, [n])
        opt = optimizer()
        train = opt.apply_gradients([(g, w)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            held = sess.run(w)  # a fetched value: never changed by later updates
            for i, gr in enumerate(grads):
                if i == 1:
                    sess.run([train, w], {g: gr})  # fetched together with the update
                else:
                    sess.run(train, {g: gr})
            got = sess.run(w)
    np.testing.assert_array_equal(held, w0)
    ref, m, v, acc = w0.astype(np.float64), 0.0, 0.0, 0.0
    name = type(opt).__name__
    for t, gr in enumerate(grads, 1):
        gr = gr.astype(np.float64)
        if name == "GradientDescentOptimizer":
            ref = ref - 0.1 * gr
        elif name == "MomentumOptimizer":
            acc = acc * 0.9 + gr
            ref = ref - 0.1 * acc
        else:
            m = m + (gr - m) * 0.1
            v = v + (gr * gr - v) * 0.001
            ref = ref - 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
