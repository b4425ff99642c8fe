"""Control-flow scenarios written once against a TF1-style module ``tf``: run by
``make_control_flow_golden.py`` with TensorFlow (``tf.compat.v1``, ref variables) to make
``control_flow.npz``, and by ``tests/test_control_flow_golden.py`` with dataflow to compare.

Each case is ``case(tf) -> (fetches: dict name -> tensor, init: bool)``, built in a fresh default
graph; inputs are fixed NumPy arrays (seeded), so both runs see the same numbers.
"""

import collections

import numpy as np

RNG = np.random.RandomState(7)
X = RNG.standard_normal((5, 3, 4))
W = RNG.standard_normal((4, 4)) * 0.4
U = RNG.standard_normal((4, 4)) * 0.4
V = RNG.standard_normal(4)


def read_after_assign(tf):
    v = tf.Variable([1., 2.])
    doubled = tf.assign(v, v * 2.0)
    with tf.control_dependencies([doubled]):
        r = tf.identity(v) + 0.0
    return {"r": r}, True


def ema_after_train_step(tf):
    w = tf.Variable(np.array([1.0, -2.0]))
    loss = tf.reduce_sum(w * w * np.array([1.0, 3.0]))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    ema = tf.train.ExponentialMovingAverage(decay=0.8)
    with tf.control_dependencies([train]):
        step = ema.apply([w])
    return {"step": step, "shadow": ema.average(w), "w": w}, True


def rnn_loop(tf):
    x, w, u = tf.constant(X), tf.constant(W), tf.constant(U)

    def body(t, h, out):
        h = tf.tanh(tf.matmul(h, w) + tf.matmul(x[t], u))
        return t + 1, h, out.write(t, h * h)

    _, h, out = tf.while_loop(lambda t, h, o: t < 5, body,
                              [tf.constant(0), tf.zeros([3, 4], tf.float64), tf.TensorArray(tf.float64, size=5)])
    loss = tf.reduce_sum(out.stack() * np.arange(5.0)[:, None, None]) + tf.reduce_sum(h)
    gw, gu, gx = tf.gradients(loss, [w, u, x])
    return {"h": h, "loss": loss, "gw": gw, "gu": gu, "gx": gx}, False


def nested_loops_and_cond(tf):
    v = tf.constant(V)

    def outer(i, acc):
        inner = tf.while_loop(lambda j, p: j < i + 1, lambda j, p: (j + 1, tf.sin(p) * v + 0.3), [0, acc])[1]
        return i + 1, tf.cond(tf.equal(i % 2, 0), lambda: inner * v, lambda: tf.cos(inner))

    y = tf.while_loop(lambda i, a: i < 4, outer, [0, tf.ones([4], tf.float64)])[1]
    (g,) = tf.gradients(tf.reduce_sum(y * y), v)
    return {"y": y, "g": g}, False


State = collections.namedtuple("State", ("c", "h"))


def structured_loop_vars_and_max_iterations(tf):
    def body(i, s, d):
        return i + 1, State(s.c + s.h, s.h * 0.5), {"k": d["k"] * 2.0}

    i, s, d = tf.while_loop(lambda i, s, d: i < 100, body,
                            (tf.constant(0), State(tf.constant(V), tf.constant(V + 1.0)), {"k": tf.constant(1.0)}),
                            maximum_iterations=6)
    return {"i": i, "c": s.c, "h": s.h, "k": d["k"]}, False


def case_and_cond(tf):
    x = tf.constant(V)
    p = tf.reduce_sum(x) > 0.0
    c = tf.cond(p, lambda: tf.exp(x), lambda: x * 3.0)
    r = tf.case([(tf.reduce_max(x) > 5.0, lambda: x * 0.0), (tf.reduce_min(x) < 0.0, lambda: x * 2.0)],
                default=lambda: x)
    gc, gr = tf.gradients(tf.reduce_sum(c * r), x), tf.gradients(tf.reduce_sum(r * r), x)
    return {"c": c, "r": r, "gc": gc[0], "gr": gr[0]}, False


CASES = [read_after_assign, ema_after_train_step, rnn_loop, nested_loops_and_cond,
         structured_loop_vars_and_max_iterations, case_and_cond]


def run(tf, case) -> dict:
    """Build ``case`` in a fresh graph and run its fetches (``ema`` steps three times)."""
    with tf.Graph().as_default():
        fetches, init = case(tf)
        with tf.Session() as sess:
            if init:
                sess.run(tf.global_variables_initializer())
            if "step" in fetches:
                out = {}
                for k in range(3):
                    sess.run(fetches["step"])
                    out.update({f"{n}{k}": sess.run(t) for n, t in fetches.items() if n != "step"})
                return out
            return sess.run(fetches)
