"""TensorFlow 2.21 (tf.compat.v1, ref variables) writes the fixtures of the TF1 surface gaps.

Run once with the oracle interpreter; its outputs are committed::

    TF_USE_LEGACY_KERAS=1 /work/tfvenv/bin/python tests/golden/gaps_oracle.py tests/fixtures/tf_meta_graph

It writes, under the folder given:

* ``linear/model.ckpt-3{.meta,.index,.data-*}``: a linear model trained 3 steps by GradientDescent
  (placeholders ``x``/``y``, variables ``w``, ``b``, ``global_step``, a ``train_op``, a user collection
  ``my_tensors`` holding ``pred:0``), for ``tf.train.import_meta_graph``;
* ``partitioned/model.ckpt{.index,.data-*}``: ``emb`` [10, 3] in 3 parts (fixed_size_partitioner) and
  ``dense`` [4, 6] in 2 parts along axis 1, saved as TF saves partitioned variables (slices);
* ``sharded/model.ckpt-00000-of-00002 ...``: a ``Saver(sharded=True)`` checkpoint of variables on two
  devices;
* ``tf_rgb.jpg`` (TF's encode_jpeg at quality 90 of ``rgb_source.npy``) and ``expected.json``: the
  values the tests compare with (outputs of the imported graph, variables, the partitioners' shardings);
* with the part name ``cnn`` only: ``cnn/``, a small CNN's checkpoint, ``.meta`` and outputs;
* with the part name ``slots`` only: ``slot_keys.json``, the checkpoint keys and shapes of a partitioned
  dense layer with Adam slots and moving averages;
* with the part name ``sparse_jpeg`` only (``gaps_oracle.py OUT sparse_jpeg``): ``sparse_jpeg.npz``,
  TF's decodes of ``tf_rgb.jpg`` and of ``df_rgb_q75.jpg`` (a JPEG written by dataflow/Pillow) and
  parse_example outputs for SparseFeatures.
"""

import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tensorflow.compat.v1 as tf  # noqa: E402

from gaps_oracle_examples import sparse_examples  # noqa: E402  (shared with the tests)

tf.disable_v2_behavior()

X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [0.0, 1.0, -1.0], [2.0, 0.0, 1.0]], np.float32)
Y = np.array([[1.0], [0.0], [-1.0], [2.0]], np.float32)


def linear(out: str, expected: dict) -> None:
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        y = tf.placeholder(tf.float32, [None, 1], name="y")
        w = tf.get_variable("w", [3, 1], initializer=tf.constant_initializer([[0.1], [-0.2], [0.3]]))
        b = tf.Variable(tf.zeros([1]), name="b")
        pred = tf.add(tf.matmul(x, w), b, name="pred")
        loss = tf.reduce_mean(tf.square(pred - y), name="loss")
        gs = tf.train.get_or_create_global_step()
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
        tf.add_to_collection("train_op", train)
        tf.add_to_collection("my_tensors", pred)
        tf.add_to_collection("my_ops", train)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train, {x: X, y: Y})
            saver.save(sess, os.path.join(out, "linear", "model.ckpt"), global_step=3)
            expected["linear_pred"] = sess.run(pred, {x: X}).tolist()
            expected["linear_loss"] = float(sess.run(loss, {x: X, y: Y}))
            sess.run(train, {x: X, y: Y})
            expected["linear_w_after_step4"] = sess.run(w).tolist()
            expected["linear_b_after_step4"] = sess.run(b).tolist()


def partitioned(out: str, expected: dict) -> None:
    g = tf.Graph()
    with g.as_default():
        emb = tf.get_variable("emb", [10, 3], initializer=tf.zeros_initializer(),
                              partitioner=tf.fixed_size_partitioner(3))
        dense = tf.get_variable("dense", [4, 6], initializer=tf.zeros_initializer(),
                                partitioner=tf.fixed_size_partitioner(2, axis=1))
        full = {"emb": np.arange(30, dtype=np.float32).reshape(10, 3),
                "dense": np.arange(24, dtype=np.float32).reshape(4, 6) / 10}
        assigns = []
        for pv in (emb, dense):
            for v in pv:
                info = v._save_slice_info
                index = tuple(slice(o, o + n) for o, n in zip(info.var_offset, info.var_shape))
                assigns.append(v.assign(full[info.full_name][index]))
        expected["emb_parts"] = [v.name for v in emb]
        expected["emb_part_shapes"] = [v.shape.as_list() for v in emb]
        expected["dense_part_shapes"] = [v.shape.as_list() for v in dense]
        look = tf.nn.embedding_lookup(emb, [0, 4, 9, 3])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(assigns)
            expected["emb_lookup"] = sess.run(look).tolist()
            tf.train.Saver().save(sess, os.path.join(out, "partitioned", "model.ckpt"), write_meta_graph=False)
        r = tf.train.load_checkpoint(os.path.join(out, "partitioned", "model.ckpt"))
        expected["partitioned_keys"] = sorted(r.get_variable_to_shape_map())
    # the partitioners' shardings
    shards = {}
    for name, part, shape, dtype in [
            ("axis_size_4k_100x50", tf.variable_axis_size_partitioner(4096), [100, 50], tf.float32),
            ("axis_size_1k_1000x3", tf.variable_axis_size_partitioner(1024, max_shards=5), [1000, 3], tf.float32),
            ("axis_size_64_7x9_axis1", tf.variable_axis_size_partitioner(64, axis=1), [7, 9], tf.float64),
            ("min_max_1k_300x10", tf.min_max_variable_partitioner(max_partitions=4, min_slice_size=1024),
             [300, 10], tf.float32),
            ("min_max_256k_1000x10", tf.min_max_variable_partitioner(max_partitions=8), [1000, 10], tf.float32),
            ("min_max_1k_10x10", tf.min_max_variable_partitioner(max_partitions=3, min_slice_size=64),
             [10, 10], tf.float32),
            ("fixed_5_3x2", tf.fixed_size_partitioner(5), [3, 2], tf.float32)]:
        shards[name] = list(part(shape=tf.TensorShape(shape), dtype=dtype))
    expected["partitioner_shards"] = shards


def sharded(out: str, expected: dict) -> None:
    g = tf.Graph()
    with g.as_default():
        with tf.device("/cpu:0"):
            a = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="a")
        with tf.device("/device:CPU:1"):
            c = tf.Variable(np.array([7, 8, 9], np.int64), name="c")
        os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
        config = tf.ConfigProto(device_count={"CPU": 2})
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            path = tf.train.Saver(sharded=True).save(sess, os.path.join(out, "sharded", "model.ckpt"),
                                                     write_meta_graph=False)
        expected["sharded_path"] = os.path.relpath(path, out)
        expected["sharded_files"] = sorted(os.listdir(os.path.join(out, "sharded")))


def jpeg(out: str, expected: dict) -> None:
    rng = np.random.RandomState(3)
    img = (np.linspace(0, 255, 16 * 12 * 3).reshape(16, 12, 3) + rng.randint(0, 20, (16, 12, 3))).clip(0, 255)
    img = img.astype(np.uint8)
    g = tf.Graph()
    with g.as_default(), tf.Session() as sess:
        enc = sess.run(tf.image.encode_jpeg(img, quality=90))
    with open(os.path.join(out, "tf_rgb.jpg"), "wb") as f:
        f.write(enc)
    np.save(os.path.join(out, "rgb_source.npy"), img)


def sparse_jpeg(out: str) -> None:
    arrays = {}
    g = tf.Graph()
    with g.as_default(), tf.Session() as sess:
        for name, path in [("tf", "tf_rgb.jpg"), ("df", "df_rgb_q75.jpg")]:
            with open(os.path.join(out, path), "rb") as f:
                data = f.read()
            arrays[f"{name}_c0"] = sess.run(tf.image.decode_jpeg(data))
            arrays[f"{name}_c1"] = sess.run(tf.image.decode_jpeg(data, channels=1))
            arrays[f"{name}_r2"] = sess.run(tf.image.decode_jpeg(data, ratio=2))
            arrays[f"{name}_accurate"] = sess.run(tf.image.decode_jpeg(data, dct_method="INTEGER_ACCURATE"))
        feats = {"sp": tf.io.SparseFeature("ix", "val", tf.float32, 10),
                 "grid": tf.io.SparseFeature(["r", "c"], "val", tf.float32, [3, 4], already_sorted=True),
                 "val": tf.io.VarLenFeature(tf.float32)}
        parsed = sess.run(tf.io.parse_example(sparse_examples(tf.train), feats))
        single = sess.run(tf.io.parse_single_example(sparse_examples(tf.train)[0], {"sp": feats["sp"]}))
    for key, st in list(parsed.items()) + [("single_sp", single["sp"])]:
        arrays[f"{key}_indices"], arrays[f"{key}_values"], arrays[f"{key}_shape"] = st
    np.savez(os.path.join(out, "sparse_jpeg.npz"), **arrays)


def slots(out: str) -> None:
    """The checkpoint keys of a partitioned dense layer with Adam slots and moving averages."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 8])
        with tf.variable_scope("net", partitioner=tf.fixed_size_partitioner(3)):
            y = tf.layers.dense(x, 6, kernel_initializer=tf.ones_initializer())
        tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(y))
        tf.train.ExponentialMovingAverage(0.9).apply(tf.trainable_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = tf.train.Saver().save(sess, os.path.join(out, "slots_tmp", "m"), write_meta_graph=False)
            keys = tf.train.list_variables(path)
    import shutil

    shutil.rmtree(os.path.join(out, "slots_tmp"))
    with open(os.path.join(out, "slot_keys.json"), "w") as f:
        json.dump(keys, f)


def cnn(out: str) -> None:
    """A small TF1 CNN (conv, bias, relu, max pool, dense + tanh, softmax cross-entropy, Momentum) saved
    with its .meta, and its outputs before and after one training step (``cnn/outputs.npz``)."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
        lab = tf.placeholder(tf.int64, [None], name="lab")
        h = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
        h = tf.layers.flatten(tf.layers.max_pooling2d(h, 2, 2))
        logits = tf.layers.dense(tf.layers.dense(h, 5, activation=tf.nn.tanh), 3, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=logits),
                              name="loss")
        probs = tf.nn.softmax(logits, name="probs")
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), lab), tf.float32), name="acc")
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss, name="train")
        rng = np.random.RandomState(0)
        xs, labels = rng.randn(6, 8, 8, 1).astype(np.float32), np.array([0, 1, 2, 0, 1, 2])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, os.path.join(out, "cnn", "model.ckpt"))
            feed = {x: xs, lab: labels}
            before = sess.run([probs, loss, acc], feed)
            sess.run(train, feed)
            sess.run(train, feed)
            after = sess.run(loss, feed)
    np.savez(os.path.join(out, "cnn", "outputs.npz"), x=xs, labels=labels, probs=before[0], loss=before[1],
             acc=before[2], loss_after_2_steps=after)


def main(out: str) -> None:
    if sys.argv[2:] == ["cnn"]:
        cnn(out)
        return
    if sys.argv[2:] == ["sparse_jpeg"]:
        sparse_jpeg(out)
        return
    if sys.argv[2:] == ["slots"]:
        slots(out)
        return
    expected: dict = {}
    os.makedirs(out, exist_ok=True)
    linear(out, expected)
    partitioned(out, expected)
    sharded(out, expected)
    jpeg(out, expected)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])  # argv[2:]: optionally the one part to run
