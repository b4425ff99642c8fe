"""Functions for tests/test_preprocess.py, importable by module:function (the command line, workers)."""

import dataflow as tf
from pipelines.example import Example

CALLS = []


def relabel(record: bytes) -> dict:
    """A Python fn: an Example's label plus 100, and its name, as a dict of features."""
    CALLS.append(record)
    f = Example.FromString(record).features.feature
    return {"label": f["label"].int64_list.value[0] + 100, "name": f["name"].bytes_list.value[0]}


def fail_on_rec013(record: bytes):
    if Example.FromString(record).features.feature["name"].bytes_list.value[0] == b"rec013":
        raise RuntimeError("bad record 13")
    return record


def scaled_image(records):
    """A graph fn: parse a batch of Examples, scale the 12x12 image to [0, 1], keep the label."""
    parsed = tf.parse_example(records, {"image_raw": tf.FixedLenFeature([], tf.string),
                                        "label": tf.FixedLenFeature([], tf.int64)})
    image = tf.cast(tf.decode_raw(parsed["image_raw"], tf.uint8), tf.float32) / 255.0
    return {"image": image, "label": parsed["label"]}
