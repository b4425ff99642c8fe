"""Candidate samplers, nce_loss and sampled_softmax_loss: losses and gradients against TensorFlow on a
stored sample; the samplers' distributions and expected counts against TF's formulas."""

import os

import numpy as np
import pytest

import dataflow as tf

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden", "surface.npz"))


@pytest.mark.parametrize("key", ["nce", "nce_hits", "softmax"])
def test_sampled_losses_match_tensorflow(key):
    g = {k.split("/", 1)[1]: GOLDEN[k] for k in GOLDEN if k.startswith("sampled/")}
    sv = (g["ids"], g["true_q"], g["sampled_q"])
    W, B, X = (tf.Variable(g[k]) for k in ("w", "b", "x"))
    if key == "softmax":
        loss = tf.nn.sampled_softmax_loss(W, B, g["labels"], X, 5, 20, num_true=2, sampled_values=sv)
    else:
        loss = tf.nn.nce_loss(W, B, g["labels"], X, 5, 20, num_true=2, sampled_values=sv,
                              remove_accidental_hits=key == "nce_hits")
    assert loss.shape.as_list() == [3]
    grads = tf.gradients(loss, [W, B, X])
    assert isinstance(grads[0], tf.IndexedSlices)  # only the true and sampled rows of the weights
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        vals = s.run([loss] + [tf.convert_to_tensor(t) for t in grads])
    for name, v in zip(["loss", "dw", "db", "dx"], vals):
        np.testing.assert_allclose(v, g[f"{key}/{name}"], rtol=1e-5, atol=1e-6, err_msg=name)


def test_compute_accidental_hits_matches_tensorflow():
    with tf.Session() as s:
        got = s.run(tf.nn.compute_accidental_hits(GOLDEN["sampled/labels"], GOLDEN["sampled/ids"], num_true=2))
    for name, v in zip(["indices", "ids", "weights"], got):
        np.testing.assert_array_equal(v, GOLDEN[f"sampled/hits/{name}"])


def _log_uniform_p(ids, n):
    return np.log((ids + 2.0) / (ids + 1.0)) / np.log(n + 1.0)


def test_log_uniform_sampler_distribution_and_expected_counts():
    true = tf.constant([[0], [3]], tf.int64)
    sampled, true_q, sampled_q = tf.nn.log_uniform_candidate_sampler(true, 1, 4000, False, 50, seed=2)
    with tf.Session() as s:
        ids, tq, sq = s.run([sampled, true_q, sampled_q])
    freq = np.bincount(ids, minlength=50) / ids.size
    np.testing.assert_allclose(freq[:5], _log_uniform_p(np.arange(5), 50), atol=0.02)
    np.testing.assert_allclose(tq[:, 0], 4000 * _log_uniform_p(np.array([0, 3]), 50), rtol=1e-5)
    np.testing.assert_allclose(sq, 4000 * _log_uniform_p(ids, 50), rtol=1e-5)
    assert ids.min() >= 0 and ids.max() < 50


def test_unique_samples_are_distinct_and_reproducible():
    true = tf.constant([[1, 2]], tf.int64)
    draw = tf.nn.uniform_candidate_sampler(true, 2, 10, True, 12, seed=7)
    with tf.Session() as s:
        ids, tq, sq = s.run(draw)
        again = s.run(draw[0])
    with tf.Session() as s:
        replay = s.run(draw[0])
    assert len(set(ids.tolist())) == 10 and not np.array_equal(ids, again)
    np.testing.assert_array_equal(ids, replay)  # a new session replays the seeded stream
    # unique: Q = 1 - (1 - 1/12) ** tries, the same for every class under a uniform sampler
    assert np.allclose(sq, sq[0]) and np.allclose(tq, sq[0])
    tries = np.log1p(-float(sq[0])) / np.log1p(-1 / 12)
    assert tries >= 10 and abs(tries - round(tries)) < 1e-3
