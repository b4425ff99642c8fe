"""Input-pipeline throughput: TFRecord shards of MNIST-sized Examples, parsed and batched by 128.

The data: ``--records`` Examples (default 100k) in ``--shards`` TFRecord files (default 16), each an
``image`` (28*28 uint8 bytes) and a ``label`` (int64), written once into a temp directory (kept under
``$TMPDIR/dataflow-bench-pipeline-<records>-<shards>`` for later runs). Implementations, each an
endless pipeline from which a block pulls ``--batches`` batches (timed blocks interleaved round after
round, as bench/interleave.py does, because the machine is shared):

- ``tf.data``: ``TFRecordDataset(files, num_parallel_reads).repeat().batch(128).map(parse_example)
  .prefetch(2)``, pulled through ``get_next`` in a session (CRC checks on);
- ``queues``: ``string_input_producer -> TFRecordReader.read_up_to -> parse_example ->
  tf.train.batch(enqueue_many=True)`` with QueueRunner threads;
- ``dask``: the tf.data pipeline read and parsed on a local 2-worker dask.distributed cluster, batches
  streamed back (``pipelines.distributed.dask_dataset``), with ``--dask``;
- TensorFlow's tf.data (batched ``parse_example`` and per-record ``parse_single_example``) in the
  ``--tf-python`` interpreter, unless ``--no-tf``.

Run: ``python bench/pipeline.py --rounds 5`` (``--records 2000 --batches 3 --rounds 1 --no-tf`` for a smoke
test). Prints records/s per implementation (median of rounds, and best) and dataflow/TF ratios.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interleave  # noqa: E402

BATCH = 128
IMAGE_BYTES = 28 * 28


def write_shards(out_dir: str, records: int, shards: int) -> list[str]:
    """``shards`` TFRecord files of ``records`` Examples in total (made once; reused when present)."""
    import dataflow as tf

    paths = [os.path.join(out_dir, f"train-{i:05d}-of-{shards:05d}.tfrecord") for i in range(shards)]
    if all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    per = -(-records // shards)
    for s, path in enumerate(paths):
        n = min(per, records - s * per)
        images = rng.integers(0, 256, (n, IMAGE_BYTES), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
        with tf.io.TFRecordWriter(path + ".tmp") as w:
            for img, label in zip(images, labels):
                w.write(tf.train.Example(features=tf.train.Features(feature={
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)]))}))
                    .SerializeToString())
        os.replace(path + ".tmp", path)
    return paths


def features(tf):
    return {"image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}


def parse_batch(serialized):
    """The map function of every dataflow pipeline here: parse a batch of records."""
    import dataflow as tf

    return tf.parse_example(serialized, features(tf))


def make_dataset(files, parallel_reads: int = 1, repeat: bool = True):
    import dataflow as tf

    ds = tf.data.TFRecordDataset(files, num_parallel_reads=parallel_reads)
    if repeat:
        ds = ds.repeat()
    return ds.batch(BATCH).map(parse_batch)


def dataflow_data_block(files, parallel_reads: int):
    import dataflow as tf

    graph = tf.Graph()
    with graph.as_default():
        nxt = make_dataset(files, parallel_reads).prefetch(2).make_one_shot_iterator().get_next()
    sess = tf.Session(graph=graph)
    return interleave.local_blocks(lambda i: sess.run(nxt)), sess


def dataflow_queue_block(files, threads: int):
    import dataflow as tf

    graph = tf.Graph()
    with graph.as_default():
        names = tf.train.string_input_producer(files, shuffle=False)
        _, serialized = tf.TFRecordReader().read_up_to(names, BATCH)
        parsed = tf.parse_example(serialized, features(tf))
        batch = tf.train.batch(parsed, BATCH, num_threads=threads, capacity=8 * BATCH, enqueue_many=True)
    sess = tf.Session(graph=graph)
    coord = tf.train.Coordinator()
    runners = tf.train.start_queue_runners(sess, coord)

    def stop():
        coord.request_stop()
        sess.close()
        coord.join(runners, stop_grace_period_secs=10, ignore_live_threads=True)

    return interleave.local_blocks(lambda i: sess.run(batch)), stop


def dataflow_dask_block(files, workers: int):
    import dataflow as tf
    from distributed import Client, LocalCluster
    from pipelines.distributed import dask_dataset

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    graph = tf.Graph()
    with graph.as_default():
        ds = dask_dataset(client, files, functools.partial(make_dataset, repeat=False), repeat=True).prefetch(4)
        nxt = ds.make_one_shot_iterator().get_next()
    sess = tf.Session(graph=graph)

    def stop():
        sess.close()
        client.close()
        cluster.close()

    return interleave.local_blocks(lambda i: sess.run(nxt)), stop


# ---- the TensorFlow worker ----------------------------------------------------------------------
def tf_worker(args):
    import tensorflow as tf

    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.endswith(".tfrecord"))
    feats = features(tf)
    ds = tf.data.TFRecordDataset(files, num_parallel_reads=args.parallel_reads).repeat()
    if args.tf_mode == "single":
        ds = ds.map(lambda s: tf.io.parse_single_example(s, feats), num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH)
    else:
        ds = ds.batch(BATCH).map(lambda s: tf.io.parse_example(s, feats), num_parallel_calls=tf.data.AUTOTUNE)
    it = iter(ds.prefetch(tf.data.AUTOTUNE))
    interleave.serve(lambda i: next(it), {"version": tf.__version__})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--shards", type=int, default=16)
    p.add_argument("--batches", type=int, default=100, help="batches per timed block")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--parallel-reads", type=int, default=1)
    p.add_argument("--queue-threads", type=int, default=1)
    p.add_argument("--dask", type=int, default=0, help="also run the pipeline on a local cluster of N workers")
    p.add_argument("--dir", default=None, help="where the shards are (made if missing)")
    p.add_argument("--no-tf", action="store_true")
    p.add_argument("--tf-python", default="/work/tfvenv/bin/python")
    p.add_argument("--tf-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tf-mode", default="batched", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.tf_worker:
        return tf_worker(args)
    args.dir = args.dir or os.path.join(tempfile.gettempdir(), f"dataflow-bench-pipeline-{args.records}-{args.shards}")
    files = write_shards(args.dir, args.records, args.shards)
    print(f"{args.records} Examples in {args.shards} shards under {args.dir}; batches of {BATCH}")
    blocks, stops = {}, []
    blocks["dataflow tf.data"], sess = dataflow_data_block(files, args.parallel_reads)
    stops.append(sess.close)
    blocks["dataflow queues"], stop = dataflow_queue_block(files, args.queue_threads)
    stops.append(stop)
    if args.dask:
        blocks[f"dataflow tf.data on {args.dask} dask workers"], stop = dataflow_dask_block(files, args.dask)
        stops.append(stop)
    worker_args = ["--dir", args.dir, "--parallel-reads", str(args.parallel_reads)]
    with interleave.tensorflow_blocks(blocks, "TF parse_example", args.no_tf, args.tf_python, __file__,
                                      worker_args) as (remote, why), \
            interleave.tensorflow_blocks(blocks, "TF parse_single_example", args.no_tf, args.tf_python, __file__,
                                         worker_args + ["--tf-mode", "single"]) as (remote2, _):
        if remote is not None:
            print(f"TensorFlow {remote.info()['version']}")
        else:
            print(f"TensorFlow: {why}")
        try:
            rates = interleave.interleaved_rates(blocks, args.batches, args.rounds)
        finally:
            for stop in stops:
                stop()
    for name, per_round in rates.per_round.items():
        med = sorted(per_round)[len(per_round) // 2] * BATCH
        print(f"{name:40s} median {med:10.0f} records/s   best {max(per_round) * BATCH:10.0f} records/s")
    for ours in [n for n in blocks if n.startswith("dataflow")]:
        for theirs in [n for n in blocks if n.startswith("TF")]:
            print(f"{ours} / {theirs} = {rates.median_ratio(ours, theirs):.2f} (median of per-round ratios)")


if __name__ == "__main__":
    main()
