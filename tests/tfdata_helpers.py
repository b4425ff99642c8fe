"""Helpers of the input-pipeline tests: small TFRecord shards, and running a fetch until the end."""

import dataflow as tf


def write_shards(folder, files: int, records: int, fmt: str = "{i}-{j}", suffix: str = ".tfrecord") -> list:
    """``files`` TFRecord files ``s{i}`` in ``folder``, record j of file i being ``fmt.format(i=i, j=j)``."""
    paths = []
    for i in range(files):
        p = str(folder / f"s{i}{suffix}")
        with tf.io.TFRecordWriter(p) as w:
            for j in range(records):
                w.write(fmt.format(i=i, j=j).encode())
        paths.append(p)
    return paths


def drain(sess, fetch, limit: int = 100000) -> list:
    """Every value of ``fetch`` until OutOfRangeError (which must come within ``limit`` runs)."""
    out = []
    try:
        for _ in range(limit):
            out.append(sess.run(fetch))
    except tf.errors.OutOfRangeError:
        return out
    raise AssertionError("no OutOfRangeError")
