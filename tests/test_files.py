"""Files and shards on fsspec: ``expand``, ``tf.gfile`` / ``tf.io.gfile`` on the local disk and memory://,
with TensorFlow's error classes. The same operations on S3 are in test_s3.py."""

import os
import uuid

import pytest

import dataflow as tf
from pipelines.files import expand


@pytest.fixture(params=["local", "memory"])
def root(request, tmp_path):
    return str(tmp_path) if request.param == "local" else f"memory://test_files/{uuid.uuid4().hex}"


def _touch(url, data=b"x"):
    with tf.gfile.GFile(url, "wb") as f:
        f.write(data)


def test_expand_globs_lists_and_plain_names(root):
    for k in (2, 0, 1):
        _touch(f"{root}/train-{k:05d}-of-00003.tfrecord")
    _touch(f"{root}/eval-00000-of-00001.tfrecord")
    got = expand(f"{root}/train-*-of-00003.tfrecord")
    assert [u.rsplit("/", 1)[1] for u in got] == [f"train-{k:05d}-of-00003.tfrecord" for k in range(3)]
    both = expand([f"{root}/eval-*", f"{root}/train-0000[01]-*", f"{root}/eval-*"])
    assert [u.rsplit("/", 1)[1] for u in both] == ["eval-00000-of-00001.tfrecord", "train-00000-of-00003.tfrecord",
                                                   "train-00001-of-00003.tfrecord"]
    assert expand(f"{root}/not-yet-written.tfrecord") == [f"{root}/not-yet-written.tfrecord"]
    with pytest.raises(tf.errors.NotFoundError, match="No files matched"):
        expand(f"{root}/nothing-*.tfrecord")
    for url in got:  # every expanded URL opens again
        assert tf.gfile.Exists(url)


def test_gfile_text_binary_lines_seek(root):
    url = f"{root}/sub/notes.txt"
    tf.gfile.MakeDirs(f"{root}/sub")
    with tf.gfile.GFile(url, "w") as f:
        f.write("alpha\nbeta\n")
        f.write(b"gamma")                                   # bytes in text mode, as TF's compat
    with tf.gfile.Open(url) as f:
        assert f.readline() == "alpha\n"
        assert f.read() == "beta\ngamma"
        f.seek(0)
        assert [line for line in f] == ["alpha\n", "beta\n", "gamma"]
    with tf.io.gfile.GFile(url, "rb") as f:
        assert f.read(5) == b"alpha" and f.tell() == 5
        f.seek(position=6)
        assert f.read() == b"beta\ngamma"
    assert tf.gfile.GFile(url).size() == 16 == tf.io.gfile.stat(url).length
    assert not tf.io.gfile.stat(url).is_directory and tf.io.gfile.stat(f"{root}/sub").is_directory
    missing = tf.gfile.GFile(f"{root}/missing.txt")            # opens lazily, as TF's
    with pytest.raises(tf.errors.NotFoundError, match="missing.txt"):
        missing.read()


def test_gfile_directories_rename_copy_remove(root):
    tf.io.gfile.makedirs(f"{root}/a/b")
    _touch(f"{root}/a/one.bin", b"1")
    _touch(f"{root}/a/b/two.bin", b"22")
    assert tf.gfile.IsDirectory(f"{root}/a") and not tf.gfile.IsDirectory(f"{root}/a/one.bin")
    assert tf.gfile.ListDirectory(f"{root}/a") == ["b", "one.bin"]
    walked = list(tf.gfile.Walk(f"{root}/a"))
    assert [(d.rsplit("/", 1)[1], s, f) for d, s, f in walked] == [("a", ["b"], ["one.bin"]), ("b", [], ["two.bin"])]
    assert [d.rsplit("/", 1)[1] for d, _, _ in tf.io.gfile.walk(f"{root}/a", in_order=False)] == ["b", "a"]
    assert sorted(u.rsplit("/", 1)[1] for u in tf.io.gfile.glob(f"{root}/a/*")) == ["b", "one.bin"]
    assert tf.io.gfile.glob(f"{root}/zzz*") == []

    tf.gfile.Copy(f"{root}/a/one.bin", f"{root}/a/copy.bin")
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.Copy(f"{root}/a/one.bin", f"{root}/a/copy.bin")
    tf.io.gfile.copy(f"{root}/a/b/two.bin", f"{root}/a/copy.bin", overwrite=True)
    assert tf.gfile.GFile(f"{root}/a/copy.bin", "rb").read() == b"22"
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.Rename(f"{root}/a/one.bin", f"{root}/a/copy.bin")
    tf.gfile.Rename(f"{root}/a/one.bin", f"{root}/a/copy.bin", overwrite=True)
    assert not tf.gfile.Exists(f"{root}/a/one.bin")
    assert tf.gfile.GFile(f"{root}/a/copy.bin", "rb").read() == b"1"

    tf.gfile.Remove(f"{root}/a/copy.bin")
    for fn in (tf.gfile.Remove, tf.gfile.ListDirectory, tf.gfile.Stat, tf.gfile.DeleteRecursively):
        with pytest.raises(tf.errors.NotFoundError):
            fn(f"{root}/a/never")
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.Rename(f"{root}/a/never", f"{root}/a/other")
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.MkDir(f"{root}/a/b")
    tf.io.gfile.mkdir(f"{root}/a/c")
    assert tf.gfile.IsDirectory(f"{root}/a/c")
    tf.gfile.DeleteRecursively(f"{root}/a")
    assert not tf.gfile.Exists(f"{root}/a")


def test_relative_patterns_give_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("data")
    for k in range(2):
        _touch(f"data/part-{k}.tfrecord")
    assert expand("data/part-*.tfrecord") == ["data/part-0.tfrecord", "data/part-1.tfrecord"]
    assert tf.gfile.Glob("data/*") == ["data/part-0.tfrecord", "data/part-1.tfrecord"]


def test_copy_across_filesystems(tmp_path):
    mem = f"memory://test_files/{uuid.uuid4().hex}/data.bin"
    _touch(mem, os.urandom(100))
    tf.gfile.Copy(mem, str(tmp_path / "data.bin"))
    assert open(tmp_path / "data.bin", "rb").read() == tf.gfile.GFile(mem, "rb").read()


def test_records_on_local_and_memory(root):
    url = f"{root}/r.tfrecord"
    with tf.io.TFRecordWriter(url, "ZLIB") as w:
        for k in range(50):
            w.write(b"%d" % k)
    assert list(tf.io.tf_record_iterator(url, "ZLIB")) == [b"%d" % k for k in range(50)]
