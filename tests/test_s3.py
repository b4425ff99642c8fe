"""Records, shards, gfile and preprocessing on S3: a real S3 endpoint (moto_server) on a loopback port.

A session-scoped fixture starts ``moto_server`` as a subprocess on a free 127.0.0.1 port, sets dummy AWS
credentials, and points fsspec's ``s3`` protocol at it (``fsspec.config.conf``), so plain ``s3://``
URLs reach it through s3fs, as a user's would reach AWS.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

import dataflow as tf
from pipelines import preprocess as prep
from pipelines.files import expand

pytest.importorskip("s3fs")
fsspec = pytest.importorskip("fsspec")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_bucket():
    port = _free_port()
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    cmd = [server] if os.path.exists(server) else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    saved_env = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    saved_conf = fsspec.config.conf.get("s3")
    fsspec.config.conf["s3"] = {"endpoint_url": endpoint}
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("s3").mkdir(bucket)
    try:
        yield bucket
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        if saved_conf is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = saved_conf
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(timeout=10)


def test_shards_written_and_read_on_s3(s3_bucket):
    base = f"s3://{s3_bucket}/shards"
    for k in range(3):
        with tf.io.TFRecordWriter(f"{base}/train-{k:05d}-of-00003.tfrecord", "GZIP" if k == 1 else None) as w:
            for i in range(4):
                w.write(b"shard%d-rec%d" % (k, i))
    urls = expand(f"{base}/train-*-of-00003.tfrecord")
    assert urls == [f"{base}/train-{k:05d}-of-00003.tfrecord" for k in range(3)]
    assert list(tf.io.tf_record_iterator(urls[2])) == [b"shard2-rec%d" % i for i in range(4)]
    assert list(tf.io.tf_record_iterator(urls[1], "GZIP")) == [b"shard1-rec%d" % i for i in range(4)]
    cached = expand(f"simplecache::{base}/train-0000[0]-*")
    assert cached == [f"simplecache::{base}/train-00000-of-00003.tfrecord"]
    assert list(tf.io.tf_record_iterator(cached[0])) == [b"shard0-rec%d" % i for i in range(4)]
    with pytest.raises(tf.errors.NotFoundError):
        list(tf.io.tf_record_iterator(f"{base}/missing.tfrecord"))


def test_gfile_on_s3(s3_bucket):
    base = f"s3://{s3_bucket}/gfile"
    tf.gfile.MakeDirs(base)
    with tf.gfile.GFile(f"{base}/d/a.txt", "w") as f:
        f.write("hello\ns3\n")
    assert tf.gfile.Exists(f"{base}/d/a.txt") and tf.gfile.IsDirectory(f"{base}/d")
    assert list(tf.gfile.GFile(f"{base}/d/a.txt")) == ["hello\n", "s3\n"]
    assert tf.gfile.ListDirectory(f"{base}/d") == ["a.txt"]
    assert tf.gfile.Stat(f"{base}/d/a.txt").length == 9
    tf.gfile.Rename(f"{base}/d/a.txt", f"{base}/d/b.txt")
    assert tf.gfile.ListDirectory(f"{base}/d") == ["b.txt"]
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.Remove(f"{base}/d/a.txt")
    tf.gfile.DeleteRecursively(f"{base}/d")
    assert not tf.gfile.Exists(f"{base}/d/b.txt")


def test_preprocess_to_s3_resumes(s3_bucket):
    fixtures = os.path.join(os.path.dirname(__file__), "fixtures", "tfrecord", "digits-*-of-00004.tfrecord")
    out = f"s3://{s3_bucket}/prep"
    urls = prep.preprocess(fixtures, out, None, 2, progress=False)
    assert len([r for u in urls for r in tf.io.tf_record_iterator(u)]) == 80
    fs = fsspec.filesystem("s3")
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{s3_bucket}/prep", detail=False)) == \
        ["out-00000-of-00002.tfrecord", "out-00001-of-00002.tfrecord"]
    fs.rm_file(f"{s3_bucket}/prep/out-00001-of-00002.tfrecord")
    stamp = fs.info(f"{s3_bucket}/prep/out-00000-of-00002.tfrecord")["LastModified"]
    prep.preprocess(fixtures, out, None, 2, progress=False)
    assert fs.info(f"{s3_bucket}/prep/out-00000-of-00002.tfrecord")["LastModified"] == stamp
    assert len([r for u in urls for r in tf.io.tf_record_iterator(u)]) == 80
