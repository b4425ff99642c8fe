"""TensorFlow as the oracle for files dataflow writes: GZIP/ZLIB TFRecords and Example protos.

Two steps, two interpreters:

1. ``PYTHONPATH=. /work/venv/bin/python tests/golden/records_oracle.py --write`` writes, with dataflow,
   the files under ``tests/golden/records/`` (committed): ``records.tfrecord.gz``, ``records.tfrecord.zlib``
   (the raw records of :func:`raw_records`) and ``examples.tfrecord`` (the Examples of :func:`examples`).
2. ``/work/tfvenv/bin/python tests/golden/records_oracle.py`` reads those files with TensorFlow
   (``tf.compat.v1.io.tf_record_iterator``, ``tf.train.Example``, ``tf.io.parse_example``) and writes what it
   read to ``tests/golden/records_oracle.json``.

``tests/test_records_golden.py`` checks that dataflow writes those same bytes again (the writer is
deterministic) and that the JSON holds exactly the records and feature values dataflow wrote.
The record contents below need neither library.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "records")
FILES = {"GZIP": "records.tfrecord.gz", "ZLIB": "records.tfrecord.zlib"}


def raw_records() -> list:
    """Records of many sizes, one of 300 KB (several reader blocks of TensorFlow's zlib stream)."""
    out = [b"", b"x"]
    out += [bytes((i * 31 + j * 7) % 256 for j in range(i * 37 % 500)) for i in range(30)]
    out.append(bytes(range(256)) * 1200)
    out.append(b"last")
    return out


def examples() -> list:
    """Example contents: key -> (kind, values)."""
    return [
        {"label": ("int64", [7]), "xy": ("float", [0.5, -1.25]), "name": ("bytes", [b"first"])},
        {"label": ("int64", [-3, 2 ** 40]), "xy": ("float", [3.0, 4.0]), "name": ("bytes", [b"", b"\x00\xff"])},
        {"label": ("int64", [0]), "xy": ("float", [1e-3, 1e3]), "name": ("bytes", [b"third"]),
         "empty": ("float", [])},
    ]


def digest(record: bytes) -> list:
    return [len(record), hashlib.sha256(record).hexdigest()]


def write_with_dataflow(out_dir: str = OUT) -> dict:
    """Write the golden files with dataflow into ``out_dir``; return {name: path}."""
    from pipelines.example import BytesList, Example, Feature, Features, FloatList, Int64List
    from pipelines.records import TFRecordWriter

    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for compression, name in FILES.items():
        paths[name] = os.path.join(out_dir, name)
        with TFRecordWriter(paths[name], compression) as w:
            for r in raw_records():
                w.write(r)
    kinds = {"int64": lambda v: Feature(int64_list=Int64List(value=v)),
             "float": lambda v: Feature(float_list=FloatList(value=v)),
             "bytes": lambda v: Feature(bytes_list=BytesList(value=v))}
    paths["examples.tfrecord"] = os.path.join(out_dir, "examples.tfrecord")
    with TFRecordWriter(paths["examples.tfrecord"]) as w:
        for ex in examples():
            feats = {k: kinds[kind](vals) for k, (kind, vals) in ex.items()}
            w.write(Example(features=Features(feature=feats)).SerializeToString(deterministic=True))
    return paths


def read_with_tensorflow() -> dict:
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    result = {"tensorflow": tf.__version__}
    for compression, name in FILES.items():
        options = tf.io.TFRecordOptions(compression)
        result[name] = [digest(r) for r in tf.io.tf_record_iterator(os.path.join(OUT, name), options)]
    serialized = list(tf.io.tf_record_iterator(os.path.join(OUT, "examples.tfrecord")))
    protos = []
    for s in serialized:
        f = tf.train.Example.FromString(s).features.feature
        protos.append({k: [f[k].WhichOneof("kind"), [v.hex() if isinstance(v, bytes) else v
                                                     for v in getattr(f[k], f[k].WhichOneof("kind")).value]]
                       for k in sorted(f)})
    result["examples_proto"] = protos
    parsed = tf.io.parse_example(serialized, {"label": tf.io.VarLenFeature(tf.int64),
                                              "xy": tf.io.FixedLenFeature([2], tf.float32),
                                              "name": tf.io.VarLenFeature(tf.string)})
    with tf.Session() as sess:
        out = sess.run(parsed)
    result["examples_parsed"] = {
        "label": {"indices": out["label"].indices.tolist(), "values": out["label"].values.tolist()},
        "xy": out["xy"].tolist(),
        "name": {"indices": out["name"].indices.tolist(), "values": [v.hex() for v in out["name"].values]}}
    return result


if __name__ == "__main__":
    if "--write" in sys.argv:
        print(write_with_dataflow())
    else:
        with open(os.path.join(HERE, "records_oracle.json"), "w") as f:
            json.dump(read_with_tensorflow(), f, indent=1)
            f.write("\n")
