"""Control-flow overhead: a while_loop's cost per iteration, and an RNN-like loop forward and backward.

    python bench/control_flow.py

Prints microseconds per iteration of a counter loop (cond + body programs, nothing else) and
milliseconds per run of a tanh recurrence over T steps (batch B, hidden H) with a TensorArray of its
outputs, forward only and forward plus the gradient of a loss w.r.t. both weight matrices.
"""

from __future__ import annotations

import time

import numpy as np

import dataflow as tf


def _best(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def counter_loop(n: int = 20000) -> float:
    with tf.Graph().as_default():
        r = tf.while_loop(lambda i: i < n, lambda i: i + 1, [0])
        sess = tf.Session()
        sess.run(r)
        return _best(lambda: sess.run(r)) / n * 1e6


def rnn(T: int = 100, B: int = 32, H: int = 128) -> tuple:
    with tf.Graph().as_default():
        rng = np.random.default_rng(0)
        x = tf.constant(rng.standard_normal((T, B, H)).astype(np.float32))
        w = tf.Variable((rng.standard_normal((H, H)) * 0.1).astype(np.float32))
        u = tf.Variable((rng.standard_normal((H, H)) * 0.1).astype(np.float32))

        def body(t, h, out):
            h = tf.tanh(tf.matmul(h, w) + tf.matmul(x[t], u))
            return t + 1, h, out.write(t, h)

        _, h, out = tf.while_loop(lambda t, h, o: t < T, body, [0, tf.zeros([B, H]), tf.TensorArray(tf.float32, T)])
        loss = tf.reduce_mean(tf.square(out.stack()))
        grads = tf.gradients(loss, [w, u])
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        sess.run([loss, grads])
        fwd = _best(lambda: sess.run(loss)) * 1e3
        both = _best(lambda: sess.run([loss, grads])) * 1e3
        return fwd, both


if __name__ == "__main__":
    print(f"counter loop: {counter_loop():.1f} us per iteration")
    fwd, both = rnn()
    print(f"rnn T=100 B=32 H=128: forward {fwd:.1f} ms, forward+gradient {both:.1f} ms")
