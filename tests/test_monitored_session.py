"""MonitoredTrainingSession, MonitoredSession, Scaffold and the standard hooks."""

import logging
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea_mod

import dataflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model():
    w = tf.Variable(0.0, name="w")
    step = tf.train.get_or_create_global_step()
    loss = tf.square(w - 3.0, name="sq")
    tf.summary.scalar("loss", loss)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return w, step, loss, train


def _train(checkpoint_dir, last_step, **kwargs):
    """Train to ``last_step``; return the global steps fetched (before each update) and the saved w."""
    with tf.Graph().as_default():
        w, step, loss, train = _model()
        hooks = [tf.train.StopAtStepHook(last_step=last_step)]
        steps = []
        with tf.train.MonitoredTrainingSession(checkpoint_dir=checkpoint_dir, hooks=hooks, **kwargs) as sess:
            while not sess.should_stop():
                steps.append(sess.run([step, train])[0])
    return steps, tf.train.load_variable(checkpoint_dir, "w")


def _reference_w(steps):
    w = 0.0
    for _ in range(steps):
        w -= 0.1 * 2 * (w - 3.0)
    return w


def test_resumes_from_the_latest_checkpoint(tmp_path):
    d = str(tmp_path)
    tf.summary.FileWriterCache.clear()
    steps, w = _train(d, 7, save_checkpoint_steps=5, save_summaries_steps=2)
    assert len(steps) == 7 and np.isclose(w, _reference_w(7))
    assert tf.train.latest_checkpoint(d).endswith("model.ckpt-7")  # saved at the end
    steps, w = _train(d, 12, save_checkpoint_steps=5, save_summaries_steps=2)
    assert len(steps) == 5  # resumed at the saved step, with the saved weights
    assert np.isclose(w, _reference_w(12), rtol=1e-6)
    tf.summary.FileWriterCache.clear()
    acc = ea_mod.EventAccumulator(d, size_guidance={ea_mod.SCALARS: 0})
    acc.Reload()
    # every 2 steps, labelled with the step after the run, and at once when training starts again
    assert [e.step for e in acc.Scalars("loss")] == [1, 3, 5, 7, 8, 10, 12]
    assert acc.Tags()["graph"]
    assert [s for s, _ in tf.train.list_variables(d)] == ["global_step", "w"]


KILLED_CHILD = r'''
import os, signal, sys
import dataflow as tf

class Kill(tf.train.SessionRunHook):
    def before_run(self, run_context):
        return tf.train.SessionRunArgs(tf.train.get_global_step())
    def after_run(self, run_context, run_values):
        if run_values.results + 1 == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)

w = tf.Variable(0.0, name="w")
step = tf.train.get_or_create_global_step()
train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.square(w - 3.0), global_step=step)
with tf.train.MonitoredTrainingSession(checkpoint_dir=sys.argv[1], save_checkpoint_steps=5,
                                       hooks=[tf.train.StopAtStepHook(last_step=100), Kill()]) as sess:
    while not sess.should_stop():
        print(sess.run([step, train])[0], flush=True)
'''


@pytest.mark.slow
def test_killed_training_resumes(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(KILLED_CHILD)
    d = str(tmp_path / "ckpt")
    proc = subprocess.run([sys.executable, str(script), d, "13"], env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert tf.train.latest_checkpoint(d).endswith("model.ckpt-10")
    steps, w = _train(d, 15, save_checkpoint_steps=5)
    assert len(steps) == 5 and np.isclose(w, _reference_w(15), rtol=1e-6)


def test_out_of_range_ends_cleanly_and_saves(tmp_path):
    d = str(tmp_path)
    with tf.Graph().as_default():
        w, step, loss, train = _model()
        with tf.train.MonitoredTrainingSession(checkpoint_dir=d, save_checkpoint_secs=3600) as sess:
            for _ in range(3):
                sess.run(train)
            raise tf.errors.OutOfRangeError(None, None, "End of sequence")
        assert sess.should_stop()
        with pytest.raises(RuntimeError, match="Run called even after should_stop requested"):
            sess.run(train)
    assert tf.train.latest_checkpoint(d).endswith("model.ckpt-3")  # the end() save
    with tf.Graph().as_default(), pytest.raises(ZeroDivisionError):
        _model()
        with tf.train.MonitoredTrainingSession():
            raise ZeroDivisionError  # other errors propagate


class _Recorder(tf.train.SessionRunHook):
    def __init__(self, feed=None):
        self.calls, self.feed = [], feed

    def begin(self):
        self.calls.append("begin")
        self.extra = tf.constant(5.0, name="extra")  # hooks may still add ops in begin

    def after_create_session(self, session, coord):
        self.calls.append("after_create_session")

    def before_run(self, run_context):
        self.calls.append("before_run")
        return tf.train.SessionRunArgs(self.extra, feed_dict=self.feed)

    def after_run(self, run_context, run_values):
        self.calls.append(("after_run", float(run_values.results)))
        if len(self.calls) > 6:
            run_context.request_stop()

    def end(self, session):
        self.calls.append("end")


def test_hook_protocol_feeds_and_scaffold():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        v = tf.Variable(1.0, name="v")
        tf.train.get_or_create_global_step()
        recorder = _Recorder(feed={x: 2.0})
        seen = []
        scaffold = tf.train.Scaffold(init_fn=lambda scaffold, sess: seen.append(sess.run(v)))
        final = tf.train.FinalOpsHook(v * 10)
        xv = x * v
        with tf.train.SingularMonitoredSession(hooks=[recorder, final], scaffold=scaffold) as sess:
            assert tf.get_default_graph().finalized
            while not sess.should_stop():
                assert sess.run(xv) == 2.0  # the hook's feed reached the caller's fetch
            assert sess.raw_session().run(v) == 1.0
        assert seen == [1.0]  # init_fn ran after the init op
        assert recorder.calls == ["begin", "after_create_session"] + ["before_run", ("after_run", 5.0)] * 3 + ["end"]
        assert final.final_ops_values == 10.0
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        tf.Variable(1.0, name="v")
        with tf.train.MonitoredSession(hooks=[tf.train.FeedFnHook(lambda: {x: 1.0})]) as sess:
            with pytest.raises(RuntimeError, match="Same tensor is fed"):
                sess.run(x, {x: 3.0})


def test_nan_logging_and_stop_hooks(caplog):
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        inc = tf.assign_add(step, 1)
        loss = tf.placeholder(tf.float32, [], name="loss")
        losses = [1.0, 2.0, np.nan, 4.0, 5.0]
        twice = step * 2
        with tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(num_steps=2)]) as sess:
            n = 0
            while not sess.should_stop():
                sess.run(inc)
                n += 1
            assert n == 2
        with pytest.raises(tf.train.NanLossDuringTrainingError, match="NaN loss during training"):
            with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(loss)]) as sess:
                for value in losses:
                    sess.run(inc, {loss: value})
        with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(loss, fail_on_nan_loss=False)]) as sess:
            runs = 0
            while not sess.should_stop():
                sess.run(inc, {loss: losses[runs]})
                runs += 1
            assert runs == 3
        with caplog.at_level(logging.INFO, logger="dataflow"):
            hook = tf.train.LoggingTensorHook({"step": step, "twice": twice}, every_n_iter=2)
            with tf.train.MonitoredSession(hooks=[hook, tf.train.StopAtStepHook(num_steps=5)]) as sess:
                while not sess.should_stop():
                    sess.run(inc)
        logged = [r.getMessage() for r in caplog.records if "twice" in r.getMessage()]
        assert len(logged) == 3 and logged[0].startswith("step = ")
    with pytest.raises(ValueError, match="exactly one of save_secs and save_steps"):
        tf.train.CheckpointSaverHook("/tmp/x")
    with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op"):
        tf.train.SummarySaverHook(save_steps=1)
    with tf.Graph().as_default(), pytest.raises(RuntimeError, match="Global step should be created"):
        tf.Variable(1.0)
        tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(num_steps=1)])


def test_checkpoint_listener_and_memory_dir():
    import uuid

    d = f"memory://mts-{uuid.uuid4().hex}"

    class Listener(tf.train.CheckpointSaverListener):
        def __init__(self):
            self.saved = []

        def after_save(self, session, global_step_value):
            self.saved.append(global_step_value)
            return global_step_value >= 6  # a listener may stop training

    listener = Listener()
    with tf.Graph().as_default():
        w, step, loss, train = _model()
        hook = tf.train.CheckpointSaverHook(d, save_steps=3, listeners=[listener])
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            while not sess.should_stop():
                sess.run(train)
    assert listener.saved == [0, 3, 6]
    assert tf.train.latest_checkpoint(d) == d + "/model.ckpt-6"
    tf.summary.FileWriterCache.clear()
