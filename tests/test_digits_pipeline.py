"""examples/digits_pipeline.py end to end (shards -> tf.data -> CNN -> held-out shards), as a user runs it."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.timeout(900)


def _run(*args):
    pytest.importorskip("sklearn")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "digits_pipeline.py"), *args],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout, float(re.search(r"final held-out accuracy: ([0-9.]+)", out.stdout).group(1))


@pytest.mark.parametrize("where", ["local", "memory"])
def test_short_run_learns_from_shards(tmp_path, where):
    data = str(tmp_path / "shards") if where == "local" else "memory://digits"
    stdout, acc = _run("--data", data, "--epochs", "2", "--eval-every", "2")
    assert acc > 0.5, stdout  # chance is 0.1
    assert "wrote 8 shards" in stdout and "epoch   2" in stdout
    if where == "local":
        assert len([f for f in os.listdir(data) if f.endswith(".tfrecord")]) == 8


@pytest.mark.slow
def test_full_run_reaches_target_on_held_out_shards():
    # the held-out shards are contiguous runs of the dataset (other writers than the training shards): a
    # harder split than cnn_digits.py's stratified random one (an RBF SVM scores ~0.94 on it)
    stdout, acc = _run()
    assert acc >= 0.94, stdout


def test_logdir_keeps_checkpoints_and_summaries_and_resumes(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import dataflow as tf

    logdir = str(tmp_path / "logs")
    data = str(tmp_path / "shards")
    stdout, _ = _run("--data", data, "--epochs", "2", "--eval-every", "1", "--logdir", logdir)
    assert "resumed" not in stdout
    first = tf.train.latest_checkpoint(logdir)
    assert first is not None and first.endswith("model.ckpt-%d" % tf.train.load_variable(first, "global_step"))
    assert tf.train.load_variable(first, "epochs_done") == 2
    stdout, acc = _run("--data", data, "--epochs", "3", "--eval-every", "1", "--logdir", logdir)
    assert f"resumed from {first} at epoch 3" in stdout, stdout
    assert "epoch   1 " not in stdout and "epoch   3 " in stdout
    assert tf.train.load_variable(tf.train.latest_checkpoint(logdir), "epochs_done") == 3
    events = EventAccumulator(logdir)
    events.Reload()
    assert set(events.Tags()["scalars"]) >= {"loss", "held_out_accuracy"}
    held_out = events.Scalars("held_out_accuracy")
    assert len(held_out) == 3 and abs(held_out[-1].value - acc) < 1e-4  # printed with 4 decimals
    assert events.Graph() is not None
