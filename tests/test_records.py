"""TFRecord framing: TensorFlow's fixtures, its error messages, byte-identical writing, block edges."""

import io
import itertools
import json
import os
import uuid

import fsspec
import pytest

import dataflow as tf
from pipelines import records
from pipelines.records import RecordReader, TFRecordOptions, TFRecordWriter, tf_record_iterator

FIX = os.path.join(os.path.dirname(__file__), "fixtures")
TRUTH = json.load(open(os.path.join(FIX, "tfrecord", "TRUTH.json")))
RAW = [bytes(range(k * 7 % 256)) + b"\x00end" for k in range(5)]
PAYLOADS = [b"payload-%d" % k * (k + 1) for k in range(10)]


def mem(name="r"):
    return f"memory://test_records/{uuid.uuid4().hex}/{name}.tfrecord"


def test_reads_tensorflow_raw_and_compressed_fixtures():
    assert list(tf_record_iterator(os.path.join(FIX, "tfrecord", "raw.tfrecord"))) == RAW
    gz = os.path.join(FIX, "tfrecord", "compressed.tfrecord.gz")
    zl = os.path.join(FIX, "tfrecord", "compressed.tfrecord.zlib")
    assert list(tf_record_iterator(gz, "GZIP")) == PAYLOADS
    assert list(tf_record_iterator(zl, TFRecordOptions("ZLIB"))) == PAYLOADS
    assert list(tf.python_io.tf_record_iterator(
        gz, tf.python_io.TFRecordOptions(tf.python_io.TFRecordCompressionType.GZIP))) == PAYLOADS


@pytest.mark.parametrize("name", ["flipped_byte.tfrecord", "truncated.tfrecord"])
def test_corrupt_fixtures_fail_as_tensorflow_did(name):
    truth = TRUTH["tensorflow_errors"][name]
    cls, message = truth["error"].split(": ", 1)
    path = os.path.join(FIX, "corrupt", name)
    got = []
    with pytest.raises(getattr(tf.errors, cls)) as e:
        for record in tf.io.tf_record_iterator(path):
            got.append(record)
    assert len(got) == truth["records_before_error"]
    assert message in str(e.value) and path in str(e.value)


def test_writer_is_byte_identical_to_tensorflow(tmp_path):
    for compression, suffix in [(None, "raw.tfrecord"), ("GZIP", "compressed.tfrecord.gz"),
                                ("ZLIB", "compressed.tfrecord.zlib")]:
        data = RAW if compression is None else PAYLOADS
        out = str(tmp_path / suffix)
        with tf.io.TFRecordWriter(out, compression) as w:
            for record in data:
                w.write(record)
        assert open(out, "rb").read() == open(os.path.join(FIX, "tfrecord", suffix), "rb").read()


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_round_trip_across_block_edges(compression, monkeypatch):
    monkeypatch.setattr(records, "BLOCK", 1000)            # many refills, records straddling blocks
    data = [os.urandom(n) for n in (0, 1, 5, 700, 999, 1000, 3000, 12, 0, 45000, 7)] * 3
    url = mem()
    w = TFRecordWriter(url, TFRecordOptions(compression))
    for d in data[:10]:
        w.write(d)
    w.flush()
    for d in data[10:]:
        w.write(d)
    w.close()
    assert list(tf_record_iterator(url, compression)) == data


def test_reader_offset_and_end():
    buf = io.BytesIO()
    with TFRecordWriter(buf) as w:
        for d in RAW:
            w.write(d)
    buf.seek(0)
    reader = RecordReader(buf, "mem")
    offsets = []
    while (record := reader.read()) is not None:
        offsets.append(reader.offset)
    assert offsets[-1] == len(buf.getvalue())
    assert offsets == list(itertools.accumulate(len(d) + 16 for d in RAW))
    assert reader.read() is None


def test_header_cut_short_is_end_of_file_and_errors_repeat():
    blob = io.BytesIO()
    with TFRecordWriter(blob) as w:
        w.write(b"abc")
        w.write(b"defg")
    whole = blob.getvalue()
    # a header cut short reads as the end of the file
    assert list(RecordReader(io.BytesIO(whole[:19 + 11]), "f")) == [b"abc"]
    # a data cut short is DataLossError at the record's offset, again on the next read
    reader = RecordReader(io.BytesIO(whole[:19 + 14]), "f")
    assert reader.read() == b"abc"
    for _ in range(2):
        with pytest.raises(tf.errors.DataLossError, match="truncated record at 19'"):
            reader.read()
    # a corrupt length checksum: "corrupted record at" the record's offset
    bad = bytearray(whole)
    bad[19 + 9] ^= 1
    with pytest.raises(tf.errors.DataLossError, match="f: corrupted record at 19$"):
        list(RecordReader(io.BytesIO(bytes(bad)), "f"))


def test_huge_length_field_does_not_allocate():
    blob = io.BytesIO()
    with TFRecordWriter(blob) as w:
        w.write(b"x" * 100)
    raw = bytearray(blob.getvalue())
    raw[0:8] = (1 << 62).to_bytes(8, "little")
    raw[8:12] = records.masked_crc(bytes(raw[0:8])).to_bytes(4, "little")  # a "valid" huge length
    with pytest.raises(tf.errors.DataLossError, match="truncated record at 0'"):
        list(RecordReader(io.BytesIO(bytes(raw)), "f"))


def test_options_and_errors():
    assert TFRecordOptions.get_compression_type_string(None) == ""
    assert TFRecordOptions.get_compression_type_string(2) == "GZIP"
    assert TFRecordOptions.get_compression_type_string("zlib") == "ZLIB"
    assert TFRecordOptions(tf.io.TFRecordCompressionType.ZLIB).compression_type == "ZLIB"
    with pytest.raises(tf.errors.InvalidArgumentError, match="compression_type"):
        TFRecordOptions("BZIP2")
    with pytest.raises(tf.errors.NotFoundError, match="missing.tfrecord"):
        list(tf_record_iterator("memory://nowhere/missing.tfrecord"))
    url = mem()
    w = TFRecordWriter(url)
    w.write("text is UTF-8")
    w.close()
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.write(b"late")
    assert list(tf_record_iterator(url)) == [b"text is UTF-8"]


def test_corrupt_compressed_stream_is_data_loss():
    url = mem()
    with TFRecordWriter(url, "GZIP") as w:
        for d in PAYLOADS * 50:
            w.write(d)
    raw = bytearray(fsspec.open(url, "rb").open().read())
    raw[len(raw) // 2] ^= 0xFF
    with fsspec.open(url, "wb") as f:
        f.write(bytes(raw))
    got = []
    with pytest.raises(tf.errors.DataLossError):
        for record in tf_record_iterator(url, "GZIP"):
            got.append(record)
    assert got == (PAYLOADS * 50)[:len(got)]
