"""Partitioned variables and sharded checkpoints, against TensorFlow 2.21's (tests/golden/gaps_oracle.py wrote
tests/fixtures/tf_meta_graph/partitioned and sharded, and the partitioners' shardings in expected.json)."""

import json
import os

import numpy as np
import pytest

import dataflow as tf
from dataflow.train import checkpoint_io as io
from dataflow.train.checkpoint_slices import slice_key

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "tf_meta_graph")
EXPECTED = json.load(open(os.path.join(FIX, "expected.json")))
EMB = np.arange(30, dtype=np.float32).reshape(10, 3)
DENSE = np.arange(24, dtype=np.float32).reshape(4, 6) / 10


def test_partitioners_shard_as_tf():
    cases = {
        "axis_size_4k_100x50": (tf.variable_axis_size_partitioner(4096), [100, 50], tf.float32),
        "axis_size_1k_1000x3": (tf.variable_axis_size_partitioner(1024, max_shards=5), [1000, 3], tf.float32),
        "axis_size_64_7x9_axis1": (tf.variable_axis_size_partitioner(64, axis=1), [7, 9], tf.float64),
        "min_max_1k_300x10": (tf.min_max_variable_partitioner(max_partitions=4, min_slice_size=1024), [300, 10],
                              tf.float32),
        "min_max_256k_1000x10": (tf.min_max_variable_partitioner(max_partitions=8), [1000, 10], tf.float32),
        "min_max_1k_10x10": (tf.min_max_variable_partitioner(max_partitions=3, min_slice_size=64), [10, 10],
                             tf.float32),
        "fixed_5_3x2": (tf.fixed_size_partitioner(5), [3, 2], tf.float32)}
    assert set(cases) == set(EXPECTED["partitioner_shards"])
    for name, (part, shape, dtype) in cases.items():
        assert part(shape=tf.TensorShape(shape), dtype=dtype) == EXPECTED["partitioner_shards"][name], name
    with pytest.raises(ValueError, match="must be positive"):
        tf.variable_axis_size_partitioner(0)


def _model():
    emb = tf.get_variable("emb", [10, 3], initializer=tf.zeros_initializer(),
                          partitioner=tf.fixed_size_partitioner(3))
    dense = tf.get_variable("dense", [4, 6], initializer=tf.zeros_initializer(),
                            partitioner=tf.fixed_size_partitioner(2, axis=1))
    return emb, dense


def test_partitioned_variable_surface():
    with tf.Graph().as_default():
        emb, dense = _model()
        assert isinstance(emb, tf.PartitionedVariable) and len(emb) == 3
        assert [v.name for v in emb] == EXPECTED["emb_parts"]
        assert [v.shape.as_list() for v in emb] == EXPECTED["emb_part_shapes"]
        assert [v.shape.as_list() for v in dense] == EXPECTED["dense_part_shapes"]
        assert emb.get_shape().as_list() == [10, 3] and emb._get_partitions() == [3, 1]
        assert len(tf.global_variables()) == 5 and len(tf.trainable_variables()) == 5
        x = tf.constant(np.ones((2, 10), np.float32))
        y = tf.matmul(x, emb)                       # as a tensor: the parts concatenated
        look = tf.nn.embedding_lookup(emb, [0, 4, 9, 3])  # as shards, TF's "mod" strategy
        d = tf.convert_to_tensor(dense)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run([emb.assign(EMB), dense.assign(DENSE)])
            np.testing.assert_allclose(sess.run(look), EXPECTED["emb_lookup"])
            np.testing.assert_allclose(sess.run(y), np.ones((2, 10)) @ EMB)
            np.testing.assert_allclose(sess.run(d), DENSE, rtol=1e-6)
            np.testing.assert_allclose(sess.run(emb[1]), EMB[4:7])
        # reuse: the same object; a scope's partitioner applies to its get_variable calls
        with tf.variable_scope(tf.get_variable_scope(), reuse=True):
            assert tf.get_variable("emb", [10, 3], partitioner=tf.fixed_size_partitioner(3)) is emb
            with pytest.raises(ValueError, match="specified partitions"):
                tf.get_variable("emb", [10, 3], partitioner=tf.fixed_size_partitioner(2))
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("emb", [10, 3], partitioner=tf.fixed_size_partitioner(3))
        with tf.variable_scope("s", partitioner=tf.fixed_size_partitioner(2)):
            assert [v.op.name for v in tf.get_variable("w", [4])] == ["s/w/part_0", "s/w/part_1"]
        tf.get_variable("plain", [2])
        with pytest.raises(ValueError, match="unpartitioned version"):
            tf.get_variable("plain", [2], partitioner=tf.fixed_size_partitioner(2))


def test_initializer_of_parts_and_gradients():
    with tf.Graph().as_default():
        full = np.arange(12, dtype=np.float32).reshape(6, 2)
        w = tf.get_variable("w", initializer=tf.constant(full), partitioner=tf.fixed_size_partitioner(4))
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.ones([1, 6]), w)))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(w.as_tensor()), full)
            grads = 2 * (np.ones((1, 6)) @ full)            # d loss / d w, every row the same
            sess.run(train)
            np.testing.assert_allclose(sess.run(w.as_tensor()), full - 0.01 * np.repeat(grads, 6, 0), rtol=1e-6)


def test_restore_tf_partitioned_checkpoint_into_any_partitioning():
    prefix = os.path.join(FIX, "partitioned", "model.ckpt")
    assert tf.train.list_variables(prefix) == [("dense", [4, 6]), ("emb", [10, 3])]
    np.testing.assert_allclose(tf.train.load_variable(prefix, "emb"), EMB)
    with tf.Graph().as_default():
        emb = tf.get_variable("emb", [10, 3], partitioner=tf.min_max_variable_partitioner(4, min_slice_size=32))
        dense = tf.get_variable("dense", [4, 6])   # not partitioned now: the full tensor
        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            assert len(emb) == 4
            np.testing.assert_allclose(sess.run(emb.as_tensor()), EMB)
            np.testing.assert_allclose(sess.run(dense), DENSE, rtol=1e-6)
    with tf.Graph().as_default():
        tf.get_variable("emb", [5, 3], partitioner=tf.fixed_size_partitioner(2))
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="full shape"):
            tf.train.Saver(var_list=tf.global_variables()).restore(sess, prefix)


def _files(prefix):
    d = os.path.dirname(prefix)
    base = os.path.basename(prefix)
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d)) if f.startswith(base + ".")
            and not f.endswith(".meta")}


def test_our_partitioned_checkpoint_has_tf_bytes(tmp_path):
    with tf.Graph().as_default():
        emb, dense = _model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run([emb.assign(EMB), dense.assign(DENSE)])
            tf.train.Saver().save(sess, str(tmp_path / "model.ckpt"), write_meta_graph=False)
    ours, theirs = _files(str(tmp_path / "model.ckpt")), _files(os.path.join(FIX, "partitioned", "model.ckpt"))
    assert ours == theirs  # index (slice keys, extents) and data, byte for byte
    reader = io.BundleReader(str(tmp_path / "model.ckpt"))
    assert reader._slice_entries.keys() >= {slice_key("emb", [4, 0], [3, 3])}


def test_sharded_saver_one_data_file_per_device(tmp_path):
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="a")
        with tf.device("/device:CPU:1"):
            tf.Variable(np.array([7, 8, 9], np.int64), name="c")
        saver = tf.train.Saver(sharded=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = saver.save(sess, str(tmp_path / "model.ckpt"), write_meta_graph=False)
    assert path == str(tmp_path / "model.ckpt")
    assert _files(path) == _files(os.path.join(FIX, EXPECTED["sharded_path"]))  # TF's files, byte for byte
    assert tf.train.latest_checkpoint(str(tmp_path)) == path


def test_restore_tf_sharded_checkpoint():
    prefix = os.path.join(FIX, EXPECTED["sharded_path"])
    with tf.Graph().as_default():
        a = tf.Variable(tf.zeros([2, 3]), name="a")
        c = tf.Variable(tf.zeros([3], tf.int64), name="c")
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, prefix)
            va, vc = sess.run([a, c])
    np.testing.assert_array_equal(va, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(vc, [7, 8, 9])


def test_partitioned_variables_through_meta_graph(tmp_path):
    with tf.Graph().as_default():
        emb, _ = _model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(emb.assign(EMB))
            path = saver.save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(path + ".meta", import_scope="copy")
        part = tf.global_variables()[1]
        assert part.op.name == "copy/emb/part_1"
        assert part._save_slice_info.full_name == "copy/emb" and part._save_slice_info.var_offset == [4, 0]
        with tf.Session() as sess:
            saver.restore(sess, path)
            np.testing.assert_allclose(sess.run(g.get_tensor_by_name("copy/emb/part_2:0")), EMB[7:])


def test_slots_and_moving_averages_of_parts_are_saved_as_tf(tmp_path):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 8])
        with tf.variable_scope("net", partitioner=tf.fixed_size_partitioner(3)):
            y = tf.layers.dense(x, 6, kernel_initializer=tf.ones_initializer())
        train = tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(y))
        tf.train.ExponentialMovingAverage(0.9).apply(tf.trainable_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(y, {x: np.ones((1, 8))}), np.full((1, 6), 8.0))
            sess.run(train, {x: np.ones((1, 8))})
            path = tf.train.Saver().save(sess, str(tmp_path / "m"))
    want = json.load(open(os.path.join(FIX, "slot_keys.json")))
    assert [[k, s] for k, s in tf.train.list_variables(path)] == want
