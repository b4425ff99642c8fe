"""Dask preprocessing jobs: sharding plans, Python and graph functions, atomic and resumable shards, the
command line, the digits helper, and a distributed cluster (slow)."""

import json
import os
import subprocess
import sys
import uuid

import fsspec
import numpy as np
import pytest

import dataflow as tf
import prep_fns
from pipelines import preprocess as prep
from pipelines.records import tf_record_iterator

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "tfrecord")
SHARDS = os.path.join(FIX, "digits-*-of-00004.tfrecord")
TRUTH = json.load(open(os.path.join(FIX, "TRUTH.json")))["records"]


def _out():
    return f"memory://test_preprocess/{uuid.uuid4().hex}"


def _read_all(urls):
    return [[tf.train.Example.FromString(r) for r in tf_record_iterator(u)] for u in urls]


def _labels(shards):
    return sorted(e.features.feature["label"].int64_list.value[0] for s in shards for e in s)


@pytest.mark.parametrize("num_shards", [3, 4, 10])
def test_python_fn_over_files_every_record_once(num_shards):
    urls = prep.preprocess(SHARDS, _out(), prep_fns.relabel, num_shards, progress=False)
    assert urls == prep.shard_names(urls[0].rsplit("/", 1)[0], num_shards)
    shards = _read_all(urls)
    assert all(shards) and _labels(shards) == sorted(t["label"] + 100 for t in TRUTH)


def test_plan_files_deals_records_without_overlap():
    assert prep._plan_files(["a", "b"], 5) == [(["a"], 0, 3), (["b"], 0, 2), (["a"], 1, 3), (["b"], 1, 2),
                                               (["a"], 2, 3)]
    assert prep._plan_files(["a", "b", "c"], 2) == [(["a", "c"], 0, 1), (["b"], 0, 1)]


def test_graph_fn_runs_in_a_session_per_shard():
    urls = prep.preprocess(SHARDS, _out(), prep_fns.scaled_image, 2, graph=True, batch_size=7, progress=False)
    examples = [e for shard in _read_all(urls) for e in shard]
    assert len(examples) == 80
    by_label = {}
    for e in examples:
        image = np.array(e.features.feature["image"].float_list.value, np.float32)
        by_label.setdefault(e.features.feature["label"].int64_list.value[0], []).append(image)
    sums = sorted(round(float(i.sum() * 255)) for imgs in by_label.values() for i in imgs)
    assert sums == sorted(t["image_sum"] for t in TRUTH)


def test_crash_leaves_no_partial_shard_and_rerun_resumes():
    out = _out()
    with pytest.raises(RuntimeError, match="bad record 13"):
        prep.preprocess(SHARDS, out, prep_fns.fail_on_rec013, 4, scheduler="sync", progress=False)
    fs = fsspec.filesystem("memory")
    left = [p.rsplit("/", 1)[1] for p in fs.ls(out.replace("memory://", "/"), detail=False)]
    bad = prep.shard_names(out, 4)[0].rsplit("/", 1)[1]               # rec013 is in input shard 0
    assert bad not in left and not any(name.startswith("_tmp.") for name in left)
    for name in left:                      # shards that finished before the crash are complete
        assert len(list(tf_record_iterator(f"{out}/{name}"))) == 20
    prep_fns.CALLS.clear()
    urls = prep.preprocess(SHARDS, out, prep_fns.relabel, 4, scheduler="sync", progress=False)
    assert len(prep_fns.CALLS) == 20 * (4 - len(left))               # only the missing shards ran
    assert len([e for s in _read_all(urls) for e in s]) == 80


def test_items_bag_and_compression(capsys):
    import dask.bag as db

    out = _out()
    urls = prep.preprocess(db.from_sequence(range(10), npartitions=5), out, lambda i: {"i": i, "x": [i * 0.5]},
                           2, compression="GZIP", progress=True)
    assert "100% Completed" in capsys.readouterr().out
    values = sorted(e.features.feature["i"].int64_list.value[0]
                    for u in urls for e in map(tf.train.Example.FromString, tf_record_iterator(u, "GZIP")))
    assert values == list(range(10))
    with pytest.raises(TypeError, match="expected bytes"):
        prep.preprocess([object()], _out(), lambda o: o, 1, progress=False)


def test_write_digits_shards_round_trip():
    from sklearn.datasets import load_digits

    urls = prep.write_digits_shards(_out(), num_shards=4)
    assert len(urls) == 4 and urls[0].endswith("digits-00000-of-00004.tfrecord")
    serialized = tf.placeholder(tf.string, [None])
    parsed = tf.parse_example(serialized, {"image_raw": tf.FixedLenFeature([], tf.string),
                                           "label": tf.FixedLenFeature([], tf.int64)})
    image = tf.reshape(tf.decode_raw(parsed["image_raw"], tf.uint8), [-1, 8, 8])
    records = [r for u in urls for r in tf_record_iterator(u)]
    with tf.Session() as sess:
        images, labels = sess.run([image, parsed["label"]], {serialized: records})
    digits = load_digits()
    np.testing.assert_array_equal(images, digits.images.astype(np.uint8))
    np.testing.assert_array_equal(labels, digits.target)


def test_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(__file__)),
                                                        os.path.dirname(__file__)]))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipelines.preprocess", "--input", SHARDS, "--output", str(out),
           "--num-shards", "2", "--fn", "prep_fns:relabel", "--no-progress"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    urls = result.stdout.split()
    assert urls == [str(out / "out-00000-of-00002.tfrecord"), str(out / "out-00001-of-00002.tfrecord")]
    assert _labels(_read_all(urls)) == sorted(t["label"] + 100 for t in TRUTH)


@pytest.mark.slow
def test_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        urls = prep.preprocess(SHARDS, _out(), prep_fns.relabel, 3, client=client, progress=False)
        urls_again = prep.preprocess(SHARDS, urls[0].rsplit("/", 1)[0], prep_fns.relabel, 3,
                                     client=cluster.scheduler_address, progress=False)
    assert urls == urls_again
    assert _labels(_read_all(urls)) == sorted(t["label"] + 100 for t in TRUTH)
