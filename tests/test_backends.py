"""Backends: the contract, lazy imports, placement (TF's rules and messages), _Send/_Recv steps, device
state between runs, the OpenCL vocabulary on sizes the op table does not reach, and the CUDA sources
compiled by nvcc where nvcc exists."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import backends
import dataflow as tf
from dataflow.framework.registry import OP_DEFS

HAS_CL = backends.available("OPENCL", 0)
needs_cl = pytest.mark.skipif(not HAS_CL, reason="no OpenCL device (pip install 'pyopencl[pocl]')")
CL = "/device:OPENCL:0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_without_pyopencl_or_cupy_and_clear_error():
    code = ("import sys; sys.modules['pyopencl'] = None; sys.modules['cupy'] = None\n"
            "import dataflow as tf, backends\n"
            "assert 'pyopencl' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
            "try:\n    backends.get('OPENCL', 0)\nexcept backends.MissingBackendError as e:\n    print(e)\n"
            "try:\n    backends.get('CUDA', 0)\nexcept backends.MissingBackendError as e:\n    print(e)\n"
            "print([b.name for b in backends.available_backends()])\n"
            "x = tf.constant([1.0, 2.0]) * 2.0\nprint(tf.Session().run(x))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'pip install "pyopencl[pocl]"' in out.stdout
    assert "pip install cupy-cuda12x" in out.stdout
    assert "['CPU']" in out.stdout and "[2. 4.]" in out.stdout


def test_backends_are_found_by_name_and_pickle_by_name():
    import pickle

    cpu = backends.get("CPU", 0)
    assert backends.get("cpu", 0) is cpu and pickle.loads(pickle.dumps(cpu)) is cpu
    with pytest.raises(KeyError):
        backends.get("TPU", 0)
    if HAS_CL:
        cl = backends.get("OPENCL", 0)
        assert pickle.loads(pickle.dumps(cl)) is cl and cl.device == CL


def test_gpu_without_a_gpu_is_tf_error_or_soft_placed():
    if backends.available("CUDA", 0) or any(getattr(b, "is_gpu", False) for b in backends.available_backends()):
        pytest.skip("a GPU exists here")
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            y = tf.add(tf.constant(1.0), 2.0, name="on_gpu")
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Cannot assign a device for operation .*was explicitly assigned to "
                                 r"/device:GPU:0 but available devices are \[ /job:localhost/replica:0/task:0/"
                                 "device:CPU:0"):
            tf.Session().run(y)
        assert tf.Session(config=tf.ConfigProto(allow_soft_placement=True)).run(y) == 3.0


@needs_cl
def test_no_kernel_is_an_error_without_soft_placement_and_a_visible_copy_with_it(capfd):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4], name="x")
        with tf.device(CL):
            y = tf.square(x, name="sq")
            z = tf.py_func(lambda v: v, [y], tf.float32, name="cp")  # PyFunc has no OpenCL kernel
            w = tf.add(z, 1.0, name="plus")
        with pytest.raises(tf.errors.InvalidArgumentError, match="no supported kernel for OPENCL devices.*PyFunc"):
            tf.Session().run(w, {x: np.ones(4, np.float32)})
        cfg = tf.ConfigProto(allow_soft_placement=True, log_device_placement=True)
        sess = tf.Session(config=cfg)
        xv = np.arange(1, 5, dtype=np.float32)
        np.testing.assert_allclose(sess.run(w, {x: xv}), xv ** 2 + 1)
        err = capfd.readouterr().err
        assert "sq: (Square): /job:localhost/replica:0/task:0/device:OPENCL:0" in err
        assert "cp: (PyFunc): /job:localhost/replica:0/task:0/device:CPU:0" in err
        plan = next(iter(sess._plans.values()))
        moves = {(t.op.name, src, dst) for t, src, dst, _ in plan.transfers}
        assert moves == {("sq", CL, "/device:CPU:0"), ("cp", "/device:CPU:0", CL)}
        assert all("_Recv" in k and k in plan.dsk for *_, k in plan.transfers)
        meta = tf.RunMetadata()
        sess.run(w, {x: xv}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
        nodes = {(n.name, n.op, n.device): list(n.input) for gd in meta.partition_graphs for n in gd.node}
        assert nodes[("sq/_Send_0", "_Send", CL)] == ["sq"]
        assert ("sq/_Recv_0", "_Recv", "/device:CPU:0") in nodes
        assert ("cp/_Send_0", "_Send", "/device:CPU:0") in nodes and ("cp/_Recv_0", "_Recv", CL) in nodes


@needs_cl
def test_variables_stay_on_the_device_between_runs():
    import pyopencl.array as cla

    with tf.Graph().as_default():
        with tf.device(CL):
            v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
            step = tf.assign_add(v, tf.ones([2, 3]))
            loss = tf.reduce_sum(v * v)
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        sess = tf.Session()
        sess.run(v.initializer)
        sess.run(step)
        slot = sess._state.slots["v"]
        assert isinstance(slot.value, cla.Array)
        before = sess.run(v)
        sess.run(train)
        assert isinstance(slot.value, cla.Array)
        np.testing.assert_allclose(sess.run(v), before - 0.1 * 2 * before, rtol=1e-6)
        assert isinstance(sess.run(v), np.ndarray)


@needs_cl
@pytest.mark.parametrize("m,k,n,ta,tb", [(1, 1, 1, False, False), (33, 17, 65, False, False),
                                         (64, 64, 64, True, False), (13, 7, 12, False, False),
                                         (5, 70, 9, False, True), (40, 3, 31, True, True),
                                         (40, 3, 32, True, True), (6, 10, 8, False, True)])
def test_opencl_gemm_shapes_and_transposes(m, k, n, ta, tb):
    from backends.opencl import vocab

    b = backends.get("OPENCL", 0)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    c = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    got = vocab.matmul(b.dev, b.from_host(a), b.from_host(c), ta, tb).get()
    np.testing.assert_allclose(got, (a.T if ta else a) @ (c.T if tb else c), rtol=1e-4, atol=1e-4)


@needs_cl
def test_opencl_reductions_large_two_pass_and_float64():
    from backends.opencl import vocab

    b = backends.get("OPENCL", 0)
    x = np.random.default_rng(1).standard_normal(300_001)
    for dt in (np.float32, np.float64):
        d = b.from_host(x.astype(dt))
        np.testing.assert_allclose(vocab.reduce(b.dev, d, None, "sum").get(), x.astype(dt).sum(), rtol=1e-5)
        assert vocab.reduce(b.dev, d, None, "max").get() == x.astype(dt).max()
        assert vocab.reduce(b.dev, d, (0,), "argmin", np.int64).get() == x.argmin()
    y = np.random.default_rng(2).standard_normal((3, 4, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(vocab.reduce(b.dev, b.from_host(y), (0, 2), "sum").get(), y.sum((0, 2)), rtol=1e-5)


@needs_cl
def test_opencl_build_failure_shows_the_build_log():
    b = backends.get("OPENCL", 0)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="(?s)build failed.*undeclared identifier 'undefined_name'"):
        b.dev.kernel("__kernel void bad(__global float *x) { x[0] = undefined_name; }", "bad")


def check_fused_program(b):
    """``b.compile_fused`` of a two-output program (broadcast operand, a scalar, a comparison) against NumPy;
    the outputs stay device arrays (also run for CUDA by tests/test_cuda.py)."""
    program = (("Mul", (("in", 0), ("in", 1)), ()), ("Add", (("step", 0), ("in", 2)), ()),
               ("Relu", (("step", 1),), ()), ("Greater", (("step", 2), ("in", 2)), ()))
    f32 = np.dtype(np.float32)
    fn = b.compile_fused(program, (2, 3), (f32, f32, f32), (f32, np.dtype(bool)))
    rng = np.random.default_rng(3)
    a, c = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    relu, gt = fn(b.from_host(a), np.float32(2.0), b.from_host(c))
    assert b.is_device_array(relu) and b.is_device_array(gt)
    want = np.maximum(a * 2 + c, 0)
    np.testing.assert_allclose(relu.get(), want, rtol=1e-6)
    np.testing.assert_array_equal(gt.get(), want > c)


@needs_cl
def test_opencl_fused_program_against_numpy():
    check_fused_program(backends.get("OPENCL", 0))


def test_opencl_kernel_table_covers_the_training_families():
    """Which registered ops have no OpenCL kernel (they run on the CPU under soft placement): the list
    docs/DESIGN.md gives. A new op without a kernel must be added here knowingly."""
    from backends.opencl.kernels import KERNELS

    missing = sorted(t for t, d in OP_DEFS.items() if d.kernel is not None and t not in KERNELS)
    assert missing == sorted(NO_OPENCL_KERNEL), missing


NO_OPENCL_KERNEL = [
    "Assert", "InitializedValue", "Print", "PrintV2", "PyFunc", "PyFuncStateless", "ReportUninitialized",
    # host ops by nature (strings, files, queues, iterators, protos): TF keeps them in host memory too
    "AudioSummaryV2", "CountUpTo", "DecodeCSV", "DecodePng", "DecodeRaw", "EncodePng", "FIFOQueueV2",
    "FixedLengthRecordReaderV2", "HistogramSummary", "ImageSummary", "IteratorFromStringHandleV2",
    "IteratorGetNext", "IteratorToStringHandle", "IteratorV2", "MakeIterator", "MergeSummary", "OneShotIterator",
    "PaddingFIFOQueueV2", "ParseExample", "ParseSingleExample", "ParseSingleSequenceExample", "QueueCloseV2",
    "QueueDequeueManyV2", "QueueDequeueUpToV2", "QueueDequeueV2", "QueueEnqueueManyV2", "QueueEnqueueV2",
    "QueueIsClosedV2", "QueueSizeV2", "RandomShuffleQueueV2", "ReaderNumRecordsProducedV2",
    "ReaderNumWorkUnitsCompletedV2", "ReaderReadUpToV2", "ReaderReadV2", "ReaderResetV2", "ScalarSummary",
    "SparseToDense", "StringSplit", "StringToNumber", "TFRecordReaderV2", "TensorSummaryV2", "TextLineReaderV2",
    "WholeFileReaderV2",
    # host ops too: shapes of graphs written by TF, SparseFeature's reorder, JPEG through Pillow
    "BroadcastGradientArgs", "DecodeJpeg", "EncodeJpeg", "SparseReorder"]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on this machine")
def test_cuda_sources_compile_with_nvcc(tmp_path):
    from backends import cexpr
    from backends.cuda import source

    f32, f64, i32, b = (np.dtype(t) for t in ("float32", "float64", "int32", "bool"))
    kernels = []
    for op_type in sorted(set(cexpr.EXPR) | set(cexpr.FLOAT_EXPR) | set(cexpr.INT_EXPR)):
        n = 3 if op_type in ("Select", "SelectV2") else 1 if op_type in _UNARY else 2
        for dt in (f32, f64, i32):
            ins = [b] + [dt, dt] if n == 3 else [dt] * n
            if cexpr.expression(op_type, ins) is None:
                continue
            kernels.append(source.global_source(*source.elementwise_parts(op_type, ins, dt),
                                                name=f"k{len(kernels)}"))
    program = (("Mul", (("in", 0), ("in", 1)), ()), ("Add", (("step", 0), ("in", 2)), ()),
               ("Relu", (("step", 1),), ()))
    kernels.append(source.global_source(*source.fused_parts(program, (2,), (f32, f32, f32), (f32,)), name="fused"))
    from backends.cuda import scatter

    kernels.append(scatter._PREAMBLE + 'extern "C" __global__ void scatter_extremes(double* o, float* f, '
                   "const double* v, const long long* ids, long long r, long long n) {\n"
                   "    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
                   "    if (i < n) { df_cas_extreme<double, unsigned long long>(&o[ids[i / r] * r + i % r], v[i], true);\n"
                   "                 df_cas_extreme<float, unsigned int>(&f[ids[i / r]], (float)v[i], false); }\n}\n")
    cu = tmp_path / "kernels.cu"
    cu.write_text("\n".join(kernels))
    out = subprocess.run(["nvcc", "-ptx", str(cu), "-o", str(tmp_path / "kernels.ptx")], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "kernels.ptx").read_text().count(".entry") == len(kernels)


_UNARY = {"Neg", "Abs", "Sign", "Square", "Sqrt", "Rsqrt", "Reciprocal", "Exp", "Expm1", "Log", "Log1p", "Sin",
          "Cos", "Tan", "Tanh", "Sigmoid", "Floor", "Ceil", "Round", "IsNan", "IsInf", "IsFinite", "LogicalNot",
          "Relu", "Cast", "Identity", "StopGradient"}
