"""Training steps per second of a small CNN: dataflow, the same model by hand in NumPy, and TensorFlow.

Model (float32, batch 64, random data): 28x28x1 -> conv 5x5x32 SAME + relu -> max_pool 2x2 ->
conv 5x5x64 SAME + relu -> max_pool 2x2 -> dense 1024 relu -> dense 10 -> softmax cross-entropy,
Adam (lr 1e-4). One step = forward + backward + update.

* dataflow: ``import dataflow as tf``; GradientDescent if ``tf.train.AdamOptimizer`` is missing.
* NumPy: the same step written by hand with the same algorithms as dataflow's conv kernels (im2col /
  row-column GEMMs, col2im by whole-array slices), plus hand-only savings (forward im2col matrices
  kept for the filter gradients, pooling by reshape), Adam by hand: the floor for a NumPy backend.
* TensorFlow (compat.v1 graph mode): only if an interpreter that can ``import tensorflow`` is found
  (``--tf-python``, default /tmp/tfvenv/bin/python); it runs this file as a worker subprocess
  (``--tf-worker``), so neither the project nor this process imports tensorflow.

The three implementations' timed blocks (``--steps`` steps each) interleave, round after round; each
steps/s figure is its best block, each ratio the median of the per-round ratios (interleave.py: the
machine's speed drifts).

Run: python bench/train_cnn.py [--steps 20] [--rounds 5] [--batch 64] [--tf-python PATH | --no-tf]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interleave import blas_note, interleaved_rates, local_blocks, serve, tensorflow_blocks, tf_compat_v1  # noqa: E402

LR = 1e-4


def data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return x, y


def init_params(seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)

    def w(*shape):  # truncated-normal-like, stddev 0.1
        return np.clip(rng.standard_normal(shape) * 0.1, -0.2, 0.2).astype(np.float32)

    def b(n):
        return np.full(n, 0.1, np.float32)

    return {"w1": w(5, 5, 1, 32), "b1": b(32), "w2": w(5, 5, 32, 64), "b2": b(64),
            "w3": w(7 * 7 * 64, 1024), "b3": b(1024), "w4": w(1024, 10), "b4": b(10)}


# ---- dataflow ---------------------------------------------------------------------------------
def build_step(tf, batch: int):
    """The benchmark model in TF1 graph code, for any module with TF1's API (dataflow or TensorFlow):
    returns a function running one training step."""
    p = {k: tf.Variable(v, name=k) for k, v in init_params().items()}
    x = tf.placeholder(tf.float32, [batch, 28, 28, 1])
    labels = tf.placeholder(tf.float32, [batch, 10])
    h = tf.nn.relu(tf.nn.conv2d(x, p["w1"], [1, 1, 1, 1], "SAME") + p["b1"])
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.relu(tf.nn.conv2d(h, p["w2"], [1, 1, 1, 1], "SAME") + p["b2"])
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.relu(tf.matmul(tf.reshape(h, [batch, 7 * 7 * 64]), p["w3"]) + p["b3"])
    logits = tf.matmul(h, p["w4"]) + p["b4"]
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits))
    train = tf.train.AdamOptimizer(LR).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    xs, ys = data(batch)
    feed = {x: xs, labels: ys}
    return lambda: sess.run([train, loss], feed)


def dataflow_step(batch: int):
    import dataflow as tf

    with tf.Graph().as_default():
        return build_step(tf, batch), "Adam"


# ---- NumPy by hand --------------------------------------------------------------------------
# The same algorithms as dataflow's kernels (dataflow/ops/conv.py), specialised to 5x5 SAME stride 1,
# plus what only a hand-written step can do: keep forward intermediates (the im2col matrices) for
# the backward pass, and pool by reshaping (2x2 windows that tile the image).
def _im2col_t(x, k=5):
    """``[k*k*C, N*H*W]`` for a k x k SAME stride-1 conv (transposed: contiguous writes for small C)."""
    n, h, w, c = x.shape
    p = k // 2
    xpad = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    cols = np.empty((k, k, c, n, h, w), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[i, j] = xpad[:, i:i + h, j:j + w, :].transpose(3, 0, 1, 2)
    return cols.reshape(k * k * c, -1)


def _row_cols(x, k=5):
    """``[H+k-1, N, W, k*C]``: each output column's window row, H-major (see dataflow's _row_cols)."""
    n, h, w, c = x.shape
    p = k // 2
    xt = np.pad(x.transpose(1, 0, 2, 3), ((p, p), (0, 0), (p, p), (0, 0)))
    cols = np.empty((h + 2 * p, n, w, k, c), x.dtype)
    for j in range(k):
        cols[:, :, :, j, :] = xt[:, :, j:j + w, :]
    return cols.reshape(h + 2 * p, n, w, k * c)


def _conv_rows(cols, f, out_hw):
    k, o = f.shape[0], f.shape[3]
    h, w = out_hw
    out = sum(cols[i:i + h].reshape(-1, cols.shape[3]) @ f[i].reshape(-1, o) for i in range(k))
    return np.ascontiguousarray(out.reshape(h, -1, w, o).transpose(1, 0, 2, 3))


def _conv_rows_backprop_filter(cols, dy, f_shape):
    k, o, h = f_shape[0], f_shape[3], dy.shape[1]
    dyh = dy.transpose(1, 0, 2, 3).reshape(-1, o)
    return np.stack([cols[i:i + h].reshape(-1, cols.shape[3]).T @ dyh for i in range(k)]).reshape(f_shape)


def _conv_rows_backprop_input(dy, f):
    k, _, c, o = f.shape
    n, h, w, _ = dy.shape
    p = k // 2
    dyh = dy.transpose(1, 0, 2, 3).reshape(-1, o)
    dcols = np.zeros((h + 2 * p, n, w, k * c), dy.dtype)
    for i in range(k):
        dcols[i:i + h] += (dyh @ f[i].reshape(k * c, o).T).reshape(h, n, w, k * c)
    dcols = dcols.reshape(h + 2 * p, n, w, k, c)
    dxt = np.zeros((h + 2 * p, n, w + 2 * p, c), dy.dtype)
    for j in range(k):
        dxt[:, :, j:j + w, :] += dcols[:, :, :, j, :]
    return np.ascontiguousarray(dxt[p:p + h, :, p:p + w, :].transpose(1, 0, 2, 3))


def _pool2(x):
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // 2, 2, w // 2, 2, c)
    return blocks.max(axis=(2, 4)), blocks


def _pool2_backprop(dy, blocks, y):
    # NOTE: ties (rare with float data) would get the gradient more than once; fine for timing.
    mask = blocks == y[:, :, None, :, None, :]
    return (mask * dy[:, :, None, :, None, :]).reshape(blocks.shape[0], blocks.shape[1] * 2,
                                                       blocks.shape[3] * 2, blocks.shape[5])


def numpy_step(batch: int):
    p = init_params()
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(a) for k, a in p.items()}
    t = [0]
    xs, ys = data(batch)

    def step():
        cols1 = _im2col_t(xs)
        r1 = np.maximum((cols1.T @ p["w1"].reshape(-1, 32)).reshape(batch, 28, 28, 32) + p["b1"], 0)
        q1, blocks1 = _pool2(r1)
        cols2 = _row_cols(q1)
        r2 = np.maximum(_conv_rows(cols2, p["w2"], (14, 14)) + p["b2"], 0)
        q2, blocks2 = _pool2(r2)
        f = q2.reshape(batch, -1)
        h3 = np.maximum(f @ p["w3"] + p["b3"], 0)
        logits = h3 @ p["w4"] + p["b4"]
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.sum(ys * (z - np.log(s)), axis=1))
        dlogits = (e / s - ys) / batch
        g = {"w4": h3.T @ dlogits, "b4": dlogits.sum(0)}
        dh3 = (dlogits @ p["w4"].T) * (h3 > 0)
        g["w3"], g["b3"] = f.T @ dh3, dh3.sum(0)
        dq2 = (dh3 @ p["w3"].T).reshape(q2.shape)
        da2 = _pool2_backprop(dq2, blocks2, q2) * (r2 > 0)
        g["w2"], g["b2"] = _conv_rows_backprop_filter(cols2, da2, p["w2"].shape), da2.sum((0, 1, 2))
        dq1 = _conv_rows_backprop_input(da2, p["w2"])
        da1 = (_pool2_backprop(dq1, blocks1, q1) * (r1 > 0)).reshape(-1, 32)
        g["w1"], g["b1"] = (cols1 @ da1).reshape(p["w1"].shape), da1.sum(0)
        t[0] += 1
        lr = LR * np.sqrt(1 - 0.999 ** t[0]) / (1 - 0.9 ** t[0])
        for k in p:
            m[k] += (1 - 0.9) * (g[k] - m[k])
            v[k] += (1 - 0.999) * (g[k] * g[k] - v[k])
            p[k] -= lr * m[k] / (np.sqrt(v[k]) + 1e-8)
        return loss

    return step


# ---- TensorFlow (worker subprocess) ------------------------------------------------------------
def tf_worker(batch: int):
    """Runs under an interpreter that has TensorFlow: builds the model, then serves timed blocks."""
    tf, version = tf_compat_v1()
    step = build_step(tf, batch)
    serve(lambda i: step(), {"version": version})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="steps per timed block")
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds of (dataflow, NumPy, TF) blocks; rates: best block, ratios: per-round median")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--tf-python", default="/tmp/tfvenv/bin/python")
    ap.add_argument("--no-tf", action="store_true")
    ap.add_argument("--tf-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tf_worker:
        return tf_worker(args.batch)

    df_step, opt_name = dataflow_step(args.batch)
    np_step = numpy_step(args.batch)
    blocks = {"dataflow": local_blocks(lambda i: df_step()), "numpy": local_blocks(lambda i: np_step())}
    with tensorflow_blocks(blocks, "tf", args.no_tf, args.tf_python, __file__, ["--batch", str(args.batch)]) \
            as (remote, tf_note):
        rates = interleaved_rates(blocks, args.steps, max(args.rounds, 1))
        if remote is not None:
            tf_note = f"TF {remote.info()['version']}, compat.v1"
    print(f"CNN training step, batch {args.batch}, float32, optimizer {opt_name}; best of {args.rounds} "
          f"interleaved block(s) of {args.steps} steps; ratios: the median of the per-round ratios "
          f"(in brackets: the ratio of the bests)")
    print(f"  {blas_note()}")
    print(f"  dataflow     {rates.best('dataflow'):7.2f} steps/s")
    for label, name, short in (("NumPy (hand)", "numpy", "NumPy"), ("TensorFlow  ", "tf", "TF")):
        if name not in rates.per_round:
            print(f"  {label} {tf_note}")
            continue
        note = f"   ({tf_note})" if name == "tf" else ""
        print(f"  {label} {rates.best(name):7.2f} steps/s   dataflow/{short} = "
              f"{rates.median_ratio('dataflow', name):.2f} [{rates.best('dataflow') / rates.best(name):.2f}]{note}")

if __name__ == "__main__":
    main()
