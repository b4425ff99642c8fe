"""Checkpoint format V2: TF-written checkpoints restore, TF reads ours, corruption is DataLossError."""

import importlib.util
import json
import os
import shutil
import struct

import numpy as np
import pytest

import dataflow as tf
from dataflow.train import checkpoint_io as io
from dataflow.train import sstable

HERE = os.path.dirname(__file__)
TF_CKPT = os.path.join(HERE, "fixtures", "tf_checkpoint")
DF_CKPT = os.path.join(HERE, "fixtures", "df_checkpoint")


def _oracle():
    spec = importlib.util.spec_from_file_location("checkpoint_oracle", os.path.join(HERE, "golden",
                                                                                     "checkpoint_oracle.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _dense_graph():
    with tf.variable_scope("dense"):
        k = tf.get_variable("kernel", [2, 3])
        b = tf.get_variable("bias", [3])
    return k, b, tf.train.get_or_create_global_step()


def test_restore_checkpoint_written_by_tensorflow():
    truth = json.load(open(os.path.join(TF_CKPT, "VALUES.json")))
    with tf.Graph().as_default():
        k, b, gs = _dense_graph()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            prefix = tf.train.latest_checkpoint(TF_CKPT)
            assert prefix == os.path.join(TF_CKPT, "model.ckpt-7")
            saver.restore(sess, prefix)
            kv, bv, gv = sess.run([k, b, gs])
    np.testing.assert_array_equal(kv, np.array(truth["dense/kernel"], np.float32))
    np.testing.assert_array_equal(bv, np.array(truth["dense/bias"], np.float32))
    assert gv == truth["global_step"] and gv.dtype == np.int64


def test_reader_api_on_tensorflow_checkpoint():
    reader = tf.train.NewCheckpointReader(os.path.join(TF_CKPT, "model.ckpt-7"))
    assert reader.get_variable_to_shape_map() == {"dense/kernel": [2, 3], "dense/bias": [3], "global_step": []}
    assert reader.get_variable_to_dtype_map() == {"dense/kernel": tf.float32, "dense/bias": tf.float32,
                                                  "global_step": tf.int64}
    assert reader.has_tensor("dense/bias") and not reader.has_tensor("nope")
    with pytest.raises(tf.errors.NotFoundError, match="Key nope not found in checkpoint"):
        reader.get_tensor("nope")
    assert tf.train.list_variables(TF_CKPT) == [("dense/bias", [3]), ("dense/kernel", [2, 3]), ("global_step", [])]
    np.testing.assert_array_equal(tf.train.load_variable(TF_CKPT, "dense/bias:0"), [0.5, -0.5, 1.0])
    state = tf.train.get_checkpoint_state(TF_CKPT)
    assert list(state.all_model_checkpoint_paths) == [os.path.join(TF_CKPT, "model.ckpt-7")]
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        tf.train.load_checkpoint(os.path.join(HERE, "fixtures"))


def test_tensorflow_reads_what_dataflow_writes(tmp_path):
    oracle = _oracle()
    expected = oracle.expected_values()
    # dataflow still writes, byte for byte, the checkpoint TensorFlow was shown
    with tf.Graph().as_default():
        oracle.write(str(tmp_path))
    for name in ("model.ckpt-3.index", "model.ckpt-3.data-00000-of-00001"):
        assert (tmp_path / name).read_bytes() == open(os.path.join(DF_CKPT, name), "rb").read(), name
    # ... and what TensorFlow 2.21 read from it is what was saved
    golden = json.load(open(os.path.join(HERE, "golden", "checkpoint_oracle.json")))["tensors"]
    assert golden == json.loads(json.dumps(oracle.to_json(expected)))
    # our own reader agrees, for every dtype, through a multi-block index
    assert len(open(os.path.join(DF_CKPT, "model.ckpt-3.index"), "rb").read()) > 2 * sstable.BLOCK_SIZE
    reader = tf.train.load_checkpoint(DF_CKPT)
    for name, value in expected.items():
        got = reader.get_tensor(name)
        assert got.dtype == value.dtype and got.shape == value.shape, name
        np.testing.assert_array_equal(got, value)


def test_sstable_round_trip_and_prefix_compression():
    keys = sorted({f"k/{i % 7}/{i:05d}".encode() for i in range(2000)})
    items = [(k, k[::-1] * (1 + len(k) % 3)) for k in keys]
    data = sstable.build_table(items)
    assert sstable.read_table(data, "t") == dict(items)
    assert sstable.read_table(sstable.build_table([]), "t") == {}
    with pytest.raises(ValueError, match="strictly increasing"):
        sstable.build_table([(b"b", b""), (b"a", b"")])


def test_snappy_block_is_decoded():
    # literal "abcd", then a copy of length 8 at offset 4 (overlapping its own output): "abcd" * 3
    assert sstable.snappy_decompress(bytes([12, 3 << 2]) + b"abcd" + bytes([((8 - 4) << 2) | 1, 4])) == b"abcd" * 3
    block = bytearray(sstable._BlockBuilder().finish())  # an empty block, stored snappy-compressed
    compressed = bytes([len(block), (len(block) - 1) << 2]) + bytes(block)
    assert sstable.snappy_decompress(compressed) == bytes(block)
    with pytest.raises(ValueError):
        sstable.snappy_decompress(bytes([8, 1, 0]))


# ---- tampering: every corruption is DataLossError naming the file ---------------------------------
def _copy(tmp_path):
    for name in os.listdir(TF_CKPT):
        shutil.copy(os.path.join(TF_CKPT, name), tmp_path / name)
        os.chmod(tmp_path / name, 0o644)
    return str(tmp_path / "model.ckpt-7")


def _read_all(prefix):
    reader = tf.train.NewCheckpointReader(prefix)
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


def _flips(original):
    for i in range(len(original)):
        for bit in (0x01, 0x80):
            bad = bytearray(original)
            bad[i] ^= bit
            yield bytes(bad)


def _truncations(original):
    return (original[:n] for n in range(len(original)))


@pytest.mark.parametrize("damages", [_flips, _truncations])
def test_every_damaged_byte_is_data_loss(tmp_path, damages):
    prefix = _copy(tmp_path)
    for suffix in (".index", ".data-00000-of-00001"):
        path = prefix + suffix
        original = open(path, "rb").read()
        for bad in damages(original):
            open(path, "wb").write(bad)
            with pytest.raises(tf.errors.DataLossError, match=os.path.basename(path)):
                _read_all(prefix)
        open(path, "wb").write(original)
    assert set(_read_all(prefix)) == {"dense/kernel", "dense/bias", "global_step"}


def _rewrite_entry(prefix, name, **changes):
    table = sstable.read_table(open(prefix + ".index", "rb").read(), "x")
    entry = io.protos().BundleEntryProto.FromString(table[name.encode()])
    for field, value in changes.items():
        if field == "shape":
            del entry.shape.dim[:]
            for d in value:
                entry.shape.dim.add(size=d)
        else:
            setattr(entry, field, value)
    table[name.encode()] = entry.SerializeToString()
    open(prefix + ".index", "wb").write(sstable.build_table(sorted(table.items())))


@pytest.mark.parametrize("changes", [dict(dtype=2), dict(shape=[2, 4]), dict(shape=[7]), dict(dtype=99),
                                     dict(size=20), dict(offset=30), dict(crc32c=12345), dict(shard_id=1),
                                     dict(shape=[-1, 3])])
def test_wrong_index_entry_is_data_loss(tmp_path, changes):
    prefix = _copy(tmp_path)
    _rewrite_entry(prefix, "dense/kernel", **changes)
    with pytest.raises(tf.errors.DataLossError, match="model.ckpt-7"):
        _read_all(prefix)
    # restoring through a Saver reports it too and leaves the variables as they were
    with tf.Graph().as_default():
        k, b, gs = _dense_graph()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(b)
            with pytest.raises(tf.errors.DataLossError):
                saver.restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(b), before)


def test_footer_and_header_checks(tmp_path):
    data = sstable.build_table([(b"a", b"1")])
    with pytest.raises(tf.errors.DataLossError, match="bad magic"):
        sstable.read_table(data[:-1] + b"\x00", "f.index")
    with pytest.raises(tf.errors.DataLossError, match="too short"):
        sstable.read_table(b"", "f.index")
    assert struct.unpack("<Q", data[-8:])[0] == sstable.MAGIC


def test_reads_a_checkpoint_of_several_shards(tmp_path):
    # as TF's sharded Saver merges them: one index, tensors spread over .data-0000k-of-00002 files
    p = io.protos()
    prefix = str(tmp_path / "sharded")
    tensors = {"a": (0, np.arange(4, dtype=np.float32)), "b": (1, np.array([[7, 8]], np.int64)),
               "c": (1, np.array(True))}
    blobs, entries = {0: b"", 1: b"PAD"}, []
    for name, (shard, value) in sorted(tensors.items()):
        raw = value.tobytes()
        entry = p.BundleEntryProto(dtype=io.dtype_enum(tf.as_dtype(value.dtype)), shard_id=shard,
                                   offset=len(blobs[shard]), size=len(raw), crc32c=sstable.masked_crc32c(raw))
        for d in value.shape:
            entry.shape.dim.add(size=d)
        blobs[shard] += raw
        entries.append((name.encode(), entry.SerializeToString()))
    for shard, blob in blobs.items():
        open(io.data_file(prefix, shard, 2), "wb").write(blob)
    header = p.BundleHeaderProto(num_shards=2, version=p.VersionDef(producer=1))
    open(prefix + ".index", "wb").write(sstable.build_table([(b"", header.SerializeToString())] + entries))
    reader = tf.train.NewCheckpointReader(prefix)
    for name, (_, value) in tensors.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value)
    os.remove(io.data_file(prefix, 1, 2))
    with pytest.raises(tf.errors.NotFoundError, match="data-00001-of-00002"):
        tf.train.NewCheckpointReader(prefix).get_tensor("b")


TF_STRINGS = os.path.join(HERE, "fixtures", "tf_string_checkpoint")


def test_string_tensors_written_by_tensorflow(tmp_path):
    expected = _oracle().tf_string_values()
    reader = tf.train.NewCheckpointReader(os.path.join(TF_STRINGS, "model.ckpt"))
    assert reader.get_variable_to_dtype_map()["words"] is tf.string
    for name, value in expected.items():
        got = reader.get_tensor(name)
        assert got.shape == value.shape and got.dtype == value.dtype, name
        np.testing.assert_array_equal(got, value)
    with tf.Graph().as_default():  # restored into string variables, saved again, read again
        words = tf.Variable(np.array([b""] * 4, dtype=object), name="words")
        saver = tf.train.Saver([words])
        with tf.Session() as sess:
            saver.restore(sess, os.path.join(TF_STRINGS, "model.ckpt"))
            np.testing.assert_array_equal(sess.run(words), expected["words"])
            saver.save(sess, str(tmp_path / "again"))
    np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path / "again"), "words"), expected["words"])
    # every damaged byte of the string layout (lengths, their checksum, the bytes) is DataLossError
    for name in os.listdir(TF_STRINGS):
        shutil.copy(os.path.join(TF_STRINGS, name), tmp_path / name)
        os.chmod(tmp_path / name, 0o644)
    path = str(tmp_path / "model.ckpt.data-00000-of-00001")
    original = open(path, "rb").read()
    for bad in list(_flips(original)) + list(_truncations(original)):
        open(path, "wb").write(bad)
        with pytest.raises(tf.errors.DataLossError, match="data-00000-of-00001"):
            _read_all(str(tmp_path / "model.ckpt"))
