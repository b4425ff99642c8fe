"""tf.train.Saver: save/restore semantics, max_to_keep, the state file, errors as TF, fsspec paths."""

import os
import uuid

import numpy as np
import pytest

import dataflow as tf


def _model():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    b = tf.Variable(np.zeros(3, np.float64), name="scope/b")
    step = tf.train.get_or_create_global_step()
    return w, b, step


@pytest.fixture(params=["local", "memory"])
def root(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "ckpt")
    return f"memory://saver-{uuid.uuid4().hex}"


def test_save_restore_round_trip_and_state(root):
    with tf.Graph().as_default():
        w, b, step = _model()
        inc = tf.assign_add(step, 1)
        saver = tf.train.Saver(max_to_keep=3)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            paths = []
            for i in range(5):
                sess.run([inc, tf.assign(w, w + 1.0), tf.assign(b, b - 0.5)])
                paths.append(saver.save(sess, root + "/model.ckpt", global_step=step))
            assert paths == [root + f"/model.ckpt-{i}" for i in range(1, 6)]
            assert tf.train.latest_checkpoint(root) == paths[-1]
            assert saver.last_checkpoints == paths[-3:]
            state = tf.train.get_checkpoint_state(root)
            assert state.model_checkpoint_path == paths[-1]
            assert list(state.all_model_checkpoint_paths) == paths[-3:]
            assert [tf.train.checkpoint_exists(p) for p in paths] == [False, False, True, True, True]
            saver.restore(sess, paths[2])
            np.testing.assert_array_equal(sess.run(w), np.arange(6).reshape(2, 3) + 3)
            np.testing.assert_array_equal(sess.run(b), np.full(3, -1.5))
            assert sess.run(step) == 3
    shapes = dict(tf.train.list_variables(root))
    assert shapes == {"w": [2, 3], "scope/b": [3], "global_step": []}


def test_restore_errors_are_tf_errors(tmp_path):
    prefix = str(tmp_path / "m")
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0, 3.0], name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(v.initializer)
            saver.save(sess, prefix)
    with tf.Graph().as_default():  # a variable the checkpoint lacks
        tf.Variable([1.0, 2.0, 3.0], name="v")
        tf.Variable(1.0, name="other")
        with tf.Session() as sess, pytest.raises(tf.errors.NotFoundError, match="Key other not found in checkpoint"):
            tf.train.Saver().restore(sess, prefix)
    with tf.Graph().as_default():  # another shape
        tf.Variable([1.0, 2.0], name="v")
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError,
                                                 match=r"lhs shape= \[2\] rhs shape= \[3\]"):
            tf.train.Saver().restore(sess, prefix)
    with tf.Graph().as_default():  # another dtype
        tf.Variable([1, 2, 3], name="v")
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError,
                                                 match="expected dtype int32 does not equal original dtype float"):
            tf.train.Saver().restore(sess, prefix)
    with tf.Graph().as_default():  # reshape=True restores the same elements in another shape
        v = tf.Variable(np.zeros((3, 1), np.float32), name="v")
        with tf.Session() as sess:
            tf.train.Saver(reshape=True).restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(v), [[1.0], [2.0], [3.0]])
        with tf.Session() as sess, pytest.raises(ValueError, match="not a valid checkpoint"):
            tf.train.Saver().restore(sess, prefix + "-nope")
        with tf.Session() as sess, pytest.raises(ValueError, match="None"):
            tf.train.Saver().restore(sess, None)


def test_var_list_dict_and_relative_paths(tmp_path):
    with tf.Graph().as_default():
        a = tf.Variable(5.0, name="a")
        saver = tf.train.Saver({"renamed/a": a}, save_relative_paths=True, max_to_keep=None)
        with tf.Session() as sess:
            sess.run(a.initializer)
            for i in range(7):
                saver.save(sess, str(tmp_path / "m"), global_step=i)
            assert tf.train.load_variable(str(tmp_path), "renamed/a") == 5.0
    text = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "m-6"' in text and str(tmp_path) not in text
    assert len(tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths) == 7
    assert all(tf.train.checkpoint_exists(str(tmp_path / f"m-{i}")) for i in range(7))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="No variables to save"):
            tf.train.Saver()
        tf.Variable(1.0, name="x")
        with pytest.raises(ValueError, match="same name"):
            tf.train.Saver([tf.get_default_graph().get_collection("variables")[0]] * 2)


def test_keep_checkpoint_every_n_hours(tmp_path, monkeypatch):
    import dataflow.train.saver as saver_mod

    clock = [1000.0]
    monkeypatch.setattr(saver_mod.time, "time", lambda: clock[0])
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        saver = tf.train.Saver(max_to_keep=2, keep_checkpoint_every_n_hours=1)
        with tf.Session() as sess:
            sess.run(v.initializer)
            for i in range(8):  # one save every 30 minutes
                clock[0] += 1800
                saver.save(sess, str(tmp_path / "m"), global_step=i)
    kept = sorted(int(f.split("-")[1].split(".")[0]) for f in os.listdir(tmp_path) if f.endswith(".index"))
    # the two most recent, plus those dropped from the list more than an hour after the last one kept
    # (TF's rule: a checkpoint is kept when its time is strictly past the next preservation time,
    # which starts at construction + 1 h = 4600 s; saves were at 2800, 4600, 6400, ... s)
    assert kept == [2, 4, 6, 7]


def test_update_checkpoint_state_and_missing_latest(tmp_path):
    d = str(tmp_path)
    assert tf.train.latest_checkpoint(d) is None and tf.train.get_checkpoint_state(d) is None
    tf.train.update_checkpoint_state(d, "gone-5", ["gone-4", "gone-5"])
    state = tf.train.get_checkpoint_state(d)
    assert state.model_checkpoint_path == os.path.join(d, "gone-5")
    assert tf.train.latest_checkpoint(d) is None  # the state names no complete checkpoint
    (tmp_path / "checkpoint").write_text("model_checkpoint_path: \"x\" garbage")
    with pytest.raises(tf.errors.DataLossError, match="checkpoint"):
        tf.train.get_checkpoint_state(d)
