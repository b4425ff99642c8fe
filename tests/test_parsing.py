"""Example protos and parsing ops: TensorFlow's fixtures and TRUTH.json, TF's error messages, sparse
tensors, CSV, raw bytes, string splitting."""

import json
import os

import numpy as np
import pytest

import dataflow as tf
from pipelines.records import tf_record_iterator

FIX = os.path.join(os.path.dirname(__file__), "fixtures")
TRUTH = json.load(open(os.path.join(FIX, "tfrecord", "TRUTH.json")))["records"]
SHARDS = [os.path.join(FIX, "tfrecord", f"digits-{i:05d}-of-00004.tfrecord") for i in range(4)]
DIGITS = {"image_raw": tf.FixedLenFeature([], tf.string), "label": tf.FixedLenFeature([], tf.int64),
          "coords": tf.FixedLenFeature([2], tf.float32), "name": tf.FixedLenFeature([], tf.string)}


def _records():
    return [r for path in SHARDS for r in tf_record_iterator(path)]


def test_proto_reads_every_fixture_record():
    records = _records()
    assert len(records) == len(TRUTH) == 80
    for record, truth in zip(records, TRUTH):
        f = tf.train.Example.FromString(record).features.feature
        assert f["label"].int64_list.value == [truth["label"]]
        assert list(f["coords"].float_list.value) == truth["coords"]
        assert f["name"].bytes_list.value[0].decode() == truth["name"]
        assert sum(f["image_raw"].bytes_list.value[0]) == truth["image_sum"]


def test_proto_round_trip():
    for record in _records()[:10]:
        ex = tf.train.Example.FromString(record)
        assert tf.train.Example.FromString(ex.SerializeToString()) == ex
    seq = tf.train.SequenceExample()
    seq.context.feature["id"].int64_list.value.append(4)
    seq.feature_lists.feature_list["tok"].feature.add().bytes_list.value.append(b"a")
    again = tf.train.SequenceExample.FromString(seq.SerializeToString())
    assert again.feature_lists.feature_list["tok"].feature[0].bytes_list.value == [b"a"]
    # wire format: Example{features(1){feature(1) map entry{key(1) "a", value(2) Feature{int64_list(3)
    # {packed value(1) [1, 2]}}}}}, the bytes TensorFlow writes for this Example
    ex = tf.train.Example(features=tf.train.Features(
        feature={"a": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 2]))}))
    assert ex.SerializeToString() == b"\n\r\n\x0b\n\x01a\x12\x06\x1a\x04\n\x02\x01\x02"


def test_parse_example_batch_matches_truth():
    serialized = tf.placeholder(tf.string, [None])
    parsed = tf.parse_example(serialized, DIGITS)
    assert parsed["coords"].shape.as_list() == [None, 2]
    image = tf.reshape(tf.decode_raw(parsed["image_raw"], tf.uint8), [-1, 12, 12])
    with tf.Session() as sess:
        out, img = sess.run([parsed, image], {serialized: _records()})
    np.testing.assert_array_equal(out["label"], [t["label"] for t in TRUTH])
    np.testing.assert_array_equal(out["coords"], np.array([t["coords"] for t in TRUTH], np.float32))
    assert [n.decode() for n in out["name"]] == [t["name"] for t in TRUTH]
    assert img.shape == (80, 12, 12) and img.dtype == np.uint8
    np.testing.assert_array_equal(img.reshape(80, -1).sum(1), [t["image_sum"] for t in TRUTH])


def test_parse_single_example_and_sparse_fetch():
    record = _records()[7]
    parsed = tf.parse_single_example(record, {"coords": tf.VarLenFeature(tf.float32),
                                              "label": tf.FixedLenFeature([1], tf.int64)})
    assert isinstance(parsed["coords"], tf.SparseTensor)
    with tf.Session() as sess:
        out = sess.run(parsed)
        dense = sess.run(tf.sparse.to_dense(parsed["coords"]))
    assert isinstance(out["coords"], tf.SparseTensorValue)
    np.testing.assert_array_equal(out["coords"].indices, [[0], [1]])
    np.testing.assert_array_equal(out["coords"].dense_shape, [2])
    np.testing.assert_array_equal(dense, TRUTH[7]["coords"])
    np.testing.assert_array_equal(out["label"], [TRUTH[7]["label"]])


def _ex(**feats):
    def feature(v):
        if isinstance(v[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        if isinstance(v[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=v))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
    return tf.train.Example(features=tf.train.Features(
        feature={k: feature(v) for k, v in feats.items()})).SerializeToString()


def test_defaults_sequences_and_varlen():
    a, b = _ex(v=[1, 2, 3, 4], w=[b"x"]), _ex(label=[3])
    parsed = tf.parse_example([a, b], {
        "v": tf.FixedLenSequenceFeature([2], tf.int64, allow_missing=True, default_value=-1),
        "w": tf.VarLenFeature(tf.string),
        "label": tf.FixedLenFeature([], tf.int64, default_value=9),
        "pair": tf.FixedLenFeature([2], tf.float32, default_value=0.5),
        "s": tf.FixedLenFeature([], tf.string, default_value="none")})
    with tf.Session() as sess:
        out = sess.run(parsed)
    np.testing.assert_array_equal(out["v"], [[[1, 2], [3, 4]], [[-1, -1], [-1, -1]]])  # as TF printed
    np.testing.assert_array_equal(out["label"], [9, 3])
    np.testing.assert_array_equal(out["pair"], [[0.5, 0.5], [0.5, 0.5]])
    assert out["w"].indices.tolist() == [[0, 0]] and out["w"].dense_shape.tolist() == [2, 1]
    assert out["s"].tolist() == [b"none", b"none"]
    with pytest.raises(ValueError, match="allow_missing"):
        tf.parse_example([a], {"v": tf.FixedLenSequenceFeature([2], tf.int64)})


# TensorFlow 2.21's messages (tf.compat.v1), recorded with /work/tfvenv for these exact inputs.
ERRORS = [
    ({"x": tf.FixedLenFeature([], tf.int64)},
     "Name: <unknown>, Feature: x (data type: int64) is required but could not be found.",
     "Feature: x (data type: int64) is required but could not be found."),
    ({"label": tf.FixedLenFeature([], tf.float32)},
     "Name: <unknown>, Key: label, Index: 0.  Data types don't match. Data type: int64 but expected type: float",
     "Key: label.  Data types don't match. Data type: int64 but expected type: float"),
    ({"coords": tf.FixedLenFeature([2], tf.float32)},
     "Name: <unknown>, Key: coords, Index: 0.  Number of float values != expected.  Values size: 3 but output "
     "shape: [2]", "Key: coords.  Number of float values != expected."),
    ({"label": tf.VarLenFeature(tf.string)},
     "Name: <unknown>, Key: label, Index: 0.  Data types don't match. Expected type: string, Actual type: int64",
     "Key: label.  Data types don't match. Expected type: string, Actual type: int64"),
]


@pytest.mark.parametrize("features,batch_msg,single_msg", ERRORS)
def test_errors_are_tensorflows(features, batch_msg, single_msg):
    ex = _ex(label=[3], coords=[1.0, 2.0, 3.0])
    batch = tf.parse_example(tf.constant([ex, ex]), features)
    single = tf.parse_single_example(tf.constant(ex), features, name="one")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(batch)
        assert batch_msg in str(e.value) and "ParseExample" in str(e.value) and "test_parsing.py" in str(e.value)
        with pytest.raises(tf.errors.InvalidArgumentError, match="one") as e:
            sess.run(single)
        assert single_msg in str(e.value)


def test_garbage_input_and_example_names():
    parsed = tf.parse_example([b"\x0a\x05garb"], {"x": tf.FixedLenFeature([], tf.int64, 0)})
    missing = tf.parse_example([_ex(y=[1])], {"x": tf.FixedLenFeature([], tf.int64)}, example_names=["ex-a"])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse example input"):
            sess.run(parsed)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Name: ex-a, Feature: x"):
            sess.run(missing)


def test_decode_csv_fixture_and_errors():
    lines = open(os.path.join(FIX, "csv", "measurements.csv"), "rb").read().splitlines()
    cols = tf.decode_csv(lines, [[0], [0.0], [""], tf.constant([], tf.int64)])
    with tf.Session() as sess:
        a, b, c, d = sess.run(cols)
    rows = [line.decode().split(",") for line in lines]
    np.testing.assert_array_equal(a, [int(r[0]) for r in rows])
    np.testing.assert_allclose(b, [float(r[1]) for r in rows])
    assert c.tolist() == [r[2].encode() for r in rows] and d.dtype == np.int64
    cases = [(["1,x,a"], [[0], [0.0], [""]], "Field 1 in record 0 is not a valid float: x"),
             (["1,2"], [[0], [0.0], [""]], "Expect 3 fields but have 2 in record 0"),
             (["1,,a"], [[0], tf.constant([], tf.float32), [""]], "Field 1 is required but missing in record 0!"),
             (["1.5,2"], [[0], [0]], "Field 0 in record 0 is not a valid int32: 1.5"),
             (['"ab"c,1'], [[""], [0]], "Quote inside a string has to be escaped by another quote")]
    with tf.Session() as sess:
        assert sess.run(tf.decode_csv(['"a,b",1'], [[""], [0]]))[0].tolist() == [b"a,b"]
        assert sess.run(tf.decode_csv(["1;NA"], [[0], [5]], field_delim=";", na_value="NA"))[1].tolist() == [5]
        assert sess.run(tf.decode_csv(["1,2,3"], [[0], [0]], select_cols=[0, 2]))[1].tolist() == [3]
        for records, defaults, message in cases:
            with pytest.raises(tf.errors.InvalidArgumentError) as e:
                sess.run(tf.decode_csv(records, defaults))
            assert message in str(e.value)


def test_decode_raw_and_string_split():
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="length 3 that is not a multiple of 2"):
            sess.run(tf.decode_raw(tf.constant([b"abc"]), tf.int16))
        with pytest.raises(tf.errors.InvalidArgumentError, match="same size"):
            sess.run(tf.io.decode_raw(tf.constant([b"ab", b"abcd"]), tf.uint8))
        floats = np.array([1.5, -2.0], np.float64)
        np.testing.assert_array_equal(sess.run(tf.decode_raw(floats.tobytes(), tf.float64)), floats)
        st = sess.run(tf.string_split(["a b", "c  d e", ""]))           # TF's output for these inputs
        assert st.indices.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]]
        assert st.values.tolist() == [b"a", b"b", b"c", b"d", b"e"] and st.dense_shape.tolist() == [3, 3]
        st = sess.run(tf.string_split(["a,b,,c"], delimiter=",", skip_empty=False))
        assert st.values.tolist() == [b"a", b"b", b"", b"c"] and st.dense_shape.tolist() == [1, 4]
        assert sess.run(tf.string_split(["ab"], "")).values.tolist() == [b"a", b"b"]


def test_sparse_to_dense_validates_indices():
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = \[5,0\] is out of bounds"):
            sess.run(tf.sparse_to_dense([[0, 0], [5, 0]], [3, 2], [1, 2]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="out of order"):
            sess.run(tf.sparse_tensor_to_dense(tf.SparseTensor([[1, 0], [0, 0]], [1, 2], [3, 2])))
        st = tf.SparseTensor([[1, 0], [0, 0]], [1, 2], [3, 2])
        got = sess.run(tf.sparse.to_dense(st, default_value=-1, validate_indices=False))
        np.testing.assert_array_equal(got, [[2, -1], [1, -1], [-1, -1]])
        assert st.shape.as_list() == [3, 2]
        value = st.eval(session=sess)
        assert isinstance(value, tf.SparseTensorValue) and value.values.tolist() == [1, 2]


def _sequence_example():
    se = tf.train.SequenceExample()
    se.context.feature["id"].int64_list.value.append(4)
    for t in [[1, 2], [3], []]:
        se.feature_lists.feature_list["tok"].feature.add().int64_list.value.extend(t)
    for t in [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]:
        se.feature_lists.feature_list["xy"].feature.add().float_list.value.extend(t)
    return se.SerializeToString()


def test_parse_single_sequence_example_as_tensorflow():
    """Values and messages as TensorFlow 2.21 gave them for this SequenceExample (recorded with /work/tfvenv)."""
    s = tf.placeholder(tf.string, [])
    ctx, seq = tf.parse_single_sequence_example(
        s, {"id": tf.FixedLenFeature([], tf.int64), "missing": tf.FixedLenFeature([], tf.int64, default_value=7)},
        {"tok": tf.VarLenFeature(tf.int64), "xy": tf.FixedLenSequenceFeature([2], tf.float32),
         "nope": tf.FixedLenSequenceFeature([2], tf.float32, allow_missing=True)})
    assert seq["xy"].shape.as_list() == [None, 2]
    with tf.Session() as sess:
        c, q = sess.run([ctx, seq], {s: _sequence_example()})
    assert c == {"id": 4, "missing": 7}
    assert q["tok"].indices.tolist() == [[0, 0], [0, 1], [1, 0]] and q["tok"].values.tolist() == [1, 2, 3]
    assert q["tok"].dense_shape.tolist() == [3, 2]
    assert q["xy"].tolist() == [[1, 2], [3, 4], [5, 6]] and q["nope"].shape == (0, 2)
    cases = [({}, {"nope": tf.FixedLenSequenceFeature([2], tf.float32)},
              "Name: <unknown>, Feature list 'nope' is required but could not be found."),
             ({}, {"tok": tf.FixedLenSequenceFeature([], tf.int64)},
              "Name: <unknown>, Key: tok, Index: 0.  Number of values != expected.  values size: 2 but output "
              "shape: []"),
             ({}, {"xy": tf.VarLenFeature(tf.string)},
              "Name: <unknown>, Feature list: xy, Index: 0.  Data types don't match. Expected type: string"),
             ({"x": tf.FixedLenFeature([], tf.int64)}, {},
              "Inconsistent max number of elements for feature x: expected 1, but found 0")]
    with tf.Session() as sess:
        for context, sequence, message in cases:
            with pytest.raises(tf.errors.InvalidArgumentError) as e:
                sess.run(tf.io.parse_single_sequence_example(_sequence_example(), context, sequence))
            assert message in str(e.value)
