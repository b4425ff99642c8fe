"""Issue 13's runtime faults: TF's behaviour for computed axes, empty inputs, session teardown, the plan
cache bound, variables initialised from other variables, timeouts and interrupted runs."""

import gc
import os
import signal
import time
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


def _slow(seconds, done=None):
    def fn(x):
        time.sleep(seconds)
        if done is not None:
            done.append(True)
        return x

    return fn


@pytest.mark.parametrize("how", ["run_options", "config"])
def test_a_run_past_its_deadline_is_deadline_exceeded_and_stops(how):
    v = tf.Variable(0.0)
    slow = tf.py_func(_slow(0.6), [tf.constant(1.0)], tf.float32)
    with tf.control_dependencies([slow]):
        bump = v.assign_add(1.0)
    config = tf.ConfigProto(operation_timeout_in_ms=150) if how == "config" else None
    options = tf.RunOptions(timeout_in_ms=150) if how == "run_options" else None
    with tf.Session(config=config) as s:
        s.run(v.initializer)
        start = time.time()
        with pytest.raises(tf.errors.DeadlineExceededError):
            s.run(bump, options=options)
        assert time.time() - start < 5.0
        time.sleep(0.2)
        assert s.run(v) == 0.0  # the run stopped after the slow op: the assign never ran
        if how == "run_options":
            assert s.run(bump, options=tf.RunOptions(timeout_in_ms=5000)) == 1.0  # enough time: it runs


def test_ctrl_c_during_a_training_step_applies_all_updates():
    """A SIGINT arriving between two updates of a step is raised after the step: all or nothing."""
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    loss = tf.square(a) + tf.square(b)
    opt = tf.train.GradientDescentOptimizer(0.25)
    (ga, _), (gb, _) = opt.compute_gradients(loss, [a, b])
    up_a = opt.apply_gradients([(ga, a)])
    with tf.control_dependencies([up_a]):
        interrupt = tf.py_func(lambda x: os.kill(os.getpid(), signal.SIGINT) or x, [tf.constant(0.0)], tf.float32)
    with tf.control_dependencies([interrupt]):
        up_b = opt.apply_gradients([(gb, b)])
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        with pytest.raises(KeyboardInterrupt):
            s.run(tf.group(up_a, up_b))
        assert s.run([a, b]) == [0.5, 1.0]  # both updates were applied
        assert s.run(a * 2) == 1.0  # and the session works on


def test_a_failed_multi_task_run_returns_after_its_tasks_stopped():
    v = tf.Variable(0.0)
    finished = []
    with tf.device("/cpu:0"):
        slow = tf.py_func(_slow(0.4, finished), [tf.constant(1.0)], tf.float32)
        with tf.control_dependencies([slow]):
            bump = v.assign_add(1.0)
    with tf.device("/device:CPU:1"):
        fail = tf.py_func(lambda x: 1 / 0, [tf.constant(1.0)], tf.float32)
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as s:
        s.run(v.initializer)
        with pytest.raises(tf.errors.OpError):
            s.run([bump, fail])
        assert finished == [True]  # the other task had finished when run raised
        value = s.run(v)
        time.sleep(0.3)
        assert s.run(v) == value


def test_a_second_ctrl_c_raises_at_once_and_outside_runs_ctrl_c_is_plain():
    v = tf.Variable(0.0)

    def twice(x):
        os.kill(os.getpid(), signal.SIGINT)  # held
        os.kill(os.getpid(), signal.SIGINT)  # raises here, in the function
        return x

    poke = tf.py_func(twice, [tf.constant(0.0)], tf.float32)
    with tf.control_dependencies([poke]):
        bump = v.assign_add(1.0)
    with tf.Session() as s:
        s.run(v.initializer)
        with pytest.raises(KeyboardInterrupt):
            s.run(bump)
        assert s.run(v) == 0.0  # the way out of a run that will not end: it stopped where it was
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the signal arrives here, outside any run
        assert s.run(v.assign_add(1.0)) == 1.0  # and runs go on
