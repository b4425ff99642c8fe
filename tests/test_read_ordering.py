"""Reads of variables ordered by control dependencies, and device names that do not split plans.

TF1's variable snapshot (``v/read``) forwards the variable's buffer: a consumer sees the value the
variable holds when that consumer runs. Every pattern is checked in the one-segment plan (inline),
through Dask's sync scheduler, and in a multi-segment plan (ops on two devices).
"""

import numpy as np
import pytest

import dataflow as tf
from dataflow.framework.device import LOCAL_CPU, canonical_device

CONFIGS = {"inline": None, "sync": "sync", "threads": "threads"}


def _session(mode):
    name = CONFIGS[mode]
    return tf.Session(config=tf.ConfigProto(dask_scheduler=name) if name else None)


@pytest.mark.parametrize("mode", list(CONFIGS))
@pytest.mark.parametrize("split", [False, True])
def test_read_under_control_dependency_sees_the_assign(mode, split):
    v = tf.Variable([1., 2.])
    with tf.device("/cpu:1" if split else None):  # /gpu:0 would need a GPU or soft placement
        doubled = tf.assign(v, v * 2.0)
    with tf.control_dependencies([doubled]):
        r = tf.identity(v) + 0.0
    with _session(mode) as sess:
        sess.run(v.initializer)
        assert (len(sess._make_plan(r, {}).segments) > 1) == split
        np.testing.assert_array_equal(sess.run(r), [2., 4.])
        np.testing.assert_array_equal(sess.run(r), [4., 8.])
        # a fetched snapshot is its value where it runs: here before the assign that consumes it
        out = sess.run([r, v.value()])
        np.testing.assert_array_equal(out[0], [8., 16.])
        np.testing.assert_array_equal(out[1], [4., 8.])
        np.testing.assert_array_equal(sess.run(v * 1.0), [8., 16.])


def test_fetched_snapshot_and_value_do_not_alias_the_variable():
    v = tf.Variable([1., 2.])
    add = tf.assign_add(v, [1., 1.])
    with tf.Session() as sess:
        sess.run(v.initializer)
        first = sess.run(v.value())
        sess.run(add)
        np.testing.assert_array_equal(first, [1., 2.])
        np.testing.assert_array_equal(sess.run(v.value()), [2., 3.])


@pytest.mark.parametrize("mode", ["inline", "sync"])
def test_batch_norm_update_ops_run_before_the_train_op_reads(mode):
    x = tf.placeholder(tf.float32, [4, 3])
    layer = tf.layers.BatchNormalization(momentum=0.5)
    y = layer.apply(x, training=True)
    loss = tf.reduce_sum(y * y)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 2
    with tf.control_dependencies(update_ops):
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        seen_mean = tf.identity(layer.moving_mean)
    xv = np.arange(12, dtype=np.float32).reshape(4, 3)
    with _session(mode) as sess:
        sess.run(tf.global_variables_initializer())
        _, m = sess.run([train_op, seen_mean], {x: xv})
        np.testing.assert_allclose(m, 0.5 * xv.mean(0), rtol=1e-6)
        np.testing.assert_allclose(sess.run(layer.moving_mean), 0.5 * xv.mean(0), rtol=1e-6)
        _, m = sess.run([train_op, seen_mean], {x: xv})
        np.testing.assert_allclose(m, 0.75 * xv.mean(0), rtol=1e-6)


@pytest.mark.parametrize("mode", ["inline", "sync"])
def test_exponential_moving_average_after_the_train_step(mode):
    w = tf.Variable([1.0, -2.0])
    loss = tf.reduce_sum(w * w)
    train_op = tf.train.GradientDescentOptimizer(0.25).minimize(loss)  # w <- w - 0.5 w = w / 2
    ema = tf.train.ExponentialMovingAverage(decay=0.9)
    with tf.control_dependencies([train_op]):
        step = ema.apply([w])
    shadow = ema.average(w)
    assert shadow.op.name == "Variable/ExponentialMovingAverage"
    assert not shadow.trainable if hasattr(shadow, "trainable") else True
    assert w in tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES)
    with _session(mode) as sess:
        sess.run(tf.global_variables_initializer())
        w_np, s_np = np.array([1.0, -2.0]), np.array([1.0, -2.0])
        for _ in range(3):
            sess.run(step)
            w_np = w_np / 2  # the average follows the value after this step's update (TF1)
            s_np = 0.9 * s_np + 0.1 * w_np
            np.testing.assert_allclose(sess.run(shadow), s_np, rtol=1e-6)
            np.testing.assert_allclose(sess.run(w), w_np, rtol=1e-6)


def test_exponential_moving_average_num_updates_and_errors():
    w = tf.Variable(2.0)
    ema = tf.train.ExponentialMovingAverage(0.999, num_updates=0)  # decay min(0.999, 1/10)
    op = ema.apply([w])
    with pytest.raises(ValueError, match="already computed"):
        ema.apply([w])
    with pytest.raises(TypeError):
        ema.apply([tf.constant(1.0)])
    assert "Variable/ExponentialMovingAverage" in ema.variables_to_restore()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(w.assign(12.0))
        sess.run(op)
        np.testing.assert_allclose(sess.run(ema.average(w)), 2.0 + (12.0 - 2.0) * 0.9, rtol=1e-6)


# ---- device names ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["", None, "/cpu:0", "/CPU:0", "/device:CPU:0",
                                  "/job:localhost/replica:0/task:0/device:CPU:0", "/job:localhost"])
def test_local_cpu_spellings_are_one_device(spec):
    assert canonical_device(spec) == LOCAL_CPU


def test_other_devices_stay_apart():
    assert canonical_device("/gpu:0") == "/job:localhost/replica:0/task:0/device:GPU:0"
    assert canonical_device("/cpu:1") != LOCAL_CPU
    assert canonical_device("/job:ps/task:1") == "/job:ps/replica:0/task:1/device:CPU:0"


@pytest.mark.parametrize("spec", ["/cpu:0", "/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0"])
def test_variables_on_cpu_do_not_split_the_training_step(spec):
    x = tf.placeholder(tf.float32, [None, 2])
    with tf.device(spec):
        w = tf.Variable(tf.ones([2, 1]))
    loss = tf.reduce_mean(tf.matmul(x, w))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        plan = sess._make_plan([train, loss], {x: np.ones((3, 2))})
        assert len(plan.segments) == 1 and plan.single
        sess.run(train, {x: np.ones((3, 2), np.float32)})
        np.testing.assert_allclose(sess.run(w), np.full((2, 1), 0.9), rtol=1e-6)
