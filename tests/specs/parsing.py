"""Parsing and sparse ops: ParseExample, ParseSingleExample, ParseSingleSequenceExample, DecodeRaw,
DecodeCSV, StringSplit, SparseToDense, DecodePng/EncodePng (round trips here; decoding against TensorFlow in
test_png.py).

References are written independently of the kernels: Example protos are built from random values and
the reference reads those values back with the protobuf API feature by feature; CSV lines are made from
random numbers and split with Python's csv module.
"""

import csv

import numpy as np

import dataflow as tf
from opspec import OpSpec
from pipelines.example import BytesList, Example, Feature, Features, FloatList, Int64List, SequenceExample


def _examples(rng, n=4):
    out = []
    for i in range(n):
        feats = {"label": Feature(int64_list=Int64List(value=[int(rng.integers(-5, 50))])),
                 "xy": Feature(float_list=FloatList(value=rng.standard_normal(2).astype(np.float32))),
                 "tags": Feature(bytes_list=BytesList(value=[b"t%d" % j for j in range(i % 3)]))}
        if i % 2:
            feats["weight"] = Feature(float_list=FloatList(value=[float(i)]))
        out.append(Example(features=Features(feature=feats)).SerializeToString())
    return [np.array(out, dtype=object)]


FEATURES = {"label": tf.FixedLenFeature([], tf.int64), "xy": tf.FixedLenFeature([2], tf.float32),
            "weight": tf.FixedLenFeature([], tf.float32, default_value=-1.0), "tags": tf.VarLenFeature(tf.string)}


def _read(serialized, key, kind):
    f = Example.FromString(serialized).features.feature
    return list(getattr(f[key], kind).value) if key in f else None


def _parse_ref(serialized):
    rows = list(serialized.reshape(-1))
    tags = [_read(s, "tags", "bytes_list") or [] for s in rows]
    indices = [[b, j] for b, t in enumerate(tags) for j in range(len(t))]
    weight = [(_read(s, "weight", "float_list") or [-1.0])[0] for s in rows]
    return [np.array(indices, dtype=np.int64).reshape(-1, 2), np.array(sum(tags, []), dtype=object),
            np.array([len(rows), max(map(len, tags))], dtype=np.int64),
            np.array([_read(s, "label", "int64_list")[0] for s in rows], dtype=np.int64),
            np.array(weight, dtype=np.float32),
            np.array([_read(s, "xy", "float_list") for s in rows], dtype=np.float32)]


def _parse_build(s):
    out = tf.parse_example(s, FEATURES)
    return [out["tags"].indices, out["tags"].values, out["tags"].dense_shape, out["label"], out["weight"],
            out["xy"]]


def _parse_single_build(s):
    out = tf.parse_single_example(s[2], FEATURES)
    return [out["tags"].indices, out["tags"].values, out["label"], out["xy"]]


def _parse_single_ref(serialized):
    idx, values, _, label, _, xy = _parse_ref(serialized[2:3])
    return [idx[:, 1:], values, label[0], xy[0]]


def _raw_inputs(rng):
    arr = rng.integers(-30000, 30000, (3, 4)).astype(np.int16)
    return [np.array([r.astype(">i2").tobytes() for r in arr], dtype=object)]


def _csv_inputs(rng):
    lines = []
    for i in range(5):
        a, b = int(rng.integers(-100, 100)), float(rng.standard_normal())
        text = f'"x,{i}"' if i % 2 else f"w{i}"
        lines.append(f"{a},{b!r},{text}" if i != 3 else f",{b!r},{text}")
    return [np.array([s.encode() for s in lines], dtype=object)]


def _csv_ref(records):
    rows = list(csv.reader([r.decode() for r in records]))
    return [np.array([int(r[0]) if r[0] else 7 for r in rows], dtype=np.int32),
            np.array([float(r[1]) for r in rows], dtype=np.float32),
            np.array([r[2].encode() for r in rows], dtype=object)]


def _split_inputs(rng):
    words = [b" ".join(b"w%d" % rng.integers(0, 9) for _ in range(k)) for k in (2, 0, 3, 1)]
    return [np.array([w.replace(b" ", b"  ", 1) for w in words], dtype=object)]


def _split_ref(source):
    toks = [s.split() for s in source]
    return [np.array([[b, j] for b, t in enumerate(toks) for j in range(len(t))], dtype=np.int64),
            np.array(sum(toks, []), dtype=object), np.array([len(toks), max(map(len, toks))], dtype=np.int64)]


def _seq_inputs(rng):
    ex = SequenceExample()
    ex.context.feature["n"].int64_list.value.append(int(rng.integers(0, 100)))
    for _ in range(4):
        ex.feature_lists.feature_list["v"].feature.add().float_list.value.extend(rng.standard_normal(3).tolist())
    return [np.array(ex.SerializeToString(), dtype=object)]


def _seq_build(s):
    ctx, seq = tf.parse_single_sequence_example(s, {"n": tf.FixedLenFeature([], tf.int64)},
                                                {"v": tf.FixedLenSequenceFeature([3], tf.float32)})
    return [ctx["n"], seq["v"]]


def _seq_ref(s):
    ex = SequenceExample.FromString(s.item())
    steps = [list(f.float_list.value) for f in ex.feature_lists.feature_list["v"].feature]
    return [np.int64(ex.context.feature["n"].int64_list.value[0]), np.array(steps, dtype=np.float32)]


_IDX = [[0, 1], [1, 3], [2, 0], [2, 2]]


def _to_dense_ref(values, default):
    out = np.full((3, 4), default, dtype=values.dtype)
    out[tuple(np.array(_IDX).T)] = values
    return out


SPECS = [
    OpSpec("parse_example", _parse_build, _parse_ref, _examples, grad=False),
    OpSpec("parse_single_example", _parse_single_build, _parse_single_ref, _examples, grad=False),
    OpSpec("decode_raw_big_endian", lambda s: tf.decode_raw(s, tf.int16, little_endian=False),
           lambda s: np.array([np.frombuffer(b, ">i2") for b in s]).astype(np.int16), _raw_inputs, grad=False),
    OpSpec("decode_csv", lambda r: tf.decode_csv(r, [[7], [0.0], [""]]), _csv_ref, _csv_inputs, grad=False),
    OpSpec("string_split", lambda s: list(_sp(tf.string_split(s))), _split_ref, _split_inputs, grad=False),
    OpSpec("parse_single_sequence_example", _seq_build, _seq_ref, _seq_inputs, grad=False),
    OpSpec("png_round_trip_rgb", lambda i: tf.image.decode_png(tf.image.encode_png(i)), lambda i: i,
           lambda rng: [rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)], grad=False),
    OpSpec("png_round_trip_gray16_as_rgba",
           lambda i: tf.io.decode_png(tf.io.encode_png(i), channels=4, dtype=tf.uint16),
           lambda i: np.concatenate([i, i, i, np.full_like(i, 65535)], axis=2),
           lambda rng: [rng.integers(0, 65536, (4, 6, 1)).astype(np.uint16)], grad=False),
    OpSpec("sparse_to_dense", lambda v, d: tf.sparse_to_dense(_IDX, [3, 4], v, d), _to_dense_ref,
           lambda rng: [rng.standard_normal(4).astype(np.float32), np.float32(0.5)]),
]


def _sp(st):
    return st.indices, st.values, st.dense_shape
