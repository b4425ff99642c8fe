"""Functional control flow and TensorArray as op rows: while_loop (While, WhileGrad), cond (If, IfGrad),
TensorArray reads and writes (fixed and dynamic size) inside loops. The gradient check goes through
the loop's recorded history and the body's gradient program."""

import numpy as np

import dataflow as tf
from opspec import OpSpec, normal_inputs


def _power_loop(x):
    return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x + 0.1 * y), [0, tf.ones_like(x)])[1]


def _rnn(x, w):
    def body(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + x[t])

    return tf.while_loop(lambda t, h: t < 4, body, [0, tf.zeros_like(x[0])])[1]


def _rnn_ref(x, w):
    h = np.zeros_like(x[0])
    for t in range(4):
        h = np.tanh(h @ w + x[t])
    return h


def _cond(x):
    return tf.cond(tf.reduce_sum(x) > 0, lambda: tf.exp(x) * x, lambda: tf.sin(x) * 2.0)


def _cond_ref(x):
    return np.exp(x) * x if x.sum() > 0 else np.sin(x) * 2.0


def _ta_loop(x, dynamic):
    xs = tf.TensorArray(x.dtype, size=4).unstack(x)
    out = tf.TensorArray(x.dtype, size=0 if dynamic else 4, dynamic_size=dynamic)
    _, out = tf.while_loop(lambda t, o: t < xs.size(), lambda t, o: (t + 1, o.write(t, tf.square(xs.read(t)))),
                           [0, out])
    return out.stack()


SPECS = [
    OpSpec("while_power", _power_loop, lambda x: (x + 0.1) ** 3, normal_inputs((2, 3))),
    OpSpec("while_rnn", _rnn, _rnn_ref, lambda rng: [rng.standard_normal((4, 2, 3)).astype(np.float32),
                                                      (rng.standard_normal((3, 3)) * 0.5).astype(np.float32)]),
    OpSpec("cond_true", _cond, _cond_ref, lambda rng: [np.abs(rng.standard_normal(3)).astype(np.float32) + 0.1]),
    OpSpec("cond_false", _cond, _cond_ref, lambda rng: [-np.abs(rng.standard_normal(3)).astype(np.float32) - 0.1]),
    OpSpec("tensor_array_loop", lambda x: _ta_loop(x, False), np.square, normal_inputs((4, 3))),
    OpSpec("tensor_array_dynamic", lambda x: _ta_loop(x, True), np.square, normal_inputs((4, 3))),
]
