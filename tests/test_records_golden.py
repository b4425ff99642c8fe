"""Files dataflow writes, as TensorFlow reads them: tests/golden/records_oracle.py wrote GZIP/ZLIB records
and Examples with dataflow (committed under tests/golden/records/), then read them with TensorFlow 2.21 into
tests/golden/records_oracle.json. Here: dataflow writes the same bytes again, and TF read what was written."""

import json
import os

import numpy as np
import pytest

from golden import records_oracle as oracle
from pipelines.records import tf_record_iterator

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
TF_READ = json.load(open(os.path.join(GOLDEN, "records_oracle.json")))


def test_writer_is_deterministic(tmp_path):
    paths = oracle.write_with_dataflow(str(tmp_path))
    for name, path in paths.items():
        assert open(path, "rb").read() == open(os.path.join(oracle.OUT, name), "rb").read(), name


@pytest.mark.parametrize("compression,name", list(oracle.FILES.items()))
def test_tensorflow_read_our_compressed_records(compression, name):
    want = [oracle.digest(r) for r in oracle.raw_records()]
    assert TF_READ[name] == want
    assert [oracle.digest(r) for r in tf_record_iterator(os.path.join(oracle.OUT, name), compression)] == want


def test_tensorflow_read_our_examples():
    kinds = {"int64": "int64_list", "float": "float_list", "bytes": "bytes_list"}
    want = [{k: [kinds[kind], [v.hex() if isinstance(v, bytes) else v for v in vals]]
             for k, (kind, vals) in sorted(ex.items())} for ex in oracle.examples()]
    got = TF_READ["examples_proto"]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.keys() == w.keys()
        for key in w:
            assert g[key][0] == w[key][0]
            if w[key][0] == "float_list":                  # float32 on the wire
                np.testing.assert_allclose(g[key][1], w[key][1], rtol=1e-7)
            else:
                assert g[key][1] == w[key][1]
    parsed = TF_READ["examples_parsed"]
    assert parsed["label"]["values"] == [7, -3, 2 ** 40, 0]
    assert parsed["label"]["indices"] == [[0, 0], [1, 0], [1, 1], [2, 0]]
    np.testing.assert_allclose(parsed["xy"], [[0.5, -1.25], [3.0, 4.0], [1e-3, 1e3]], rtol=1e-7)
    assert parsed["name"]["values"] == [b"first".hex(), "", "00ff", b"third".hex()]


def test_dataflow_parses_the_same_as_tensorflow():
    import dataflow as tf

    serialized = list(tf_record_iterator(os.path.join(oracle.OUT, "examples.tfrecord")))
    parsed = tf.parse_example(serialized, {"label": tf.VarLenFeature(tf.int64),
                                           "xy": tf.FixedLenFeature([2], tf.float32),
                                           "name": tf.VarLenFeature(tf.string)})
    with tf.Session() as sess:
        out = sess.run(parsed)
    want = TF_READ["examples_parsed"]
    assert out["label"].indices.tolist() == want["label"]["indices"]
    assert out["label"].values.tolist() == want["label"]["values"]
    assert out["xy"].tolist() == want["xy"]
    assert [v.hex() for v in out["name"].values] == want["name"]["values"]
    assert out["name"].indices.tolist() == want["name"]["indices"]
