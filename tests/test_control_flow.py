"""tf.while_loop, tf.cond, tf.case and tf.TensorArray: forward values against NumPy, TF's errors,
state and side effects inside bodies, and every way a plan runs (inline, Dask sync, several segments)."""

import collections

import numpy as np
import pytest

import dataflow as tf

LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ("c", "h"))


def _run(fetches, feed=None, config=None):
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


# ---- while_loop ----------------------------------------------------------------------------------
def test_counter_and_power():
    x = tf.placeholder(tf.float32, [3])
    i, y = tf.while_loop(lambda i, y: i < 4, lambda i, y: (i + 1, y * x), (tf.constant(0), tf.ones([3])))
    assert i.dtype is tf.int32 and y.shape.as_list() == [3]
    xv = np.array([1.5, -2.0, 0.5], np.float32)
    iv, yv = _run([i, y], {x: xv})
    assert iv == 4
    np.testing.assert_allclose(yv, xv ** 4, rtol=1e-6)


def test_single_loop_var_is_returned_unpacked_unless_same_structure():
    r = tf.while_loop(lambda v: v < 10, lambda v: v * 2, [1])
    assert isinstance(r, tf.Tensor) and _run(r) == 16
    r = tf.while_loop(lambda v: v < 10, lambda v: [v * 2], [1], return_same_structure=True)
    assert isinstance(r, list) and _run(r) == [16]
    r = tf.while_loop(lambda v: v < 10, lambda v: v * 3, tf.constant(1))  # a bare tensor as loop_vars
    assert _run(r) == 27


def test_nested_loop_vars_dicts_namedtuples():
    def body(step, state, extra):
        c, h = state
        return step + 1, LSTMStateTuple(c + h, h * 2.0), {"a": extra["a"] + 1.0, "b": (extra["b"][0] - 1,)}

    init = (tf.constant(0), LSTMStateTuple(tf.zeros([2]), tf.ones([2])),
            {"a": tf.constant(0.0), "b": (tf.constant(5),)})
    step, state, extra = tf.while_loop(lambda s, *_: s < 3, body, init)
    assert isinstance(state, LSTMStateTuple) and isinstance(extra, dict) and isinstance(extra["b"], tuple)
    out = _run([step, state, extra])
    assert out[0] == 3
    np.testing.assert_allclose(out[1].c, [7.0, 7.0])  # 1 + 2 + 4
    np.testing.assert_allclose(out[1].h, [8.0, 8.0])
    assert out[2]["a"] == 3.0 and out[2]["b"] == (2,)


def test_namedtuple_loop_vars_are_unpacked_into_the_body():
    state = LSTMStateTuple(tf.constant(1.0), tf.constant(2.0))
    out = tf.while_loop(lambda c, h: c < 10.0, lambda c, h: LSTMStateTuple(c + h, h), state)
    assert isinstance(out, LSTMStateTuple)
    assert _run(out.c) == 11.0


def test_maximum_iterations_python_and_tensor():
    r = tf.while_loop(lambda v: v < 100, lambda v: v + 1, [0], maximum_iterations=7)
    assert _run(r) == 7
    m = tf.placeholder(tf.int32, [])
    r = tf.while_loop(lambda v: v < 3, lambda v: v + 1, [0], maximum_iterations=m)
    assert _run(r, {m: 10}) == 3 and _run(r, {m: 2}) == 2 and _run(r, {m: 0}) == 0


def test_zero_iterations_return_the_inputs():
    x = tf.placeholder(tf.float32, [2])
    r = tf.while_loop(lambda v: tf.reduce_sum(v) > 100.0, lambda v: v * 2.0, [x])
    np.testing.assert_array_equal(_run(r, {x: [1.0, 2.0]}), [1.0, 2.0])


def test_shape_invariants():
    x = tf.ones([1, 2])
    with pytest.raises(ValueError, match="enters the loop with shape .* but has shape .*shape_invariants"):
        tf.while_loop(lambda i, m: i < 3, lambda i, m: (i + 1, tf.concat([m, m], 0)), [0, x])
    i, m = tf.while_loop(lambda i, m: i < 3, lambda i, m: (i + 1, tf.concat([m, m], 0)), [0, x],
                         shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, 2])])
    assert m.shape.as_list() == [None, 2]
    assert _run(m).shape == (8, 2)
    with pytest.raises(ValueError, match="not compatible with the initial shape"):
        tf.while_loop(lambda v: v < 3, lambda v: v + 1, [x], shape_invariants=[tf.TensorShape([3])])


def test_build_errors():
    with pytest.raises(TypeError, match="cond must be callable"):
        tf.while_loop(1, lambda v: v, [0])
    with pytest.raises(TypeError, match="body must be callable"):
        tf.while_loop(lambda v: v < 1, None, [0])
    with pytest.raises(TypeError, match="bool"):
        tf.while_loop(lambda v: v, lambda v: v + 1, [0])
    with pytest.raises(TypeError, match="type int32 .* float32|type float32, but has type"):
        tf.while_loop(lambda v: v < 1.0, lambda v: tf.cast(v, tf.int32), [0.0])
    with pytest.raises(ValueError, match="same number of elements|same nested structure"):
        tf.while_loop(lambda a, b: a < 1, lambda a, b: (a + 1,), [0, 1])


def test_body_captures_outer_tensors_and_ops_stay_out_of_the_outer_graph():
    x = tf.placeholder(tf.float32, [2])
    w = tf.constant([[1.0, 0.5], [0.0, 1.0]])
    n_ops = len(tf.get_default_graph().get_operations())
    r = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(tf.matmul(h[None], w)[0] + x)),
                      [0, tf.zeros([2])])[1]
    types = [op.type for op in tf.get_default_graph().get_operations()[n_ops:]]
    assert "While" in types and "Tanh" not in types and "MatMul" not in types
    h = np.zeros(2, np.float32)
    xv = np.array([0.3, -0.2], np.float32)
    for _ in range(3):
        h = np.tanh(h @ np.array([[1.0, 0.5], [0.0, 1.0]], np.float32) + xv)
    np.testing.assert_allclose(_run(r, {x: xv}), h, rtol=1e-6)


def test_index_an_input_with_the_loop_counter_and_accumulate():
    x = tf.placeholder(tf.float32, [5, 3])
    t, acc, ta = tf.while_loop(
        lambda t, acc, ta: t < tf.shape(x)[0],
        lambda t, acc, ta: (t + 1, acc + x[t] * tf.cast(t, tf.float32), ta.write(t, tf.reduce_sum(x[t]))),
        [0, tf.zeros([3]), tf.TensorArray(tf.float32, size=5)])
    xv = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    a, s = _run([acc, ta.stack()], {x: xv})
    np.testing.assert_allclose(a, (xv * np.arange(5)[:, None]).sum(0), rtol=1e-5)
    np.testing.assert_allclose(s, xv.sum(1), rtol=1e-5)


def test_concat_accumulation_with_a_loose_invariant():
    x = tf.placeholder(tf.float32, [4, 2])
    _, out = tf.while_loop(lambda t, o: t < 4, lambda t, o: (t + 1, tf.concat([o, x[t][None] * 2.0], 0)),
                           [0, tf.zeros([0, 2])], shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, 2])])
    xv = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_allclose(_run(out, {x: xv}), xv * 2)


def test_nested_loops():
    def outer_body(i, total):
        inner = tf.while_loop(lambda j, s: j < i, lambda j, s: (j + 1, s + tf.cast(j * i, tf.float32)), [0, 0.0])[1]
        return i + 1, total + inner

    _, total = tf.while_loop(lambda i, t: i < 5, outer_body, [0, 0.0])
    assert _run(total) == sum(j * i for i in range(5) for j in range(i))


def test_assign_add_in_a_body_and_reads_see_earlier_assignments():
    v = tf.Variable(0.0)

    def body(i, seen):
        inc = tf.assign_add(v, 1.0)
        with tf.control_dependencies([inc]):
            now = v + 0.0  # reads after this iteration's assign
        return i + 1, seen + now

    i, seen = tf.while_loop(lambda i, s: i < 4, body, [0, 0.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(seen) == 1.0 + 2.0 + 3.0 + 4.0
        assert sess.run(v) == 4.0
        assert sess.run(seen) == 5.0 + 6.0 + 7.0 + 8.0  # the variable keeps its state across runs


def test_variable_made_in_a_body_lives_outside():
    def body(i, h):
        w = tf.get_variable("w_in_loop", initializer=tf.constant_initializer(2.0), shape=[])
        return i + 1, h * w

    _, h = tf.while_loop(lambda i, h: i < 3, body, [0, 1.0])
    assert "w_in_loop:0" in [v.name for v in tf.global_variables()]
    assert _run(h) == 8.0


def test_random_ops_in_a_body_draw_per_iteration():
    _, ta = tf.while_loop(lambda i, ta: i < 4, lambda i, ta: (i + 1, ta.write(i, tf.random_uniform([3]))),
                          [0, tf.TensorArray(tf.float32, size=4)])
    vals = _run(ta.stack())
    assert vals.shape == (4, 3) and len({tuple(r) for r in vals.tolist()}) == 4
    assert np.all((vals >= 0) & (vals < 1))


def test_print_in_a_body_prints_each_iteration(capfd):
    r = tf.while_loop(lambda v: v < 3, lambda v: tf.Print(v + 1, [v], message="iter: "), [0])
    assert _run(r) == 3
    err = capfd.readouterr().err
    assert err.count("iter: ") == 3 and "iter: [0]" in err and "iter: [2]" in err


def test_group_tuple_no_op_identity_and_control_dependencies_in_bodies():
    v = tf.Variable(0)

    def body(i):
        a = tf.assign_add(v, 1)
        b = tf.assign_add(v, 10)
        g = tf.group(a, b)
        with tf.control_dependencies([g, tf.no_op()]):
            nxt = tf.identity(i + 1)
        t = tf.tuple([nxt])[0]
        return t

    r = tf.while_loop(lambda i: i < 3, body, [0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(r) == 3 and sess.run(v) == 33


def test_outer_control_dependency_in_a_body_orders_the_loop():
    v = tf.Variable(1.0)
    set_v = tf.assign(v, 5.0)

    def body(i, s):
        with tf.control_dependencies([set_v]):
            return i + 1, s + v

    _, s = tf.while_loop(lambda i, s: i < 2, body, [0, 0.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(s) == 10.0


@pytest.mark.parametrize("config", ["sync", "split"])
def test_loops_run_through_dask_and_in_several_segments(config):
    x = tf.placeholder(tf.float32, [])
    if config == "split":
        with tf.device("/cpu:1"):  # a second device (/gpu:0 needs a GPU or soft placement)
            y = x * 2.0
    else:
        y = x * 2.0
    r = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + y), [0, 0.0])[1]
    cfg = tf.ConfigProto(dask_scheduler="sync") if config == "sync" else None
    with tf.Session(config=cfg) as sess:
        assert sess.run(r, {x: 1.5}) == 9.0
        if config == "split":
            assert len(sess._make_plan(r, {x: 1.5}).segments) > 1


# ---- cond and case -------------------------------------------------------------------------------
def test_cond_picks_a_branch():
    x = tf.placeholder(tf.float32, [2])
    y = tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)
    assert y.shape.as_list() == [2]
    np.testing.assert_allclose(_run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
    np.testing.assert_allclose(_run(y, {x: [-1.0, -2.0]}), [-2.0, -3.0])


def test_only_the_taken_branch_runs(capfd):
    v = tf.Variable(0.0)
    p = tf.placeholder(tf.bool, [])
    y = tf.cond(p, lambda: tf.Print(tf.constant(1.0), [], message="TRUE-BRANCH"),
                lambda: tf.assign_add(v, 100.0))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(y, {p: True}) == 1.0
        assert sess.run(v) == 0.0
        assert "TRUE-BRANCH" in capfd.readouterr().err
        assert sess.run(y, {p: False}) == 100.0
        assert sess.run(v) == 100.0
        assert "TRUE-BRANCH" not in capfd.readouterr().err


def test_cond_old_argument_names_strict_and_structures():
    p = tf.placeholder(tf.bool, [])
    r = tf.cond(p, fn1=lambda: tf.constant(1), fn2=lambda: tf.constant(2))
    assert _run(r, {p: False}) == 2
    r = tf.cond(p, lambda: [tf.constant(1)], lambda: [tf.constant(2)])
    assert isinstance(r, tf.Tensor)
    r = tf.cond(p, lambda: [tf.constant(1)], lambda: [tf.constant(2)], strict=True)
    assert isinstance(r, list) and _run(r, {p: True}) == [1]
    r = tf.cond(p, lambda: {"a": 1.0, "b": (2, 3)}, lambda: {"a": 4.0, "b": (5, 6)})
    assert _run(r, {p: False}) == {"a": 4.0, "b": (5, 6)}
    with pytest.raises(TypeError, match="fn1 may not be set simultaneously"):
        tf.cond(p, lambda: 1, lambda: 2, fn1=lambda: 1)


def test_cond_errors():
    p = tf.placeholder(tf.bool, [])
    with pytest.raises(TypeError, match="pred must not be a Python bool"):
        tf.cond(True, lambda: 1, lambda: 2)
    with pytest.raises(TypeError, match="true_fn must be callable"):
        tf.cond(p, 1, lambda: 2)
    with pytest.raises(ValueError, match="same structure"):
        tf.cond(p, lambda: (1, 2), lambda: 3)
    with pytest.raises(ValueError, match="same type"):
        tf.cond(p, lambda: tf.constant(1), lambda: tf.constant(1.0))
    with pytest.raises(ValueError, match="must have a return value"):
        tf.cond(p, lambda: None, lambda: 1)


def test_cond_merges_static_shapes():
    p = tf.placeholder(tf.bool, [])
    r = tf.cond(p, lambda: tf.zeros([2, 3]), lambda: tf.zeros([4, 3]))
    assert r.shape.as_list() == [None, 3]
    assert _run(r, {p: False}).shape == (4, 3)


def test_cond_with_ops_as_results():
    v = tf.Variable(0)
    p = tf.placeholder(tf.bool, [])
    r = tf.cond(p, lambda: tf.group(tf.assign_add(v, 1)), lambda: tf.group(tf.assign_add(v, 10)))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(r, {p: True}) == True  # noqa: E712  (TF1: the predicate, computed after the op)
        sess.run(r, {p: False})
        assert sess.run(v) == 11


def test_cond_inside_a_loop_and_a_loop_inside_a_cond():
    def body(i, acc):
        return i + 1, tf.cond(tf.equal(i % 2, 0), lambda: acc + tf.cast(i, tf.float32), lambda: acc - 1.0)

    _, acc = tf.while_loop(lambda i, a: i < 6, body, [0, 0.0])
    assert _run(acc) == (0 + 2 + 4) - 3
    n = tf.placeholder(tf.int32, [])
    r = tf.cond(n > 0, lambda: tf.while_loop(lambda k, s: k < n, lambda k, s: (k + 1, s + k), [0, 0])[1],
                lambda: tf.constant(-1))
    assert _run(r, {n: 5}) == 10 and _run(r, {n: -2}) == -1


def test_nested_conds_capture_through_levels():
    x = tf.placeholder(tf.float32, [])
    r = tf.cond(x > 0, lambda: tf.cond(x > 10, lambda: x * 100.0, lambda: x * 10.0), lambda: -x)
    assert _run(r, {x: 20.0}) == 2000.0 and _run(r, {x: 2.0}) == 20.0 and _run(r, {x: -3.0}) == 3.0


def test_case():
    x = tf.placeholder(tf.int32, [])
    r = tf.case([(x < 0, lambda: tf.constant(-1)), (x > 0, lambda: tf.constant(1))], default=lambda: tf.constant(0))
    assert [_run(r, {x: v}) for v in (-5, 0, 5)] == [-1, 0, 1]
    first = tf.case([(x > 0, lambda: tf.constant(1)), (x > 2, lambda: tf.constant(2))], default=lambda: tf.constant(0))
    assert _run(first, {x: 5}) == 1  # not exclusive: the first true predicate wins
    excl = tf.case([(x > 0, lambda: tf.constant(1)), (x > 2, lambda: tf.constant(2))], default=lambda: tf.constant(0),
                   exclusive=True)
    assert _run(excl, {x: 1}) == 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="more than 1 conditions"):
        _run(excl, {x: 5})
    no_default = tf.case([(x < 0, lambda: tf.constant(-1)), (x > 0, lambda: tf.constant(1))])
    assert _run(no_default, {x: 3}) == 1 and _run(no_default, {x: -3}) == -1
    with pytest.raises(tf.errors.InvalidArgumentError, match="None of conditions evaluated as True"):
        _run(no_default, {x: 0})
    as_dict = tf.case({x < 0: lambda: tf.constant(-1)}, default=lambda: tf.constant(7))
    assert _run(as_dict, {x: 1}) == 7


# ---- TensorArray ---------------------------------------------------------------------------------
def test_tensor_array_write_read_stack_size_unstack():
    ta = tf.TensorArray(tf.float32, size=3)
    ta = ta.write(0, [1.0, 2.0]).write(2, [5.0, 6.0])
    assert ta.element_shape.as_list() == [2]
    out = _run([ta.stack(), ta.read(2), ta.size()])
    np.testing.assert_array_equal(out[0], [[1, 2], [0, 0], [5, 6]])
    np.testing.assert_array_equal(out[1], [5, 6])
    assert out[2] == 3
    x = tf.placeholder(tf.float32, [4, 2])
    u = tf.TensorArray(tf.float32, size=4).unstack(x)
    xv = np.arange(8, dtype=np.float32).reshape(4, 2)
    got = _run([u.read(1), u.size(), u.gather([3, 0]), u.concat()], {x: xv})
    np.testing.assert_array_equal(got[0], xv[1])
    assert got[1] == 4
    np.testing.assert_array_equal(got[2], xv[[3, 0]])
    np.testing.assert_array_equal(got[3], xv.reshape(-1))


def test_tensor_array_dynamic_size_and_errors():
    ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
    _, ta = tf.while_loop(lambda i, ta: i < 4, lambda i, ta: (i + 1, ta.write(i, i * i)), [0, ta])
    np.testing.assert_array_equal(_run(ta.stack()), [0, 1, 4, 9])
    fixed = tf.TensorArray(tf.float32, size=2).write(5, 1.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not resizeable"):
        _run(fixed.stack())
    with pytest.raises(tf.errors.InvalidArgumentError, match="dtype is float32 but Op is trying to write dtype"):
        tf.TensorArray(tf.float32, size=2).write(0, tf.constant(1))
    with pytest.raises(ValueError, match="Size must be provided"):
        tf.TensorArray(tf.float32)
    empty = tf.TensorArray(tf.float32, size=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Could not read from TensorArray index 0"):
        _run(empty.read(0))
    np.testing.assert_array_equal(_run(tf.TensorArray(tf.float32, size=2, element_shape=[3]).read(1)), [0, 0, 0])
    twice = tf.TensorArray(tf.float32, size=2).write(0, 1.0).write(0, 2.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="already been written"):
        _run(twice.stack())
    assert _run(tf.TensorArray(tf.float32, size=0, element_shape=[3]).stack()).shape == (0, 3)


def test_seeded_random_ops_in_bodies_draw_their_own_streams():
    tf.set_random_seed(3)
    outer = tf.random_uniform([3])
    inner = tf.while_loop(lambda i, r: i < 1, lambda i, r: (i + 1, tf.random_uniform([3])), [0, tf.zeros([3])])[1]
    a, b = _run([outer, inner])
    assert not np.allclose(a, b)
    assert len({op._id for op in inner.op.attrs["body"].get_operations()} |
               {op._id for op in tf.get_default_graph().get_operations()}) == \
        len(inner.op.attrs["body"].get_operations()) + len(tf.get_default_graph().get_operations())
