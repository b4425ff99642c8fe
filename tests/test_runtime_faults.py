"""Issue 13's runtime faults: TF's behaviour for computed axes, empty inputs, session teardown, the plan
cache bound, variables initialised from other variables, timeouts and interrupted runs."""

import gc
import weakref

import numpy as np
import pytest

import dataflow as tf
from dataflow.runtime import session as session_lib


def test_reductions_over_a_computed_axis():
    x = tf.placeholder(tf.float32, [None, 4])
    ax = tf.placeholder(tf.int32, [])
    xv = np.arange(8.0, dtype=np.float32).reshape(2, 4)
    xv[1, 2] = 7.0  # a tie for the max of row 1: the gradient is shared, as TF
    ys = {f: getattr(tf, f)(x, axis=ax) for f in ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min",
                                                  "reduce_prod"]}
    with tf.Session() as s:
        for f, y in ys.items():
            ref = getattr(np, f.split("_")[1])
            for a in (0, 1, -1):
                np.testing.assert_allclose(s.run(y, {x: xv, ax: a}), ref(xv, axis=a), err_msg=f)
        kept = tf.reduce_sum(x, axis=ax, keepdims=True)
        assert kept.shape.ndims == 2 and s.run(kept, {x: xv, ax: 1}).shape == (2, 1)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid reduction dimension"):
            s.run(ys["reduce_sum"], {x: xv, ax: 2})
        for f in ("reduce_sum", "reduce_mean", "reduce_max"):
            g = tf.gradients(ys[f], x)[0]
            for a in (0, 1):
                y_static = getattr(tf, f)(x, axis=a)
                np.testing.assert_allclose(s.run(g, {x: xv, ax: a}), s.run(tf.gradients(y_static, x)[0], {x: xv}),
                                           err_msg=f"{f} axis {a}")


def test_top_k_with_a_computed_k():
    x = tf.placeholder(tf.float32, [None, 4])
    k = tf.placeholder(tf.int32, [])
    values, indices = tf.nn.top_k(x, k=k)
    g = tf.gradients(values, x)[0]
    with tf.Session() as s:
        v, i, gv = s.run([values, indices, g], {x: [[1.0, 4.0, 2.0, 3.0]], k: 2})
    np.testing.assert_array_equal(v, [[4.0, 3.0]])
    np.testing.assert_array_equal(i, [[1, 3]])
    np.testing.assert_array_equal(gv, [[0.0, 1.0, 0.0, 1.0]])
    assert tf.nn.top_k(x, k=2).values.shape.as_list() == [None, 2]


def test_empty_inputs():
    with tf.Session() as s:
        out = s.run(tf.nn.conv2d(tf.zeros([0, 5, 5, 3]), tf.ones([3, 3, 3, 2]), [1, 1, 1, 1], "SAME"))
        assert out.shape == (0, 5, 5, 2)
        assert s.run(tf.reduce_max(tf.zeros([0]))) == -np.inf


def test_close_releases_variable_storage_at_once():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        v = tf.Variable(tf.zeros([500, 500]))
        s = tf.Session()
        s.run(v.initializer)
        s.run(v.assign_add(tf.ones([500, 500])))
        ref = weakref.ref(s._state.slots[v.op.name].value)
        s.close()
        assert ref() is None  # without a gc.collect()
    finally:
        if was_enabled:
            gc.enable()


def test_plan_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(session_lib, "MAX_PLANS", 8)
    x = tf.placeholder(tf.float32, [])
    ys = [x * float(i) for i in range(20)]
    with tf.Session() as s:
        for i, y in enumerate(ys):
            assert s.run(y, {x: 2.0}) == 2.0 * i
        assert len(s._plans) == 8
        assert s.run(ys[0], {x: 3.0}) == 0.0  # an evicted plan is made again


def test_variables_initialised_from_other_variables():
    w1 = tf.Variable(tf.fill([2], 3.0))
    w2 = tf.Variable(w1.initialized_value() * 2)
    w3 = tf.Variable(w1 * 2)
    w4 = tf.Variable(w2.initialized_value() + w3.initialized_value())
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        assert [a.tolist() for a in s.run([w1, w2, w3, w4])] == [[3, 3], [6, 6], [6, 6], [12, 12]]
