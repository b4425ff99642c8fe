"""Variables, variable scopes and get_variable, initializers, random ops and their seeds,
GradientDescentOptimizer and the linear regression example."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import dataflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- tf.Variable ------------------------------------------------------------------------------------
def test_variable_ops_and_names():
    v = tf.Variable([1.0, 2.0], name="v")
    assert v.name == "v:0" and v.op.name == "v" and v.op.type == "VariableV2"
    assert v.dtype is tf.float32 and v.shape.as_list() == [2] and v.get_shape().as_list() == [2]
    assert v.initializer.name == "v/Assign" and v.initializer.type == "Assign"
    assert v.value().name == "v/read:0" and v.value().op.type == "Identity"
    assert v.initial_value.name == "v/Initializer/initial_value:0"
    assert v.trainable and v.graph is tf.get_default_graph()
    y = v * 2.0
    assert y.op.inputs[0] is v.value()  # the graph consumes the read, as in TF1
    w = tf.Variable(1.0)
    assert w.name == "Variable:0" and tf.Variable(1.0).name == "Variable_1:0"
    with tf.name_scope("scope"):
        assert tf.Variable(1.0, name="s").name == "scope/s:0"
    assert "v:0" in repr(v)


def test_variable_collections_and_trainable():
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(1.0, name="b", trainable=False)
    c = tf.Variable(1.0, name="c", collections=["custom"])
    with tf.name_scope("net"):
        d = tf.Variable(1.0, name="d")
    assert tf.global_variables() == [a, b, d] and tf.all_variables() == [a, b, d]
    assert tf.trainable_variables() == [a, c, d]
    assert tf.get_collection("custom") == [c]
    assert tf.global_variables(scope="net") == [d] and tf.trainable_variables("net") == [d]
    assert not b.trainable


def test_variable_needs_a_known_initial_value():
    with pytest.raises(ValueError):
        tf.Variable()
    with pytest.raises(ValueError):
        tf.Variable(tf.placeholder(tf.float32, [None]))
    v = tf.Variable(tf.placeholder(tf.float32, [None]), validate_shape=False)
    assert v.shape.ndims is None
    with tf.Session() as sess:
        sess.run(v.initializer, {v.initial_value: [1.0, 2.0, 3.0]})
        np.testing.assert_allclose(sess.run(v), [1.0, 2.0, 3.0])


def test_variable_initial_value_callable_and_dtype():
    v = tf.Variable(lambda: tf.ones([2]), name="lazy")
    i = tf.Variable([1, 2], dtype=tf.int64)
    f = tf.Variable(3, dtype=tf.float64)
    assert i.dtype is tf.int64 and f.dtype is tf.float64
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(v), [1.0, 1.0])
        assert sess.run(i).dtype == np.int64 and sess.run(f) == 3.0


def test_assign_methods_and_functions():
    v = tf.Variable([1.0, 2.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_allclose(sess.run(v.assign([5.0, 6.0])), [5.0, 6.0])
        np.testing.assert_allclose(sess.run(v.assign_add([1.0, 1.0])), [6.0, 7.0])
        np.testing.assert_allclose(sess.run(v.assign_sub([2.0, 2.0])), [4.0, 5.0])
        np.testing.assert_allclose(sess.run(tf.assign(v, [0.0, 1.0])), [0.0, 1.0])
        np.testing.assert_allclose(sess.run(tf.assign_add(v, [1.0, 1.0])), [1.0, 2.0])
        np.testing.assert_allclose(sess.run(tf.assign_sub(v, [1.0, 1.0])), [0.0, 1.0])
        np.testing.assert_allclose(sess.run(v.read_value()), [0.0, 1.0])
        np.testing.assert_allclose(v.eval(sess), [0.0, 1.0])
        v.load([9.0, 9.0], sess)
        np.testing.assert_allclose(sess.run(v), [9.0, 9.0])
        np.testing.assert_allclose(sess.run(tf.assign(v, [1.0, 2.0, 3.0], validate_shape=False)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises((TypeError, ValueError)):
        v.assign(tf.constant([1, 2]))


def test_initializers_of_a_list_of_variables():
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b")
    with tf.Session() as sess:
        sess.run(tf.variables_initializer([a]))
        assert sess.run(a) == 1.0
        assert sess.run(tf.is_variable_initialized(a)) and not sess.run(tf.is_variable_initialized(b))
        assert sess.run(tf.report_uninitialized_variables()).tolist() == [b"b"]
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value b"):
            sess.run(b)
        sess.run(tf.initialize_all_variables())
        assert sess.run([a, b]) == [1.0, 2.0]
        assert sess.run(tf.report_uninitialized_variables()).tolist() == []
    assert tf.variables_initializer([]).type == "NoOp"
    assert tf.global_variables_initializer().type == "NoOp"
    assert tf.initialize_variables([a]).type == "NoOp"


def test_initialized_value_orders_dependent_initializers():
    base = tf.Variable(tf.random_normal([3], seed=1), name="base")
    twice = tf.Variable(base.initialized_value() * 2.0, name="twice")
    for var_list in ([base, twice], [twice, base]):
        with tf.Session() as sess:
            sess.run(tf.variables_initializer(var_list))
            b, t = sess.run([base, twice])
            np.testing.assert_allclose(t, 2.0 * b)
    fixed = tf.Variable([1.0, 2.0], name="fixed")
    plus = tf.Variable(fixed.initialized_value() + 1.0, name="plus")
    with tf.Session() as sess:  # plus alone: fixed's initial value; fixed itself stays uninitialized
        sess.run(plus.initializer)
        assert not sess.run(tf.is_variable_initialized(fixed))
        np.testing.assert_allclose(sess.run(plus), [2.0, 3.0])


# ---- variable_scope and get_variable ---------------------------------------------------------------
def test_get_variable_names_and_reuse_errors():
    with tf.variable_scope("foo"):
        v = tf.get_variable("v", [1])
        with tf.variable_scope("bar"):
            w = tf.get_variable("w", [2, 3])
    assert v.name == "foo/v:0" and w.name == "foo/bar/w:0"
    with pytest.raises(ValueError, match=re.escape("Variable foo/v already exists, disallowed. Did you mean to "
                                                   "set reuse=True or reuse=tf.AUTO_REUSE in VarScope?")):
        with tf.variable_scope("foo"):
            tf.get_variable("v", [1])
    with pytest.raises(ValueError, match=re.escape("Variable foo/nope does not exist, or was not created with "
                                                   "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE "
                                                   "in VarScope?")):
        with tf.variable_scope("foo", reuse=True):
            tf.get_variable("nope", [1])
    with tf.variable_scope("foo", reuse=True):
        assert tf.get_variable("v", [1]) is v
        assert tf.get_variable("v") is v
        with tf.variable_scope("bar"):  # reuse is inherited
            assert tf.get_variable_scope().reuse is True
            assert tf.get_variable("w") is w
        with tf.variable_scope("bar", reuse=False):  # and cannot be turned off inside
            assert tf.get_variable("w") is w
        with pytest.raises(ValueError, match="Trying to share variable foo/v, but specified shape"):
            tf.get_variable("v", [2])
        with pytest.raises(ValueError, match="Trying to share variable foo/v, but specified dtype"):
            tf.get_variable("v", [1], dtype=tf.float64)


def test_reuse_variables_and_auto_reuse():
    with tf.variable_scope("model") as scope:
        a = tf.get_variable("a", [2])
        scope.reuse_variables()
        assert tf.get_variable_scope().reuse is True
        assert tf.get_variable("a") is a
    with tf.variable_scope("model"):
        assert tf.get_variable_scope().reuse is False
    with tf.variable_scope("model"):
        tf.get_variable_scope().reuse_variables()
        assert tf.get_variable("a") is a
    for _ in range(3):
        with tf.variable_scope("shared", reuse=tf.AUTO_REUSE):
            s = tf.get_variable("s", [1])
            with tf.variable_scope("inner"):
                t = tf.get_variable("t", [1])
    assert s.name == "shared/s:0" and t.name == "shared/inner/t:0"
    assert len([v for v in tf.global_variables() if v.name.startswith("shared/")]) == 2
    assert tf.get_variable_scope().reuse is False and tf.get_variable_scope().name == ""


def test_reenter_a_scope_object():
    with tf.variable_scope("enc") as enc:
        x = tf.get_variable("x", [1])
    with tf.variable_scope(enc, reuse=True):
        assert tf.get_variable("x") is x
    with tf.variable_scope("other"):
        with tf.variable_scope(enc, reuse=True) as again:
            assert again.name == "enc" and tf.get_variable("x") is x


def test_variable_scope_opens_a_name_scope():
    with tf.variable_scope("layer") as scope:
        v = tf.get_variable("w", [1])
        y = tf.multiply(v, 2.0)
        assert scope.name == "layer" and scope.original_name_scope == "layer/"
    with tf.variable_scope("layer", reuse=True):
        z = tf.multiply(tf.get_variable("w"), 3.0)
    assert y.name == "layer/Mul:0" and z.name == "layer_1/Mul:0"
    with tf.variable_scope(None, default_name="block"):
        b0 = tf.get_variable("k", [1])
    with tf.variable_scope(None, default_name="block"):
        b1 = tf.get_variable("k", [1])
    assert (b0.name, b1.name) == ("block/k:0", "block_1/k:0")


def test_scope_initializer_and_dtype_defaults():
    with tf.variable_scope("init", initializer=tf.constant_initializer(0.5)):
        a = tf.get_variable("a", [2])
        b = tf.get_variable("b", [2], initializer=tf.ones_initializer())
        with tf.variable_scope("inner"):
            c = tf.get_variable("c", [2])
    with tf.variable_scope("typed", dtype=tf.float64):
        d = tf.get_variable("d", [1])
    i = tf.get_variable("i", [2], dtype=tf.int32)
    k = tf.get_variable("k", initializer=tf.constant([1.0, 2.0]))
    assert d.dtype is tf.float64 and i.dtype is tf.int32 and k.shape.as_list() == [2]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run([a, b, c]), [[0.5, 0.5], [1.0, 1.0], [0.5, 0.5]])
        assert sess.run(i).tolist() == [0, 0]  # integers default to zeros
        np.testing.assert_allclose(sess.run(k), [1.0, 2.0])
    with pytest.raises(ValueError, match="do not specify shape"):
        tf.get_variable("k2", [2], initializer=tf.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match="fully defined"):
        tf.get_variable("noshape")


def test_get_variable_default_initializer_is_glorot_uniform():
    w = tf.get_variable("w", [200, 300])
    limit = np.sqrt(6.0 / 500)
    with tf.Session() as sess:
        sess.run(w.initializer)
        value = sess.run(w)
    assert np.abs(value).max() <= limit and np.abs(value).max() > 0.95 * limit
    assert abs(value.std() - limit / np.sqrt(3)) < 0.02 * limit


def test_get_variable_ignores_name_scopes():
    with tf.name_scope("ns"):
        v = tf.get_variable("gv", [1])
        y = v * 2.0
    assert v.name == "gv:0" and y.name == "ns/mul:0"


def test_get_variable_regularizer_and_trainable():
    w = tf.get_variable("w", [2], initializer=tf.ones_initializer(), regularizer=lambda t: tf.reduce_sum(t) * 0.5,
                        trainable=False)
    assert w not in tf.trainable_variables() and w in tf.global_variables()
    (loss,) = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    with tf.Session() as sess:
        sess.run(w.initializer)
        assert sess.run(loss) == 1.0


def test_constraints_are_stored_on_variables():
    def clip(w):
        return tf.clip_by_value(w, -0.1, 0.1)

    assert tf.Variable([1.0], constraint=clip).constraint is clip
    assert tf.Variable([1.0]).constraint is None
    assert tf.get_variable("c", [2], constraint=clip).constraint is clip
    with tf.variable_scope("s", constraint=clip) as scope:  # TF: a scope's constraint is get_variable's default
        assert scope.constraint is clip and tf.get_variable("v", [2]).constraint is clip
        with tf.variable_scope("inner"):  # ... and, as in TF, not inherited by inner scopes
            assert tf.get_variable("v", [2]).constraint is None
    with tf.variable_scope(scope):
        assert tf.get_variable("w", [2]).constraint is clip
    with pytest.raises(ValueError, match="must be a callable"):
        tf.Variable([1.0], constraint=0.1)


# ---- initializers -------------------------------------------------------------------------------
def _init_value(initializer, shape, dtype=tf.float32):
    v = tf.get_variable("v", shape, dtype=dtype, initializer=initializer)
    with tf.Session() as sess:
        sess.run(v.initializer)
        return sess.run(v)


def test_constant_zeros_ones_initializers():
    np.testing.assert_array_equal(_init_value(tf.zeros_initializer(), [2, 2]), np.zeros((2, 2)))
    tf.reset_default_graph()
    np.testing.assert_array_equal(_init_value(tf.ones_initializer(), [3], tf.int32), [1, 1, 1])
    tf.reset_default_graph()
    np.testing.assert_array_equal(_init_value(tf.constant_initializer([1, 2, 3, 4]), [2, 2]), [[1, 2], [3, 4]])
    tf.reset_default_graph()
    got = _init_value(tf.constant_initializer(7), [2], tf.float64)
    assert got.dtype == np.float64 and got.tolist() == [7.0, 7.0]


N = (100, 1000)  # 100,000 draws: sample statistics to within a few parts in a thousand


def test_random_normal_initializer_statistics():
    x = _init_value(tf.random_normal_initializer(mean=1.0, stddev=2.0, seed=1), N)
    assert abs(x.mean() - 1.0) < 0.03 and abs(x.std() - 2.0) < 0.03
    assert x.min() < 1.0 - 2 * 2.0  # untruncated


def test_truncated_normal_initializer_is_within_two_stddevs():
    x = _init_value(tf.truncated_normal_initializer(mean=-1.0, stddev=0.5, seed=2), N)
    assert x.min() >= -1.0 - 2 * 0.5 and x.max() <= -1.0 + 2 * 0.5
    assert abs(x.mean() + 1.0) < 0.01
    assert abs(x.std() - 0.5 * 0.87962566) < 0.01  # the stddev of a normal cut at 2 stddevs


def test_random_uniform_initializer_bounds():
    x = _init_value(tf.random_uniform_initializer(-3.0, 2.0, seed=3), N)
    assert x.min() >= -3.0 and x.max() < 2.0
    assert abs(x.mean() + 0.5) < 0.03 and abs(x.std() - 5.0 / np.sqrt(12)) < 0.02


@pytest.mark.parametrize("make", [tf.glorot_uniform_initializer, lambda seed: tf.variance_scaling_initializer(
    1.0, "fan_avg", "uniform", seed=seed)])
def test_glorot_uniform_limits(make):
    fan_in, fan_out = 400, 250
    x = _init_value(make(seed=4), [fan_in, fan_out])
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert x.max() <= limit and x.min() >= -limit
    assert x.max() > 0.99 * limit and x.min() < -0.99 * limit
    assert abs(x.std() - limit / np.sqrt(3)) < 0.01 * limit


def test_glorot_normal_and_variance_scaling_stddevs():
    fan_in, fan_out = 300, 500
    x = _init_value(tf.glorot_normal_initializer(seed=5), [fan_in, fan_out])
    std = np.sqrt(2.0 / (fan_in + fan_out))
    assert abs(x.std() - std) < 0.02 * std and np.abs(x).max() <= 2 * std / 0.87962566 + 1e-6
    tf.reset_default_graph()
    he = _init_value(tf.variance_scaling_initializer(scale=2.0, mode="fan_in", distribution="normal", seed=6),
                     [fan_in, fan_out])
    assert abs(he.std() - np.sqrt(2.0 / fan_in)) < 0.02 * np.sqrt(2.0 / fan_in)
    tf.reset_default_graph()
    conv = _init_value(tf.variance_scaling_initializer(mode="fan_out", distribution="untruncated_normal", seed=7),
                       [3, 3, 16, 400])
    assert abs(conv.std() - np.sqrt(1.0 / (9 * 400))) < 0.02 * np.sqrt(1.0 / (9 * 400))
    with pytest.raises(ValueError):
        tf.variance_scaling_initializer(mode="fan_everything")
    with pytest.raises(ValueError):
        tf.variance_scaling_initializer(scale=-1.0)


def test_xavier_initializer():
    x = _init_value(tf.contrib.layers.xavier_initializer(seed=8), [100, 300])
    limit = np.sqrt(6.0 / 400)
    assert np.abs(x).max() <= limit and np.abs(x).max() > 0.99 * limit


# ---- random ops and seeds -------------------------------------------------------------------------
def _random_graph(graph_seed=None, op_seed=None):
    g = tf.Graph()
    with g.as_default():
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        ops = [tf.random_normal([4], seed=op_seed), tf.random_uniform([4], seed=op_seed),
               tf.truncated_normal([4], seed=op_seed)]
    return g, ops


def _draw(g, ops, runs=2):
    with tf.Session(graph=g) as sess:
        return [np.concatenate(sess.run(ops)) for _ in range(runs)]


@pytest.mark.parametrize("graph_seed, op_seed", [(1, None), (None, 5), (2, 5)])
def test_seeded_random_ops_replay_in_a_new_session_and_differ_between_runs(graph_seed, op_seed):
    g, ops = _random_graph(graph_seed, op_seed)
    first, second = _draw(g, ops)
    assert not np.array_equal(first, second)  # successive runs draw new values
    again = _draw(g, ops)
    np.testing.assert_array_equal(again[0], first)  # a new session replays them
    np.testing.assert_array_equal(again[1], second)
    g2, ops2 = _random_graph(graph_seed, op_seed)  # so does the same graph built again
    np.testing.assert_array_equal(_draw(g2, ops2, 1)[0], first)


def test_seeds_select_different_streams():
    assert not np.array_equal(_draw(*_random_graph(1))[0], _draw(*_random_graph(2))[0])
    assert not np.array_equal(_draw(*_random_graph(None, 1))[0], _draw(*_random_graph(None, 2))[0])
    g, ops = _random_graph()  # no seed at all: each session differs
    assert not np.array_equal(_draw(g, ops, 1)[0], _draw(g, ops, 1)[0])
    tf.set_random_seed(3)
    a, b = tf.random_normal([5]), tf.random_normal([5])  # two ops under one graph seed differ
    with tf.Session() as sess:
        av, bv = sess.run([a, b])
    assert not np.array_equal(av, bv)


def test_random_op_dtypes_shapes_and_ranges():
    n = tf.random_normal([2, 3], mean=5.0, stddev=0.1, dtype=tf.float64)
    u = tf.random_uniform([1000], minval=2, maxval=5, dtype=tf.int32, seed=1)
    f = tf.random_uniform([2], dtype=tf.float16)
    shape = tf.placeholder(tf.int32, [2])
    dyn = tf.random_uniform(shape)
    assert n.dtype is tf.float64 and n.shape.as_list() == [2, 3] and dyn.shape.as_list() == [None, None]
    with tf.Session() as sess:
        nv, uv, fv, dv = sess.run([n, u, f, dyn], {shape: [3, 1]})
    assert nv.dtype == np.float64 and np.abs(nv - 5.0).max() < 1.0
    assert uv.dtype == np.int32 and set(uv.tolist()) == {2, 3, 4}
    assert fv.dtype == np.float16 and dv.shape == (3, 1)
    with pytest.raises(ValueError):
        tf.random_uniform([2], dtype=tf.int32)


def test_random_shuffle_permutes_the_first_dimension():
    x = np.arange(20).reshape(10, 2)
    s = tf.random_shuffle(tf.constant(x), seed=3)
    with tf.Session() as sess:
        runs = [sess.run(s) for _ in range(3)]
    for r in runs:
        assert sorted(r.tolist()) == x.tolist() and (r[:, 1] - r[:, 0] == 1).all()
    assert any(not np.array_equal(r, x) for r in runs)


# ---- training -------------------------------------------------------------------------------------
def test_linear_regression_example_fits_the_line():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "linear_regression.py")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    m = re.search(r"W = ([-\d.]+), b = ([-\d.]+)", out.stdout)
    assert m, out.stdout
    assert abs(float(m.group(1)) - 0.1) < 5e-4 and abs(float(m.group(2)) - 0.3) < 5e-4


def test_gradient_descent_minimize_with_global_step():
    w = tf.Variable(2.0, name="w")
    step = tf.train.get_or_create_global_step()
    assert step.name == "global_step:0" and step.dtype is tf.int64
    assert tf.train.get_or_create_global_step() is step and tf.train.get_global_step() is step
    train = tf.train.GradientDescentOptimizer(0.25).minimize(tf.square(w), global_step=step)
    assert train in tf.get_collection(tf.GraphKeys.TRAIN_OP)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert sess.run(w) == pytest.approx(2.0 * 0.5 ** 3)  # w -= 0.25 * 2w
        assert tf.train.global_step(sess, step) == 3
    with pytest.raises(ValueError):
        tf.train.create_global_step()


def test_compute_and_apply_gradients():
    w = tf.Variable([1.0, 2.0], name="w")
    b = tf.Variable(0.5, name="b")
    unused = tf.Variable(1.0, name="unused")
    x = tf.placeholder(tf.float32, [2])
    loss = tf.reduce_sum(w * x) + 3.0 * b
    opt = tf.train.GradientDescentOptimizer(0.1)
    grads_and_vars = opt.compute_gradients(loss)
    assert [v for _, v in grads_and_vars] == [w, b, unused]
    assert grads_and_vars[2][0] is None  # not connected to the loss
    scaled = [(g * 2.0, v) for g, v in grads_and_vars if g is not None]
    train = opt.apply_gradients(scaled)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        gw, gb = sess.run([grads_and_vars[0][0], grads_and_vars[1][0]], {x: [3.0, 4.0]})
        np.testing.assert_allclose(gw, [3.0, 4.0])
        assert gb == pytest.approx(3.0)
        sess.run(train, {x: [3.0, 4.0]})
        np.testing.assert_allclose(sess.run(w), [1.0 - 0.6, 2.0 - 0.8], rtol=1e-6)
        assert sess.run(b) == pytest.approx(0.5 - 0.6)
        assert sess.run(unused) == 1.0


def test_minimize_var_list_and_tensor_learning_rate():
    a = tf.Variable(1.0)
    b = tf.Variable(1.0)
    lr = tf.placeholder(tf.float32, [])
    train = tf.train.GradientDescentOptimizer(lr).minimize(a * b, var_list=[a])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, {lr: 0.5})
        assert sess.run([a, b]) == [0.5, 1.0]


def test_minimize_errors():
    a = tf.Variable(1.0)
    opt = tf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.minimize(tf.constant(1.0) * 2.0, var_list=[a])
    with pytest.raises(ValueError, match="No variables"):
        opt.minimize(a * 2.0, var_list=[])
    with pytest.raises(TypeError):
        opt.apply_gradients([(tf.constant(1.0), tf.constant(2.0))])
