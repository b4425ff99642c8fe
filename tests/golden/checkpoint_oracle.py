"""Proof that TensorFlow reads the checkpoints dataflow writes.

Two steps, two interpreters::

    # 1. dataflow writes tests/fixtures/df_checkpoint/ (committed)
    PYTHONPATH=$PWD /work/venv/bin/python tests/golden/checkpoint_oracle.py write tests/fixtures/df_checkpoint
    # 2. TensorFlow (tensorflow-cpu 2.21) reads it with tf.train.load_checkpoint; what it read -> JSON (committed)
    /work/tfvenv/bin/python tests/golden/checkpoint_oracle.py read tests/fixtures/df_checkpoint \
        tests/golden/checkpoint_oracle.json
    # 3. TensorFlow writes a checkpoint with string variables, for dataflow to read (committed)
    /work/tfvenv/bin/python tests/golden/checkpoint_oracle.py tfwrite tests/fixtures/tf_string_checkpoint

``tests/test_checkpoint_format.py`` checks that dataflow still writes those very bytes and that the
values TensorFlow read are :func:`expected_values`.
"""

import json
import sys

import numpy as np


def expected_values() -> dict:
    """The variables saved: several dtypes, and enough names for a multi-block index."""
    rng = np.random.RandomState(10)
    values = {
        "dense/kernel": rng.randn(4, 3).astype(np.float32),
        "dense/bias": np.array([0.5, -0.5, 1.0], np.float32),
        "global_step": np.array(12345, np.int64),
        "f64": rng.randn(2, 2, 2),
        "i32": np.arange(-5, 5, dtype=np.int32).reshape(2, 5),
        "u8": np.arange(250, 256, dtype=np.uint8),
        "i8": np.array([-128, 0, 127], np.int8),
        "f16": np.array([1.5, -2.25, 65504.0], np.float16),
        "flag": np.array([True, False, True]),
        "c64": (rng.randn(3) + 1j * rng.randn(3)).astype(np.complex64),
        "empty": np.zeros((0, 3), np.float32),
        "vocab": np.array([b"alpha", b"", b"\xff\x00raw", "\u00fcn\u00efcode".encode(), b"x" * 300, b"z"],
                          dtype=object).reshape(2, 3),
    }
    for i in range(400):  # 400 keys: the index spans several 4 KiB data blocks, with restart points
        values[f"tower_{i % 3}/layer_{i:03d}/weights"] = np.full((2,), i, np.float32)
    return values


def to_json(values: dict) -> dict:
    out = {}
    for name, v in values.items():
        v = np.asarray(v)
        if v.dtype == object:  # strings: their bytes in hex
            vals = [bytes(b).hex() for b in v.ravel()]
        else:
            vals = np.stack([v.real, v.imag], -1).tolist() if v.dtype.kind == "c" else v.tolist()
        out[name] = {"dtype": str(v.dtype), "shape": list(v.shape), "values": vals}
    return out


def write(directory):
    import dataflow as tf

    values = expected_values()
    variables = {}
    for name, v in values.items():
        variables[name] = tf.Variable(v, name=name.replace("/", "_"))
    saver = tf.train.Saver(variables, save_relative_paths=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, directory + "/model.ckpt", global_step=3, write_meta_graph=False)


def read(directory, out):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(directory)
    names = sorted(reader.get_variable_to_shape_map())
    values = {n: reader.get_tensor(n) for n in names}
    with open(out, "w") as f:
        json.dump({"tensorflow": tf.__version__, "tensors": to_json(values)}, f, sort_keys=True)


def tf_string_values() -> dict:
    """What ``tfwrite`` saves with TensorFlow: strings (one past 127 bytes: a 2-byte varint length)."""
    return {"words": np.array([b"one", b"", b"three\x00", b"y" * 200], dtype=object),
            "scalar_text": np.array(b"hello", dtype=object),
            "weights": np.arange(3, dtype=np.float32)}


def tfwrite(directory):
    """TensorFlow writes a checkpoint with string variables (tests/fixtures/tf_string_checkpoint)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    with tf1.Graph().as_default():
        for name, value in tf_string_values().items():
            tf1.Variable(value, name=name)
        saver = tf1.train.Saver(save_relative_paths=True)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, directory + "/model.ckpt", write_meta_graph=False)


if __name__ == "__main__":
    {"write": write, "read": read, "tfwrite": tfwrite}[sys.argv[1]](*sys.argv[2:])
