"""Graph rewrites: each pass runs a graph with and without it, compares the values, and checks in
RunMetadata.partition_graphs that the rewrite happened. Plus the hard constraints: the user's graph
is untouched, fetched and fed tensors keep their values, state and control dependencies survive,
errors name the user's op."""

import numpy as np
import pytest

import dataflow as tf
from dataflow.framework.graph import op_output
from rewrite_util import ALL_OFF, NO_FUSION, OFF, config, ran, run

F32 = np.float32


def _feed(*phs, seed=0):
    rng = np.random.default_rng(seed)
    return {p: rng.standard_normal(p.shape.as_list()).astype(F32) for p in phs}


def test_hoisting_a_common_factor_runs_one_mul():
    a, b, c = (tf.placeholder(tf.float32, [5], name=n) for n in "abc")
    y = tf.add(c * a, c * b, name="y")
    feed = _feed(a, b, c)
    off, ops_off, _ = run(y, feed, **ALL_OFF)
    on, ops_on, names = run(y, feed, **NO_FUSION)
    fused, ops_fused, fused_names = run(y, feed)
    assert (ran(ops_off, "Mul"), ran(ops_off, "Add")) == (2, 1)
    assert (ran(ops_on, "Mul"), ran(ops_on, "Add")) == (1, 1) and names["y"] == "Mul"
    assert ops_fused == ["FusedElementwise"] and fused_names == {"y": "FusedElementwise"}
    np.testing.assert_allclose(on, off, rtol=1e-6)
    np.testing.assert_allclose(fused, off, rtol=1e-6)


def test_hoisting_the_add_n_form_and_not_when_a_product_is_used_twice():
    a, b, c, d = (tf.placeholder(tf.float32, [4], name=n) for n in "abcd")
    y = tf.add_n([a * c, c * b, d * c])
    shared = a * c
    z = shared + c * b + shared * 2.0
    feed = _feed(a, b, c, d)
    (y0, z0), ops_off, _ = run([y, z], feed, **ALL_OFF)
    (y1, z1), ops_on, _ = run([y, z], feed, **NO_FUSION)
    np.testing.assert_allclose(y1, y0, rtol=1e-5)
    np.testing.assert_allclose(z1, z0, rtol=1e-5)
    # AddN of three products -> one Mul; z's products stay (a*c is read twice), its x*2 too
    assert ran(ops_off, "Mul") == 3 + 3 and ran(ops_on, "Mul") == 1 + 3


def test_cse_merges_equal_ops_and_equal_constants():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.exp(x * 2.0) + tf.exp(x * 2.0)
    feed = _feed(x)
    off, ops_off, _ = run(y, feed, **ALL_OFF)
    on, ops_on, _ = run(y, feed, remapping=OFF, arithmetic_optimization=OFF)
    np.testing.assert_allclose(on, off)
    assert (ran(ops_off, "Exp"), ran(ops_off, "Mul"), ran(ops_off, "Const")) == (2, 2, 2)
    assert (ran(ops_on, "Exp"), ran(ops_on, "Mul"), ran(ops_on, "Const")) == (1, 1, 1)


def test_cse_never_merges_random_ops():
    r1 = tf.random_uniform([4], seed=3, name="r1")
    r2 = tf.random_uniform([4], seed=3, name="r2")
    on, ops_on, _ = run([r1, r2])
    off, _, _ = run([r1, r2], **ALL_OFF)
    assert ran(ops_on, "RandomUniform") == 2
    np.testing.assert_array_equal(on[0], off[0])
    np.testing.assert_array_equal(on[1], off[1])


def test_constant_folding_evaluates_constant_subgraphs_and_static_shapes():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    scale = tf.constant(2.0) * tf.constant(3.0) + tf.reduce_sum(tf.constant([1.0, 2.0]))
    n = tf.cast(tf.reduce_prod(tf.shape(x)), tf.float32)
    y = x * scale / n
    feed = _feed(x)
    off, ops_off, _ = run(y, feed, **ALL_OFF)
    on, ops_on, _ = run(y, feed, remapping=OFF)
    np.testing.assert_allclose(on, off, rtol=1e-6)
    assert {"Sum", "Shape", "Prod", "Cast"} <= set(ops_off)
    assert not {"Sum", "Shape", "Prod", "Cast", "Add"} & set(ops_on)
    assert ran(ops_on, "Mul") == 1 and ran(ops_on, "RealDiv") == 1


def test_constant_folding_leaves_random_ops_fed_constants_and_failing_kernels():
    c = tf.constant([1.0, 2.0], name="c")
    y = c * 3.0
    r = tf.random_normal([2], seed=7) * tf.constant(2.0)
    (yv, rv), ops, _ = run([y, r], {c: [10.0, 20.0]})
    np.testing.assert_allclose(yv, [30.0, 60.0])  # the fed value, not the folded constant
    assert "RandomStandardNormal" in ops
    np.testing.assert_array_equal(rv, run(r, **ALL_OFF)[0])
    bad = tf.reshape(tf.constant([1.0, 2.0, 3.0]), tf.placeholder_with_default([2, 2], [2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Reshape"):
        run(bad)


def test_arithmetic_identities_are_removed():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    i = tf.placeholder(tf.int32, [4], name="i")
    ys = [tf.exp(x * 1.0), tf.exp(0.0 + x), tf.exp(x - 0.0), tf.exp(-(-x)), tf.exp(op_output("Cast", [x], {"DstT": tf.float32})),
          (i - i) + 5]
    feed = {**_feed(x), i: np.array([1, -2, 3, 9], np.int32)}
    off, ops_off, _ = run(ys, feed, **ALL_OFF)
    on, ops_on, _ = run(ys, feed, remapping=OFF)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)
    assert {"Mul", "Add", "Sub", "Neg", "Cast"} <= set(ops_off)
    assert not {"Mul", "Sub", "Neg", "Cast"} & set(ops_on) and ran(ops_on, "Exp") == 5  # fetched: not merged
    assert ran(ops_on, "Add") == 0  # (i - i) + 5 -> a folded constant


def test_broadcasting_identities_are_kept():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = x * tf.ones([2, 3]) + tf.zeros([2, 1])  # changes the shape: not an identity
    on, _, _ = run(y, _feed(x))
    assert on.shape == (2, 3)


def test_cast_reshape_and_transpose_chains_collapse():
    x = tf.placeholder(tf.float32, [2, 3, 4], name="x")
    i = tf.placeholder(tf.int32, [5], name="i")
    t = tf.transpose(tf.transpose(x, [1, 0, 2]), [2, 0, 1])
    back = tf.transpose(tf.transpose(x, [1, 2, 0]), [2, 0, 1])  # the identity
    r = tf.reshape(tf.reshape(x, [6, 4]), [4, 6])
    c = tf.cast(tf.cast(i, tf.int64), tf.float32)
    lossy = tf.cast(tf.cast(x, tf.int32), tf.float32)  # rounds: both casts stay
    fetch = [t + 1.0, back + 1.0, r + 1.0, c + 1.0, lossy + 1.0]
    feed = {**_feed(x), i: np.array([1, 2, 3, -4, 5], np.int32)}
    off, ops_off, _ = run(fetch, feed, **ALL_OFF)
    on, ops_on, _ = run(fetch, feed, remapping=OFF)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)
    assert (ran(ops_off, "Transpose"), ran(ops_off, "Reshape"), ran(ops_off, "Cast")) == (4, 2, 4)
    assert (ran(ops_on, "Transpose"), ran(ops_on, "Reshape"), ran(ops_on, "Cast")) == (1, 1, 3)


def test_dependency_optimization_bypasses_identities_but_not_variable_reads():
    x = tf.placeholder(tf.float32, [3], name="x")
    v = tf.Variable(np.ones(3, F32), name="v")
    y = tf.identity(tf.stop_gradient(x * 2.0), name="kept_by_fetch") + v
    z = tf.identity(y, name="z")
    feed = _feed(x)
    off, ops_off, _ = run(z, feed, init=v.initializer, **ALL_OFF)
    on, ops_on, names = run(z, feed, init=v.initializer, remapping=OFF)
    np.testing.assert_array_equal(on, off)
    assert ran(ops_off, "Identity") == 3 and ran(ops_off, "StopGradient") == 1
    assert names.get("z") == "Identity" and "v/read" in names and "StopGradient" not in ops_on
    assert ran(ops_on, "Identity") == 2
    tripled = x * 3.0
    with tf.device("/cpu:1"):
        moved = tf.identity(tripled, name="moved")  # a device copy: kept
    assert "moved" in run(moved + 1.0, feed, remapping=OFF)[2]


def test_the_users_graph_is_not_modified():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.exp(x * 1.0 + 0.0) * 2.0 + tf.constant(1.0) * tf.constant(2.0)
    g = tf.get_default_graph()
    before = (g.version, [(op.name, op.type, list(op.inputs)) for op in g.get_operations()])
    run(y, _feed(x))
    assert (g.version, [(op.name, op.type, list(op.inputs)) for op in g.get_operations()]) == before


def test_fetched_and_fed_tensors_keep_their_values():
    x = tf.placeholder(tf.float32, [3], name="x")
    m = tf.multiply(x, 1.0, name="m")  # fetched: stays an op of that name
    a = tf.add(x * 2.0, 0.0, name="a")
    y = tf.exp(a) * 3.0
    feed = _feed(x)
    (mv, av, yv), ops, names = run([m, a, y], feed)
    np.testing.assert_array_equal(mv, feed[x])
    np.testing.assert_allclose(av, feed[x] * 2, rtol=1e-6)
    np.testing.assert_allclose(yv, np.exp(feed[x] * 2) * 3, rtol=1e-6)
    assert "m" in names and "a" in names
    # feeding an intermediate replaces it, whatever would rewrite it
    yv2 = run(y, {**feed, a: np.zeros(3, F32)})[0]
    np.testing.assert_allclose(yv2, [3.0, 3.0, 3.0])


def test_fetching_a_value_twice_and_its_feed():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.identity(x * 1.0)
    vals, ops, _ = run([y, y, x], {x: [1.0, 2.0]})
    assert ops == ["Identity"] and all(np.array_equal(v, [1.0, 2.0]) for v in vals)


def test_control_dependencies_survive_rewrites():
    v = tf.Variable(0.0, name="v")
    inc = tf.assign_add(v, 1.0)
    x = tf.placeholder(tf.float32, [], name="x")
    with tf.control_dependencies([inc]):
        y = x * 1.0 + 0.0  # an op with a control input is not bypassed
    z = y * 2.0
    with tf.Session(config=config()) as sess:
        sess.run(v.initializer)
        assert sess.run(z, {x: 3.0}) == 6.0
        sess.run(z, {x: 3.0})
        assert sess.run(v) == 2.0


def test_training_with_rewrites_matches_without():
    def train(rewrites):
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(1)
            x = tf.constant(np.random.default_rng(0).standard_normal((16, 3)).astype(F32))
            w = tf.Variable(tf.random_normal([3, 1], seed=2))
            b = tf.Variable(tf.zeros([1]))
            pred = tf.sigmoid(tf.matmul(x, w) + b) * 1.0
            loss = tf.reduce_mean(tf.square(pred - 0.5)) + 0.0 * tf.reduce_sum(w)
            step = tf.train.AdamOptimizer(0.1).minimize(loss)
            init = tf.global_variables_initializer()
        with tf.Session(graph=g, config=config(**rewrites)) as sess:
            sess.run(init)
            losses = [sess.run([loss, step])[0] for _ in range(5)]
            return losses, sess.run(w)

    on, off = train({}), train(ALL_OFF)
    np.testing.assert_allclose(on[0], off[0], rtol=1e-5)
    np.testing.assert_allclose(on[1], off[1], rtol=1e-5)


def test_an_error_in_a_rewritten_op_names_the_users_op_and_line():
    a = tf.placeholder(tf.float32, [None], name="a")
    b = tf.placeholder(tf.float32, [None], name="b")
    s = tf.add(a, b, name="the_sum")  # line to find
    y = tf.exp(s) * 2.0
    for rewrites in ({}, NO_FUSION, ALL_OFF):
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            run(y, {a: np.ones(3), b: np.ones(4)}, **rewrites)
        assert "the_sum" in str(e.value) and "test_rewrite.py" in str(e.value)
        assert e.value.op is s.op  # the user's op, not a rewritten stand-in


def test_the_plan_cache_key_includes_the_rewrite_config():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.exp(x * 1.0)
    sess = tf.Session(config=config())
    meta = tf.RunMetadata()
    opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    sess.run(y, {x: [0.0, 1.0]}, options=opts, run_metadata=meta)
    assert [n.op for n in meta.partition_graphs[0].node] == ["Exp"]
    sess.config.graph_options.rewrite_options = tf.RewriterConfig(disable_meta_optimizer=True)
    sess.run(y, {x: [0.0, 1.0]}, options=opts, run_metadata=meta)
    assert sorted(n.op for n in meta.partition_graphs[0].node) == ["Const", "Exp", "Mul"]


def test_rewriter_config_toggles():
    rc = tf.RewriterConfig(constant_folding=tf.RewriterConfig.OFF)
    assert not rc.enabled("constant_folding") and rc.enabled("remapping") and rc.enabled("memory_optimization")
    assert not tf.RewriterConfig(memory_optimization=tf.RewriterConfig.NO_MEM_OPT).enabled("memory_optimization")
    assert not any(tf.RewriterConfig(disable_meta_optimizer=True).enabled(p) for p in tf.RewriterConfig.PASSES)
    assert tf.RewriterConfig().key() != tf.RewriterConfig(remapping=tf.RewriterConfig.OFF).key()
    assert tf.RewriterConfig.ON == 1 and tf.RewriterConfig.AGGRESSIVE == 3


@pytest.mark.parametrize("scheduler", [None, "threads"])
def test_rewrites_across_devices_and_through_sess_lower(scheduler):
    import dask

    x = tf.placeholder(tf.float32, [6, 5], name="x")
    with tf.device("/cpu:0"):
        a = tf.exp(x * 1.0) * 2.0 + 1.0
    with tf.device("/cpu:1"):
        b = tf.tanh(a * a) - a * 0.5
    with tf.device("/cpu:0"):
        c = tf.reduce_sum(b * b + a)
    feed = _feed(x)
    off = run([b, c], feed, **ALL_OFF)[0]
    on, ops, _ = run([b, c], feed)
    np.testing.assert_allclose(on[0], off[0], rtol=1e-6)
    np.testing.assert_allclose(on[1], off[1], rtol=1e-5)
    assert ran(ops, "FusedElementwise") == 3  # one per device run, none across devices
    cfg = config()
    cfg.dask_scheduler = scheduler
    with tf.Session(config=cfg) as sess:
        got = sess.run([b, c], feed)
        (lowered,) = dask.compute(sess.lower([b, c], feed))
    for v in (got, lowered):
        np.testing.assert_allclose(v[0], off[0], rtol=1e-6)
        np.testing.assert_allclose(v[1], off[1], rtol=1e-5)


def test_a_cloned_stateful_op_keeps_the_users_state(capfd):
    x = tf.placeholder(tf.float32, [2], name="x")
    p = tf.Print(x * 1.0 + tf.constant(2.0) * tf.constant(0.0), [x], message="seen ", first_n=2)
    y = p * 3.0
    with tf.Session(config=config()) as sess:
        for _ in range(2):
            sess.run(y, {x: [1.0, 2.0]})
        sess.run([y, p], {x: [1.0, 2.0]})  # a second plan: the same counter, already spent
    assert capfd.readouterr().err.count("seen ") == 2


def test_fetching_ops_and_fully_folded_graphs():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.exp(x * 2.0) + 1.0
    folded = tf.reduce_sum(tf.constant([1.0, 2.0]) * 3.0) + tf.constant(1.0)
    vals, ops, names = run([y.op, folded, y], {x: [0.0, 1.0, 2.0]})
    assert vals[0] is None and vals[1] == np.float32(10.0)
    np.testing.assert_allclose(vals[2], np.exp(np.array([0.0, 2.0, 4.0], F32)) + 1, rtol=1e-6)
    assert names[y.op.name] == "FusedElementwise" and names[folded.op.name] == "Const"
    with tf.Session(config=config()) as sess:
        assert sess.run(folded) == np.float32(10.0) and isinstance(sess.run(folded), np.float32)
        first = sess.run(folded)
        assert sess.run(folded) == first  # a fetched folded value is a copy: the next run is unaffected


def test_waiting_for_a_bypassed_op_that_read_a_feed():
    x = tf.placeholder(tf.float32, [2], name="x")
    a = tf.placeholder(tf.float32, [2], name="a")
    m = x * 1.0
    inter = tf.exp(a * 1.0)
    n = inter + 0.0
    with tf.control_dependencies([m.op, n.op]):
        z = tf.constant(3.0) * 2.0
    # x fed; a not fed but `inter` is: no op may come to wait for the placeholders
    vals, ops, _ = run(z, {x: [1.0, 2.0], inter: [5.0, 6.0]})
    assert vals == 6.0 and "Exp" not in ops and "Placeholder" not in ops


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_give_the_same_values_with_every_rewrite_combination(seed):
    rng = np.random.default_rng(100 + seed)
    x = tf.placeholder(tf.float32, [6, 4], name="x")
    w = tf.constant(rng.standard_normal((4, 4)).astype(F32))
    pool = [x, x * 1.0, tf.constant(2.0) * tf.constant(0.5) + x]
    makers = [
        lambda a, b: a * b + a * tf.tanh(b), lambda a, b: tf.matmul(a, w) - b, lambda a, b: tf.exp(-(-a * 0.1)),
        lambda a, b: a - tf.reduce_mean(a, axis=1, keepdims=True), lambda a, b: tf.add_n([a * b, b * a, a]),
        lambda a, b: tf.reshape(tf.reshape(a, [24]), [6, 4]) + 0.0, lambda a, b: tf.transpose(tf.transpose(b)) / 3.0,
        lambda a, b: tf.identity(tf.sigmoid(a) + tf.sigmoid(a)), lambda a, b: tf.maximum(a, b) * tf.cast(a > b, tf.float32),
    ]
    for _ in range(10):
        a, b = (pool[rng.integers(len(pool))] for _ in range(2))
        pool.append(makers[rng.integers(len(makers))](a, b))
    fetch = [pool[-1], tf.reduce_sum(pool[-2]), pool[rng.integers(3, len(pool))]]
    feed = {x: rng.standard_normal((6, 4)).astype(F32)}
    expect = run(fetch, feed, **ALL_OFF)[0]
    for rewrites in ({}, NO_FUSION, dict(common_subgraph_elimination=OFF), dict(arithmetic_optimization=OFF),
                     dict(constant_folding=OFF, dependency_optimization=OFF)):
        got = run(fetch, feed, **rewrites)[0]
        for g, e in zip(got, expect):
            np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-5)
