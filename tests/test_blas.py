"""gemm_into (dataflow/ops/blas.py): C = A @ B + beta * C in place through NumPy's own OpenBLAS,
for every operand layout, and the matmul fallback."""

import numpy as np
import pytest

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
