"""The CUDA backend on a real GPU (CuPy): placement, device-resident variables, the generated elementwise and
fused kernels against NumPy, cuBLAS GEMM, convolution training against the CPU, the memory-pool options.

Every test here skips unless CuPy sees a GPU (an actual device count, ``backends.available("CUDA", 0)``).
The op table's forward and gradient rows run on the GPU too (tests/test_ops.py, parametrized over the
backends present); the CUDA C of the generated kernels is compiled by nvcc where no GPU exists
(tests/test_backends.py)."""

import numpy as np
import pytest

import backends
import dataflow as tf

HAS_CUDA = backends.available("CUDA", 0)
pytestmark = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA GPU here (CuPy with a device count > 0)")
GPU = "/device:CUDA:0"


def test_gpu_names_the_cuda_device_and_logs_placement_as_tf(capfd):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        with tf.device("/gpu:0"):
            y = tf.add(x, 2.0, name="on_gpu")
        sess = tf.Session(config=tf.ConfigProto(log_device_placement=True))
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [3.0, 4.0])
        assert isinstance(sess.run(y, {x: [1.0, 2.0]}), np.ndarray)
    assert backends.backend_for_device("/gpu:0") is backends.get("CUDA", 0)
    assert "on_gpu: (Add): /job:localhost/replica:0/task:0/device:CUDA:0" in capfd.readouterr().err


def test_variables_stay_on_the_gpu_between_runs_and_training_matches_the_cpu():
    import cupy

    def train(device):
        with tf.Graph().as_default():
            tf.set_random_seed(1)
            with tf.device(device):
                v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
                loss = tf.reduce_sum(tf.square(v - 1.0))
                step = tf.train.AdamOptimizer(0.1).minimize(loss)
            sess = tf.Session()
            sess.run(tf.global_variables_initializer())
            for _ in range(5):
                sess.run(step)
            slot = sess._state.slots["v"]
            return sess.run(v), slot.value

    got, dev_value = train(GPU)
    want, _ = train("/cpu:0")
    assert isinstance(dev_value, cupy.ndarray)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_every_generated_elementwise_kernel_against_numpy():
    """Each op of the C expression table, as a CuPy ElementwiseKernel, against the op's NumPy kernel."""
    from backends import cexpr
    from dataflow.framework.registry import OP_DEFS

    b = backends.get("CUDA", 0)
    rng = np.random.default_rng(0)
    checked = []
    for op_type in sorted(set(cexpr.EXPR) | set(cexpr.FLOAT_EXPR) | set(cexpr.INT_EXPR)):
        opdef = OP_DEFS.get(op_type)
        if opdef is None or opdef.kernel is None:
            continue
        n = 3 if op_type in ("Select", "SelectV2") else 1 if op_type in _UNARY else 2
        for dt in (np.float32, np.float64, np.int32):
            ins_dt = [np.dtype(bool), np.dtype(dt), np.dtype(dt)] if n == 3 else [np.dtype(dt)] * n
            if cexpr.expression(op_type, ins_dt) is None:
                continue
            xs = [_sample(rng, d, op_type) for d in ins_dt]
            try:
                want = np.asarray(opdef.kernel(np, *xs) if op_type not in ("Cast",) else xs[0].astype(dt))
            except Exception:
                continue
            try:
                k = b._elementwise(op_type, tuple(ins_dt), want.dtype)
            except KeyError:
                continue
            got = k(*[b.from_host(x) for x in xs]).get()
            ok = np.isfinite(want) if want.dtype.kind == "f" else np.ones(want.shape, bool)
            np.testing.assert_allclose(got[ok], want[ok], rtol=1e-5 if dt == np.float32 else 1e-12, atol=1e-6,
                                       err_msg=f"{op_type} on {[d.name for d in ins_dt]}")
            checked.append((op_type, np.dtype(dt).name))
    assert len(checked) > 60, checked


_UNARY = {"Neg", "Abs", "Sign", "Square", "Sqrt", "Rsqrt", "Reciprocal", "Exp", "Expm1", "Log", "Log1p", "Sin",
          "Cos", "Tan", "Tanh", "Sigmoid", "Floor", "Ceil", "Round", "IsNan", "IsInf", "IsFinite", "LogicalNot",
          "Relu", "Cast", "Identity", "StopGradient", "Softplus", "Softsign", "Erf", "Erfc", "Lgamma", "Digamma",
          "Acos", "Asin", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Rint", "Elu", "Selu", "Relu6",
          "Invert", "Inv", "Log1p", "Exp2"}


def _sample(rng, dtype, op_type):
    if dtype.kind == "b":
        return rng.random(257) < 0.5
    if dtype.kind == "i":
        x = rng.integers(-20, 20, 257).astype(dtype)
        return np.where(x == 0, 3, x) if op_type in ("FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod",
                                                     "Div", "RealDiv", "Mod", "DivNoNan") else x
    lo = 0.1 if op_type in ("Log", "Sqrt", "Rsqrt", "Lgamma", "Digamma", "Acosh", "Pow") else -0.9
    return rng.uniform(lo, 0.95 if op_type in ("Acos", "Asin", "Atanh") else 3.0, 257).astype(dtype)


def test_fused_program_against_numpy():
    from test_backends import check_fused_program

    check_fused_program(backends.get("CUDA", 0))


def test_fusion_on_the_gpu_matches_the_cpu_and_shows_in_partition_graphs():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((64, 33)).astype(np.float32)

    def run(device):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [64, 33])
            with tf.device("/cpu:0"):
                h = tf.abs(x) - 0.5
            with tf.device(device):
                y = tf.nn.relu(h * 2.0 + 1.0) * tf.sigmoid(h) - tf.tanh(h)
            meta = tf.RunMetadata()
            out = tf.Session().run(y, {x: xs}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                                   run_metadata=meta)
            return out, [(n.op, n.device) for gd in meta.partition_graphs for n in gd.node]

    got, nodes = run(GPU)
    want, _ = run("/cpu:0")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert ("FusedElementwise", GPU) in nodes, nodes
    assert ("_Send", "/device:CPU:0") in nodes and ("_Recv", GPU) in nodes, nodes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_scatter_extremes_against_numpy(dtype):
    import cupy

    from backends.cuda.scatter import extreme_at

    rng = np.random.default_rng(6)
    vals = rng.standard_normal((5000, 3)).astype(dtype)
    vals[7, 1] = np.nan
    idx = rng.integers(0, 40, 5000)
    for ufunc in ("maximum", "minimum"):
        want = np.full((40, 3), np.inf if ufunc == "minimum" else -np.inf, dtype)
        getattr(np, ufunc).at(want, idx, vals)
        got = cupy.full((40, 3), np.inf if ufunc == "minimum" else -np.inf, dtype)
        extreme_at(cupy, ufunc, got, cupy.asarray(idx), cupy.asarray(vals))
        np.testing.assert_array_equal(got.get(), want)  # bit for bit, NaN where numpy has it


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_segment_extremes_and_their_gradients_with_ties_match_the_cpu(dtype):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 4, (300, 3)).astype(dtype)  # many ties
    ids = rng.integers(-1, 20, 300).astype(np.int32)

    def run(device):
        with tf.Graph().as_default():
            d = tf.placeholder(tf.as_dtype(dtype), [300, 3])
            with tf.device(device):
                mx = tf.unsorted_segment_max(d, ids, 20)
                mn = tf.unsorted_segment_min(d * 1.5, ids, 20)
                loss = tf.reduce_sum(mx * mx) + tf.reduce_sum(mn)
                grad = tf.gradients(loss, d)[0]
            return tf.Session().run([mx, mn, grad], {d: data})

    for got, want in zip(run(GPU), run("/cpu:0")):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_decompositions_on_the_gpu_and_a_singular_matrix_is_tfs_error():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((4, 6, 6))
    spd = a @ np.swapaxes(a, -1, -2) + 6 * np.eye(6)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None, 6, 6])
        with tf.device(GPU):
            outs = [tf.cholesky(x), tf.matrix_inverse(x), tf.matrix_determinant(x), tf.svd(x, compute_uv=False),
                    tf.einsum("bij,bjk->bik", x, x)]
        sess = tf.Session()  # no soft placement: each op has a GPU kernel
        chol, inv, det, s, sq = sess.run(outs, {x: spd})
        np.testing.assert_allclose(chol, np.linalg.cholesky(spd), rtol=1e-10)
        np.testing.assert_allclose(inv, np.linalg.inv(spd), rtol=1e-9)
        np.testing.assert_allclose(det, np.linalg.det(spd), rtol=1e-9)
        np.testing.assert_allclose(s, np.linalg.svd(spd, compute_uv=False), rtol=1e-9)
        np.testing.assert_allclose(sq, spd @ spd, rtol=1e-12)
        with pytest.raises(tf.errors.InvalidArgumentError, match="not invertible"):
            sess.run(outs[1], {x: np.zeros((1, 6, 6))})


@pytest.mark.parametrize("m,k,n", [(1024, 1024, 1024), (33, 17, 65), (1, 300, 1)])
def test_matmul_on_cublas_against_numpy(m, k, n):
    rng = np.random.default_rng(2)
    a, c = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    with tf.Graph().as_default():
        with tf.device(GPU):
            y = tf.matmul(tf.constant(a), tf.constant(c))
            yt = tf.matmul(tf.constant(c), tf.constant(a), transpose_a=True, transpose_b=True)
        got, got_t = tf.Session().run([y, yt])
    np.testing.assert_allclose(got, a @ c, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(got_t, (a @ c).T, rtol=2e-3, atol=2e-3)


def test_cnn_training_on_the_gpu_matches_the_cpu():
    rng = np.random.default_rng(4)
    images = rng.standard_normal((16, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 16)

    def train(device):
        with tf.Graph().as_default():
            tf.set_random_seed(7)
            x = tf.placeholder(tf.float32, [None, 8, 8, 1])
            y = tf.placeholder(tf.int64, [None])
            with tf.device(device):
                h = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
                h = tf.layers.max_pooling2d(h, 2, 2)
                h = tf.layers.dense(tf.layers.flatten(h), 10)
                loss = tf.losses.sparse_softmax_cross_entropy(y, h)
                step = tf.train.AdamOptimizer(1e-2).minimize(loss)
            sess = tf.Session()
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([loss, step], {x: images, y: labels})[0] for _ in range(10)]
            return np.array(losses)

    gpu, cpu = train(GPU), train("/cpu:0")
    np.testing.assert_allclose(gpu, cpu, rtol=2e-3, atol=2e-4)
    assert gpu[-1] < gpu[0]


def test_memory_fraction_caps_cupys_pool_and_an_oversized_allocation_is_resource_exhausted():
    import cupy

    pool = cupy.get_default_memory_pool()
    try:
        cfg = tf.ConfigProto()
        cfg.gpu_options.per_process_gpu_memory_fraction = 0.01
        total = cupy.cuda.runtime.memGetInfo()[1]
        with tf.Graph().as_default():
            with tf.device(GPU):
                big = tf.zeros([int(total * 0.02) // 4], tf.float32)
                s = tf.reduce_sum(big)
            sess = tf.Session(config=cfg)
            with pytest.raises(tf.errors.ResourceExhaustedError):
                sess.run(s)
            assert pool.get_limit() == int(total * 0.01)
    finally:
        pool.set_limit(size=0)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_cluster_worker_with_the_gpu_resource_trains_on_its_gpu():
    """``dask worker --resources GPU=1``: ops on /job:worker/task:0/device:GPU:0 run there on CUDA (no soft
    placement), the variable lives on that worker, and training equals the local run."""
    import os

    from dataflow.cluster import ProcessCluster

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {"PYTHONPATH": os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                     if p])}
    rng = np.random.default_rng(9)
    xs, ys = rng.standard_normal((64, 5)).astype(np.float32), rng.standard_normal((64, 1)).astype(np.float32)

    def train(target, device):
        with tf.Graph().as_default():
            with tf.device(device):
                w = tf.Variable(np.ones((5, 1), np.float32), name="w")
                loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(xs), w) - ys))
                step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
            cfg = tf.ConfigProto(operation_timeout_in_ms=60000, log_device_placement=False)
            with tf.Session(target, config=cfg) as sess:
                sess.run(tf.global_variables_initializer())
                for _ in range(5):
                    sess.run(step)
                return sess.run([w, loss])

    with ProcessCluster(worker=1, env=env, gpus={"worker-0": 1}) as c:
        got = train(c.target, "/job:worker/task:0/device:GPU:0")
    want = train("", "/cpu:0")
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5)
