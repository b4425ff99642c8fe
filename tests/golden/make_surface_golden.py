"""Golden values for issue 13 (TF1 surface gaps), made by the real TensorFlow.

Run from the repository root with the TensorFlow virtualenv (dataflow never imports TensorFlow)::

    TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 /work/tfvenv/bin/python tests/golden/make_surface_golden.py

(``pip install tf_keras`` there: TF 2.21 has the TF1 RNN cells only with Keras 2.)

It writes ``tests/golden/surface.npz``: every input is drawn from a fixed NumPy seed and stored next to
TF's outputs, so the tests replay the inputs and compare. Sections (key prefixes):

- ``xent/``: softmax_cross_entropy_with_logits_v2 with labels [1, N, 7] against logits [N, 7].
- ``sparse/``: an embedding trained by GradientDescent, Momentum (and Nesterov), Adagrad, Adam from the
  IndexedSlices gradient of a lookup with a repeated row (TF's sparse updates).
- ``deconv/``, ``bngn/``: tf.layers.conv2d_transpose with set weights; batch_norm_with_global_normalization.
- ``sampled/``: nce_loss, sampled_softmax_loss and compute_accidental_hits on a stored sample.
- ``ema/``: ExponentialMovingAverage(decay=0.9, num_updates=step) over three assigns and applies.
- ``rnn/``: cells with fixed weights (BasicRNNCell, BasicLSTMCell, LSTMCell with peepholes, projection and
  clipping, GRUCell, MultiRNNCell) run by static_rnn and dynamic_rnn (with sequence_length), their
  outputs, final states and gradients with respect to the inputs and every weight.
"""

import os
import sys

import numpy as np

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()
OUT = {}
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from surface_cases import SPARSE_OPTIMIZERS, ema_run  # noqa: E402


def session():
    return tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1))


def xent():
    rng = np.random.RandomState(0)
    labels = rng.rand(1, 3, 7).astype(np.float32)
    logits = rng.randn(3, 7).astype(np.float32)
    with tf.Graph().as_default():
        lab, lg = tf.constant(labels), tf.constant(logits)
        cost = tf.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=lg)
        g_lab, g_lg = tf.gradients(cost, [lab, lg])
        with session() as s:
            c, a, b = s.run([cost, g_lab, g_lg])
    OUT.update({"xent/labels": labels, "xent/logits": logits, "xent/cost": c, "xent/d_labels": a,
                "xent/d_logits": b})


def ema():
    with tf.Graph().as_default():
        values, (v, w, _), ema = ema_run(tf, session)
        OUT["ema/values"] = values
        OUT["ema/names"] = np.array([ema.average_name(v), ema.average(w).op.name])


def sparse():
    """An embedding [10, 3] trained by each optimizer for 3 steps on rows [3, 7, 3] (a repeated row)."""
    rng = np.random.RandomState(3)
    init = rng.uniform(-1, 1, (10, 3)).astype(np.float32)
    ids = np.array([3, 7, 3], np.int32)
    OUT.update({"sparse/init": init, "sparse/ids": ids})
    for key, (cls, kwargs) in SPARSE_OPTIMIZERS.items():
        with tf.Graph().as_default():
            emb = tf.Variable(init, name="emb")
            loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(emb, ids) - 0.5) * [[1.0], [2.0], [3.0]])
            grad = tf.gradients(loss, emb)[0]
            assert isinstance(grad, tf.IndexedSlices)
            if key == "sgd":  # clip_by_global_norm keeps it sparse, its norm taken over the values
                (clipped,), norm = tf.clip_by_global_norm([grad], 1.0)
                assert isinstance(clipped, tf.IndexedSlices)
                with session() as s:
                    s.run(tf.global_variables_initializer())
                    OUT["sparse/clipped"], OUT["sparse/norm"] = s.run([clipped.values, norm])
            step = getattr(tf.train, cls)(**kwargs).minimize(loss)
            with session() as s:
                s.run(tf.global_variables_initializer())
                for _ in range(3):
                    s.run(step)
                OUT[f"sparse/{key}"] = s.run(emb)


def layers():
    """tf.layers.conv2d_transpose (both paddings) and tf.nn.batch_norm_with_global_normalization."""
    rng = np.random.RandomState(5)
    x = rng.randn(2, 5, 4, 3).astype(np.float32)
    OUT["deconv/x"] = x
    for pad in ("same", "valid"):
        with tf.Graph().as_default():
            y = tf.layers.conv2d_transpose(tf.constant(x), 6, (3, 2), strides=(2, 3), padding=pad)
            kernel, bias = tf.trainable_variables()
            k = rng.randn(*kernel.shape.as_list()).astype(np.float32)
            b = rng.randn(6).astype(np.float32)
            with session() as s:
                s.run([kernel.assign(k), bias.assign(b)])
                OUT[f"deconv/{pad}/kernel"], OUT[f"deconv/{pad}/bias"] = k, b
                OUT[f"deconv/{pad}/y"] = s.run(y)
    m, v, beta, gamma = (rng.rand(3).astype(np.float32) + 0.1 for _ in range(4))
    with tf.Graph().as_default(), session() as s:
        for scale in (True, False):
            y = tf.nn.batch_norm_with_global_normalization(tf.constant(x), m, v, beta, gamma, 0.001, scale)
            OUT[f"bngn/{scale}"] = s.run(y)
    OUT["bngn/params"] = np.stack([m, v, beta, gamma])


def sampled():
    """nce_loss and sampled_softmax_loss (with and without accidental hits removed) on a sample drawn by
    TF's log-uniform sampler, stored and passed back as ``sampled_values``; their gradients."""
    rng = np.random.RandomState(11)
    w = rng.randn(20, 4).astype(np.float32)
    b = rng.randn(20).astype(np.float32)
    x = rng.randn(3, 4).astype(np.float32)
    labels = np.array([[1, 4], [0, 2], [7, 1]], np.int64)
    OUT.update({"sampled/w": w, "sampled/b": b, "sampled/x": x, "sampled/labels": labels})
    with tf.Graph().as_default(), session() as s:
        sv = s.run(tf.nn.log_uniform_candidate_sampler(labels, 2, 5, True, 20, seed=3))
        sv = (np.array([1, 3, 0, 9, 12], np.int64),) + tuple(sv[1:])  # ids 1 and 0 are accidental hits
        OUT.update({"sampled/ids": sv[0], "sampled/true_q": sv[1], "sampled/sampled_q": sv[2]})
        W, B, X = tf.constant(w), tf.constant(b), tf.constant(x)
        for key, loss in [("nce", tf.nn.nce_loss(W, B, labels, X, 5, 20, num_true=2, sampled_values=sv)),
                          ("nce_hits", tf.nn.nce_loss(W, B, labels, X, 5, 20, num_true=2, sampled_values=sv,
                                                      remove_accidental_hits=True)),
                          ("softmax", tf.nn.sampled_softmax_loss(W, B, labels, X, 5, 20, num_true=2,
                                                                 sampled_values=sv))]:
            grads = [tf.convert_to_tensor(g) for g in tf.gradients(loss, [W, B, X])]
            vals = s.run([loss] + grads)
            for name, v in zip(["loss", "dw", "db", "dx"], vals):
                OUT[f"sampled/{key}/{name}"] = v
        hits = s.run(tf.nn.compute_accidental_hits(labels, sv[0], num_true=2))
        for name, v in zip(["indices", "ids", "weights"], hits):
            OUT[f"sampled/hits/{name}"] = v


if __name__ == "__main__":
    sampled()
    layers()
    xent()
    ema()
    sparse()
    import rnn_golden  # noqa: E402  (the rnn section, next to this file)

    OUT.update(rnn_golden.make(tf, session))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "surface.npz")
    np.savez(path, **OUT)
    print("wrote", path, "with", len(OUT), "arrays; tensorflow", tf.__version__)
