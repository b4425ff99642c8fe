"""tf.summary and FileWriter, read back with TensorBoard's EventAccumulator; agreement with an event file
written by TensorFlow for the same graph of summaries and the same values."""

import glob
import io
import os
import uuid
import wave

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator as ea_mod
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.util import tensor_util

import dataflow as tf
from dataflow.ops.summary_ops import encode_png, encode_wav

TF_EVENTS = os.path.join(os.path.dirname(__file__), "fixtures", "tf_events")
KEEP_ALL = {ea_mod.SCALARS: 0, ea_mod.HISTOGRAMS: 0, ea_mod.IMAGES: 0, ea_mod.AUDIO: 0, ea_mod.TENSORS: 0}


def _accumulate(path):
    acc = ea_mod.EventAccumulator(path, size_guidance=KEEP_ALL)
    acc.Reload()
    return acc


def _pixels(encoded):
    return np.asarray(Image.open(io.BytesIO(encoded)))


def _write_fixture_graph(logdir):
    """The graph and values the TensorFlow fixture was written from (see tests/fixtures/tf_events)."""
    with tf.Graph().as_default() as g:
        with tf.variable_scope("dense"):
            kernel = tf.get_variable("kernel", initializer=np.arange(6, dtype=np.float32).reshape(2, 3))
            bias = tf.get_variable("bias", initializer=np.array([0.5, -0.5, 1.0], np.float32))
        tf.train.get_or_create_global_step()
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        y = tf.nn.relu(tf.matmul(x, kernel) + bias, name="y")
        tf.summary.scalar("loss", tf.reduce_mean(y))
        tf.summary.histogram("kernel", kernel)
        tf.summary.image("img", tf.reshape(tf.cast(tf.range(16), tf.float32) / 16.0, [1, 4, 4, 1]))
        merged = tf.summary.merge_all()
        with tf.Session() as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
            sess.run(tf.global_variables_initializer())
            for step in range(3):
                writer.add_summary(sess.run(merged, {x: [[step, step]]}), step)
    return g


def test_same_summaries_as_tensorflow(tmp_path):
    _write_fixture_graph(str(tmp_path))
    ours, theirs = _accumulate(str(tmp_path)), _accumulate(TF_EVENTS)
    for kind in ("scalars", "histograms", "images"):
        assert ours.Tags()[kind] == theirs.Tags()[kind], kind
    assert ours.Tags()["graph"] and theirs.Tags()["graph"]
    assert theirs.Tags()["scalars"] == ["loss"] and theirs.Tags()["images"] == ["img/image/0"]
    for tag in theirs.Tags()["scalars"]:
        assert [(e.step, e.value) for e in ours.Scalars(tag)] == [(e.step, e.value) for e in theirs.Scalars(tag)]
    for tag in theirs.Tags()["histograms"]:
        a, b = ours.Histograms(tag), theirs.Histograms(tag)
        assert [e.step for e in a] == [e.step for e in b] == [0, 1, 2]
        assert [e.histogram_value for e in a] == [e.histogram_value for e in b]
    for tag in theirs.Tags()["images"]:
        a, b = ours.Images(tag), theirs.Images(tag)
        assert [(e.step, e.width, e.height) for e in a] == [(e.step, e.width, e.height) for e in b]
        for ea, eb in zip(a, b):
            np.testing.assert_array_equal(_pixels(ea.encoded_image_string), _pixels(eb.encoded_image_string))
    # the graph tab: the summary ops and variables carry TF's names and op types in both graphs
    ours_nodes = {n.name: n.op for n in ours.Graph().node}
    theirs_nodes = {n.name: n.op for n in theirs.Graph().node}
    for name in ("loss", "kernel", "img", "Merge/MergeSummary", "x", "dense/kernel", "dense/bias"):
        assert name in ours_nodes, name
        if theirs_nodes[name] != "VarHandleOp":  # TF2 writes resource variables; ours are TF1's VariableV2
            assert ours_nodes[name] == theirs_nodes[name], name


def test_every_kind_through_memory_filesystem():
    logdir = f"memory://summaries-{uuid.uuid4().hex}/run"
    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (4, 6, 5, 3)).astype(np.float32)
    clips = rng.uniform(-1, 1, (2, 400)).astype(np.float32)
    with tf.Graph().as_default():
        v = tf.placeholder(tf.float32, [], name="v")
        with tf.name_scope("train"):
            tf.summary.scalar("loss", v)
            tf.summary.scalar("acc", v * 2, family="metrics")
        tf.summary.histogram("weights", tf.random_normal([1000], seed=1) * v)
        tf.summary.image("pics", images, max_outputs=3)
        tf.summary.audio("sound", clips, 16000, max_outputs=1)
        tf.summary.text("notes", tf.constant(["hello", "world"]))
        merged = tf.summary.merge_all()
        writer = tf.summary.FileWriter(logdir, filename_suffix=".test")
        with tf.Session() as sess:
            for step in range(4):
                writer.add_summary(sess.run(merged, {v: float(step)}), global_step=step)
        writer.close()
    acc = _accumulate(logdir)
    tags = acc.Tags()
    assert tags["scalars"] == ["train/loss", "metrics/train/metrics/acc"]  # TF: family/ + scope train/metrics/acc
    assert [e.value for e in acc.Scalars("train/loss")] == [0.0, 1.0, 2.0, 3.0]
    assert tags["histograms"] == ["weights"]
    assert [e.histogram_value.num for e in acc.Histograms("weights")] == [1000] * 4
    assert tags["images"] == ["pics/image/0", "pics/image/1", "pics/image/2"]
    assert [e.width for e in acc.Images("pics/image/2")] == [5] * 4
    assert tags["audio"] == ["sound/audio"]
    assert acc.Audio("sound/audio")[0].length_frames == 400 and acc.Audio("sound/audio")[0].sample_rate == 16000
    assert tags["tensors"] == ["notes"]
    assert list(tensor_util.make_ndarray(acc.Tensors("notes")[0].tensor_proto)) == [b"hello", b"world"]
    assert acc.summary_metadata["notes"].plugin_data.plugin_name == "text"
    import fsspec

    fs, path = fsspec.core.url_to_fs(logdir)
    files = fs.ls(path, detail=False)
    assert len(files) == 1 and files[0].endswith(".test")
    # as TF: a tag's plugin metadata is written only with its first value
    with fs.open(files[0], "rb") as f:
        raw = f.read()
    local = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ev-{uuid.uuid4().hex}")
    with open(local, "wb") as f:
        f.write(raw)
    try:
        events = [event_pb2.Event.FromString(r) for r in RawEventFileLoader(local).Load()]
    finally:
        os.remove(local)
    with_meta = [e.step for e in events for val in e.summary.value if val.tag == "notes" and val.HasField("metadata")]
    assert with_meta == [0]


def test_png_and_wav_encoders_decode():
    rng = np.random.default_rng(0)
    for channels, mode in ((1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")):
        pixels = rng.integers(0, 256, (7, 9, channels)).astype(np.uint8)
        img = Image.open(io.BytesIO(encode_png(pixels)))
        assert img.mode == mode
        np.testing.assert_array_equal(np.asarray(img).reshape(pixels.shape), pixels)
    samples = np.array([[0.0, 1.0], [-1.0, 0.5], [2.0, -2.0], [1e-5, -0.25]], np.float32)
    with wave.open(io.BytesIO(encode_wav(samples, 22050))) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()) == (2, 22050, 2, 4)
        got = np.frombuffer(w.readframes(4), "<i2").reshape(4, 2)
    np.testing.assert_array_equal(got, [[0, 32767], [-32768, 16384], [32767, -32768], [0, -8192]])


def test_summary_errors_are_tf_errors():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, None)
        h = tf.summary.histogram("h", x)
        dup = tf.summary.merge([tf.scalar_summary("same", x), tf.scalar_summary("same", x * 2)])
        bad_image = tf.summary.image("im", x)
        mismatch = tf.scalar_summary(["a", "b"], x)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram for: h"):
                sess.run(h, {x: [1.0, np.nan]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag same found in summary inputs"):
                sess.run(dup, {x: 1.0})
            with pytest.raises(tf.errors.InvalidArgumentError, match="4-D with last dim 1, 3, or 4"):
                sess.run(bad_image, {x: np.zeros((2, 3, 3, 2))})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"tags and values not the same shape: \[2\] != \[3\]"):
                sess.run(mismatch, {x: [1.0, 2.0, 3.0]})
        with pytest.raises(ValueError, match="dtype string"):
            tf.summary.text("t", x)


def test_scopes_collections_and_old_names():
    with tf.Graph().as_default():
        x = tf.constant(1.5)
        assert tf.summary.merge_all() is None
        with tf.name_scope("outer"):
            a = tf.summary.scalar("x", x)
            b = tf.summary.scalar("x", x)
            c = tf.summary.scalar("odd name!", x, collections=["mine"])
        assert [t.op.name for t in (a, b, c)] == ["outer/x", "outer/x_1", "outer/odd_name_"]
        assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [a, b]
        assert tf.get_collection("mine") == [c]
        old = tf.merge_all_summaries()
        with tf.Session() as sess:
            summary = summary_pb2.Summary.FromString(sess.run(old))
            assert [v.tag for v in summary.value] == ["outer/x", "outer/x_1"]
            legacy = summary_pb2.Summary.FromString(sess.run(tf.merge_summary([tf.scalar_summary("raw/tag", x)])))
            assert [(v.tag, v.simple_value) for v in legacy.value] == [("raw/tag", 1.5)]
    assert tf.train.SummaryWriter is tf.summary.FileWriter


def test_writer_events_run_metadata_and_cache(tmp_path):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3])
        y = tf.reduce_sum(x * 2.0, name="y")
        with tf.Session() as sess:
            meta = tf.RunMetadata()
            sess.run(y, {x: [1, 2, 3]}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                     run_metadata=meta)
            writer = tf.summary.FileWriterCache.get(str(tmp_path))
            assert tf.summary.FileWriterCache.get(str(tmp_path)) is writer and writer.get_logdir() == str(tmp_path)
            writer.add_run_metadata(meta, "step1", global_step=1)
            writer.add_session_log(tf.summary.SessionLog(status=tf.summary.SessionLog.START), 1)
            writer.add_summary(tf.summary.Summary(value=[tf.summary.Summary.Value(tag="p", simple_value=2.0)]), 5)
            writer.flush()
            tf.summary.FileWriterCache.clear()
            writer.reopen()  # a second file, as TF
            writer.add_summary(tf.summary.Summary(value=[tf.summary.Summary.Value(tag="p", simple_value=3.0)]), 6)
            writer.close()
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 2
    acc = _accumulate(str(tmp_path))
    assert acc.Tags()["run_metadata"] == ["step1"]
    stats = acc.RunMetadata("step1").step_stats
    assert any(n.node_name == "y" for d in stats.dev_stats for n in d.node_stats)
    assert [(e.step, e.value) for e in acc.Scalars("p")] == [(5, 2.0), (6, 3.0)]
