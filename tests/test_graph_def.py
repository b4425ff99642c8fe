"""Graph.as_graph_def: a real GraphDef protobuf with TF's conventions; dataflow.debug's dot and timeline."""

import json

import numpy as np
import pytest

import dataflow as tf
from dataflow.framework.graph_def import dtype_from_enum, ops_to_graph_def, tensor_value

graph_pb2 = pytest.importorskip("tensorboard.compat.proto.graph_pb2")


def _nodes(gd):
    return {n.name: n for n in gd.node}


def test_graph_def_round_trips_names_types_inputs_devices_and_attrs():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        c = tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3), name="c")
        with tf.device("/cpu:0"), tf.name_scope("layer"):
            s = tf.add(x, 1.0, name="s")
        u = tf.unstack(tf.constant([[1, 2], [3, 4]]), axis=0, name="u")
        t = tf.transpose(c, [1, 0], name="t")
        with tf.control_dependencies([s.op]):
            y = tf.identity(u[1], name="y")
        z = tf.cast(y, tf.float64, name="z")
    data = g.as_graph_def(add_shapes=True).SerializeToString()
    gd = graph_pb2.GraphDef.FromString(data)  # what a TensorBoard-style consumer does
    nodes = _nodes(gd)
    assert [n.name for n in gd.node] == [op.name for op in g.get_operations()]
    assert nodes["x"].op == "Placeholder" and dtype_from_enum(nodes["x"].attr["dtype"].type) is tf.float32
    assert [d.size for d in nodes["x"].attr["shape"].shape.dim] == [-1, 3]
    np.testing.assert_array_equal(tensor_value(nodes["c"].attr["value"].tensor), c.op.attrs["value"])
    assert nodes["layer/s"].device == s.op.device and s.op.device != ""
    assert list(nodes["layer/s"].input) == ["x", "layer/Const"]
    assert list(nodes["y"].input) == ["u:1", "^layer/s"]
    assert list(nodes["t"].attr["perm"].list.i) == [1, 0]
    assert dtype_from_enum(nodes["z"].attr["DstT"].type) is tf.float64
    assert [d.size for d in nodes["t"].attr["_output_shapes"].list.shape[0].dim] == [3, 2]
    assert len(nodes["u"].attr["_output_shapes"].list.shape) == 2
    assert gd.versions.producer > 0


def test_from_version_keeps_only_later_ops_and_export_does_not_change_the_graph():
    g = tf.Graph()
    with g.as_default():
        a = tf.constant(1.0, name="a")
        v = g.version
        b = tf.square(a, name="b")
    before = (g.version, len(g.get_operations()))
    assert [n.name for n in g.as_graph_def(from_version=v).node] == ["b"]
    assert "_output_shapes" not in _nodes(g.as_graph_def())["b"].attr
    assert (g.version, len(g.get_operations())) == before
    assert [n.op for n in ops_to_graph_def([b.op]).node] == ["Square"]


def test_string_constants_and_scalar_attrs():
    g = tf.Graph()
    with g.as_default():
        s = tf.constant(["ab", "c"], name="s")
    val = tensor_value(_nodes(g.as_graph_def())["s"].attr["value"].tensor)
    assert list(val) == [b"ab", b"c"]


def test_to_dot_draws_scopes_as_clusters_and_control_edges_dashed():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, name="x")
        with tf.name_scope("outer"):
            with tf.name_scope("inner"):
                y = tf.square(x, name="sq")
        with tf.control_dependencies([y.op]):
            tf.no_op(name="after")
    dot = tf.debug.to_dot(g)
    assert dot.startswith("digraph") and '"cluster_outer"' in dot and '"cluster_outer/inner"' in dot
    assert '"x" -> "outer/inner/sq";' in dot and '"outer/inner/sq" [label="sq\\nSquare"];' in dot
    assert '"outer/inner/sq" -> "after" [style=dashed];' in dot
    assert tf.debug.to_dot(g.as_graph_def()) == dot


def test_timeline_writes_a_chrome_trace(tmp_path):
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.exp(x, name="e")
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(y, {x: [0, 1]}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
    path = tmp_path / "trace.json"
    tf.debug.timeline(meta, str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert any(e.get("args", {}).get("name") == "e" for e in events)
    with pytest.raises(ValueError, match="FULL_TRACE"):
        tf.debug.timeline(tf.RunMetadata(), str(path))


def test_partition_graphs_export_fused_ops_and_parse_back():
    x = tf.placeholder(tf.float32, [4], name="x")
    y = tf.tanh(x * 2.0, name="y")
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(y, {x: np.ones(4)}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=meta)
    (gd,) = [graph_pb2.GraphDef.FromString(g.SerializeToString()) for g in meta.partition_graphs]
    node = _nodes(gd)["y"]
    assert node.op == "FusedElementwise" and "Tanh" in node.attr["program"].s.decode()
    assert list(node.attr["outputs"].list.i) == [1]
    assert [dtype_from_enum(t) for t in node.attr["out_types"].list.type] == [tf.float32]
    assert node.input[0] == "x" and '"y" [label="y\\nFusedElementwise"];' in tf.debug.to_dot(gd)
