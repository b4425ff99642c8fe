"""Recurrent networks against TensorFlow: the cases of ``tests/golden/rnn_golden.py`` built with
dataflow, their variables set by TF's names from the golden file, outputs, final states and gradients
compared; plus wrappers, scoping and ``sequence_loss`` semantics."""

import os

import numpy as np
import pytest

import dataflow as tf
from golden import rnn_golden

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden", "surface.npz"))


@pytest.mark.parametrize("case", rnn_golden.CASES)
def test_rnn_matches_tensorflow(case):
    prefix = f"rnn/{case}/"
    weights = {k[len(prefix + "weight/"):]: GOLDEN[k] for k in GOLDEN if k.startswith(prefix + "weight/")}
    values, _ = rnn_golden.run(tf, tf.Session, case, GOLDEN["rnn/x"], weights)
    expected = {k[len(prefix):]: GOLDEN[k] for k in GOLDEN if k.startswith(prefix) and "/weight/" not in k}
    assert sorted(values) == sorted(expected)
    for k, v in expected.items():
        np.testing.assert_allclose(values[k], v, rtol=2e-5, atol=2e-6, err_msg=f"{case}: {k}")


@pytest.mark.parametrize("case", [c for c in rnn_golden.CASES if "dynamic" in c or "bidirectional" in c])
def test_dynamic_rnn_in_a_while_loop_matches_tensorflow(case):
    """The time dimension unknown when the graph is built: dynamic_rnn runs a tf.while_loop."""
    prefix = f"rnn/{case}/"
    weights = {k[len(prefix + "weight/"):]: GOLDEN[k] for k in GOLDEN if k.startswith(prefix + "weight/")}
    values, _ = rnn_golden.run(tf, tf.Session, case, GOLDEN["rnn/x"], weights, unknown_time=True)
    for k, v in values.items():
        np.testing.assert_allclose(v, GOLDEN[prefix + k], rtol=2e-5, atol=2e-6, err_msg=f"{case}: {k}")


def test_dynamic_rnn_uses_a_while_loop_for_unknown_lengths():
    x = tf.placeholder(tf.float32, [None, None, 3])
    out, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), x, dtype=tf.float32)
    assert "While" in {op.type for op in tf.get_default_graph().get_operations()}
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        assert s.run(out, {x: np.ones((3, 7, 3))}).shape == (3, 7, 2)
        assert s.run(out, {x: np.ones((1, 2, 3))}).shape == (1, 2, 2)


def test_copy_through_past_sequence_length():
    x = tf.constant(np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32))
    cell = tf.nn.rnn_cell.BasicRNNCell(4)
    out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=[5, 2], dtype=tf.float32)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        o, st = s.run([out, state])
    assert np.all(o[1, 2:] == 0) and np.all(o[0] != 0)
    np.testing.assert_array_equal(st[1], o[1, 1])
    np.testing.assert_array_equal(st[0], o[0, 4])


def test_user_cell_subclass_and_scopes():
    class Doubler(tf.nn.rnn_cell.RNNCell):
        @property
        def state_size(self):
            return 2

        @property
        def output_size(self):
            return 2

        def build(self, inputs_shape):
            self.w = self.add_variable("w", [inputs_shape[-1].value, 2], initializer=tf.ones_initializer())

        def call(self, inputs, state):
            new = 2.0 * state + tf.matmul(inputs, self.w)
            return new, new

    cell = Doubler()
    xs = [tf.ones([1, 3]) for _ in range(3)]
    outs, state = tf.nn.static_rnn(cell, xs, dtype=tf.float32, scope="mine")
    assert [v.op.name for v in tf.trainable_variables()] == ["mine/doubler/w"]
    assert cell.zero_state(5, tf.float32).shape.as_list() == [5, 2]
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(s.run(state), [[21.0, 21.0]])  # 3, 9, 21
    with tf.variable_scope("explicit"):
        tf.nn.rnn_cell.GRUCell(2)(tf.ones([1, 3]), tf.zeros([1, 2]), scope="here")
    assert "explicit/here/gates/kernel:0" in [v.name for v in tf.global_variables()]


def test_contrib_names_and_dropout_wrapper():
    assert tf.contrib.rnn.BasicLSTMCell is tf.nn.rnn_cell.BasicLSTMCell
    assert tf.contrib.rnn.static_rnn is tf.nn.static_rnn
    cell = tf.contrib.rnn.DropoutWrapper(tf.contrib.rnn.BasicRNNCell(50), output_keep_prob=0.5, seed=3)
    out, _ = cell(tf.ones([4, 3]), tf.zeros([4, 50]))
    assert [v.op.name for v in tf.trainable_variables()] == ["basic_rnn_cell/kernel", "basic_rnn_cell/bias"]
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        o = s.run(out)
    assert 0.2 < np.mean(o == 0) < 0.8
    with pytest.raises(ValueError):
        tf.contrib.rnn.DropoutWrapper(cell, input_keep_prob=1.5)


def test_sequence_loss_against_numpy():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((2, 3, 5)).astype(np.float32)
    targets = rng.integers(0, 5, (2, 3)).astype(np.int32)
    weights = np.array([[1, 1, 0], [1, 0.5, 1]], np.float32)
    lse = np.log(np.exp(logits).sum(-1))
    ce = lse - np.take_along_axis(logits, targets[..., None], -1)[..., 0]
    with tf.Session() as s:
        total = s.run(tf.contrib.seq2seq.sequence_loss(logits, targets, weights))
        per_seq = s.run(tf.contrib.seq2seq.sequence_loss(logits, targets, weights, average_across_batch=False))
        per_step = s.run(tf.contrib.seq2seq.sequence_loss(logits, targets, weights, average_across_timesteps=False))
    np.testing.assert_allclose(total, (ce * weights).sum() / weights.sum(), rtol=1e-5)
    np.testing.assert_allclose(per_seq, (ce * weights).sum(1) / weights.sum(1), rtol=1e-5)
    np.testing.assert_allclose(per_step, (ce * weights).sum(0) / weights.sum(0), rtol=1e-5)


def test_static_bidirectional_rnn_agrees_with_the_dynamic_one():
    xv = np.random.default_rng(2).standard_normal((2, 4, 3)).astype(np.float32)
    fw, bw = tf.nn.rnn_cell.LSTMCell(3), tf.nn.rnn_cell.GRUCell(2)
    (dyn_fw, dyn_bw), _ = tf.nn.bidirectional_dynamic_rnn(fw, bw, tf.constant(xv), sequence_length=[4, 2],
                                                          dtype=tf.float32)
    outs, state_fw, state_bw = tf.contrib.rnn.static_bidirectional_rnn(
        fw, bw, tf.unstack(tf.constant(xv), axis=1), dtype=tf.float32, sequence_length=[4, 2])
    assert len(outs) == 4 and outs[0].shape.as_list() == [2, 5]
    assert len(tf.trainable_variables()) == 6  # the same cells: the same variables
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        d = np.concatenate(s.run([dyn_fw, dyn_bw]), axis=2)
        st = s.run(tf.stack(outs, axis=1))
    np.testing.assert_allclose(st, d, rtol=1e-6, atol=1e-7)
    assert np.all(st[1, 2:] == 0)


def test_variational_dropout_uses_one_mask_for_every_step():
    cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicRNNCell(64), output_keep_prob=0.5,
                                         variational_recurrent=True, dtype=tf.float32, seed=4)
    x = tf.placeholder(tf.float32, [3, None, 2])
    out, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        o = s.run(out, {x: np.ones((3, 5, 2))})
    dropped = o == 0
    assert 0.2 < dropped.mean() < 0.8
    assert (dropped == dropped[:1, :1]).all()  # the same units for every row and every step
    with pytest.raises(ValueError, match="dtype must be provided"):
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2), state_keep_prob=0.5, variational_recurrent=True)
