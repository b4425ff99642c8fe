"""Session.run overhead as the best of many short blocks: robust on a loaded, shared machine.

Run: PYTHONPATH=<tree> python bench/overhead_best.py  (run it for two trees, alternately, to compare them)
Prints the best microseconds per call of 60 blocks of 200 calls: a tiny run (``a + b``, one feed) and a
linear-regression GradientDescent step on a fed batch of 32.
"""

import numpy as np
from run_overhead import best_per_call  # bench/ is on sys.path when this script runs

import dataflow as tf


def best(f, n=200, reps=60):
    """Microseconds per call: the best of ``reps`` blocks of ``n`` calls."""
    return best_per_call(f, n, blocks=reps) * 1e6


a = tf.placeholder(tf.float32, [])
c = a + tf.constant(2.0)
x = tf.placeholder(tf.float32, [None, 1])
y = tf.placeholder(tf.float32, [None, 1])
w = tf.Variable(tf.zeros([1, 1]))
b = tf.Variable(tf.zeros([1]))
step = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y)))
s = tf.Session()
s.run(tf.global_variables_initializer())
xv = np.random.rand(32, 1).astype(np.float32)
print(f"tiny {best(lambda: s.run(c, {a: 1.0})):.2f} us  step {best(lambda: s.run(step, {x: xv, y: 2 * xv})):.2f} us")
