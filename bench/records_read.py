"""TFRecord read and Example parse throughput: dataflow vs TensorFlow on the same files.

``python bench/records_read.py [--records 200000] [--tf-python /work/tfvenv/bin/python]`` writes, with
dataflow, one uncompressed and one GZIP file of ``--records`` Examples (a 64-byte image, a label, two
floats: ~120-byte records), then reports records/s for:

- reading the raw records (``tf_record_iterator``; TF: ``tf.compat.v1.io.tf_record_iterator``),
- parsing them in batches of 256 with ``parse_example`` in a graph Session (TF: the same in tf.compat.v1).

Best of 3 passes each, in ``--rounds`` rounds alternating dataflow and TensorFlow (a subprocess of its
own virtualenv); the ratio is the median of the rounds' ratios (the shared machine's speed drifts).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES_SRC = """{
    "image_raw": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64),
    "xy": tf.io.FixedLenFeature([2], tf.float32)}"""


def measure(tf, folder: str, compat_iterator, parse) -> dict:
    """Best-of-3 records/s for reading each file and for parsing the uncompressed one."""
    out = {}
    for name, comp in (("plain.tfrecord", None), ("gzip.tfrecord.gz", "GZIP")):
        path = os.path.join(folder, name)
        best = None
        for _ in range(3):
            t = time.perf_counter()
            n = sum(1 for _ in compat_iterator(path, comp))
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        out[f"read {name}"] = n / best
    records = list(compat_iterator(os.path.join(folder, "plain.tfrecord"), None))
    out["parse_example batch 256"] = parse(records)
    return out


def parse_rate(tf, records, features) -> float:
    serialized = tf.placeholder(tf.string, [None])
    parsed = tf.parse_example(serialized, features) if hasattr(tf, "parse_example") else \
        tf.io.parse_example(serialized, features)
    batches = [records[i:i + 256] for i in range(0, len(records), 256)]
    best = None
    with tf.Session() as sess:
        for _ in range(3):
            t = time.perf_counter()
            for b in batches:
                sess.run(parsed, {serialized: b})
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
    return len(records) / best


def tensorflow_main(folder: str) -> None:
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()

    def iterate(path, comp):
        return tf.io.tf_record_iterator(path, tf.io.TFRecordOptions(comp or ""))

    features = eval(FEATURES_SRC, {"tf": tf})
    print(json.dumps(measure(tf, folder, iterate, lambda r: parse_rate(tf, r, features))))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=200000)
    p.add_argument("--tf-python", default="/work/tfvenv/bin/python")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tf-worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.tf_worker:
        return tensorflow_main(args.tf_worker)
    sys.path.insert(0, os.path.dirname(HERE))
    import numpy as np

    import dataflow as tf
    from pipelines.preprocess import make_example
    from pipelines.records import TFRecordWriter, tf_record_iterator

    rng = np.random.default_rng(0)
    folder = tempfile.mkdtemp(prefix="records_bench_")
    records = [make_example({"image_raw": rng.integers(0, 256, 64, dtype=np.uint8).tobytes(), "label": i % 10,
                             "xy": [i * 0.5, -1.0]}).SerializeToString() for i in range(args.records)]
    for name, comp in (("plain.tfrecord", None), ("gzip.tfrecord.gz", "GZIP")):
        with TFRecordWriter(os.path.join(folder, name), comp) as w:
            for r in records:
                w.write(r)
    features = eval(FEATURES_SRC, {"tf": tf})
    rounds = []
    for _ in range(args.rounds):                 # alternate: the shared machine's speed drifts
        ours = measure(tf, folder, tf_record_iterator, lambda r: parse_rate(tf, r, features))
        theirs = {}
        if os.path.exists(args.tf_python):
            res = subprocess.run([args.tf_python, __file__, "--tf-worker", folder], capture_output=True,
                                 text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
            theirs = json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else {}
            if not theirs:
                print(res.stderr[-2000:])
        rounds.append((ours, theirs))
    print(f"{args.records} records of ~{len(records[0]) + 16} bytes; records/s, best of 3 passes per round, "
          f"{args.rounds} rounds alternating dataflow and TensorFlow")
    print(f"{'':26s} {'dataflow (per round)':>30s} {'TensorFlow (per round)':>30s} {'median ratio':>13s}")
    for key in rounds[0][0]:
        ours = [r[0][key] for r in rounds]
        theirs = [r[1].get(key, float("nan")) for r in rounds]
        ratio = float(np.median([a / b for a, b in zip(ours, theirs)]))
        print(f"{key:26s} {' '.join(f'{v:9,.0f}' for v in ours):>30s} {' '.join(f'{v:9,.0f}' for v in theirs):>30s} "
              f"{ratio:13.2f}")


if __name__ == "__main__":
    main()
