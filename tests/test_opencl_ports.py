"""Ops ported to the OpenCL backend after the first kernel table (issue 11 follow-up), run on the OpenCL
device WITHOUT soft placement (so a missing kernel fails instead of falling back to the CPU), against
their NumPy kernels on the CPU: the edge cases the spec table does not reach (empty segments, NaN,
negative ids, exclusive/reverse scans along an inner axis) and TF's errors raised from the device path.
"""

import numpy as np
import pytest

import dataflow as tf
from golden.surface_cases import SPARSE_OPTIMIZERS
from test_backends import needs_cl
from test_indexed_slices import GOLDEN, _lookup_loss
from test_optimizers import PRIMITIVES, _build_primitive, _primitive_case, _ref_step

DEV = "/device:OPENCL:0"


def run_both(build, feeds):
    """``build(*placeholders)`` run on the OpenCL device and on the CPU: (device values, CPU values)."""
    results = []
    for device in (DEV, "/cpu:0"):
        g = tf.Graph()
        with g.as_default(), g.device(device):
            ph = [tf.placeholder(tf.as_dtype(a.dtype), None) for a in feeds]
            outs = build(*ph)
        with tf.Session(graph=g) as s:
            results.append(s.run(outs, dict(zip(ph, feeds))))
    return results


def assert_same(got, want):
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


@needs_cl
def test_segment_reductions_empty_segments_nan_and_negative_ids():
    data = np.array([[1, 2], [np.nan, 4], [5, -6], [7, 8], [9, 10]], np.float32)
    ids = np.array([0, 3, 0, -1, 3], np.int32)
    sorted_ids = np.array([0, 0, 2, 2, 5], np.int64)

    def build(d, i, si):
        return [tf.unsorted_segment_sum(d, i, 5), tf.unsorted_segment_max(d, i, 5),
                tf.unsorted_segment_min(d, i, 5), tf.segment_sum(d, si), tf.segment_max(d, si),
                tf.segment_min(d, si),
                # NaN -> int is undefined (x86 gives INT_MIN, NVIDIA 0): integer data without the NaN
                tf.unsorted_segment_sum(tf.cast(tf.where(tf.is_nan(d), tf.zeros_like(d), d), tf.int32), i, 2 + 3)]
    got, want = run_both(build, [data, ids, sorted_ids])
    assert_same(got, want)
    assert np.isnan(got[1][3, 0]) and got[1][1, 0] == np.finfo(np.float32).min  # NaN wins; empty: lowest


@needs_cl
def test_scans_along_an_inner_axis_and_one_hot_range():
    x = np.random.default_rng(1).uniform(0.5, 1.5, (3, 4, 2)).astype(np.float64)

    def build(v, i):
        outs = [op(v, axis=1, exclusive=e, reverse=r) for op in (tf.cumsum, tf.math.cumprod)
                for e in (False, True) for r in (False, True)]
        return outs + [tf.one_hot(i, 4, axis=0), tf.one_hot(i, 3, on_value=7, off_value=-2),
                       tf.range(tf.cast(tf.size(i), tf.float64), -1.0, -0.75)]
    got, want = run_both(build, [x, np.array([[0, 3], [-1, 2]], np.int64)])
    assert_same(got, want)


@needs_cl
@pytest.mark.parametrize("op", [tf.truncatediv, tf.truncatemod, tf.math.floordiv, tf.math.floormod])
def test_integer_division_by_zero_is_tfs_error_on_the_device(op):
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        x, y = tf.placeholder(tf.int32, None), tf.placeholder(tf.int32, None)
        z = op(x, y)
    with tf.Session(graph=g) as s:
        got = s.run(z, {x: np.array([7, -7, 7, -7]), y: np.array([2, 2, -2, -2])})
        want = {tf.truncatediv: [3, -3, -3, 3], tf.truncatemod: [1, -1, 1, -1],
                tf.math.floordiv: [3, -4, -4, 3], tf.math.floormod: [1, 1, -1, -1]}[op]
        np.testing.assert_array_equal(got, want)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            s.run(z, {x: np.array([7, 1]), y: np.array([2, 0])})


@needs_cl
def test_segment_id_errors_are_tfs_from_the_device_path():
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        d, i = tf.placeholder(tf.float32, None), tf.placeholder(tf.int32, None)
        unsorted, ordered = tf.unsorted_segment_sum(d, i, 3), tf.segment_sum(d, i)
    with tf.Session(graph=g) as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"segment_ids\[1\] = 3 is not in \[0, 3\)"):
            s.run(unsorted, {d: np.ones(3, np.float32), i: [0, 3, 1]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="not increasing"):
            s.run(ordered, {d: np.ones(3, np.float32), i: [1, 0, 1]})


@needs_cl
@pytest.mark.parametrize("key", sorted(SPARSE_OPTIMIZERS))
def test_sparse_optimizer_steps_on_the_device_match_tensorflow(key):
    cls, kwargs = SPARSE_OPTIMIZERS[key]
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        emb = tf.Variable(GOLDEN["sparse/init"], name="emb")
        step = getattr(tf.train, cls)(**kwargs).minimize(_lookup_loss(emb, GOLDEN["sparse/ids"]))
    import pyopencl.array as cla

    types = {op.type for op in g.get_operations()}
    assert types & {"SparseApplyMomentum", "SparseApplyAdagrad", "ScatterSub", "ScatterAdd"}, types
    with tf.Session(graph=g) as s:  # no soft placement: Unique (the duplicate-index sum) runs there too
        s.run(tf.variables_initializer(g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)))
        for _ in range(3):
            s.run(step)
        np.testing.assert_allclose(s.run(emb), GOLDEN[f"sparse/{key}"], rtol=1e-5, atol=1e-6)
        # the update ran on the device: a CPU kernel would have left a NumPy array in the slot
        assert all(isinstance(slot.value, cla.Array) for slot in s._state.slots.values()), s._state.slots


@needs_cl
def test_scatter_ops_on_the_device_repeated_rows_broadcast_and_errors():
    init = np.arange(12, dtype=np.float32).reshape(4, 3)
    results = []
    for device in (DEV, "/cpu:0"):
        g = tf.Graph()
        with g.as_default(), g.device(device):
            v = tf.Variable(init)
            i = tf.placeholder(tf.int32, None)
            u = tf.placeholder(tf.float32, None)
            ops = [tf.scatter_add(v, i, u), tf.scatter_sub(v, i, 0.5), tf.scatter_update(v, i, u)]
        with tf.Session(graph=g) as s:
            s.run(v.initializer)
            first = s.run(v)
            feed = {i: [[2, 0], [2, 2]], u: np.arange(12, dtype=np.float32).reshape(2, 2, 3)}
            results.append([s.run(op, feed) for op in ops] + [first])
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[4\] is not in \[0, 4\) \(variable"):
                s.run(ops[0], {i: [1, 4], u: np.ones((2, 3), np.float32)})
            np.testing.assert_array_equal(s.run(v), results[-1][2])  # a failed update changes nothing
    assert_same(results[0], results[1])
    np.testing.assert_array_equal(results[0][3], init)  # a fetched value never changes


@needs_cl
@pytest.mark.parametrize("row", PRIMITIVES, ids=[r[0] for r in PRIMITIVES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_updates_on_the_device_vs_numpy(row, dtype):
    """Three steps of each Apply* op on the OpenCL device (no soft placement) against its NumPy reference
    (``tests/test_optimizers.py``'s table)."""
    var0, slots0, grads = _primitive_case(row, dtype)
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        var, slots, grad, update = _build_primitive(row, var0, slots0, dtype)
    ref_var, ref_slots = var0.astype(np.float64), [s.astype(np.float64) for s in slots0]
    with tf.Session(graph=g) as sess:
        sess.run(tf.variables_initializer(g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)))
        for x in grads:
            out = sess.run(update, {grad: x})
            ref_var, ref_slots = _ref_step(row, ref_var, ref_slots, x.astype(np.float64))
            np.testing.assert_allclose(out, ref_var, **tol)
            for s, r in zip(slots, ref_slots):
                np.testing.assert_allclose(sess.run(s), r, **tol)


@needs_cl
def test_index_value_maps_and_adjoints_on_the_device():
    x = np.random.default_rng(2).standard_normal((4, 5, 3)).astype(np.float32)

    def build(v, idx, lens):
        sliced = v[1:, ::2, 1]
        padded = tf.pad(v, [[1, 2], [2, 0], [0, 0]], mode="REFLECT")
        loss = tf.reduce_sum(sliced * sliced) + tf.reduce_sum(padded * padded)
        return [tf.gather_nd(v, idx), tf.scatter_nd(idx, tf.ones([3, 3]), [4, 5, 3]),
                tf.reverse_sequence(v, lens, seq_axis=1, batch_axis=0)] + tf.gradients(loss, v)
    idx = np.array([[0, 1], [3, 4], [0, 1]], np.int32)  # a repeated index: scatter_nd adds up
    got, want = run_both(build, [x, idx, np.array([5, 0, 2, 3], np.int64)])
    assert_same(got, want)
    assert got[1][0, 1, 0] == 2


@needs_cl
def test_index_errors_from_the_device_path():
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        v, i = tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.int32, None)
        gathered, scattered = tf.gather_nd(v, i), tf.scatter_nd(i, tf.ones([1]), [2, 3])
    with tf.Session(graph=g) as s:
        for out in (gathered, scattered):
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[0\] = \[1, 3\] does not index"):
                s.run(out, {v: np.ones((2, 3), np.float32), i: [[1, 3]]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="updates must have shape"):
            s.run(scattered, {i: [[1, 2], [0, 0]]})


@needs_cl
def test_top_k_where_and_invert_permutation_on_the_device():
    x = np.array([[3, np.nan, 1, 3, 7, -2], [0, 0, 0, 0, 0, 0], [5, 4, 3, 2, 1, 0]], np.float32)

    def build(v, k, p):
        vals, idx = tf.nn.top_k(v, 3)
        vals_k, idx_k = tf.nn.top_k(tf.cast(v * 2, tf.int32), k)  # ties in index order; k computed
        return [vals, idx, vals_k, idx_k, tf.where(v > 2), tf.where(tf.reshape(v, [-1]) > 100),
                tf.invert_permutation(p + 0)]
    got, want = run_both(build, [np.nan_to_num(x, nan=9.0), np.array(4, np.int32),
                                 np.array([2, 0, 3, 1], np.int32)])
    assert_same(got, want)
    got, want = run_both(lambda v: list(tf.nn.top_k(v, 2)) + [tf.where(tf.is_nan(v))], [x])
    np.testing.assert_array_equal(got[1], want[1])  # NaN first, as the CPU kernel
    np.testing.assert_array_equal(got[1][0], [1, 4])
    np.testing.assert_array_equal(got[2], want[2])


@needs_cl
def test_lin_space_and_check_numerics_on_the_device():
    got, want = run_both(lambda a, n: [tf.lin_space(a, a * 3 + 1, n), tf.lin_space(a, a, 1),
                                       tf.check_numerics(a * 2, "fine")],
                         [np.array(-0.7, np.float32), np.array(7, np.int32)])
    assert_same(got, want)
    assert got[0][-1] == np.float32(-0.7) * 3 + 1  # the endpoint exactly, as np.linspace
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        x = tf.placeholder(tf.float32, None)
        checked = tf.check_numerics(tf.log(x), "log of x")
    with tf.Session(graph=g) as s:
        np.testing.assert_allclose(s.run(checked, {x: [1.0, 2.0]}), np.log([1.0, 2.0]), rtol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match="log of x : Tensor had Inf and NaN values"):
            s.run(checked, {x: [0.0, -1.0]})


@needs_cl
@pytest.mark.parametrize("strides,padding", [((1, 2, 2, 1), "SAME"), ((1, 1, 1, 1), "VALID")])
def test_depthwise_conv_and_gradients_on_the_device(strides, padding):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 2)).astype(np.float32)

    def build(a, f):
        y = tf.nn.depthwise_conv2d(a, f, strides, padding)
        return [y] + tf.gradients(tf.reduce_sum(y * y), [a, f])
    got, want = run_both(build, [x, w])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)


@needs_cl
def test_max_pool_second_order_gradient_on_the_device():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    r = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)

    def build(a, b):
        y = tf.nn.max_pool(a, [1, 2, 3, 1], [1, 2, 2, 1], "SAME")
        dx = tf.gradients(tf.reduce_sum(y * y), a)[0]  # MaxPoolGrad(a, y, 2y)
        types = {op.type for op in tf.get_default_graph().get_operations()}
        second = tf.gradients(tf.reduce_sum(dx * b), a)[0]  # through MaxPoolGradGrad
        assert "MaxPoolGradGrad" in {op.type for op in tf.get_default_graph().get_operations()} - types
        return [dx, second]
    got, want = run_both(build, [x, r])
    assert_same(got, want)


@needs_cl
def test_candidate_samplers_and_accidental_hits_replay_the_cpu_on_the_device():
    def build(true):
        out = []
        for sampler in (tf.nn.uniform_candidate_sampler, tf.nn.log_uniform_candidate_sampler):
            out += list(sampler(true, 2, 6, True, 10, seed=3))
        return out + list(tf.nn.compute_accidental_hits(true, out[0], num_true=2))
    got, want = run_both(build, [np.array([[1, 2], [0, 7], [4, 4]], np.int64)])
    assert_same(got, want)  # the same seeded stream on both devices


# ---- Einsum, Multinomial, Unique (issue 11: the last ops without OpenCL kernels) ----------------
EINSUMS = [("bhqd,bhkd->bhqk", [(2, 4, 64, 16), (2, 4, 64, 16)]), ("bij,jk->bik", [(8, 64, 64), (64, 64)]),
           ("ij,kj->ik", [(1, 5), (3, 5)]), ("ii,i->", [(6, 6), (6,)]), ("ijk,ikl,jl->k", [(2, 3, 4), (2, 4, 5), (3, 5)]),
           ("a,b,c->abc", [(2,), (3,), (4,)]), ("ab,ab,ab->b", [(2, 3), (2, 3), (1, 3)]),
           ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("iij->ji", [(3, 3, 2)]), ("ij,jk->ik", [(0, 3), (3, 2)])]


@needs_cl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_einsum_on_the_device_vs_numpy(dtype):
    rng = np.random.default_rng(6)
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for eq, shapes in EINSUMS:
        xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
        got, want = run_both(lambda *ph: [tf.einsum(eq, *ph)], xs)
        assert got[0].shape == want[0].shape == np.einsum(eq, *xs).shape, eq
        np.testing.assert_allclose(got[0], np.einsum(eq, *xs), err_msg=eq, **tol)


@needs_cl
def test_einsum_gradient_on_the_device():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 4))

    def build(x, y):
        z = tf.einsum("bij,jk->bik", x, y) + tf.einsum("bii->bi", x[:, :, :4])[..., None]
        return tf.gradients(tf.reduce_sum(z * z), [x, y])
    got, want = run_both(build, [a, b])
    for p, q in zip(got, want):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-10)


@needs_cl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multinomial_on_the_device_replays_the_cpu_stream(dtype):
    probs = np.array([[0.1, 0.2, 0.7, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 1.0, 0.0]])
    with np.errstate(divide="ignore"):
        logits = np.log(probs).astype(dtype) + np.array([[0], [5], [-3]], dtype)  # shifts change nothing

    def build(x, n):
        return [tf.multinomial(x, 20000, seed=3), tf.random.categorical(x, n, dtype=tf.int32, seed=4)]
    got, want = run_both(build, [logits, np.array(7, np.int32)])
    assert_same(got, want)  # the same seeded stream, the same inverse-CDF picks
    freq = np.stack([np.bincount(row, minlength=4) / 20000 for row in got[0]])
    np.testing.assert_allclose(freq, probs, atol=0.015)  # ~4 standard errors
    assert not got[0][0][got[0][0] == 3].size and (got[0][2] == 2).all()  # probability 0 is never drawn
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        x = tf.placeholder(tf.float32, None)
        draws = tf.multinomial(x, 3, seed=1)
    with tf.Session(graph=g) as s:
        first, second = s.run(draws, {x: np.zeros((2, 50), np.float32)}), s.run(draws, {x: np.zeros((2, 50))})
        assert first.shape == (2, 3) and not np.array_equal(first, second)  # each run draws anew
        assert s.run(draws, {x: np.zeros((0, 5))}).shape == (0, 3)
        with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes should be positive"):
            s.run(draws, {x: np.zeros((2, 0), np.float32)})


@needs_cl
@pytest.mark.parametrize("dtype,out_idx", [(np.int32, tf.int32), (np.int64, tf.int64), (np.float32, tf.int32),
                                           (np.float64, tf.int64)])
def test_unique_on_the_device_first_occurrence_order(dtype, out_idx):
    rng = np.random.default_rng(8)
    cases = [np.array([4, 1, 4, 2, 1, 7]), rng.integers(-40, 40, 3000), np.array([5]), np.zeros(0),
             np.arange(1000)[::-1]]
    if dtype in (np.float32, np.float64):
        cases.append(np.array([np.nan, 1.0, -0.0, 0.0, np.nan, 1.0, 3.0]))
    for x in cases:
        x = x.astype(dtype)
        got, want = run_both(lambda v: list(tf.unique(v, out_idx=out_idx)), [x])
        for p, q in zip(got, want):
            assert p.dtype == q.dtype and p.shape == q.shape
            np.testing.assert_array_equal(p, q)
            np.testing.assert_array_equal(np.signbit(p), np.signbit(q))  # -0.0 first: -0.0 kept
        np.testing.assert_array_equal(got[0][got[1]], x)  # x == y[idx]


# ---- decompositions: one work-group per matrix ------------------------------------------------
def _tol(dtype):
    return dict(rtol=1e-9, atol=1e-9) if dtype == np.float64 else dict(rtol=2e-3, atol=2e-4)


def _on_device(build, feeds):
    """``build(*placeholders)`` run on the OpenCL device alone (no soft placement)."""
    return run_both(build, feeds)[0]


@needs_cl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cholesky_inverse_determinant_on_the_device_vs_numpy(dtype):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((4, 64, 64)).astype(dtype)
    spd = a @ np.swapaxes(a, -1, -2) + 64 * np.eye(64, dtype=dtype)
    small = rng.standard_normal((3, 5, 5)).astype(dtype) + 2 * np.eye(5, dtype=dtype)

    def build(s, x, y):
        return [tf.cholesky(s), tf.matrix_inverse(x), tf.matrix_inverse(x, adjoint=True), tf.matrix_determinant(y),
                tf.matrix_inverse(y)]
    chol, inv, inv_adj, det, inv_small = _on_device(build, [spd, a, small])
    np.testing.assert_allclose(chol, np.linalg.cholesky(spd), **_tol(dtype))
    np.testing.assert_allclose(inv @ a, np.broadcast_to(np.eye(64), a.shape), atol=1e-3 if dtype == np.float32 else 1e-9)
    np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=5e-2 if dtype == np.float32 else 1e-7, atol=1e-3)
    np.testing.assert_allclose(inv_adj, np.linalg.inv(np.swapaxes(a, -1, -2)), rtol=5e-2 if dtype == np.float32
                               else 1e-7, atol=1e-3)
    np.testing.assert_allclose(det, np.linalg.det(small), rtol=1e-4 if dtype == np.float32 else 1e-10)
    np.testing.assert_allclose(inv_small, np.linalg.inv(small), **_tol(dtype))
    assert chol.dtype == det.dtype == dtype and not np.triu(chol, 1).any()


@needs_cl
def test_singular_and_not_positive_definite_are_tfs_semantics_on_the_device():
    g = tf.Graph()
    with g.as_default(), g.device(DEV):
        x = tf.placeholder(tf.float64, None)
        det, inv, chol = tf.matrix_determinant(x), tf.matrix_inverse(x), tf.cholesky(x)
    singular = np.array([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]])
    with tf.Session(graph=g) as s:
        np.testing.assert_allclose(s.run(det, {x: singular}), [0.0, 6.0])  # singular: 0, as the CPU kernel
        with pytest.raises(tf.errors.InvalidArgumentError, match="Input is not invertible"):
            s.run(inv, {x: singular})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Cholesky decomposition was not successful"):
            s.run(chol, {x: np.array([[1.0, 2.0], [2.0, 1.0]])})
        np.testing.assert_allclose(s.run(det, {x: np.zeros((0, 3, 3))}), np.zeros(0))
        assert s.run(det, {x: np.zeros((2, 0, 0))}).tolist() == [1.0, 1.0]  # NumPy's empty determinant


@needs_cl
def test_cholesky_and_inverse_gradients_on_the_device():
    rng = np.random.default_rng(10)
    a = rng.standard_normal((3, 6, 6))

    def build(x):
        spd = tf.matmul(x, x, adjoint_b=True) + 6 * tf.eye(6, dtype=tf.float64)
        loss = tf.reduce_sum(tf.cholesky(spd) ** 2) + tf.reduce_sum(tf.matrix_inverse(spd)) + \
            tf.reduce_sum(tf.matrix_determinant(x + 3 * tf.eye(6, dtype=tf.float64)))
        return tf.gradients(loss, x)
    got, want = run_both(build, [a])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-8, atol=1e-9)


@needs_cl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 64, 64), (2, 40, 7), (7, 3)])
def test_qr_and_svd_on_the_device_vs_numpy(dtype, shape):
    from dataflow.ops.linalg_qr import qr

    a = np.random.default_rng(11).standard_normal(shape).astype(dtype)
    tol = _tol(dtype)

    def build(x):
        return list(qr(x)) + list(qr(x, full_matrices=True)) + list(tf.svd(x)) + list(tf.svd(x, full_matrices=True)) + \
            [tf.svd(tf.matrix_transpose(x), compute_uv=False)]
    q, r, qf, rf, s, u, v, sf, uf, vf, s_wide = _on_device(build, [a])
    for got, want in zip([q, r, qf, rf], list(np.linalg.qr(a)) + list(np.linalg.qr(a, mode="complete"))):
        np.testing.assert_allclose(got, want, **tol)  # Householder with LAPACK's signs: NumPy's q and r
    s0 = np.linalg.svd(a, compute_uv=False)
    k = min(shape[-2:])
    for sv, uu, vv in ((s, u, v), (sf, uf, vf)):
        np.testing.assert_allclose(sv, s0, **tol)
        np.testing.assert_allclose((uu[..., :k] * sv[..., None, :]) @ np.swapaxes(vv[..., :k], -1, -2), a, **tol)
        for m in (uu, vv):  # orthonormal columns (square when full_matrices)
            np.testing.assert_allclose(np.swapaxes(m, -1, -2) @ m, np.broadcast_to(np.eye(m.shape[-1]),
                                       m.shape[:-2] + (m.shape[-1],) * 2), atol=1e-4 if dtype == np.float32 else 1e-10)
    assert uf.shape[-2:] == (shape[-2],) * 2 and vf.shape[-2:] == (shape[-1],) * 2
    np.testing.assert_allclose(s_wide, s0, **tol)


@needs_cl
def test_svd_of_rank_deficient_matrices_on_the_device():
    rng = np.random.default_rng(12)
    a = rng.standard_normal((2, 9, 2)) @ rng.standard_normal((2, 2, 5))  # rank 2 of 5 columns
    s, u, v = _on_device(lambda x: list(tf.svd(x)), [a])
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-10)
    np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(5), (2, 5, 5)), atol=1e-10)
    np.testing.assert_allclose((u * s[..., None, :]) @ np.swapaxes(v, -1, -2), a, atol=1e-10)
    zero = _on_device(lambda x: list(tf.svd(x, full_matrices=True)), [np.zeros((4, 3))])
    assert not zero[0].any() and np.allclose(zero[1].T @ zero[1], np.eye(4)) and np.allclose(zero[2].T @ zero[2], np.eye(3))
