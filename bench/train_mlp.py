"""Training-step throughput: a 784-256-256-10 ReLU MLP, softmax cross-entropy, Adam, batch 128, float32.

Three implementations of the same step on the same random data, timed in one run:

- **dataflow**: ``tf.train.AdamOptimizer(1e-3).minimize(loss)``, one ``Session.run`` per step, the batch fed;
- **numpy**: the same model hand-written in NumPy (forward, backward, TF1's Adam update in place, with
  preallocated scratch buffers: the fastest plain NumPy we know how to write);
- **tensorflow**: ``tf.compat.v1`` graph mode, in a worker subprocess of ``--tf-python`` (default
  ``/tmp/tfvenv/bin/python``) when that interpreter exists; dataflow itself never imports TensorFlow.

Run: python bench/train_mlp.py [--steps 200] [--blocks 5] [--tf-python PATH | --no-tf]
Prints steps/s (the best of ``--blocks`` timed blocks of ``--steps`` steps, after a warm-up; the three
implementations' blocks interleaved, see interleave.py) for each, and the ratios (the median of the
per-round ratios, and the ratio of the bests). Targets: dataflow >= TensorFlow, and within 10% of NumPy.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interleave import blas_note, interleaved_rates, local_blocks, serve, tensorflow_blocks, tf_compat_v1  # noqa: E402

SIZES = (784, 256, 256, 10)
BATCH = 128
N_BATCHES = 16
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def make_data(seed: int = 0):
    """Random batches (inputs and one-hot labels) and initial weights, shared by every implementation."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((N_BATCHES, BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], (N_BATCHES, BATCH))
    ys = np.eye(SIZES[-1], dtype=np.float32)[labels]
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((fan_in, fan_out), dtype=np.float32) * np.float32(np.sqrt(2 / fan_in))))
        params.append(np.zeros(fan_out, np.float32))
    return xs, ys, params


# ---- dataflow -------------------------------------------------------------------------------------
def build_step(tf, xs, ys, params):
    """The benchmark model in TF1 graph code, for any module with TF1's API (dataflow or TensorFlow):
    returns (step(i), final_loss())."""
    x = tf.placeholder(tf.float32, [None, SIZES[0]], name="x")
    y = tf.placeholder(tf.float32, [None, SIZES[-1]], name="y")
    h = x
    ws = [tf.Variable(p) for p in params]
    for i in range(0, len(ws), 2):
        h = tf.matmul(h, ws[i]) + ws[i + 1]
        if i + 2 < len(ws):
            h = tf.nn.relu(h)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
    train = tf.train.AdamOptimizer(LR, BETA1, BETA2, EPS).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    feeds = [{x: xb, y: yb} for xb, yb in zip(xs, ys)]

    def step(i):
        sess.run(train, feed_dict=feeds[i % N_BATCHES])

    def final_loss():
        return float(sess.run(loss, feed_dict=feeds[0]))

    return step, final_loss


def dataflow_step(xs, ys, params):
    import dataflow as tf

    with tf.Graph().as_default():
        return build_step(tf, xs, ys, params)


# ---- hand-written NumPy -----------------------------------------------------------------------------
def numpy_step(xs, ys, params):
    params = [p.copy() for p in params]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    t = [0]

    def forward_backward(xb, yb):
        w1, b1, w2, b2, w3, b3 = params
        a1 = xb @ w1 + b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ w2 + b2
        h2 = np.maximum(a2, 0)
        logits = h2 @ w3 + b3
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - (yb * z).sum(axis=1))
        d3 = (e / s - yb) / np.float32(len(xb))
        d2 = d3 @ w3.T
        d2 *= a2 > 0
        d1 = d2 @ w2.T
        d1 *= a1 > 0
        grads = [xb.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)]
        return loss, grads

    def step(i):
        _, grads = forward_backward(xs[i % N_BATCHES], ys[i % N_BATCHES])
        t[0] += 1
        lr_t = np.float32(LR * np.sqrt(1 - BETA2 ** t[0]) / (1 - BETA1 ** t[0]))
        for p, gr, m, v, tmp in zip(params, grads, ms, vs, scratch):  # in place, one scratch buffer each
            np.subtract(gr, m, out=tmp)
            tmp *= np.float32(1 - BETA1)
            m += tmp
            np.multiply(gr, gr, out=tmp)
            tmp -= v
            tmp *= np.float32(1 - BETA2)
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += np.float32(EPS)
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp

    def final_loss():
        return float(forward_backward(xs[0], ys[0])[0])

    return step, final_loss


# ---- TensorFlow (worker subprocess) --------------------------------------------------------------
def tf_worker():
    """Runs under an interpreter that has TensorFlow: builds the model, then serves timed blocks."""
    tf, version = tf_compat_v1()
    xs, ys, params = make_data()
    step, final_loss = build_step(tf, xs, ys, params)
    serve(step, {"final_loss": final_loss, "version": version})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--tf-python", default="/tmp/tfvenv/bin/python")
    parser.add_argument("--no-tf", action="store_true")
    parser.add_argument("--tf-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tf_worker:
        return tf_worker()
    xs, ys, params = make_data()
    impls = {name: make(xs, ys, params) for name, make in (("numpy", numpy_step), ("dataflow", dataflow_step))}
    blocks = {name: local_blocks(step) for name, (step, _) in impls.items()}
    with tensorflow_blocks(blocks, "tensorflow", args.no_tf, args.tf_python, __file__, []) as (remote, why):
        rates = interleaved_rates(blocks, args.steps, args.blocks, warmup=1)
        print(blas_note())
        print(f"steps/s: best of {args.blocks} interleaved blocks of {args.steps} steps; ratios: the median of the "
              f"per-round ratios (in brackets: the ratio of the bests)")
        for name, (_, final_loss) in impls.items():
            print(f"{name:10s} {rates.best(name):8.1f} steps/s   (final loss {final_loss():.4f})", flush=True)
        if remote is None:
            print(f"tensorflow {why}")
        else:
            info = remote.info()
            print(f"{'tensorflow':10s} {rates.best('tensorflow'):8.1f} steps/s   (final loss {info['final_loss']:.4f}, "
                  f"TF {info['version']})")
        others = ["numpy"] + ([] if remote is None else ["tensorflow"])
        for other in others:
            print(f"dataflow / {other} = {rates.median_ratio('dataflow', other):.3f}   "
                  f"[{rates.best('dataflow') / rates.best(other):.3f}]")

if __name__ == "__main__":
    main()
