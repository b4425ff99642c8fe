"""examples/cnn_digits.py --logdir: checkpoints and summaries, and a second run resumes where it stopped."""

import os
import re
import subprocess
import sys

import pytest

import dataflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "cnn_digits.py"), *args],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_cnn_digits_logdir_checkpoints_summaries_and_resumes(tmp_path):
    pytest.importorskip("sklearn")
    from tensorboard.backend.event_processing import event_accumulator as ea

    logdir = str(tmp_path / "run")
    first = _run("--logdir", logdir, "--epochs", "1", "--checkpoint-steps", "10")
    assert "step    23" in first  # 1438 training images in batches of 64
    assert tf.train.latest_checkpoint(logdir).endswith("model.ckpt-23")
    second = _run("--logdir", logdir, "--epochs", "2", "--checkpoint-steps", "10")
    assert "step    46" in second and "step    23" not in second
    assert tf.train.latest_checkpoint(logdir).endswith("model.ckpt-46")
    acc = ea.EventAccumulator(logdir, size_guidance={ea.SCALARS: 0})
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"loss", "accuracy"} and acc.Tags()["graph"]
    steps = [e.step for e in acc.Scalars("loss")]
    assert steps == sorted(steps) and steps[-1] > 23  # both runs wrote to the same log
    evals = ea.EventAccumulator(os.path.join(logdir, "eval"))
    evals.Reload()
    values = {e.step: e.value for e in evals.Scalars("eval/accuracy")}
    assert sorted(values) == [23, 46]
    final = float(re.search(r"final test accuracy: ([0-9.]+)", second).group(1))
    assert abs(values[46] - final) < 1e-4
