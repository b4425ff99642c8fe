"""TF semantics of the linear-algebra and sequence ops that a forward-vs-NumPy spec row cannot state:
static shapes, TF's output dtypes, ValueError/TypeError when the graph is built, InvalidArgumentError
when a bad value reaches a kernel, and gradients at the edges (ties, zeros, dropped rows)."""

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops import linalg


def _run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def _shape(t):
    return t.get_shape().as_list() if t.get_shape().ndims is not None else None


# ---- static shapes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("build, want", [
    (lambda: tf.einsum("ij,jk->ik", tf.placeholder(tf.float32, [None, 4]), tf.ones([4, 5])), [None, 5]),
    (lambda: tf.einsum("...ij,...jk->...ik", tf.ones([2, 1, 3, 4]), tf.ones([5, 4, 2])), [2, 5, 3, 2]),
    (lambda: tf.einsum("ba", tf.ones([2, 3])), [3, 2]),
    (lambda: tf.einsum("i...->...", tf.placeholder(tf.float32)), None),
    (lambda: tf.tensordot(tf.placeholder(tf.float32, [None, 3, 4]), tf.ones([4, 5]), 1), [None, 3, 5]),
    (lambda: tf.tensordot(tf.ones([2, 3]), tf.ones([2, 3]), 2), []),
    (lambda: tf.norm(tf.ones([2, 3, 4])), []),
    (lambda: tf.norm(tf.ones([2, 3, 4]), axis=(0, 2), keepdims=True), [1, 3, 1]),
    (lambda: tf.norm(tf.ones([2, 3, 4]), ord=2, axis=(2, 0)), [3]),
    (lambda: tf.eye(2, 3, batch_shape=[4]), [4, 2, 3]),
    (lambda: tf.eye(tf.placeholder(tf.int32, [])), [None, None]),
    (lambda: tf.matrix_diag(tf.ones([2, 3])), [2, 3, 3]),
    (lambda: tf.matrix_diag_part(tf.ones([2, 3, 5])), [2, 3]),
    (lambda: tf.matrix_set_diag(tf.ones([2, 3, 5]), tf.ones([2, 3])), [2, 3, 5]),
    (lambda: tf.diag(tf.ones([2, 3])), [2, 3, 2, 3]),
    (lambda: tf.diag_part(tf.placeholder(tf.float32, [2, None, None, 3])), [2, 3]),
    (lambda: tf.trace(tf.ones([4, 3, 3])), [4]),
    (lambda: tf.matrix_transpose(tf.ones([4, 2, 3])), [4, 3, 2]),
    (lambda: tf.matrix_band_part(tf.ones([2, 3]), 0, -1), [2, 3]),
    (lambda: tf.matrix_inverse(tf.placeholder(tf.float64, [None, 3, 3])), [None, 3, 3]),
    (lambda: tf.matrix_determinant(tf.ones([4, 3, 3])), [4]),
    (lambda: tf.svd(tf.ones([2, 5, 3]))[1], [2, 5, 3]),
    (lambda: tf.svd(tf.ones([2, 5, 3]), full_matrices=True)[1], [2, 5, 5]),
    (lambda: tf.svd(tf.ones([5, 3]), compute_uv=False), [3]),
    (lambda: tf.sequence_mask(tf.placeholder(tf.int32, [2]), 5), [2, 5]),
    (lambda: tf.sequence_mask([1, 3]), [2, 3]),
    (lambda: tf.sequence_mask(tf.placeholder(tf.int32, [4])), [4, None]),
    (lambda: tf.segment_sum(tf.ones([4, 2]), [0, 0, 1, 3]), [4, 2]),
    (lambda: tf.segment_max(tf.ones([4, 2]), tf.placeholder(tf.int32, [4])), [None, 2]),
    (lambda: tf.unsorted_segment_max(tf.ones([2, 3, 4]), tf.placeholder(tf.int32, [2, 3]), 7), [7, 4]),
    (lambda: tf.unsorted_segment_mean(tf.ones([5, 2]), tf.placeholder(tf.int32, [5]), 3), [3, 2]),
    (lambda: tf.unique(tf.placeholder(tf.int32, [6]))[0], [None]),
    (lambda: tf.unique(tf.placeholder(tf.int32, [6]))[1], [6]),
    (lambda: tf.linspace(0., 1., 5), [5]),
    (lambda: tf.linspace(0., 1., tf.placeholder(tf.int32, [])), [None]),
    (lambda: tf.meshgrid(tf.ones([3]), tf.ones([2]), tf.ones([4]))[0], [2, 3, 4]),
    (lambda: tf.meshgrid(tf.ones([3]), tf.ones([2]), indexing="ij")[1], [3, 2]),
    (lambda: tf.argsort(tf.ones([2, 5]), axis=0), [2, 5]),
    (lambda: tf.cumprod(tf.placeholder(tf.float32, [None, 3]), axis=1), [None, 3]),
    (lambda: tf.reduce_std(tf.ones([2, 3, 4]), axis=1, keepdims=True), [2, 1, 4]),
    (lambda: tf.count_nonzero(tf.ones([2, 3]), axis=0), [3]),
    (lambda: tf.invert_permutation(tf.placeholder(tf.int32, [5])), [5]),
    (lambda: tf.reverse_sequence(tf.placeholder(tf.float32, [2, None, 3]), [1, 2], seq_axis=1), [2, None, 3]),
])
def test_static_shapes(build, want):
    with tf.Graph().as_default():
        assert _shape(build()) == want


# ---- output dtypes (TF's) ------------------------------------------------------------------------------
def test_output_dtypes_as_tf():
    assert tf.count_nonzero([1.0, 0.0]).dtype is tf.int64
    assert tf.argsort([3.0, 1.0]).dtype is tf.int32
    y, idx = tf.unique(tf.constant([1.5, 1.5]))
    assert y.dtype is tf.float32 and idx.dtype is tf.int32
    assert tf.unique([1, 2], out_idx=tf.int64)[1].dtype is tf.int64
    assert tf.sequence_mask([1, 2]).dtype is tf.bool
    assert tf.sequence_mask([1, 2], dtype=tf.float32).dtype is tf.float32
    assert tf.eye(2).dtype is tf.float32
    assert tf.linspace(tf.constant(0.0, tf.float64), 1.0, 3).dtype is tf.float64
    assert tf.segment_mean(tf.constant([1, 2]), [0, 0]).dtype is tf.int32
    assert tf.unsorted_segment_mean(tf.constant([1, 2]), [0, 0], 1).dtype is tf.float64  # TF's truediv
    assert tf.einsum("ij,jk->ik", tf.ones([2, 2], tf.int32), tf.ones([2, 2], tf.int32)).dtype is tf.int32
    assert tf.matrix_determinant(tf.eye(2, dtype=tf.float64)).dtype is tf.float64
    assert _run(tf.segment_mean(tf.constant([1, 2]), [0, 0])).dtype == np.int32
    assert _run(tf.unsorted_segment_max(tf.constant([1, 2], tf.int64), [0, 0], 1)).dtype == np.int64


def test_public_names():
    assert tf.lin_space is tf.linspace and "matmul" in linalg.__all__ and tf.matmul is linalg.matmul
    for name in ["einsum", "tensordot", "norm", "eye", "diag", "diag_part", "matrix_diag", "matrix_diag_part",
                 "trace", "matrix_transpose", "matrix_band_part", "matrix_inverse", "matrix_determinant", "cholesky",
                 "sequence_mask", "count_nonzero", "segment_sum", "segment_mean", "segment_max", "unique",
                 "meshgrid", "sort", "argsort", "cumprod", "reduce_std", "reduce_variance", "invert_permutation",
                 "reverse_sequence", "unsorted_segment_max", "unsorted_segment_min", "unsorted_segment_mean"]:
        assert callable(getattr(tf, name)), name


# ---- values TF defines that NumPy's reference does not ----------------------------------------------------
def test_empty_segments_as_tf():
    data = tf.constant([[1.0, -2.0], [3.0, 4.0]])
    sorted_max, unsorted_max, unsorted_min, mean = _run([
        tf.segment_max(data, [0, 2]), tf.unsorted_segment_max(data, [0, 0], 2),
        tf.unsorted_segment_min(data, [1, 1], 2), tf.unsorted_segment_mean(data, [2, -1], 3)])
    np.testing.assert_array_equal(sorted_max, [[1, -2], [0, 0], [3, 4]])  # an empty sorted segment is 0
    assert (unsorted_max[1] == np.finfo(np.float32).min).all()  # the dtype's lowest, not -inf
    assert (unsorted_min[0] == np.finfo(np.float32).max).all()
    np.testing.assert_array_equal(mean, [[0, 0], [0, 0], [1, -2]])  # the row with id -1 is dropped


def test_unique_keeps_first_occurrence_order():
    y, idx = _run(tf.unique(tf.constant([5, 3, 5, 1, 3])))
    assert y.tolist() == [5, 3, 1] and idx.tolist() == [0, 1, 0, 2, 1]


def test_einsum_of_a_constant_fetches_a_copy():
    x = tf.constant(np.arange(9.0).reshape(3, 3))
    d = linalg.einsum("ii->i", x)
    with tf.Session() as sess:
        first = sess.run(d)
        first[:] = -1
        assert sess.run(d).tolist() == [0.0, 4.0, 8.0]


def test_sort_ascending_keeps_integer_extremes():
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    assert _run(tf.sort(tf.constant([hi, 0, lo], tf.int64))).tolist() == [lo, 0, hi]
    assert _run(tf.argsort(tf.constant([hi, 0, lo], tf.int64), direction="DESCENDING")).tolist() == [0, 1, 2]


# ---- gradients at the edges ---------------------------------------------------------------------------
def test_segment_max_gradient_splits_ties_and_skips_dropped_rows():
    x = tf.constant([1.0, 3.0, 3.0, 2.0, 9.0])
    g_sorted, = tf.gradients(tf.segment_max(x[:4], [0, 0, 0, 1]), x)
    g_unsorted, = tf.gradients(tf.unsorted_segment_max(x, [0, 0, 0, 1, -1], 2), x)
    np.testing.assert_allclose(_run(g_sorted), [0, 0.5, 0.5, 1, 0])
    np.testing.assert_allclose(_run(g_unsorted), [0, 0.5, 0.5, 1, 0])


def test_norm_gradients_at_zero_as_tf():
    x = tf.zeros([3])
    g1, ginf, g2 = (tf.gradients(tf.norm(x, ord=o), x)[0] for o in (1, np.inf, "euclidean"))
    v1, vinf, v2 = _run([g1, ginf, g2])
    assert (v1 == 0).all() and np.isfinite(vinf).all()
    assert np.isnan(v2).all()  # TF's sqrt(sum(x * x)): NaN at 0, kept for compatibility


def test_matrix_inverse_and_determinant_gradients_by_formula():
    a_val = np.array([[2.0, 1.0], [0.5, 3.0]])
    a = tf.constant(a_val)
    g_inv, = tf.gradients(tf.reduce_sum(tf.matrix_inverse(a)), a)
    g_det, = tf.gradients(tf.matrix_determinant(a), a)
    inv_t = np.linalg.inv(a_val).T
    np.testing.assert_allclose(_run(g_inv), -inv_t @ np.ones((2, 2)) @ inv_t)
    np.testing.assert_allclose(_run(g_det), np.linalg.det(a_val) * inv_t)


def test_svd_gradient_through_u_is_not_implemented():
    s, u, v = tf.svd(tf.ones([3, 2]))
    with pytest.raises(NotImplementedError, match="through u and v"):
        tf.gradients(tf.reduce_sum(u), s.op.inputs[0])


def test_einsum_gradient_with_inner_ellipsis_needs_known_ranks():
    a, b = tf.placeholder(tf.float32), tf.placeholder(tf.float32, [3])
    with pytest.raises(NotImplementedError, match="known rank"):
        tf.gradients(tf.einsum("i...j,j->i...", a, b), a)


# ---- errors when the graph is built -----------------------------------------------------------------------
@pytest.mark.parametrize("build, match", [
    (lambda: tf.einsum("ij,jk->ik", tf.ones([2, 3])), "subscripts for 2 inputs"),
    (lambda: tf.einsum("i1->i", tf.ones([2])), "Invalid einsum subscripts"),
    (lambda: tf.einsum("i->ii", tf.ones([2])), "repeat a label"),
    (lambda: tf.einsum("i->j", tf.ones([2])), "appear in no input"),
    (lambda: tf.einsum("...i->i", tf.ones([2, 2])), "needs '...'"),
    (lambda: tf.einsum("ij,jk->ik", tf.ones([2, 3]), tf.ones([4, 5])), "label 'j' has size 3 and 4"),
    (lambda: tf.einsum("ij->i", tf.ones([2, 3, 4])), "name 2 axes of an input of rank 3"),
    (lambda: tf.tensordot(tf.ones([2, 3]), tf.ones([4, 5]), 1), "differ in size"),
    (lambda: tf.tensordot(tf.ones([2, 3]), tf.ones([3]), 2), "must be in"),
    (lambda: tf.tensordot(tf.ones([2, 3]), tf.ones([3, 2]), [[0, 1], [1]]), "Different number"),
    (lambda: tf.tensordot(tf.placeholder(tf.float32), tf.ones([3]), 1), "known rank"),
    (lambda: tf.norm(tf.ones([3]), ord="fro"), "supported vector norm"),
    (lambda: tf.norm(tf.ones([3]), ord=0), "supported vector norm"),
    (lambda: tf.norm(tf.ones([3, 3]), ord="nuc", axis=(0, 1)), "supported matrix norm"),
    (lambda: tf.norm(tf.ones([3, 3]), axis=(0, 0)), "2 unique integers"),
    (lambda: tf.norm(tf.ones([3, 3]), axis=(0, 1, 2)), "2 unique integers"),
    (lambda: tf.norm(tf.ones([3, 3]), axis=2), "Invalid axis"),
    (lambda: tf.matrix_inverse(tf.ones([2, 3])), "Dimensions must be equal"),
    (lambda: tf.matrix_inverse(tf.ones([3])), "at least rank 2"),
    (lambda: tf.matrix_determinant(tf.ones([4, 2, 3])), "square"),
    (lambda: tf.cholesky(tf.ones([2, 3])), "square"),
    (lambda: tf.matrix_diag(tf.ones([])), "at least rank 1"),
    (lambda: tf.matrix_diag_part(tf.ones([3])), "at least rank 2"),
    (lambda: tf.diag_part(tf.ones([2, 3, 2])), "even"),
    (lambda: tf.diag_part(tf.ones([2, 3])), "must equal"),
    (lambda: tf.matrix_transpose(tf.ones([3])), "at least rank 2"),
    (lambda: tf.matrix_band_part(tf.ones([2, 3]), 3, 0), "num_lower"),
    (lambda: tf.sequence_mask([1, 2], [3, 4]), "maxlen must be scalar"),
    (lambda: tf.segment_sum(tf.ones([4]), tf.zeros([2, 2], tf.int32)), "should be a vector"),
    (lambda: tf.segment_sum(tf.ones([4]), [0, 0, 1]), "same size as dimension 0"),
    (lambda: tf.unsorted_segment_max(tf.ones([4, 2]), [0, 0, 1], 2), "must start with"),
    (lambda: tf.unique(tf.ones([2, 2])), "rank 1"),
    (lambda: tf.linspace(0.0, 1.0, 0), "num > 0"),
    (lambda: tf.meshgrid(tf.ones([2]), indexing="xx"), "'xy' or 'ij'"),
    (lambda: tf.sort(tf.ones([3]), direction="UP"), "ASCENDING, DESCENDING"),
    (lambda: tf.sort(tf.placeholder(tf.float32, [2, None])), "known when the graph is built"),
    (lambda: tf.invert_permutation(tf.zeros([2, 2], tf.int32)), "rank 1"),
    (lambda: tf.reverse_sequence(tf.ones([2, 3]), [1, 2], seq_axis=0, batch_axis=0), "distinct"),
    (lambda: tf.reverse_sequence(tf.ones([2, 3]), [1, 2, 3], seq_axis=1), "len\\(seq_lengths\\)"),
])
def test_bad_static_values_raise_value_error(build, match):
    with tf.Graph().as_default(), pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("build", [
    lambda: tf.einsum("i,i->", tf.ones([2]), tf.ones([2], tf.float64)),
    lambda: tf.matrix_inverse(tf.ones([2, 2], tf.int32)),
    lambda: tf.norm(tf.ones([2], tf.int32)),
    lambda: tf.segment_sum(tf.ones([2]), tf.constant([0.0, 1.0])),
    lambda: tf.linspace(0, 1, 3),
    lambda: tf.reduce_std(tf.constant([1, 2])),
    lambda: tf.sort(tf.constant([True, False])),
    lambda: tf.matrix_determinant(tf.ones([2, 2], tf.complex64)),
])
def test_bad_dtypes_raise_type_error(build):
    with tf.Graph().as_default(), pytest.raises(TypeError):
        build()


# ---- errors when the graph runs ---------------------------------------------------------------------------
def _fails(fetch, feed, match):
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        _run(fetch, feed)


def test_singular_matrices_are_invalid_arguments():
    x = tf.placeholder(tf.float32, [2, 2])
    _fails(tf.matrix_inverse(x), {x: [[1.0, 2.0], [2.0, 4.0]]}, "Input is not invertible")
    _fails(tf.cholesky(x), {x: [[1.0, 2.0], [2.0, 1.0]]}, "Cholesky decomposition was not successful")


def test_bad_segment_ids_at_run_time():
    ids = tf.placeholder(tf.int32, [None])
    data = tf.placeholder(tf.float32, [None])
    _fails(tf.segment_sum(data, ids), {data: [1, 2, 3], ids: [0, 2, 1]}, "not increasing")
    _fails(tf.segment_max(data, ids), {data: [1, 2], ids: [-1, 0]}, ">= 0")
    _fails(tf.segment_sum(data, ids), {data: [1, 2], ids: [0, 0, 0]}, "size of dimension 0")
    _fails(tf.unsorted_segment_min(data, ids, 2), {data: [1, 2], ids: [0, 2]}, "not in \\[0, 2\\)")


def test_bad_values_of_other_ops_at_run_time():
    v = tf.placeholder(tf.int32, None)
    _fails(tf.unique(v), {v: [[1, 2]]}, "1D")
    _fails(tf.invert_permutation(v), {v: [0, 0, 1]}, "duplicated")
    _fails(tf.invert_permutation(v), {v: [0, 3]}, "not between 0 and 2")
    _fails(tf.linspace(0.0, 1.0, v), {v: 0}, "num > 0")
    x = tf.placeholder(tf.float32, [2, None])
    _fails(tf.reverse_sequence(x, v, seq_axis=1), {x: np.ones((2, 3)), v: [1, 4]}, "seq_lens")
    a = tf.placeholder(tf.float32, [None, None])
    _fails(tf.einsum("ij,jk->ik", a, a), {a: np.ones((2, 3))}, "Einsum")


@pytest.mark.parametrize("rows, dtype", [(1, np.float32), (64, np.float32), (65, np.float32), (16, np.float64),
                                         (8, np.int32)])
def test_matmul_with_transposed_large_b_takes_either_product_order_with_the_same_result(rows, dtype):
    # few rows times a large transposed b is computed as (b @ a.T).T (faster in OpenBLAS); same values
    from dataflow.ops.linalg import TRANSPOSED_B_MIN_SIZE, _matmul_kernel

    rng = np.random.default_rng(4)
    k = 512
    n = TRANSPOSED_B_MIN_SIZE // k
    a = (rng.standard_normal((rows, k)) * 4).astype(dtype)
    b = (rng.standard_normal((n, k)) * 4).astype(dtype)
    got = _matmul_kernel(np, a, b, transpose_a=False, transpose_b=True)
    assert got.shape == (rows, n) and got.dtype == dtype and got.flags.c_contiguous
    want = a.astype(np.float64) @ b.astype(np.float64).T
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)
    x = tf.placeholder(dtype, [None, k])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.matmul(x, b, transpose_b=True), {x: a}), got)
