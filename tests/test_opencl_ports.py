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
    # soft placement: Unique (the optimizers' duplicate-index sum) has no OpenCL kernel
    with tf.Session(graph=g, config=tf.ConfigProto(allow_soft_placement=True)) as s:
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
