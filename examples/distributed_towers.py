"""In-graph replication: an MLP trained by towers on several Dask workers, its weights on the ps.

Each tower (``/job:worker/task:i``) computes the loss and the gradients of its own batch; the
gradients are averaged and applied on the parameter server (``/job:ps/task:0``), which holds the
variables. The same graph run by a local ``tf.Session()`` gives the same numbers.

Run: python examples/distributed_towers.py            (starts a local cluster: ps-0, worker-0, worker-1)
     python examples/distributed_towers.py tcp://HOST:8786 [STEPS]   (a cluster with those workers)
"""

import sys
import time

import numpy as np

import dataflow as tf


def make_data(n: int = 2048, n_in: int = 32, classes: int = 4, seed: int = 0):
    """Synthetic classification data: labels from a random linear map of Gaussian features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_in)).astype(np.float32)
    y = np.argmax(x @ rng.normal(size=(n_in, classes)), axis=1).astype(np.int64)
    return x, y


def build(num_towers: int, n_in: int = 32, hidden: int = 64, classes: int = 4, lr: float = 0.1):
    """The replicated training graph: ``(inputs, labels, loss, train_op)``, inputs and labels per tower."""
    tf.set_random_seed(1)
    with tf.device("/job:ps/task:0"):
        w1 = tf.Variable(tf.truncated_normal([n_in, hidden], stddev=1.0 / np.sqrt(n_in)), name="w1")
        b1 = tf.Variable(tf.zeros([hidden]), name="b1")
        w2 = tf.Variable(tf.truncated_normal([hidden, classes], stddev=1.0 / np.sqrt(hidden)), name="w2")
        b2 = tf.Variable(tf.zeros([classes]), name="b2")
    params = [w1, b1, w2, b2]
    inputs, labels, losses, tower_grads = [], [], [], []
    for i in range(num_towers):
        with tf.device(f"/job:worker/task:{i}"), tf.name_scope(f"tower_{i}"):
            x = tf.placeholder(tf.float32, [None, n_in], name="x")
            y = tf.placeholder(tf.int64, [None], name="y")
            h = tf.nn.relu(tf.matmul(x, w1) + b1)
            logits = tf.matmul(h, w2) + b2
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            tower_grads.append(tf.gradients(loss, params))
        inputs.append(x)
        labels.append(y)
        losses.append(loss)
    with tf.device("/job:ps/task:0"):
        grads = [tf.add_n(list(gs)) / float(num_towers) for gs in zip(*tower_grads)]
        train_op = tf.train.GradientDescentOptimizer(lr).apply_gradients(list(zip(grads, params)))
        loss = tf.add_n(losses) / float(num_towers)
    return inputs, labels, loss, train_op


def train(sess, graph_parts, data, steps: int, batch: int = 64):
    """Run ``steps`` steps, each tower on its own slice of the batch; the losses per step."""
    inputs, labels, loss, train_op = graph_parts
    x, y = data
    n = len(inputs)
    out = []
    for step in range(steps):
        start = (step * batch * n) % (len(x) - batch * n)
        feed = {}
        for i in range(n):
            lo = start + i * batch
            feed[inputs[i]] = x[lo:lo + batch]
            feed[labels[i]] = y[lo:lo + batch]
        out.append(sess.run([loss, train_op], feed)[0])
    return out


def main(target=None, towers: int = 2, steps: int = 100):
    from dataflow.cluster import LocalCluster

    cluster = None
    if target is None:
        cluster = LocalCluster(ps=1, worker=towers)
        target = cluster.target
    try:
        parts = build(towers)
        data = make_data()
        with tf.Session(target) as sess:
            sess.run(tf.global_variables_initializer())
            t0 = time.perf_counter()
            losses = train(sess, parts, data, steps)
            dt = time.perf_counter() - t0
        print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; {steps / dt:.1f} steps/s on {towers} towers")
    finally:
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None,
         steps=int(sys.argv[2]) if len(sys.argv) > 2 else 100)
