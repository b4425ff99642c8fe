"""bench/pipeline.py runs (tiny size, no TensorFlow), and dask_dataset streams batches from a cluster."""

import os
import subprocess
import sys

import numpy as np
import pytest

import dataflow as tf
from tfdata_helpers import drain, write_shards

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
pytestmark = pytest.mark.timeout(300)


def test_pipeline_bench_smoke(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(BENCH, "pipeline.py"), "--records", "1000", "--shards", "4",
                          "--batches", "2", "--rounds", "1", "--no-tf", "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "dataflow tf.data" in out.stdout and "dataflow queues" in out.stdout and "records/s" in out.stdout
    assert len(os.listdir(tmp_path)) == 4


def _make(files):
    return tf.data.TFRecordDataset(files).batch(3)


@pytest.mark.slow
def test_dask_dataset_reads_on_workers_and_streams_batches(tmp_path):
    from distributed import Client, LocalCluster

    write_shards(tmp_path, 4, 5)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        ds = tf.data.dask_dataset(client, str(tmp_path / "s*.tfrecord"), _make)
        assert ds.output_types == tf.string and ds.output_shapes.as_list() == [None]
        nxt = ds.prefetch(2).make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            got = drain(sess, nxt)
    assert [len(b) for b in got] == [3, 2] * 4  # batches are made per shard, on the workers
    assert list(np.concatenate(got)) == [f"{i}-{j}".encode() for i in range(4) for j in range(5)]
