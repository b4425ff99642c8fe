"""Never lose a checkpoint: SIGKILL a process that saves in a loop, at every step of a save and at random.

The child resumes from ``latest_checkpoint`` (checking what it restored), then saves steps with
``max_to_keep=2`` (so deletions happen too). In "point" mode it kills itself at the N-th point of the
save protocol (before/after each atomic file write, between a temporary file's fsync and its rename,
before/after each deletion); in "random" mode the parent kills it after a random delay. After every
kill, ``latest_checkpoint`` must name a complete checkpoint whose values are those of one saved step,
never older than the last one seen.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import dataflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r'''
import os, signal, sys
import numpy as np
import dataflow as tf
from dataflow.train import checkpoint_io as io

root, kill_at, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = [0]

def point():
    count[0] += 1
    if count[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

def around(fn):
    def wrapped(*args, **kwargs):
        point()
        out = fn(*args, **kwargs)
        point()
        return out
    return wrapped

io.write_atomic = around(io.write_atomic)
io.delete_bundle = around(io.delete_bundle)
_replace = os.replace
def replace(*args):
    point()  # the temporary file is complete and fsynced, not yet renamed
    return _replace(*args)
os.replace = replace

w = tf.Variable(np.zeros((64, 64), np.float32), name="w")
b = tf.Variable(np.zeros(7, np.float64), name="b")
gs = tf.train.get_or_create_global_step()
k = tf.placeholder(tf.int64, [])
update = tf.group(tf.assign(w, tf.fill([64, 64], tf.cast(k, tf.float32))),
                  tf.assign(b, tf.fill([7], -tf.cast(k, tf.float64))), tf.assign(gs, k))
saver = tf.train.Saver(max_to_keep=2)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    start = 0
    latest = tf.train.latest_checkpoint(root)
    if latest:
        saver.restore(sess, latest)
        start = int(sess.run(gs))
        assert (sess.run(w) == start).all() and (sess.run(b) == -start).all()
        saver.recover_last_checkpoints(tf.train.get_checkpoint_state(root).all_model_checkpoint_paths)
    for step in range(start + 1, start + 1 + steps):
        sess.run(update, {k: step})
        saver.save(sess, root + "/model.ckpt", global_step=gs)
        print(step, flush=True)
'''


def _child(tmp_path, kill_at, steps):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "ck"), str(kill_at), str(steps)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check(tmp_path, previous):
    """latest_checkpoint restores one saved step, no older than ``previous``; return that step."""
    root = str(tmp_path / "ck")
    latest = tf.train.latest_checkpoint(root)
    if latest is None:
        assert previous == 0, "a saved checkpoint was lost"
        return 0
    with tf.Graph().as_default():
        w = tf.Variable(np.ones((64, 64), np.float32), name="w")
        b = tf.Variable(np.ones(7, np.float64), name="b")
        gs = tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, latest)
            step, wv, bv = sess.run([gs, w, b])
    assert step >= previous and latest.endswith(f"-{step}")
    np.testing.assert_array_equal(wv, np.full((64, 64), step, np.float32))
    np.testing.assert_array_equal(bv, np.full(7, -step, np.float64))
    for path in tf.train.get_checkpoint_state(root).all_model_checkpoint_paths:
        if tf.train.checkpoint_exists(path):  # whatever the state lists and exists is complete
            reader = tf.train.NewCheckpointReader(path)
            assert reader.get_tensor("global_step") == int(path.rsplit("-", 1)[1])
    return int(step)


@pytest.mark.slow
def test_sigkill_at_every_point_of_a_save(tmp_path):
    # a save passes 3 points per file written (before it, between fsync and rename, after it) for the
    # data, index and state files, plus 2 around each deletion from the third save on: 9, 9, 11, 11...
    # points; kill_at 1..40 covers every point of the first four saves, deletions included
    points = list(range(1, 41))
    for batch in range(0, len(points), 4):
        procs = []
        for kill_at in points[batch:batch + 4]:  # a folder each, 4 processes at a time
            sub = tmp_path / f"p{kill_at}"
            sub.mkdir()
            procs.append((kill_at, sub, _child(sub, kill_at, 5)))
        for kill_at, sub, proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == -signal.SIGKILL, (kill_at, err)
            saved = [int(x) for x in out.split()]
            step = _check(sub, 0)
            assert step >= (saved[-1] if saved else 0), (kill_at, saved, step)


@pytest.mark.slow
def test_sigkill_at_random_times_resumes(tmp_path):
    rng = random.Random(10)
    previous = 0
    for _ in range(6):
        proc = _child(tmp_path, 0, 100000)
        first = proc.stdout.readline()  # it resumed and saved once: kill it somewhere in the saves after that
        assert first.strip(), proc.stderr.read()
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, err
        saved = [int(x) for x in (first + out).split()]
        step = _check(tmp_path, previous)
        assert step >= saved[-1] > previous
        previous = step
