"""tf.sparse_placeholder, SparseFeature in parse_example, decode_jpeg/encode_jpeg: against TensorFlow 2.21's
outputs (tests/golden/gaps_oracle.py wrote tests/fixtures/tf_meta_graph/sparse_jpeg.npz)."""

import os
import sys

import numpy as np
import pytest

import dataflow as tf

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "tf_meta_graph")
GOLD = np.load(os.path.join(FIX, "sparse_jpeg.npz"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "golden"))


# ---- sparse_placeholder -------------------------------------------------------------------------
def test_sparse_placeholder_feeds_and_fetches():
    sp = tf.sparse_placeholder(tf.float32, shape=[2, None], name="sp")
    assert sp.shape.as_list() == [2, None] and sp.dtype is tf.float32
    assert [t.op.name for t in (sp.indices, sp.values, sp.dense_shape)] == ["sp/indices", "sp/values", "sp/shape"]
    dense = tf.sparse_tensor_to_dense(sp)
    doubled = tf.SparseTensor(sp.indices, sp.values * 2.0, sp.dense_shape)
    with tf.Session() as sess:
        value = tf.SparseTensorValue(np.array([[0, 1], [1, 2]]), np.array([5.0, 7.0], np.float32), np.array([2, 3]))
        np.testing.assert_array_equal(sess.run(dense, {sp: value}), [[0, 5, 0], [0, 0, 7]])
        got = sess.run(doubled, {sp: ([[0, 0]], [1.5], [2, 4])})  # a plain (indices, values, shape) tuple
        assert isinstance(got, tf.SparseTensorValue)
        np.testing.assert_array_equal(got.values, [3.0]) and np.testing.assert_array_equal(got.dense_shape, [2, 4])
        # the shape part has the declared shape as its default (-1 where unknown)
        np.testing.assert_array_equal(sess.run(sp.dense_shape), [2, -1])
        with pytest.raises(TypeError, match="SparseTensorValue"):
            sess.run(dense, {sp: [1.0, 2.0]})


def test_sparse_placeholder_unknown_shape_and_errors():
    sp = tf.sparse_placeholder(tf.int64)
    assert sp.shape.ndims is None
    total = tf.reduce_sum(sp.values)
    with tf.Session() as sess:
        assert sess.run(total, {sp: ([[0], [3]], [4, 5], [6])}) == 9
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(total)  # not fed
        with pytest.raises(ValueError):
            sess.run(total, {sp: ([[0, 1]], [4.5], [2, 2])})  # float values for int64


# ---- SparseFeature ------------------------------------------------------------------------------
def _gold(key):
    return [GOLD[f"{key}_indices"], GOLD[f"{key}_values"], GOLD[f"{key}_shape"]]


def test_sparse_feature_in_parse_example_matches_tf():
    from gaps_oracle_examples import sparse_examples

    feats = {"sp": tf.io.SparseFeature("ix", "val", tf.float32, 10),
             "grid": tf.io.SparseFeature(["r", "c"], "val", tf.float32, [3, 4], already_sorted=True),
             "val": tf.io.VarLenFeature(tf.float32)}
    parsed = tf.io.parse_example(sparse_examples(), feats)
    assert sorted(parsed) == ["grid", "sp", "val"]  # the index helpers ix, r, c are not returned
    single = tf.parse_single_example(sparse_examples()[0], {"sp": tf.SparseFeature("ix", "val", tf.float32, 10)})
    with tf.Session() as sess:
        got, one = sess.run([parsed, single])
    for key in ("sp", "grid", "val"):
        for ours, theirs in zip(got[key], _gold(key)):
            np.testing.assert_array_equal(ours, theirs, err_msg=key)
    for ours, theirs in zip(one["sp"], _gold("single_sp")):
        np.testing.assert_array_equal(ours, theirs)


def test_sparse_reorder_and_conflicts():
    st = tf.SparseTensor([[1, 0], [0, 2], [0, 1]], [1.0, 2.0, 3.0], [2, 3])
    out = tf.Session().run(tf.sparse.reorder(st))
    np.testing.assert_array_equal(out.indices, [[0, 1], [0, 2], [1, 0]])
    np.testing.assert_array_equal(out.values, [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="Conflicting type for feature ix"):
        tf.parse_example(["x"], {"ix": tf.FixedLenFeature([], tf.int64),
                                 "sp": tf.SparseFeature("ix", "val", tf.float32, 4)})


# ---- JPEG -------------------------------------------------------------------------------------
def test_decode_jpeg_matches_tf():
    for name in ("tf_rgb.jpg", "df_rgb_q75.jpg"):
        data = open(os.path.join(FIX, name), "rb").read()
        tag = name[:2]
        with tf.Session() as sess:
            c0, c1, r2 = sess.run([tf.image.decode_jpeg(data, dct_method="INTEGER_ACCURATE"),
                                   tf.io.decode_jpeg(data, channels=1), tf.image.decode_jpeg(data, ratio=2)])
        np.testing.assert_array_equal(c0, GOLD[f"{tag}_accurate"])  # libjpeg's accurate IDCT: TF's pixels
        # NOTE: TF's default IDCT is libjpeg's INTEGER_FAST, which Pillow does not offer: a few levels apart
        assert np.abs(c0.astype(int) - GOLD[f"{tag}_c0"]).max() <= 3
        assert np.abs(c1.astype(int) - GOLD[f"{tag}_c1"]).max() <= 1
        assert r2.shape == GOLD[f"{tag}_r2"].shape and np.abs(r2.astype(int) - GOLD[f"{tag}_r2"]).max() <= 2


def test_encode_jpeg_writes_tf_bytes_and_round_trips():
    src = np.load(os.path.join(FIX, "rgb_source.npy"))
    with tf.Session() as sess:
        assert sess.run(tf.image.encode_jpeg(src, quality=90)) == open(os.path.join(FIX, "tf_rgb.jpg"), "rb").read()
        gray = sess.run(tf.image.decode_jpeg(tf.image.encode_jpeg(src[:, :, :1], format="grayscale")))
        assert gray.shape == (16, 12, 1) and np.abs(gray.astype(int) - src[:, :, :1]).max() <= 8
        with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid JPEG data"):
            sess.run(tf.image.decode_jpeg(b"\xff\xd8not a jpeg"))
    with pytest.raises(ValueError, match="channels"):
        tf.image.decode_jpeg(b"", channels=2)


def test_missing_pillow_names_the_package(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    from dataflow.ops import jpeg

    with pytest.raises(ImportError, match="pip install pillow"):
        jpeg.decode(b"")
