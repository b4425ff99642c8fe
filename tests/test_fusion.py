"""Elementwise fusion (FusedElementwise) and buffer reuse: the NumPy evaluator against op-by-op NumPy,
graphs run with and without fusion, the fused op seen in partition_graphs, buffers reused safely."""

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops import fused
from rewrite_util import ALL_OFF, NO_FUSION, config, ran, run

F32 = np.float32


# ---- the evaluator alone ----------------------------------------------------------------------
def _program():
    # y = tanh(a * b + c) ; z = y * y - a   (b broadcasts along rows, c is a scalar)
    return ((("Mul", (("in", 0), ("in", 1)), ()),
             ("Add", (("step", 0), ("in", 2)), ()),
             ("Tanh", (("step", 1),), ()),
             ("Mul", (("step", 2), ("step", 2)), ()),
             ("Sub", (("step", 3), ("in", 0)), ()),
             ("Cast", (("step", 4),), (("DstT", tf.float64),))), (2, 5))


def _reference(a, b, c):
    y = np.tanh(a * b + c)
    return y, (y * y - a).astype(np.float64)


@pytest.mark.parametrize("shape", [(3, 5), (700, 129), (2, 40000)])  # whole, blocked, blocked inner axis
def test_compiled_program_equals_numpy_op_by_op(shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(F32)
    b = rng.standard_normal(shape[-1:]).astype(F32)
    c = np.array(0.5, F32)
    program, outputs = _program()
    fn = fused.compile_fused(program, outputs, (F32, F32, F32), (F32, np.float64))
    y, z = fn(a, b, c)
    ry, rz = _reference(a, b, c)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(z, rz)
    assert z.dtype == np.float64


def test_out_may_be_an_input_buffer():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 300)).astype(F32)
    expect = np.exp(a * 2.0) - a
    program = (("Mul", (("in", 0), ("in", 1)), ()), ("Exp", (("step", 0),), ()), ("Sub", (("step", 1), ("in", 0)), ()))
    fn = fused.compile_fused(program, (2,), (F32, F32), (F32,))
    (res,) = fn(a, np.array(2.0, F32), out=a)
    assert res is a
    np.testing.assert_array_equal(a, expect)
    # an output that is not the last step: later steps still read the input, so it is written at the end
    b = rng.standard_normal((300, 300)).astype(F32)
    later = program + (("Add", (("in", 0), ("step", 2)), ()),)
    c = b.copy()
    (res,) = fused.compile_fused(later, (2,), (F32, F32), (F32,))(c, np.array(2.0, F32), out=c)
    assert res is c
    np.testing.assert_array_equal(res, np.exp(b * 2.0) - b)


def test_buffers_are_reused_within_a_block():
    chain = tuple(("Exp" if j % 2 else "Neg", (("in", 0),) if j == 0 else (("step", j - 1),), ()) for j in range(12))
    src, buffers = fused._block_source(chain, (11,), 1, [np.dtype(F32)] * 12)
    assert len(buffers) == 2  # a chain needs two live buffers, not eleven


def test_integer_bool_and_select_steps():
    rng = np.random.default_rng(2)
    i = rng.integers(-50, 50, (300, 250)).astype(np.int32)
    j = rng.integers(1, 9, (250,)).astype(np.int32)
    program = (("FloorMod", (("in", 0), ("in", 1)), ()), ("Greater", (("step", 0), ("in", 2)), ()),
               ("SelectV2", (("step", 1), ("in", 0), ("step", 0)), ()))
    fn = fused.compile_fused(program, (1, 2), (np.int32, np.int32, np.int32), (np.bool_, np.int32))
    m, s = fn(i, j, np.array(3, np.int32))
    np.testing.assert_array_equal(m, np.mod(i, j) > 3)
    np.testing.assert_array_equal(s, np.where(np.mod(i, j) > 3, i, np.mod(i, j)))


# ---- through the runtime ------------------------------------------------------------------------
def _layer_norm_gelu(x):
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    d = x - mean
    var = tf.reduce_mean(tf.square(d), axis=-1, keepdims=True)
    y = d * tf.rsqrt(var + 1e-5) * 1.5 + 0.1
    return 0.5 * y * (1.0 + tf.tanh(0.7978845608 * (y + 0.044715 * y * y * y)))


def test_fusion_matches_unfused_and_shows_in_partition_graphs():
    x = tf.placeholder(tf.float32, [300, 257], name="x")
    out = tf.identity(_layer_norm_gelu(x), name="out")
    feed = {x: np.random.default_rng(3).standard_normal((300, 257)).astype(F32)}
    off, ops_off, _ = run(out, feed, **ALL_OFF)
    nofuse, ops_nofuse, _ = run(out, feed, **NO_FUSION)
    on, ops_on, names = run(out, feed)
    np.testing.assert_allclose(on, off, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nofuse, off, rtol=1e-5, atol=1e-6)
    assert "FusedElementwise" not in ops_off + ops_nofuse
    assert ran(ops_on, "FusedElementwise") == 3  # sub+square | var+eps, rsqrt | the rest
    assert ran(ops_on, "Mul") == ran(ops_on, "Add") == ran(ops_on, "Tanh") == 0
    assert ran(ops_on, "Mean") == 2


def test_a_fetched_intermediate_is_an_extra_output_and_fused_ops_keep_the_roots_name():
    x = tf.placeholder(tf.float32, [4, 3], name="x")
    h = tf.exp(x * 2.0, name="h")
    y = tf.add(h * h, 1.0, name="y")
    feed = {x: np.linspace(-1, 1, 12, dtype=F32).reshape(4, 3)}
    (hv, yv), ops, names = run([h, y], feed)
    np.testing.assert_allclose(hv, np.exp(feed[x] * 2), rtol=1e-6)
    np.testing.assert_allclose(yv, hv * hv + 1, rtol=1e-6)
    # h is fetched: it roots its own group (x*2, exp), whose value y's group reads
    assert {k: v for k, v in names.items() if v != "Const"} == {"h": "FusedElementwise", "y": "FusedElementwise"}


def test_a_value_read_outside_the_group_comes_out_of_the_fused_op():
    x = tf.placeholder(tf.float32, [5, 6], name="x")
    e = tf.exp(x * 0.5)
    total = tf.reduce_sum(e * 3.0)  # reads e*3 outside the chain below
    y = tf.sqrt(e * 3.0 + 1.0) - e
    feed = {x: np.random.default_rng(4).standard_normal((5, 6)).astype(F32)}
    off, _, _ = run([total, y], feed, **ALL_OFF)
    on, ops, _ = run([total, y], feed)
    np.testing.assert_allclose(on[0], off[0], rtol=1e-5)
    np.testing.assert_allclose(on[1], off[1], rtol=1e-6)
    assert ran(ops, "FusedElementwise") == 1 and ran(ops, "Exp") == 0


def test_no_group_depends_on_itself_through_an_outside_op():
    x = tf.placeholder(tf.float32, [4, 5], name="x")
    e = tf.exp(x)
    s = tf.reduce_sum(e, axis=1, keepdims=True)  # outside, reads e, and feeds the chain below
    y = (e * 2.0) / s + e
    feed = {x: np.random.default_rng(5).standard_normal((4, 5)).astype(F32)}
    off = run(y, feed, **ALL_OFF)[0]
    on, ops, _ = run(y, feed)
    np.testing.assert_allclose(on, off, rtol=1e-6)
    assert "Sum" in ops


@pytest.mark.parametrize("seed", range(6))
def test_random_elementwise_trees_fuse_to_the_same_values(seed):
    rng = np.random.default_rng(seed)
    xs = [tf.placeholder(tf.float32, shape, name=f"x{k}") for k, shape in enumerate([[7, 9], [9], [7, 1]])]
    pool = list(xs)
    unary = [tf.tanh, tf.sigmoid, tf.abs, lambda t: tf.square(t) * 0.1, tf.negative, tf.nn.relu]
    binary = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum, lambda a, b: a / (tf.abs(b) + 1.0)]
    for _ in range(14):
        if rng.random() < 0.4:
            pool.append(unary[rng.integers(len(unary))](pool[rng.integers(len(pool))]))
        else:
            pool.append(binary[rng.integers(len(binary))](pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]))
    fetch = [pool[-1], pool[-3]]
    feed = {x: rng.standard_normal(x.shape.as_list()).astype(F32) for x in xs}
    off = run(fetch, feed, **ALL_OFF)[0]
    on, ops, _ = run(fetch, feed)
    for a, b in zip(on, off):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_fused_op_that_fails_names_the_users_op():
    a = tf.placeholder(tf.float32, [None], name="a")
    b = tf.placeholder(tf.float32, [None], name="b")
    y = tf.exp(tf.multiply(a, b, name="prod")) + 1.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="while running Mul 'prod'") as e:
        run(y, {a: np.ones(2), b: np.ones(3)})
    assert e.value.op is y.op.inputs[0].op.inputs[0].op and "[[node prod (defined at" in str(e.value)
    assert "test_fusion.py" in str(e.value)


# ---- buffer reuse ---------------------------------------------------------------------------------
def _source(fetch, feed, **rewrites):
    with tf.Session(config=config(**rewrites)) as sess:
        values = sess.run(fetch, feed)
        (plan,) = sess._plans.values()
        return values, plan.sources_code[0]


def test_elementwise_kernels_write_into_dead_inputs():
    x = tf.placeholder(tf.float32, [64, 64], name="x")
    y = tf.reduce_sum(tf.exp(tf.sqrt(tf.abs(x) + 1.0)) * 2.0)
    feed = {x: np.random.default_rng(6).standard_normal((64, 64)).astype(F32)}
    plain, src_plain = _source(y, feed, memory_optimization=tf.RewriterConfig.NO_MEM_OPT, remapping=tf.RewriterConfig.OFF)
    reused, src = _source(y, feed, remapping=tf.RewriterConfig.OFF)
    assert "out=" not in src_plain and src.count("out=") == 4  # sqrt, exp, mul, add: not abs (reads the feed)
    assert "out=a0" not in src
    np.testing.assert_array_equal(reused, plain)


def test_values_still_needed_are_never_overwritten():
    x = tf.placeholder(tf.float32, [32, 32], name="x")
    t = tf.abs(x) + 1.0
    r = tf.reshape(t, [1024])  # a view of t: t's buffer is not reused
    u = tf.exp(t) * 2.0
    fetch = [t * 0.0 + tf.reduce_sum(r), u, tf.sqrt(u)]
    feed = {x: np.random.default_rng(7).standard_normal((32, 32)).astype(F32)}
    expect = run(fetch, feed, **ALL_OFF)[0]
    with tf.Session(config=config(remapping=tf.RewriterConfig.OFF)) as sess:
        got = sess.run(fetch, feed)
        again = sess.run(fetch, feed)
    for a, b, c in zip(got, expect, again):
        np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_allclose(c, b, rtol=1e-6)


def test_blocks_split_over_threads_give_the_same_values(monkeypatch):
    from dataflow.ops import parallel

    monkeypatch.setattr(parallel, "WORKERS", 2)
    rng = np.random.default_rng(8)
    a = rng.standard_normal((1000, 300)).astype(F32)
    b = rng.standard_normal((300,)).astype(F32)
    program, outputs = _program()
    fn = fused.compile_fused(program, outputs, (F32, F32, F32), (F32, np.float64))
    y, z = fn(a, b, np.array(0.5, F32))
    ry, rz = _reference(a, b, np.array(0.5, F32))
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(z, rz)


def test_an_op_cloned_after_fusion_is_never_computed_twice():
    # dense -> relu -> batch norm -> dense, trained: fused bias-add+relu groups have extra outputs whose
    # readers get cloned; nothing may still read (and so re-run) the ops they replaced
    x = tf.placeholder(tf.float32, [16, 8], name="x")
    h = tf.layers.dense(x, 12, activation=tf.nn.relu)
    h = tf.layers.batch_normalization(h, training=True)
    h = tf.layers.dense(h, 12, activation=tf.nn.relu)
    loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1)))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {x: np.random.default_rng(9).standard_normal((16, 8)).astype(F32)}
    init = tf.global_variables_initializer()
    (l_on, _), ops_on, _ = run([loss, train], feed, init=init)
    (l_off, _), ops_off, _ = run([loss, train], feed, init=init, **ALL_OFF)
    with tf.Session(config=config()) as sess:
        sess.run(init)
        meta = tf.RunMetadata()
        sess.run([loss, train], feed, options=tf.RunOptions(trace_level=3), run_metadata=meta)
    names = [n.name for gd in meta.partition_graphs for n in gd.node]
    assert len(names) == len(set(names))
    assert ran(ops_on, "MatMul") == ran(ops_off, "MatMul") == 3 + 5  # forward, and gradients (not x's)
    assert len(ops_on) < len(ops_off)
