"""tf.data: sources, transformations, iterators and file datasets, checked against NumPy/Python
references (TF's documented orders for interleave), with real files and threads."""

import gzip
import os

import numpy as np
import pytest

import dataflow as tf
from tfdata_helpers import drain, write_shards

pytestmark = pytest.mark.timeout(60)
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _all(ds):
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as s:
        return drain(s, nxt)


def _ints(values):
    return [int(v) for v in values]


def test_range_map_batch_and_end_of_sequence():
    ds = tf.data.Dataset.range(10).map(lambda x: x * 2).batch(4)
    assert ds.output_types == tf.int64 and ds.output_shapes.as_list() == [None]
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        got = [sess.run(nxt).tolist() for _ in range(3)]
        with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
            sess.run(nxt)
        with pytest.raises(tf.errors.OutOfRangeError):  # stays at the end
            sess.run(nxt)
    assert got == [[0, 2, 4, 6], [8, 10, 12, 14], [16, 18]]


def test_initializable_iterator_with_fed_params_and_reinit():
    x = tf.placeholder(tf.float32, [None, 2])
    n = tf.placeholder(tf.int64, [])
    ds = tf.data.Dataset.from_tensor_slices((x, tf.range(3))).take(n)
    it = ds.make_initializable_iterator()
    a, b = it.get_next()
    y = a * 10.0 + tf.cast(b, tf.float32)  # usable in the graph like any tensor
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            sess.run(y)
        sess.run(it.initializer, {x: np.ones((3, 2)), n: 2})
        np.testing.assert_allclose(sess.run(y), [10, 10])
        np.testing.assert_allclose(sess.run(y), [11, 11])
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(y)
        sess.run(it.initializer, {x: np.zeros((3, 2)), n: 5})
        assert [sess.run(y).tolist() for _ in range(3)] == [[0, 0], [1, 1], [2, 2]]


def test_one_shot_rejects_placeholders_and_compat_name():
    x = tf.placeholder(tf.float32, [None])
    with pytest.raises(ValueError, match="make_initializable_iterator"):
        tf.data.Dataset.from_tensor_slices(x).make_one_shot_iterator()
    it = tf.compat.v1.data.make_one_shot_iterator(tf.data.Dataset.from_tensors([1, 2]))
    with tf.Session() as sess:
        assert sess.run(it.get_next()).tolist() == [1, 2]


def test_reinitializable_and_feedable_iterators():
    train = tf.data.Dataset.range(100)
    val = tf.data.Dataset.range(1000, 1003)
    it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    nxt = it.get_next()
    init_train, init_val = it.make_initializer(train), it.make_initializer(val)
    with tf.Session() as sess:
        sess.run(init_train)
        assert _ints([sess.run(nxt) for _ in range(2)]) == [0, 1]
        sess.run(init_val)
        assert _ints([sess.run(nxt) for _ in range(3)]) == [1000, 1001, 1002]
    with pytest.raises(TypeError, match="output types"):
        it.make_initializer(tf.data.Dataset.from_tensors(1.0))

    tf.reset_default_graph()
    handle = tf.placeholder(tf.string, [])
    a = tf.data.Dataset.range(5).make_one_shot_iterator()
    b = tf.data.Dataset.range(10, 15).make_one_shot_iterator()
    feedable = tf.data.Iterator.from_string_handle(handle, a.output_types, a.output_shapes)
    nxt = feedable.get_next()
    with tf.Session() as sess:
        ha, hb = sess.run([a.string_handle(), b.string_handle()])
        assert _ints([sess.run(nxt, {handle: ha}), sess.run(nxt, {handle: hb}), sess.run(nxt, {handle: ha})]) == \
            [0, 10, 1]


def test_map_structures_parallel_calls_and_captured_tensors():
    scale = tf.constant(3, tf.int64)
    ds = tf.data.Dataset.range(50).map(lambda x: {"x": x, "y": (x * scale, tf.cast(x, tf.float32) / 2)},
                                       num_parallel_calls=4)
    assert ds.output_types == {"x": tf.int64, "y": (tf.int64, tf.float32)}
    got = _all(ds)
    assert [int(e["y"][0]) for e in got] == [3 * i for i in range(50)]
    assert [float(e["y"][1]) for e in got] == [i / 2 for i in range(50)]
    assert ds.output_classes == {"x": tf.Tensor, "y": (tf.Tensor, tf.Tensor)}


def test_filter_flat_map_and_interleave_orders():
    assert _ints(_all(tf.data.Dataset.range(10).filter(lambda x: tf.equal(x % 3, 0)))) == [0, 3, 6, 9]
    assert _ints(_all(tf.data.Dataset.range(4).flat_map(lambda x: tf.data.Dataset.range(x)))) == \
        [0, 0, 1, 0, 1, 2]
    # TF's documented example of interleave (cycle_length=2, block_length=4)
    want = [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5]
    for parallel in (None, 2):
        ds = tf.data.Dataset.range(1, 6).interleave(lambda x: tf.data.Dataset.from_tensors(x).repeat(6),
                                                    cycle_length=2, block_length=4, num_parallel_calls=parallel)
        assert _ints(_all(ds)) == want
    with pytest.raises(ValueError, match="scalar boolean"):
        tf.data.Dataset.range(3).filter(lambda x: x)


def test_shuffle_seeded_and_reshuffle_each_iteration():
    ds = tf.data.Dataset.range(20).shuffle(8, seed=5).repeat(2)
    a, b = _ints(_all(ds)), _ints(_all(ds))
    assert a[:20] != list(range(20)) and sorted(a[:20]) == list(range(20)) and sorted(a[20:]) == list(range(20))
    assert a[:20] != a[20:]  # reshuffled per epoch
    assert a[:20] == b[:20]  # seeded: a new iterator replays
    fixed = _ints(_all(tf.data.Dataset.range(20).shuffle(8, seed=5, reshuffle_each_iteration=False).repeat(2)))
    assert fixed[:20] == fixed[20:]


def test_repeat_take_skip_shard_concatenate_zip():
    assert _ints(_all(tf.data.Dataset.range(3).repeat(2))) == [0, 1, 2, 0, 1, 2]
    assert _ints(_all(tf.data.Dataset.range(10).skip(2).take(3))) == [2, 3, 4]
    assert _ints(_all(tf.data.Dataset.range(10).shard(3, 1))) == [1, 4, 7]
    assert _ints(_all(tf.data.Dataset.range(2).concatenate(tf.data.Dataset.range(5, 6)))) == [0, 1, 5]
    z = tf.data.Dataset.zip((tf.data.Dataset.range(3), tf.data.Dataset.from_tensor_slices(["a", "b"])))
    assert [(int(a), b) for a, b in _all(z)] == [(0, b"a"), (1, b"b")]
    assert _ints(_all(tf.data.Dataset.range(3).repeat(-1).take(7))) == [0, 1, 2, 0, 1, 2, 0]


def test_batch_drop_remainder_and_padded_batch():
    ds = tf.data.Dataset.range(7).batch(3, drop_remainder=True)
    assert ds.output_shapes.as_list() == [3]
    assert [b.tolist() for b in _all(ds)] == [[0, 1, 2], [3, 4, 5]]
    ragged = tf.data.Dataset.range(1, 4).map(lambda n: tf.fill(tf.expand_dims(n, 0), n))
    pb = ragged.padded_batch(2, padded_shapes=[4], padding_values=tf.constant(-1, tf.int64))
    got = [b.tolist() for b in _all(pb)]
    assert got == [[[1, -1, -1, -1], [2, 2, -1, -1]], [[3, 3, 3, -1]]]
    auto = [b.tolist() for b in _all(ragged.padded_batch(3))]
    assert auto == [[[1, 0, 0], [2, 2, 0], [3, 3, 3]]]


def test_from_generator_checks_and_errors_through_prefetch():
    def gen():
        yield [1, 2]
        yield [3]
        yield [[4]]

    ds = tf.data.Dataset.from_generator(gen, tf.int32, tf.TensorShape([None])).prefetch(2)
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt).tolist() == [1, 2]
        assert sess.run(nxt).tolist() == [3]
        with pytest.raises(tf.errors.InvalidArgumentError, match="shape"):
            sess.run(nxt)


def test_cache_in_memory_and_file(tmp_path):
    calls = []

    def gen():
        calls.append(1)
        yield from range(4)

    mem = tf.data.Dataset.from_generator(gen, tf.int64, []).cache().repeat(3)
    assert _ints(_all(mem)) == [0, 1, 2, 3] * 3 and len(calls) == 1
    path = str(tmp_path / "c")
    filed = tf.data.Dataset.from_generator(gen, tf.int64, []).cache(path)
    assert _ints(_all(filed)) == [0, 1, 2, 3]
    assert _ints(_all(filed)) == [0, 1, 2, 3] and len(calls) == 2  # the second pass reads the file


def _write(path, records, options=None):
    with tf.io.TFRecordWriter(path, options) as w:
        for r in records:
            w.write(r)


def test_tfrecord_dataset_files_compression_parallel_reads(tmp_path):
    paths = write_shards(tmp_path, 3, 4)
    want = [f"{i}-{j}".encode() for i in range(3) for j in range(4)]
    assert _all(tf.data.TFRecordDataset(paths)) == want
    par = _all(tf.data.TFRecordDataset(paths, num_parallel_reads=3))
    assert sorted(par) == sorted(want) and par[:3] == [b"0-0", b"1-0", b"2-0"]
    gz = str(tmp_path / "z.tfrecord.gz")
    _write(gz, [b"a", b"b"], tf.io.TFRecordOptions("GZIP"))
    assert _all(tf.data.TFRecordDataset(gz, compression_type="GZIP")) == [b"a", b"b"]
    fname = tf.placeholder(tf.string, [None])
    it = tf.data.TFRecordDataset(fname).make_initializable_iterator()
    with tf.Session() as sess:
        sess.run(it.initializer, {fname: [paths[1]]})
        assert sess.run(it.get_next()) == b"1-0"


def test_tfrecord_dataset_corrupt_file_is_data_loss():
    bad = os.path.join(FIXTURES, "corrupt", "flipped_byte.tfrecord")
    with pytest.raises(tf.errors.DataLossError, match="flipped_byte.tfrecord"):
        _all(tf.data.TFRecordDataset(bad))
    with pytest.raises(tf.errors.NotFoundError):
        _all(tf.data.TFRecordDataset("/nonexistent/x.tfrecord"))


def test_text_line_and_fixed_length_datasets(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo\r\nthree")
    with gzip.open(tmp_path / "b.txt.gz", "wb") as f:
        f.write(b"x\ny\n")
    assert _all(tf.data.TextLineDataset(str(tmp_path / "a.txt"))) == [b"one", b"two", b"three"]
    assert _all(tf.data.TextLineDataset(str(tmp_path / "b.txt.gz"), compression_type="GZIP")) == [b"x", b"y"]
    (tmp_path / "c.bin").write_bytes(b"HDR" + bytes(range(10)) + b"F")
    got = _all(tf.data.FixedLengthRecordDataset(str(tmp_path / "c.bin"), 5, header_bytes=3, footer_bytes=1))
    assert got == [bytes(range(5)), bytes(range(5, 10))]


def test_list_files_on_memory_filesystem():
    import fsspec

    fs = fsspec.filesystem("memory")
    for i in range(4):
        with fs.open(f"/lf/part-{i}.txt", "wb") as f:
            f.write(f"line{i}\n".encode())
    plain = [n.decode() for n in _all(tf.data.Dataset.list_files("memory://lf/part-*.txt", shuffle=False))]
    assert [n.replace(":///", "://") for n in plain] == [f"memory://lf/part-{i}.txt" for i in range(4)]
    a = _all(tf.data.Dataset.list_files("memory://lf/*.txt", seed=3))
    assert sorted(a) == sorted(n.encode() for n in plain) and a == _all(tf.data.Dataset.list_files("memory://lf/*.txt",
                                                                                                    seed=3))
    lines = _all(tf.data.Dataset.list_files("memory://lf/*.txt", shuffle=False).flat_map(tf.data.TextLineDataset))
    assert lines == [f"line{i}".encode() for i in range(4)]


def test_batch_then_parse_example_equals_parse_single_example_per_record(tmp_path):
    path = str(tmp_path / "ex.tfrecord")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 4), dtype=np.uint8)
    with tf.io.TFRecordWriter(path) as w:
        for i, img in enumerate(images):
            w.write(tf.train.Example(features=tf.train.Features(feature={
                "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()])),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i]))})).SerializeToString())
    feats = {"image": tf.FixedLenFeature([], tf.string), "label": tf.FixedLenFeature([], tf.int64)}

    def decode(p):
        return tf.decode_raw(p["image"], tf.uint8), p["label"]

    batched = tf.data.TFRecordDataset(path).batch(4).map(lambda s: decode(tf.parse_example(s, feats)))
    single = tf.data.TFRecordDataset(path).map(lambda s: decode(tf.parse_single_example(s, feats))).batch(4)
    for (xa, ya), (xb, yb) in zip(_all(batched), _all(single)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    xs = np.concatenate([x for x, _ in _all(batched)])
    np.testing.assert_array_equal(xs, images)


def test_session_close_stops_a_running_prefetch():
    ds = tf.data.Dataset.range(10 ** 9).prefetch(4)
    nxt = ds.make_one_shot_iterator().get_next()
    sess = tf.Session()
    assert int(sess.run(nxt)) == 0
    sess.close()  # must not hang; later runs fail clearly
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(nxt)


def test_python_iteration_and_element_spec():
    ds = tf.data.Dataset.from_tensor_slices({"a": np.arange(3), "b": np.ones((3, 2), np.float32)})
    assert [int(e["a"]) for e in ds] == [0, 1, 2]
    spec = ds.element_spec
    assert spec["b"][0] == tf.float32 and spec["b"][1].as_list() == [2]


def test_map_capturing_a_placeholder_is_a_clear_error():
    p = tf.placeholder(tf.int64, [])
    with pytest.raises(ValueError, match="captured by value"):
        tf.data.Dataset.range(3).map(lambda x: x + p)


def _varlen_records(tmp_path):
    path = str(tmp_path / "v.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for n in (2, 0, 3):
            w.write(tf.train.Example(features=tf.train.Features(feature={
                "v": tf.train.Feature(int64_list=tf.train.Int64List(value=list(range(10 * n, 10 * n + n))))}))
                .SerializeToString())
    return path


def test_sparse_elements_from_var_len_features(tmp_path):
    path = _varlen_records(tmp_path)
    feats = {"v": tf.VarLenFeature(tf.int64)}
    batched = tf.data.TFRecordDataset(path).batch(3).map(lambda s: tf.parse_example(s, feats)["v"])
    assert batched.output_classes is tf.SparseTensor
    single = tf.data.TFRecordDataset(path).map(lambda s: tf.parse_single_example(s, feats)["v"]).batch(3)
    dense = single.map(lambda sp: tf.sparse_tensor_to_dense(sp))  # a sparse leaf fed to a function
    for ds in (batched, single):
        (value,) = _all(ds)
        assert value.indices.tolist() == [[0, 0], [0, 1], [2, 0], [2, 1], [2, 2]]
        assert value.values.tolist() == [20, 21, 30, 31, 32] and value.dense_shape.tolist() == [3, 3]
    assert _all(dense)[0].tolist() == [[20, 21, 0], [0, 0, 0], [30, 31, 32]]
    it = tf.data.Iterator.from_structure(batched.output_types, batched.output_shapes, output_classes=tf.SparseTensor)
    sp = it.get_next()
    with tf.Session() as sess:
        sess.run(it.make_initializer(batched))
        assert sess.run(tf.sparse_tensor_to_dense(sp)).shape == (3, 3)
